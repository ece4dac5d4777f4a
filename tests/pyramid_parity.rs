//! Float pyramid levels against the reference's own arithmetic: skimage 0.22's
//! `block_reduce(level, block, np.mean)` on float32 under numpy 1.26.4, run by
//! `tests/python/check_block_reduce.py` in the test venv's `reference-numerics` venv. Every voxel
//! of levels 1 and 2 must have the same float32 bits.
//!
//! Shapes are odd, span several chunks (so the streaming kernel's chunk seams are crossed), and
//! include levels one voxel wide or tall, where numpy adds a block's values in another order.

use crate::common::{reference_numerics_python, repo};
use cryoet_ingest::formats::mrc::MrcHeader;
use cryoet_ingest::volume::{standardize, VolumeKind, VolumeOptions, VolumeSource};
use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::Command;

/// Seeded values of mixed magnitudes (xorshift), so that the order of additions shows in the
/// last bit of many means.
fn values(n: usize, mut seed: u64) -> Vec<f32> {
    (0..n)
        .map(|_| {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            let unit = (seed >> 40) as f32 / (1u64 << 24) as f32 - 0.5;
            unit * [1.0, 1e3, 3e-2, 7.0][(seed & 3) as usize]
        })
        .collect()
}

/// Writes `data` as the float32 MRC `dir/{name}.mrc` and standardizes it as `kind` into the
/// folder `dir/{name}`, writing only the MRC or only the zarr; returns the source's path and
/// the path of the written output.
fn standardize_values(
    dir: &Path,
    name: &str,
    shape: [usize; 3],
    data: &[f32],
    kind: VolumeKind,
    write_mrc: bool,
) -> (PathBuf, PathBuf) {
    let src = dir.join(format!("{name}.mrc"));
    let mut bytes = MrcHeader::for_volume(shape, 2, 4.5).to_bytes().to_vec();
    bytes.extend(data.iter().flat_map(|v| v.to_le_bytes()));
    std::fs::write(&src, bytes).unwrap();
    let staging = dir.join(name);
    std::fs::create_dir(&staging).unwrap();
    let file = std::fs::File::open(&src).unwrap();
    let mut opts = VolumeOptions::new("vol");
    opts.write_mrc = write_mrc;
    opts.write_zarr = !write_mrc;
    let out = standardize(
        &VolumeSource::Mrc(&file),
        &src.display().to_string(),
        kind,
        &opts,
        &staging,
    )
    .unwrap();
    let written = if write_mrc {
        out.mrc_file
    } else {
        out.zarr_dir
    };
    (src, staging.join(written.expect("the output was written")))
}

/// Runs `script` of `tests/python/` with `args` in the reference-numerics venv and parses the
/// JSON it prints.
fn reference_numerics_report<S: AsRef<std::ffi::OsStr>>(script: &str, args: &[S]) -> Value {
    let res = Command::new(reference_numerics_python())
        .arg(repo().join("tests/python").join(script))
        .args(args)
        .output()
        .unwrap();
    assert!(
        res.status.success(),
        "{script}: {}",
        String::from_utf8_lossy(&res.stderr)
    );
    serde_json::from_slice(&res.stdout).unwrap()
}

/// Writes seeded values as a float32 MRC, converts it, and returns the checker's report.
fn convert_and_compare(dir: &Path, shape: [usize; 3], kind: VolumeKind, seed: u64) -> Value {
    let data = values(shape.iter().product(), seed);
    let name = format!("src_{}x{}x{}", shape[0], shape[1], shape[2]);
    let (src, zarr) = standardize_values(dir, &name, shape, &data, kind, false);
    let bz = if kind == VolumeKind::TiltSeries { 1 } else { 2 };
    let args = [src, zarr, PathBuf::from(bz.to_string())];
    reference_numerics_report("check_block_reduce.py", &args)
}

fn assert_bit_identical(report: &Value, shape: [usize; 3]) {
    assert_eq!(report["numpy"], "1.26.4", "{report}");
    assert_eq!(report["skimage"], "0.22.0", "{report}");
    let levels = report["levels"].as_array().unwrap();
    assert_eq!(levels.len(), 3);
    for (i, level) in levels.iter().enumerate() {
        assert_eq!(level["dtype"], "float32", "{report}");
        assert_eq!(
            level["differing"], 0,
            "level {i} of {shape:?} differs from block_reduce: {report}"
        );
    }
}

#[test]
fn tomogram_levels_equal_skimage_block_reduce_bit_for_bit() {
    let dir = tempfile::tempdir().unwrap();
    // x spans three 256-chunks at level 0 and two at level 1; y two; z odd.
    for (shape, seed) in [
        ([7, 263, 517], 1),
        // Level 2 is 1 voxel wide: numpy adds each z plane of a block as one run.
        ([13, 40, 3], 2),
        // Level 2 is 1×1 in y, x: numpy sums the 8 values of a block as a pairwise tree.
        ([11, 3, 3], 3),
    ] {
        let report = convert_and_compare(dir.path(), shape, VolumeKind::Tomogram, seed);
        assert_bit_identical(&report, shape);
    }
}

#[test]
fn tilt_series_levels_equal_skimage_block_reduce_bit_for_bit() {
    let dir = tempfile::tempdir().unwrap();
    // y spans two (1, 1024, 1024) chunks at level 0; x odd; a narrow one for the long runs.
    for (shape, seed) in [([3, 1031, 45], 4), ([2, 7, 3], 5)] {
        let report = convert_and_compare(dir.path(), shape, VolumeKind::TiltSeries, seed);
        assert_bit_identical(&report, shape);
    }
}

#[test]
fn mrc_header_mean_and_rms_equal_the_reference_s_arithmetic_bit_for_bit() {
    let dir = tempfile::tempdir().unwrap();
    let mut mrcs = Vec::new();
    // Long enough for numpy's pairwise sum to split many times (and at odd counts); mixed
    // magnitudes, so the order shows in the last bit.
    for (name, shape, seed, kind) in [
        ("tomogram", [9, 131, 257], 6, VolumeKind::Tomogram),
        ("tilt_series", [3, 517, 77], 7, VolumeKind::TiltSeries),
        ("tiny", [1, 5, 3], 8, VolumeKind::Tomogram),
    ] {
        let data = values(shape.iter().product(), seed);
        mrcs.push(standardize_values(dir.path(), name, shape, &data, kind, true).1);
    }
    // Masks: int8 0/1 and uint16 labels, whose means numpy sums through 8192-value buffers.
    let shape = [21, 67, 131];
    let labels: Vec<f32> = values(shape.iter().product(), 9)
        .iter()
        .map(|v| (v.abs() * 37.0).floor() % 5.0)
        .collect();
    let semantic = VolumeKind::SemanticMask {
        label: 3,
        threshold: None,
    };
    for (name, kind) in [
        ("semantic", semantic),
        ("instance", VolumeKind::InstanceMask),
    ] {
        mrcs.push(standardize_values(dir.path(), name, shape, &labels, kind, true).1);
    }

    let report = reference_numerics_report("check_mrc_stats.py", &mrcs);
    assert_eq!(report["numpy"], "1.26.4", "{report}");
    let files = report["files"].as_array().unwrap();
    let dtypes: Vec<&str> = files.iter().map(|f| f["dtype"].as_str().unwrap()).collect();
    assert_eq!(
        dtypes,
        ["float32", "float32", "float32", "int8", "uint16"],
        "{report}"
    );
    for f in files {
        assert_eq!(
            f["equal"],
            serde_json::json!({"dmean": true, "rms": true}),
            "{f}"
        );
    }
}
