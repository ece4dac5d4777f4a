//! Binary glTF 2.0 (`.glb`): read through the `gltf` crate, written here.
//!
//! Reading takes every triangle primitive (`TRIANGLES`, `TRIANGLE_STRIP`, `TRIANGLE_FAN`) of
//! every mesh that a node of the default scene (else the first scene, else every root node)
//! instantiates, with the node's world transform applied to its positions; a transform that
//! mirrors (negative determinant) reverses the winding, as trimesh does when it flattens a
//! scene. Point and line primitives carry no surface and are skipped. Vertices are kept as they
//! are (see the module docs of [`super`]).
//!
//! Writing gives the smallest valid file: one scene, one node, one mesh, one `TRIANGLES`
//! primitive with a float32 `POSITION` accessor (with the `min` / `max` glTF requires) and
//! uint32 indices, the JSON chunk padded with spaces and the binary chunk after it. The same
//! mesh always gives the same bytes (the generator string has no version in it).

use super::Mesh;
use crate::formats::FormatError;
use gltf::accessor::{DataType, Dimensions};
use gltf::mesh::Mode;
use serde_json::json;

type Mat4 = [[f64; 4]; 4]; // column-major, as glTF stores it

const IDENTITY: Mat4 = [
    [1.0, 0.0, 0.0, 0.0],
    [0.0, 1.0, 0.0, 0.0],
    [0.0, 0.0, 1.0, 0.0],
    [0.0, 0.0, 0.0, 1.0],
];

fn mul(a: &Mat4, b: &Mat4) -> Mat4 {
    let mut out = [[0.0; 4]; 4];
    for (c, col) in out.iter_mut().enumerate() {
        for (r, v) in col.iter_mut().enumerate() {
            *v = (0..4).map(|k| a[k][r] * b[c][k]).sum();
        }
    }
    out
}

fn det3(m: &Mat4) -> f64 {
    m[0][0] * (m[1][1] * m[2][2] - m[2][1] * m[1][2])
        - m[1][0] * (m[0][1] * m[2][2] - m[2][1] * m[0][2])
        + m[2][0] * (m[0][1] * m[1][2] - m[1][1] * m[0][2])
}

/// Reads a `.glb` file.
///
/// # Errors
/// Not a valid glTF binary, a required extension (Draco, quantization, …), positions that are
/// not float32 VEC3, data outside its buffer, or an index past the positions.
pub fn read(bytes: &[u8], file: &str) -> Result<Mesh, FormatError> {
    let invalid = |m: String| FormatError::invalid(file, None, m);
    let doc = gltf::Gltf::from_slice(bytes)
        .map_err(|e| invalid(format!("not a valid glTF 2.0 binary: {e}")))?;
    let blob = doc.blob.as_deref();
    let mut mesh = Mesh::default();
    let scene = doc.default_scene().or_else(|| doc.scenes().next());
    let roots: Vec<gltf::Node> = match scene {
        Some(s) => s.nodes().collect(),
        None => {
            let mut child = vec![false; doc.nodes().len()];
            for n in doc.nodes() {
                for c in n.children() {
                    child[c.index()] = true;
                }
            }
            doc.nodes().filter(|n| !child[n.index()]).collect()
        }
    };
    // Depth-first with world transforms; the depth bound stops a (malformed) cyclic hierarchy.
    let mut stack: Vec<(gltf::Node, Mat4, usize)> =
        roots.into_iter().rev().map(|n| (n, IDENTITY, 0)).collect();
    let max_depth = doc.nodes().len();
    while let Some((node, parent, depth)) = stack.pop() {
        if depth > max_depth {
            return Err(invalid(format!(
                "node {} is part of a cycle in the node hierarchy",
                node.index()
            )));
        }
        let local = node.transform().matrix().map(|c| c.map(f64::from));
        let world = mul(&parent, &local);
        if let Some(m) = node.mesh() {
            for (k, p) in m.primitives().enumerate() {
                let what = format!("mesh {} primitive {k}", m.index());
                if let Some(part) = primitive(&p, blob, &world, &what).map_err(invalid)? {
                    mesh.append(part);
                }
            }
        }
        for c in node.children().collect::<Vec<_>>().into_iter().rev() {
            stack.push((c, world, depth + 1));
        }
    }
    Ok(mesh)
}

/// One primitive's triangles in world coordinates, or `None` for a point or line primitive.
fn primitive(
    p: &gltf::Primitive,
    blob: Option<&[u8]>,
    world: &Mat4,
    what: &str,
) -> Result<Option<Mesh>, String> {
    let mode = p.mode();
    if !matches!(
        mode,
        Mode::Triangles | Mode::TriangleStrip | Mode::TriangleFan
    ) {
        return Ok(None);
    }
    let pos = p
        .get(&gltf::Semantic::Positions)
        .ok_or_else(|| format!("{what} has no POSITION"))?;
    if pos.data_type() != DataType::F32 || pos.dimensions() != Dimensions::Vec3 {
        return Err(format!(
            "{what}: POSITION is {:?} {:?}, not float32 VEC3",
            pos.data_type(),
            pos.dimensions()
        ));
    }
    let mut buffers = Vec::new();
    buffers.extend(pos.view().map(|v| v.buffer()));
    if let Some(i) = p.indices() {
        buffers.extend(i.view().map(|v| v.buffer()));
    }
    for b in buffers {
        if let gltf::buffer::Source::Uri(uri) = b.source() {
            return Err(format!(
                "{what} uses the external buffer {uri:?}; a .glb file must hold its data"
            ));
        }
    }
    let reader = p.reader(|b| match b.source() {
        gltf::buffer::Source::Bin => blob,
        gltf::buffer::Source::Uri(_) => None,
    });
    let n = pos.count();
    let positions: Vec<[f32; 3]> = if n == 0 {
        Vec::new()
    } else {
        reader
            .read_positions()
            .ok_or_else(|| format!("{what}: POSITION data lies outside the binary chunk"))?
            .collect()
    };
    let indices: Vec<u32> = match p.indices() {
        Some(acc) if acc.count() == 0 => Vec::new(),
        Some(acc) => {
            if acc.dimensions() != Dimensions::Scalar {
                return Err(format!(
                    "{what}: indices are {:?}, not SCALAR",
                    acc.dimensions()
                ));
            }
            reader
                .read_indices()
                .ok_or_else(|| format!("{what}: index data lies outside the binary chunk"))?
                .into_u32()
                .collect()
        }
        None => (0..n as u32).collect(),
    };
    if let Some(&bad) = indices.iter().find(|&&i| i as usize >= n) {
        return Err(format!("{what}: index {bad} but POSITION has {n} vertices"));
    }
    let mut faces: Vec<[u32; 3]> = match mode {
        Mode::Triangles => indices
            .chunks_exact(3)
            .map(|t| [t[0], t[1], t[2]])
            .collect(),
        Mode::TriangleStrip => (0..indices.len().saturating_sub(2))
            .map(|j| {
                let t = &indices[j..j + 3];
                if j % 2 == 0 {
                    [t[0], t[1], t[2]]
                } else {
                    [t[1], t[0], t[2]]
                }
            })
            .collect(),
        _ => (1..indices.len().saturating_sub(1))
            .map(|j| [indices[0], indices[j], indices[j + 1]])
            .collect(),
    };
    if det3(world) < 0.0 {
        for f in &mut faces {
            f.swap(1, 2);
        }
    }
    let m = world;
    let positions = positions
        .into_iter()
        .map(|v| {
            let [x, y, z] = v.map(f64::from);
            [0, 1, 2].map(|r| m[0][r] * x + m[1][r] * y + m[2][r] * z + m[3][r])
        })
        .collect();
    Ok(Some(Mesh { positions, faces }))
}

/// Writes `mesh` as a binary glTF 2.0 file (positions become float32).
///
/// # Errors
/// A coordinate that is not finite as float32 (e.g. after a huge `scale_factor`), or a mesh
/// without triangles, naming `file`.
pub fn write(mesh: &Mesh, file: &str) -> Result<Vec<u8>, FormatError> {
    if mesh.faces.is_empty() || mesh.positions.is_empty() {
        return Err(FormatError::invalid(
            file,
            None,
            "the mesh has no triangles",
        ));
    }
    let positions: Vec<[f32; 3]> = mesh.positions.iter().map(|p| p.map(|c| c as f32)).collect();
    if let Some((k, p)) = positions
        .iter()
        .enumerate()
        .find(|(_, p)| p.iter().any(|c| !c.is_finite()))
    {
        return Err(FormatError::invalid(
            file,
            None,
            format!("vertex {k} is {p:?} as float32"),
        ));
    }
    let mut min = positions[0];
    let mut max = positions[0];
    for p in &positions {
        for a in 0..3 {
            min[a] = min[a].min(p[a]);
            max[a] = max[a].max(p[a]);
        }
    }
    let index_bytes = mesh.faces.len() * 12;
    let position_bytes = positions.len() * 12;
    let mut bin = Vec::with_capacity(index_bytes + position_bytes);
    for f in &mesh.faces {
        for i in f {
            bin.extend_from_slice(&i.to_le_bytes());
        }
    }
    for p in &positions {
        for c in p {
            bin.extend_from_slice(&c.to_le_bytes());
        }
    }
    let bounds = |v: [f32; 3]| v.map(f64::from).to_vec();
    let doc = json!({
        "asset": {"version": "2.0", "generator": "cryoet-ingest"},
        "scene": 0,
        "scenes": [{"nodes": [0]}],
        "nodes": [{"mesh": 0}],
        "meshes": [{"primitives": [{"attributes": {"POSITION": 1}, "indices": 0, "mode": 4}]}],
        "accessors": [
            {"bufferView": 0, "componentType": 5125, "count": mesh.faces.len() * 3, "type": "SCALAR"},
            {"bufferView": 1, "componentType": 5126, "count": positions.len(), "type": "VEC3",
             "min": bounds(min), "max": bounds(max)}
        ],
        "bufferViews": [
            {"buffer": 0, "byteOffset": 0, "byteLength": index_bytes, "target": 34963},
            {"buffer": 0, "byteOffset": index_bytes, "byteLength": position_bytes, "target": 34962}
        ],
        "buffers": [{"byteLength": bin.len()}]
    });
    let mut json_chunk = serde_json::to_vec(&doc).expect("JSON of numbers and strings");
    while !json_chunk.len().is_multiple_of(4) {
        json_chunk.push(b' ');
    }
    let total = 12 + 8 + json_chunk.len() + 8 + bin.len();
    let mut out = Vec::with_capacity(total);
    out.extend_from_slice(b"glTF");
    out.extend_from_slice(&2u32.to_le_bytes());
    out.extend_from_slice(&(total as u32).to_le_bytes());
    out.extend_from_slice(&(json_chunk.len() as u32).to_le_bytes());
    out.extend_from_slice(b"JSON");
    out.extend_from_slice(&json_chunk);
    out.extend_from_slice(&(bin.len() as u32).to_le_bytes());
    out.extend_from_slice(b"BIN\0");
    out.extend_from_slice(&bin);
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn quad() -> Mesh {
        Mesh {
            positions: vec![
                [0.0, 0.0, 0.0],
                [2.0, 0.0, 0.0],
                [2.0, 1.0, 0.0],
                [0.0, 1.0, 0.5],
            ],
            faces: vec![[0, 1, 2], [0, 2, 3]],
        }
    }

    #[test]
    fn written_files_read_back_identically_and_deterministically() {
        let bytes = write(&quad(), "q.glb").unwrap();
        assert_eq!(&bytes[..4], b"glTF");
        assert_eq!(bytes.len() % 4, 0);
        assert_eq!(
            u32::from_le_bytes(bytes[8..12].try_into().unwrap()) as usize,
            bytes.len()
        );
        assert_eq!(read(&bytes, "q.glb").unwrap(), quad());
        assert_eq!(write(&quad(), "q.glb").unwrap(), bytes);
        // The JSON states the bounds glTF requires.
        let n = u32::from_le_bytes(bytes[12..16].try_into().unwrap()) as usize;
        let doc: serde_json::Value = serde_json::from_slice(&bytes[20..20 + n]).unwrap();
        assert_eq!(doc["accessors"][1]["min"], json!([0.0, 0.0, 0.0]));
        assert_eq!(doc["accessors"][1]["max"], json!([2.0, 1.0, 0.5]));
        assert_eq!(doc["accessors"][0]["componentType"], 5125);
    }

    #[test]
    fn writing_refuses_empty_meshes_and_float32_overflow() {
        assert!(write(&Mesh::default(), "e.glb").is_err());
        let mut big = quad();
        big.scale(1e300);
        assert!(write(&big, "b.glb")
            .unwrap_err()
            .to_string()
            .starts_with("b.glb: vertex 1 is [inf"));
    }

    #[test]
    fn truncated_or_foreign_bytes_are_refused_naming_the_file() {
        let bytes = write(&quad(), "q.glb").unwrap();
        let e = read(&bytes[..bytes.len() - 10], "cut.glb")
            .unwrap_err()
            .to_string();
        assert!(e.starts_with("cut.glb: not a valid glTF 2.0 binary"), "{e}");
        let e = read(b"solid x\n", "x.glb").unwrap_err().to_string();
        assert!(e.starts_with("x.glb: not a valid glTF 2.0 binary"), "{e}");
    }

    /// Packs a glTF JSON document and its binary chunk as exporters do (JSON padded with
    /// spaces, BIN with zeros).
    fn pack(doc: &serde_json::Value, bin: &[u8]) -> Vec<u8> {
        let mut j = serde_json::to_vec(doc).unwrap();
        while !j.len().is_multiple_of(4) {
            j.push(b' ');
        }
        let mut b = bin.to_vec();
        while !b.len().is_multiple_of(4) {
            b.push(0);
        }
        let mut out = b"glTF".to_vec();
        out.extend(2u32.to_le_bytes());
        out.extend(((12 + 8 + j.len() + 8 + b.len()) as u32).to_le_bytes());
        out.extend((j.len() as u32).to_le_bytes());
        out.extend(b"JSON");
        out.extend(j);
        out.extend((b.len() as u32).to_le_bytes());
        out.extend(b"BIN\0");
        out.extend(b);
        out
    }

    /// A scene as Blender's exporter writes one: a parent node with translation and scale, a
    /// rotated child holding the mesh, the same mesh again under a mirroring matrix; the mesh
    /// has an indexed triangle primitive (uint16 indices, with normals), a line primitive and a
    /// non-indexed triangle strip.
    fn blender_like_scene() -> Vec<u8> {
        let f32s = |v: &[f32]| v.iter().flat_map(|c| c.to_le_bytes()).collect::<Vec<u8>>();
        let mut bin = f32s(&[1.0, 0.0, 0.0, 0.0, 1.0, 0.0, 0.0, 0.0, 0.0]); // 0: positions A
        bin.extend(f32s(&[0.0, 0.0, 1.0, 0.0, 0.0, 1.0, 0.0, 0.0, 1.0])); // 36: normals A
        for i in [0u16, 1, 2, 0] {
            bin.extend(i.to_le_bytes()); // 72: indices (+ padding)
        }
        bin.extend(f32s(&[
            0.0, 0.0, 1.0, 1.0, 0.0, 1.0, 0.0, 1.0, 1.0, 1.0, 1.0, 1.0,
        ])); // 80: strip positions
        let h = std::f32::consts::FRAC_1_SQRT_2;
        let doc = json!({
            "asset": {"generator": "Khronos glTF Blender I/O v3.6.27", "version": "2.0"},
            "scene": 0,
            "scenes": [{"name": "Scene", "nodes": [0, 2]}],
            "nodes": [
                {"name": "Root", "children": [1], "translation": [10.0, 0.0, 0.0], "scale": [2.0, 2.0, 2.0]},
                {"name": "Child", "mesh": 0, "rotation": [0.0, 0.0, h, h]},
                {"name": "Mirror", "mesh": 0, "matrix": [-1.0,0.0,0.0,0.0, 0.0,1.0,0.0,0.0, 0.0,0.0,1.0,0.0, 0.0,0.0,0.0,1.0]}
            ],
            "meshes": [{"name": "Shape", "primitives": [
                {"attributes": {"POSITION": 0, "NORMAL": 1}, "indices": 2},
                {"attributes": {"POSITION": 0}, "mode": 1},
                {"attributes": {"POSITION": 3}, "mode": 5}
            ]}],
            "accessors": [
                {"bufferView": 0, "componentType": 5126, "count": 3, "type": "VEC3", "min": [0.0,0.0,0.0], "max": [1.0,1.0,0.0]},
                {"bufferView": 1, "componentType": 5126, "count": 3, "type": "VEC3"},
                {"bufferView": 2, "componentType": 5123, "count": 3, "type": "SCALAR"},
                {"bufferView": 3, "componentType": 5126, "count": 4, "type": "VEC3", "min": [0.0,0.0,1.0], "max": [1.0,1.0,1.0]}
            ],
            "bufferViews": [
                {"buffer": 0, "byteOffset": 0, "byteLength": 36, "target": 34962},
                {"buffer": 0, "byteOffset": 36, "byteLength": 36, "target": 34962},
                {"buffer": 0, "byteOffset": 72, "byteLength": 6, "target": 34963},
                {"buffer": 0, "byteOffset": 80, "byteLength": 48, "target": 34962}
            ],
            "buffers": [{"byteLength": 128}]
        });
        pack(&doc, &bin)
    }

    #[test]
    fn scenes_are_flattened_with_node_transforms_and_every_triangle_primitive() {
        let m = read(&blender_like_scene(), "scene.glb").unwrap();
        let want: Vec<[f64; 3]> = vec![
            // Child: rotate 90° about z, then the root's scale 2 and translation (10, 0, 0).
            [10.0, 2.0, 0.0],
            [8.0, 0.0, 0.0],
            [10.0, 0.0, 0.0],
            [10.0, 0.0, 2.0],
            [10.0, 2.0, 2.0],
            [8.0, 0.0, 2.0],
            [8.0, 2.0, 2.0],
            // Mirror: x negated.
            [-1.0, 0.0, 0.0],
            [0.0, 1.0, 0.0],
            [0.0, 0.0, 0.0],
            [0.0, 0.0, 1.0],
            [-1.0, 0.0, 1.0],
            [0.0, 1.0, 1.0],
            [-1.0, 1.0, 1.0],
        ];
        assert_eq!(m.positions.len(), want.len());
        for (got, want) in m.positions.iter().zip(&want) {
            for a in 0..3 {
                assert!((got[a] - want[a]).abs() < 1e-6, "{got:?} != {want:?}");
            }
        }
        // The line primitive is skipped; the mirrored copy has its winding reversed.
        assert_eq!(
            m.faces,
            vec![
                [0, 1, 2],
                [3, 4, 5],
                [5, 4, 6],
                [7, 9, 8],
                [10, 12, 11],
                [12, 13, 11]
            ]
        );
    }

    #[test]
    fn unusable_primitives_name_the_file_and_primitive() {
        let mut bytes = blender_like_scene();
        // Index 2 → 7 (past the 3 positions): the uint16 at BIN offset 72 + 4.
        let bin_start = bytes.len() - 128;
        bytes[bin_start + 76] = 7;
        assert_eq!(
            read(&bytes, "bad.glb").unwrap_err().to_string(),
            "bad.glb: mesh 0 primitive 0: index 7 but POSITION has 3 vertices"
        );
    }

    #[test]
    fn matrices_compose_column_major() {
        // Translate by (1,2,3) after scaling x by 2.
        let t: Mat4 = [
            [1.0, 0.0, 0.0, 0.0],
            [0.0, 1.0, 0.0, 0.0],
            [0.0, 0.0, 1.0, 0.0],
            [1.0, 2.0, 3.0, 1.0],
        ];
        let s: Mat4 = [
            [2.0, 0.0, 0.0, 0.0],
            [0.0, 1.0, 0.0, 0.0],
            [0.0, 0.0, 1.0, 0.0],
            [0.0, 0.0, 0.0, 1.0],
        ];
        let m = mul(&t, &s);
        assert_eq!(m[0][0], 2.0);
        assert_eq!(m[3], [1.0, 2.0, 3.0, 1.0]);
        assert_eq!(det3(&m), 2.0);
    }
}
