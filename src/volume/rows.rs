//! Row sources: the voxels of an MRC, OME-Zarr or in-memory volume, one z section's rows at a
//! time, in the source's own order.

use super::*;

/// A validated, opened source (one per run, so the size difference does not matter).
#[allow(clippy::large_enum_variant)]
pub(super) enum Opened {
    Mrc(mrc::MrcInfo),
    Zarr(OmeZarrSource),
}

impl Opened {
    pub(super) fn open(source: &VolumeSource, name: &str) -> Result<Self, VolumeError> {
        Ok(match source {
            VolumeSource::Mrc(src) => Opened::Mrc(mrc::read_header(*src, name)?),
            VolumeSource::OmeZarr(st) => Opened::Zarr(OmeZarrSource::open(st.clone(), name)?),
        })
    }
    pub(super) fn header(&self) -> VolumeHeader {
        match self {
            Opened::Mrc(i) => VolumeHeader {
                size: i.shape_zyx.into(),
                voxel_size: i.header.voxel_size(),
                mode: Some(i.mode),
                rms: f64::from(i.header.rms),
                dmean: f64::from(i.header.dmean),
                mrc: Some(i.header.clone()),
            },
            Opened::Zarr(z) => VolumeHeader {
                size: z.shape_zyx.into(),
                voxel_size: z.voxel_size,
                mode: None,
                rms: 0.0,
                dmean: 0.0,
                mrc: None,
            },
        }
    }
    pub(super) fn shape(&self) -> [usize; 3] {
        match self {
            Opened::Mrc(i) => i.shape_zyx,
            Opened::Zarr(z) => z.shape_zyx,
        }
    }
}

/// Source rows as float32 (after the int8 overflow fix).
pub(super) trait RowSource: Sync {
    /// Called before the rows of a chunk row are read (lets a chunked source load the region).
    fn prepare(&self, _z: Range<usize>, _y: Range<usize>) -> Result<(), VolumeError> {
        Ok(())
    }
    /// Rows `y` of section `z`, all of x, into `out`.
    fn read_rows(&self, z: usize, y: Range<usize>, out: &mut [f32]) -> Result<(), VolumeError>;
}

/// Spec §6.1: old int8 files stored unsigned bytes; remap when `dmax > 127`.
pub(super) fn int8_fix(v: f32) -> f32 {
    if v < 0.0 {
        v + 128.0
    } else {
        v - 128.0
    }
}

/// An MRC in standard axis order: one positioned read per section's row block.
pub(super) struct MrcRows<'a> {
    src: &'a dyn ByteSource,
    info: mrc::MrcInfo,
    fix_int8: bool,
}

impl RowSource for MrcRows<'_> {
    fn read_rows(&self, z: usize, y: Range<usize>, out: &mut [f32]) -> Result<(), VolumeError> {
        let [_, ny, nx] = self.info.shape_zyx;
        let es = self.info.mode.elem_size();
        let off = self.info.data_offset + ((z * ny + y.start) * nx * es) as u64;
        if self.info.mode == MrcMode::Float32
            && cfg!(target_endian = "little")
            && !self.info.big_endian
        {
            // Native float32: read straight into the output.
            return self
                .src
                .read_at(off, pyramid::f32_bytes_mut(out))
                .map_err(|e| self.info.io_err(e).into());
        }
        let mut raw = vec![0u8; y.len() * nx * es];
        self.src
            .read_at(off, &mut raw)
            .map_err(|e| self.info.io_err(e))?;
        decode_to_f32(self.info.mode, self.info.big_endian, &raw, out);
        if self.fix_int8 {
            out.iter_mut().for_each(|v| *v = int8_fix(*v));
        }
        Ok(())
    }
}

/// A whole volume in memory, z,y,x (MRC files with a non-standard axis order).
pub(super) struct DenseRows {
    shape: [usize; 3],
    data: Vec<f32>,
}

impl DenseRows {
    /// Reads the whole MRC and transposes stored (column,row,section) order into z,y,x.
    fn load(src: &dyn ByteSource, info: &mrc::MrcInfo, fix: bool) -> Result<Self, VolumeError> {
        let mut raw = vec![0u8; info.data_len() as usize];
        src.read_at(info.data_offset, &mut raw)
            .map_err(|e| info.io_err(e))?;
        let n = raw.len() / info.mode.elem_size();
        let mut stored = vec![0f32; n];
        decode_to_f32(info.mode, info.big_endian, &raw, &mut stored);
        drop(raw);
        let [nc, nr, ns] = info.stored_dims();
        let shape = info.shape_zyx;
        // Strides in the z,y,x output of one step along each stored axis.
        let zyx_stride = [shape[1] * shape[2], shape[2], 1];
        let st = info.stored_to_zyx.map(|a| zyx_stride[a]);
        let mut data = vec![0f32; n];
        let mut i = 0;
        for s in 0..ns {
            for r in 0..nr {
                let base = s * st[2] + r * st[1];
                for c in 0..nc {
                    let v = stored[i];
                    data[base + c * st[0]] = if fix { int8_fix(v) } else { v };
                    i += 1;
                }
            }
        }
        Ok(Self { shape, data })
    }
}

impl RowSource for DenseRows {
    fn read_rows(&self, z: usize, y: Range<usize>, out: &mut [f32]) -> Result<(), VolumeError> {
        let [_, ny, nx] = self.shape;
        let start = (z * ny + y.start) * nx;
        out.copy_from_slice(&self.data[start..start + y.len() * nx]);
        Ok(())
    }
}

/// An OME-Zarr source: each chunk row's region is decoded once, then served row by row.
pub(super) struct ZarrRows {
    src: OmeZarrSource,
    region: RwLock<(Range<usize>, Range<usize>, Vec<f32>)>,
}

impl RowSource for ZarrRows {
    fn prepare(&self, z: Range<usize>, y: Range<usize>) -> Result<(), VolumeError> {
        let data = self.src.read_region_f32(z.clone(), y.clone())?;
        *self.region.write().expect("region lock") = (z, y, data);
        Ok(())
    }
    fn read_rows(&self, z: usize, y: Range<usize>, out: &mut [f32]) -> Result<(), VolumeError> {
        let g = self.region.read().expect("region lock");
        let (rz, ry, data) = &*g;
        debug_assert!(rz.contains(&z) && ry.start <= y.start && y.end <= ry.end);
        let nx = self.src.shape_zyx[2];
        let start = ((z - rz.start) * ry.len() + (y.start - ry.start)) * nx;
        out.copy_from_slice(&data[start..start + y.len() * nx]);
        Ok(())
    }
}

/// The rows of an opened source, in z, y, x order.
pub(super) fn row_source<'a>(
    opened: Opened,
    source: &'a VolumeSource,
) -> Result<Box<dyn RowSource + 'a>, VolumeError> {
    Ok(match (opened, source) {
        (Opened::Mrc(info), VolumeSource::Mrc(src)) => {
            let fix = info.mode == MrcMode::Int8 && info.header.dmax > 127.0;
            if info.is_standard_order() {
                Box::new(MrcRows {
                    src: *src,
                    info,
                    fix_int8: fix,
                })
            } else {
                Box::new(DenseRows::load(*src, &info, fix)?)
            }
        }
        (Opened::Zarr(src), _) => Box::new(ZarrRows {
            src,
            region: RwLock::new((0..0, 0..0, Vec::new())),
        }),
        (Opened::Mrc(_), VolumeSource::OmeZarr(_)) => unreachable!("opened from this source"),
    })
}

/// Whether some level-0 voxel of `source` satisfies `pred` (the reference's mask validity
/// checks), reading it section block by section block and stopping at the first one.
///
/// # Errors
/// An unreadable or invalid source.
pub fn any_voxel(
    source: &VolumeSource,
    name: &str,
    pred: impl Fn(f32) -> bool + Sync,
) -> Result<bool, VolumeError> {
    let opened = Opened::open(source, name)?;
    let [nz, ny, nx] = opened.shape();
    let rows = row_source(opened, source)?;
    let mut row = vec![0f32; ny * nx];
    for z0 in (0..nz).step_by(64) {
        let z1 = (z0 + 64).min(nz);
        rows.prepare(z0..z1, 0..ny)?;
        for z in z0..z1 {
            rows.read_rows(z, 0..ny, &mut row)?;
            if row.par_iter().any(|&v| pred(v)) {
                return Ok(true);
            }
        }
    }
    Ok(false)
}

pub(super) type MrcExtra = ([u8; 8], [u8; 84], Option<([u8; 4], Vec<u8>)>);
