//! The 1024-byte MRC2014 header: its fields, parsing (either byte order) and encoding.

use super::*;

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
