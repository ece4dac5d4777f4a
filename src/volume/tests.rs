//! End-to-end tests of the streaming pipeline on small volumes (small chunks so that every
//! level spans several chunks and the chunk-row recursion, padding and edges are exercised).

use super::*;
use crate::formats::mrc::MrcHeader;
use serde_json::Value;
use std::path::Path;
use zarrs::array::codec::blosc_decompress_bytes;

/// A source MRC in memory.
fn mrc(
    shape_zyx: [usize; 3],
    mode: i32,
    data: &[u8],
    edit: impl FnOnce(&mut MrcHeader),
) -> Vec<u8> {
    let mut h = MrcHeader::for_volume(shape_zyx, mode, 1.2344);
    edit(&mut h);
    let mut out = h.to_bytes().to_vec();
    out.resize(1024 + h.nsymbt.max(0) as usize, 0);
    out.extend_from_slice(data);
    out
}

fn f32_bytes(v: &[f32]) -> Vec<u8> {
    v.iter().flat_map(|x| x.to_le_bytes()).collect()
}

/// Deterministic pseudo-random values (xorshift).
fn noise(n: usize, seed: u64) -> Vec<f32> {
    let mut s = seed.max(1);
    (0..n)
        .map(|_| {
            s ^= s << 13;
            s ^= s >> 7;
            s ^= s << 17;
            (s % 10_000) as f32 / 100.0 - 50.0
        })
        .collect()
}

fn opts(chunk: [usize; 3]) -> VolumeOptions {
    let mut o = VolumeOptions::new("out");
    o.chunk = Some(chunk);
    o.timestamp = Some("2025-01-01 00:00:00".into());
    o
}

/// Reads a level back from the staging directory by decoding every chunk file (values as f64).
fn read_level(root: &Path, level: usize) -> (Vec<f64>, [usize; 3], Value) {
    let meta: Value = serde_json::from_str(
        &std::fs::read_to_string(root.join(format!("{level}/.zarray"))).unwrap(),
    )
    .unwrap();
    let shape: Vec<usize> = serde_json::from_value(meta["shape"].clone()).unwrap();
    let chunks: Vec<usize> = serde_json::from_value(meta["chunks"].clone()).unwrap();
    let dtype = meta["dtype"].as_str().unwrap().to_string();
    let es = match dtype.as_str() {
        "<f4" => 4,
        "<u2" => 2,
        _ => 1,
    };
    let clen: usize = chunks.iter().product();
    let mut out = vec![0f64; shape.iter().product()];
    for cz in 0..shape[0].div_ceil(chunks[0]) {
        for cy in 0..shape[1].div_ceil(chunks[1]) {
            for cx in 0..shape[2].div_ceil(chunks[2]) {
                let enc = std::fs::read(root.join(format!("{level}/{cz}/{cy}/{cx}"))).unwrap();
                let raw = blosc_decompress_bytes(&enc, clen * es, 1).unwrap();
                for (i, c) in raw.chunks_exact(es).enumerate() {
                    let (z, y, x) = (
                        cz * chunks[0] + i / (chunks[1] * chunks[2]),
                        cy * chunks[1] + i / chunks[2] % chunks[1],
                        cx * chunks[2] + i % chunks[2],
                    );
                    let v = match es {
                        4 => f64::from(f32::from_le_bytes(c.try_into().unwrap())),
                        2 => f64::from(u16::from_le_bytes(c.try_into().unwrap())),
                        _ => f64::from(c[0] as i8),
                    };
                    if z < shape[0] && y < shape[1] && x < shape[2] {
                        out[(z * shape[1] + y) * shape[2] + x] = v;
                    } else {
                        assert_eq!(v, 0.0, "chunk padding must be zero");
                    }
                }
            }
        }
    }
    (out, [shape[0], shape[1], shape[2]], meta)
}

/// Zero-padded block reduction of a whole array (the numpy reference, by brute force).
fn reduce(
    a: &[f64],
    s: [usize; 3],
    b: [usize; 3],
    f: impl Fn(&[f64]) -> f64,
) -> (Vec<f64>, [usize; 3]) {
    let o = [
        s[0].div_ceil(b[0]),
        s[1].div_ceil(b[1]),
        s[2].div_ceil(b[2]),
    ];
    let mut out = Vec::with_capacity(o.iter().product());
    let mut block = Vec::new();
    for z in 0..o[0] {
        for y in 0..o[1] {
            for x in 0..o[2] {
                block.clear();
                for dz in 0..b[0] {
                    for dy in 0..b[1] {
                        for dx in 0..b[2] {
                            let (iz, iy, ix) = (z * b[0] + dz, y * b[1] + dy, x * b[2] + dx);
                            block.push(if iz < s[0] && iy < s[1] && ix < s[2] {
                                a[(iz * s[1] + iy) * s[2] + ix]
                            } else {
                                0.0
                            });
                        }
                    }
                }
                out.push(f(&block));
            }
        }
    }
    (out, o)
}

fn mean(b: &[f64]) -> f64 {
    b.iter().sum::<f64>() / b.len() as f64
}

fn assert_close(got: &[f64], want: &[f64]) {
    assert_eq!(got.len(), want.len());
    for (i, (g, w)) in got.iter().zip(want).enumerate() {
        assert!(
            (g - w).abs() <= 1e-4 * w.abs().max(1.0),
            "at {i}: {g} vs {w}"
        );
    }
}

fn staging_entries(dir: &Path) -> Vec<String> {
    let mut v: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    v.sort();
    v
}

#[test]
fn tomogram_pyramid_matches_zero_padded_block_means() {
    let shape = [10, 9, 13];
    let data = noise(shape.iter().product(), 7);
    let src = mrc(shape, 2, &f32_bytes(&data), |_| {});
    let dir = tempfile::tempdir().unwrap();
    let out = standardize(
        &VolumeSource::Mrc(&src),
        "tomo.mrc",
        VolumeKind::Tomogram,
        &opts([4, 4, 4]),
        dir.path(),
    )
    .unwrap();
    assert_eq!(out.voxel_spacing, 1.234); // header 1.2344 (f32) rounded to 3 decimals
    assert_eq!(out.size, Zyx { z: 10, y: 9, x: 13 });
    assert_eq!(
        out.scales,
        vec![[10, 9, 13].into(), [5, 5, 7].into(), [3, 3, 4].into()]
    );
    assert_eq!(out.level_spacings[2], [4.936, 4.936, 4.936]);

    let root = dir.path().join("out.zarr");
    let (l0, s0, meta) = read_level(&root, 0);
    assert_eq!(meta["chunks"], serde_json::json!([4, 4, 4]));
    assert_eq!(s0, shape);
    let src64: Vec<f64> = data.iter().map(|&v| f64::from(v)).collect();
    assert_eq!(l0, src64);
    let (l1, s1, _) = read_level(&root, 1);
    let (want1, o1) = reduce(&l0, s0, [2, 2, 2], mean);
    assert_eq!(s1, o1);
    assert_close(&l1, &want1);
    let (l2, s2, _) = read_level(&root, 2);
    let (want2, o2) = reduce(&l1, s1, [2, 2, 2], mean);
    assert_eq!(s2, o2);
    assert_close(&l2, &want2);

    // MRC: level 0 and its statistics.
    let bytes = std::fs::read(dir.path().join("out.mrc")).unwrap();
    let info = crate::formats::mrc::read_header(&bytes, "out.mrc").unwrap();
    assert_eq!(info.shape_zyx, shape);
    assert_eq!(&bytes[1024..], f32_bytes(&data).as_slice());
    let n = src64.len() as f64;
    let m = src64.iter().sum::<f64>() / n;
    let sd = (src64.iter().map(|v| (v - m).powi(2)).sum::<f64>() / n).sqrt();
    assert!((f64::from(info.header.dmean) - m).abs() < 1e-4);
    assert!((f64::from(info.header.rms) - sd).abs() < 1e-4);
    assert_eq!(f64::from(info.header.dmin), out.stats.dmin);
    assert_eq!(info.header.cella[0], 1.234f32 * 13.0);

    // Every written file is listed with its size and digest.
    let chunk_files = out
        .files
        .iter()
        .filter(|f| !f.path.contains("/.z") && f.path.starts_with("out.zarr/"))
        .count();
    let want_chunks: usize = (0..3)
        .map(|l| {
            let s = [s0, s1, s2][l];
            s.iter().map(|d| d.div_ceil(4)).product::<usize>()
        })
        .sum();
    assert_eq!(chunk_files, want_chunks);
    for f in &out.files {
        let b = std::fs::read(dir.path().join(&f.path)).unwrap();
        assert_eq!(b.len() as u64, f.size, "{}", f.path);
        if f.path != "out.mrc" {
            assert_eq!(
                blake3::hash(&b).to_hex().to_string(),
                f.blake3,
                "{}",
                f.path
            );
        }
    }
    assert_eq!(out.zarr_dir.as_deref(), Some("out.zarr"));
    assert_eq!(out.mrc_file.as_deref(), Some("out.mrc"));
}

#[test]
fn real_chunking_writes_one_padded_chunk_per_level() {
    let shape = [10, 8, 6];
    let data = noise(480, 3);
    let src = mrc(shape, 2, &f32_bytes(&data), |_| {});
    let dir = tempfile::tempdir().unwrap();
    let mut o = VolumeOptions::new("t");
    o.write_mrc = false;
    let out = standardize(
        &VolumeSource::Mrc(&src),
        "t.mrc",
        VolumeKind::Tomogram,
        &o,
        dir.path(),
    )
    .unwrap();
    assert_eq!(
        out.scales,
        vec![[10, 8, 6].into(), [5, 4, 3].into(), [3, 2, 2].into()]
    );
    let (_, _, meta) = read_level(&dir.path().join("t.zarr"), 2);
    assert_eq!(meta["chunks"], serde_json::json!([256, 256, 256]));
    assert_eq!(meta["shape"], serde_json::json!([3, 2, 2]));
    assert!(out.mrc_file.is_none());
    assert_eq!(staging_entries(dir.path()), vec!["t.zarr"]);
}

#[test]
fn tilt_series_keeps_z_and_writes_an_image_stack() {
    let shape = [4, 10, 20];
    let data = noise(800, 11);
    let src = mrc(shape, 2, &f32_bytes(&data), |_| {});
    let dir = tempfile::tempdir().unwrap();
    let mut o = opts([1, 4, 4]);
    o.voxel_spacing = Some(3.0004);
    let out = standardize(
        &VolumeSource::Mrc(&src),
        "ts.mrc",
        VolumeKind::TiltSeries,
        &o,
        dir.path(),
    )
    .unwrap();
    assert_eq!(out.voxel_spacing, 3.0);
    assert_eq!(
        out.scales,
        vec![[4, 10, 20].into(), [4, 5, 10].into(), [4, 3, 5].into()]
    );
    assert_eq!(out.level_spacings[1], [3.0, 6.0, 6.0]);
    let root = dir.path().join("out.zarr");
    let (l0, s0, _) = read_level(&root, 0);
    let (l1, _, _) = read_level(&root, 1);
    let (want1, _) = reduce(&l0, s0, [1, 2, 2], mean);
    assert_close(&l1, &want1);
    let bytes = std::fs::read(dir.path().join("out.mrc")).unwrap();
    let h = crate::formats::mrc::read_header(&bytes, "out.mrc")
        .unwrap()
        .header;
    assert_eq!((h.ispg, h.mz, h.nz), (0, 1, 4));
    assert_eq!(h.cella[2], 3.0);
}

#[test]
fn semantic_masks_threshold_or_label_and_or_pool() {
    let shape = [5, 6, 7];
    let n = 210;
    // Labels 0..3 as int16.
    let labels: Vec<i16> = (0..n).map(|i| ((i * 7) % 4) as i16).collect();
    let raw: Vec<u8> = labels.iter().flat_map(|v| v.to_le_bytes()).collect();
    let src = mrc(shape, 1, &raw, |_| {});
    let dir = tempfile::tempdir().unwrap();
    let kind = VolumeKind::SemanticMask {
        label: 2,
        threshold: None,
    };
    let out = standardize(
        &VolumeSource::Mrc(&src),
        "m.mrc",
        kind,
        &opts([2, 4, 4]),
        dir.path(),
    )
    .unwrap();
    assert_eq!(out.labels, vec![1]);
    let root = dir.path().join("out.zarr");
    let (l0, s0, meta) = read_level(&root, 0);
    assert_eq!(meta["dtype"], "|i1");
    let want0: Vec<f64> = labels
        .iter()
        .map(|&v| f64::from(u8::from(v == 2)))
        .collect();
    assert_eq!(l0, want0);
    let (l1, s1, _) = read_level(&root, 1);
    let or = |b: &[f64]| f64::from(u8::from(mean(b) > 0.0));
    assert_eq!(l1, reduce(&l0, s0, [2, 2, 2], or).0);
    let (l2, _, _) = read_level(&root, 2);
    assert_eq!(l2, reduce(&l1, s1, [2, 2, 2], or).0);
    let bytes = std::fs::read(dir.path().join("out.mrc")).unwrap();
    assert_eq!(bytes[12], 0, "MRC mode 0 (int8)");

    // Threshold: data >= 2.5 on float data.
    let f: Vec<f32> = (0..n).map(|i| (i % 5) as f32 * 0.9).collect();
    let src = mrc(shape, 2, &f32_bytes(&f), |_| {});
    let kind = VolumeKind::SemanticMask {
        label: 1,
        threshold: Some(2.5),
    };
    standardize(
        &VolumeSource::Mrc(&src),
        "m.mrc",
        kind,
        &opts([2, 4, 4]),
        dir.path(),
    )
    .unwrap();
    let (l0, _, _) = read_level(&root, 0);
    let want: Vec<f64> = f.iter().map(|&v| f64::from(u8::from(v >= 2.5))).collect();
    assert_eq!(l0, want);

    // A mask without the label is all zeros and reports no labels.
    let kind = VolumeKind::SemanticMask {
        label: 9,
        threshold: None,
    };
    let src = mrc(shape, 1, &raw, |_| {});
    let out = standardize(
        &VolumeSource::Mrc(&src),
        "m.mrc",
        kind,
        &opts([2, 4, 4]),
        dir.path(),
    )
    .unwrap();
    assert!(out.labels.is_empty());
    assert_eq!(out.stats.dmax, 0.0);
}

#[test]
fn instance_masks_are_strided_and_labelled() {
    let shape = [5, 6, 7];
    let labels: Vec<u16> = (0..210).map(|i| [0u16, 3, 700, 12][i % 4]).collect();
    let raw: Vec<u8> = labels.iter().flat_map(|v| v.to_le_bytes()).collect();
    let src = mrc(shape, 6, &raw, |_| {});
    let dir = tempfile::tempdir().unwrap();
    let out = standardize(
        &VolumeSource::Mrc(&src),
        "i.mrc",
        VolumeKind::InstanceMask,
        &opts([2, 4, 4]),
        dir.path(),
    )
    .unwrap();
    assert_eq!(out.labels, vec![3, 12, 700]);
    let root = dir.path().join("out.zarr");
    let (l0, s0, meta) = read_level(&root, 0);
    assert_eq!(meta["dtype"], "<u2");
    let (l1, s1, _) = read_level(&root, 1);
    assert_eq!(l1, reduce(&l0, s0, [2, 2, 2], |b| b[0]).0);
    let (l2, _, _) = read_level(&root, 2);
    assert_eq!(l2, reduce(&l1, s1, [2, 2, 2], |b| b[0]).0);
    let attrs: Value =
        serde_json::from_str(&std::fs::read_to_string(root.join(".zattrs")).unwrap()).unwrap();
    assert_eq!(
        attrs["multiscales"][0]["metadata"]["image-label"]["colors"],
        serde_json::json!([{"label-value": 3}, {"label-value": 12}, {"label-value": 700}])
    );
    assert!(attrs.get("image-label").is_none());
    let bytes = std::fs::read(dir.path().join("out.mrc")).unwrap();
    assert_eq!(bytes[12], 6, "MRC mode 6 (uint16)");
}

#[test]
fn int8_overflow_is_remapped_when_dmax_exceeds_127() {
    let shape = [1, 1, 4];
    let raw = [0x80u8, 0xff, 0x00, 0x7f]; // -128, -1, 0, 127 as int8
    let dir = tempfile::tempdir().unwrap();
    let fixed = mrc(shape, 0, &raw, |h| h.dmax = 255.0);
    let out = standardize(
        &VolumeSource::Mrc(&fixed),
        "u8.mrc",
        VolumeKind::Tomogram,
        &opts([2, 2, 2]),
        dir.path(),
    )
    .unwrap();
    let (l0, _, _) = read_level(&dir.path().join("out.zarr"), 0);
    assert_eq!(l0, vec![0.0, 127.0, -128.0, -1.0]);
    assert_eq!((out.stats.dmin, out.stats.dmax), (-128.0, 127.0));
    let plain = mrc(shape, 0, &raw, |h| h.dmax = 127.0);
    standardize(
        &VolumeSource::Mrc(&plain),
        "i8.mrc",
        VolumeKind::Tomogram,
        &opts([2, 2, 2]),
        dir.path(),
    )
    .unwrap();
    let (l0, _, _) = read_level(&dir.path().join("out.zarr"), 0);
    assert_eq!(l0, vec![-128.0, -1.0, 0.0, 127.0]);
}

#[test]
fn permuted_axes_are_transposed_to_zyx() {
    // Stored columns = z (2), rows = x (3), sections = y (4): value = 100z + 10y + x.
    let (sz, sy, sx) = (2usize, 4usize, 3usize);
    let mut stored = Vec::new();
    for y in 0..sy {
        for x in 0..sx {
            for z in 0..sz {
                stored.push((100 * z + 10 * y + x) as f32);
            }
        }
    }
    let mut src = mrc([1, 1, 1], 2, &f32_bytes(&stored), |h| {
        h.nx = 2;
        h.ny = 3;
        h.nz = 4;
        h.mapc = 3;
        h.mapr = 1;
        h.maps = 2;
        h.my = 4; // sampling along spatial y
        h.cella = [3.0, 8.0, 2.0];
    });
    src.truncate(1024 + 96);
    let dir = tempfile::tempdir().unwrap();
    let out = standardize(
        &VolumeSource::Mrc(&src),
        "p.mrc",
        VolumeKind::Tomogram,
        &opts([2, 2, 2]),
        dir.path(),
    )
    .unwrap();
    assert_eq!(out.size, Zyx { z: 2, y: 4, x: 3 });
    assert_eq!(out.voxel_spacing, 2.0);
    let (l0, _, _) = read_level(&dir.path().join("out.zarr"), 0);
    for z in 0..sz {
        for y in 0..sy {
            for x in 0..sx {
                assert_eq!(l0[(z * sy + y) * sx + x], (100 * z + 10 * y + x) as f64);
            }
        }
    }
}

#[test]
fn bad_inputs_fail_with_the_file_name_and_leave_nothing() {
    let good = mrc([2, 2, 2], 2, &[0u8; 32], |_| {});
    let cases: Vec<(&str, Vec<u8>, &str)> = vec![
        (
            "truncated.mrc",
            good[..good.len() - 3].to_vec(),
            "truncated",
        ),
        ("short.mrc", good[..100].to_vec(), "shorter than"),
        (
            "long.mrc",
            [good.clone(), vec![0u8; 8]].concat(),
            "size mismatch",
        ),
        (
            "mode.mrc",
            mrc([2, 2, 2], 4, &[0u8; 64], |_| {}),
            "unsupported MRC mode 4",
        ),
        (
            "vs0.mrc",
            mrc([2, 2, 2], 2, &[0u8; 32], |h| h.cella = [0.0; 3]),
            "invalid voxel size",
        ),
    ];
    for (name, bytes, what) in cases {
        let dir = tempfile::tempdir().unwrap();
        // Outputs of an earlier run of the same stem are removed too.
        std::fs::create_dir_all(dir.path().join("out.zarr/0")).unwrap();
        std::fs::write(dir.path().join("out.mrc"), b"old").unwrap();
        let e = standardize(
            &VolumeSource::Mrc(&bytes),
            name,
            VolumeKind::Tomogram,
            &opts([2, 2, 2]),
            dir.path(),
        )
        .unwrap_err();
        let msg = e.to_string();
        assert!(msg.starts_with(name), "{msg}");
        assert!(msg.contains(what), "{msg}");
        assert!(
            staging_entries(dir.path()).is_empty(),
            "{name}: staging not empty"
        );
        assert!(read_header(&VolumeSource::Mrc(&bytes), name).is_err());
    }
    // An explicit spacing makes a zero header voxel size irrelevant; a bad override is an error.
    let zero = mrc([2, 2, 2], 2, &[0u8; 32], |h| h.cella = [0.0; 3]);
    let dir = tempfile::tempdir().unwrap();
    let mut o = opts([2, 2, 2]);
    o.voxel_spacing = Some(4.0);
    assert!(standardize(
        &VolumeSource::Mrc(&zero),
        "z.mrc",
        VolumeKind::Tomogram,
        &o,
        dir.path()
    )
    .is_ok());
    o.voxel_spacing = Some(0.0001);
    let e = standardize(
        &VolumeSource::Mrc(&zero),
        "z.mrc",
        VolumeKind::Tomogram,
        &o,
        dir.path(),
    )
    .unwrap_err();
    assert!(matches!(e, VolumeError::BadVoxelSpacing { .. }));
    assert!(e.to_string().starts_with("z.mrc"));
    assert!(staging_entries(dir.path()).is_empty());
}

#[test]
fn digests_are_stable_across_reruns_and_timestamps() {
    let data = noise(6 * 6 * 6, 5);
    let src = mrc([6, 6, 6], 2, &f32_bytes(&data), |_| {});
    let d1 = tempfile::tempdir().unwrap();
    let d2 = tempfile::tempdir().unwrap();
    let a = standardize(
        &VolumeSource::Mrc(&src),
        "s.mrc",
        VolumeKind::Tomogram,
        &opts([4, 4, 4]),
        d1.path(),
    )
    .unwrap();
    let mut o = opts([4, 4, 4]);
    o.timestamp = Some("2031-12-31 23:59:59".into());
    let b = standardize(
        &VolumeSource::Mrc(&src),
        "s.mrc",
        VolumeKind::Tomogram,
        &o,
        d2.path(),
    )
    .unwrap();
    assert_eq!(a.files, b.files);
    let m1 = std::fs::read(d1.path().join("out.mrc")).unwrap();
    let m2 = std::fs::read(d2.path().join("out.mrc")).unwrap();
    assert_ne!(m1, m2, "the files differ only by the label timestamp");
    // Different data → different digests.
    let mut data2 = data.clone();
    data2[0] += 1.0;
    let src2 = mrc([6, 6, 6], 2, &f32_bytes(&data2), |_| {});
    let c = standardize(
        &VolumeSource::Mrc(&src2),
        "s.mrc",
        VolumeKind::Tomogram,
        &opts([4, 4, 4]),
        d1.path(),
    )
    .unwrap();
    let digest =
        |o: &VolumeOutputs, p: &str| o.files.iter().find(|f| f.path == p).unwrap().blake3.clone();
    assert_ne!(digest(&a, "out.mrc"), digest(&c, "out.mrc"));
    assert_ne!(
        digest(&a, "out.zarr/0/0/0/0"),
        digest(&c, "out.zarr/0/0/0/0")
    );
    assert_eq!(
        digest(&a, "out.zarr/.zattrs"),
        digest(&c, "out.zarr/.zattrs")
    );
}

#[test]
fn key_slab_and_extended_header_come_from_the_stream() {
    let shape = [50, 5, 6];
    let data = noise(1500, 9);
    let src = mrc(shape, 2, &f32_bytes(&data), |h| {
        h.nsymbt = 8;
        h.exttyp = *b"FEI1";
        h.extra1 = [5; 8];
    });
    let dir = tempfile::tempdir().unwrap();
    let mut o = opts([4, 4, 4]);
    o.key_slab = true;
    let out = standardize(
        &VolumeSource::Mrc(&src),
        "k.mrc",
        VolumeKind::Tomogram,
        &o,
        dir.path(),
    )
    .unwrap();
    let slab = out.key_slab.unwrap();
    let want = KeySlab::from_volume(&data, shape);
    assert_eq!(slab.z_range, want.z_range);
    assert_close(&slab.sum, &want.sum);
    let bytes = std::fs::read(dir.path().join("out.mrc")).unwrap();
    let h = crate::formats::mrc::read_header(&bytes, "out.mrc")
        .unwrap()
        .header;
    assert_eq!((&h.exttyp, h.nsymbt, h.extra1), (b"FEI1", 8, [5; 8]));
    assert_eq!(out.source_header.mrc.unwrap().nsymbt, 8);
}

#[test]
fn ome_zarr_sources_round_trip() {
    let shape = [7, 9, 5];
    let data = noise(315, 21);
    let src = mrc(shape, 2, &f32_bytes(&data), |_| {});
    let dir = tempfile::tempdir().unwrap();
    let mut o = opts([4, 4, 4]);
    o.voxel_spacing = Some(7.5);
    o.write_mrc = false;
    standardize(
        &VolumeSource::Mrc(&src),
        "a.mrc",
        VolumeKind::Tomogram,
        &o,
        dir.path(),
    )
    .unwrap();
    let store = omezarr::local_storage(&dir.path().join("out.zarr")).unwrap();
    let zsrc = VolumeSource::OmeZarr(store);
    let h = read_header(&zsrc, "out.zarr").unwrap();
    assert_eq!(
        (h.size, h.voxel_size, h.rms),
        (Zyx { z: 7, y: 9, x: 5 }, 7.5, 0.0)
    );
    let out_dir = tempfile::tempdir().unwrap();
    let mut o2 = opts([2, 4, 2]);
    o2.stem = "again".into();
    let out = standardize(&zsrc, "out.zarr", VolumeKind::Tomogram, &o2, out_dir.path()).unwrap();
    assert_eq!(out.voxel_spacing, 7.5);
    let (l0, _, _) = read_level(&out_dir.path().join("again.zarr"), 0);
    assert_eq!(l0, data.iter().map(|&v| f64::from(v)).collect::<Vec<_>>());
    let mrc_bytes = std::fs::read(out_dir.path().join("again.mrc")).unwrap();
    assert_eq!(&mrc_bytes[1024..], f32_bytes(&data).as_slice());
}

#[test]
fn round3_matches_python() {
    assert_eq!(round3(14.0799999237), 14.08);
    assert_eq!(round3(1.2345000505447388), 1.235);
    assert_eq!(round3(0.0625), 0.062); // exact tie → even
    assert_eq!(round3(10.0), 10.0);
}

/// Converts `values` (z, y, x = `shape`, written as MRC `mode`) with `rescale_to` and returns
/// level 0 and its shape.
fn rescaled(
    shape: [usize; 3],
    mode: i32,
    raw: &[u8],
    kind: VolumeKind,
    target: [usize; 3],
    chunk: [usize; 3],
) -> (Vec<f64>, [usize; 3], VolumeOutputs) {
    let src = mrc(shape, mode, raw, |_| {});
    let dir = tempfile::tempdir().unwrap();
    let mut o = opts(chunk);
    o.rescale_to = Some(target);
    let out = standardize(&VolumeSource::Mrc(&src), "r.mrc", kind, &o, dir.path()).unwrap();
    let (l0, s0, _) = read_level(&dir.path().join("out.zarr"), 0);
    // The MRC holds the same level 0.
    let mrc_bytes = std::fs::read(dir.path().join("out.mrc")).unwrap();
    let h = MrcHeader::parse(mrc_bytes[..1024].try_into().unwrap());
    assert_eq!([h.nz, h.ny, h.nx].map(|v| v as usize), target);
    (l0, s0, out)
}

fn i8_bytes(v: &[i8]) -> Vec<u8> {
    v.iter().map(|&x| x as u8).collect()
}

/// The reference's test fixtures (`semantic_mask.mrc`, 4³ int8 labels 1–3, and
/// `small_semantic_mask.mrc`, 2³ with label 2 in the first row) and its expected 4³ outputs
/// (spec §13, test_ingest_segmentationmask / test_ingest_instancesegmentationmask).
const SEMANTIC_MASK: [i8; 64] = [
    3, 3, 3, 3, 0, 2, 0, 0, 0, 2, 0, 0, 0, 0, 0, 0, //
    0, 0, 0, 0, 0, 2, 0, 0, 0, 2, 0, 0, 0, 0, 0, 0, //
    0, 0, 0, 1, 0, 0, 0, 1, 0, 0, 0, 1, 0, 0, 0, 1, //
    0, 0, 0, 1, 0, 0, 0, 1, 0, 0, 0, 1, 0, 0, 0, 1,
];
const SMALL_SEMANTIC_MASK: [i8; 8] = [2, 2, 0, 0, 0, 0, 0, 0];
/// Both small 2³ sources upsampled to 4³: the first two rows of the first two sections.
const SMALL_UPSAMPLED: [f64; 64] = [
    1., 1., 1., 1., 1., 1., 1., 1., 0., 0., 0., 0., 0., 0., 0., 0., //
    1., 1., 1., 1., 1., 1., 1., 1., 0., 0., 0., 0., 0., 0., 0., 0., //
    0., 0., 0., 0., 0., 0., 0., 0., 0., 0., 0., 0., 0., 0., 0., 0., //
    0., 0., 0., 0., 0., 0., 0., 0., 0., 0., 0., 0., 0., 0., 0., 0.,
];

#[test]
fn semantic_rescale_matches_the_reference_fixtures() {
    let label = |l| VolumeKind::SemanticMask {
        label: l,
        threshold: None,
    };
    // mask_label 2 of the small mask, rescaled 2³ → 4³.
    let (l0, s0, out) = rescaled(
        [2, 2, 2],
        0,
        &i8_bytes(&SMALL_SEMANTIC_MASK),
        label(2),
        [4, 4, 4],
        [2, 2, 2],
    );
    assert_eq!(s0, [4, 4, 4]);
    assert_eq!(l0, SMALL_UPSAMPLED);
    assert_eq!(out.size, Zyx { z: 4, y: 4, x: 4 });
    assert_eq!(out.labels, vec![1]);
    // small_probability_map.mrc (float32 0.8 in the first row, 0.1 elsewhere), threshold 0.5.
    let prob: Vec<f32> = vec![0.8, 0.8, 0.1, 0.1, 0.1, 0.1, 0.1, 0.1];
    let thr = VolumeKind::SemanticMask {
        label: 1,
        threshold: Some(0.5),
    };
    let (l0, _, _) = rescaled([2, 2, 2], 2, &f32_bytes(&prob), thr, [4, 4, 4], [4, 4, 4]);
    assert_eq!(l0, SMALL_UPSAMPLED);
    // mask_label 3 with rescale to the same grid: no resize, the label's voxels.
    let (l0, _, _) = rescaled(
        [4, 4, 4],
        0,
        &i8_bytes(&SEMANTIC_MASK),
        label(3),
        [4, 4, 4],
        [2, 2, 2],
    );
    let want: Vec<f64> = SEMANTIC_MASK.iter().map(|&v| f64::from(v == 3)).collect();
    assert_eq!(l0, want);
}

#[test]
fn semantic_downsampling_marks_every_cell_the_label_reaches() {
    // Label 2 of the 4³ fixture, binarised, averaged over 2³ blocks, then `> 0`: the two
    // blocks of sections 0–1, columns 0–1 that hold the 2s.
    let (l0, s0, _) = rescaled(
        [4, 4, 4],
        0,
        &i8_bytes(&SEMANTIC_MASK),
        VolumeKind::SemanticMask {
            label: 2,
            threshold: None,
        },
        [2, 2, 2],
        [2, 2, 2],
    );
    assert_eq!(s0, [2, 2, 2]);
    assert_eq!(l0, vec![1., 0., 1., 0., 0., 0., 0., 0.]);
    // Label 1 (the x = 3 column of sections 2–3) over 4 → 3 columns: output column 2 covers
    // source columns 2.67–4, the only one that reaches x = 3.
    let (l0, _, _) = rescaled(
        [4, 4, 4],
        0,
        &i8_bytes(&SEMANTIC_MASK),
        VolumeKind::SemanticMask {
            label: 1,
            threshold: None,
        },
        [2, 2, 3],
        [2, 2, 2],
    );
    assert_eq!(l0, vec![0., 0., 0., 0., 0., 0., 0., 0., 1., 0., 0., 1.]);
}

#[test]
fn semantic_thresholds_apply_after_the_local_mean() {
    // Four rows of 3 columns, averaged to one row of 2 columns. Row mean: 0.2, 0.85, 0.4.
    // Column weights 3 → 2: (1, ½) / 1.5 and (½, 1) / 1.5, so the means are
    // (0.2 + 0.425) / 1.5 = 0.4167 and (0.425 + 0.4) / 1.5 = 0.55.
    let rows: Vec<f32> = vec![
        0.0, 1.0, 1.0, //
        0.4, 0.8, 0.0, //
        0.4, 0.6, 0.2, //
        0.0, 1.0, 0.4,
    ];
    let thr = |t| VolumeKind::SemanticMask {
        label: 1,
        threshold: Some(t),
    };
    let (l0, s0, out) = rescaled(
        [2, 2, 3],
        2,
        &f32_bytes(&rows),
        thr(0.5),
        [1, 1, 2],
        [2, 2, 2],
    );
    assert_eq!((s0, l0), ([1, 1, 2], vec![0.0, 1.0]));
    assert_eq!(out.labels, vec![1]);
    // Other thresholds apply to the same means: 0.4 keeps both, 0.6 keeps none.
    let (l0, _, _) = rescaled(
        [2, 2, 3],
        2,
        &f32_bytes(&rows),
        thr(0.4),
        [1, 1, 2],
        [2, 2, 2],
    );
    assert_eq!(l0, vec![1.0, 1.0]);
    let (l0, _, out) = rescaled(
        [2, 2, 3],
        2,
        &f32_bytes(&rows),
        thr(0.6),
        [1, 1, 2],
        [2, 2, 2],
    );
    assert_eq!(l0, vec![0.0, 0.0]);
    assert!(out.labels.is_empty());
}

#[test]
fn instance_rescale_is_a_nearest_neighbour_zoom() {
    // The reference's small mask (label 2) rescaled 2³ → 4³.
    let (l0, _, out) = rescaled(
        [2, 2, 2],
        0,
        &i8_bytes(&SMALL_SEMANTIC_MASK),
        VolumeKind::InstanceMask,
        [4, 4, 4],
        [2, 2, 2],
    );
    let want: Vec<f64> = SMALL_UPSAMPLED.iter().map(|v| v * 2.0).collect();
    assert_eq!(l0, want);
    assert_eq!(out.labels, vec![2]);
    // Labels along x, 5 → 3 columns: sources 0, 2, 4; 4 → 3 rows: sources 0, 2 (1.5 rounds
    // up), 3; one section of two: the first.
    let labels: Vec<u16> = (0..2 * 4 * 5).map(|i| i as u16 + 1).collect();
    let raw: Vec<u8> = labels.iter().flat_map(|v| v.to_le_bytes()).collect();
    let (l0, s0, _) = rescaled(
        [2, 4, 5],
        6,
        &raw,
        VolumeKind::InstanceMask,
        [1, 3, 3],
        [2, 2, 2],
    );
    assert_eq!(s0, [1, 3, 3]);
    assert_eq!(l0, vec![1., 3., 5., 11., 13., 15., 16., 18., 20.]);
    // 8 → 26 along x: scipy's coordinate for the last output lands just past the input, so
    // it is 0 (the constant), as in the reference.
    let row: Vec<u16> = (1..=8).collect();
    let raw: Vec<u8> = row.iter().flat_map(|v| v.to_le_bytes()).collect();
    let (l0, _, _) = rescaled(
        [1, 1, 8],
        6,
        &raw,
        VolumeKind::InstanceMask,
        [1, 1, 26],
        [2, 2, 8],
    );
    let want: Vec<f64> = (0..26)
        .map(|k| {
            if k == 25 {
                0.0
            } else {
                (k as f64 * 7.0 / 25.0 + 0.5).floor() + 1.0
            }
        })
        .collect();
    assert_eq!(l0, want);
}
