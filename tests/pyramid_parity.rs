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
use std::path::Path;
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

/// Writes `data` as a float32 MRC, converts it, and returns the checker's report.
fn convert_and_compare(dir: &Path, shape: [usize; 3], kind: VolumeKind, seed: u64) -> Value {
    let data = values(shape.iter().product(), seed);
    let src = dir.join(format!("src_{}x{}x{}.mrc", shape[0], shape[1], shape[2]));
    let mut bytes = MrcHeader::for_volume(shape, 2, 4.5).to_bytes().to_vec();
    bytes.extend(data.iter().flat_map(|v| v.to_le_bytes()));
    std::fs::write(&src, bytes).unwrap();

    let staging = tempfile::tempdir_in(dir).unwrap();
    let file = std::fs::File::open(&src).unwrap();
    let mut opts = VolumeOptions::new("vol");
    opts.write_mrc = false;
    let out = standardize(
        &VolumeSource::Mrc(&file),
        &src.display().to_string(),
        kind,
        &opts,
        staging.path(),
    )
    .unwrap();
    let zarr = staging
        .path()
        .join(out.zarr_dir.expect("a zarr was written"));
    let bz = if kind == VolumeKind::TiltSeries { 1 } else { 2 };
    let res = Command::new(reference_numerics_python())
        .arg(repo().join("tests/python/check_block_reduce.py"))
        .arg(&src)
        .arg(&zarr)
        .arg(bz.to_string())
        .output()
        .unwrap();
    assert!(
        res.status.success(),
        "check_block_reduce.py: {}",
        String::from_utf8_lossy(&res.stderr)
    );
    serde_json::from_slice(&res.stdout).unwrap()
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
