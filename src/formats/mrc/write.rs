//! The streaming writer: rows from any thread, header statistics patched in at the end.

use super::*;

/// An element type the writer can store.
pub trait MrcElem: Copy + Send + Sync + Into<f64> + 'static {
    /// The MRC mode this element type is written as.
    const MODE: MrcMode;
    /// Appends `values` to `out` as little-endian bytes of that mode.
    fn put_le(values: &[Self], out: &mut Vec<u8>);
}

impl MrcElem for f32 {
    const MODE: MrcMode = MrcMode::Float32;
    fn put_le(values: &[Self], out: &mut Vec<u8>) {
        out.extend(values.iter().flat_map(|v| v.to_le_bytes()));
    }
}
impl MrcElem for i8 {
    const MODE: MrcMode = MrcMode::Int8;
    fn put_le(values: &[Self], out: &mut Vec<u8>) {
        out.extend(values.iter().map(|&v| v as u8));
    }
}
impl MrcElem for u16 {
    const MODE: MrcMode = MrcMode::Uint16;
    fn put_le(values: &[Self], out: &mut Vec<u8>) {
        out.extend(values.iter().flat_map(|v| v.to_le_bytes()));
    }
}

/// What the standardized MRC header says besides the data (spec §6.4).
#[derive(Debug, Clone)]
pub struct MrcOutputSpec {
    /// Output shape, z, y, x.
    pub shape_zyx: [usize; 3],
    /// Data mode of the output (sets `mode` and the bytes per voxel).
    pub mode: MrcMode,
    /// Isotropic voxel size in Å (stored as float32).
    pub voxel_size: f64,
    /// Tilt series: ispg 0, mz 1, cella.z = voxel size.
    pub tilt_series: bool,
    /// Header bytes 96..104 ([`MrcHeader::extra1`]), copied from the source MRC (zeros
    /// otherwise).
    pub extra1: [u8; 8],
    /// Header bytes 112..196 ([`MrcHeader::extra2`]), copied from the source MRC (zeros
    /// otherwise).
    pub extra2: [u8; 84],
    /// Source `exttyp` and extended header, copied when both are non-empty.
    pub extended: Option<([u8; 4], Vec<u8>)>,
    /// `YYYY-MM-DD HH:MM:SS` for label 0.
    pub timestamp: String,
}

/// `nversion` of the standardized MRCs: what `mrcfile.new` writes (mrcfile 1.5.4, the
/// reference's), the 2014 format's current revision.
pub const OUTPUT_NVERSION: i32 = 20141;

/// Text of label 0 before the timestamp.
pub const LABEL_TEXT: &str = "Validated by cryoET data portal.";
/// Byte range of the timestamp inside the header (label 0, characters 40..79).
pub const TIMESTAMP_RANGE: std::ops::Range<usize> = 224 + 40..224 + 79;

/// Streaming MRC writer: create, write rows from any thread, then `finish` with the stats.
pub struct MrcWriter {
    file: File,
    path: PathBuf,
    header: MrcHeader,
    data_offset: u64,
    shape_zyx: [usize; 3],
}

impl MrcWriter {
    /// Creates the file at its final size with a provisional header and the extended header.
    pub fn create(path: &Path, spec: &MrcOutputSpec) -> io::Result<Self> {
        let [nz, ny, nx] = spec.shape_zyx;
        let vs = spec.voxel_size as f32;
        let mut h = MrcHeader {
            nx: nx as i32,
            ny: ny as i32,
            nz: nz as i32,
            mode: spec.mode.code(),
            mx: nx as i32,
            my: ny as i32,
            mz: if spec.tilt_series { 1 } else { nz as i32 },
            cella: [
                vs * nx as f32,
                vs * ny as f32,
                if spec.tilt_series { vs } else { vs * nz as f32 },
            ],
            ispg: if spec.tilt_series { 0 } else { 1 },
            nversion: OUTPUT_NVERSION,
            extra1: spec.extra1,
            extra2: spec.extra2,
            ..MrcHeader::default()
        };
        let mut ext: &[u8] = &[];
        if let Some((typ, bytes)) = &spec.extended {
            h.exttyp = *typ;
            h.nsymbt = bytes.len() as i32;
            ext = bytes;
        }
        h.nlabl = 1;
        let mut label = format!("{LABEL_TEXT:40}{:>39}", spec.timestamp).into_bytes();
        label.resize(80, 0);
        h.labels[0].copy_from_slice(&label);

        // Read back too: `finish` computes the header statistics from the written data.
        let file = std::fs::OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(true)
            .open(path)?;
        let data_offset = (HEADER_LEN + ext.len()) as u64;
        let data_len = (nx * ny * nz * spec.mode.elem_size()) as u64;
        file.set_len(data_offset + data_len)?;
        write_all_at(&file, &h.to_bytes(), 0)?;
        write_all_at(&file, ext, HEADER_LEN as u64)?;
        Ok(Self {
            file,
            path: path.to_path_buf(),
            header: h,
            data_offset,
            shape_zyx: spec.shape_zyx,
        })
    }

    /// Writes `values` (whole rows, x fastest) starting at row `y0` of section `z`. Thread-safe.
    pub fn write_rows<T: MrcElem>(&self, z: usize, y0: usize, values: &[T]) -> io::Result<()> {
        let [_, ny, nx] = self.shape_zyx;
        debug_assert_eq!(values.len() % nx, 0);
        debug_assert!(y0 + values.len() / nx <= ny);
        let mut buf = Vec::with_capacity(std::mem::size_of_val(values));
        T::put_le(values, &mut buf);
        let off = self.data_offset + ((z * ny + y0) * nx * T::MODE.elem_size()) as u64;
        write_all_at(&self.file, &buf, off)
    }

    /// Writes little-endian voxel bytes (whole rows) starting at row `y0` of section `z`.
    /// Thread-safe.
    pub fn write_rows_bytes(&self, z: usize, y0: usize, bytes: &[u8]) -> io::Result<()> {
        let [_, ny, nx] = self.shape_zyx;
        let es = MrcMode::from_code(self.header.mode).map_or(1, |m| m.elem_size());
        debug_assert_eq!(bytes.len() % (nx * es), 0);
        let off = self.data_offset + ((z * ny + y0) * nx * es) as u64;
        write_all_at(&self.file, bytes, off)
    }

    /// Patches dmin/dmax (from `stats`) and dmean/rms (recomputed from the written data in
    /// the reference's arithmetic: [`reference_mean_rms`]) into the header and returns the
    /// final header. Durability (fsync) is left to whoever publishes the file.
    pub fn finish(mut self, stats: &DataStats) -> io::Result<(PathBuf, MrcHeader)> {
        if stats.count > 0 {
            let mode = MrcMode::from_code(self.header.mode).unwrap_or(MrcMode::Float32);
            let count = self.shape_zyx.iter().product();
            let (mean, rms) = reference_mean_rms(&self.file, self.data_offset, count, mode)?;
            self.header.dmin = stats.min as f32;
            self.header.dmax = stats.max as f32;
            self.header.dmean = mean;
            self.header.rms = rms;
        }
        write_all_at(&self.file, &self.header.to_bytes(), 0)?;
        Ok((self.path, self.header))
    }
}

/// dmean and rms as the reference writes them, from the `count` values at `offset` of `file`:
/// mrcfile's `dmean = data.mean(dtype=float32)` and the reference's own
/// `rms = sqrt(mean((data - mean(data)) ** 2))`, in numpy's dtypes and summation order
/// ([`buffered_sum`]). Float32 data is summed in float32; integer data's rms is computed in
/// float64 (numpy's mean of integers is float64). Streaming passes over the file (two for
/// float32, three for integers); the data was just written, so it is in the page cache.
///
/// [`buffered_sum`]: crate::pycompat::numpy_sum::buffered_sum
pub fn reference_mean_rms(
    file: &File,
    offset: u64,
    count: usize,
    mode: MrcMode,
) -> io::Result<(f32, f32)> {
    use crate::pycompat::numpy_sum::{buffered_sum, Mapped};
    let values = || FileValues::new(file, offset, mode);
    let n = count as f64;
    let sum = buffered_sum(count, &mut Mapped::new(values(), |v: f64| v as f32))?;
    let mean = (f64::from(sum) / n) as f32;
    if mode == MrcMode::Float32 {
        let mut squares = Mapped::new(values(), |v: f64| {
            let d = v as f32 - mean;
            d * d
        });
        let sum = buffered_sum(count, &mut squares)?;
        return Ok((mean, ((f64::from(sum) / n) as f32).sqrt()));
    }
    let mean64 = buffered_sum(count, &mut values())? / n;
    let mut squares = Mapped::new(values(), |v: f64| (v - mean64) * (v - mean64));
    let sum = buffered_sum(count, &mut squares)?;
    Ok((mean, (sum / n).sqrt() as f32))
}

/// The voxels of an MRC data block in file order, decoded to f64 (exact for every mode).
struct FileValues<'a> {
    file: &'a File,
    /// File offset of the next value not yet in `decoded`.
    next_offset: u64,
    mode: MrcMode,
    decoded: Vec<f64>,
    at: usize,
}

impl<'a> FileValues<'a> {
    /// Values read in blocks of this many.
    const BLOCK: usize = 1 << 20;

    fn new(file: &'a File, offset: u64, mode: MrcMode) -> Self {
        Self {
            file,
            next_offset: offset,
            mode,
            decoded: Vec::new(),
            at: 0,
        }
    }

    fn refill(&mut self, at_least: usize) -> io::Result<()> {
        self.decoded.drain(..self.at);
        self.at = 0;
        let want = Self::BLOCK.max(at_least);
        let mut raw = vec![0u8; want * self.mode.elem_size()];
        let len = self.file.metadata()?.len();
        let available = (len.saturating_sub(self.next_offset) as usize).min(raw.len());
        let available = available - available % self.mode.elem_size();
        raw.truncate(available);
        read_exact_at(self.file, &mut raw, self.next_offset)?;
        self.next_offset += raw.len() as u64;
        let mut values = vec![0f32; raw.len() / self.mode.elem_size()];
        decode_to_f32(self.mode, false, &raw, &mut values);
        self.decoded.extend(values.iter().map(|&v| f64::from(v)));
        Ok(())
    }
}

impl crate::pycompat::numpy_sum::ValueSource<f64> for FileValues<'_> {
    fn next_values(&mut self, out: &mut [f64]) -> io::Result<()> {
        if self.decoded.len() - self.at < out.len() {
            self.refill(out.len())?;
            if self.decoded.len() < out.len() {
                return Err(io::Error::new(
                    io::ErrorKind::UnexpectedEof,
                    "MRC data shorter than its header says",
                ));
            }
        }
        out.copy_from_slice(&self.decoded[self.at..self.at + out.len()]);
        self.at += out.len();
        Ok(())
    }
}

#[cfg(unix)]
fn read_exact_at(f: &File, buf: &mut [u8], off: u64) -> io::Result<()> {
    std::os::unix::fs::FileExt::read_exact_at(f, buf, off)
}

#[cfg(unix)]
fn write_all_at(f: &File, buf: &[u8], off: u64) -> io::Result<()> {
    std::os::unix::fs::FileExt::write_all_at(f, buf, off)
}
