//! STL, binary and ASCII. Every facet gives three vertices of its own (merged afterwards, as the
//! reference's loader does).
//!
//! Which of the two a file is: binary when its size is exactly 84 bytes plus 50 per facet of its
//! header's count (many binary writers start the 80-byte header with `solid`, so the first
//! word alone cannot decide); otherwise ASCII, which must start with `solid`. (Written here
//! rather than taken from `stl_io`, which decides by the leading `solid ` alone and so reads
//! those binary files as ASCII, and ASCII files starting with a bare `solid` as binary.)

use super::Mesh;
use crate::formats::error::{numbered_lines, parse_f64};
use crate::formats::FormatError;

/// Reads an STL file.
///
/// # Errors
/// A size that fits neither form, or an ASCII file with a malformed or incomplete facet.
pub fn read(bytes: &[u8], file: &str) -> Result<Mesh, FormatError> {
    if bytes.len() >= 84 {
        let count = u32::from_le_bytes(bytes[80..84].try_into().expect("4 bytes")) as u64;
        if 84 + 50 * count == bytes.len() as u64 {
            return Ok(read_binary(&bytes[84..], count as usize));
        }
    }
    let head = bytes.trim_ascii_start();
    if head.len() >= 5 && head[..5].eq_ignore_ascii_case(b"solid") {
        return read_ascii(bytes, file);
    }
    let found = if bytes.len() >= 84 {
        let count = u32::from_le_bytes(bytes[80..84].try_into().expect("4 bytes"));
        format!(
            "{} bytes, where a binary STL of {count} facets has {}, and no leading `solid`",
            bytes.len(),
            84 + 50 * count as u64
        )
    } else {
        format!("{} bytes without a leading `solid`", bytes.len())
    };
    Err(FormatError::malformed(
        file,
        None,
        "a binary STL (84 bytes + 50 per facet) or an ASCII STL (starting with `solid`)",
        found,
    ))
}

fn read_binary(data: &[u8], count: usize) -> Mesh {
    let mut mesh = Mesh {
        positions: Vec::with_capacity(count * 3),
        faces: Vec::with_capacity(count),
    };
    for facet in data.chunks_exact(50) {
        // 12 bytes of normal, then three vertices of three little-endian float32, then 2 bytes
        // of attributes.
        for v in 0..3 {
            let at = 12 + 12 * v;
            let c = |k: usize| {
                let o = at + 4 * k;
                f64::from(f32::from_le_bytes(
                    facet[o..o + 4].try_into().expect("4 bytes"),
                ))
            };
            mesh.positions.push([c(0), c(1), c(2)]);
        }
        let n = mesh.faces.len() as u32 * 3;
        mesh.faces.push([n, n + 1, n + 2]);
    }
    mesh
}

fn read_ascii(bytes: &[u8], file: &str) -> Result<Mesh, FormatError> {
    let text = std::str::from_utf8(bytes).map_err(|e| {
        FormatError::malformed(
            file,
            None,
            "an ASCII STL (UTF-8 text)",
            format!("a non-text byte at offset {}", e.valid_up_to()),
        )
    })?;
    let mut mesh = Mesh::default();
    // Corners of the current `outer loop`, and the line where it opened.
    let mut corners: Option<(usize, Vec<[f64; 3]>)> = None;
    for (n, line) in numbered_lines(text) {
        let mut words = line.split_whitespace();
        let Some(word) = words.next() else { continue };
        match word.to_ascii_lowercase().as_str() {
            "outer" => corners = Some((n, Vec::with_capacity(3))),
            "vertex" => {
                let Some((_, c)) = corners.as_mut() else {
                    return Err(FormatError::malformed(
                        file,
                        Some(n),
                        "`vertex` inside `outer loop`",
                        "a vertex outside a loop",
                    ));
                };
                let xyz: Vec<&str> = words.collect();
                if xyz.len() != 3 {
                    return Err(FormatError::malformed(
                        file,
                        Some(n),
                        "3 coordinates after `vertex`",
                        format!("{}", xyz.len()),
                    ));
                }
                let mut p = [0.0; 3];
                for (k, t) in xyz.iter().enumerate() {
                    p[k] = parse_f64(t, file, Some(n), "a vertex coordinate")?;
                }
                c.push(p);
            }
            "endloop" => {
                let Some((start, c)) = corners.take() else {
                    return Err(FormatError::malformed(
                        file,
                        Some(n),
                        "`endloop` after `outer loop`",
                        "`endloop` without a loop",
                    ));
                };
                if c.len() != 3 {
                    return Err(FormatError::malformed(
                        file,
                        Some(start),
                        "a facet loop of 3 vertices",
                        format!("{} vertices", c.len()),
                    ));
                }
                let base = mesh.positions.len() as u32;
                mesh.positions.extend(c);
                mesh.faces.push([base, base + 1, base + 2]);
            }
            // `solid`, `facet normal`, `endfacet`, `endsolid`: nothing to keep.
            _ => {}
        }
    }
    if let Some((start, _)) = corners {
        return Err(FormatError::malformed(
            file,
            Some(start),
            "`endloop` closing this loop",
            "the end of the file",
        ));
    }
    Ok(mesh)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A binary STL as numpy-stl / trimesh write it: an 80-byte header, the count, then per
    /// facet the normal, three vertices and a zero attribute word.
    pub(crate) fn binary(header: &[u8], facets: &[[[f32; 3]; 3]]) -> Vec<u8> {
        let mut out = header.to_vec();
        out.resize(80, 0);
        out.extend_from_slice(&(facets.len() as u32).to_le_bytes());
        for f in facets {
            out.extend_from_slice(&[0u8; 12]);
            for v in f {
                for c in v {
                    out.extend_from_slice(&c.to_le_bytes());
                }
            }
            out.extend_from_slice(&[0, 0]);
        }
        out
    }

    const TETRA: [[[f32; 3]; 3]; 4] = [
        [[0.0, 0.0, 0.0], [0.0, 1.0, 0.0], [1.0, 0.0, 0.0]],
        [[0.0, 0.0, 0.0], [1.0, 0.0, 0.0], [0.0, 0.0, 1.0]],
        [[0.0, 0.0, 0.0], [0.0, 0.0, 1.0], [0.0, 1.0, 0.0]],
        [[1.0, 0.0, 0.0], [0.0, 1.0, 0.0], [0.0, 0.0, 1.0]],
    ];

    #[test]
    fn binary_facets_become_shared_vertices_after_merging() {
        // The header starts with "solid", as SolidWorks writes it: the size decides.
        let bytes = binary(b"solid part exported in binary", &TETRA);
        let mut m = read(&bytes, "t.stl").unwrap();
        assert_eq!((m.positions.len(), m.faces.len()), (12, 4));
        m.merge_vertices();
        assert_eq!(
            m.positions,
            vec![
                [0.0, 0.0, 0.0],
                [0.0, 1.0, 0.0],
                [1.0, 0.0, 0.0],
                [0.0, 0.0, 1.0]
            ]
        );
        assert_eq!(m.faces, vec![[0, 1, 2], [0, 2, 3], [0, 3, 1], [2, 1, 3]]);
    }

    #[test]
    fn ascii_facets_are_read_with_their_vertices() {
        let text = "solid\n  facet normal 0 0 -1\n    outer loop\n      vertex 0 0 0\n      vertex 0 1.5e0 0\n      vertex 2.25 0 0\n    endloop\n  endfacet\nendsolid\n";
        let m = read(text.as_bytes(), "a.stl").unwrap();
        assert_eq!(
            m.positions,
            vec![[0.0, 0.0, 0.0], [0.0, 1.5, 0.0], [2.25, 0.0, 0.0]]
        );
        assert_eq!(m.faces, vec![[0, 1, 2]]);
    }

    #[test]
    fn malformed_files_name_the_file_and_line() {
        let text = "solid x\nfacet normal 0 0 1\nouter loop\nvertex 0 0 0\nvertex 1 nope 0\n";
        assert_eq!(
            read(text.as_bytes(), "bad.stl").unwrap_err().to_string(),
            "bad.stl:5: expected a number for a vertex coordinate, found \"nope\""
        );
        let short =
            "solid x\nfacet normal 0 0 1\nouter loop\nvertex 0 0 0\nvertex 1 1 0\nendloop\n";
        assert_eq!(
            read(short.as_bytes(), "short.stl").unwrap_err().to_string(),
            "short.stl:3: expected a facet loop of 3 vertices, found 2 vertices"
        );
        let mut truncated = binary(b"binary", &TETRA);
        truncated.truncate(truncated.len() - 7);
        let e = read(&truncated, "cut.stl").unwrap_err().to_string();
        assert!(
            e.starts_with("cut.stl: expected a binary STL") && e.contains("4 facets has 284"),
            "{e}"
        );
    }
}
