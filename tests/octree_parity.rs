//! The multi-resolution mesh octree (`formats::neuroglancer::multilod::octree`, with
//! `plane_slice`) against igneous itself (test venv: igneous-pipeline 4.30.0 and trimesh
//! 4.10.1, the reference's pins), run by `tests/python/check_octree.py`: the LODs cut into
//! fragments by igneous's `create_octree_level_from_mesh` (trimesh's `slice_mesh_plane`) and
//! quantized by cloud-volume's `to_stored_model_space`. Per LOD the fragment positions must
//! be equal; per fragment the faces (in order), the float32 vertices (bit for bit) and the
//! 16-bit stored positions; and every fragment's Draco encoding must decode exactly like
//! DracoPy's encoding of it as igneous calls DracoPy (same bytes below 1000 faces; see
//! `tests/draco_parity.rs`).
//!
//! Meshes: a lumpy blob meshed and simplified as the segmentation mesher does, with its
//! pyfqmr LODs (3 levels, the demo's case); the same blob's marching-cubes surface unsimplified
//! (vertices on the cell planes); a box whose faces lie in cell planes (faces on a plane go to
//! one side by their normal); a ball given as two copies of its vertices (trimesh merges them
//! when it builds the mesh); a single-LOD mesh; and the blob at a negative grid origin, whose
//! stored positions depend on the precision of the origin (float32 for igneous's
//! `process_mesh`, float64 for the oriented-mesh path).

use crate::common::{label_surface as surface, python_script};
use crate::draco_parity::{assert_decodes_like_dracopy, Case};
use cryoet_ingest::formats::neuroglancer::multilod::{self, OriginPrecision};
use cryoet_ingest::formats::neuroglancer::trimesh::TriMesh;
use serde_json::Value;

fn blob(simplify: bool) -> TriMesh {
    surface(34, [5.0, 17.0, 3.0], simplify, |x, y, z| {
        let (dx, dy, dz) = (x - 17.0, y - 16.5, z - 17.3);
        let r = (dx * dx + dy * dy + dz * dz).sqrt();
        r < 11.0 + 2.5 * (0.7 * dx).sin() * (0.5 * dy).cos() + 1.5 * (0.9 * dz).sin()
    })
}

/// A box from `lo` to `hi`, 12 outward triangles (index = x + 2y + 4z).
fn block(lo: [f32; 3], hi: [f32; 3]) -> TriMesh {
    TriMesh {
        vertices: (0..8)
            .map(|i| [0, 1, 2].map(|a| if (i >> a) & 1 == 0 { lo[a] } else { hi[a] }))
            .collect(),
        faces: vec![
            [0, 2, 3],
            [0, 3, 1],
            [4, 5, 7],
            [4, 7, 6],
            [0, 1, 5],
            [0, 5, 4],
            [2, 6, 7],
            [2, 7, 3],
            [0, 4, 6],
            [0, 6, 2],
            [1, 3, 7],
            [1, 7, 5],
        ],
    }
}

/// A ball whose even faces use one copy of the vertices and odd faces another.
fn doubled_ball() -> TriMesh {
    let ball = surface(20, [0.25, 0.0, 0.5], true, |x, y, z| {
        (x - 9.5).powi(2) + (y - 10.0).powi(2) + (z - 9.2).powi(2) < 49.0
    });
    let n = ball.vertices.len() as u32;
    let mut vertices = ball.vertices.clone();
    vertices.extend_from_slice(&ball.vertices);
    let faces = ball
        .faces
        .iter()
        .enumerate()
        .map(|(i, f)| if i % 2 == 0 { *f } else { f.map(|v| v + n) })
        .collect();
    TriMesh { vertices, faces }
}

/// `m` moved by `d` (in float32).
fn moved(m: &TriMesh, d: [f32; 3]) -> TriMesh {
    TriMesh {
        vertices: m
            .vertices
            .iter()
            .map(|v| [0, 1, 2].map(|a| v[a] + d[a]))
            .collect(),
        faces: m.faces.clone(),
    }
}

/// One fragment as igneous leaves it: position, float32 vertices, faces, stored positions.
struct Fragment {
    position: [u32; 3],
    vertices: Vec<[f32; 3]>,
    faces: Vec<[u32; 3]>,
    stored: Vec<[u32; 3]>,
}

/// igneous's octree of `lods`: per LOD its fragments.
fn igneous(
    dir: &std::path::Path,
    name: &str,
    lods: &[TriMesh],
    f64_origin: bool,
) -> Vec<Vec<Fragment>> {
    let mut bytes = Vec::new();
    bytes.extend((lods.len() as u32).to_le_bytes());
    for m in lods {
        bytes.extend((m.vertices.len() as u32).to_le_bytes());
        bytes.extend((m.faces.len() as u32).to_le_bytes());
        bytes.extend(m.vertices.iter().flatten().flat_map(|c| c.to_le_bytes()));
        bytes.extend(m.faces.iter().flatten().flat_map(|c| c.to_le_bytes()));
    }
    let path = dir.join(format!("{name}.bin"));
    std::fs::write(&path, bytes).unwrap();
    let mut args = vec![path.display().to_string()];
    if f64_origin {
        args.push("--float64-origin".into());
    }
    let out: Value = serde_json::from_str(&python_script("check_octree.py", &args)).unwrap();
    assert_eq!(out["igneous"], "4.30.0", "the reference's pin");
    assert_eq!(out["trimesh"], "4.10.1", "the reference's pin");
    let triples = |v: &Value| -> Vec<[f64; 3]> {
        v.as_array()
            .unwrap()
            .iter()
            .map(|p| std::array::from_fn(|a| p[a].as_f64().unwrap()))
            .collect()
    };
    out["lods"]
        .as_array()
        .unwrap()
        .iter()
        .map(|lod| {
            let positions = triples(&lod["positions"]);
            lod["fragments"]
                .as_array()
                .unwrap()
                .iter()
                .zip(positions)
                .map(|(f, p)| Fragment {
                    position: p.map(|c| c as u32),
                    vertices: triples(&f["vertices"])
                        .iter()
                        .map(|v| v.map(|c| c as f32))
                        .collect(),
                    faces: triples(&f["faces"])
                        .iter()
                        .map(|t| t.map(|c| c as u32))
                        .collect(),
                    stored: triples(&f["stored"])
                        .iter()
                        .map(|v| v.map(|c| c as u32))
                        .collect(),
                })
                .collect()
        })
        .collect()
}

/// Compares our octree of `lods` with igneous's; returns a one-line summary, how many
/// stored positions the other origin precision would have got wrong, and our Draco encoding
/// of every fragment that has one.
fn check(
    dir: &std::path::Path,
    name: &str,
    lods: &[TriMesh],
    precision: OriginPrecision,
) -> (String, usize, Vec<Case>) {
    let theirs = igneous(dir, name, lods, precision == OriginPrecision::Double);
    let (origin, shape) = multilod::mesh_shape_from_lods(lods).unwrap();
    let (chunk, ours) = multilod::octree(lods, origin, shape).unwrap();
    assert_eq!(ours.len(), theirs.len(), "{name}: LOD count");
    let mut counts = Vec::new();
    let other = match precision {
        OriginPrecision::Single => OriginPrecision::Double,
        OriginPrecision::Double => OriginPrecision::Single,
    };
    let mut other_wrong = 0;
    let mut encoded = Vec::new();
    for (lod, (o, t)) in ours.iter().zip(&theirs).enumerate() {
        let op: Vec<[u32; 3]> = o.iter().map(|(p, _)| *p).collect();
        let tp: Vec<[u32; 3]> = t.iter().map(|f| f.position).collect();
        assert_eq!(op, tp, "{name} LOD {lod}: fragment positions");
        let scale = chunk.map(|c| c * f64::from(1u32 << lod));
        let mut faces = 0;
        for ((pos, mesh), f) in o.iter().zip(t) {
            assert_eq!(
                mesh.faces, f.faces,
                "{name} LOD {lod} fragment {pos:?}: faces"
            );
            assert_eq!(
                mesh.vertices.len(),
                f.vertices.len(),
                "{name} LOD {lod} fragment {pos:?}: vertex count"
            );
            for (i, (a, b)) in mesh.vertices.iter().zip(&f.vertices).enumerate() {
                assert_eq!(
                    a.map(f32::to_bits),
                    b.map(f32::to_bits),
                    "{name} LOD {lod} fragment {pos:?}: vertex {i}: ours {a:?}, igneous {b:?}"
                );
            }
            let stored = multilod::stored_model(&mesh.vertices, origin, scale, *pos, precision);
            assert_eq!(
                stored, f.stored,
                "{name} LOD {lod} fragment {pos:?}: stored positions"
            );
            let by_other = multilod::stored_model(&mesh.vertices, origin, scale, *pos, other);
            other_wrong += by_other.iter().zip(&stored).filter(|(a, b)| a != b).count();
            faces += mesh.faces.len();
            // Fragments igneous stores empty (DracoPy refuses them) have no encoding.
            let ours = multilod::encode_fragment(&stored, &mesh.faces);
            if !ours.is_empty() {
                encoded.push(Case {
                    name: format!("{name} LOD {lod} fragment {pos:?}"),
                    stored,
                    faces: mesh.faces.clone(),
                    ours,
                    reference: true,
                });
            }
        }
        counts.push(format!("{} fragments / {faces} faces", o.len()));
    }
    let summary = format!(
        "{name}: {}; {other_wrong} stored positions differ under the other origin precision",
        counts.join(", ")
    );
    (summary, other_wrong, encoded)
}

#[test]
fn octree_fragments_equal_igneous() {
    let dir = tempfile::tempdir().unwrap();
    let simplified = blob(true);
    let cases: Vec<(&str, Vec<TriMesh>, OriginPrecision)> = vec![
        (
            "blob_lods",
            multilod::generate_lods(&simplified, 2),
            OriginPrecision::Single,
        ),
        (
            "blob_unsimplified",
            vec![blob(false); 3],
            OriginPrecision::Single,
        ),
        (
            "box_on_planes",
            vec![block([0.0; 3], [16.0, 8.0, 12.0]); 3],
            OriginPrecision::Single,
        ),
        (
            "doubled_ball",
            vec![doubled_ball(); 2],
            OriginPrecision::Single,
        ),
        (
            "single_lod",
            vec![simplified.clone()],
            OriginPrecision::Single,
        ),
        // A negative grid origin: `v - origin` is then inexact in float32, so the two
        // precisions of the stored-model subtraction differ.
        (
            "blob_negative_origin",
            multilod::generate_lods(&moved(&simplified, [-30.3, -41.7, 0.0]), 2),
            OriginPrecision::Single,
        ),
        (
            "blob_f64_origin",
            multilod::generate_lods(&moved(&simplified, [-30.3, -41.7, 0.0]), 2),
            OriginPrecision::Double,
        ),
    ];
    let mut report = Vec::new();
    let mut encoded = Vec::new();
    for (name, lods, precision) in &cases {
        let (summary, other_wrong, fragments) = check(dir.path(), name, lods, *precision);
        if name.contains("negative") || name.contains("f64") {
            assert!(other_wrong > 0, "{name} does not tell the precisions apart");
        }
        report.push(summary);
        encoded.extend(fragments);
    }
    let rows = assert_decodes_like_dracopy(dir.path(), &encoded);
    let identical = rows.iter().filter(|r| r["identical_bytes"] == true).count();
    report.push(format!(
        "Draco: {} fragments decode exactly like DracoPy's, {identical} of them byte for byte",
        rows.len()
    ));
    // Shown with --nocapture: what was compared.
    println!("{}", report.join("\n"));
}
