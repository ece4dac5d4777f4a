//! IMOD tilt-angle lists (`.rawtlt`, `.tlt`, `.xtilt`/`.tltx`) and transform files (`.xf`).
//!
//! The per-section parameters read the destination `.rawtlt` (one angle per line, blank lines
//! skipped, like pandas' `read_csv`), and the alignment converter reads `.tlt`, `.xtilt` and `.xf`.
//! Blank lines are ignored everywhere: the reference only tolerates them at the ends of tlt/xf
//! files, and ignoring them elsewhere changes no result it can produce. Each error names the file
//! and the 1-based line.

use super::error::{numbered_lines, parse_f64, parse_i64, FormatError};

/// One line of an IMOD `.xf` file: the 2×2 matrix `[[mxx, mxy], [myx, myy]]` and the shift.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct XfRow {
    /// Matrix entry row 0, column 0 (column 1 of the line).
    pub mxx: f64,
    /// Matrix entry row 0, column 1 (column 2 of the line).
    pub mxy: f64,
    /// Matrix entry row 1, column 0 (column 3 of the line).
    pub myx: f64,
    /// Matrix entry row 1, column 1 (column 4 of the line).
    pub myy: f64,
    /// x shift in pixels (column 5), applied after the matrix.
    pub sx: f64,
    /// y shift in pixels (column 6), applied after the matrix.
    pub sy: f64,
}

/// Parses a list of angles, one number per line (`.rawtlt`, `.tlt`, `.xtilt`, `.tltx`).
pub fn parse_angles(text: &str, file: &str) -> Result<Vec<f64>, FormatError> {
    let mut out = Vec::new();
    for (n, raw) in numbered_lines(text) {
        let line = raw.trim();
        if line.is_empty() {
            continue;
        }
        let mut cols = line.split_whitespace();
        let first = cols.next().unwrap_or_default();
        if cols.next().is_some() {
            return Err(FormatError::malformed(
                file,
                Some(n),
                "one angle per line",
                format!("{} columns", line.split_whitespace().count()),
            ));
        }
        out.push(parse_f64(first, file, Some(n), "a tilt angle")?);
    }
    Ok(out)
}

/// Parses an IMOD `.xf` file: six whitespace-separated numbers per line. As in the reference,
/// columns after the sixth are ignored.
pub fn parse_xf(text: &str, file: &str) -> Result<Vec<XfRow>, FormatError> {
    let mut out = Vec::new();
    for (n, raw) in numbered_lines(text) {
        let cols: Vec<&str> = raw.split_whitespace().collect();
        if cols.is_empty() {
            continue;
        }
        if cols.len() < 6 {
            return Err(FormatError::malformed(
                file,
                Some(n),
                "6 columns (mxx mxy myx myy sx sy)",
                format!("{} columns", cols.len()),
            ));
        }
        let v = |i: usize, what: &str| parse_f64(cols[i], file, Some(n), what);
        out.push(XfRow {
            mxx: v(0, "mxx")?,
            mxy: v(1, "mxy")?,
            myx: v(2, "myx")?,
            myy: v(3, "myy")?,
            sx: v(4, "sx")?,
            sy: v(5, "sy")?,
        });
    }
    Ok(out)
}

/// The 1-based sections excluded by an IMOD `tilt.com` (`EXCLUDELIST2`, `EXCLUDELIST` or
/// `EXCLUDE`, first such line wins), expanded from IMOD ranges such as `1,4-6`. The alignment
/// converter skips these sections. Empty when the file has no such line.
pub fn parse_tiltcom_exclude_list(text: &str, file: &str) -> Result<Vec<i64>, FormatError> {
    for (n, raw) in numbered_lines(text) {
        let Some((key, rest)) = raw.split_once(|c: char| c.is_whitespace()) else {
            continue;
        };
        if !matches!(key, "EXCLUDELIST2" | "EXCLUDELIST" | "EXCLUDE") || rest.trim().is_empty() {
            continue;
        }
        let mut out = Vec::new();
        for part in rest.trim_start().split(',') {
            if let Some((a, b)) = part.split_once('-') {
                let a = parse_i64(a, file, Some(n), "a range start")?;
                let b = parse_i64(b, file, Some(n), "a range end")?;
                out.extend(a..=b);
            } else {
                out.push(parse_i64(part, file, Some(n), "a section number")?);
            }
        }
        return Ok(out);
    }
    Ok(Vec::new())
}

#[cfg(test)]
mod tests {
    use super::*;

    // The reference fixture input_bucket/10001_input/metadata/TS_run1.rawtlt.
    const RAWTLT: &str = "-4.38\n-1.98\n0\n2.013\n";

    #[test]
    fn rawtlt_one_angle_per_line() {
        assert_eq!(
            parse_angles(RAWTLT, "TS_run1.rawtlt").unwrap(),
            vec![-4.38, -1.98, 0.0, 2.013]
        );
    }

    #[test]
    fn blank_lines_crlf_and_padding_are_ignored() {
        let text = "\r\n  -60.00 \r\n\r\n -57.00\r\n\n";
        assert_eq!(parse_angles(text, "a.tlt").unwrap(), vec![-60.0, -57.0]);
        assert!(parse_angles("", "a.tlt").unwrap().is_empty());
    }

    #[test]
    fn bad_angle_names_file_and_line() {
        let e = parse_angles("-5\nabc\n", "TS_run1.tlt").unwrap_err();
        assert_eq!(
            e.to_string(),
            "TS_run1.tlt:2: expected a number for a tilt angle, found \"abc\""
        );
        let e = parse_angles("-5\n1 2\n", "TS_run1.tlt").unwrap_err();
        assert_eq!(
            e.to_string(),
            "TS_run1.tlt:2: expected one angle per line, found 2 columns"
        );
    }

    #[test]
    fn xf_rows_as_imod_writes_them() {
        // The reference fixture input_bucket/10001_input/alignments/TS_run1.xf.
        let text = "    0.029     1.000    -1.000     0.029     55.43     25.56\n\
                    \x20   0.029     1.000    -1.000     0.029    -75.84     55.10\n";
        let rows = parse_xf(text, "TS_run1.xf").unwrap();
        assert_eq!(rows.len(), 2);
        assert_eq!(
            rows[0],
            XfRow {
                mxx: 0.029,
                mxy: 1.0,
                myx: -1.0,
                myy: 0.029,
                sx: 55.43,
                sy: 25.56
            }
        );
        assert_eq!(rows[1].sx, -75.84);
    }

    #[test]
    fn xf_short_row_is_an_error() {
        let e = parse_xf("1 0 0 1 0 0\n1 0 0 1 0\n", "a.xf").unwrap_err();
        assert_eq!(
            e.to_string(),
            "a.xf:2: expected 6 columns (mxx mxy myx myy sx sy), found 5 columns"
        );
        let e = parse_xf("1 0 0 1 0 x\n", "a.xf").unwrap_err();
        assert!(
            e.to_string()
                .starts_with("a.xf:1: expected a number for sy"),
            "{e}"
        );
    }

    #[test]
    fn tiltcom_exclude_ranges() {
        let text = "$tilt -StandardInput\nInputProjections TS_ali.mrc\nTHICKNESS 300\nEXCLUDELIST2 1,4-6,10\n";
        assert_eq!(
            parse_tiltcom_exclude_list(text, "tilt.com").unwrap(),
            vec![1, 4, 5, 6, 10]
        );
        assert!(parse_tiltcom_exclude_list("THICKNESS 300\n", "tilt.com")
            .unwrap()
            .is_empty());
        let e = parse_tiltcom_exclude_list("EXCLUDE 1,a\n", "tilt.com").unwrap_err();
        assert_eq!(
            e.to_string(),
            "tilt.com:1: expected an integer for a section number, found \"a\""
        );
    }
}
