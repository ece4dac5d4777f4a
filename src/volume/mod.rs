//! Volume standardization: MRC / OME-Zarr sources → `{stem}.zarr` (3-level OME-NGFF 0.4 pyramid
//! on Zarr v2) and `{stem}.mrc` (level 0), for tomograms, tilt series and masks (spec §6, §7.4).
//!
//! Why it streams: portal volumes reach several GiB, and the pyramid levels need 512 / 1024
//! source slices per chunk. The source is read once, one chunk row (a 256-deep slab × 256-row
//! band, all of x) at a time, straight into chunk-shaped buffers; each filled chunk row is
//! encoded and written in parallel, then pooled into its quadrant of the next level's chunk row,
//! which is written once its own children are done (a depth-first walk over chunk rows). Memory
//! stays at about one chunk row per level (≈ 256·256·nx·4 B for level 0) whatever the depth.
//! The MRC is written row block by row block at its final offsets, and its statistics are
//! accumulated on the way and patched into the header at the end.
//!
//! Every output file gets a BLAKE3 digest for the build's early cutoff (chunks are hashed as
//! they are written). The MRC's label-0 timestamp is hashed as blanks, so a rerun on unchanged
//! input gives unchanged digests even though the file carries the time of writing (spec §0.3).

pub mod key_image;
pub mod palette;
pub mod pyramid;
mod resize;
mod stored;

pub use stored::header_in_store;

use crate::formats::mrc::{
    self, decode_to_f32, ByteSource, DataStats, MrcError, MrcHeader, MrcMode, MrcOutputSpec,
    MrcWriter, TIMESTAMP_RANGE,
};
use crate::formats::omezarr::{self, OmeZarrError, OmeZarrSource};
use pyramid::{pool_chunk_into_par, Geometry, SumOrder, VoxelType, LEVELS};
use rayon::prelude::*;
use serde::Serialize;
use std::ops::Range;
use std::path::{Path, PathBuf};
use std::sync::{Mutex, RwLock};
use zarrs::storage::ReadableStorage;

pub use key_image::KeySlab;

/// Version of the bytes the volume writer produces (`{stem}.zarr` and `{stem}.mrc`), in the key
/// config of every target that writes volumes (tomograms, tilt series, mask annotations), so
/// that a writer change rebuilds those and nothing else. 2: MRC `nversion` 20141 as mrcfile
/// writes, float `.zarray` `fill_value` `0.0`, float levels added in numpy's order.
pub const WRITER_VERSION: u32 = 2;

/// What is being standardized; decides dtype, chunking, pooling and MRC header details.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum VolumeKind {
    /// float32, chunks 256³, (2,2,2) block mean.
    Tomogram,
    /// float32, chunks (1,1024,1024), (1,2,2) block mean, MRC as an image stack.
    TiltSeries,
    /// int8 0/1: `data == label`, or `data >= threshold` when set; OR-pooling.
    SemanticMask {
        /// The source value that marks the mask (`mask_label`).
        label: i64,
        /// When set, voxels `>= threshold` are the mask instead of `== label`.
        threshold: Option<f64>,
    },
    /// uint16 labels, strided downsampling, `image-label` block in `.zattrs`.
    InstanceMask,
}

/// Per-run options.
#[derive(Debug, Clone)]
pub struct VolumeOptions {
    /// Output file stem: `{stem}.zarr`, `{stem}.mrc`.
    pub stem: String,
    /// Explicit voxel spacing (parent VS, tilt-series pixel spacing); else the source header's.
    /// Rounded to 3 decimals either way.
    pub voxel_spacing: Option<f64>,
    /// Write `{stem}.mrc` (level 0).
    pub write_mrc: bool,
    /// Write `{stem}.zarr` (the pyramid).
    pub write_zarr: bool,
    /// Return the summed central 40-slice slab for key images ([`key_image`]).
    pub key_slab: bool,
    /// `YYYY-MM-DD HH:MM:SS` for the MRC label; `None` = local time now.
    pub timestamp: Option<String>,
    /// Chunk shape override (tests exercise multi-chunk pyramids on small volumes).
    pub(crate) chunk: Option<[usize; 3]>,
    /// Resize level 0 to this z, y, x shape first (a mask's `rescale`, spec §7.4): semantic
    /// masks and images by local mean (semantic masks binarised before it without a threshold,
    /// thresholded after it with one), instance masks by nearest neighbour; see the `resize` module.
    /// Ignored when it equals the source shape.
    pub rescale_to: Option<[usize; 3]>,
}

impl VolumeOptions {
    /// Both outputs, header voxel size, no key slab.
    pub fn new(stem: impl Into<String>) -> Self {
        Self {
            stem: stem.into(),
            voxel_spacing: None,
            write_mrc: true,
            write_zarr: true,
            key_slab: false,
            timestamp: None,
            chunk: None,
            rescale_to: None,
        }
    }
}

/// Where the source volume comes from.
pub enum VolumeSource<'a> {
    /// An MRC file through any byte source (local file, S3 ranged reads, memory).
    Mrc(&'a dyn ByteSource),
    /// An OME-Zarr image (level 0 is read) through a zarrs storage; see
    /// [`omezarr::local_storage`] for a local directory.
    OmeZarr(ReadableStorage),
}

/// A z, y, x triple, serialized in that key order (spec §6.5).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Zyx {
    /// Extent along z (sections), in voxels.
    pub z: usize,
    /// Extent along y (rows), in voxels.
    pub y: usize,
    /// Extent along x (columns), in voxels.
    pub x: usize,
}

impl From<[usize; 3]> for Zyx {
    fn from(a: [usize; 3]) -> Self {
        Self {
            z: a[0],
            y: a[1],
            x: a[2],
        }
    }
}

/// What a source header says (for voxel-spacing discovery and metadata).
#[derive(Debug, Clone)]
pub struct VolumeHeader {
    /// Level-0 shape (after the MRC axis mapping).
    pub size: Zyx,
    /// The header's voxel size, unrounded (`cella.y / my`, or the first zarr scale's y).
    pub voxel_size: f64,
    /// Source MRC mode (`None` for OME-Zarr).
    pub mode: Option<MrcMode>,
    /// The MRC header's `rms` (0 for OME-Zarr, as the reference).
    pub rms: f64,
    /// The MRC header's `dmean` (0 for OME-Zarr, as the reference).
    pub dmean: f64,
    /// The full MRC header, when the source is an MRC.
    pub mrc: Option<MrcHeader>,
}

/// Statistics of the written level-0 data (what the MRC header carries).
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct VolumeStats {
    /// Smallest level-0 value, in the output's data type.
    pub dmin: f64,
    /// Largest level-0 value.
    pub dmax: f64,
    /// Mean of the level-0 values.
    pub dmean: f64,
    /// Population standard deviation.
    pub rms: f64,
}

/// One written file, relative to the staging directory ("/"-separated).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct OutputFile {
    /// Path relative to the staging directory, "/"-separated.
    pub path: String,
    /// Size in bytes.
    pub size: u64,
    /// BLAKE3 hex digest of the content (MRC: with the label timestamp blanked).
    pub blake3: String,
}

/// Everything the metadata and the engine need from a standardization.
#[derive(Debug, Clone)]
pub struct VolumeOutputs {
    /// Voxel spacing used, rounded to 3 decimals.
    pub voxel_spacing: f64,
    /// Level-0 shape.
    pub size: Zyx,
    /// Shape of each pyramid level (spec §6.5 `scales`).
    pub scales: Vec<Zyx>,
    /// Spacing of each level in Å, z,y,x (the `.zattrs` scale transforms).
    pub level_spacings: Vec<[f64; 3]>,
    /// Statistics of the written level-0 data (as in the MRC header).
    pub stats: VolumeStats,
    /// What the source header said.
    pub source_header: VolumeHeader,
    /// Masks: sorted distinct non-zero values of level 0 (semantic: `[1]` or empty). Images: empty.
    pub labels: Vec<u64>,
    /// `{stem}.zarr` when written (relative).
    pub zarr_dir: Option<String>,
    /// `{stem}.mrc` when written (relative).
    pub mrc_file: Option<String>,
    /// All written files, sorted by path.
    pub files: Vec<OutputFile>,
    /// The summed central slab, when asked for.
    pub key_slab: Option<KeySlab>,
}

/// Standardization errors; each names the source or the output it concerns.
// Each variant's `#[error]` message documents it; the transparent ones are documented below.
#[allow(missing_docs)]
#[derive(Debug, thiserror::Error)]
pub enum VolumeError {
    /// Reading the MRC source failed.
    #[error(transparent)]
    Mrc(#[from] MrcError),
    /// An OME-Zarr error: reading the source, or compressing an output chunk.
    #[error(transparent)]
    OmeZarr(#[from] OmeZarrError),
    #[error("{name}: invalid voxel spacing {value}")]
    BadVoxelSpacing { name: String, value: f64 },
    #[error("{name}: writing {path}: {source}")]
    Write {
        name: String,
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("{name}: key image: {message}")]
    KeyImage { name: String, message: String },
}

impl VolumeError {
    /// The error of writing `path` for the volume `name`, for `map_err`.
    pub(crate) fn write(name: &str, path: &Path) -> impl FnOnce(std::io::Error) -> Self {
        let (name, path) = (name.to_string(), path.to_path_buf());
        move |source| VolumeError::Write { name, path, source }
    }
}

/// Reads only the header of a source (1024 bytes for an MRC) and validates it, including the
/// voxel size.
pub fn read_header(source: &VolumeSource, name: &str) -> Result<VolumeHeader, VolumeError> {
    let opened = Opened::open(source, name)?;
    if let Opened::Mrc(info) = &opened {
        info.voxel_size_checked()?;
    }
    Ok(opened.header())
}

/// Streams `source` into `staging_dir`: `{stem}.zarr/` and/or `{stem}.mrc`. On error nothing of
/// this stem is left in `staging_dir`. Existing outputs of the same stem are replaced.
pub fn standardize(
    source: &VolumeSource,
    source_name: &str,
    kind: VolumeKind,
    opts: &VolumeOptions,
    staging_dir: &Path,
) -> Result<VolumeOutputs, VolumeError> {
    let zarr_path = staging_dir.join(format!("{}.zarr", opts.stem));
    let mrc_path = staging_dir.join(format!("{}.mrc", opts.stem));
    let cleanup = || {
        let _ = std::fs::remove_dir_all(&zarr_path);
        let _ = std::fs::remove_file(&mrc_path);
    };
    cleanup();
    let result = run(source, source_name, kind, opts, staging_dir);
    if result.is_err() {
        cleanup();
    }
    result
}

/// Python's `round(v, 3)` (correctly rounded decimal, ties to even on the exact binary value).
pub fn round3(v: f64) -> f64 {
    crate::formats::frames::py_round(v, 3)
}

/// A validated, opened source (one per run, so the size difference does not matter).
#[allow(clippy::large_enum_variant)]
enum Opened {
    Mrc(mrc::MrcInfo),
    Zarr(OmeZarrSource),
}

impl Opened {
    fn open(source: &VolumeSource, name: &str) -> Result<Self, VolumeError> {
        Ok(match source {
            VolumeSource::Mrc(src) => Opened::Mrc(mrc::read_header(*src, name)?),
            VolumeSource::OmeZarr(st) => Opened::Zarr(OmeZarrSource::open(st.clone(), name)?),
        })
    }
    fn header(&self) -> VolumeHeader {
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
    fn shape(&self) -> [usize; 3] {
        match self {
            Opened::Mrc(i) => i.shape_zyx,
            Opened::Zarr(z) => z.shape_zyx,
        }
    }
}

/// Source rows as float32 (after the int8 overflow fix).
trait RowSource: Sync {
    /// Called before the rows of a chunk row are read (lets a chunked source load the region).
    fn prepare(&self, _z: Range<usize>, _y: Range<usize>) -> Result<(), VolumeError> {
        Ok(())
    }
    /// Rows `y` of section `z`, all of x, into `out`.
    fn read_rows(&self, z: usize, y: Range<usize>, out: &mut [f32]) -> Result<(), VolumeError>;
}

/// Spec §6.1: old int8 files stored unsigned bytes; remap when `dmax > 127`.
fn int8_fix(v: f32) -> f32 {
    if v < 0.0 {
        v + 128.0
    } else {
        v - 128.0
    }
}

/// An MRC in standard axis order: one positioned read per section's row block.
struct MrcRows<'a> {
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
struct DenseRows {
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
struct ZarrRows {
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

fn run(
    source: &VolumeSource,
    name: &str,
    kind: VolumeKind,
    opts: &VolumeOptions,
    staging_dir: &Path,
) -> Result<VolumeOutputs, VolumeError> {
    let opened = Opened::open(source, name)?;
    let header = opened.header();
    let vs_raw = match opts.voxel_spacing {
        Some(v) => v,
        None => match &opened {
            Opened::Mrc(info) => info.voxel_size_checked()?,
            Opened::Zarr(z) => z.voxel_size,
        },
    };
    let vs = round3(vs_raw);
    if !(vs.is_finite() && vs > 0.0) {
        return Err(VolumeError::BadVoxelSpacing {
            name: name.to_string(),
            value: vs_raw,
        });
    }
    let mrc_extra = match (&opened, source) {
        (Opened::Mrc(info), VolumeSource::Mrc(src)) => {
            let h = &info.header;
            let ext = if opts.write_mrc && h.has_exttyp() && h.nsymbt > 0 {
                Some((h.exttyp, info.read_extended_header(*src)?))
            } else {
                None
            };
            (h.extra1, h.extra2, ext)
        }
        _ => ([0; 8], [0; 84], None),
    };
    let shape = opened.shape();
    let rows = row_source(opened, source)?;
    let target = opts.rescale_to.filter(|t| *t != shape);
    let ctx = Ctx {
        name,
        opts,
        staging_dir,
        vs,
        shape: target.unwrap_or(shape),
        header,
        mrc_extra,
    };
    let Some(target) = target else {
        return match kind {
            VolumeKind::Tomogram => ctx.stream::<f32, _>(&*rows, false, |v| v),
            VolumeKind::TiltSeries => ctx.stream::<f32, _>(&*rows, true, |v| v),
            VolumeKind::SemanticMask { label, threshold } => match threshold {
                Some(t) => {
                    let t = t as f32;
                    ctx.stream::<i8, _>(&*rows, false, move |v| i8::from(v >= t))
                }
                None => {
                    let l = label as f32;
                    ctx.stream::<i8, _>(&*rows, false, move |v| i8::from(v == l))
                }
            },
            VolumeKind::InstanceMask => ctx.stream::<u16, _>(&*rows, false, |v| v as u16),
        };
    };
    // Resized (spec §7.4, the reference's MaskConverter / MultiLabelMaskConverter): with a
    // threshold the raw values are averaged, then thresholded; without one the label is
    // binarised first, averaged, and every voxel the label reaches (`> 0`) is set.
    let resized = |method, pre| resize::Resized::new(&*rows, shape, target, method, pre);
    match kind {
        VolumeKind::Tomogram => {
            ctx.stream::<f32, _>(&resized(resize::Method::LocalMean, None), false, |v| v)
        }
        VolumeKind::TiltSeries => {
            ctx.stream::<f32, _>(&resized(resize::Method::LocalMean, None), true, |v| v)
        }
        VolumeKind::SemanticMask { label, threshold } => match threshold {
            Some(t) => {
                let t = t as f32;
                let r = resized(resize::Method::LocalMean, None);
                ctx.stream::<i8, _>(&r, false, move |v| i8::from(v >= t))
            }
            None => {
                let l = label as f32;
                let binarise: Box<dyn Fn(f32) -> f32 + Sync> =
                    Box::new(move |v| if v == l { 1.0 } else { 0.0 });
                let r = resized(resize::Method::LocalMean, Some(binarise));
                ctx.stream::<i8, _>(&r, false, |v| i8::from(v > 0.0))
            }
        },
        VolumeKind::InstanceMask => {
            let r = resized(resize::Method::Nearest, None);
            ctx.stream::<u16, _>(&r, false, |v| v as u16)
        }
    }
}

/// The rows of an opened source, in z, y, x order.
fn row_source<'a>(
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

type MrcExtra = ([u8; 8], [u8; 84], Option<([u8; 4], Vec<u8>)>);

struct Ctx<'a> {
    name: &'a str,
    opts: &'a VolumeOptions,
    staging_dir: &'a Path,
    vs: f64,
    shape: [usize; 3],
    header: VolumeHeader,
    mrc_extra: MrcExtra,
}

/// Accumulated over all level-0 rows.
struct Acc {
    stats: DataStats,
    labels: Vec<u64>, // bitset over u16
}

/// The state of one streaming run.
struct Run<'a, T: VoxelType, M> {
    name: &'a str,
    rows: &'a dyn RowSource,
    map: M,
    /// Spare chunk buffers (all levels share the chunk shape), so big buffers are not
    /// re-faulted for every chunk row.
    pool: Mutex<Vec<Vec<T>>>,
    geo: Geometry,
    /// Levels written to zarr (0 when zarr is off: only level 0 is streamed).
    zarr_levels: usize,
    zarr_root: PathBuf,
    zarr_rel: String,
    mrc: Option<MrcWriter>,
    mrc_path: PathBuf,
    key_z: Range<usize>,
    key_sum: Option<Mutex<Vec<f64>>>,
    acc: Mutex<Acc>,
    files: Mutex<Vec<OutputFile>>,
}

impl Ctx<'_> {
    fn stream<T: VoxelType, M: Fn(f32) -> T + Sync>(
        self,
        rows: &dyn RowSource,
        tilt_series: bool,
        map: M,
    ) -> Result<VolumeOutputs, VolumeError> {
        let mut geo = Geometry::new(self.shape, tilt_series);
        if let Some(chunk) = self.opts.chunk {
            geo = Geometry::with_chunk(self.shape, chunk, geo.bz);
        }
        let bz = geo.bz as f64;
        let level_spacings: Vec<[f64; 3]> = (0..LEVELS)
            .map(|i| {
                let f = 2f64.powi(i as i32);
                [self.vs * bz.powi(i as i32), self.vs * f, self.vs * f]
            })
            .collect();
        let stem = &self.opts.stem;
        let werr = |path: &Path| VolumeError::write(self.name, path);
        let zarr_rel = format!("{stem}.zarr");
        let zarr_root = self.staging_dir.join(&zarr_rel);
        let mrc_rel = format!("{stem}.mrc");
        let mrc_path = self.staging_dir.join(&mrc_rel);
        if self.opts.write_zarr {
            std::fs::create_dir_all(&zarr_root).map_err(werr(&zarr_root))?;
        }
        let timestamp = self
            .opts
            .timestamp
            .clone()
            .unwrap_or_else(|| chrono::Local::now().format("%Y-%m-%d %H:%M:%S").to_string());
        let mrc = if self.opts.write_mrc {
            let (extra1, extra2, extended) = self.mrc_extra.clone();
            let spec = MrcOutputSpec {
                shape_zyx: self.shape,
                mode: T::MODE,
                voxel_size: self.vs,
                tilt_series,
                extra1,
                extra2,
                extended,
                timestamp,
            };
            Some(MrcWriter::create(&mrc_path, &spec).map_err(werr(&mrc_path))?)
        } else {
            None
        };
        let [nz, ny, nx] = self.shape;
        let key_z = key_image::slab_range(nz);
        let run = Run {
            name: self.name,
            rows,
            map,
            pool: Mutex::new(Vec::new()),
            zarr_levels: if self.opts.write_zarr { LEVELS } else { 0 },
            zarr_root,
            zarr_rel: zarr_rel.clone(),
            mrc,
            mrc_path: mrc_path.clone(),
            key_sum: self.opts.key_slab.then(|| Mutex::new(vec![0f64; ny * nx])),
            key_z: key_z.clone(),
            acc: Mutex::new(Acc {
                stats: DataStats::default(),
                labels: vec![0u64; 1024],
            }),
            files: Mutex::new(Vec::new()),
            geo,
        };
        // Depth-first over the top level's chunk rows (or level 0 only without zarr).
        let top = run.zarr_levels.max(1) - 1;
        let g = run.geo.grid(top);
        for zc in 0..g[0] {
            for yc in 0..g[1] {
                let band = run.chunk_row(top, zc, yc)?;
                run.pool.lock().expect("pool lock").extend(band);
            }
        }
        let Run {
            mrc,
            acc,
            files,
            key_sum,
            geo,
            ..
        } = run;
        let acc = acc.into_inner().expect("acc lock");
        let mut files = files.into_inner().expect("files lock");
        let labels: Vec<u64> = if T::LABELS {
            (1..65536u64)
                .filter(|&l| acc.labels[(l / 64) as usize] >> (l % 64) & 1 == 1)
                .collect()
        } else {
            Vec::new()
        };
        if self.opts.write_zarr {
            let root = self.staging_dir.join(&zarr_rel);
            let zattrs = omezarr::multiscales_zattrs(
                &level_spacings,
                (kind_is_instance::<T>()).then_some(labels.as_slice()),
            );
            let mut docs = vec![
                (".zgroup".to_string(), omezarr::zgroup_json()),
                (".zattrs".to_string(), zattrs),
            ];
            for (level, s) in geo.shapes.iter().enumerate() {
                docs.push((
                    format!("{level}/.zarray"),
                    omezarr::zarray_json(*s, geo.chunk, T::DTYPE),
                ));
            }
            for (rel, text) in docs {
                let path = root.join(&rel);
                files.push(
                    write_file(&path, format!("{zarr_rel}/{rel}"), text.as_bytes())
                        .map_err(werr(&path))?,
                );
            }
        }
        let stats = acc.stats;
        if let Some(w) = mrc {
            w.finish(&stats).map_err(werr(&mrc_path))?;
            let (size, blake3) = hash_mrc(&mrc_path).map_err(werr(&mrc_path))?;
            files.push(OutputFile {
                path: mrc_rel.clone(),
                size,
                blake3,
            });
        }
        files.sort_by(|a, b| a.path.cmp(&b.path));
        let key_slab = key_sum.map(|m| KeySlab {
            width: nx,
            height: ny,
            z_range: key_z,
            depth: self.shape[0],
            sum: m.into_inner().expect("key lock"),
        });
        Ok(VolumeOutputs {
            voxel_spacing: self.vs,
            size: self.shape.into(),
            scales: geo.shapes.iter().map(|&s| s.into()).collect(),
            level_spacings,
            stats: VolumeStats {
                dmin: stats.min,
                dmax: stats.max,
                dmean: stats.mean,
                rms: stats.std(),
            },
            source_header: self.header,
            labels,
            zarr_dir: self.opts.write_zarr.then_some(zarr_rel),
            mrc_file: self.opts.write_mrc.then_some(mrc_rel),
            files,
            key_slab,
        })
    }
}

/// Instance masks (u16) carry the `image-label` block.
fn kind_is_instance<T: VoxelType>() -> bool {
    T::DTYPE == omezarr::ZarrDtype::U2
}

/// Writes a file and returns its record (hashing the bytes in memory).
fn write_file(path: &Path, rel: String, bytes: &[u8]) -> std::io::Result<OutputFile> {
    std::fs::write(path, bytes)?;
    Ok(OutputFile {
        path: rel,
        size: bytes.len() as u64,
        blake3: blake3::hash(bytes).to_hex().to_string(),
    })
}

/// BLAKE3 of the written MRC with the label timestamp blanked (see the module docs).
fn hash_mrc(path: &Path) -> std::io::Result<(u64, String)> {
    use std::io::Read;
    let mut f = std::fs::File::open(path)?;
    let mut header = [0u8; mrc::HEADER_LEN];
    f.read_exact(&mut header)?;
    header[TIMESTAMP_RANGE].fill(b' ');
    let mut hasher = blake3::Hasher::new();
    hasher.update(&header);
    let mut size = header.len() as u64;
    let mut buf = vec![0u8; 8 << 20];
    loop {
        let n = f.read(&mut buf)?;
        if n == 0 {
            break;
        }
        hasher.update_rayon(&buf[..n]);
        size += n as u64;
    }
    Ok((size, hasher.finalize().to_hex().to_string()))
}

impl<T: VoxelType, M: Fn(f32) -> T + Sync> Run<'_, T, M> {
    /// Produces chunk row (`zc`, `yc`) of `level`: fills it (level 0) or pools its children into
    /// it, writes its chunks, and returns the buffers (one per x chunk) for the parent.
    fn chunk_row(&self, level: usize, zc: usize, yc: usize) -> Result<Vec<Vec<T>>, VolumeError> {
        let geo = &self.geo;
        let gx = geo.grid(level)[2];
        let mut band: Vec<Vec<T>> = (0..gx)
            .map(|xc| self.take_buffer(self.is_edge(level, [zc, yc, xc])))
            .collect();
        if level == 0 {
            self.fill_level0(zc, yc, &mut band)?;
        } else {
            let child_grid = geo.grid(level - 1);
            let order = SumOrder::for_level(geo.shapes[level], geo.bz);
            let [cz, cy, cx] = geo.chunk;
            for dz in 0..geo.bz {
                for dy in 0..2 {
                    let (czc, cyc) = (zc * geo.bz + dz, yc * 2 + dy);
                    if czc >= child_grid[0] || cyc >= child_grid[1] {
                        continue;
                    }
                    let child = self.chunk_row(level - 1, czc, cyc)?;
                    for (p, dst) in band.iter_mut().enumerate() {
                        for dx in 0..2 {
                            if let Some(src) = child.get(2 * p + dx) {
                                let off = [dz * cz / geo.bz, dy * cy / 2, dx * cx / 2];
                                pool_chunk_into_par(src, geo.chunk, geo.bz, dst, off, order);
                            }
                        }
                    }
                    self.pool.lock().expect("pool lock").extend(child);
                }
            }
        }
        if level < self.zarr_levels {
            self.write_chunks(level, zc, yc, &band)?;
        }
        Ok(band)
    }

    /// A chunk buffer; `zero` when the chunk will not be fully overwritten (edges).
    fn take_buffer(&self, zero: bool) -> Vec<T> {
        match self.pool.lock().expect("pool lock").pop() {
            Some(mut b) => {
                if zero {
                    b.fill(T::default());
                }
                b
            }
            None => vec![T::default(); self.geo.chunk_len()],
        }
    }

    /// True when chunk `idx` of `level` is not entirely covered by data (level 0) or by child
    /// chunks (pooled levels), so its buffer must start zeroed.
    fn is_edge(&self, level: usize, idx: [usize; 3]) -> bool {
        let geo = &self.geo;
        if level == 0 {
            (0..3).any(|a| (idx[a] + 1) * geo.chunk[a] > geo.shapes[0][a])
        } else {
            let g = geo.grid(level - 1);
            idx[0] * geo.bz + geo.bz > g[0] || idx[1] * 2 + 2 > g[1] || idx[2] * 2 + 2 > g[2]
        }
    }

    /// Reads the source rows of chunk row (`zc`, `yc`) of level 0 into `band`, writing the MRC
    /// rows, statistics, labels and key-slab sums on the way.
    fn fill_level0(&self, zc: usize, yc: usize, band: &mut [Vec<T>]) -> Result<(), VolumeError> {
        let [nz, ny, nx] = self.geo.shapes[0];
        let [cz, cy, cx] = self.geo.chunk;
        let z = zc * cz..((zc + 1) * cz).min(nz);
        let y = yc * cy..((yc + 1) * cy).min(ny);
        self.rows.prepare(z.clone(), y.clone())?;
        // Split every chunk into its z planes so each section can be scattered independently.
        let mut planes: Vec<Vec<&mut [T]>> = (0..z.len()).map(|_| Vec::new()).collect();
        for chunk in band.iter_mut() {
            for (p, plane) in chunk.chunks_mut(cy * cx).take(z.len()).enumerate() {
                planes[p].push(plane);
            }
        }
        let h = y.len();
        let partial: Vec<Result<(DataStats, Vec<u64>), VolumeError>> = planes
            .into_par_iter()
            .enumerate()
            .map_init(
                || (Vec::<f32>::new(), Vec::<T>::new()),
                |(f, scratch), (dz, mut chunk_planes)| {
                    let zi = z.start + dz;
                    f.resize(h * nx, 0.0);
                    self.rows.read_rows(zi, y.clone(), f)?;
                    let t: &[T] = T::map_slice(f, &self.map, scratch);
                    if let Some(w) = &self.mrc {
                        w.write_rows_bytes(zi, y.start, &T::le_bytes(t))
                            .map_err(VolumeError::write(self.name, &self.mrc_path))?;
                    }
                    let stats = DataStats::from_values(t);
                    let mut labels = Vec::new();
                    if T::LABELS {
                        labels = vec![0u64; 1024];
                        for &v in t {
                            let l = v.label();
                            labels[usize::from(l / 64)] |= 1 << (l % 64);
                        }
                    }
                    for (j, plane) in chunk_planes.iter_mut().enumerate() {
                        let xs = j * cx;
                        let w = cx.min(nx - xs);
                        for r in 0..h {
                            plane[r * cx..r * cx + w]
                                .copy_from_slice(&t[r * nx + xs..r * nx + xs + w]);
                        }
                    }
                    if let (Some(sum), true) = (&self.key_sum, self.key_z.contains(&zi)) {
                        let mut s = sum.lock().expect("key lock");
                        let rows = &mut s[y.start * nx..y.end * nx];
                        for (a, &v) in rows.iter_mut().zip(t) {
                            *a += v.into();
                        }
                    }
                    Ok((stats, labels))
                },
            )
            .collect();
        let mut acc = self.acc.lock().expect("acc lock");
        for p in partial {
            let (stats, labels) = p?;
            acc.stats = acc.stats.merge(stats);
            for (a, b) in acc.labels.iter_mut().zip(&labels) {
                *a |= b;
            }
        }
        Ok(())
    }

    /// Encodes and writes one chunk row of `level` in parallel, hashing each chunk file.
    fn write_chunks(
        &self,
        level: usize,
        zc: usize,
        yc: usize,
        band: &[Vec<T>],
    ) -> Result<(), VolumeError> {
        let dir = self
            .zarr_root
            .join(format!("{level}"))
            .join(zc.to_string())
            .join(yc.to_string());
        let werr = |path: &Path| VolumeError::write(self.name, path);
        std::fs::create_dir_all(&dir).map_err(werr(&dir))?;
        // One blosc thread per chunk: with several, blosc stores blocks in the order threads
        // finish them, so equal data could give different bytes and break early cutoff.
        // Parallelism comes from encoding the chunks of a row together.
        let threads = 1;
        let written: Vec<Result<OutputFile, VolumeError>> = band
            .par_iter()
            .enumerate()
            .map(|(xc, chunk)| {
                let bytes = T::le_bytes(chunk);
                let enc = omezarr::encode_chunk(&bytes, T::DTYPE, threads, self.name)?;
                let key = omezarr::chunk_key(level, [zc, yc, xc]);
                let path = dir.join(xc.to_string());
                write_file(&path, format!("{}/{key}", self.zarr_rel), &enc).map_err(werr(&path))
            })
            .collect();
        let mut files = self.files.lock().expect("files lock");
        for w in written {
            files.push(w?);
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests;
