//! EMDB-SFF segmentations in HDF5 (`.hff`), the `TriangularMeshGroup` source (spec §7.5), read
//! with the pure-Rust `hdf5-pure` crate.
//!
//! The layout the reference reads (and sfftk / h5py write):
//! `segment_list/{segment}/biological_annotation/name` is the segment's name, and
//! `segment_list/{segment}/mesh_list/{mesh}/{vertices,triangles}/{data,mode}` hold each mesh:
//! `data` a base64 string of the raw array, `mode` its numpy dtype name (`float64`, `int64`,
//! …; little-endian, as the reference's `numpy.frombuffer` reads it on its machines), reshaped
//! to rows of 3.
//!
//! The first segment (in name order, as h5py lists group members) whose name equals
//! `mesh_name` is taken; every mesh of it is built on its own (vertices merged as trimesh's
//! `Trimesh(vertices, faces)` does) and the meshes are concatenated. No such segment: `None`
//! (the reference then drops the annotation as invalid).

use super::Mesh;
use crate::formats::FormatError;
use base64::Engine;

/// Reads the meshes of segment `mesh_name`, or `None` when no segment has that name.
///
/// # Errors
/// Not an HDF5 file, a missing `segment_list`, a mesh whose `data` / `mode` is missing, not
/// base64, of an unknown dtype or not rows of 3, or a triangle index out of range.
pub fn read(bytes: &[u8], file: &str, mesh_name: &str) -> Result<Option<Mesh>, FormatError> {
    let err = |m: String| FormatError::invalid(file, None, m);
    let h5 = hdf5_pure::File::from_bytes(bytes.to_vec())
        .map_err(|e| err(format!("not a readable HDF5 file: {e}")))?;
    let segments = h5
        .group("segment_list")
        .and_then(|g| g.groups())
        .map_err(|e| err(format!("no `segment_list` group: {e}")))?;
    let mut segments = segments;
    segments.sort();
    let string = |path: &str| -> Result<String, FormatError> {
        let ds = h5
            .dataset(path)
            .map_err(|e| err(format!("`{path}`: {e}")))?;
        let mut values = ds
            .read_string()
            .map_err(|e| err(format!("`{path}` is not a string: {e}")))?;
        if values.len() != 1 {
            return Err(err(format!(
                "`{path}` holds {} strings, not one",
                values.len()
            )));
        }
        Ok(values.remove(0))
    };
    let mut found = None;
    for s in &segments {
        let path = format!("segment_list/{s}/biological_annotation/name");
        // A segment without a name cannot match (the reference warns and goes on).
        if h5.dataset(&path).is_err() {
            continue;
        }
        if string(&path)? == mesh_name {
            found = Some(s.clone());
            break;
        }
    }
    let Some(segment) = found else {
        return Ok(None);
    };
    let list = format!("segment_list/{segment}/mesh_list");
    let mut meshes = h5
        .group(&list)
        .and_then(|g| g.groups())
        .map_err(|e| err(format!("`{list}`: {e}")))?;
    meshes.sort();
    let mut out = Mesh::default();
    for m in meshes {
        let array = |part: &str| -> Result<Vec<f64>, FormatError> {
            let at = format!("{list}/{m}/{part}");
            let data = string(&format!("{at}/data"))?;
            let mode = string(&format!("{at}/mode"))?;
            let raw = base64::engine::general_purpose::STANDARD
                .decode(data.trim())
                .map_err(|e| err(format!("`{at}/data` is not base64: {e}")))?;
            let values = decode(&raw, &mode)
                .ok_or_else(|| err(format!("`{at}/mode` {mode:?} is not a numeric dtype name, or `data` is not a whole number of its elements")))?;
            if !values.len().is_multiple_of(3) {
                return Err(err(format!(
                    "`{at}` holds {} values, not rows of 3",
                    values.len()
                )));
            }
            Ok(values)
        };
        let vertices = array("vertices")?;
        let triangles = array("triangles")?;
        let n = vertices.len() / 3;
        let mut part = Mesh {
            positions: vertices
                .chunks_exact(3)
                .map(|v| [v[0], v[1], v[2]])
                .collect(),
            faces: Vec::with_capacity(triangles.len() / 3),
        };
        for t in triangles.chunks_exact(3) {
            let mut f = [0u32; 3];
            for (slot, &i) in f.iter_mut().zip(t) {
                if !(i >= 0.0 && (i as usize) < n && i.fract() == 0.0) {
                    return Err(err(format!(
                        "`{list}/{m}/triangles` uses vertex {i}, but there are {n} vertices"
                    )));
                }
                *slot = i as u32;
            }
            part.faces.push(f);
        }
        part.merge_vertices();
        out.append(part);
    }
    Ok(Some(out))
}

/// Little-endian values of numpy dtype `mode`.
fn decode(raw: &[u8], mode: &str) -> Option<Vec<f64>> {
    fn each<const N: usize>(raw: &[u8], f: impl Fn([u8; N]) -> f64) -> Option<Vec<f64>> {
        if !raw.len().is_multiple_of(N) {
            return None;
        }
        Some(
            raw.chunks_exact(N)
                .map(|c| f(c.try_into().expect("N bytes")))
                .collect(),
        )
    }
    match mode {
        "float64" | "double" => each(raw, f64::from_le_bytes),
        "float32" | "single" => each(raw, |b| f64::from(f32::from_le_bytes(b))),
        "int64" => each(raw, |b| i64::from_le_bytes(b) as f64),
        "uint64" => each(raw, |b| u64::from_le_bytes(b) as f64),
        "int32" | "intc" => each(raw, |b| f64::from(i32::from_le_bytes(b))),
        "uint32" | "uintc" => each(raw, |b| f64::from(u32::from_le_bytes(b))),
        "int16" | "short" => each(raw, |b| f64::from(i16::from_le_bytes(b))),
        "uint16" | "ushort" => each(raw, |b| f64::from(u16::from_le_bytes(b))),
        "int8" | "byte" => each(raw, |b: [u8; 1]| f64::from(b[0] as i8)),
        "uint8" | "ubyte" => each(raw, |b: [u8; 1]| f64::from(b[0])),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use hdf5_pure::FileBuilder;

    fn b64<T: Copy>(values: &[T], to: impl Fn(T) -> Vec<u8>) -> String {
        let raw: Vec<u8> = values.iter().flat_map(|&v| to(v)).collect();
        base64::engine::general_purpose::STANDARD.encode(raw)
    }

    /// An EMDB-SFF file laid out as sfftk / the reference's generator write it: two segments,
    /// the second named `wanted` with two meshes (float32 / int32 and float64 / int64).
    /// `tri0` replaces the first mesh's triangle `data` and `mode`.
    fn sff(tri0: Option<(&str, &str)>) -> Vec<u8> {
        let mut fb = FileBuilder::new();
        fb.create_dataset("version")
            .with_vlen_strings(&["0.8.0.dev1"]);
        let mut list = fb.create_group("segment_list");
        for (id, name) in [("1", "other"), ("2", "wanted")] {
            let mut seg = list.create_group(id);
            let mut ann = seg.create_group("biological_annotation");
            ann.create_dataset("name").with_vlen_strings(&[name]);
            seg.add_group(ann.finish());
            let mut meshes = seg.create_group("mesh_list");
            // Mesh 0: one triangle over vertices 3, 1, 2; vertex 0 is unused (dropped on
            // reading) and repeats vertex 3.
            let mut m0 = meshes.create_group("0");
            let mut v = m0.create_group("vertices");
            let verts: [f32; 12] = [0.0, 0.0, 0.0, 1.0, 0.0, 0.0, 0.0, 1.0, 0.0, 0.0, 0.0, 0.0];
            v.create_dataset("data")
                .with_vlen_strings(&[&b64(&verts, |x| x.to_le_bytes().to_vec())]);
            v.create_dataset("mode").with_vlen_strings(&["float32"]);
            m0.add_group(v.finish());
            let mut t = m0.create_group("triangles");
            let tris: [i32; 3] = [3, 1, 2];
            let good = b64(&tris, |x| x.to_le_bytes().to_vec());
            let (data, mode) = tri0.unwrap_or((&good, "int32"));
            t.create_dataset("data").with_vlen_strings(&[data]);
            t.create_dataset("mode").with_vlen_strings(&[mode]);
            m0.add_group(t.finish());
            meshes.add_group(m0.finish());
            // Mesh 1: a second triangle, float64 / int64.
            let mut m1 = meshes.create_group("1");
            let mut v = m1.create_group("vertices");
            let verts: [f64; 9] = [5.0, 5.0, 5.0, 6.0, 5.0, 5.0, 5.0, 6.0, 5.5];
            v.create_dataset("data")
                .with_vlen_strings(&[&b64(&verts, |x| x.to_le_bytes().to_vec())]);
            v.create_dataset("mode").with_vlen_strings(&["float64"]);
            m1.add_group(v.finish());
            let mut t = m1.create_group("triangles");
            let tris: [i64; 3] = [0, 1, 2];
            t.create_dataset("data")
                .with_vlen_strings(&[&b64(&tris, |x| x.to_le_bytes().to_vec())]);
            t.create_dataset("mode").with_vlen_strings(&["int64"]);
            m1.add_group(t.finish());
            meshes.add_group(m1.finish());
            seg.add_group(meshes.finish());
            list.add_group(seg.finish());
        }
        fb.add_group(list.finish());
        fb.finish().unwrap()
    }

    #[test]
    fn the_named_segment_s_meshes_are_concatenated() {
        let m = read(&sff(None), "s.hff", "wanted").unwrap().unwrap();
        assert_eq!(
            m.positions,
            vec![
                [1.0, 0.0, 0.0],
                [0.0, 1.0, 0.0],
                [0.0, 0.0, 0.0],
                [5.0, 5.0, 5.0],
                [6.0, 5.0, 5.0],
                [5.0, 6.0, 5.5]
            ]
        );
        assert_eq!(m.faces, vec![[2, 0, 1], [3, 4, 5]]);
        assert_eq!(read(&sff(None), "s.hff", "absent").unwrap(), None);
    }

    #[test]
    fn broken_files_name_the_file_and_the_dataset() {
        let e = read(b"not hdf5 at all", "x.hff", "a")
            .unwrap_err()
            .to_string();
        assert!(e.starts_with("x.hff: not a readable HDF5 file"), "{e}");
        let mut fb = FileBuilder::new();
        fb.create_dataset("version")
            .with_vlen_strings(&["0.8.0.dev1"]);
        let bytes = fb.finish().unwrap();
        let e = read(&bytes, "y.hff", "a").unwrap_err().to_string();
        assert!(e.starts_with("y.hff: no `segment_list` group"), "{e}");
        let path = "segment_list/2/mesh_list/0/triangles";
        for (tri0, want) in [
            (
                ("AAA*", "int32"),
                format!("z.hff: `{path}/data` is not base64"),
            ),
            (
                ("AAAAAA==", "int128"),
                format!("z.hff: `{path}/mode` \"int128\" is not"),
            ),
            (
                ("AAAAAA==", "int32"),
                format!("z.hff: `{path}` holds 1 values, not rows of 3"),
            ),
            (
                (&b64(&[0i32, 1, 4], |x| x.to_le_bytes().to_vec()), "int32"),
                format!("z.hff: `{path}` uses vertex 4, but there are 4 vertices"),
            ),
        ] {
            let e = read(&sff(Some(tri0)), "z.hff", "wanted")
                .unwrap_err()
                .to_string();
            assert!(e.starts_with(&want), "{e}\nwanted: {want}");
        }
        assert_eq!(decode(&[0; 7], "float64"), None);
        assert_eq!(decode(&[0; 8], "complex128"), None);
        assert_eq!(decode(&1i16.to_le_bytes(), "int16"), Some(vec![1.0]));
    }
}
