//! Precomputed segmentations with meshes (`formats::neuroglancer::segmentation`) from masks
//! written by the project's own volume writer, read back with cloud-volume and DracoPy (test
//! venv) through `tests/python/check_segmentation.py`.

use crate::common::python_script;
use cryoet_ingest::formats::mrc::MrcHeader;
use cryoet_ingest::formats::neuroglancer::segmentation::encode_segmentation;
use cryoet_ingest::volume::{standardize, VolumeKind, VolumeOptions, VolumeSource};
use serde_json::{json, Value};
use std::path::{Path, PathBuf};

/// Spheres of labels `1..=n` (later ones overwrite) in a z, y, x volume; seeded.
fn spheres(shape: [usize; 3], n: u16, seed: u64) -> Vec<u16> {
    let mut state = seed;
    let mut next = |m: usize| {
        state = state
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        ((state >> 33) as usize) % m
    };
    let [nz, ny, nx] = shape;
    let mut data = vec![0u16; nz * ny * nx];
    for label in 1..=n {
        let c = [next(nz), next(ny), next(nx)];
        let r = 4 + next(nz.min(ny).min(nx) / 3) as i64;
        for z in 0..nz {
            for y in 0..ny {
                for x in 0..nx {
                    let d = [
                        z as i64 - c[0] as i64,
                        y as i64 - c[1] as i64,
                        x as i64 - c[2] as i64,
                    ];
                    if d.iter().map(|v| v * v).sum::<i64>() < r * r {
                        data[(z * ny + y) * nx + x] = label;
                    }
                }
            }
        }
    }
    data
}

/// Writes `data` (uint16, MRC mode 6) and standardizes it as `kind`; returns the zarr path.
fn mask_zarr(dir: &Path, shape: [usize; 3], data: &[u16], kind: VolumeKind) -> PathBuf {
    let src = dir.join("mask.mrc");
    let h = MrcHeader::for_volume(shape, 6, 13.48);
    let mut bytes = h.to_bytes().to_vec();
    bytes.resize(1024 + h.nsymbt.max(0) as usize, 0);
    bytes.extend(data.iter().flat_map(|v| v.to_le_bytes()));
    std::fs::write(&src, bytes).unwrap();
    let file = std::fs::File::open(&src).unwrap();
    let mut opts = VolumeOptions::new("mask");
    opts.write_mrc = false;
    let staging = dir.join("zarr");
    std::fs::create_dir_all(&staging).unwrap();
    let out = standardize(&VolumeSource::Mrc(&file), "mask.mrc", kind, &opts, &staging).unwrap();
    staging.join(out.zarr_dir.unwrap())
}

fn check(out: &Path, zarr: &Path) -> Value {
    let stdout = python_script("check_segmentation.py", [out.as_os_str(), zarr.as_os_str()]);
    serde_json::from_str(stdout.trim()).unwrap()
}

fn files(root: &Path) -> Vec<String> {
    let mut out = Vec::new();
    let mut stack = vec![root.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                stack.push(p);
            } else {
                out.push(
                    p.strip_prefix(root)
                        .unwrap()
                        .to_string_lossy()
                        .replace('\\', "/"),
                );
            }
        }
    }
    out.sort();
    out
}

#[test]
fn instance_mask_decodes_to_the_mask_and_every_label_has_a_multilod_mesh() {
    let dir = tempfile::tempdir().unwrap();
    // Two zarr chunks along y (256 + 44), as the reference names its data chunks.
    let shape = [40, 300, 90];
    let data = spheres(shape, 4, 1);
    let zarr = mask_zarr(dir.path(), shape, &data, VolumeKind::InstanceMask);
    let out = dir.path().join("100-mito-1.0_instancesegmentationmask");
    std::fs::create_dir_all(&out).unwrap();
    encode_segmentation(&zarr, &out, 1.348).unwrap();

    assert_eq!(
        files(&out),
        [
            "data/0-90_0-256_0-40",
            "data/0-90_256-300_0-40",
            "info",
            "mesh/0.shard",
            "mesh/info",
            "provenance",
        ]
    );
    let report = check(&out, &zarr);
    assert_eq!(
        report["volume_equal"], true,
        "cloud-volume decodes the mask"
    );
    let scale = &report["info"]["scales"][0];
    assert_eq!(scale["chunk_sizes"], json!([[90, 256, 40]]));
    assert_eq!(scale["resolution"], json!([1, 1, 1]));
    assert_eq!(scale["size"], json!([90, 300, 40]));
    assert_eq!(report["info"]["mesh"], "mesh");

    let labels: Vec<u64> = report["labels"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_u64().unwrap())
        .collect();
    assert!(!labels.is_empty());
    for label in labels {
        let m = &report["meshes"][label.to_string()];
        assert!(m.is_object(), "label {label} has a mesh: {m}");
        let fragments: u64 = m["fragments_per_lod"]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v.as_u64().unwrap())
            .sum();
        assert_eq!(m["fragments_decoded"].as_u64().unwrap(), fragments);
        for lod in m["lods"].as_array().unwrap() {
            assert!(lod["vertices"].as_u64().unwrap() > 0);
            assert!(lod["faces"].as_u64().unwrap() > 0);
            for a in 0..3 {
                let size = [90.0, 300.0, 40.0][a];
                let (lo, hi) = (
                    lod["min"][a].as_f64().unwrap(),
                    lod["max"][a].as_f64().unwrap(),
                );
                assert!(
                    lo >= -0.01 && hi <= size + 0.01,
                    "label {label} axis {a}: {lo}..{hi}"
                );
            }
        }
    }
    let mesh_info: Value =
        serde_json::from_slice(&std::fs::read(out.join("mesh/info")).unwrap()).unwrap();
    assert_eq!(mesh_info["@type"], "neuroglancer_multilod_draco");
    assert_eq!(mesh_info["sharding"]["hash"], "murmurhash3_x86_128");
}

#[test]
fn semantic_mask_is_one_segment_at_an_integer_resolution() {
    let dir = tempfile::tempdir().unwrap();
    let shape = [30, 70, 80];
    let data: Vec<u16> = spheres(shape, 3, 9)
        .iter()
        .map(|&v| u16::from(v != 0))
        .collect();
    let kind = VolumeKind::SemanticMask {
        label: 1,
        threshold: None,
    };
    let zarr = mask_zarr(dir.path(), shape, &data, kind);
    let out = dir.path().join("seg");
    std::fs::create_dir_all(&out).unwrap();
    encode_segmentation(&zarr, &out, 7.84).unwrap();
    let report = check(&out, &zarr);
    assert_eq!(report["volume_equal"], true);
    assert_eq!(report["labels"], json!([1]));
    assert_eq!(report["info"]["scales"][0]["resolution"], json!([8, 8, 8]));
    let m = &report["meshes"]["1"];
    assert!(m["lods"][0]["vertices"].as_u64().unwrap() > 0);
    // Physical units: the transform scales voxels by the integer resolution.
    assert!(m["lods"][0]["max"][0].as_f64().unwrap() <= 80.0 * 8.0 + 0.1);
}

#[test]
fn a_corrupt_zarr_chunk_fails_naming_the_zarr() {
    let dir = tempfile::tempdir().unwrap();
    let shape = [20, 30, 40];
    let zarr = mask_zarr(
        dir.path(),
        shape,
        &spheres(shape, 2, 3),
        VolumeKind::InstanceMask,
    );
    std::fs::write(zarr.join("0/0/0/0"), b"not blosc").unwrap();
    let out = dir.path().join("seg");
    std::fs::create_dir_all(&out).unwrap();
    let err = encode_segmentation(&zarr, &out, 1.0)
        .unwrap_err()
        .to_string();
    assert!(err.contains(&zarr.display().to_string()), "{err}");
    assert!(err.contains("region"), "{err}");
    assert!(!out.join("info").exists(), "no info for a failed encode");
}
