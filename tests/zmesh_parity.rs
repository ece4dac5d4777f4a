//! The segmentation meshes' LOD 0 against zmesh itself (test venv): masks meshed and
//! simplified by `formats::neuroglancer::zmesh_simplify` and by zmesh 1.9.0 as igneous calls
//! it (`tests/python/check_zmesh.py`) must give the same labels in the same order, the same
//! faces, and vertices equal within 1e-4.

use crate::common::python_script;
use cryoet_ingest::formats::neuroglancer::trimesh::TriMesh;
use cryoet_ingest::formats::neuroglancer::zmesh_simplify::{mesh_block, ZmeshParams};
use serde_json::{json, Value};

/// A mask of `dims` (x, y, z) from `label(x, y, z)`, x fastest.
fn mask(dims: [usize; 3], mut label: impl FnMut(usize, usize, usize) -> u32) -> Vec<u32> {
    let mut out = Vec::with_capacity(dims.iter().product());
    for z in 0..dims[2] {
        for y in 0..dims[1] {
            for x in 0..dims[0] {
                out.push(label(x, y, z));
            }
        }
    }
    out
}

/// Ours for `data` under igneous's zero border and offset, as zmesh's JSON would print it.
fn ours(dims: [usize; 3], data: &[u32], resolution: f32) -> Vec<(u32, TriMesh)> {
    let [sx, sy, sz] = dims.map(|d| d + 2);
    let mut padded = vec![0u32; sx * sy * sz];
    for z in 0..dims[2] {
        for y in 0..dims[1] {
            for x in 0..dims[0] {
                padded[(x + 1) + sx * ((y + 1) + sy * (z + 1))] =
                    data[x + dims[0] * (y + dims[1] * z)];
            }
        }
    }
    let params = ZmeshParams {
        resolution: [resolution; 3],
        reduction_factor: 100,
        max_error: 2.0 * resolution.max(1.0),
    };
    mesh_block(&padded, [sx, sy, sz], &params)
        .into_iter()
        .map(|(label, m)| {
            let shift = -f64::from(resolution);
            let vertices = m
                .vertices
                .iter()
                .map(|p| p.map(|c| (f64::from(c) + shift) as f32))
                .collect();
            (label, TriMesh { vertices, ..m })
        })
        .collect()
}

fn compare(name: &str, dims: [usize; 3], data: Vec<u32>, resolution: f32) {
    let dir = tempfile::tempdir().unwrap();
    let spec = dir.path().join(format!("{name}.json"));
    let body = json!({
        "shape_xyz": dims,
        "data": data,
        "resolution": resolution,
        "reduction_factor": 100,
        "max_error": 2.0 * resolution.max(1.0),
    });
    std::fs::write(&spec, body.to_string()).unwrap();
    let reference: Value =
        serde_json::from_str(python_script("check_zmesh.py", [&spec]).trim()).unwrap();
    let reference = reference.as_array().unwrap();
    let ours = ours(dims, &data, resolution);
    assert_eq!(ours.len(), reference.len(), "{name}: label count");
    for ((label, TriMesh { vertices, faces }), r) in ours.iter().zip(reference) {
        assert_eq!(
            u64::from(*label),
            r["label"].as_u64().unwrap(),
            "{name}: label order"
        );
        let rv = r["vertices"].as_array().unwrap();
        let rf = r["faces"].as_array().unwrap();
        assert_eq!(
            (vertices.len(), faces.len()),
            (rv.len(), rf.len()),
            "{name} label {label}: counts"
        );
        let mut max_diff = 0f64;
        for (v, w) in vertices.iter().zip(rv) {
            for (a, b) in v.iter().zip(w.as_array().unwrap()) {
                max_diff = max_diff.max((f64::from(*a) - b.as_f64().unwrap()).abs());
            }
        }
        assert!(
            max_diff <= 1e-4,
            "{name} label {label}: vertices differ by {max_diff}"
        );
        for (f, g) in faces.iter().zip(rf) {
            let g: Vec<u64> = g
                .as_array()
                .unwrap()
                .iter()
                .map(|x| x.as_u64().unwrap())
                .collect();
            assert_eq!(f.map(u64::from).to_vec(), g, "{name} label {label}: faces");
        }
    }
}

#[test]
fn sphere_matches_zmesh() {
    let d = |c: usize| (c as f64 - 15.5).powi(2);
    let data = mask([32; 3], |x, y, z| u32::from(d(x) + d(y) + d(z) <= 9.0));
    compare("sphere", [32; 3], data.clone(), 1.0);
    // Not scale-invariant (zmesh's thresholds are absolute): resolution 4 differs.
    compare("sphere_r4", [32; 3], data, 4.0);
}

#[test]
fn slab_and_blob_match_zmesh() {
    let slab = mask([16; 3], |x, y, z| {
        5 * u32::from((2..14).contains(&x) && (3..12).contains(&y) && (7..9).contains(&z))
    });
    compare("slab", [16; 3], slab, 1.0);
    let blob = mask([16; 3], |x, y, z| {
        u32::from([x, y, z].iter().all(|c| (2..14).contains(c)))
    });
    compare("blob", [16; 3], blob, 1.0);
}

#[test]
fn touching_and_noisy_labels_match_zmesh() {
    let touch = mask([20; 3], |x, y, z| {
        let yz = (4..15).contains(&y) && (4..15).contains(&z);
        match x {
            3..=9 if yz => 2,
            10..=16 if yz => 7,
            _ => 0,
        }
    });
    compare("touch", [20; 3], touch, 1.0);
    // Seeded labels 0..=3 everywhere: many small, ragged, non-manifold-prone surfaces.
    let mut state = 7u64;
    let noisy = mask([14; 3], |_, _, _| {
        state = state
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        ((state >> 33) % 4) as u32
    });
    compare("noise", [14; 3], noisy, 1.0);
}
