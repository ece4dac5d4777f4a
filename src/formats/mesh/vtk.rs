//! Legacy VTK PolyData (`.vtk`), ASCII or BINARY (big-endian), in both cell layouts: the
//! classic one (`POLYGONS n size` then `count id…` per cell, file versions up to 4.2) and the
//! one of version 5.1 (`POLYGONS nOffsets nConnectivity`, then `OFFSETS` and `CONNECTIVITY`
//! arrays), which current VTK writes.
//!
//! As in the reference (which reads the file with `vtkPolyDataReader` and turns every cell into
//! a face), every `POLYGONS` cell is one face, fan-triangulated, and every `TRIANGLE_STRIPS`
//! cell gives its n−2 triangles (alternating winding, as VTK decomposes strips; the reference
//! hands a strip's points to trimesh as one polygon, which has the same number of triangles
//! but not the strip's surface). `VERTICES` and `LINES` cells carry no surface and are skipped.
//! `FIELD` and `METADATA` blocks are skipped; reading stops at `POINT_DATA` / `CELL_DATA`.

use super::{fan, Mesh};
use crate::formats::FormatError;

/// Reads a legacy VTK PolyData file.
///
/// # Errors
/// Not a legacy VTK file, another dataset type, or a malformed or truncated section, naming
/// the file and the line (ASCII) or byte offset (binary).
pub fn read(bytes: &[u8], file: &str) -> Result<Mesh, FormatError> {
    let mut c = Cursor {
        data: bytes,
        pos: 0,
        mark: 0,
        binary: false,
        file,
    };
    let magic = c.line().unwrap_or_default();
    if !magic.starts_with("# vtk DataFile Version") {
        return Err(FormatError::malformed(
            file,
            Some(1),
            "a legacy VTK file (`# vtk DataFile Version x.y`)",
            format!("{:?}", truncate(&magic)),
        ));
    }
    let _title = c.line();
    let encoding = c.keyword_line()?.unwrap_or_default();
    c.binary = match encoding.trim().to_ascii_uppercase().as_str() {
        "ASCII" => false,
        "BINARY" => true,
        _ => return Err(c.malformed("ASCII or BINARY", &encoding)),
    };
    let dataset = c.keyword_line()?.unwrap_or_default();
    let words: Vec<&str> = dataset.split_whitespace().collect();
    if words.first().map(|w| w.to_ascii_uppercase()) != Some("DATASET".into()) {
        return Err(c.malformed("`DATASET POLYDATA`", &dataset));
    }
    if words.get(1).map(|w| w.to_ascii_uppercase()) != Some("POLYDATA".into()) {
        return Err(c.invalid(format!(
            "`{}`: only POLYDATA datasets are meshes",
            dataset.trim()
        )));
    }
    let mut mesh = Mesh::default();
    let mut have_points = false;
    while let Some(line) = c.keyword_line()? {
        let words: Vec<&str> = line.split_whitespace().collect();
        let keyword = words[0].to_ascii_uppercase();
        match keyword.as_str() {
            "POINTS" => {
                let n = c.count(&words, 1, "the number of points")?;
                let ty = words
                    .get(2)
                    .ok_or_else(|| c.malformed("`POINTS n type`", &line))?;
                let values = c.values(n * 3, ty, "POINTS")?;
                mesh.positions = values.chunks_exact(3).map(|p| [p[0], p[1], p[2]]).collect();
                have_points = true;
            }
            "VERTICES" | "LINES" | "POLYGONS" | "TRIANGLE_STRIPS" => {
                let cells = c.cells(&words, &keyword)?;
                let mut ids: Vec<u32> = Vec::new();
                for (k, cell) in cells.iter().enumerate() {
                    if keyword == "VERTICES" || keyword == "LINES" {
                        continue;
                    }
                    if cell.len() < 3 {
                        return Err(c.invalid(format!(
                            "{keyword} cell {k} has {} points; a surface cell needs 3",
                            cell.len()
                        )));
                    }
                    ids.clear();
                    for &id in cell {
                        ids.push(u32::try_from(id).map_err(|_| {
                            c.invalid(format!("{keyword} cell {k} has point id {id}"))
                        })?);
                    }
                    if keyword == "POLYGONS" {
                        fan(&ids, &mut mesh.faces);
                    } else {
                        for j in 0..ids.len() - 2 {
                            mesh.faces.push(if j % 2 == 0 {
                                [ids[j], ids[j + 1], ids[j + 2]]
                            } else {
                                [ids[j + 1], ids[j], ids[j + 2]]
                            });
                        }
                    }
                }
            }
            "FIELD" => c.skip_field(&words)?,
            "METADATA" => c.skip_metadata(),
            "POINT_DATA" | "CELL_DATA" => break,
            _ => return Err(c.malformed("a PolyData section keyword", &line)),
        }
    }
    if !have_points {
        return Err(c.invalid("no POINTS section"));
    }
    Ok(mesh)
}

fn truncate(s: &str) -> String {
    s.chars().take(60).collect()
}

struct Cursor<'a> {
    data: &'a [u8],
    pos: usize,
    /// Where what was read last starts (the line or token that messages point at).
    mark: usize,
    binary: bool,
    file: &'a str,
}

impl Cursor<'_> {
    /// Where the cursor is, for messages: the 1-based line of an ASCII file, else the byte.
    fn location(&self) -> (Option<usize>, String) {
        if self.binary {
            (None, format!(" at byte {}", self.mark))
        } else {
            let line = self.data[..self.mark.min(self.data.len())]
                .iter()
                .filter(|&&b| b == b'\n')
                .count()
                + 1;
            (Some(line), String::new())
        }
    }

    fn malformed(&self, expected: &str, found: &str) -> FormatError {
        let (line, at) = self.location();
        FormatError::malformed(
            self.file,
            line,
            format!("{expected}{at}"),
            format!("{:?}", truncate(found.trim())),
        )
    }

    fn invalid(&self, message: impl Into<String>) -> FormatError {
        let (line, at) = self.location();
        FormatError::invalid(self.file, line, format!("{}{at}", message.into()))
    }

    /// The rest of the current line (without its newline), or `None` at the end.
    fn line(&mut self) -> Option<String> {
        if self.pos >= self.data.len() {
            return None;
        }
        self.mark = self.pos;
        let rest = &self.data[self.pos..];
        let end = rest.iter().position(|&b| b == b'\n').unwrap_or(rest.len());
        self.pos += (end + 1).min(rest.len());
        let line = String::from_utf8_lossy(&rest[..end]);
        Some(line.trim_end_matches('\r').to_string())
    }

    /// The next non-blank line (a section header), or `None` at the end of the file.
    fn keyword_line(&mut self) -> Result<Option<String>, FormatError> {
        while self.pos < self.data.len() && self.data[self.pos].is_ascii_whitespace() {
            self.pos += 1;
        }
        Ok(self.line())
    }

    /// Parses `words[at]` as a count.
    fn count(&self, words: &[&str], at: usize, what: &str) -> Result<usize, FormatError> {
        words
            .get(at)
            .and_then(|w| w.parse::<usize>().ok())
            .ok_or_else(|| self.malformed(&format!("{what} in `{}`", words[0]), &words.join(" ")))
    }

    /// `n` values of VTK type `ty`, as text tokens or big-endian binary.
    fn values(&mut self, n: usize, ty: &str, section: &str) -> Result<Vec<f64>, FormatError> {
        let (size, decode): (usize, fn(&[u8]) -> f64) = match ty.to_ascii_lowercase().as_str() {
            "float" => (4, |b| f64::from(f32::from_be_bytes(b.try_into().unwrap()))),
            "double" => (8, |b| f64::from_be_bytes(b.try_into().unwrap())),
            "char" => (1, |b| f64::from(b[0] as i8)),
            "unsigned_char" => (1, |b| f64::from(b[0])),
            "short" => (2, |b| f64::from(i16::from_be_bytes(b.try_into().unwrap()))),
            "unsigned_short" => (2, |b| f64::from(u16::from_be_bytes(b.try_into().unwrap()))),
            "int" | "vtktypeint32" | "vtkidtype" => {
                (4, |b| f64::from(i32::from_be_bytes(b.try_into().unwrap())))
            }
            "unsigned_int" | "vtktypeuint32" => {
                (4, |b| f64::from(u32::from_be_bytes(b.try_into().unwrap())))
            }
            "long" | "vtktypeint64" => (8, |b| i64::from_be_bytes(b.try_into().unwrap()) as f64),
            "unsigned_long" | "vtktypeuint64" => {
                (8, |b| u64::from_be_bytes(b.try_into().unwrap()) as f64)
            }
            _ => {
                return Err(self.malformed(
                    &format!("a VTK data type for {section} (float, double, int, vtktypeint64, …)"),
                    ty,
                ))
            }
        };
        if self.binary {
            self.mark = self.pos;
            let len = n.saturating_mul(size);
            let Some(raw) = self.data.get(self.pos..self.pos.saturating_add(len)) else {
                return Err(self.invalid(format!(
                    "{section}: {n} {ty} values need {len} bytes, the file has {} left",
                    self.data.len() - self.pos.min(self.data.len())
                )));
            };
            self.pos += len;
            return Ok(raw.chunks_exact(size).map(decode).collect());
        }
        let mut out = Vec::with_capacity(n.min(1 << 24));
        for k in 0..n {
            let before = self.pos;
            while self.pos < self.data.len() && self.data[self.pos].is_ascii_whitespace() {
                self.pos += 1;
            }
            let start = self.pos;
            while self.pos < self.data.len() && !self.data[self.pos].is_ascii_whitespace() {
                self.pos += 1;
            }
            let token = String::from_utf8_lossy(&self.data[start..self.pos]);
            self.mark = start;
            if token.is_empty() {
                self.pos = before;
                self.mark = before;
                return Err(
                    self.invalid(format!("{section}: the file ends after {k} of {n} values"))
                );
            }
            let v = token
                .parse::<f64>()
                .map_err(|_| self.malformed(&format!("a number in {section}"), &token))?;
            out.push(v);
        }
        Ok(out)
    }

    /// `n` integer values (cell sizes, offsets, point ids).
    fn ints(&mut self, n: usize, ty: &str, section: &str) -> Result<Vec<i64>, FormatError> {
        let values = self.values(n, ty, section)?;
        values
            .iter()
            .map(|&v| {
                if v.fract() == 0.0 && v.abs() < 9.0e15 {
                    Ok(v as i64)
                } else {
                    Err(self.invalid(format!("{section}: {v} is not an integer")))
                }
            })
            .collect()
    }

    /// The cells of a `VERTICES` / `LINES` / `POLYGONS` / `TRIANGLE_STRIPS` section, whose
    /// header line was `words`.
    fn cells(&mut self, words: &[&str], keyword: &str) -> Result<Vec<Vec<i64>>, FormatError> {
        let a = self.count(words, 1, "the number of cells")?;
        let b = self.count(words, 2, "the size")?;
        // The 5.1 layout announces its offsets array on the next line.
        let save = self.pos;
        let next = self.keyword_line()?.unwrap_or_default();
        let next_words: Vec<&str> = next.split_whitespace().collect();
        if next_words.first().map(|w| w.to_ascii_uppercase()) == Some("OFFSETS".into()) {
            let ty = next_words.get(1).copied().unwrap_or("vtktypeint64");
            let offsets = self.ints(a, ty, &format!("{keyword} OFFSETS"))?;
            let conn_line = self.keyword_line()?.unwrap_or_default();
            let conn_words: Vec<&str> = conn_line.split_whitespace().collect();
            if conn_words.first().map(|w| w.to_ascii_uppercase()) != Some("CONNECTIVITY".into()) {
                return Err(self.malformed(
                    &format!("`CONNECTIVITY type` after the {keyword} offsets"),
                    &conn_line,
                ));
            }
            let ty = conn_words.get(1).copied().unwrap_or("vtktypeint64");
            let conn = self.ints(b, ty, &format!("{keyword} CONNECTIVITY"))?;
            let mut cells = Vec::with_capacity(a.saturating_sub(1));
            for (k, w) in offsets.windows(2).enumerate() {
                let (s, e) = (w[0], w[1]);
                if s < 0 || e < s || e as usize > conn.len() {
                    return Err(self.invalid(format!(
                        "{keyword} OFFSETS: cell {k} spans {s}..{e} of {} connectivity ids",
                        conn.len()
                    )));
                }
                cells.push(conn[s as usize..e as usize].to_vec());
            }
            return Ok(cells);
        }
        self.pos = save;
        let flat = self.ints(b, "int", keyword)?;
        let mut cells = Vec::with_capacity(a);
        let mut at = 0usize;
        for k in 0..a {
            let size = flat.get(at).copied().unwrap_or(-1);
            let end = at as i64 + 1 + size;
            if size < 0 || end as usize > flat.len() {
                return Err(self.invalid(format!(
                    "{keyword}: cell {k} of {a} does not fit in the section's {b} values"
                )));
            }
            cells.push(flat[at + 1..end as usize].to_vec());
            at = end as usize;
        }
        if at != flat.len() {
            return Err(self.invalid(format!(
                "{keyword}: {a} cells use {at} of the section's {b} values"
            )));
        }
        Ok(cells)
    }

    /// Skips a `FIELD name n` block: n arrays of `name components tuples type` and their values.
    fn skip_field(&mut self, words: &[&str]) -> Result<(), FormatError> {
        let n = self.count(words, 2, "the number of arrays")?;
        for _ in 0..n {
            let header = self.keyword_line()?.unwrap_or_default();
            let w: Vec<&str> = header.split_whitespace().collect();
            if w.first() == Some(&"NULL_ARRAY") {
                continue;
            }
            let comps = self.count(&w, 1, "the number of components")?;
            let tuples = self.count(&w, 2, "the number of tuples")?;
            let ty = w
                .get(3)
                .ok_or_else(|| self.malformed("`name components tuples type`", &header))?;
            self.values(comps * tuples, ty, "FIELD")?;
        }
        Ok(())
    }

    /// Skips a `METADATA` block, which ends at a blank line.
    fn skip_metadata(&mut self) {
        while let Some(line) = self.line() {
            if line.trim().is_empty() {
                break;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const POINTS: [[f32; 3]; 5] = [
        [0.0, 0.0, 0.0],
        [1.0, 0.0, 0.0],
        [1.0, 1.0, 0.0],
        [0.0, 1.0, 0.0],
        [0.5, 0.5, 1.25],
    ];

    fn ascii_points() -> String {
        POINTS
            .iter()
            .map(|p| format!("{} {} {}", p[0], p[1], p[2]))
            .collect::<Vec<_>>()
            .join(" ")
    }

    #[test]
    fn classic_ascii_polygons_and_strips() {
        let text = format!(
            "# vtk DataFile Version 3.0\nvtk output\nASCII\nDATASET POLYDATA\nPOINTS 5 float\n{}\nPOLYGONS 2 9\n4 0 1 2 3\n3 0 1 4\nTRIANGLE_STRIPS 1 5\n4 0 1 3 2\nCELL_DATA 3\nSCALARS s float\nLOOKUP_TABLE default\n1 2 3\n",
            ascii_points()
        );
        let m = read(text.as_bytes(), "c.vtk").unwrap();
        assert_eq!(m.positions[4], [0.5, 0.5, 1.25]);
        assert_eq!(
            m.faces,
            vec![[0, 1, 2], [0, 2, 3], [0, 1, 4], [0, 1, 3], [3, 1, 2]]
        );
    }

    #[test]
    fn version_5_ascii_with_offsets_and_metadata() {
        let text = format!(
            "# vtk DataFile Version 5.1\nvtk output\nASCII\nDATASET POLYDATA\nPOINTS 5 float\n{}\n\nMETADATA\nINFORMATION 0\n\nVERTICES 2 1\nOFFSETS vtktypeint64\n0 1\nCONNECTIVITY vtktypeint64\n4\nPOLYGONS 3 7\nOFFSETS vtktypeint64\n0 3 7\nCONNECTIVITY vtktypeint64\n0 1 4 0 1 2 3\n",
            ascii_points()
        );
        let m = read(text.as_bytes(), "v5.vtk").unwrap();
        assert_eq!(m.faces, vec![[0, 1, 4], [0, 1, 2], [0, 2, 3]]);
    }

    fn be_f32(v: &[[f32; 3]]) -> Vec<u8> {
        v.iter()
            .flat_map(|p| p.iter().flat_map(|c| c.to_be_bytes()))
            .collect()
    }

    #[test]
    fn binary_files_of_both_layouts() {
        // Classic: int cell arrays.
        let mut classic =
            b"# vtk DataFile Version 4.2\nvtk output\nBINARY\nDATASET POLYDATA\nPOINTS 5 float\n"
                .to_vec();
        classic.extend(be_f32(&POINTS));
        classic.extend(b"\nPOLYGONS 1 4\n");
        for v in [3i32, 2, 3, 4] {
            classic.extend(v.to_be_bytes());
        }
        classic.extend(b"\n");
        let m = read(&classic, "b.vtk").unwrap();
        assert_eq!(m.faces, vec![[2, 3, 4]]);
        assert_eq!(m.positions[1], [1.0, 0.0, 0.0]);
        // 5.1: int64 offsets and connectivity; a point value whose bytes contain '\n'.
        let mut pts = POINTS;
        pts[0][0] = f32::from_be_bytes([0x41, 0x0a, 0x0a, 0x0a]);
        let mut v5 =
            b"# vtk DataFile Version 5.1\nvtk output\nBINARY\nDATASET POLYDATA\nPOINTS 5 double\n"
                .to_vec();
        for p in pts {
            for c in p {
                v5.extend(f64::from(c).to_be_bytes());
            }
        }
        v5.extend(b"\nTRIANGLE_STRIPS 2 5\nOFFSETS vtktypeint64\n");
        for v in [0i64, 5] {
            v5.extend(v.to_be_bytes());
        }
        v5.extend(b"\nCONNECTIVITY vtktypeint64\n");
        for v in [0i64, 1, 3, 2, 4] {
            v5.extend(v.to_be_bytes());
        }
        v5.extend(b"\n");
        let m = read(&v5, "b5.vtk").unwrap();
        assert_eq!(m.positions[0][0], f64::from(pts[0][0]));
        assert_eq!(m.faces, vec![[0, 1, 3], [3, 1, 2], [3, 2, 4]]);
    }

    #[test]
    fn malformed_files_name_the_file_and_where() {
        let head = "# vtk DataFile Version 3.0\nt\nASCII\nDATASET POLYDATA\n";
        let cases = [
            (
                "solid x\n".to_string(),
                "x.vtk:1: expected a legacy VTK file",
            ),
            (
                "# vtk DataFile Version 3.0\nt\nASCII\nDATASET UNSTRUCTURED_GRID\n".into(),
                "x.vtk:4: `DATASET UNSTRUCTURED_GRID`: only POLYDATA datasets are meshes",
            ),
            (
                format!("{head}POINTS 3 float\n0 0 0 1 0 0 0 1\n"),
                "x.vtk:6: POINTS: the file ends after 8 of 9 values",
            ),
            (
                format!("{head}POINTS 3 float\n0 0 0\n1 zero 0\n0 1 0\n"),
                "x.vtk:7: expected a number in POINTS",
            ),
            (
                format!("{head}POINTS 3 float\n0 0 0 1 0 0 0 1 0\nPOLYGONS 1 4\n4 0 1 2\n"),
                "x.vtk:8: POLYGONS: cell 0 of 1 does not fit in the section's 4 values",
            ),
            (
                format!("{head}POINTS 3 float\n0 0 0 1 0 0 0 1 0\nPOLYGONS 1 3\n2 0 1\n"),
                "x.vtk:8: POLYGONS cell 0 has 2 points; a surface cell needs 3",
            ),
        ];
        for (text, want) in cases {
            let got = read(text.as_bytes(), "x.vtk").unwrap_err().to_string();
            assert!(got.starts_with(want), "{got}\nwanted: {want}");
        }
        let mut cut =
            b"# vtk DataFile Version 4.2\nt\nBINARY\nDATASET POLYDATA\nPOINTS 5 float\n".to_vec();
        cut.extend(&be_f32(&POINTS)[..40]);
        assert_eq!(
            read(&cut, "cut.vtk").unwrap_err().to_string(),
            "cut.vtk: POINTS: 15 float values need 60 bytes, the file has 40 left at byte 68"
        );
    }
}
