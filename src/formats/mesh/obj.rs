//! Wavefront OBJ: `v` positions and `f` faces; every other statement (`vt`, `vn`, `o`, `g`,
//! `usemtl`, `l`, …) is skipped.
//!
//! - A `v` line's first three numbers are the position (a fourth `w`, or vertex colours, are
//!   ignored, as the reference's loader does).
//! - A face corner is `v`, `v/vt`, `v//vn` or `v/vt/vn`; only `v` is used, but the others must
//!   be integers when present. Indices are 1-based; a negative index counts back from the last
//!   vertex defined *before* that line (the OBJ rule; trimesh counts from the end of the file,
//!   which differs only for files that interleave vertices and relative faces).
//! - Faces with more than three corners are fan-triangulated from the first corner, as trimesh
//!   does; `\` at the end of a line continues it.
//!
//! Written here rather than through `tobj`, which divides positions by `w`, re-orders vertices
//! by first use, and reports errors without a line.

use super::{fan, Mesh};
use crate::formats::error::{numbered_lines, parse_f64};
use crate::formats::FormatError;

/// Reads an OBJ file.
///
/// # Errors
/// A malformed `v` or `f` line, an index of 0 or out of range, naming the file and line.
pub fn read(bytes: &[u8], file: &str) -> Result<Mesh, FormatError> {
    let text = String::from_utf8_lossy(bytes);
    let mut mesh = Mesh::default();
    // Faces as signed corner indices resolved once the vertex count is known (positive indices
    // may point past the vertices read so far), with their line for errors.
    let mut corners: Vec<i64> = Vec::new();
    let mut polygons: Vec<(usize, std::ops::Range<usize>)> = Vec::new();
    for (n, joined) in logical_lines(&text) {
        let line = joined.split('#').next().unwrap_or("");
        let mut words = line.split_whitespace();
        match words.next() {
            Some("v") => {
                let coords: Vec<&str> = words.take(3).collect();
                if coords.len() < 3 {
                    return Err(FormatError::malformed(
                        file,
                        Some(n),
                        "3 coordinates after `v`",
                        format!("{}", coords.len()),
                    ));
                }
                let mut p = [0.0; 3];
                for (k, t) in coords.iter().enumerate() {
                    p[k] = parse_f64(t, file, Some(n), "a vertex coordinate")?;
                }
                mesh.positions.push(p);
            }
            Some("f") => {
                let start = corners.len();
                for corner in words {
                    let mut parts = corner.split('/');
                    let v = parts.next().unwrap_or("");
                    let index: i64 = v.parse().map_err(|_| {
                        FormatError::malformed(
                            file,
                            Some(n),
                            "a vertex index in every face corner",
                            format!("{corner:?}"),
                        )
                    })?;
                    for other in parts.take(2) {
                        if !other.is_empty() && other.parse::<i64>().is_err() {
                            return Err(FormatError::malformed(
                                file,
                                Some(n),
                                "integer texture / normal indices in a face corner",
                                format!("{corner:?}"),
                            ));
                        }
                    }
                    let resolved = match index {
                        0 => {
                            return Err(FormatError::invalid(
                                file,
                                Some(n),
                                "face index 0 (OBJ indices start at 1)",
                            ))
                        }
                        i if i < 0 => {
                            let r = mesh.positions.len() as i64 + i;
                            if r < 0 {
                                return Err(FormatError::invalid(
                                    file,
                                    Some(n),
                                    format!(
                                        "face index {i} goes back past the {} vertices defined so far",
                                        mesh.positions.len()
                                    ),
                                ));
                            }
                            r
                        }
                        i => i - 1,
                    };
                    corners.push(resolved);
                }
                if corners.len() - start < 3 {
                    return Err(FormatError::malformed(
                        file,
                        Some(n),
                        "a face of at least 3 corners",
                        format!("{}", corners.len() - start),
                    ));
                }
                polygons.push((n, start..corners.len()));
            }
            _ => {}
        }
    }
    let count = mesh.positions.len();
    let mut poly: Vec<u32> = Vec::new();
    for (n, range) in polygons {
        poly.clear();
        for &c in &corners[range] {
            if c as usize >= count {
                return Err(FormatError::invalid(
                    file,
                    Some(n),
                    format!("face index {} but the file has {count} vertices", c + 1),
                ));
            }
            poly.push(c as u32);
        }
        fan(&poly, &mut mesh.faces);
    }
    Ok(mesh)
}

/// Lines with `\\`-continuations joined, each with the 1-based number of its first line.
fn logical_lines(text: &str) -> Vec<(usize, String)> {
    let mut out: Vec<(usize, String)> = Vec::new();
    let mut open = false;
    for (n, line) in numbered_lines(text) {
        let (body, continues) = match line.strip_suffix('\\') {
            Some(b) => (b, true),
            None => (line, false),
        };
        match out.last_mut() {
            Some((_, acc)) if open => acc.push_str(body),
            _ => out.push((n, body.to_string())),
        }
        open = continues;
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn corners_in_every_form_and_polygons_are_triangulated() {
        let text = "# Blender v2.93 OBJ File\nmtllib cube.mtl\no Plane\nv -1.000000 0.000000 1.000000\nv 1.000000 0.000000 1.000000\nv -1.000000 0.000000 -1.000000\nv 1.000000 0.000000 -1.000000 1.0\nvt 0.0 0.0\nvt 1.0 0.0\nvt 0.0 1.0\nvt 1.0 1.0\nvn 0.0000 1.0000 0.0000\nusemtl None\ns off\nf 1/1/1 2/2/1 4/4/1 3/3/1\nf 1//1 2//1 3//1\nf 1/1 2/2 \\\n 3/3\nf -4 -3 -2\n";
        let m = read(text.as_bytes(), "plane.obj").unwrap();
        assert_eq!(m.positions.len(), 4);
        assert_eq!(m.positions[3], [1.0, 0.0, -1.0]);
        assert_eq!(
            m.faces,
            vec![[0, 1, 3], [0, 3, 2], [0, 1, 2], [0, 1, 2], [0, 1, 2]]
        );
    }

    #[test]
    fn negative_indices_count_back_from_the_vertices_defined_so_far() {
        let text = "v 0 0 0\nv 1 0 0\nv 0 1 0\nf -3 -2 -1\nv 5 5 5\nv 6 5 5\nv 5 6 5\nf -3 -2 -1\nf 4 5 6\n";
        let m = read(text.as_bytes(), "rel.obj").unwrap();
        assert_eq!(m.faces, vec![[0, 1, 2], [3, 4, 5], [3, 4, 5]]);
    }

    #[test]
    fn malformed_lines_name_the_file_and_line() {
        let cases = [
            ("v 0 0 0\nv 1 x 0\n", "o.obj:2: expected a number for a vertex coordinate, found \"x\""),
            ("v 0 0\n", "o.obj:1: expected 3 coordinates after `v`, found 2"),
            ("v 0 0 0\nv 1 0 0\nf 1 2\n", "o.obj:3: expected a face of at least 3 corners, found 2"),
            ("v 0 0 0\nf 1 2 0\n", "o.obj:2: face index 0 (OBJ indices start at 1)"),
            ("v 0 0 0\nf 1 2 3\n", "o.obj:2: face index 2 but the file has 1 vertices"),
            ("v 0 0 0\nf -1 -2 -1\n", "o.obj:2: face index -2 goes back past the 1 vertices defined so far"),
            ("v 0 0 0\nf 1/a 1 1\n", "o.obj:2: expected integer texture / normal indices in a face corner, found \"1/a\""),
            ("v 0 0 0\nf one 1 1\n", "o.obj:2: expected a vertex index in every face corner, found \"one\""),
            ("v 0 0 \\\n 0\nv 1 x 0\n", "o.obj:3: expected a number for a vertex coordinate, found \"x\""),
        ];
        for (text, want) in cases {
            assert_eq!(
                read(text.as_bytes(), "o.obj").unwrap_err().to_string(),
                want
            );
        }
    }
}
