//! Converts real MRC files (seeded random data) and checks the outputs with the ecosystem's own
//! readers, zarr-python 2.18 and mrcfile, through `tests/python/check_volume.py`.
//!
//! Needs the test venv: run `tests/python/setup_venv.sh` (venv at `$CRYOET_TEST_VENV`, default
//! `<repo>/.venv`). A missing venv fails the tests; it never skips them.

use crate::common::venv_python;
use cryoet_ingest::formats::mrc::MrcHeader;
use cryoet_ingest::volume::{standardize, VolumeKind, VolumeOptions, VolumeOutputs, VolumeSource};
use serde_json::{json, Value};
use std::path::Path;
use std::process::Command;

/// SplitMix64: seeded, reproducible test data.
struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    fn f32(&mut self) -> f32 {
        (self.next() >> 40) as f32 / (1u64 << 24) as f32 * 200.0 - 100.0
    }
}

/// Writes an MRC file with the given mode and raw data.
fn write_mrc(
    path: &Path,
    shape_zyx: [usize; 3],
    mode: i32,
    vs: f32,
    data: &[u8],
    edit: impl FnOnce(&mut MrcHeader),
) {
    let mut h = MrcHeader::for_volume(shape_zyx, mode, vs);
    edit(&mut h);
    let mut out = h.to_bytes().to_vec();
    out.resize(1024 + h.nsymbt.max(0) as usize, 0x5a);
    out.extend_from_slice(data);
    std::fs::write(path, out).unwrap();
}

/// Converts `src` and runs the Python checker on the outputs; returns the outputs and the facts.
fn convert_and_check(
    src: &Path,
    kind: VolumeKind,
    kind_name: &str,
    opts: VolumeOptions,
) -> (VolumeOutputs, Value) {
    let py = venv_python();
    let staging = tempfile::tempdir().unwrap();
    let file = std::fs::File::open(src).unwrap();
    let name = src.file_name().unwrap().to_string_lossy().to_string();
    let out = standardize(
        &VolumeSource::Mrc(&file),
        &name,
        kind,
        &opts,
        staging.path(),
    )
    .unwrap();
    let (label, threshold) = match kind {
        VolumeKind::SemanticMask { label, threshold } => (label, threshold),
        _ => (1, None),
    };
    let spec = json!({
        "source": src,
        "zarr": out.zarr_dir.as_ref().map(|d| staging.path().join(d)),
        "mrc": out.mrc_file.as_ref().map(|f| staging.path().join(f)),
        "kind": kind_name,
        "voxel_spacing": out.voxel_spacing,
        "label": label,
        "threshold": threshold,
    });
    let spec_path = staging.path().join("spec.json");
    std::fs::write(&spec_path, spec.to_string()).unwrap();
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/python/check_volume.py");
    let res = Command::new(&py)
        .arg(&script)
        .arg(&spec_path)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&res.stdout);
    let report: Value = serde_json::from_str(stdout.trim()).unwrap_or_else(|e| {
        panic!(
            "checker output is not JSON ({e}): {stdout}\nstderr: {}",
            String::from_utf8_lossy(&res.stderr)
        )
    });
    assert!(
        res.status.success() && report["ok"] == true,
        "{name}: checker failed: {}",
        report["errors"]
    );
    (out, report["facts"].clone())
}

fn f32_bytes(v: &[f32]) -> Vec<u8> {
    v.iter().flat_map(|x| x.to_le_bytes()).collect()
}

#[test]
fn float32_tomogram_spanning_several_chunks() {
    let dir = tempfile::tempdir().unwrap();
    let shape = [260, 270, 258];
    let mut rng = Rng(42);
    let data: Vec<f32> = (0..shape.iter().product::<usize>())
        .map(|_| rng.f32())
        .collect();
    let src = dir.path().join("tomo.mrc");
    write_mrc(&src, shape, 2, 10.012, &f32_bytes(&data), |_| {});
    let mut opts = VolumeOptions::new("tomo");
    opts.key_slab = true;
    let (out, facts) = convert_and_check(&src, VolumeKind::Tomogram, "tomogram", opts);
    assert_eq!(out.voxel_spacing, 10.012);
    assert_eq!(
        facts["shapes"],
        json!([[260, 270, 258], [130, 135, 129], [65, 68, 65]])
    );
    assert_eq!(facts["mrc_mode"], 2);
    assert_eq!(facts["mrc_ispg"], 1);
    assert_eq!(facts["mrc_validate"], true);
    let vs = facts["mrc_voxel_size"][1].as_f64().unwrap();
    assert!((vs - 10.012).abs() < 1e-4);
    // 8 level-0 chunks + 1 + 1, plus .zgroup, .zattrs, 3 × .zarray and the MRC.
    assert_eq!(out.files.len(), 8 + 1 + 1 + 5 + 1);
    assert_eq!(out.key_slab.as_ref().unwrap().z_range, 110..150);
}

#[test]
fn int16_tomogram_with_extended_header_and_odd_shape() {
    let dir = tempfile::tempdir().unwrap();
    let shape = [37, 41, 43];
    let mut rng = Rng(7);
    let vals: Vec<i16> = (0..shape.iter().product::<usize>())
        .map(|_| (rng.next() % 4000) as i16 - 2000)
        .collect();
    let raw: Vec<u8> = vals.iter().flat_map(|v| v.to_le_bytes()).collect();
    let src = dir.path().join("int16.mrc");
    write_mrc(&src, shape, 1, 4.4, &raw, |h| {
        h.nsymbt = 2 * 128;
        h.exttyp = *b"FEI1";
    });
    let (out, facts) = convert_and_check(
        &src,
        VolumeKind::Tomogram,
        "tomogram",
        VolumeOptions::new("odd"),
    );
    assert_eq!(
        facts["shapes"],
        json!([[37, 41, 43], [19, 21, 22], [10, 11, 11]])
    );
    assert_eq!(facts["mrc_mode"], 2, "tomograms are written as float32");
    assert_eq!(out.source_header.mrc.as_ref().unwrap().nsymbt, 256);
}

#[test]
fn tilt_series_with_multiple_xy_chunks() {
    let dir = tempfile::tempdir().unwrap();
    let shape = [3, 1100, 1030];
    let mut rng = Rng(3);
    let data: Vec<f32> = (0..shape.iter().product::<usize>())
        .map(|_| rng.f32())
        .collect();
    let src = dir.path().join("ts.mrc");
    write_mrc(&src, shape, 2, 1.5, &f32_bytes(&data), |_| {});
    let mut opts = VolumeOptions::new("ts");
    opts.voxel_spacing = Some(1.5);
    let (_, facts) = convert_and_check(&src, VolumeKind::TiltSeries, "tiltseries", opts);
    assert_eq!(
        facts["shapes"],
        json!([[3, 1100, 1030], [3, 550, 515], [3, 275, 258]])
    );
    assert_eq!(facts["mrc_ispg"], 0);
    let vz = facts["mrc_voxel_size"][2].as_f64().unwrap();
    assert_eq!(vz, 1.5, "cella.z = pixel spacing with mz = 1");
}

#[test]
fn semantic_mask_from_labels_and_threshold() {
    let dir = tempfile::tempdir().unwrap();
    let shape = [21, 30, 19];
    let mut rng = Rng(11);
    let labels: Vec<u8> = (0..shape.iter().product::<usize>())
        .map(|_| (rng.next() % 5) as u8)
        .collect();
    let src = dir.path().join("labels.mrc");
    write_mrc(&src, shape, 0, 8.0, &labels, |_| {});
    let kind = VolumeKind::SemanticMask {
        label: 3,
        threshold: None,
    };
    let (out, facts) = convert_and_check(&src, kind, "semantic", VolumeOptions::new("m"));
    assert_eq!(facts["mrc_mode"], 0);
    assert_eq!(out.labels, vec![1]);

    let probs: Vec<f32> = (0..shape.iter().product::<usize>())
        .map(|_| rng.f32())
        .collect();
    let src = dir.path().join("probs.mrc");
    write_mrc(&src, shape, 2, 8.0, &f32_bytes(&probs), |_| {});
    let kind = VolumeKind::SemanticMask {
        label: 1,
        threshold: Some(90.0),
    };
    let (_, facts) = convert_and_check(&src, kind, "semantic", VolumeOptions::new("t"));
    assert_eq!(
        facts["shapes"],
        json!([[21, 30, 19], [11, 15, 10], [6, 8, 5]])
    );
}

#[test]
fn instance_mask_uint16() {
    let dir = tempfile::tempdir().unwrap();
    let shape = [17, 22, 31];
    let mut rng = Rng(5);
    let labels: Vec<u16> = (0..shape.iter().product::<usize>())
        .map(|_| [0u16, 0, 4, 9, 1000][(rng.next() % 5) as usize])
        .collect();
    let raw: Vec<u8> = labels.iter().flat_map(|v| v.to_le_bytes()).collect();
    let src = dir.path().join("inst.mrc");
    write_mrc(&src, shape, 6, 12.5, &raw, |_| {});
    let (out, facts) = convert_and_check(
        &src,
        VolumeKind::InstanceMask,
        "instance",
        VolumeOptions::new("i"),
    );
    assert_eq!(facts["label_values"], json!([4, 9, 1000]));
    assert_eq!(facts["mrc_mode"], 6);
    assert_eq!(out.labels, vec![4, 9, 1000]);
}

#[test]
fn old_unsigned_int8_tomogram_is_remapped() {
    let dir = tempfile::tempdir().unwrap();
    let shape = [6, 7, 9];
    let mut rng = Rng(9);
    let raw: Vec<u8> = (0..shape.iter().product::<usize>())
        .map(|_| rng.next() as u8)
        .collect();
    let src = dir.path().join("u8.mrc");
    write_mrc(&src, shape, 0, 3.0, &raw, |h| h.dmax = 255.0);
    let (out, _) = convert_and_check(
        &src,
        VolumeKind::Tomogram,
        "tomogram",
        VolumeOptions::new("u8"),
    );
    assert!(out.stats.dmin >= -128.0 && out.stats.dmax <= 127.0);
}
