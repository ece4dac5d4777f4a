//! Annotations: masks through the volume code, metadata JSONs with their file lists, stable
//! IDs, and incremental rebuilds (a new block, a metadata edit).

use crate::common::{copy_dir, ids_with, read_json, Deposition};

const ANN1: &str = "19999/TS_01/Reconstructions/VoxelSpacing13.480/Annotations";

#[test]
fn masks_and_their_metadata_are_written_per_block() {
    let d = Deposition::new();
    let (run, _) = d.build(&[]);
    assert_eq!(run.code, 0, "{run:?}");
    let out = d.output();
    let membrane = read_json(&out.join(format!("{ANN1}/100/membrane-1.0.json")));
    assert_eq!(membrane["object_count"], 0);
    assert_eq!(membrane["annotation_object"]["name"], "membrane");
    assert_eq!(
        membrane["alignment_metadata_path"],
        "19999/TS_01/Alignments/100/alignment_metadata.json"
    );
    let files = membrane["files"].as_array().unwrap();
    assert_eq!(files.len(), 2);
    assert_eq!(files[0]["format"], "zarr");
    assert_eq!(files[0]["shape"], "SegmentationMask");
    assert_eq!(
        files[0]["path"],
        format!("{ANN1}/100/membrane-1.0_segmentationmask.zarr")
    );
    assert_eq!(files[1]["format"], "mrc");
    assert_eq!(files[0]["is_visualization_default"], true);
    let instances = read_json(&out.join(format!("{ANN1}/102/vesicle-1.0.json")));
    assert_eq!(instances["object_count"], 2);
    assert_eq!(instances["files"][0]["shape"], "InstanceSegmentationMask");
    assert!(out
        .join(format!("{ANN1}/101/vesicle-1.0_segmentationmask.mrc"))
        .exists());
}

#[test]
fn an_annotation_metadata_edit_rewrites_only_its_json() {
    let d = Deposition::new();
    assert_eq!(d.build(&[]).0.code, 0);
    d.edit_config("name: membrane\n", "name: plasma membrane\n");
    let (run, report) = d.build(&[]);
    assert_eq!(run.code, 0, "{run:?}");
    // The object name is in the prefix: the JSON moves to a new name, the mask is converted
    // again under the new prefix (its outputs are new files), nothing else rebuilds.
    // The key images rebuild too: the object name is part of the mask's colour seed (§10.2),
    // and the dataset key photos copy them. The mask's precompute is renamed with it.
    let built = crate::common::without_states(ids_with(&report, "built"));
    assert!(
        built.iter().all(|id| id.contains("/Annotations/100/")
            || id.contains("/NeuroglancerPrecompute/100-plasma_membrane-1.0_")
            || id.contains("/Images/")
            || id == "19999"),
        "{built:?}"
    );
    // A field outside the prefix rewrites the JSON only.
    d.edit_config("is_curator_recommended: false\n    method_type: automated\n    version: 1.0\n  sources:\n  - SemanticSegmentationMask:\n      file_format: mrc\n      glob_string: labels/{run_name}_labels.mrc\n      is_visualization_default: false",
                  "is_curator_recommended: true\n    method_type: automated\n    version: 1.0\n  sources:\n  - SemanticSegmentationMask:\n      file_format: mrc\n      glob_string: labels/{run_name}_labels.mrc\n      is_visualization_default: false");
    let (_, report) = d.build(&[]);
    assert_eq!(
        crate::common::without_states(ids_with(&report, "built")),
        vec![
            "19999/TS_01/Reconstructions/VoxelSpacing13.480/Annotations/101/vesicle-1.0",
            "19999/TS_02/Reconstructions/VoxelSpacing13.480/Annotations/101/vesicle-1.0"
        ]
    );
}

#[test]
fn adding_one_annotation_block_builds_only_it() {
    let d = Deposition::new();
    assert_eq!(d.build(&[]).0.code, 0);
    let block = "annotations:\n- metadata:\n    annotation_ingest_id: lumen-1\n    annotation_method: threshold\n    annotation_object:\n      id: GO:0031974\n      name: lumen\n    authors: *authors\n    dates: *dates\n    ground_truth_status: false\n    method_type: automated\n    version: 1.0\n  sources:\n  - SemanticSegmentationMask:\n      file_format: mrc\n      glob_string: labels/{run_name}_labels.mrc\n      is_visualization_default: false\n      threshold: 0.5\n";
    d.edit_config("annotations:\n", block);
    let explain = d.ingest("explain", &[&format!("{ANN1}/104/lumen-1.0")]);
    assert!(
        explain
            .stdout
            .contains("lumen-1.0 (annotation): stale\n  - never built"),
        "{}",
        explain.stdout
    );
    let (run, report) = d.build(&[]);
    assert_eq!(run.code, 0, "{run:?}");
    let vs = |r: &str| format!("19999/{r}/Reconstructions/VoxelSpacing13.480");
    assert_eq!(
        crate::common::without_states(ids_with(&report, "built")),
        vec![
            format!("{}/Annotations/104/lumen-1.0", vs("TS_01")),
            format!("{}/Annotations/104/lumen-1.0_segmentationmask", vs("TS_01")),
            format!(
                "{}/NeuroglancerPrecompute/104-lumen-1.0_segmentationmask",
                vs("TS_01")
            ),
            format!("{}/Annotations/104/lumen-1.0", vs("TS_02")),
            format!("{}/Annotations/104/lumen-1.0_segmentationmask", vs("TS_02")),
            format!(
                "{}/NeuroglancerPrecompute/104-lumen-1.0_segmentationmask",
                vs("TS_02")
            ),
        ]
    );
    // IDs of the existing annotations did not move.
    assert!(d
        .output()
        .join(format!("{ANN1}/100/membrane-1.0.json"))
        .exists());
}

#[test]
fn a_mask_label_absent_from_the_source_writes_nothing() {
    let d = Deposition::new();
    d.edit_config("mask_label: 2\n", "mask_label: 7\n");
    let (run, _) = d.build(&[]);
    assert_eq!(run.code, 0, "{run:?}");
    assert!(!d.output().join(format!("{ANN1}/101")).exists());
}

#[test]
fn point_picks_become_ndjson_and_a_pick_file_edit_rebuilds_that_run_only() {
    let d = Deposition::new();
    assert_eq!(d.build(&[]).0.code, 0);
    let ndjson = d
        .output()
        .join(format!("{ANN1}/103/cytosolic_ribosome-1.0_point.ndjson"));
    let text = std::fs::read_to_string(&ndjson).unwrap();
    assert_eq!(text.lines().count(), 12);
    let first: serde_json::Value = serde_json::from_str(text.lines().next().unwrap()).unwrap();
    assert_eq!(first["type"], "point");
    let csv = std::fs::read_to_string(d.input().join("demo_source/particles/TS_01_ribosomes.csv"))
        .unwrap();
    let x: f64 = csv.split(',').next().unwrap().parse().unwrap();
    assert_eq!(first["location"]["x"].as_f64().unwrap(), x);
    let md = read_json(
        &d.output()
            .join(format!("{ANN1}/103/cytosolic_ribosome-1.0.json")),
    );
    assert_eq!(md["object_count"], 12);
    assert_eq!(md["files"][0]["format"], "ndjson");

    std::fs::write(
        d.input().join("demo_source/particles/TS_01_ribosomes.csv"),
        format!("{csv}1.0,2.0,3.0\n"),
    )
    .unwrap();
    let (_, report) = d.build(&[]);
    // The points are a visualization default: that run's key images redraw them (and the
    // dataset key photos, copies of TS_01's, are copied again); their precompute is rebuilt.
    let vs1 = ANN1.trim_end_matches("/Annotations");
    assert_eq!(
        crate::common::without_states(ids_with(&report, "built")),
        vec![
            "19999/Images/snapshot.png".to_string(),
            "19999/Images/thumbnail.png".to_string(),
            format!("{ANN1}/103/cytosolic_ribosome-1.0"),
            format!("{ANN1}/103/cytosolic_ribosome-1.0_point.ndjson"),
            format!("{vs1}/Images/100"),
            format!("{vs1}/NeuroglancerPrecompute/103-cytosolic_ribosome-1.0_point"),
        ]
    );
    let md = read_json(
        &d.output()
            .join(format!("{ANN1}/103/cytosolic_ribosome-1.0.json")),
    );
    assert_eq!(md["object_count"], 13);
}

#[test]
fn a_malformed_pick_file_fails_its_annotation_naming_the_file_and_line() {
    let d = Deposition::new();
    std::fs::write(
        d.input().join("demo_source/particles/TS_02_ribosomes.csv"),
        "1.0,2.0,3.0\n4.0,oops,6.0\n",
    )
    .unwrap();
    let (run, report) = d.build(&[]);
    assert_eq!(run.code, 1, "{run:?}");
    // The run's key images, which overlay those default points, fail with them.
    let failed = crate::common::without_states(ids_with(&report, "failed"));
    assert!(
        failed.iter().all(|id| id.contains("TS_02")
            && (id.contains("cytosolic_ribosome") || id.ends_with("/Images/100"))),
        "{failed:?}"
    );
    assert!(
        run.stderr.contains("TS_02_ribosomes.csv:2"),
        "{}",
        run.stderr
    );
}

#[test]
fn identified_objects_keep_the_run_s_rows() {
    let d = Deposition::new();
    std::fs::create_dir_all(d.input().join("demo_source/objects")).unwrap();
    std::fs::write(
        d.input().join("demo_source/objects/identified.csv"),
        "run_name,object_id,name\nTS_01,GO:0022626,ribosome\nTS_02,GO:0005739,mitochondrion\nTS_01,GO:0005874,microtubule\n",
    )
    .unwrap();
    d.edit_config(
        "runs:\n- sources:",
        "identified_objects:\n- metadata:\n    object_count: 0\n  sources:\n  - source_glob:\n      list_glob: objects/identified.csv\nruns:\n- sources:",
    );
    let (run, report) = d.build(&[]);
    assert_eq!(run.code, 0, "{run:?}");
    assert!(crate::common::without_states(ids_with(&report, "built"))
        .contains(&"19999/TS_01/IdentifiedObjects".to_string()));
    let dir = d.output().join("19999/TS_01/IdentifiedObjects");
    let objects = read_json(&dir.join("identified_objects.json"));
    assert_eq!(
        objects,
        serde_json::json!([
            {"object_id": "GO:0022626", "name": "ribosome"},
            {"object_id": "GO:0005874", "name": "microtubule"}
        ])
    );
    let md = read_json(&dir.join("identified_objects_metadata.json"));
    assert_eq!(md["object_count"], 2);
    assert_eq!(md["columns"], serde_json::json!(["object_id", "name"]));
    assert_eq!(md["file_format"], "json");
    assert_eq!(md["identifier"], 100);
    assert!(md["source_file"]
        .as_str()
        .unwrap()
        .ends_with("demo_source/objects/identified.csv"));
}

/// A block reading `labels/{run}_membrane.zarr`, which [`copy_membrane_zarrs`] makes.
pub const ZARR_MASK_BLOCK: &str = "annotations:\n- metadata:\n    annotation_ingest_id: membrane-copy-1\n    annotation_object:\n      id: GO:0016020\n      name: membrane copy\n    authors: *authors\n    dates: *dates\n    ground_truth_status: false\n    method_type: automated\n    version: 1.0\n  sources:\n  - SemanticSegmentationMask:\n      file_format: zarr\n      glob_string: labels/{run_name}_membrane.zarr\n      is_visualization_default: false\n";

/// Copies the membrane masks of a built deposition into its INPUT as OME-Zarr sources.
pub fn copy_membrane_zarrs(d: &Deposition) {
    for run in ["TS_01", "TS_02"] {
        let from = d.output().join(format!(
            "19999/{run}/Reconstructions/VoxelSpacing13.480/Annotations/100/membrane-1.0_segmentationmask.zarr"
        ));
        let to = d
            .input()
            .join(format!("demo_source/labels/{run}_membrane.zarr"));
        copy_dir(&from, &to);
    }
}

#[test]
fn an_ome_zarr_mask_source_is_converted_too() {
    let d = Deposition::new();
    assert_eq!(d.build(&[]).0.code, 0);
    // Use the membrane mask we wrote as an OME-Zarr source for a new block.
    copy_membrane_zarrs(&d);
    d.edit_config("annotations:\n", ZARR_MASK_BLOCK);
    let (run, _) = d.build(&[]);
    assert_eq!(run.code, 0, "{run:?}");
    let dir = d.output().join(format!("{ANN1}/104"));
    for name in ["0/0/0/0", "1/0/0/0", "2/0/0/0"] {
        let original = std::fs::read(d.output().join(format!(
            "{ANN1}/100/membrane-1.0_segmentationmask.zarr/{name}"
        )))
        .unwrap();
        let copy =
            std::fs::read(dir.join(format!("membrane_copy-1.0_segmentationmask.zarr/{name}")))
                .unwrap();
        // Blosc is run single-threaded, so the same data gives the same chunk bytes.
        assert!(original == copy, "chunk {name} differs");
    }
}

// ---------------------------------------------------------------------------------------------
// Meshes: one source file per format, written the way common software writes it, converted to
// `{prefix}_triangularmesh.glb`.

/// The corners of an axis-aligned cube of side `size` (x = bit 0, y = bit 1, z = bit 2).
fn corner(i: usize, size: f64) -> [f64; 3] {
    [i & 1, (i >> 1) & 1, (i >> 2) & 1].map(|b| b as f64 * size)
}

/// The cube's faces as quads of corners, counter-clockwise seen from outside.
const CUBE_QUADS: [[usize; 4]; 6] = [
    [0, 2, 3, 1], // z = 0
    [4, 5, 7, 6], // z = 1
    [0, 1, 5, 4], // y = 0
    [2, 6, 7, 3], // y = 1
    [0, 4, 6, 2], // x = 0
    [1, 3, 7, 5], // x = 1
];

/// The cube's 12 triangles (each quad split along its first diagonal), as corners.
fn cube_triangles() -> Vec<[usize; 3]> {
    CUBE_QUADS
        .iter()
        .flat_map(|q| [[q[0], q[1], q[2]], [q[0], q[2], q[3]]])
        .collect()
}

/// Triangles as position triples, each rotated to start at its smallest corner (winding kept)
/// and sorted, so two triangulations of the same surface compare equal.
fn canonical(tris: Vec<[[f64; 3]; 3]>) -> Vec<[[f64; 3]; 3]> {
    let mut out: Vec<[[f64; 3]; 3]> = tris
        .into_iter()
        .map(|t| {
            let k = (0..3)
                .min_by(|&a, &b| t[a].partial_cmp(&t[b]).unwrap())
                .unwrap();
            [t[k], t[(k + 1) % 3], t[(k + 2) % 3]]
        })
        .collect();
    out.sort_by(|a, b| a.partial_cmp(b).unwrap());
    out
}

/// The expected cube surface: side `size`, moved by `offset`, scaled by `scale`.
fn cube_surface(size: f64, offset: [f64; 3], scale: f64) -> Vec<[[f64; 3]; 3]> {
    let p = |i: usize| {
        let c = corner(i, size);
        [0, 1, 2].map(|a| (c[a] + offset[a]) * scale)
    };
    canonical(cube_triangles().into_iter().map(|t| t.map(p)).collect())
}

/// Decodes a written .glb by its JSON (independently of the ingester's reader): the float32
/// positions and uint32 triangles of its one primitive, checking the layout glTF requires.
fn read_glb(path: &std::path::Path) -> (Vec<[f32; 3]>, Vec<[u32; 3]>) {
    let b = std::fs::read(path).unwrap();
    let u32_at = |o: usize| u32::from_le_bytes(b[o..o + 4].try_into().unwrap()) as usize;
    assert_eq!(&b[0..4], b"glTF");
    assert_eq!(u32_at(4), 2, "glTF version");
    assert_eq!(u32_at(8), b.len(), "total length");
    let jlen = u32_at(12);
    assert_eq!(&b[16..20], b"JSON");
    assert_eq!(jlen % 4, 0);
    let doc: serde_json::Value = serde_json::from_slice(&b[20..20 + jlen]).unwrap();
    let bin_at = 20 + jlen;
    assert_eq!(&b[bin_at + 4..bin_at + 8], b"BIN\0");
    let bin = &b[bin_at + 8..bin_at + 8 + u32_at(bin_at)];
    assert_eq!(doc["asset"]["version"], "2.0");
    let prim = &doc["meshes"][0]["primitives"][0];
    assert_eq!(doc["meshes"].as_array().unwrap().len(), 1);
    assert_eq!(prim["mode"], 4);
    let acc = |i: &serde_json::Value| &doc["accessors"][i.as_u64().unwrap() as usize];
    let view = |a: &serde_json::Value| {
        let v = &doc["bufferViews"][a["bufferView"].as_u64().unwrap() as usize];
        let o = v["byteOffset"].as_u64().unwrap_or(0) as usize;
        &bin[o..o + v["byteLength"].as_u64().unwrap() as usize]
    };
    let pos = acc(&prim["attributes"]["POSITION"]);
    assert_eq!(
        (pos["componentType"].as_u64(), pos["type"].as_str()),
        (Some(5126), Some("VEC3"))
    );
    let positions: Vec<[f32; 3]> = view(pos)
        .chunks_exact(12)
        .map(|c| [0, 4, 8].map(|o| f32::from_le_bytes(c[o..o + 4].try_into().unwrap())))
        .collect();
    assert_eq!(positions.len() as u64, pos["count"].as_u64().unwrap());
    for a in 0..3 {
        let lo = positions.iter().map(|p| p[a]).fold(f32::INFINITY, f32::min);
        let hi = positions
            .iter()
            .map(|p| p[a])
            .fold(f32::NEG_INFINITY, f32::max);
        assert_eq!(pos["min"][a].as_f64().unwrap(), f64::from(lo));
        assert_eq!(pos["max"][a].as_f64().unwrap(), f64::from(hi));
    }
    let idx = acc(&prim["indices"]);
    assert_eq!(idx["componentType"], 5125, "uint32 indices");
    let flat: Vec<u32> = view(idx)
        .chunks_exact(4)
        .map(|c| u32::from_le_bytes(c.try_into().unwrap()))
        .collect();
    assert_eq!(flat.len() as u64, idx["count"].as_u64().unwrap());
    (
        positions,
        flat.chunks_exact(3).map(|t| [t[0], t[1], t[2]]).collect(),
    )
}

fn triangles_of(positions: &[[f32; 3]], faces: &[[u32; 3]]) -> Vec<[[f64; 3]; 3]> {
    faces
        .iter()
        .map(|f| f.map(|i| positions[i as usize].map(f64::from)))
        .collect()
}

/// Binary STL as numpy-stl and most CAD exporters write it (the header may start with "solid").
fn stl_binary(header: &str, tris: &[[[f64; 3]; 3]]) -> Vec<u8> {
    let mut out = header.as_bytes().to_vec();
    out.resize(80, b' ');
    out.extend((tris.len() as u32).to_le_bytes());
    for t in tris {
        let n = normal(t);
        for c in n.iter().chain(t.iter().flatten()) {
            out.extend((*c as f32).to_le_bytes());
        }
        out.extend([0u8, 0]);
    }
    out
}

fn normal(t: &[[f64; 3]; 3]) -> [f64; 3] {
    let u = [0, 1, 2].map(|a| t[1][a] - t[0][a]);
    let v = [0, 1, 2].map(|a| t[2][a] - t[0][a]);
    let n = [
        u[1] * v[2] - u[2] * v[1],
        u[2] * v[0] - u[0] * v[2],
        u[0] * v[1] - u[1] * v[0],
    ];
    let l = (n[0] * n[0] + n[1] * n[1] + n[2] * n[2]).sqrt();
    n.map(|c| c / l)
}

/// ASCII STL as Blender's exporter writes it.
fn stl_ascii(tris: &[[[f64; 3]; 3]]) -> String {
    let mut s = String::from("solid Exported from Blender-3.6.0\n");
    for t in tris {
        let n = normal(t);
        s += &format!(
            "facet normal {:.6} {:.6} {:.6}\nouter loop\n",
            n[0], n[1], n[2]
        );
        for v in t {
            s += &format!("vertex {:.6} {:.6} {:.6}\n", v[0], v[1], v[2]);
        }
        s += "endloop\nendfacet\n";
    }
    s + "endsolid Exported from Blender-3.6.0\n"
}

/// OBJ as Blender 3.6 writes a cube: positions, normals, texture coordinates, an object, a
/// material, and quads of `v/vt/vn` corners.
fn obj_blender(size: f64) -> String {
    let mut s = String::from("# Blender 3.6.0\n# www.blender.org\nmtllib cube.mtl\no Cube\n");
    for i in 0..8 {
        let c = corner(i, size);
        s += &format!("v {:.6} {:.6} {:.6}\n", c[0], c[1], c[2]);
    }
    for n in ["0 0 -1", "0 0 1", "0 -1 0", "0 1 0", "-1 0 0", "1 0 0"] {
        s += &format!("vn {n}\n");
    }
    for t in ["0.625 0.5", "0.875 0.5", "0.875 0.75", "0.625 0.75"] {
        s += &format!("vt {t}\n");
    }
    s += "s 0\nusemtl Material\n";
    for (k, q) in CUBE_QUADS.iter().enumerate() {
        let corners: Vec<String> = q
            .iter()
            .enumerate()
            .map(|(j, &i)| format!("{}/{}/{}", i + 1, j + 1, k + 1))
            .collect();
        s += &format!("f {}\n", corners.join(" "));
    }
    s
}

/// VTK 5.1 ASCII PolyData as VTK 9's `vtkPolyDataWriter` writes it (offsets/connectivity,
/// a METADATA block); the last three faces are triangle strips.
fn vtk_ascii(size: f64) -> String {
    let mut s = String::from(
        "# vtk DataFile Version 5.1\nvtk output\nASCII\nDATASET POLYDATA\nPOINTS 8 float\n",
    );
    let pts: Vec<String> = (0..8)
        .map(|i| corner(i, size).map(|c| c.to_string()).join(" "))
        .collect();
    s += &pts.join(" ");
    s += "\n\nMETADATA\nINFORMATION 0\n\n";
    s += "POLYGONS 4 12\nOFFSETS vtktypeint64\n0 4 8 12\nCONNECTIVITY vtktypeint64\n";
    let polys: Vec<String> = CUBE_QUADS[..3]
        .iter()
        .flat_map(|q| q.iter().map(|i| i.to_string()))
        .collect();
    s += &polys.join(" ");
    s += "\nTRIANGLE_STRIPS 4 12\nOFFSETS vtktypeint64\n0 4 8 12\nCONNECTIVITY vtktypeint64\n";
    // The strip b c a d gives the quad a b c d's triangles (b c a) and (a c d).
    let strips: Vec<String> = CUBE_QUADS[3..]
        .iter()
        .flat_map(|q| [q[1], q[2], q[0], q[3]].map(|i| i.to_string()))
        .collect();
    s += &strips.join(" ");
    s + "\nCELL_DATA 6\nFIELD FieldData 1\nface 1 6 int\n0 1 2 3 4 5\n"
}

/// Legacy (4.2) BINARY PolyData, big-endian, as VTK 8 / ParaView 5.8 write it, with point
/// normals after the cells.
fn vtk_binary(size: f64) -> Vec<u8> {
    let mut b =
        b"# vtk DataFile Version 4.2\nvtk output\nBINARY\nDATASET POLYDATA\nPOINTS 8 float\n"
            .to_vec();
    for i in 0..8 {
        for c in corner(i, size) {
            b.extend((c as f32).to_be_bytes());
        }
    }
    b.extend(b"\nPOLYGONS 6 30\n");
    for q in CUBE_QUADS {
        b.extend(4i32.to_be_bytes());
        for i in q {
            b.extend((i as i32).to_be_bytes());
        }
    }
    b.extend(b"\nPOINT_DATA 8\nNORMALS Normals float\n");
    for _ in 0..24 {
        b.extend(0.5f32.to_be_bytes());
    }
    b.extend(b"\n");
    b
}

/// GLB as trimesh exports a cube with face normals: 24 vertices (four per face), uint32
/// indices, and here a node matrix translating the mesh by `offset`.
pub fn glb_trimesh(size: f64, offset: [f64; 3]) -> Vec<u8> {
    let mut pos: Vec<f32> = Vec::new();
    let mut nrm: Vec<f32> = Vec::new();
    let mut idx: Vec<u32> = Vec::new();
    for q in CUBE_QUADS {
        let base = (pos.len() / 3) as u32;
        let quad = q.map(|i| corner(i, size));
        let n = normal(&[quad[0], quad[1], quad[2]]);
        for c in quad {
            pos.extend(c.map(|v| v as f32));
            nrm.extend(n.map(|v| v as f32));
        }
        idx.extend([base, base + 1, base + 2, base, base + 2, base + 3]);
    }
    let mut bin: Vec<u8> = idx.iter().flat_map(|i| i.to_le_bytes()).collect();
    let (ilen, plen) = (bin.len(), pos.len() * 4);
    bin.extend(pos.iter().flat_map(|v| v.to_le_bytes()));
    bin.extend(nrm.iter().flat_map(|v| v.to_le_bytes()));
    let m = [
        1.0, 0.0, 0.0, 0.0, 0.0, 1.0, 0.0, 0.0, 0.0, 0.0, 1.0, 0.0, offset[0], offset[1],
        offset[2], 1.0,
    ];
    let doc = serde_json::json!({
        "scene": 0,
        "scenes": [{"nodes": [0]}],
        "asset": {"version": "2.0", "generator": "https://github.com/mikedh/trimesh"},
        "accessors": [
            {"componentType": 5125, "type": "SCALAR", "bufferView": 0, "count": idx.len(), "max": [23], "min": [0]},
            {"componentType": 5126, "type": "VEC3", "byteOffset": 0, "bufferView": 1, "count": 24,
             "max": [size, size, size], "min": [0.0, 0.0, 0.0]},
            {"componentType": 5126, "type": "VEC3", "byteOffset": 0, "bufferView": 2, "count": 24}
        ],
        "meshes": [{"name": "cube", "extras": {"processed": true},
                    "primitives": [{"attributes": {"POSITION": 1, "NORMAL": 2}, "indices": 0, "mode": 4}]}],
        "nodes": [{"name": "world", "children": [1]}, {"name": "cube", "mesh": 0, "matrix": m}],
        "buffers": [{"byteLength": bin.len()}],
        "bufferViews": [
            {"buffer": 0, "byteOffset": 0, "byteLength": ilen},
            {"buffer": 0, "byteOffset": ilen, "byteLength": plen},
            {"buffer": 0, "byteOffset": ilen + plen, "byteLength": plen}
        ]
    });
    let mut json = serde_json::to_vec(&doc).unwrap();
    while !json.len().is_multiple_of(4) {
        json.push(b' ');
    }
    let mut out = b"glTF".to_vec();
    out.extend(2u32.to_le_bytes());
    out.extend(((28 + json.len() + bin.len()) as u32).to_le_bytes());
    out.extend((json.len() as u32).to_le_bytes());
    out.extend(b"JSON");
    out.extend(json);
    out.extend((bin.len() as u32).to_le_bytes());
    out.extend(b"BIN\0");
    out.extend(bin);
    out
}

/// One TriangularMesh annotation block per (object name, format, file, scale_factor).
fn mesh_blocks(meshes: &[(&str, &str, &str, f64)]) -> String {
    let mut s = String::from("annotations:\n");
    for (name, format, file, scale) in meshes {
        s += &format!(
            "- metadata:\n    annotation_ingest_id: {name}-1\n    annotation_method: manual segmentation\n    annotation_object:\n      id: GO:0005739\n      name: {name}\n    authors: *authors\n    dates: *dates\n    ground_truth_status: false\n    method_type: manual\n    version: 1.0\n  sources:\n  - TriangularMesh:\n      file_format: {format}\n      glob_string: meshes/{{run_name}}_{file}\n      is_visualization_default: false\n      scale_factor: {scale}\n"
        );
    }
    s
}

/// The one annotation file under `TS_01`'s annotations whose name ends with `suffix`.
fn find_output(d: &Deposition, suffix: &str) -> std::path::PathBuf {
    let root = d.output().join(ANN1);
    let mut found = Vec::new();
    for id in std::fs::read_dir(&root).unwrap() {
        for f in std::fs::read_dir(id.unwrap().path()).unwrap() {
            let p = f.unwrap().path();
            if p.file_name().unwrap().to_string_lossy().ends_with(suffix) {
                found.push(p);
            }
        }
    }
    assert_eq!(found.len(), 1, "{suffix}: {found:?}");
    found.pop().unwrap()
}

#[test]
fn meshes_of_every_format_become_one_glb_each() {
    let d = Deposition::new();
    let dir = d.input().join("demo_source/meshes");
    std::fs::create_dir_all(&dir).unwrap();
    let size = 3.0;
    let tris: Vec<[[f64; 3]; 3]> = cube_triangles()
        .into_iter()
        .map(|t| t.map(|i| corner(i, size)))
        .collect();
    let offset = [1.0, -2.0, 0.5];
    std::fs::write(
        dir.join("TS_01_cube_bin.stl"),
        stl_binary("solid cube (binary)", &tris),
    )
    .unwrap();
    std::fs::write(dir.join("TS_01_cube_ascii.stl"), stl_ascii(&tris)).unwrap();
    std::fs::write(dir.join("TS_01_cube.obj"), obj_blender(size)).unwrap();
    std::fs::write(dir.join("TS_01_cube_ascii.vtk"), vtk_ascii(size)).unwrap();
    std::fs::write(dir.join("TS_01_cube_bin.vtk"), vtk_binary(size)).unwrap();
    std::fs::write(dir.join("TS_01_cube.glb"), glb_trimesh(size, offset)).unwrap();
    let cases: [(&str, &str, &str, f64); 6] = [
        ("stlbin", "stl", "cube_bin.stl", 2.5),
        ("stlascii", "stl", "cube_ascii.stl", 1.0),
        ("objmesh", "obj", "cube.obj", 0.5),
        ("vtkascii", "vtk", "cube_ascii.vtk", 1.0),
        ("vtkbin", "vtk", "cube_bin.vtk", 4.0),
        ("glbmesh", "glb", "cube.glb", 2.0),
    ];
    d.edit_config("annotations:\n", &mesh_blocks(&cases));
    let (run, report) = d.build(&[]);
    assert_eq!(run.code, 0, "{run:?}");
    assert!(crate::common::without_states(ids_with(&report, "failed")).is_empty());
    let mut glbs = Vec::new();
    for (name, format, _, scale) in cases {
        let path = find_output(&d, &format!("{name}-1.0_triangularmesh.glb"));
        let (positions, faces) = read_glb(&path);
        // trimesh's counts: merged corners (8) for stl/obj/vtk, the glb's own 24 kept.
        let (nv, off) = if format == "glb" {
            (24, offset)
        } else {
            (8, [0.0; 3])
        };
        assert_eq!((positions.len(), faces.len()), (nv, 12), "{name}");
        assert_eq!(
            canonical(triangles_of(&positions, &faces)),
            cube_surface(size, off, scale),
            "{name}"
        );
        let md = read_json(&path.with_file_name(format!("{name}-1.0.json")));
        assert_eq!(md["object_count"], 1, "{name}");
        assert_eq!(
            md["files"],
            serde_json::json!([{
                "format": "glb",
                "path": path.strip_prefix(d.output()).unwrap().to_str().unwrap(),
                "shape": "TriangularMesh",
                "is_visualization_default": false
            }])
        );
        glbs.push((path, nv, (size * scale).powi(3)));
    }
    // Binary STL: the corners in order of first use, each facet's three in turn.
    let (positions, faces) = read_glb(&glbs[0].0);
    let order = [0, 2, 3, 1, 4, 5, 7, 6];
    let want: Vec<[f32; 3]> = order
        .iter()
        .map(|&i| corner(i, size).map(|c| (c * 2.5) as f32))
        .collect();
    assert_eq!(positions, want);
    let slot = |c: usize| order.iter().position(|&o| o == c).unwrap() as u32;
    let want_faces: Vec<[u32; 3]> = cube_triangles().into_iter().map(|t| t.map(slot)).collect();
    assert_eq!(faces, want_faces);
    // The same input gives the same bytes; an unchanged re-run builds nothing.
    let before = std::fs::read(&glbs[0].0).unwrap();
    let (_, report) = d.build(&[]);
    assert!(crate::common::without_states(ids_with(&report, "built")).is_empty());
    assert_eq!(std::fs::read(&glbs[0].0).unwrap(), before);

    // trimesh, the reference's mesh library, reads every glb with the same counts and the
    // cube's volume.
    let out = crate::common::python_script("check_mesh.py", glbs.iter().map(|g| &g.0));
    let seen: serde_json::Value = serde_json::from_str(&out).unwrap();
    for (g, s) in glbs.iter().zip(seen.as_array().unwrap()) {
        assert_eq!(s["vertices"], g.1, "{s}");
        assert_eq!(s["faces"], 12, "{s}");
        assert!(
            (s["volume"].as_f64().unwrap() - g.2).abs() < 1e-3 * g.2,
            "{s}"
        );
    }
}

#[test]
fn a_scale_factor_edit_rebuilds_only_that_mesh() {
    let d = Deposition::new();
    let dir = d.input().join("demo_source/meshes");
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("TS_01_cube.obj"), obj_blender(1.0)).unwrap();
    d.edit_config(
        "annotations:\n",
        &mesh_blocks(&[("objmesh", "obj", "cube.obj", 1.5)]),
    );
    assert_eq!(d.build(&[]).0.code, 0);
    d.edit_config("scale_factor: 1.5\n", "scale_factor: 3.0\n");
    let (run, report) = d.build(&[]);
    assert_eq!(run.code, 0, "{run:?}");
    // The glb, the JSON that keys on the glb's digest, and the glb's precompute.
    let built = crate::common::without_states(ids_with(&report, "built"));
    assert_eq!(built.len(), 3, "{built:?}");
    assert!(built[0].ends_with("/objmesh-1.0"), "{built:?}");
    assert!(
        built[1].ends_with("/objmesh-1.0_triangularmesh.glb"),
        "{built:?}"
    );
    assert!(
        built[2].ends_with("/NeuroglancerPrecompute/100-objmesh-1.0_triangularmesh"),
        "{built:?}"
    );
    let (positions, _) = read_glb(&find_output(&d, "objmesh-1.0_triangularmesh.glb"));
    assert_eq!(positions[7], [3.0, 3.0, 3.0]);
}

#[test]
fn a_mesh_precompute_is_read_back_by_cloud_volume_with_the_glb_s_bounds() {
    let d = Deposition::new();
    let dir = d.input().join("demo_source/meshes");
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(
        dir.join("TS_01_cube.glb"),
        glb_trimesh(40.0, [3.0, 5.0, 7.0]),
    )
    .unwrap();
    d.edit_config(
        "annotations:\n",
        &mesh_blocks(&[("glbmesh", "glb", "cube.glb", 1.0)]),
    );
    let (run, _) = d.build(&[]);
    assert_eq!(run.code, 0, "{run:?}");
    let precompute = d.output().join(format!(
        "{}/NeuroglancerPrecompute/100-glbmesh-1.0_triangularmesh",
        ANN1.trim_end_matches("/Annotations")
    ));
    let out: serde_json::Value = serde_json::from_str(&crate::common::python_script(
        "check_segmentation.py",
        [precompute.as_os_str(), "--segments".as_ref(), "1".as_ref()],
    ))
    .unwrap();
    assert_eq!(out["info"]["segment_properties"], "segment_properties");
    let props = crate::common::read_json(&precompute.join("segment_properties/info"));
    assert_eq!(props["inline"]["ids"], serde_json::json!(["1"]));
    assert_eq!(
        props["inline"]["properties"][0]["values"],
        serde_json::json!(["glbmesh-1"])
    );
    // The cube as written (the node's translation applied): every LOD spans it.
    let mesh = &out["meshes"]["1"];
    let lods = mesh["lods"]
        .as_array()
        .unwrap_or_else(|| panic!("no mesh: {out}"));
    assert!(!lods.is_empty(), "{mesh}");
    for lod in lods {
        for (a, offset) in [3.0, 5.0, 7.0].into_iter().enumerate() {
            let min = lod["min"][a].as_f64().unwrap();
            let max = lod["max"][a].as_f64().unwrap();
            assert!((min - offset).abs() < 0.05, "axis {a}: {min} ({mesh})");
            assert!(
                (max - offset - 40.0).abs() < 0.05,
                "axis {a}: {max} ({mesh})"
            );
        }
    }
    assert!(lods[0]["faces"].as_u64().unwrap() >= 12, "{mesh}");
}

#[test]
fn malformed_meshes_fail_their_annotation_naming_the_file() {
    let d = Deposition::new();
    let dir = d.input().join("demo_source/meshes");
    std::fs::create_dir_all(&dir).unwrap();
    let tris: Vec<[[f64; 3]; 3]> = cube_triangles()
        .into_iter()
        .map(|t| t.map(|i| corner(i, 1.0)))
        .collect();
    // ASCII STL with a corrupted coordinate on its 5th line.
    let stl = stl_ascii(&tris).replacen("vertex 0.000000 1.000000", "vertex 0.000000 1.0e", 1);
    std::fs::write(dir.join("TS_01_bad.stl"), stl).unwrap();
    // OBJ whose last face points past the 8 vertices.
    let obj = obj_blender(1.0) + "f 1 2 9\n";
    std::fs::write(dir.join("TS_01_bad.obj"), obj).unwrap();
    // Binary VTK cut inside its points.
    let vtk = vtk_binary(1.0);
    std::fs::write(dir.join("TS_01_bad.vtk"), &vtk[..100]).unwrap();
    // GLB cut inside its binary chunk.
    let glb = glb_trimesh(1.0, [0.0; 3]);
    std::fs::write(dir.join("TS_01_bad.glb"), &glb[..glb.len() - 40]).unwrap();
    d.edit_config(
        "annotations:\n",
        &mesh_blocks(&[
            ("badstl", "stl", "bad.stl", 1.0),
            ("badobj", "obj", "bad.obj", 1.0),
            ("badvtk", "vtk", "bad.vtk", 1.0),
            ("badglb", "glb", "bad.glb", 1.0),
        ]),
    );
    let (run, report) = d.build(&[]);
    assert_eq!(run.code, 1, "{run:?}");
    // Each mesh target fails, and so do its JSON and its precompute, which need it.
    let failed = crate::common::without_states(ids_with(&report, "failed"));
    assert_eq!(failed.len(), 12, "{failed:?}");
    assert_eq!(
        failed
            .iter()
            .filter(|id| id.contains("/NeuroglancerPrecompute/"))
            .count(),
        4,
        "{failed:?}"
    );
    assert_eq!(
        failed
            .iter()
            .filter(|id| id.ends_with("-1.0_triangularmesh.glb"))
            .count(),
        4,
        "{failed:?}"
    );
    let obj_lines = obj_blender(1.0).lines().count() + 1;
    for want in [
        "TS_01_bad.stl:5: expected a number for a vertex coordinate, found \"1.0e\"".to_string(),
        format!("TS_01_bad.obj:{obj_lines}: face index 9 but the file has 8 vertices"),
        "TS_01_bad.vtk: POINTS: 24 float values need 96 bytes, the file has 23 left at byte 77"
            .to_string(),
        "TS_01_bad.glb: not a valid glTF 2.0 binary".to_string(),
    ] {
        assert!(run.stderr.contains(&want), "{want}\n{}", run.stderr);
    }
    // Nothing of the failed meshes is published, not even their metadata.
    for id in std::fs::read_dir(d.output().join(ANN1)).unwrap() {
        for f in std::fs::read_dir(id.unwrap().path()).unwrap() {
            let name = f.unwrap().file_name().to_string_lossy().into_owned();
            assert!(!name.starts_with("bad"), "{name}");
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Mask `rescale`: the demo tomograms are 16 × 32 × 32 at 13.48 Å.

/// Reads an output MRC: its z, y, x shape and its values.
fn read_mrc(path: &std::path::Path) -> ([usize; 3], Vec<f64>) {
    use cryoet_ingest::formats::mrc::MrcHeader;
    let b = std::fs::read(path).unwrap();
    let h = MrcHeader::parse(b[..1024].try_into().unwrap());
    let shape = [h.nz, h.ny, h.nx].map(|v| v as usize);
    let data = &b[1024 + h.nsymbt as usize..];
    let values = match h.mode {
        0 => data.iter().map(|&v| f64::from(v as i8)).collect(),
        6 => data
            .chunks_exact(2)
            .map(|c| f64::from(u16::from_le_bytes([c[0], c[1]])))
            .collect(),
        m => panic!("mode {m}"),
    };
    (shape, values)
}

/// scipy's `zoom(order=0)` source index of output `k` along an axis of `old` → `new`.
fn zoom_index(k: usize, old: usize, new: usize) -> usize {
    (k as f64 * ((old - 1) as f64 / (new - 1) as f64) + 0.5).floor() as usize
}

fn mask_block(name: &str, shape: &str, file: &str, extra: &str) -> String {
    format!(
        "- metadata:\n    annotation_ingest_id: {name}-1\n    annotation_method: manual\n    annotation_object:\n      id: GO:0031982\n      name: {name}\n    authors: *authors\n    dates: *dates\n    ground_truth_status: false\n    method_type: manual\n    version: 1.0\n  sources:\n  - {shape}:\n      file_format: mrc\n      glob_string: labels/{{run_name}}_{file}\n      is_visualization_default: false\n      rescale: true\n{extra}"
    )
}

#[test]
fn rescaled_masks_take_the_grid_of_the_run_s_alignment() {
    let d = Deposition::new();
    // Half-resolution labels (8 × 16 × 16 at 26.96 Å): a box of label 1, instance labels by
    // x quarter inside it.
    let half = [8usize, 16, 16];
    let mut labels = vec![0i8; 8 * 16 * 16];
    for z in 2..6 {
        for y in 3..11 {
            for x in 1..14 {
                labels[(z * 16 + y) * 16 + x] = 1 + (x / 4) as i8;
            }
        }
    }
    // A double-resolution probability map (32 × 64 × 64) with one voxel at 0.9: averaging
    // 2×2×2 cells puts it at 0.1125, under the threshold, but the source holds the value.
    let mut prob = vec![0f32; 32 * 64 * 64];
    prob[(10 * 64 + 20) * 64 + 30] = 0.9;
    for run in ["TS_01", "TS_02"] {
        let dir = d.input().join("demo_source/labels");
        std::fs::write(
            dir.join(format!("{run}_half.mrc")),
            cryoet_ingest::demo::labels_mrc_bytes(half, 26.96, &labels),
        )
        .unwrap();
        std::fs::write(
            dir.join(format!("{run}_fine.mrc")),
            cryoet_ingest::demo::mrc_bytes([32, 64, 64], 6.74, &prob, 0),
        )
        .unwrap();
    }
    let blocks = [
        mask_block(
            "half",
            "SemanticSegmentationMask",
            "half.mrc",
            "      mask_label: 2\n",
        ),
        mask_block("halfinst", "InstanceSegmentationMask", "half.mrc", ""),
        mask_block(
            "fine",
            "SemanticSegmentationMask",
            "fine.mrc",
            "      threshold: 0.5\n",
        ),
    ];
    d.edit_config(
        "annotations:\n",
        &format!("annotations:\n{}", blocks.concat()),
    );
    let (run, _) = d.build(&[]);
    assert_eq!(run.code, 0, "{run:?}");
    let src = |z: usize, y: usize, x: usize| f64::from(labels[(z * 16 + y) * 16 + x]);

    // Semantic, label 2, 2× up by local mean: every output voxel copies the voxel it lies in.
    let (shape, v) = read_mrc(&find_output(&d, "half-1.0_segmentationmask.mrc"));
    assert_eq!(shape, [16, 32, 32]);
    for (i, &got) in v.iter().enumerate() {
        let (z, y, x) = (i / 1024, i / 32 % 32, i % 32);
        assert_eq!(
            got,
            f64::from(src(z / 2, y / 2, x / 2) == 2.0),
            "({z},{y},{x})"
        );
    }
    // Instance: scipy's order-0 zoom, whose samples are spread end to end.
    let (shape, v) = read_mrc(&find_output(
        &d,
        "halfinst-1.0_instancesegmentationmask.mrc",
    ));
    assert_eq!(shape, [16, 32, 32]);
    for (i, &got) in v.iter().enumerate() {
        let (z, y, x) = (i / 1024, i / 32 % 32, i % 32);
        let want = src(
            zoom_index(z, 8, 16),
            zoom_index(y, 16, 32),
            zoom_index(x, 16, 32),
        );
        assert_eq!(got, want, "({z},{y},{x})");
    }
    let md = read_json(&find_output(&d, "halfinst-1.0.json"));
    assert_eq!(md["object_count"], 4);
    // Thresholded after the mean: all zeros, still published (the source has the value).
    let (shape, v) = read_mrc(&find_output(&d, "fine-1.0_segmentationmask.mrc"));
    assert_eq!(shape, [16, 32, 32]);
    assert!(v.iter().all(|&x| x == 0.0));
    let md = read_json(&find_output(&d, "fine-1.0.json"));
    assert_eq!(md["files"].as_array().unwrap().len(), 2);

    // A configured volume dimension wins over the tomogram's: 8 sections of 13.48 Å. Only the
    // rescaled masks (and their JSONs) and the alignments rebuild.
    d.edit_config(
        "alignments:\n- metadata:\n    format: IMOD\n",
        "alignments:\n- metadata:\n    format: IMOD\n    volume_dimension:\n      x: 431.36\n      y: 431.36\n      z: 107.84\n",
    );
    let (run, report) = d.build(&[]);
    assert_eq!(run.code, 0, "{run:?}");
    let built = crate::common::without_states(ids_with(&report, "built"));
    assert!(
        built.iter().all(|id| id.contains("/Alignments/")
            || id.contains("/half")
            || id.contains("/fine")
            || id.contains("-half")
            || id.contains("-fine")),
        "{built:?}"
    );
    let (shape, v) = read_mrc(&find_output(&d, "half-1.0_segmentationmask.mrc"));
    assert_eq!(shape, [8, 32, 32]);
    for (i, &got) in v.iter().enumerate() {
        let (z, y, x) = (i / 1024, i / 32 % 32, i % 32);
        assert_eq!(got, f64::from(src(z, y / 2, x / 2) == 2.0), "({z},{y},{x})");
    }
}

/// Writes an .hff file with h5py (the venv), as sfftk and the reference's generator do.
fn write_hff(path: &std::path::Path, spec: &serde_json::Value) {
    let spec_path = path.with_extension("json");
    std::fs::write(&spec_path, spec.to_string()).unwrap();
    crate::common::python_script("make_hff.py", [path, spec_path.as_path()]);
    std::fs::remove_file(spec_path).unwrap();
}

#[test]
fn hff_segments_become_a_glb_of_the_named_segment() {
    let d = Deposition::new();
    let dir = d.input().join("demo_source/meshes");
    std::fs::create_dir_all(&dir).unwrap();
    let size = 2.0;
    let verts: Vec<[f64; 3]> = (0..8).map(|i| corner(i, size)).collect();
    let tris = cube_triangles();
    // The cube in two meshes of 6 triangles (each with all 8 corners); another segment before.
    let spec = serde_json::json!({"segments": [
        {"id": "1", "name": "ribosome", "meshes": [
            {"vertices": [[9, 9, 9], [10, 9, 9], [9, 10, 9]], "triangles": [[0, 1, 2]]}]},
        {"id": "2", "name": "mitochondrion", "meshes": [
            {"vertices": verts, "triangles": tris[..6]},
            {"vertices": verts, "triangles": tris[6..]}]}
    ]});
    write_hff(&dir.join("TS_01_seg.hff"), &spec);
    let block = |name: &str, segment: &str| {
        format!(
            "- metadata:\n    annotation_ingest_id: {name}-1\n    annotation_method: manual segmentation\n    annotation_object:\n      id: GO:0005739\n      name: {name}\n    authors: *authors\n    dates: *dates\n    ground_truth_status: false\n    method_type: manual\n    version: 1.0\n  sources:\n  - TriangularMeshGroup:\n      file_format: hff\n      glob_string: meshes/{{run_name}}_seg.hff\n      is_visualization_default: true\n      mesh_name: {segment}\n      scale_factor: 1.5\n"
        )
    };
    d.edit_config(
        "annotations:\n",
        &format!(
            "annotations:\n{}{}",
            block("mito", "mitochondrion"),
            block("absent", "golgi")
        ),
    );
    let (run, _) = d.build(&[]);
    assert_eq!(run.code, 0, "{run:?}");
    let path = find_output(&d, "mito-1.0_triangularmesh.glb");
    let (positions, faces) = read_glb(&path);
    // Each mesh keeps its 8 corners (meshes are concatenated, not merged), 12 triangles.
    assert_eq!((positions.len(), faces.len()), (16, 12));
    assert_eq!(
        canonical(triangles_of(&positions, &faces)),
        cube_surface(size, [0.0; 3], 1.5)
    );
    let md = read_json(&path.with_file_name("mito-1.0.json"));
    assert_eq!(md["object_count"], 1);
    assert_eq!(md["files"][0]["shape"], "TriangularMesh");
    assert_eq!(md["files"][0]["format"], "glb");
    assert_eq!(md["files"][0]["is_visualization_default"], true);
    // A segment name the file lacks makes the source invalid: no glb, no JSON.
    let root = d.output().join(ANN1);
    for id in std::fs::read_dir(&root).unwrap() {
        for f in std::fs::read_dir(id.unwrap().path()).unwrap() {
            let name = f.unwrap().file_name().to_string_lossy().into_owned();
            assert!(!name.starts_with("absent"), "{name}");
        }
    }
    // trimesh reads it with the same counts and the cube's volume.
    let out = crate::common::python_script("check_mesh.py", [&path]);
    let seen: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(seen[0]["vertices"], 16);
    assert_eq!(seen[0]["faces"], 12);
    assert!((seen[0]["volume"].as_f64().unwrap() - 27.0).abs() < 1e-6);

    // A damaged file fails the annotation, naming the file and what is missing; a source
    // without `mesh_name` fails naming the field.
    let mut bytes = std::fs::read(dir.join("TS_01_seg.hff")).unwrap();
    bytes.truncate(bytes.len() / 2);
    std::fs::write(dir.join("TS_01_seg.hff"), bytes).unwrap();
    let nameless = block("nameless", "x").replace("      mesh_name: x\n", "");
    d.edit_config("annotations:\n", &format!("annotations:\n{nameless}"));
    let (run, _) = d.build(&[]);
    assert_eq!(run.code, 1, "{run:?}");
    assert!(
        run.stderr
            .contains("TS_01_seg.hff: no `segment_list` group"),
        "{}",
        run.stderr
    );
    assert!(
        run.stderr.contains(
            "annotation TS_01_seg.hff (TriangularMeshGroup): field `mesh_name` (the segment's \
             biological_annotation name) is required"
        ),
        "{}",
        run.stderr
    );
}
