//! Our Draco fragment encoding against DracoPy's as igneous calls it for a multi-resolution
//! fragment (`uint16` stored positions, compression level 7, origin and range from the
//! positions, `create_metadata=True`): both decoded by DracoPy (test venv) must give exactly
//! the same positions (integers, compared as decoded floats, not re-quantized), the same
//! triangles (as position triples, orientation kept) and the same point and face counts, for
//! closed, open, multi-component, non-manifold and degenerate meshes and random triangle soups;
//! below 1000 faces (where Draco uses the standard edgebreaker variant too) the same bytes.
//! Sizes are printed (`--nocapture`). `tests/octree_parity.rs` runs the same check on every
//! octree fragment of its meshes.

use crate::common::python_script;
use cryoet_ingest::formats::neuroglancer::draco::{encode_mesh, Quantization};
use cryoet_ingest::formats::neuroglancer::multilod::encode_fragment;
use cryoet_ingest::formats::neuroglancer::zmesh_simplify::{mesh_block, ZmeshParams};
use serde_json::{json, Value};

type Mesh = (Vec<[f32; 3]>, Vec<[u32; 3]>);

/// Marching-cubes meshes of two overlapping balls, labelled 1 and 2, in a zero border.
fn ball_meshes() -> Vec<Mesh> {
    let n = 28usize;
    let mut data = vec![0u32; n * n * n];
    for z in 0..n {
        for y in 0..n {
            for x in 0..n {
                let d = |c: [f32; 3]| {
                    let p = [x as f32, y as f32, z as f32];
                    (0..3).map(|a| (p[a] - c[a]).powi(2)).sum::<f32>().sqrt()
                };
                if d([10.0, 12.0, 13.0]) < 7.5 {
                    data[(z * n + y) * n + x] = 1;
                } else if d([18.0, 14.0, 13.5]) < 6.2 {
                    data[(z * n + y) * n + x] = 2;
                }
            }
        }
    }
    let params = ZmeshParams {
        resolution: [1.0; 3],
        reduction_factor: 0,
        max_error: 0.0,
    };
    mesh_block(&data, [n; 3], &params)
        .into_iter()
        .map(|(_, m)| (m.vertices, m.faces))
        .collect()
}

/// A `k`×`k` grid of quads in the z = 0 plane, each split in two triangles; quads for
/// which `skip` is true are left out (holes).
fn grid(k: u32, skip: impl Fn(u32, u32) -> bool) -> Mesh {
    let mut v = Vec::new();
    for j in 0..=k {
        for i in 0..=k {
            v.push([i as f32, j as f32, 0.25 * ((i * j) % 3) as f32]);
        }
    }
    let id = |i: u32, j: u32| j * (k + 1) + i;
    let mut f = Vec::new();
    for j in 0..k {
        for i in 0..k {
            if !skip(i, j) {
                f.push([id(i, j), id(i + 1, j), id(i + 1, j + 1)]);
                f.push([id(i, j), id(i + 1, j + 1), id(i, j + 1)]);
            }
        }
    }
    (v, f)
}

/// Both meshes in one vertex list.
fn union(a: Mesh, b: Mesh) -> Mesh {
    let (mut v, mut f) = a;
    let off = v.len() as u32;
    v.extend(b.0);
    f.extend(b.1.into_iter().map(|t| t.map(|i| i + off)));
    (v, f)
}

fn shifted(m: Mesh, d: [f32; 3]) -> Mesh {
    (
        m.0.into_iter()
            .map(|p| [p[0] + d[0], p[1] + d[1], p[2] + d[2]])
            .collect(),
        m.1,
    )
}

/// `faces` random triangles over `points` random points (seeded): non-manifold edges and
/// vertices, repeated and mirrored faces, degenerate ones, many components.
fn soup(points: usize, faces: usize, seed: u64) -> Mesh {
    let mut s = seed | 1;
    let mut next = move |m: u64| {
        s ^= s << 13;
        s ^= s >> 7;
        s ^= s << 17;
        s % m
    };
    let v = (0..points)
        .map(|_| [0, 1, 2].map(|_| next(1000) as f32 / 100.0))
        .collect();
    let f = (0..faces)
        .map(|_| [0, 1, 2].map(|_| next(points as u64) as u32))
        .collect();
    (v, f)
}

fn cases() -> Vec<(&'static str, Mesh)> {
    let balls = ball_meshes();
    assert_eq!(balls.len(), 2);
    let sphere = balls[0].clone();
    let tetra: Mesh = (
        vec![
            [0.0, 0.0, 0.0],
            [1.0, 0.0, 0.0],
            [0.0, 1.0, 0.0],
            [0.0, 0.0, 1.0],
        ],
        vec![[0, 2, 1], [0, 1, 3], [1, 2, 3], [2, 0, 3]],
    );
    // Non-manifold: a bow tie (two fans at one vertex) and three faces on one edge.
    let fan: Mesh = (
        vec![
            [0.0, 0.0, 0.0],
            [1.0, 0.0, 0.0],
            [1.0, 1.0, 0.0],
            [-1.0, 0.0, 0.0],
            [-1.0, -1.0, 0.0],
            [0.0, 0.0, 1.0],
            [0.5, -1.0, 0.5],
        ],
        vec![[0, 1, 2], [0, 3, 4], [0, 1, 5], [0, 1, 6], [1, 0, 6]],
    );
    let mut degenerate = grid(3, |_, _| false);
    degenerate.1.push([0, 0, 5]);
    degenerate.1.push([1, 2, 2]);
    degenerate.1.push([0, 1, 2]); // collinear: zero area, distinct vertices
    degenerate.0.push([9.0, 9.0, 9.0]); // isolated
                                        // Duplicate positions: the grid's points given again, its second half indexing them.
    let (gv, gf) = grid(4, |_, _| false);
    let n = gv.len() as u32;
    let mut dv = gv.clone();
    dv.extend(gv.iter().copied());
    let half = gf.len() / 2;
    let df: Vec<[u32; 3]> = gf
        .iter()
        .enumerate()
        .map(|(i, t)| if i < half { *t } else { t.map(|x| x + n) })
        .collect();
    vec![
        ("closed sphere (marching cubes)", sphere),
        (
            "two touching labels' meshes as one",
            union(balls[0].clone(), balls[1].clone()),
        ),
        (
            "grid with holes",
            grid(8, |i, j| {
                (i == 3 && j == 3) || (i == 5 && (2..5).contains(&j))
            }),
        ),
        (
            "two components",
            union(
                tetra.clone(),
                shifted(grid(3, |_, _| false), [3.0, 0.0, 0.0]),
            ),
        ),
        ("non-manifold fan and edge", fan),
        (
            "single triangle",
            (
                vec![[0.0, 0.0, 0.0], [2.0, 0.5, 0.0], [0.3, 1.7, 0.2]],
                vec![[0, 1, 2]],
            ),
        ),
        ("degenerate triangles and an isolated point", degenerate),
        ("duplicate positions", (dv, df)),
        ("tetrahedron", tetra),
        ("random soup, dense", soup(12, 60, 7)),
        ("random soup, sparse", soup(200, 150, 11)),
        ("random soup, medium", soup(60, 200, 3)),
    ]
}

/// `v` in stored-model units as cloud-volume makes them: scaled onto the 16-bit range of a
/// cell a little larger than the mesh and rounded, so the smallest position is not zero.
fn stored(v: &[[f32; 3]]) -> Vec<[u32; 3]> {
    let lo: [f32; 3] =
        std::array::from_fn(|a| v.iter().map(|p| p[a]).fold(f32::INFINITY, f32::min));
    let hi: [f32; 3] =
        std::array::from_fn(|a| v.iter().map(|p| p[a]).fold(f32::NEG_INFINITY, f32::max));
    let cell = (0..3)
        .map(|a| hi[a] - lo[a])
        .fold(0.0f64, |m, e| m.max(f64::from(e)))
        + 0.9;
    v.iter()
        .map(|p| {
            std::array::from_fn(|a| {
                ((f64::from(p[a] - lo[a]) + 0.37) / cell * 65535.0).round() as u32
            })
        })
        .collect()
}

/// One mesh to compare: our encoding of `stored` and `faces`; `reference` false for meshes
/// DracoPy refuses to encode.
pub struct Case {
    pub name: String,
    pub stored: Vec<[u32; 3]>,
    pub faces: Vec<[u32; 3]>,
    pub ours: Vec<u8>,
    pub reference: bool,
}

/// Decodes every case's encoding and DracoPy's (`tests/python/check_draco.py`) and asserts
/// that they decode to exactly the same integer positions, triangles and counts, with the
/// same method, and below 1000 faces the same bytes; returns the rows of `check_draco.py`.
pub fn assert_decodes_like_dracopy(dir: &std::path::Path, cases: &[Case]) -> Vec<Value> {
    let mut list = Vec::new();
    for (k, case) in cases.iter().enumerate() {
        let path = dir.join(format!("draco-{k}.drc"));
        std::fs::write(&path, &case.ours).unwrap();
        list.push(json!({
            "name": case.name, "stored": case.stored, "faces": case.faces, "ours": path,
            "reference": case.reference,
        }));
    }
    let cases_path = dir.join("draco-cases.json");
    std::fs::write(&cases_path, serde_json::to_vec(&list).unwrap()).unwrap();
    let out: Value = serde_json::from_str(&python_script("check_draco.py", [&cases_path])).unwrap();
    let results = out.as_array().unwrap();
    assert_eq!(results.len(), cases.len());
    for (r, case) in results.iter().zip(cases) {
        assert_eq!(r["ours_integer"], true, "{r}");
        if !case.reference {
            continue;
        }
        assert_eq!(r["ref_integer"], true, "{r}");
        assert_eq!(r["ours_points"], r["ref_points"], "{r}");
        assert_eq!(r["ours_faces"], r["ref_faces"], "{r}");
        assert_eq!(r["same_positions"], true, "{r}");
        assert_eq!(r["same_triangles"], true, "{r}");
        // Edgebreaker wherever DracoPy used it.
        assert_eq!(r["ours_method"], r["ref_method"], "{r}");
        // Below 1000 faces Draco itself uses the standard variant we write, and the files
        // come out byte for byte the same.
        if r["ref_faces"].as_u64().unwrap() < 1000 {
            assert_eq!(r["identical_bytes"], true, "{r}");
        }
    }
    results.clone()
}

#[test]
fn our_draco_fragments_decode_like_igneous_dracopy_calls() {
    let dir = tempfile::tempdir().unwrap();
    let mut cases: Vec<Case> = cases()
        .into_iter()
        .map(|(name, (v, f))| {
            let stored = stored(&v);
            Case {
                name: name.into(),
                ours: encode_fragment(&stored, &f),
                stored,
                faces: f,
                reference: true,
            }
        })
        .collect();
    // DracoPy refuses this one ("All triangles are degenerate") and igneous stores no bytes;
    // our encoder itself falls back to the sequential form, which keeps the faces as given.
    let stored = vec![[3, 4, 5], [9, 4, 5], [3, 7, 5]];
    let faces = vec![[0, 0, 1], [1, 2, 2]];
    assert!(encode_fragment(&stored, &faces).is_empty());
    let quantization = Quantization {
        bits: 16,
        origin: [3.0, 4.0, 5.0],
        range: 6.0,
    };
    cases.push(Case {
        name: "all faces degenerate".into(),
        ours: encode_mesh(&stored, &faces, &quantization),
        stored,
        faces,
        reference: false,
    });
    let results = assert_decodes_like_dracopy(dir.path(), &cases);
    let (degenerate, results) = results.split_last().unwrap();
    assert_eq!(degenerate["ours_method"], 0, "{degenerate}"); // sequential
    assert_eq!(degenerate["ours_faces"], 2, "{degenerate}");
    assert_eq!(degenerate["ours_points"], 3, "{degenerate}");
    for r in results {
        println!(
            "{}: ours {} B, DracoPy {} B, identical bytes: {} ({} points, {} faces)",
            r["name"],
            r["ours_bytes"],
            r["ref_bytes"],
            r["identical_bytes"],
            r["ref_points"],
            r["ref_faces"]
        );
    }
}
