//! MRC2014 header parsing and a streaming MRC writer.
//!
//! Why our own: the header is a fixed 1024-byte record, and the ingester needs two things a
//! general library makes awkward: header-only reads through any byte source (local file or S3
//! ranged GET, hence [`ByteSource`]), and a writer that takes the data slab by slab from several
//! threads and patches the statistics into the header at the end, so a large volume never has to
//! be held in memory.

use std::fs::File;
use std::io;
use std::path::{Path, PathBuf};

/// Size of the fixed MRC header.
pub const HEADER_LEN: usize = 1024;

/// Anything the volume code can read bytes from at an offset (local file, in-memory buffer, or an
/// S3 object read with ranged GETs by the engine).
pub trait ByteSource: Send + Sync {
    /// Total length in bytes.
    fn len(&self) -> u64;
    /// Fills `buf` with the bytes at `offset`; a short read is an error.
    fn read_at(&self, offset: u64, buf: &mut [u8]) -> io::Result<()>;
    /// True when the source holds no bytes.
    fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

#[cfg(unix)]
impl ByteSource for File {
    fn len(&self) -> u64 {
        self.metadata().map(|m| m.len()).unwrap_or(0)
    }
    fn read_at(&self, offset: u64, buf: &mut [u8]) -> io::Result<()> {
        std::os::unix::fs::FileExt::read_exact_at(self, buf, offset)
    }
}

fn slice_read_at(data: &[u8], offset: u64, buf: &mut [u8]) -> io::Result<()> {
    let start = usize::try_from(offset).map_err(|_| io::ErrorKind::UnexpectedEof)?;
    let end = start
        .checked_add(buf.len())
        .ok_or(io::ErrorKind::UnexpectedEof)?;
    let src = data.get(start..end).ok_or(io::ErrorKind::UnexpectedEof)?;
    buf.copy_from_slice(src);
    Ok(())
}

impl ByteSource for &[u8] {
    fn len(&self) -> u64 {
        <[u8]>::len(self) as u64
    }
    fn read_at(&self, offset: u64, buf: &mut [u8]) -> io::Result<()> {
        slice_read_at(self, offset, buf)
    }
}

impl ByteSource for Vec<u8> {
    fn len(&self) -> u64 {
        self.as_slice().len() as u64
    }
    fn read_at(&self, offset: u64, buf: &mut [u8]) -> io::Result<()> {
        slice_read_at(self, offset, buf)
    }
}

/// Errors reading an MRC file; each names the file (the display name the caller passed).
// Each variant's `#[error]` message documents it; the fields are the file name and the header
// values (standard MRC2014 names) or byte counts that the message quotes.
#[allow(missing_docs)]
#[derive(Debug, thiserror::Error)]
pub enum MrcError {
    #[error("{name}: not an MRC file: {len} bytes, shorter than the 1024-byte header")]
    TooShort { name: String, len: u64 },
    #[error(
        "{name}: truncated MRC: the header describes {expected} bytes but the file has {actual}"
    )]
    Truncated {
        name: String,
        expected: u64,
        actual: u64,
    },
    #[error("{name}: MRC size mismatch: the header describes {expected} bytes but the file has {actual}")]
    SizeMismatch {
        name: String,
        expected: u64,
        actual: u64,
    },
    #[error("{name}: unsupported MRC mode {mode} (supported: 0 int8, 1 int16, 2 float32, 6 uint16, 12 float16)")]
    UnsupportedMode { name: String, mode: i32 },
    #[error("{name}: invalid MRC dimensions nx={nx} ny={ny} nz={nz}")]
    BadDimensions {
        name: String,
        nx: i32,
        ny: i32,
        nz: i32,
    },
    #[error("{name}: invalid MRC axis mapping mapc={mapc} mapr={mapr} maps={maps}")]
    BadAxisMap {
        name: String,
        mapc: i32,
        mapr: i32,
        maps: i32,
    },
    #[error("{name}: invalid MRC extended header size nsymbt={nsymbt}")]
    BadExtendedHeader { name: String, nsymbt: i32 },
    #[error("{name}: invalid voxel size {value} (cella.y={cella_y} / my={my})")]
    BadVoxelSize {
        name: String,
        value: f64,
        cella_y: f32,
        my: i32,
    },
    #[error("{name}: I/O error reading MRC: {source}")]
    Io {
        name: String,
        #[source]
        source: io::Error,
    },
}

/// MRC data modes this crate reads and writes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum MrcMode {
    /// Mode 0: signed 8-bit integers (read as `i8`, as mrcfile does).
    Int8,
    /// Mode 1: signed 16-bit integers.
    Int16,
    /// Mode 2: 32-bit IEEE floats.
    Float32,
    /// Mode 6: unsigned 16-bit integers.
    Uint16,
    /// Mode 12: 16-bit IEEE half-precision floats.
    Float16,
}

impl MrcMode {
    /// From the header's `mode` field.
    pub fn from_code(code: i32) -> Option<Self> {
        Some(match code {
            0 => Self::Int8,
            1 => Self::Int16,
            2 => Self::Float32,
            6 => Self::Uint16,
            12 => Self::Float16,
            _ => return None,
        })
    }
    /// The header's `mode` value.
    pub fn code(self) -> i32 {
        match self {
            Self::Int8 => 0,
            Self::Int16 => 1,
            Self::Float32 => 2,
            Self::Uint16 => 6,
            Self::Float16 => 12,
        }
    }
    /// Bytes per voxel.
    pub fn elem_size(self) -> usize {
        match self {
            Self::Int8 => 1,
            Self::Int16 | Self::Uint16 | Self::Float16 => 2,
            Self::Float32 => 4,
        }
    }
}

/// Every field of the MRC2014 header, as stored (no interpretation).
///
/// Field names are the lower-cased words of the MRC2014 standard
/// (<https://www.ccpem.ac.uk/mrc_format/mrc2014.php>), in header order; only `extra1`/`extra2`
/// (the standard's one `EXTRA` run, split around `EXTTYP`/`NVERSION`) and `labels` are ours.
// Standard-named fields carry the standard's meaning; see the link above.
#[allow(missing_docs)]
#[derive(Debug, Clone, PartialEq)]
pub struct MrcHeader {
    pub nx: i32,
    pub ny: i32,
    pub nz: i32,
    pub mode: i32,
    pub nxstart: i32,
    pub nystart: i32,
    pub nzstart: i32,
    pub mx: i32,
    pub my: i32,
    pub mz: i32,
    pub cella: [f32; 3],
    pub cellb: [f32; 3],
    pub mapc: i32,
    pub mapr: i32,
    pub maps: i32,
    pub dmin: f32,
    pub dmax: f32,
    pub dmean: f32,
    pub ispg: i32,
    pub nsymbt: i32,
    /// Bytes 96..104 (words 25–26): the part of the standard's `EXTRA` before `EXTTYP`.
    pub extra1: [u8; 8],
    pub exttyp: [u8; 4],
    pub nversion: i32,
    /// Bytes 112..196 (words 29–49): the part of the standard's `EXTRA` after `NVERSION`.
    pub extra2: [u8; 84],
    pub origin: [f32; 3],
    pub map: [u8; 4],
    pub machst: [u8; 4],
    pub rms: f32,
    pub nlabl: i32,
    /// The standard's `LABEL` block (bytes 224..1024): ten 80-byte text labels, all kept
    /// whatever `nlabl` says.
    pub labels: [[u8; 80]; 10],
}

/// Little-endian machine stamp written by this crate (and by mrcfile on x86).
pub const MACHST_LE: [u8; 4] = [0x44, 0x44, 0, 0];

impl Default for MrcHeader {
    /// An MRC2014 header with `MAP `, little-endian, nversion 20140 (as IMOD writes), 90°
    /// angles. Standardized outputs set [`OUTPUT_NVERSION`] instead.
    fn default() -> Self {
        Self {
            nx: 0,
            ny: 0,
            nz: 0,
            mode: 2,
            nxstart: 0,
            nystart: 0,
            nzstart: 0,
            mx: 0,
            my: 0,
            mz: 0,
            cella: [0.0; 3],
            cellb: [90.0; 3],
            mapc: 1,
            mapr: 2,
            maps: 3,
            dmin: 0.0,
            dmax: -1.0,
            dmean: -2.0,
            ispg: 1,
            nsymbt: 0,
            extra1: [0; 8],
            exttyp: *b"MRCO",
            nversion: 20140,
            extra2: [0; 84],
            origin: [0.0; 3],
            map: *b"MAP ",
            machst: MACHST_LE,
            rms: -1.0,
            nlabl: 0,
            labels: [[0; 80]; 10],
        }
    }
}

/// Reads fields at fixed offsets with the file's byte order.
struct Fields<'a> {
    b: &'a [u8; HEADER_LEN],
    big: bool,
}

impl Fields<'_> {
    fn raw4(&self, off: usize) -> [u8; 4] {
        let mut a = [0u8; 4];
        a.copy_from_slice(&self.b[off..off + 4]);
        a
    }
    fn i(&self, off: usize) -> i32 {
        let a = self.raw4(off);
        if self.big {
            i32::from_be_bytes(a)
        } else {
            i32::from_le_bytes(a)
        }
    }
    fn f(&self, off: usize) -> f32 {
        let a = self.raw4(off);
        if self.big {
            f32::from_be_bytes(a)
        } else {
            f32::from_le_bytes(a)
        }
    }
    fn f3(&self, off: usize) -> [f32; 3] {
        [self.f(off), self.f(off + 4), self.f(off + 8)]
    }
}

impl MrcHeader {
    /// A header for a new volume of `shape_zyx` in `mode` at `voxel` Å (cella = voxel × dims),
    /// with mrcfile's defaults for every other field.
    pub fn for_volume(shape_zyx: [usize; 3], mode: i32, voxel: f32) -> Self {
        let [nz, ny, nx] = shape_zyx.map(|n| n as i32);
        Self {
            nx,
            ny,
            nz,
            mx: nx,
            my: ny,
            mz: nz,
            mode,
            cella: [voxel * nx as f32, voxel * ny as f32, voxel * nz as f32],
            ..Self::default()
        }
    }

    /// True when the machine stamp says big-endian (0x11 0x11); anything else reads as
    /// little-endian, as mrcfile does in permissive mode.
    pub fn is_big_endian(bytes: &[u8; HEADER_LEN]) -> bool {
        bytes[212] == 0x11
    }

    /// Decodes the 1024 header bytes.
    pub fn parse(bytes: &[u8; HEADER_LEN]) -> Self {
        let r = Fields {
            b: bytes,
            big: Self::is_big_endian(bytes),
        };
        let mut extra1 = [0u8; 8];
        extra1.copy_from_slice(&bytes[96..104]);
        let mut extra2 = [0u8; 84];
        extra2.copy_from_slice(&bytes[112..196]);
        let mut labels = [[0u8; 80]; 10];
        for (i, l) in labels.iter_mut().enumerate() {
            l.copy_from_slice(&bytes[224 + 80 * i..304 + 80 * i]);
        }
        Self {
            nx: r.i(0),
            ny: r.i(4),
            nz: r.i(8),
            mode: r.i(12),
            nxstart: r.i(16),
            nystart: r.i(20),
            nzstart: r.i(24),
            mx: r.i(28),
            my: r.i(32),
            mz: r.i(36),
            cella: r.f3(40),
            cellb: r.f3(52),
            mapc: r.i(64),
            mapr: r.i(68),
            maps: r.i(72),
            dmin: r.f(76),
            dmax: r.f(80),
            dmean: r.f(84),
            ispg: r.i(88),
            nsymbt: r.i(92),
            extra1,
            exttyp: r.raw4(104),
            nversion: r.i(108),
            extra2,
            origin: r.f3(196),
            map: r.raw4(208),
            machst: r.raw4(212),
            rms: r.f(216),
            nlabl: r.i(220),
            labels,
        }
    }

    /// Encodes the header, little-endian (the machine stamp is written as stored in `machst`;
    /// writers should keep [`MACHST_LE`]).
    pub fn to_bytes(&self) -> [u8; HEADER_LEN] {
        let mut b = [0u8; HEADER_LEN];
        let mut put = |off: usize, v: [u8; 4]| b[off..off + 4].copy_from_slice(&v);
        for (off, v) in [
            (0, self.nx),
            (4, self.ny),
            (8, self.nz),
            (12, self.mode),
            (16, self.nxstart),
            (20, self.nystart),
            (24, self.nzstart),
            (28, self.mx),
            (32, self.my),
            (36, self.mz),
            (64, self.mapc),
            (68, self.mapr),
            (72, self.maps),
            (88, self.ispg),
            (92, self.nsymbt),
            (108, self.nversion),
            (220, self.nlabl),
        ] {
            put(off, v.to_le_bytes());
        }
        for (i, v) in self.cella.iter().enumerate() {
            put(40 + 4 * i, v.to_le_bytes());
        }
        for (i, v) in self.cellb.iter().enumerate() {
            put(52 + 4 * i, v.to_le_bytes());
        }
        for (i, v) in self.origin.iter().enumerate() {
            put(196 + 4 * i, v.to_le_bytes());
        }
        put(76, self.dmin.to_le_bytes());
        put(80, self.dmax.to_le_bytes());
        put(84, self.dmean.to_le_bytes());
        put(216, self.rms.to_le_bytes());
        put(104, self.exttyp);
        put(208, self.map);
        put(212, self.machst);
        b[96..104].copy_from_slice(&self.extra1);
        b[112..196].copy_from_slice(&self.extra2);
        for (i, l) in self.labels.iter().enumerate() {
            b[224 + 80 * i..304 + 80 * i].copy_from_slice(l);
        }
        b
    }

    /// Voxel size as mrcfile reports it: `cella.y / my`, divided in float32.
    pub fn voxel_size(&self) -> f64 {
        f64::from(self.cella[1] / self.my as f32)
    }

    /// True when `exttyp` holds something other than blanks / NULs.
    pub fn has_exttyp(&self) -> bool {
        self.exttyp
            .iter()
            .any(|&c| c != 0 && !c.is_ascii_whitespace())
    }
}

/// A validated MRC header plus where the data sits and how to read it.
#[derive(Debug, Clone)]
pub struct MrcInfo {
    /// Display name of the source (used in every error).
    pub name: String,
    /// The header fields as read, in the file's byte order.
    pub header: MrcHeader,
    /// The data mode decoded from `header.mode` (unsupported codes are rejected).
    pub mode: MrcMode,
    /// The machine stamp says big-endian (first byte 0x11); the header fields and the data are
    /// in that byte order.
    pub big_endian: bool,
    /// Spatial shape in z, y, x order (after applying mapc/mapr/maps).
    pub shape_zyx: [usize; 3],
    /// For each stored axis (column, row, section), the spatial axis index in z,y,x order.
    pub stored_to_zyx: [usize; 3],
    /// Byte offset of the first voxel (1024 + nsymbt).
    pub data_offset: u64,
}

impl MrcInfo {
    /// True when stored order is already x fastest, then y, then z (mapc/mapr/maps = 1,2,3).
    pub fn is_standard_order(&self) -> bool {
        self.stored_to_zyx == [2, 1, 0]
    }
    /// Stored dims (columns, rows, sections) = (nx, ny, nz).
    pub fn stored_dims(&self) -> [usize; 3] {
        [
            self.header.nx as usize,
            self.header.ny as usize,
            self.header.nz as usize,
        ]
    }
    /// Number of data bytes.
    pub fn data_len(&self) -> u64 {
        self.shape_zyx.iter().map(|&d| d as u64).product::<u64>() * self.mode.elem_size() as u64
    }
    /// The header's voxel size (`cella.y / my`), rejecting 0, negative and non-finite values.
    pub fn voxel_size_checked(&self) -> Result<f64, MrcError> {
        let v = self.header.voxel_size();
        if v.is_finite() && v > 0.0 {
            Ok(v)
        } else {
            Err(MrcError::BadVoxelSize {
                name: self.name.clone(),
                value: v,
                cella_y: self.header.cella[1],
                my: self.header.my,
            })
        }
    }
    /// The extended header bytes (`nsymbt` bytes after the main header).
    pub fn read_extended_header(&self, src: &dyn ByteSource) -> Result<Vec<u8>, MrcError> {
        let mut ext = vec![0u8; self.header.nsymbt.max(0) as usize];
        src.read_at(HEADER_LEN as u64, &mut ext)
            .map_err(|e| self.io_err(e))?;
        Ok(ext)
    }
    pub(crate) fn io_err(&self, source: io::Error) -> MrcError {
        MrcError::Io {
            name: self.name.clone(),
            source,
        }
    }
}

/// Reads and validates the header (only the first 1024 bytes are read): mode, dimensions, axis
/// mapping, extended-header size, and that the file length matches exactly.
pub fn read_header(src: &dyn ByteSource, name: &str) -> Result<MrcInfo, MrcError> {
    let len = src.len();
    if len < HEADER_LEN as u64 {
        return Err(MrcError::TooShort {
            name: name.to_string(),
            len,
        });
    }
    let mut bytes = [0u8; HEADER_LEN];
    src.read_at(0, &mut bytes).map_err(|source| MrcError::Io {
        name: name.to_string(),
        source,
    })?;
    let header = MrcHeader::parse(&bytes);
    let big_endian = MrcHeader::is_big_endian(&bytes);
    let mode = MrcMode::from_code(header.mode).ok_or_else(|| MrcError::UnsupportedMode {
        name: name.to_string(),
        mode: header.mode,
    })?;
    if header.nx <= 0 || header.ny <= 0 || header.nz <= 0 {
        return Err(MrcError::BadDimensions {
            name: name.to_string(),
            nx: header.nx,
            ny: header.ny,
            nz: header.nz,
        });
    }
    if header.nsymbt < 0 {
        return Err(MrcError::BadExtendedHeader {
            name: name.to_string(),
            nsymbt: header.nsymbt,
        });
    }
    // mapc/mapr/maps: 1=x, 2=y, 3=z for columns, rows, sections. Zeros (seen in old files) mean
    // the standard order.
    let maps_raw = [header.mapc, header.mapr, header.maps];
    let maps = if maps_raw == [0, 0, 0] {
        [1, 2, 3]
    } else {
        maps_raw
    };
    let mut sorted = maps;
    sorted.sort_unstable();
    if sorted != [1, 2, 3] {
        return Err(MrcError::BadAxisMap {
            name: name.to_string(),
            mapc: header.mapc,
            mapr: header.mapr,
            maps: header.maps,
        });
    }
    // spatial axis a (1=x,2=y,3=z) → zyx index 3-a.
    let stored_to_zyx = maps.map(|a| (3 - a) as usize);
    let stored = [header.nx as usize, header.ny as usize, header.nz as usize];
    let mut shape_zyx = [0usize; 3];
    for (i, &ax) in stored_to_zyx.iter().enumerate() {
        shape_zyx[ax] = stored[i];
    }
    let info = MrcInfo {
        name: name.to_string(),
        data_offset: HEADER_LEN as u64 + header.nsymbt as u64,
        header,
        mode,
        big_endian,
        shape_zyx,
        stored_to_zyx,
    };
    let expected = info.data_offset + info.data_len();
    if len < expected {
        return Err(MrcError::Truncated {
            name: name.to_string(),
            expected,
            actual: len,
        });
    }
    if len > expected {
        return Err(MrcError::SizeMismatch {
            name: name.to_string(),
            expected,
            actual: len,
        });
    }
    Ok(info)
}

/// IEEE half → single (exact).
pub fn f16_to_f32(h: u16) -> f32 {
    let sign = u32::from(h >> 15) << 31;
    let exp = u32::from((h >> 10) & 0x1f);
    let mant = u32::from(h & 0x3ff);
    let bits = match (exp, mant) {
        (0, 0) => sign,
        (0, _) => {
            // Subnormal: normalise the mantissa.
            let mut e: u32 = 113;
            let mut m = mant;
            while m & 0x400 == 0 {
                m <<= 1;
                e -= 1;
            }
            sign | (e << 23) | ((m & 0x3ff) << 13)
        }
        (0x1f, _) => sign | 0x7f80_0000 | (mant << 13),
        _ => sign | ((exp + 112) << 23) | (mant << 13),
    };
    f32::from_bits(bits)
}

/// Decodes raw voxels of `mode` into f32 (`out.len()` voxels).
pub fn decode_to_f32(mode: MrcMode, big_endian: bool, raw: &[u8], out: &mut [f32]) {
    debug_assert_eq!(raw.len(), out.len() * mode.elem_size());
    macro_rules! conv {
        ($n:literal, $f:expr) => {
            for (o, c) in out.iter_mut().zip(raw.chunks_exact($n)) {
                let a: [u8; $n] = c.try_into().unwrap();
                *o = $f(a);
            }
        };
    }
    match (mode, big_endian) {
        (MrcMode::Int8, _) => conv!(1, |a: [u8; 1]| f32::from(a[0] as i8)),
        (MrcMode::Int16, false) => conv!(2, |a| f32::from(i16::from_le_bytes(a))),
        (MrcMode::Int16, true) => conv!(2, |a| f32::from(i16::from_be_bytes(a))),
        (MrcMode::Uint16, false) => conv!(2, |a| f32::from(u16::from_le_bytes(a))),
        (MrcMode::Uint16, true) => conv!(2, |a| f32::from(u16::from_be_bytes(a))),
        (MrcMode::Float16, false) => conv!(2, |a| f16_to_f32(u16::from_le_bytes(a))),
        (MrcMode::Float16, true) => conv!(2, |a| f16_to_f32(u16::from_be_bytes(a))),
        (MrcMode::Float32, false) => conv!(4, f32::from_le_bytes),
        (MrcMode::Float32, true) => conv!(4, f32::from_be_bytes),
    }
}

/// Summary statistics of written data, accumulated in f64 and merged with Chan et al.'s
/// parallel variance formula (numerically sound for large volumes).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct DataStats {
    /// Number of values seen.
    pub count: u64,
    /// Smallest value (+∞ when `count` is 0).
    pub min: f64,
    /// Largest value (−∞ when `count` is 0).
    pub max: f64,
    /// Arithmetic mean (0 when `count` is 0).
    pub mean: f64,
    /// Sum of squared deviations from the mean.
    pub m2: f64,
}

impl Default for DataStats {
    fn default() -> Self {
        Self {
            count: 0,
            min: f64::INFINITY,
            max: f64::NEG_INFINITY,
            mean: 0.0,
            m2: 0.0,
        }
    }
}

impl DataStats {
    /// Statistics of one slice of values: f64 sums of the values shifted by the first one
    /// (so large offsets do not cancel), in 8 independent lanes the compiler can vectorize.
    pub fn from_values<T: Copy + Into<f64>>(values: &[T]) -> Self {
        let Some(&first) = values.first() else {
            return Self::default();
        };
        let k: f64 = first.into();
        const L: usize = 8;
        let (mut mn, mut mx) = ([f64::INFINITY; L], [f64::NEG_INFINITY; L]);
        let (mut s1, mut s2) = ([0f64; L], [0f64; L]);
        let mut lanes = values.chunks_exact(L);
        for c in &mut lanes {
            for i in 0..L {
                let v: f64 = c[i].into();
                mn[i] = mn[i].min(v);
                mx[i] = mx[i].max(v);
                let d = v - k;
                s1[i] += d;
                s2[i] += d * d;
            }
        }
        for (i, &v) in lanes.remainder().iter().enumerate() {
            let v: f64 = v.into();
            mn[i] = mn[i].min(v);
            mx[i] = mx[i].max(v);
            let d = v - k;
            s1[i] += d;
            s2[i] += d * d;
        }
        let n = values.len() as f64;
        let (s1, s2): (f64, f64) = (s1.iter().sum(), s2.iter().sum());
        Self {
            count: values.len() as u64,
            min: mn.iter().copied().fold(f64::INFINITY, f64::min),
            max: mx.iter().copied().fold(f64::NEG_INFINITY, f64::max),
            mean: k + s1 / n,
            m2: (s2 - s1 * s1 / n).max(0.0),
        }
    }

    /// Combines two partial results.
    pub fn merge(self, o: Self) -> Self {
        if self.count == 0 {
            return o;
        }
        if o.count == 0 {
            return self;
        }
        let n = (self.count + o.count) as f64;
        let d = o.mean - self.mean;
        let (na, nb) = (self.count as f64, o.count as f64);
        Self {
            count: self.count + o.count,
            min: self.min.min(o.min),
            max: self.max.max(o.max),
            mean: self.mean + d * nb / n,
            m2: self.m2 + o.m2 + d * d * na * nb / n,
        }
    }

    /// Population standard deviation.
    pub fn std(&self) -> f64 {
        if self.count == 0 {
            0.0
        } else {
            (self.m2 / self.count as f64).sqrt()
        }
    }
}

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

#[cfg(test)]
mod tests {
    use super::*;

    const MACHST_BE: [u8; 4] = [0x11, 0x11, 0, 0];

    /// Builds an MRC file in memory: header fields via `edit`, then data bytes.
    fn mrc_bytes(
        shape_xyz: [i32; 3],
        mode: i32,
        data: &[u8],
        edit: impl FnOnce(&mut MrcHeader),
    ) -> Vec<u8> {
        let [x, y, z] = shape_xyz.map(|n| n as usize);
        let mut h = MrcHeader::for_volume([z, y, x], mode, 2.5);
        edit(&mut h);
        let mut out = h.to_bytes().to_vec();
        out.extend(std::iter::repeat_n(0u8, h.nsymbt.max(0) as usize));
        out.extend_from_slice(data);
        out
    }

    #[test]
    fn header_round_trip_keeps_every_field() {
        let mut h = MrcHeader {
            nx: 3,
            ny: 4,
            nz: 5,
            mode: 1,
            nxstart: -1,
            nystart: 2,
            nzstart: 7,
            mx: 3,
            my: 4,
            mz: 5,
            cella: [1.5, 2.5, 3.5],
            cellb: [90.0, 80.0, 70.0],
            mapc: 2,
            mapr: 1,
            maps: 3,
            dmin: -1.0,
            dmax: 9.0,
            dmean: 0.5,
            ispg: 401,
            nsymbt: 0,
            exttyp: *b"FEI1",
            nversion: 20141,
            origin: [1.0, 2.0, 3.0],
            rms: 0.25,
            nlabl: 2,
            ..MrcHeader::default()
        };
        h.extra1 = [1, 2, 3, 4, 5, 6, 7, 8];
        h.extra2[83] = 9;
        h.labels[1][..5].copy_from_slice(b"hello");
        let bytes = h.to_bytes();
        assert_eq!(&bytes[208..212], b"MAP ");
        assert_eq!(&bytes[212..216], &MACHST_LE);
        assert_eq!(MrcHeader::parse(&bytes), h);
    }

    #[test]
    fn big_endian_headers_are_read() {
        let le = MrcHeader {
            nx: 2,
            ny: 3,
            nz: 4,
            cella: [1.0, 6.0, 1.0],
            my: 3,
            ..MrcHeader::default()
        }
        .to_bytes();
        // Byte-swap every 4-byte numeric word of the first 56 words, set the BE stamp.
        let mut be = le;
        for w in (0..220).step_by(4) {
            if (96..196).contains(&w) || w == 104 || w == 208 || w == 212 {
                continue;
            }
            be[w..w + 4].reverse();
        }
        be[212..216].copy_from_slice(&MACHST_BE);
        let h = MrcHeader::parse(&be);
        assert_eq!((h.nx, h.ny, h.nz), (2, 3, 4));
        assert_eq!(h.voxel_size(), 2.0);
        let mut out = [0f32; 1];
        decode_to_f32(MrcMode::Float32, true, &1.5f32.to_be_bytes(), &mut out);
        assert_eq!(out[0], 1.5);
    }

    #[test]
    fn every_supported_mode_decodes() {
        let mut o = [0f32; 2];
        decode_to_f32(MrcMode::Int8, false, &[0xff, 0x7f], &mut o);
        assert_eq!(o, [-1.0, 127.0]);
        let raw: Vec<u8> = [-300i16, 300]
            .iter()
            .flat_map(|v| v.to_le_bytes())
            .collect();
        decode_to_f32(MrcMode::Int16, false, &raw, &mut o);
        assert_eq!(o, [-300.0, 300.0]);
        let raw: Vec<u8> = [65535u16, 7].iter().flat_map(|v| v.to_le_bytes()).collect();
        decode_to_f32(MrcMode::Uint16, false, &raw, &mut o);
        assert_eq!(o, [65535.0, 7.0]);
        // 0x3c00 = 1.0, 0xc000 = -2.0
        decode_to_f32(MrcMode::Float16, false, &[0x00, 0x3c, 0x00, 0xc0], &mut o);
        assert_eq!(o, [1.0, -2.0]);
        let raw: Vec<u8> = [0.25f32, -7.5]
            .iter()
            .flat_map(|v| v.to_le_bytes())
            .collect();
        decode_to_f32(MrcMode::Float32, false, &raw, &mut o);
        assert_eq!(o, [0.25, -7.5]);
        for code in [0, 1, 2, 6, 12] {
            let m = MrcMode::from_code(code).unwrap();
            assert_eq!(m.code(), code);
        }
        assert_eq!(MrcMode::from_code(4), None);
    }

    #[test]
    fn half_floats_cover_special_values() {
        assert_eq!(f16_to_f32(0x0000), 0.0);
        assert!(f16_to_f32(0x8000).is_sign_negative());
        assert_eq!(f16_to_f32(0x0001), 2f32.powi(-24)); // smallest subnormal
        assert_eq!(f16_to_f32(0x03ff), 1023.0 * 2f32.powi(-24));
        assert_eq!(f16_to_f32(0x7bff), 65504.0); // max
        assert_eq!(f16_to_f32(0x7c00), f32::INFINITY);
        assert!(f16_to_f32(0x7e00).is_nan());
    }

    #[test]
    fn read_header_validates_and_maps_axes() {
        let data = vec![0u8; 2 * 3 * 4 * 2];
        let bytes = mrc_bytes([2, 3, 4], 1, &data, |h| {
            // columns = z, rows = x, sections = y
            h.mapc = 3;
            h.mapr = 1;
            h.maps = 2;
        });
        let info = read_header(&bytes, "t.mrc").unwrap();
        assert_eq!(info.mode, MrcMode::Int16);
        assert!(!info.is_standard_order());
        // x size = rows (3), y = sections (4), z = columns (2)
        assert_eq!(info.shape_zyx, [2, 4, 3]);
        assert_eq!(info.data_offset, 1024);
        assert_eq!(info.voxel_size_checked().unwrap(), 2.5);

        let std = read_header(&mrc_bytes([2, 3, 4], 1, &data, |_| {}), "s.mrc").unwrap();
        assert!(std.is_standard_order());
        assert_eq!(std.shape_zyx, [4, 3, 2]);
    }

    #[test]
    fn extended_headers_are_skipped_and_readable() {
        let data: Vec<u8> = (0..8u8).collect();
        let mut bytes = mrc_bytes([2, 2, 2], 0, &data, |h| {
            h.nsymbt = 16;
            h.exttyp = *b"SERI";
        });
        bytes[1024..1040].copy_from_slice(&[7u8; 16]);
        let info = read_header(&bytes, "e.mrc").unwrap();
        assert_eq!(info.data_offset, 1040);
        assert!(info.header.has_exttyp());
        assert_eq!(info.read_extended_header(&bytes).unwrap(), vec![7u8; 16]);
        let mut first = [0u8; 8];
        bytes.read_at(info.data_offset, &mut first).unwrap();
        assert_eq!(first.to_vec(), data);
    }

    #[test]
    fn bad_inputs_give_named_errors() {
        let ok = mrc_bytes([2, 2, 2], 2, &[0u8; 32], |_| {});
        let short = ok[..500].to_vec();
        let e = read_header(&short, "short.mrc").unwrap_err();
        assert!(matches!(e, MrcError::TooShort { .. }));
        assert!(e.to_string().contains("short.mrc"));

        let trunc = ok[..ok.len() - 4].to_vec();
        let e = read_header(&trunc, "trunc.mrc").unwrap_err();
        assert!(matches!(
            e,
            MrcError::Truncated {
                expected: 1056,
                actual: 1052,
                ..
            }
        ));
        assert!(e.to_string().contains("trunc.mrc"));

        let mut long = ok.clone();
        long.extend([0u8; 4]);
        let e = read_header(&long, "long.mrc").unwrap_err();
        assert!(matches!(e, MrcError::SizeMismatch { .. }));
        assert!(e.to_string().contains("long.mrc"));

        let e = read_header(&mrc_bytes([2, 2, 2], 3, &[0u8; 16], |_| {}), "m.mrc").unwrap_err();
        assert!(matches!(e, MrcError::UnsupportedMode { mode: 3, .. }));
        assert!(e.to_string().contains("m.mrc") && e.to_string().contains("mode 3"));

        let e = read_header(&mrc_bytes([0, 2, 2], 2, &[], |_| {}), "d.mrc").unwrap_err();
        assert!(matches!(e, MrcError::BadDimensions { .. }));

        let bad_axes = mrc_bytes([2, 2, 2], 2, &[0u8; 32], |h| h.maps = 1);
        let e = read_header(&bad_axes, "a.mrc").unwrap_err();
        assert!(matches!(e, MrcError::BadAxisMap { .. }));

        let zero_vs = mrc_bytes([2, 2, 2], 2, &[0u8; 32], |h| h.cella = [0.0; 3]);
        let info = read_header(&zero_vs, "vs.mrc").unwrap();
        let e = info.voxel_size_checked().unwrap_err();
        assert!(matches!(e, MrcError::BadVoxelSize { .. }));
        assert!(e.to_string().contains("vs.mrc"));
        let nan_vs = mrc_bytes([2, 2, 2], 2, &[0u8; 32], |h| h.cella[1] = f32::NAN);
        assert!(read_header(&nan_vs, "n.mrc")
            .unwrap()
            .voxel_size_checked()
            .is_err());
    }

    #[test]
    fn stats_merge_matches_a_single_pass() {
        let a: Vec<f32> = (0..1000)
            .map(|i| (i as f32 * 0.37).sin() * 1e3 + 1e4)
            .collect();
        let whole = DataStats::from_values(&a);
        let merged = a
            .chunks(77)
            .map(DataStats::from_values)
            .fold(DataStats::default(), DataStats::merge);
        assert_eq!(merged.count, 1000);
        assert!((merged.mean - whole.mean).abs() < 1e-9);
        assert!((merged.std() - whole.std()).abs() < 1e-9);
        assert_eq!((merged.min, merged.max), (whole.min, whole.max));
        // Against a plain two-pass computation, with a large offset.
        let m = a.iter().map(|&v| f64::from(v)).sum::<f64>() / 1000.0;
        let sd = (a.iter().map(|&v| (f64::from(v) - m).powi(2)).sum::<f64>() / 1000.0).sqrt();
        assert!((whole.mean - m).abs() < 1e-9 && (whole.std() - sd).abs() < 1e-9);
        assert_eq!(DataStats::from_values::<f32>(&[]).count, 0);
    }

    #[test]
    fn writer_streams_rows_and_patches_stats() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("out.mrc");
        let spec = MrcOutputSpec {
            shape_zyx: [2, 3, 4],
            mode: MrcMode::Float32,
            voxel_size: 14.08,
            tilt_series: false,
            extra1: [1; 8],
            extra2: [2; 84],
            extended: Some((*b"FEI1", vec![9u8; 32])),
            timestamp: "2024-01-02 03:04:05".into(),
        };
        let w = MrcWriter::create(&path, &spec).unwrap();
        let vals: Vec<f32> = (0..24).map(|v| v as f32).collect();
        // Write out of order: section 1 first, then section 0 in two row groups.
        w.write_rows(1, 0, &vals[12..]).unwrap();
        w.write_rows(0, 1, &vals[4..12]).unwrap();
        w.write_rows(0, 0, &vals[..4]).unwrap();
        let (_, h) = w.finish(&DataStats::from_values(&vals)).unwrap();
        let bytes = std::fs::read(&path).unwrap();
        assert_eq!(bytes.len(), 1024 + 32 + 96);
        let info = read_header(&bytes, "out.mrc").unwrap();
        assert_eq!(info.header, h);
        assert_eq!(h.cella, [14.08f32 * 4.0, 14.08f32 * 3.0, 14.08f32 * 2.0]);
        assert_eq!((h.mx, h.my, h.mz, h.ispg), (4, 3, 2, 1));
        assert_eq!((h.dmin, h.dmax, h.dmean), (0.0, 23.0, 11.5));
        assert!((h.rms - 6.922_187).abs() < 1e-5);
        assert_eq!(&h.exttyp, b"FEI1");
        assert_eq!(h.nsymbt, 32);
        // mrcfile 1.5.4 writes 20141 (`nversion` at byte 108).
        assert_eq!(h.nversion, 20141);
        assert_eq!(&bytes[108..112], &20141i32.to_le_bytes());
        assert_eq!((h.extra1, h.extra2), ([1; 8], [2; 84]));
        let label = String::from_utf8_lossy(&h.labels[0][..79]).to_string();
        assert_eq!(
            label,
            format!("{:40}{:>39}", LABEL_TEXT, "2024-01-02 03:04:05")
        );
        assert_eq!(&bytes[TIMESTAMP_RANGE][20..], b"2024-01-02 03:04:05");
        let mut data = vec![0f32; 24];
        decode_to_f32(MrcMode::Float32, false, &bytes[1056..], &mut data);
        assert_eq!(data, vals);
    }

    #[test]
    fn tilt_series_header_is_an_image_stack() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("ts.mrc");
        let spec = MrcOutputSpec {
            shape_zyx: [3, 2, 2],
            mode: MrcMode::Int8,
            voxel_size: 1.5,
            tilt_series: true,
            extra1: [0; 8],
            extra2: [0; 84],
            extended: None,
            timestamp: "2024-01-02 03:04:05".into(),
        };
        let w = MrcWriter::create(&path, &spec).unwrap();
        for z in 0..3 {
            w.write_rows(z, 0, &[1i8; 4]).unwrap();
        }
        let (_, h) = w.finish(&DataStats::from_values(&[1i8; 12])).unwrap();
        assert_eq!((h.ispg, h.mz, h.mode), (0, 1, 0));
        assert_eq!(h.cella, [3.0, 3.0, 1.5]);
        assert_eq!((&h.exttyp, h.nsymbt), (b"MRCO", 0));
        assert_eq!(h.nversion, OUTPUT_NVERSION);
        assert_eq!(std::fs::metadata(&path).unwrap().len(), 1024 + 12);
    }
}
