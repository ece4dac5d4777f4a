//! STAR tables (RELION 3.0, TomoMan, RELION 4 optics + particles, STOPGAP motive lists).
//!
//! A small reader for what these programs write: `data_NAME` blocks holding either a `loop_`
//! table (`_rlnX #n` column headers, then whitespace-separated rows; blank and `#` lines are
//! skipped) or `_key value` pairs (taken as a one-row table). Tokens may be quoted with `'` or
//! `"`. Blocks are named without the `data_` prefix, as the Python `starfile` package names
//! them.
//!
//! Filtering mirrors the reference's pandas comparison: `starfile` turns a column whose every
//! value is numeric into numbers, and a number never equals the string filter, so a RELION
//! filter on an all-numeric name column (e.g. `rlnTomoName` values `1`, `2`) keeps nothing.
//! "Numeric" as starfile 0.5.13 types a column (`read_csv` with `nan`, `NaN` and `<NA>` as the
//! only missing-value tokens, then `pd.to_numeric`): every value is a number (not spelt as a
//! NaN, which pandas only reads from those tokens), a missing-value token or empty (`""`, which
//! `to_numeric` makes NaN), and not every value ends up NaN unless all were missing-value tokens
//! (a column that converts to all-NaN is kept as read). A missing-value token never equals the
//! filter, even in a text column.
//! STOPGAP instead converts the filter to an integer first (when it parses) and compares
//! numerically.

use super::{rotation, Oriented};
use crate::formats::error::{numbered_lines, parse_f64};
use crate::formats::FormatError;

#[derive(Debug, Default)]
pub(super) struct Block {
    pub name: String,
    pub line: usize,
    pub columns: Vec<String>,
    /// (1-based line, values)
    pub rows: Vec<(usize, Vec<String>)>,
}

impl Block {
    fn col(&self, name: &str) -> Option<usize> {
        self.columns.iter().position(|c| c == name)
    }

    fn require(&self, name: &str, file: &str) -> Result<usize, FormatError> {
        self.col(name).ok_or_else(|| {
            FormatError::malformed(
                file,
                Some(self.line),
                format!("a column _{name} in block data_{}", self.name),
                format!("columns {}", self.columns.join(", ")),
            )
        })
    }

    /// Whether `starfile`/pandas would read this column as numbers (see the module doc).
    fn numeric(&self, col: usize) -> bool {
        let mut values = self.rows.iter().map(|(_, r)| r[col].as_str());
        let number = |v: &str| v.parse::<f64>().is_ok_and(|x| !x.is_nan());
        values
            .clone()
            .all(|v| v.is_empty() || missing(v) || number(v))
            && (values.clone().any(number) || values.all(missing))
    }

    fn num(&self, row: usize, col: usize, file: &str) -> Result<f64, FormatError> {
        let (line, values) = &self.rows[row];
        parse_f64(
            &values[col],
            file,
            Some(*line),
            &format!("_{}", self.columns[col]),
        )
    }

    fn nums<const N: usize>(
        &self,
        row: usize,
        cols: [usize; N],
        file: &str,
    ) -> Result<[f64; N], FormatError> {
        let mut out = [0.0; N];
        for (o, c) in out.iter_mut().zip(cols) {
            *o = self.num(row, c, file)?;
        }
        Ok(out)
    }

    /// Rows whose `col` equals the string `value` (never, for a numeric column).
    fn rows_equal(&self, col: usize, value: &str) -> Vec<usize> {
        if self.numeric(col) {
            return Vec::new();
        }
        (0..self.rows.len())
            .filter(|i| self.rows[*i].1[col] == value && !missing(value))
            .collect()
    }
}

/// The values `starfile` reads as missing (NaN): its `read_csv` `na_values`.
fn missing(v: &str) -> bool {
    matches!(v, "nan" | "NaN" | "<NA>")
}

fn tokens(line: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut chars = line.trim().chars().peekable();
    while let Some(&c) = chars.peek() {
        if c.is_whitespace() {
            chars.next();
            continue;
        }
        let mut tok = String::new();
        if c == '\'' || c == '"' {
            chars.next();
            for d in chars.by_ref() {
                if d == c {
                    break;
                }
                tok.push(d);
            }
        } else {
            while let Some(&d) = chars.peek() {
                if d.is_whitespace() {
                    break;
                }
                tok.push(d);
                chars.next();
            }
        }
        out.push(tok);
    }
    out
}

#[derive(PartialEq)]
enum State {
    Outside,
    Pairs,
    LoopHeader,
    LoopRows,
}

/// Parses every data block of a STAR file.
pub(super) fn parse(text: &str, file: &str) -> Result<Vec<Block>, FormatError> {
    let mut blocks: Vec<Block> = Vec::new();
    let mut state = State::Outside;
    for (n, raw) in numbered_lines(text) {
        let line = raw.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        if let Some(name) = line.strip_prefix("data_") {
            blocks.push(Block {
                name: name.trim().to_string(),
                line: n,
                ..Block::default()
            });
            state = State::Pairs;
            continue;
        }
        let Some(block) = blocks.last_mut() else {
            return Err(FormatError::malformed(
                file,
                Some(n),
                "a data_ block header",
                format!("{line:?}"),
            ));
        };
        if line == "loop_" {
            if !block.columns.is_empty() {
                return Err(FormatError::malformed(
                    file,
                    Some(n),
                    "one table per data_ block",
                    "a second loop_",
                ));
            }
            state = State::LoopHeader;
            continue;
        }
        let toks = tokens(line);
        match state {
            State::LoopHeader if line.starts_with('_') => {
                block.columns.push(toks[0][1..].to_string());
            }
            State::LoopHeader | State::LoopRows if !line.starts_with('_') => {
                if block.columns.is_empty() {
                    return Err(FormatError::malformed(
                        file,
                        Some(n),
                        "_column headers after loop_",
                        format!("{line:?}"),
                    ));
                }
                if toks.len() != block.columns.len() {
                    return Err(FormatError::malformed(
                        file,
                        Some(n),
                        format!("{} values (one per column)", block.columns.len()),
                        format!("{} values", toks.len()),
                    ));
                }
                block.rows.push((n, toks));
                state = State::LoopRows;
            }
            State::Pairs if line.starts_with('_') && toks.len() == 2 => {
                block.columns.push(toks[0][1..].to_string());
                match block.rows.first_mut() {
                    Some((_, r)) => r.push(toks[1].clone()),
                    None => block.rows.push((n, vec![toks[1].clone()])),
                }
            }
            _ => {
                return Err(FormatError::malformed(
                    file,
                    Some(n),
                    "a STAR table line",
                    format!("{line:?}"),
                ));
            }
        }
    }
    Ok(blocks)
}

fn single_block(blocks: Vec<Block>, file: &str, hint: &str) -> Result<Block, FormatError> {
    if blocks.len() == 1 {
        return Ok(blocks.into_iter().next().expect("one block"));
    }
    let names: Vec<String> = blocks.iter().map(|b| format!("data_{}", b.name)).collect();
    Err(FormatError::invalid(
        file,
        None,
        format!(
            "expected a single data block{hint}, found {}: {}",
            blocks.len(),
            names.join(", ")
        ),
    ))
}

const COORDS: [&str; 3] = ["rlnCoordinateX", "rlnCoordinateY", "rlnCoordinateZ"];
const ANGLES: [&str; 3] = ["rlnAngleRot", "rlnAngleTilt", "rlnAnglePsi"];

fn cols<const N: usize>(
    b: &Block,
    names: [&str; N],
    file: &str,
) -> Result<[usize; N], FormatError> {
    let mut out = [0; N];
    for (o, n) in out.iter_mut().zip(names) {
        *o = b.require(n, file)?;
    }
    Ok(out)
}

/// RELION 3.0 / TomoMan: one table; optional `filter_key == filter`; position
/// `(coord − origin [px]) / binning` when all three `rlnOriginX/Y/Z` exist.
pub(super) fn relion3(
    text: &str,
    file: &str,
    filter_key: &str,
    filter: Option<&str>,
    binning: f64,
) -> Result<Vec<Oriented>, FormatError> {
    let b = single_block(
        parse(text, file)?,
        file,
        " (RELION 3.0 layout; use relion4_star for optics + particles)",
    )?;
    let rows: Vec<usize> = match filter {
        Some(f) => b.rows_equal(b.require(filter_key, file)?, f),
        None => (0..b.rows.len()).collect(),
    };
    let c = cols(&b, COORDS, file)?;
    let a = cols(&b, ANGLES, file)?;
    let origin = match (
        b.col("rlnOriginX"),
        b.col("rlnOriginY"),
        b.col("rlnOriginZ"),
    ) {
        (Some(x), Some(y), Some(z)) => Some([x, y, z]),
        _ => None,
    };
    rows.into_iter()
        .map(|i| {
            let xyz = b.nums(i, c, file)?;
            let shift = match origin {
                Some(o) => b.nums(i, o, file)?,
                None => [0.0; 3],
            };
            let position = match origin {
                Some(_) => [0, 1, 2].map(|k| (xyz[k] - shift[k]) / binning),
                None => xyz.map(|v| v / binning),
            };
            let [rot, tilt, psi] = b.nums(i, a, file)?;
            Ok(Oriented {
                position,
                rotation: rotation::relion(rot, tilt, psi),
            })
        })
        .collect()
}

/// RELION 4: `optics` and `particles`; pixel size from the first optics row; optional
/// `rlnTomoName == filter`; position `(coord − origin [Å] / pixel) / binning`.
pub(super) fn relion4(
    text: &str,
    file: &str,
    filter: Option<&str>,
    binning: f64,
) -> Result<Vec<Oriented>, FormatError> {
    let blocks = parse(text, file)?;
    let find = |name: &str| {
        blocks.iter().find(|b| b.name == name).ok_or_else(|| {
            FormatError::invalid(
                file,
                None,
                format!("a RELION 4 file needs a data_{name} block"),
            )
        })
    };
    let optics = find("optics")?;
    let particles = find("particles")?;
    let pcol = optics.require("rlnImagePixelSize", file)?;
    if optics.rows.is_empty() {
        return Err(FormatError::invalid(
            file,
            Some(optics.line),
            "data_optics has no rows",
        ));
    }
    let pixel = optics.num(0, pcol, file)?;
    let b = particles;
    let rows: Vec<usize> = match filter {
        Some(f) => b.rows_equal(b.require("rlnTomoName", file)?, f),
        None => (0..b.rows.len()).collect(),
    };
    let c = cols(b, COORDS, file)?;
    let o = cols(
        b,
        ["rlnOriginXAngst", "rlnOriginYAngst", "rlnOriginZAngst"],
        file,
    )?;
    let a = cols(b, ANGLES, file)?;
    rows.into_iter()
        .map(|i| {
            let xyz = b.nums(i, c, file)?;
            let shift = b.nums(i, o, file)?;
            let [rot, tilt, psi] = b.nums(i, a, file)?;
            Ok(Oriented {
                position: [0, 1, 2].map(|k| (xyz[k] - shift[k] / pixel) / binning),
                rotation: rotation::relion(rot, tilt, psi),
            })
        })
        .collect()
}

/// Python's `int()` on a string: optional sign, digits with single underscores between them,
/// surrounding whitespace.
fn python_int(s: &str) -> Option<i64> {
    let t = s.trim();
    let body = t.strip_prefix(['+', '-']).unwrap_or(t);
    if body.is_empty() || body.starts_with('_') || body.ends_with('_') || body.contains("__") {
        return None;
    }
    t.replace('_', "").parse().ok()
}

/// STOPGAP motive list: rows with `tomo_num == int(filter)`; position
/// `(orig + shift) / binning`; rotation extrinsic zxz (phi, the, psi). No matching row gives
/// an empty result (the reference's ValueError, printed and written as an empty file).
pub(super) fn stopgap(
    text: &str,
    file: &str,
    filter: Option<&str>,
    binning: f64,
) -> Result<Vec<Oriented>, FormatError> {
    let b = single_block(parse(text, file)?, file, " (data_stopgap_motivelist)")?;
    let tcol = b.require("tomo_num", file)?;
    let rows: Vec<usize> = match filter {
        None => Vec::new(),
        Some(f) => match python_int(f) {
            Some(want) => {
                let mut keep = Vec::new();
                for i in 0..b.rows.len() {
                    if b.num(i, tcol, file)? == want as f64 {
                        keep.push(i);
                    }
                }
                keep
            }
            None => b.rows_equal(tcol, f),
        },
    };
    let orig = cols(&b, ["orig_x", "orig_y", "orig_z"], file)?;
    let shift = cols(&b, ["x_shift", "y_shift", "z_shift"], file)?;
    let ang = cols(&b, ["phi", "the", "psi"], file)?;
    rows.into_iter()
        .map(|i| {
            let o = b.nums(i, orig, file)?;
            let s = b.nums(i, shift, file)?;
            let [phi, the, psi] = b.nums(i, ang, file)?;
            Ok(Oriented {
                position: [0, 1, 2].map(|k| (o[k] + s[k]) / binning),
                rotation: rotation::stopgap(phi, the, psi),
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::super::{read_points, to_ndjson, PointParams, PointRecord, PointShape};
    use super::*;

    const H: f64 = 0.7071067811865475;

    fn params(order: &str, binning: f64, filter: Option<&str>) -> PointParams {
        PointParams {
            order: order.into(),
            binning,
            filter_value: filter.map(str::to_string),
            ..PointParams::default()
        }
    }

    fn close(a: [f64; 3], b: [f64; 3]) -> bool {
        a.iter().zip(b).all(|(x, y)| (x - y).abs() < 1e-9)
    }

    fn close_m(a: Option<[[f64; 3]; 3]>, b: [[f64; 3]; 3]) -> bool {
        let a = a.expect("a rotation");
        (0..3).all(|i| close(a[i], b[i]))
    }

    fn read(fmt: &str, shape: PointShape, p: &PointParams, text: &str) -> Vec<PointRecord> {
        read_points(fmt, shape, p, text.as_bytes(), "in.star").unwrap()
    }

    /// RELION 3.0 particle table, as `relion_refine` writes it (one `data_` block).
    const RELION3: &str = "
data_

loop_
_rlnMicrographName #1
_rlnCoordinateX #2
_rlnCoordinateY #3
_rlnCoordinateZ #4
_rlnImageName #5
_rlnAngleRot #6
_rlnAngleTilt #7
_rlnAnglePsi #8
_rlnClassNumber #9
_rlnOriginX #10
_rlnOriginY #11
_rlnOriginZ #12
tomo_1.tomostar  4.000000  8.000000  12.000000 000001@Extract/job010/tomo_1.mrcs   90  45  180  1  -1.20000  -2.40000  -3.20000
tomo_1.tomostar  4.000000  4.000000   4.000000 000002@Extract/job010/tomo_1.mrcs  -45  90  120  1   3.20000   2.40000   1.20000
tomo_2.tomostar  6.000000  4.000000   2.000000 000001@Extract/job010/tomo_2.mrcs    0  90    0  1  -1.00000  -2.00000  -3.00000
tomo_2.tomostar  0.000000  6.000000   0.000000 000002@Extract/job010/tomo_2.mrcs -120  30  165  1   3.00000   2.00000   1.00000
tomo_2.tomostar  8.000000  4.000000   2.000000 000003@Extract/job010/tomo_2.mrcs    0 -90    0  1   0.00000   3.00000   0.00000
tomo_3.tomostar  3.000000  2.000000   1.000000 000001@Extract/job010/tomo_3.mrcs    0   0    0  1   2.00000   2.00000   2.00000
";

    /// RELION 4 subtomogram particles: optics block plus particles block.
    const RELION4: &str = "
# version 30001

data_optics

loop_
_rlnOpticsGroup #1
_rlnOpticsGroupName #2
_rlnSphericalAberration #3
_rlnVoltage #4
_rlnTomoTiltSeriesPixelSize #5
_rlnImagePixelSize #6
_rlnImageSize #7
_rlnImageDimensionality #8
1\topticsGroup1\t2.700000\t300.000000\t1.000000\t1.000000\t128\t3

# version 30001

data_particles

loop_
_rlnTomoName #1
_rlnTomoParticleId #2
_rlnCoordinateX #3
_rlnCoordinateY #4
_rlnCoordinateZ #5
_rlnOriginXAngst #6
_rlnOriginYAngst #7
_rlnOriginZAngst #8
_rlnAngleRot #9
_rlnAngleTilt #10
_rlnAnglePsi #11
_rlnOpticsGroup #12
TS_001\t1\t4.000000\t8.000000\t12.000000\t-1.20000\t-2.40000\t-3.20000\t90\t45\t180\t1
TS_001\t2\t4.000000\t4.000000\t4.000000\t3.20000\t2.40000\t1.20000\t-45\t90\t120\t1
TS_002\t3\t6.000000\t4.000000\t2.000000\t-1.00000\t-2.00000\t-3.00000\t0\t90\t0\t1
TS_002\t4\t0.000000\t6.000000\t0.000000\t3.00000\t2.00000\t1.00000\t-120\t30\t165\t1
TS_002\t5\t8.000000\t4.000000\t2.000000\t0.00000\t3.00000\t0.00000\t0\t-90\t0\t1
TS_003\t6\t3.000000\t2.000000\t1.000000\t2.00000\t2.00000\t2.00000\t0\t0\t0\t1
";

    /// TomoMan export: no `#n` column numbers, blank line before the rows.
    const TOMOMAN: &str = "
data_

loop_
_rlnCoordinateX
_rlnCoordinateY
_rlnCoordinateZ
_rlnAngleRot
_rlnAngleTilt
_rlnAnglePsi
_rlnTomoName
_rlnOriginX
_rlnOriginY
_rlnOriginZ

 4.0  8.0  12.0   90   45  180  grid_1_lamella1_pos1  -1.2  -2.4  -3.2
 4.0  4.0   4.0  -45   90  120  grid_1_lamella1_pos1   3.2   2.4   1.2
 6.0  4.0   2.0    0   90    0  grid_1_lamella1_pos2  -1.0  -2.0  -3.0
 3.0  2.0   1.0    0    0    0  grid_1_lamella1_pos3   2.0   2.0   2.0
";

    /// STOPGAP motive list.
    const STOPGAP: &str = "
data_stopgap_motivelist

loop_
_motl_idx
_tomo_num
_object
_subtomo_num
_halfset
_orig_x
_orig_y
_orig_z
_score
_x_shift
_y_shift
_z_shift
_phi
_psi
_the
_class

   1   1  1    1  A   4.000000  8.000000   12.000000  0.1816  -1.20000     -2.40000     -3.20000   90  180   45  1
   2   1  1    2  A   4.000000  4.000000    4.000000  0.1704   3.20000      2.40000      1.20000  -45  120   90  1
   3   2  2    3  A   6.000000  4.000000    2.000000  0.1704  -1.00000     -2.00000     -3.00000    0    0   90  1
   4   2  2    4  A   0.000000  6.000000    0.000000  0.1704   3.00000      2.00000      1.00000 -120  165   30  1
   5   2  2    5  B   8.000000  4.000000    2.000000  0.1704   0.00000      3.00000      0.00000    0    0  -90  1
   6   3  3    6  B   3.000000  2.000000    1.000000  0.1704   2.00000      2.00000      2.00000    0    0    0  1
";

    fn check_relion_family(fmt: &str, text: &str, names: [&str; 3]) {
        let r = read(
            fmt,
            PointShape::OrientedPoint,
            &params("xyz", 4.0, Some(names[0])),
            text,
        );
        assert_eq!(r.len(), 2);
        assert!(close(r[0].location, [1.3, 2.6, 3.8]), "{:?}", r[0].location);
        assert!(close(r[1].location, [0.2, 0.4, 0.7]), "{:?}", r[1].location);
        assert!(close_m(
            r[0].rotation,
            [[-0.0, -H, H], [1.0, -0.0, 0.0], [0.0, H, H]]
        ));
        let r = read(
            fmt,
            PointShape::OrientedPoint,
            &params("xyz", 2.0, Some(names[1])),
            text,
        );
        assert!(close(r[0].location, [3.5, 3.0, 2.5]), "{:?}", r[0].location);
        assert!(close_m(
            r[0].rotation,
            [[0.0, 0.0, -1.0], [0.0, 1.0, 0.0], [1.0, 0.0, 0.0]]
        ));
        let r = read(
            fmt,
            PointShape::OrientedPoint,
            &params("xyz", 1.0, Some(names[2])),
            text,
        );
        assert_eq!(r.len(), 1);
        assert!(close(r[0].location, [1.0, 0.0, -1.0]));
        assert!(close_m(
            r[0].rotation,
            [[1.0, 0.0, 0.0], [0.0, 1.0, 0.0], [0.0, 0.0, 1.0]]
        ));
        // As Point: same positions, orientation dropped.
        let r = read(
            fmt,
            PointShape::Point,
            &params("xyz", 4.0, Some(names[0])),
            text,
        );
        assert_eq!(r.len(), 2);
        assert!(r.iter().all(|p| p.rotation.is_none()));
        assert!(close(r[1].location, [0.2, 0.4, 0.7]));
        // A filter that matches nothing is simply empty.
        assert!(read(
            fmt,
            PointShape::Point,
            &params("xyz", 1.0, Some("nope")),
            text
        )
        .is_empty());
    }

    #[test]
    fn relion3_as_in_the_reference_tests() {
        check_relion_family(
            "relion3_star",
            RELION3,
            ["tomo_1.tomostar", "tomo_2.tomostar", "tomo_3.tomostar"],
        );
        let r = read(
            "relion3_star",
            PointShape::OrientedPoint,
            &params("xyz", 2.0, Some("tomo_2.tomostar")),
            RELION3,
        );
        assert_eq!(r.len(), 3);
        assert!(close(r[1].location, [-1.5, 2.0, -0.5]) && close(r[2].location, [4.0, 0.5, 1.0]));
        assert!(close_m(
            r[1].rotation,
            [
                [0.6424020199109172, 0.5950348471655409, 0.48296291314453405],
                [-0.7244443697168013, 0.6770771969714244, 0.12940952255126045],
                [
                    -0.24999999999999983,
                    -0.4330127018922193,
                    0.8660254037844386
                ],
            ]
        ));
        // No filter: every row.
        assert_eq!(
            read(
                "relion3_star",
                PointShape::Point,
                &params("xyz", 1.0, None),
                RELION3
            )
            .len(),
            6
        );
    }

    #[test]
    fn relion3_without_origin_columns_and_zyx_order() {
        let text = "data_\nloop_\n_rlnCoordinateX #1\n_rlnCoordinateY #2\n_rlnCoordinateZ #3\n\
                    _rlnAngleRot #4\n_rlnAngleTilt #5\n_rlnAnglePsi #6\n_rlnOriginX #7\n\
                    10 20 30 90 45 180 5\n";
        let r = read(
            "relion3_star",
            PointShape::OrientedPoint,
            &params("zyx", 2.0, None),
            text,
        );
        // Only one origin column: the reference's `try` falls back to no shift.
        assert_eq!(r[0].location, [15.0, 10.0, 5.0]);
        assert!(close_m(
            r[0].rotation,
            [[H, H, 0.0], [0.0, -0.0, 1.0], [H, -H, -0.0]]
        ));
        let out = String::from_utf8(to_ndjson(PointShape::OrientedPoint, &r)).unwrap();
        assert_eq!(
            out,
            "{\"type\": \"orientedPoint\", \"location\": {\"x\": 15.0, \"y\": 10.0, \"z\": 5.0}, \
             \"xyz_rotation_matrix\": [[0.7071067811865475, 0.7071067811865475, 1.1102230246251565e-16], \
             [0.0, -2.220446049250313e-16, 1.0], [0.7071067811865475, -0.7071067811865475, -1.1102230246251565e-16]]}"
        );
    }

    #[test]
    fn relion3_rejects_relion31_layout_and_numeric_name_column_matches_nothing() {
        let e = read_points(
            "relion3_star",
            PointShape::Point,
            &params("xyz", 1.0, None),
            RELION4.as_bytes(),
            "p.star",
        )
        .unwrap_err();
        assert!(
            e.to_string()
                .starts_with("p.star: expected a single data block"),
            "{e}"
        );
        let text =
            "data_\nloop_\n_rlnMicrographName\n_rlnCoordinateX\n_rlnCoordinateY\n_rlnCoordinateZ\n\
                    _rlnAngleRot\n_rlnAngleTilt\n_rlnAnglePsi\n1 1 2 3 0 0 0\n2 4 5 6 0 0 0\n";
        assert!(read(
            "relion3_star",
            PointShape::Point,
            &params("xyz", 1.0, Some("1")),
            text
        )
        .is_empty());
    }

    /// Column typing as starfile 0.5.13 does it, from its own sample `loop_double_quote.star`,
    /// whose `number_and_empty` column (`5.0`, `""`) it reads as numbers (NaN for the empty
    /// string): a string filter on such a name column keeps nothing.
    #[test]
    fn name_column_typing_follows_starfile_for_empty_and_missing_values() {
        let table = |names: [&str; 2]| {
            format!(
                "data_\nloop_\n_rlnMicrographName\n_rlnCoordinateX\n_rlnCoordinateY\n\
                 _rlnCoordinateZ\n_rlnAngleRot\n_rlnAngleTilt\n_rlnAnglePsi\n\
                 {} 1 2 3 0 0 0\n{} 4 5 6 0 0 0\n",
                names[0], names[1]
            )
        };
        let kept = |names: [&str; 2], filter: &str| {
            read(
                "relion3_star",
                PointShape::Point,
                &params("xyz", 1.0, Some(filter)),
                &table(names),
            )
            .len()
        };
        // Numbers with an empty string or a missing-value token: numeric, nothing matches.
        assert_eq!(kept(["5.0", "\"\""], "5.0"), 0);
        assert_eq!(kept(["<NA>", "3"], "3"), 0);
        assert_eq!(kept(["'4.0'", "nan"], "4.0"), 0);
        // Text columns: `nan` is NaN there too and never equals the filter.
        assert_eq!(kept(["nan", "TS_1"], "TS_1"), 1);
        assert_eq!(kept(["nan", "TS_1"], "nan"), 0);
        // Only `nan`, `NaN` and `<NA>` are missing; `NAN` is text to pandas.
        assert_eq!(kept(["NAN", "1"], "NAN"), 1);
        // Empty strings and missing tokens only: kept as read (text), the empty one unmatched.
        assert_eq!(kept(["\"\"", "nan"], "nan"), 0);
        assert_eq!(kept(["'TS 1'", "\"\""], "TS 1"), 1);
    }

    #[test]
    fn tomoman_as_in_the_reference_tests() {
        check_relion_family(
            "tomoman_relion_star",
            TOMOMAN,
            [
                "grid_1_lamella1_pos1",
                "grid_1_lamella1_pos2",
                "grid_1_lamella1_pos3",
            ],
        );
    }

    #[test]
    fn relion4_as_in_the_reference_tests() {
        check_relion_family("relion4_star", RELION4, ["TS_001", "TS_002", "TS_003"]);
        assert_eq!(
            read(
                "relion4_star",
                PointShape::Point,
                &params("xyz", 1.0, None),
                RELION4
            )
            .len(),
            6
        );
        // Origins are in Å: with 2 Å pixels the shift halves.
        let two = RELION4.replace("1.000000\t1.000000\t128", "1.000000\t2.000000\t128");
        let r = read(
            "relion4_star",
            PointShape::Point,
            &params("xyz", 1.0, Some("TS_003")),
            &two,
        );
        assert_eq!(r[0].location, [2.0, 1.0, 0.0]);
    }

    #[test]
    fn relion4_missing_blocks_or_columns_are_errors() {
        let e = read_points(
            "relion4_star",
            PointShape::Point,
            &params("xyz", 1.0, None),
            RELION3.as_bytes(),
            "r4.star",
        )
        .unwrap_err();
        assert_eq!(
            e.to_string(),
            "r4.star: a RELION 4 file needs a data_optics block"
        );
        let no_origin = RELION4.replace("_rlnOriginXAngst", "_rlnOriginXPix");
        let e = read_points(
            "relion4_star",
            PointShape::Point,
            &params("xyz", 1.0, None),
            no_origin.as_bytes(),
            "r4.star",
        )
        .unwrap_err();
        assert!(
            e.to_string()
                .contains("expected a column _rlnOriginXAngst in block data_particles"),
            "{e}"
        );
    }

    #[test]
    fn stopgap_as_in_the_reference_tests() {
        let r = read(
            "stopgap_star",
            PointShape::OrientedPoint,
            &params("xyz", 4.0, Some("1")),
            STOPGAP,
        );
        assert_eq!(r.len(), 2);
        assert!(close(r[0].location, [0.7, 1.4, 2.2]) && close(r[1].location, [1.8, 1.6, 1.3]));
        assert!(close_m(
            r[0].rotation,
            [[0.0, 1.0, 0.0], [-H, -0.0, H], [H, 0.0, H]]
        ));
        let r = read(
            "stopgap_star",
            PointShape::OrientedPoint,
            &params("xyz", 2.0, Some("2")),
            STOPGAP,
        );
        assert_eq!(r.len(), 3);
        assert!(close(r[0].location, [2.5, 1.0, -0.5]) && close(r[2].location, [4.0, 3.5, 1.0]));
        assert!(close_m(
            r[0].rotation,
            [[1.0, 0.0, 0.0], [0.0, 0.0, -1.0], [0.0, 1.0, 0.0]]
        ));
        assert!(close_m(
            r[2].rotation,
            [[1.0, -0.0, 0.0], [0.0, 0.0, 1.0], [-0.0, -1.0, 0.0]]
        ));
        let r = read(
            "stopgap_star",
            PointShape::OrientedPoint,
            &params("xyz", 1.0, Some(" 3 ")),
            STOPGAP,
        );
        assert_eq!(r.len(), 1);
        assert_eq!(r[0].location, [5.0, 4.0, 3.0]);
    }

    #[test]
    fn stopgap_without_a_match_is_empty() {
        for f in [Some("9"), Some("abc"), None] {
            assert!(read(
                "stopgap_star",
                PointShape::OrientedPoint,
                &params("xyz", 1.0, f),
                STOPGAP
            )
            .is_empty());
        }
    }

    #[test]
    fn malformed_star_rows_name_file_and_line() {
        let short = RELION3.replace(
            " 1  -1.20000  -2.40000  -3.20000\n",
            " 1  -1.20000  -2.40000\n",
        );
        let e = read_points(
            "relion3_star",
            PointShape::Point,
            &params("xyz", 1.0, None),
            short.as_bytes(),
            "s.star",
        )
        .unwrap_err();
        assert_eq!(
            e.to_string(),
            "s.star:17: expected 12 values (one per column), found 11 values"
        );
        let bad = STOPGAP.replace("0.1816  -1.20000", "0.1816  -1.2x000");
        let e = read_points(
            "stopgap_star",
            PointShape::OrientedPoint,
            &params("xyz", 1.0, Some("1")),
            bad.as_bytes(),
            "s.star",
        )
        .unwrap_err();
        assert_eq!(
            e.to_string(),
            "s.star:22: expected a number for _x_shift, found \"-1.2x000\""
        );
        let e = read_points(
            "stopgap_star",
            PointShape::OrientedPoint,
            &params("xyz", 1.0, Some("1")),
            b"_tomo_num 1\n",
            "s.star",
        )
        .unwrap_err();
        assert_eq!(
            e.to_string(),
            "s.star:1: expected a data_ block header, found \"_tomo_num 1\""
        );
    }

    #[test]
    fn key_value_blocks_and_quoted_tokens() {
        let blocks = parse(
            "data_general\n_rlnTomoName 'TS 1'\n_rlnPixelSize 1.5\n\ndata_x\nloop_\n_a\n\"q r\"\n",
            "g.star",
        )
        .unwrap();
        assert_eq!(blocks[0].columns, vec!["rlnTomoName", "rlnPixelSize"]);
        assert_eq!(blocks[0].rows[0].1, vec!["TS 1", "1.5"]);
        assert_eq!(blocks[1].rows[0].1, vec!["q r"]);
        assert_eq!(python_int("1_0"), Some(10));
        assert_eq!(python_int("1.0"), None);
    }
}
