//! Per-section CTF estimates from CTFFIND, GCTF and IMOD `.defocus` files.
//!
//! The tilt-series metadata reports, for each section, the defocus pair (Å), the astigmatism
//! azimuth (°), the phase shift (rad), the cross correlation and the fit resolution (Å). The
//! reference chooses the parser by the CTF entity's `metadata.format` (case-insensitive); an
//! unknown format yields no rows. See spec §8.3.
//!
//! Deliberate leniencies (the reference raises on these inputs, so no reference output changes):
//! CTFFIND files may have several `#` header lines and blank lines after the first line (real
//! CTFFIND4 output has five header lines), and a CTFFIND section number may be written as an
//! integral float (`1.000000`).

use super::error::{numbered_lines, parse_f64, FormatError};

/// One section's CTF estimate, in the portal's units.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct CtfRow {
    /// 1-based section (view) number.
    pub section: i64,
    /// Defocus 1 in Å.
    pub defocus_1: f64,
    /// Defocus 2 in Å.
    pub defocus_2: f64,
    /// Azimuth of astigmatism in degrees.
    pub azimuth: f64,
    /// Additional phase shift in radians.
    pub phase_shift: f64,
    /// Cross-correlation of the fit (unitless; 0 when the format has none, as for IMOD).
    pub cross_correlation: f64,
    /// Resolution (Å) up to which the CTF was fit.
    pub max_resolution: f64,
}

/// Parses a CTF file by format name (`CTFFIND`, `GCTF`, `IMOD`; case-insensitive). Any other
/// format returns no rows, as the reference's base converter does.
pub fn parse_ctf(format: &str, text: &str, file: &str) -> Result<Vec<CtfRow>, FormatError> {
    match format.to_ascii_uppercase().as_str() {
        "CTFFIND" => parse_ctffind(text, file),
        "GCTF" => parse_gctf(text, file),
        "IMOD" => parse_imod_defocus(text, file),
        _ => Ok(Vec::new()),
    }
}

fn columns(line: &str) -> Vec<&str> {
    line.split_whitespace().collect()
}

/// CTFFIND (4/5) diagnostic text: the first line is dropped unconditionally, then
/// `section defocus_1 defocus_2 azimuth phase_shift cross_correlation max_resolution [...]`.
pub fn parse_ctffind(text: &str, file: &str) -> Result<Vec<CtfRow>, FormatError> {
    // The reference strips the text before dropping the first line, so leading blank lines
    // do not count as the first line.
    let mut lines = numbered_lines(text).skip_while(|(_, l)| l.trim().is_empty());
    if lines.next().is_none() {
        return Err(FormatError::invalid(
            file,
            None,
            "empty CTFFIND file: expected a header line",
        ));
    }
    let mut out = Vec::new();
    for (n, line) in lines {
        let t = line.trim();
        if t.is_empty() || t.starts_with('#') {
            continue;
        }
        let c = columns(t);
        if c.len() < 7 {
            return Err(FormatError::malformed(
                file,
                Some(n),
                "at least 7 columns (section defocus_1 defocus_2 azimuth phase_shift cross_correlation max_resolution)",
                format!("{} columns", c.len()),
            ));
        }
        let f = |i: usize, what: &str| parse_f64(c[i], file, Some(n), what);
        out.push(CtfRow {
            section: integral(c[0], file, n)?,
            defocus_1: f(1, "defocus 1")?,
            defocus_2: f(2, "defocus 2")?,
            azimuth: f(3, "azimuth")?,
            phase_shift: f(4, "phase shift")?,
            cross_correlation: f(5, "cross correlation")?,
            max_resolution: f(6, "max resolution")?,
        });
    }
    Ok(out)
}

/// A section number written as an integer, or as a float with no fractional part.
fn integral(token: &str, file: &str, n: usize) -> Result<i64, FormatError> {
    if let Ok(i) = token.parse::<i64>() {
        return Ok(i);
    }
    match token.parse::<f64>() {
        Ok(v) if v.fract() == 0.0 && v.abs() < 9.0e15 => Ok(v as i64),
        _ => Err(FormatError::malformed(
            file,
            Some(n),
            "an integer section number",
            format!("{token:?}"),
        )),
    }
}

/// GCTF summary: comment lines (`#`, `;`, `%`) and blank lines skipped; 7 columns
/// `idx defU defV angle phase cc res`, or 6 without the phase (phase 0).
pub fn parse_gctf(text: &str, file: &str) -> Result<Vec<CtfRow>, FormatError> {
    let mut out = Vec::new();
    for (n, line) in numbered_lines(text) {
        let t = line.trim();
        if t.is_empty() || t.starts_with(['#', ';', '%']) {
            continue;
        }
        let c = columns(t);
        if c.len() != 6 && c.len() != 7 {
            return Err(FormatError::malformed(
                file,
                Some(n),
                "6 or 7 columns (idx defU defV angle [phase] cc res)",
                format!("{} columns", c.len()),
            ));
        }
        let f = |i: usize, what: &str| parse_f64(c[i], file, Some(n), what);
        // Python's int(round(float(idx))): ties go to the even integer.
        let section = f(0, "the section index")?.round_ties_even();
        let (phase_shift, cc, res) = if c.len() == 7 {
            (
                f(4, "phase shift")?,
                f(5, "cross correlation")?,
                f(6, "resolution")?,
            )
        } else {
            (0.0, f(4, "cross correlation")?, f(5, "resolution")?)
        };
        out.push(CtfRow {
            section: section as i64,
            defocus_1: f(1, "defocus U")?,
            defocus_2: f(2, "defocus V")?,
            azimuth: f(3, "astigmatism angle")?,
            phase_shift,
            cross_correlation: cc,
            max_resolution: res,
        });
    }
    Ok(out)
}

/// Python's `math.degrees`: multiplies by the double nearest `180 / π` as Python computes it.
pub(crate) fn degrees(x: f64) -> f64 {
    x * (180.0 / std::f64::consts::PI)
}

/// Python's `math.radians` and numpy's `radians`: multiplies by `π / 180`.
pub(crate) fn radians(x: f64) -> f64 {
    x * (std::f64::consts::PI / 180.0)
}

/// Bits of the IMOD `.defocus` version-3 flag.
mod flag {
    pub const ASTIGMATISM: i64 = 1;
    pub const ASTIGMATISM_RADIANS: i64 = 2;
    pub const PHASE_SHIFT: i64 = 4;
    pub const PHASE_SHIFT_RADIANS: i64 = 8;
    pub const CUT_ON_FREQUENCY: i64 = 32;
}

/// Number of columns a data row has under `flag`.
fn imod_width(f: i64) -> usize {
    let mut w = if f & flag::ASTIGMATISM != 0 { 7 } else { 5 };
    if f & flag::PHASE_SHIFT != 0 {
        w += 1;
    }
    if f & flag::CUT_ON_FREQUENCY != 0 {
        w += 1;
    }
    w
}

/// IMOD `.defocus` (ctfplotter / ctfphaseflip): an optional version-3 header
/// `flag 0 0.0 0.0 0.0 version` sets the layout; rows are
/// `startView endView startTilt endTilt` then one defocus or `defU defV azimuth`, then an
/// optional phase shift and cut-on frequency. Defocus is in nm.
pub fn parse_imod_defocus(text: &str, file: &str) -> Result<Vec<CtfRow>, FormatError> {
    let lines: Vec<(usize, Vec<&str>)> = numbered_lines(text)
        .map(|(n, l)| (n, columns(l)))
        .filter(|(_, c)| !c.is_empty())
        .collect();
    let Some((first_n, first)) = lines.first() else {
        return Ok(Vec::new());
    };
    let mut header = false;
    if first.len() >= 6 {
        header = true;
        for c in &first[1..5] {
            if parse_f64(c, file, Some(*first_n), "a header or view column")? != 0.0 {
                header = false;
                break;
            }
        }
    }
    let (f, data) = if header {
        let f = parse_f64(first[0], file, Some(*first_n), "the header flag")?;
        (f.trunc() as i64, &lines[1..])
    } else {
        (0, &lines[..])
    };
    let width = imod_width(f);
    for (i, (n, c)) in data.iter().enumerate() {
        // The first data row may carry a trailing version number.
        let ok = c.len() == width || (i == 0 && c.len() == width + 1);
        if !ok {
            let hint = if !header && c.len() >= 7 {
                " (astigmatism data needs a version-3 header line)"
            } else {
                ""
            };
            return Err(FormatError::malformed(
                file,
                Some(*n),
                format!("{width} columns for flag {f}{hint}"),
                format!("{} columns", c.len()),
            ));
        }
    }
    let mut views = Vec::with_capacity(data.len());
    for (n, c) in data {
        views.push(parse_f64(c[0], file, Some(*n), "the start view")?.trunc() as i64);
    }
    match views.iter().min() {
        None => {
            return Err(FormatError::invalid(
                file,
                None,
                "a version-3 header but no data rows",
            ));
        }
        Some(0) => {
            return Err(FormatError::invalid(
                file,
                None,
                "0-based view numbers (pre-IMOD-4.1 off-by-one bug): regenerate it with a current IMOD so views are 1-based",
            ));
        }
        Some(_) => {}
    }
    let mut out = Vec::with_capacity(data.len());
    for ((n, c), section) in data.iter().zip(views) {
        let v = |i: usize, what: &str| parse_f64(c[i], file, Some(*n), what);
        let (d1, d2, mut azimuth, next) = if f & flag::ASTIGMATISM != 0 {
            (
                v(4, "defocus U")?,
                v(5, "defocus V")?,
                v(6, "astigmatism azimuth")?,
                7,
            )
        } else {
            let d = v(4, "defocus")?;
            (d, d, 0.0, 5)
        };
        if f & flag::ASTIGMATISM != 0 && f & flag::ASTIGMATISM_RADIANS != 0 {
            azimuth = degrees(azimuth);
        }
        let mut phase_shift = 0.0;
        if f & flag::PHASE_SHIFT != 0 {
            phase_shift = v(next, "phase shift")?;
            if f & flag::PHASE_SHIFT_RADIANS == 0 {
                phase_shift = radians(phase_shift);
            }
        }
        out.push(CtfRow {
            section,
            defocus_1: d1 * 10.0,
            defocus_2: d2 * 10.0,
            azimuth,
            phase_shift,
            cross_correlation: 0.0,
            max_resolution: 0.0,
        });
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::f64::consts::PI;

    /// The reference fixture input_bucket/10001_input/metadata/TS_run1_ctffind4.txt.
    const CTFFIND_FIXTURE: &str = "# Columns: #1 micrograph number; #2 - defocus 1 [A]; #3 - defocus 2; #4 - azimuth of astigmatism; #5 - additional phase shift [radian]; #6 - cross correlation; #7 - spacing (in Angstroms) up to which CTF rings were fit successfully; #8 - dfHand
   1   72249.28  71262.08    -42.32     0.0000    0.1138   28.4226    1
   2   72222.11  71235.27    -50.87     0.0000    0.1169   28.4226    1
   3   71568.57  70590.66    -42.32     0.0000    0.1612   27.7120    1
";

    #[test]
    fn ctffind_fixture() {
        let rows = parse_ctf("CTFFIND", CTFFIND_FIXTURE, "TS_run1_ctffind4.txt").unwrap();
        assert_eq!(rows.len(), 3);
        assert_eq!(
            rows[0],
            CtfRow {
                section: 1,
                defocus_1: 72249.28,
                defocus_2: 71262.08,
                azimuth: -42.32,
                phase_shift: 0.0,
                cross_correlation: 0.1138,
                max_resolution: 28.4226
            }
        );
        assert_eq!(rows[2].section, 3);
        assert_eq!(rows[2].max_resolution, 27.712);
        // Format names are case-insensitive.
        assert_eq!(parse_ctf("ctffind", CTFFIND_FIXTURE, "f").unwrap(), rows);
    }

    #[test]
    fn ctffind4_native_output_with_its_header_block() {
        let text = "# Output from CTFFind version 4.1.14, run on 2023-03-01 10:00:00
# Input file: /data/TS_01.mrc ; Number of micrographs: 2
# Pixel size: 1.350 Angstroms ; acceleration voltage: 300.0 keV ; spherical aberration: 2.70 mm ; amplitude contrast: 0.07
# Box size: 512 pixels ; min. res.: 30.0 Angstroms ; max. res.: 5.0 Angstroms ; min. def.: 5000.0 um; max. def. 50000.0 um
# Columns: #1 - micrograph number; #2 - defocus 1 [Angstroms]; #3 - defocus 2; #4 - azimuth of astigmatism; #5 - additional phase shift [radians]; #6 - cross correlation; #7 - spacing (in Angstroms) up to which CTF rings were fit successfully
1.000000 23554.371094 23264.378906 -45.474159 0.000000 0.065346 5.263158
2.000000 23601.880859 23311.050781 -44.981998 0.000000 0.061771 6.134969
";
        let rows = parse_ctffind(text, "TS_01_ctf.txt").unwrap();
        assert_eq!(
            rows.iter().map(|r| r.section).collect::<Vec<_>>(),
            vec![1, 2]
        );
        assert_eq!(rows[0].defocus_1, 23554.371094);
        assert_eq!(rows[1].max_resolution, 6.134969);
    }

    #[test]
    fn ctffind_errors() {
        let e = parse_ctffind("# header\n1 2 3 4 5\n", "c.txt").unwrap_err();
        assert_eq!(
            e.to_string(),
            "c.txt:2: expected at least 7 columns (section defocus_1 defocus_2 azimuth phase_shift cross_correlation max_resolution), found 5 columns"
        );
        let e = parse_ctffind("# header\n1.5 2 3 4 5 6 7\n", "c.txt").unwrap_err();
        assert_eq!(
            e.to_string(),
            "c.txt:2: expected an integer section number, found \"1.5\""
        );
        assert!(parse_ctffind("\n\n", "c.txt").is_err());
        // The first line is dropped even when it is data, as the reference does.
        assert!(parse_ctffind("1 2 3 4 5 6 7\n", "c.txt")
            .unwrap()
            .is_empty());
    }

    #[test]
    fn gctf_seven_and_six_columns() {
        let text = "# Gctf v1.18 summary
; written by Gctf
% idx defU defV angle phase cc res

1  21378.42  20941.77  45.12  0.00  0.087  4.21
2.4  21400.00  20900.00  44.00  0.5  0.090  4.50
";
        let rows = parse_ctf("Gctf", text, "gctf.txt").unwrap();
        assert_eq!(rows.len(), 2);
        assert_eq!(rows[0].section, 1);
        assert_eq!(rows[0].defocus_2, 20941.77);
        assert_eq!(rows[0].cross_correlation, 0.087);
        assert_eq!(rows[1].section, 2);
        assert_eq!(rows[1].phase_shift, 0.5);

        let rows = parse_gctf("2.5 1 2 3 0.1 4\n3.5 1 2 3 0.1 4\n", "g").unwrap();
        // Round half to even, like Python's round().
        assert_eq!(
            rows.iter().map(|r| r.section).collect::<Vec<_>>(),
            vec![2, 4]
        );
        assert_eq!(rows[0].phase_shift, 0.0);
        assert_eq!(rows[0].cross_correlation, 0.1);
        assert_eq!(rows[0].max_resolution, 4.0);
    }

    #[test]
    fn gctf_bad_width() {
        let e = parse_gctf("# h\n1 2 3 4 5\n", "gctf.txt").unwrap_err();
        assert_eq!(
            e.to_string(),
            "gctf.txt:2: expected 6 or 7 columns (idx defU defV angle [phase] cc res), found 5 columns"
        );
    }

    #[test]
    fn unknown_format_is_empty() {
        assert!(parse_ctf("ARETOMO", CTFFIND_FIXTURE, "f")
            .unwrap()
            .is_empty());
        assert!(parse_ctf("", "garbage", "f").unwrap().is_empty());
    }

    fn imod(text: &str) -> Result<Vec<CtfRow>, FormatError> {
        parse_ctf("IMOD", text, "TS_01.defocus")
    }

    #[test]
    fn imod_v2_trailing_version_on_first_row() {
        let rows = imod("1\t1\t-64.88\t-64.88\t7643\t2\n2\t2\t-61.87\t-61.87\t7650\n3\t3\t-58.86\t-58.86\t7589\n").unwrap();
        assert_eq!(
            rows.iter().map(|r| r.section).collect::<Vec<_>>(),
            vec![1, 2, 3]
        );
        assert_eq!(rows[0].defocus_1, 76430.0);
        assert_eq!(rows[0].defocus_2, 76430.0);
        assert_eq!(rows[2].defocus_1, 75890.0);
        assert!(rows
            .iter()
            .all(|r| r.azimuth == 0.0 && r.phase_shift == 0.0));
        assert!(rows
            .iter()
            .all(|r| r.cross_correlation == 0.0 && r.max_resolution == 0.0));
    }

    #[test]
    fn imod_v1_and_v3_single_defocus() {
        let v1 = imod("1 1 -60.0 -60.0 7000\n2 2 -57.0 -57.0 7100\n").unwrap();
        assert_eq!(v1.len(), 2);
        assert_eq!(v1[1].defocus_2, 71000.0);
        let v3 = imod("0 0 0.0 0.0 0.0 3\n1 1 -60.0 -60.0 7000\n2 2 -57.0 -57.0 7100\n").unwrap();
        assert_eq!(v3, v1);
    }

    #[test]
    fn imod_v3_astigmatism() {
        let rows = imod("1 0 0.0 0.0 0.0 3\n1 1 -50.00 -50.00 3665 3472 -62.10\n2 2 -47.00 -47.00 3600 3400 -61.0\n").unwrap();
        assert_eq!(rows.len(), 2);
        assert_eq!(
            (rows[0].defocus_1, rows[0].defocus_2, rows[0].azimuth),
            (36650.0, 34720.0, -62.10)
        );
        assert_eq!(rows[1].section, 2);
    }

    #[test]
    fn imod_phase_and_cut_on() {
        let rows = imod("4 0 0.0 0.0 0.0 3\n1 1 -50 -50 7000 180\n2 2 -47 -47 7100 180\n").unwrap();
        assert_eq!(rows[0].defocus_1, 70000.0);
        assert!((rows[0].phase_shift - PI).abs() < 1e-12);
        // flag 36: phase + cut-on without astigmatism -> 7 columns, not read as astigmatism.
        let rows = imod("36 0 0.0 0.0 0.0 3\n1 1 -50 -50 7000 180 0.17\n").unwrap();
        assert_eq!(
            (rows[0].defocus_1, rows[0].defocus_2, rows[0].azimuth),
            (70000.0, 70000.0, 0.0)
        );
        assert!((rows[0].phase_shift - PI).abs() < 1e-12);
        // flag 37: astigmatism + phase + cut-on -> 9 columns.
        let rows = imod("37 0 0.0 0.0 0.0 3\n1 1 -50 -50 3665 3472 -62.10 180 0.1686\n").unwrap();
        assert_eq!(
            (rows[0].defocus_1, rows[0].defocus_2, rows[0].azimuth),
            (36650.0, 34720.0, -62.10)
        );
        assert!((rows[0].phase_shift - PI).abs() < 1e-12);
    }

    #[test]
    fn imod_radian_flags() {
        let rows = imod("3 0 0.0 0.0 0.0 3\n1 1 -50 -50 3665 3472 -1.0838\n").unwrap();
        assert!((rows[0].azimuth - (-62.10)).abs() < 1e-2);
        assert_eq!(rows[0].azimuth, -1.0838 * (180.0 / PI));
        let rows = imod("12 0 0.0 0.0 0.0 3\n1 1 -50 -50 7000 1.25\n").unwrap();
        assert_eq!(rows[0].phase_shift, 1.25);
    }

    #[test]
    fn imod_zero_tilt_row_is_data_not_header() {
        let rows = imod("20\t20\t0.0\t0.0\t7000\n").unwrap();
        assert_eq!(rows.len(), 1);
        assert_eq!(rows[0].section, 20);
        assert_eq!(rows[0].defocus_1, 70000.0);
    }

    #[test]
    fn imod_rejections() {
        let e =
            imod("1 1 -60.0 -60.0 3665 3472 -62.0\n2 2 -57.0 -57.0 3600 3400 -61.0\n").unwrap_err();
        assert_eq!(
            e.to_string(),
            "TS_01.defocus:1: expected 5 columns for flag 0 (astigmatism data needs a version-3 header line), found 7 columns"
        );
        let e =
            imod("1 0 0.0 0.0 0.0 3\n1 1 -50 -50 3665 3472 -62.0\n2 2 -47 -47 3600\n").unwrap_err();
        assert_eq!(
            e.to_string(),
            "TS_01.defocus:3: expected 7 columns for flag 1, found 5 columns"
        );
        let e = imod("0 0 -60.0 -60.0 7000\n1 1 -57.0 -57.0 7100\n").unwrap_err();
        assert!(e.to_string().contains("0-based view numbers"), "{e}");
        let e = imod("1 0 0.0 0.0 0.0 3\n").unwrap_err();
        assert_eq!(
            e.to_string(),
            "TS_01.defocus: a version-3 header but no data rows"
        );
    }

    #[test]
    fn imod_empty_file() {
        assert!(imod("\n  \n").unwrap().is_empty());
        assert!(imod("").unwrap().is_empty());
    }
}
