//! MRC2014 header parsing and a streaming MRC writer.
//!
//! Why our own: the header is a fixed 1024-byte record, and the ingester needs two things a
//! general library makes awkward: header-only reads through any byte source (local file or S3
//! ranged GET, hence [`ByteSource`]), and a writer that takes the data slab by slab from several
//! threads and patches the statistics into the header at the end, so a large volume never has to
//! be held in memory.
//!
//! Here: byte sources, errors and modes; `header.rs`: the header record; `data.rs`: voxel
//! decoding and statistics; `write.rs`: the streaming writer.

use crate::storage::ByteSource;
use std::fs::File;
use std::io;
use std::path::{Path, PathBuf};

mod data;
mod header;
mod write;

pub use data::*;
pub use header::*;
pub use write::*;

/// Size of the fixed MRC header.
pub const HEADER_LEN: usize = 1024;

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
