//! Our pyfqmr reimplementation (`formats::neuroglancer::fqmr`) against pyfqmr itself (the
//! reference's pin, 0.5.0, in the test venv), run by `tests/python/check_fqmr.py` with the
//! parameters igneous's `generate_lods` passes. Meshes: marching-cubes surfaces of a ball and of
//! a lumpy blob (as the segmentation mesher makes them, before and after its LOD-0
//! clustering), an open wavy sheet (borders kept), trimesh's 12-face box, and a blob scaled by
//! 0.1 in float64 (the oriented meshes' Å → nm). Targets: igneous's LOD targets
//! `max(faces / 2^i, 4)` for i = 1..=4 and tiny ones. Face lists must be equal and vertices
//! equal within 1e-5 relative (they are expected to be bit-equal).

use crate::common::{label_surface, python_script};
use cryoet_ingest::formats::neuroglancer::fqmr::{self, Params};
use cryoet_ingest::formats::neuroglancer::multilod;
use cryoet_ingest::formats::neuroglancer::trimesh::TriMesh;
use serde_json::Value;

/// Float64 vertices and faces, as pyfqmr takes and returns them.
type Mesh64 = (Vec<[f64; 3]>, Vec<[u32; 3]>);

fn ball() -> TriMesh {
    label_surface(24, [0.0; 3], false, |x, y, z| {
        (x - 11.5).powi(2) + (y - 11.0).powi(2) + (z - 12.2).powi(2) < 81.0
    })
}

fn blob() -> TriMesh {
    label_surface(30, [0.0; 3], false, |x, y, z| {
        let (dx, dy, dz) = (x - 15.0, y - 14.5, z - 15.3);
        let r = (dx * dx + dy * dy + dz * dz).sqrt();
        r < 9.0 + 2.5 * (0.7 * dx).sin() * (0.5 * dy).cos() + 1.5 * (0.9 * dz).sin()
    })
}

/// An open 20×14 sheet with a wavy height, two triangles a cell.
fn wavy_sheet() -> TriMesh {
    let (nx, ny) = (20u32, 14u32);
    let mut m = TriMesh::default();
    for y in 0..=ny {
        for x in 0..=nx {
            let (fx, fy) = (f64::from(x) * 0.5, f64::from(y) * 0.5);
            m.vertices
                .push([fx as f32, fy as f32, (fx.sin() * (0.7 * fy).cos()) as f32]);
        }
    }
    let id = |x: u32, y: u32| y * (nx + 1) + x;
    for y in 0..ny {
        for x in 0..nx {
            m.faces.push([id(x, y), id(x + 1, y), id(x + 1, y + 1)]);
            m.faces.push([id(x, y), id(x + 1, y + 1), id(x, y + 1)]);
        }
    }
    m
}

/// trimesh's `creation.box()`.
fn unit_box() -> TriMesh {
    TriMesh {
        vertices: (0..8)
            .map(|i| [(i >> 2) & 1, (i >> 1) & 1, i & 1].map(|b| b as f32 - 0.5))
            .collect(),
        faces: vec![
            [1, 3, 0],
            [4, 1, 0],
            [0, 3, 2],
            [2, 4, 0],
            [1, 7, 3],
            [5, 1, 4],
            [5, 7, 1],
            [3, 7, 2],
            [6, 4, 2],
            [2, 7, 6],
            [6, 5, 4],
            [7, 5, 6],
        ],
    }
}

fn widen(m: &TriMesh) -> Vec<[f64; 3]> {
    m.vertices.iter().map(|v| v.map(f64::from)).collect()
}

/// Runs pyfqmr on the mesh for each target; returns per target its vertices and faces.
fn pyfqmr(
    dir: &std::path::Path,
    name: &str,
    vertices: &[[f64; 3]],
    faces: &[[u32; 3]],
    targets: &[usize],
) -> Vec<Mesh64> {
    let mut bytes = Vec::new();
    bytes.extend((vertices.len() as u32).to_le_bytes());
    bytes.extend((faces.len() as u32).to_le_bytes());
    bytes.extend(vertices.iter().flatten().flat_map(|c| c.to_le_bytes()));
    bytes.extend(faces.iter().flatten().flat_map(|c| c.to_le_bytes()));
    let path = dir.join(format!("{name}.bin"));
    std::fs::write(&path, bytes).unwrap();
    let mut args = vec![path.display().to_string()];
    args.extend(targets.iter().map(usize::to_string));
    let out: Value = serde_json::from_str(&python_script("check_fqmr.py", &args)).unwrap();
    assert_eq!(out["pyfqmr"], "0.5.0", "the reference's pin");
    out["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            let v = r["vertices"]
                .as_array()
                .unwrap()
                .iter()
                .map(|p| std::array::from_fn(|a| p[a].as_f64().unwrap()))
                .collect();
            let f = r["faces"]
                .as_array()
                .unwrap()
                .iter()
                .map(|t| std::array::from_fn(|a| t[a].as_u64().unwrap() as u32))
                .collect();
            (v, f)
        })
        .collect()
}

/// The largest vertex difference relative to max(1, |pyfqmr's coordinate|).
fn max_rel_diff(ours: &[[f64; 3]], theirs: &[[f64; 3]]) -> f64 {
    ours.iter()
        .zip(theirs)
        .flat_map(|(a, b)| (0..3).map(move |i| (a[i] - b[i]).abs() / b[i].abs().max(1.0)))
        .fold(0.0, f64::max)
}

#[test]
fn fqmr_matches_pyfqmr_on_lod_targets() {
    let dir = tempfile::tempdir().unwrap();
    let mut meshes: Vec<(&str, Mesh64)> = vec![
        ("ball", (widen(&ball()), ball().faces)),
        ("blob", (widen(&blob()), blob().faces)),
        ("wavy_sheet", (widen(&wavy_sheet()), wavy_sheet().faces)),
        ("box", (widen(&unit_box()), unit_box().faces)),
    ];
    // Oriented meshes: glb float32 Å scaled by 0.1 in float64 before decimation.
    let scaled = blob()
        .vertices
        .iter()
        .map(|v| v.map(|c| f64::from(c) * 0.1))
        .collect();
    meshes.push(("blob_nm", (scaled, blob().faces)));
    let mut report = Vec::new();
    for (name, (vertices, faces)) in &meshes {
        let mut targets: Vec<usize> = (1..=4).map(|i| fqmr::lod_target(faces.len(), i)).collect();
        targets.extend([faces.len() / 3, 1]);
        let theirs = pyfqmr(dir.path(), name, vertices, faces, &targets);
        for (&target, (tv, tf)) in targets.iter().zip(&theirs) {
            let (ov, of) = fqmr::simplify(vertices, faces, &Params::reference(target));
            assert_eq!(of.len(), tf.len(), "{name} target {target}: face count");
            assert_eq!(&of, tf, "{name} target {target}: faces");
            assert_eq!(ov.len(), tv.len(), "{name} target {target}: vertex count");
            let diff = max_rel_diff(&ov, tv);
            assert!(
                diff <= 1e-5,
                "{name} target {target}: vertices differ by {diff}"
            );
            report.push(format!(
                "{name} {}→{target}: {} faces, max rel diff {diff:e}",
                faces.len(),
                of.len()
            ));
        }
    }
    // Shown with --nocapture: the numbers behind the claim of equality.
    println!("{}", report.join("\n"));
}

#[test]
fn generate_lods_equals_igneous_with_pyfqmr() {
    // igneous: LOD i = pyfqmr to max(faces / 2^i, 4), vertices narrowed to float32 by
    // cloud-volume's `Mesh`.
    let dir = tempfile::tempdir().unwrap();
    let mesh = ball();
    let lods = multilod::generate_lods(&mesh, 3);
    assert_eq!(lods.len(), 4);
    assert_eq!(lods[0], mesh);
    let targets: Vec<usize> = (1..=3)
        .map(|i| fqmr::lod_target(mesh.faces.len(), i))
        .collect();
    let theirs = pyfqmr(dir.path(), "ball", &widen(&mesh), &mesh.faces, &targets);
    for (lod, (tv, tf)) in lods[1..].iter().zip(&theirs) {
        assert_eq!(&lod.faces, tf);
        let narrowed: Vec<[f32; 3]> = tv.iter().map(|v| v.map(|c| c as f32)).collect();
        assert_eq!(lod.vertices, narrowed);
    }
}
