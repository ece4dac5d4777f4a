//! Per-section alignment parameters from IMOD (`.xf` + `.tlt` [+ `.xtilt`/`.tltx`] [+ `tilt.com`])
//! or AreTomo3 (`.aln`) files, computed as `cryoet-alignment` 0.0.10 does (`Alignment.from_imod`
//! / `Alignment.from_aretomo3`), plus the identity defaults of a portal alignment (spec §8.1).
//!
//! IMOD's `.xf` maps the raw image onto the aligned one; the portal stores the inverse
//! convention (AreTomo's): the in-plane rotation is the transpose of the xf matrix and the
//! offset is that transpose applied to the negated xf shift. AreTomo3 rows already use that
//! convention; their rotation angle (°) becomes `[[cos, -sin], [sin, cos]]`.
//!
//! Bit-exactness caveat: numpy evaluates the 2×2 product and `cos`/`sin` with its own kernels
//! (possibly fused multiply-adds or SIMD trigonometry), so the last bit of an offset or matrix
//! entry may differ from the reference on some machines. The values here are the plain IEEE
//! evaluation of the same formulas.

use serde_json::{json, Map, Value};

use super::ctf::radians;
use super::error::{numbered_lines, parse_f64, parse_i64, FormatError};
use super::tilts::XfRow;

/// One entry of `per_section_alignment_parameters`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct SectionAlignment {
    /// 0-based index of the section in the raw tilt series (excluded and dark sections keep
    /// their gaps).
    pub z_index: i64,
    /// Tilt angle in degrees.
    pub tilt_angle: f64,
    /// Rotation about the volume's x axis in degrees (IMOD's xtilt; 0 without one, and for
    /// AreTomo3).
    pub volume_x_rotation: f64,
    /// 2×2 in-plane rotation matrix, row-major, in the portal's (AreTomo) convention: the
    /// transpose of IMOD's xf matrix.
    pub in_plane_rotation: [[f64; 2]; 2],
    /// In-plane x shift in pixels, portal convention (see the module doc).
    pub x_offset: f64,
    /// In-plane y shift in pixels, portal convention.
    pub y_offset: f64,
}

impl SectionAlignment {
    /// The JSON object, in the key order of the library's model dump:
    /// `z_index, tilt_angle, volume_x_rotation, in_plane_rotation, x_offset, y_offset`.
    /// Non-finite numbers (which JSON cannot hold) become `null`.
    pub fn to_json(&self) -> Value {
        let r = self.in_plane_rotation;
        json!({
            "z_index": self.z_index,
            "tilt_angle": self.tilt_angle,
            "volume_x_rotation": self.volume_x_rotation,
            "in_plane_rotation": [[r[0][0], r[0][1]], [r[1][0], r[1][1]]],
            "x_offset": self.x_offset,
            "y_offset": self.y_offset,
        })
    }
}

/// IMOD → portal parameters. Sections are paired as Python's `zip` pairs them (stopping at the
/// shortest of xf, tlt and xtilt); `volume_x_rotation` is the xtilt angle, or 0 without xtilt.
/// `exclude_1based` (from `tilt.com`'s EXCLUDELIST2) drops those sections but keeps the
/// z_index of the others.
pub fn from_imod(
    xf: &[XfRow],
    tlt: &[f64],
    xtilt: Option<&[f64]>,
    exclude_1based: &[i64],
) -> Vec<SectionAlignment> {
    let n = match xtilt {
        Some(x) => xf.len().min(tlt.len()).min(x.len()),
        None => xf.len().min(tlt.len()),
    };
    (0..n)
        .filter(|&z| !exclude_1based.contains(&(z as i64 + 1)))
        .map(|z| {
            let t = xf[z];
            let (sx, sy) = (-t.sx, -t.sy);
            SectionAlignment {
                z_index: z as i64,
                tilt_angle: tlt[z],
                volume_x_rotation: xtilt.map_or(0.0, |x| x[z]),
                in_plane_rotation: [[t.mxx, t.myx], [t.mxy, t.myy]],
                // numpy's `mat @ -shift` accumulates from +0.0 (BLAS gemv), so a zero
                // offset is written `0.0`, never `-0.0`.
                x_offset: 0.0 + t.mxx * sx + t.myx * sy,
                y_offset: 0.0 + t.mxy * sx + t.myy * sy,
            }
        })
        .collect()
}

/// A dark (discarded) frame of an AreTomo3 alignment: its index in the raw tilt series.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct DarkFrame {
    /// 0-based index of the dropped section in the raw tilt series.
    pub section_idx: i64,
    /// The line's second integer, parsed for validation and otherwise unused.
    pub val2: i64,
    /// Tilt angle of the dropped section in degrees.
    pub angle: f64,
}

/// One global-alignment row of an `.aln` file.
///
/// The fields are AreTomo3's column headings, lower-cased, in file order
/// (`# SEC ROT GMAG TX TY SMEAN SFIT SCALE BASE TILT`); only the ones used here are documented.
// Fields named by the `.aln` format's own column headings; the unused ones keep its meaning.
#[allow(missing_docs)]
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct AlnRow {
    /// `SEC`: the row's own section number (not used: the z index comes from `RawSize` minus the
    /// dark frames).
    pub sec: i64,
    /// `ROT`: in-plane rotation in degrees.
    pub rot: f64,
    pub gmag: f64,
    /// `TX`: x shift in pixels (already in the portal's convention).
    pub tx: f64,
    /// `TY`: y shift in pixels (already in the portal's convention).
    pub ty: f64,
    pub smean: f64,
    pub sfit: f64,
    pub scale: f64,
    pub base: f64,
    /// `TILT`: tilt angle in degrees.
    pub tilt: f64,
}

/// A parsed AreTomo3 `.aln` file (local-alignment rows are validated and counted only).
#[derive(Debug, Clone, PartialEq)]
pub struct AretomoAln {
    /// `# RawSize`: x, y and number of sections of the raw tilt series, in that order.
    pub raw_size: [i64; 3],
    /// `# NumPatches`: number of local-alignment patches (0 for global only).
    pub num_patches: i64,
    /// The `# DarkFrame` lines, in file order.
    pub dark_frames: Vec<DarkFrame>,
    /// 0 when the file has no `# AlphaOffset` line.
    pub alpha_offset: f64,
    /// 0 when the file has no `# BetaOffset` line.
    pub beta_offset: f64,
    /// The global-alignment rows, in file order.
    pub global: Vec<AlnRow>,
    /// Number of local-alignment rows (validated, not kept).
    pub local_rows: usize,
}

/// The text after the first `=` (up to a second one), as `line.split("=")[1]` gives it.
fn after_eq<'a>(line: &'a str, file: &str, n: usize) -> Result<&'a str, FormatError> {
    line.split('=').nth(1).ok_or_else(|| {
        FormatError::malformed(file, Some(n), "`# Key = value`", format!("{line:?}"))
    })
}

#[derive(PartialEq)]
enum AlnBlock {
    Header,
    Global,
    Local,
}

/// Parses an AreTomo3 `.aln` file. `# RawSize` (3 integers) and `# NumPatches` are required,
/// as the library requires them. Blank lines are skipped.
pub fn parse_aln(text: &str, file: &str) -> Result<AretomoAln, FormatError> {
    let mut raw_size = None;
    let mut num_patches = None;
    let mut aln = AretomoAln {
        raw_size: [0; 3],
        num_patches: 0,
        dark_frames: Vec::new(),
        alpha_offset: 0.0,
        beta_offset: 0.0,
        global: Vec::new(),
        local_rows: 0,
    };
    let mut block = AlnBlock::Header;
    for (n, line) in numbered_lines(text) {
        let at = Some(n);
        if line.trim().is_empty() || line.starts_with("# AreTomo Alignment") {
            continue;
        } else if line.starts_with("# RawSize") {
            let v: Vec<&str> = after_eq(line, file, n)?.split_whitespace().collect();
            if v.len() != 3 {
                return Err(FormatError::malformed(
                    file,
                    at,
                    "3 integers after `# RawSize =`",
                    format!("{} values", v.len()),
                ));
            }
            let mut size = [0; 3];
            for (slot, tok) in size.iter_mut().zip(&v) {
                *slot = parse_i64(tok, file, at, "RawSize")?;
            }
            raw_size = Some(size);
        } else if line.starts_with("# NumPatches") {
            num_patches = Some(parse_i64(after_eq(line, file, n)?, file, at, "NumPatches")?);
        } else if line.starts_with("# DarkFrame") {
            let v: Vec<&str> = after_eq(line, file, n)?.split_whitespace().collect();
            if v.len() < 3 {
                return Err(FormatError::malformed(
                    file,
                    at,
                    "3 values after `# DarkFrame =`",
                    format!("{} values", v.len()),
                ));
            }
            aln.dark_frames.push(DarkFrame {
                section_idx: parse_i64(v[0], file, at, "the dark frame section")?,
                val2: parse_i64(v[1], file, at, "the dark frame's second value")?,
                angle: parse_f64(v[2], file, at, "the dark frame angle")?,
            });
        } else if line.starts_with("# AlphaOffset") {
            aln.alpha_offset = parse_f64(after_eq(line, file, n)?, file, at, "AlphaOffset")?;
        } else if line.starts_with("# BetaOffset") {
            aln.beta_offset = parse_f64(after_eq(line, file, n)?, file, at, "BetaOffset")?;
        } else if line.starts_with("# SEC") {
            block = AlnBlock::Global;
        } else if line.starts_with("# Local Alignment") {
            block = AlnBlock::Local;
        } else if block == AlnBlock::Global {
            let c: Vec<&str> = line.split_whitespace().collect();
            if c.len() < 10 {
                return Err(FormatError::malformed(
                    file,
                    at,
                    "10 columns (SEC ROT GMAG TX TY SMEAN SFIT SCALE BASE TILT)",
                    format!("{} columns", c.len()),
                ));
            }
            let f = |i: usize, what: &str| parse_f64(c[i], file, at, what);
            aln.global.push(AlnRow {
                sec: parse_i64(c[0], file, at, "SEC")?,
                rot: f(1, "ROT")?,
                gmag: f(2, "GMAG")?,
                tx: f(3, "TX")?,
                ty: f(4, "TY")?,
                smean: f(5, "SMEAN")?,
                sfit: f(6, "SFIT")?,
                scale: f(7, "SCALE")?,
                base: f(8, "BASE")?,
                tilt: f(9, "TILT")?,
            });
        } else if block == AlnBlock::Local {
            let c: Vec<&str> = line.split_whitespace().collect();
            if c.len() < 7 {
                return Err(FormatError::malformed(
                    file,
                    at,
                    "7 columns in a local alignment row",
                    format!("{} columns", c.len()),
                ));
            }
            parse_i64(c[0], file, at, "the local section index")?;
            parse_i64(c[1], file, at, "the patch index")?;
            for (i, tok) in c[2..7].iter().enumerate() {
                parse_f64(tok, file, at, &format!("local alignment column {}", i + 3))?;
            }
            aln.local_rows += 1;
        }
    }
    aln.raw_size =
        raw_size.ok_or_else(|| FormatError::invalid(file, None, "no `# RawSize = x y z` line"))?;
    aln.num_patches = num_patches
        .ok_or_else(|| FormatError::invalid(file, None, "no `# NumPatches = n` line"))?;
    Ok(aln)
}

/// AreTomo3 → portal parameters. The z_index of each global row is the raw section index left
/// after removing the dark frames (the row's own SEC column is not used, as in the library);
/// `volume_x_rotation` is 0.
pub fn from_aretomo3(aln: &AretomoAln, file: &str) -> Result<Vec<SectionAlignment>, FormatError> {
    let mut sections: Vec<i64> = (0..aln.raw_size[2]).collect();
    for d in &aln.dark_frames {
        let pos = sections
            .iter()
            .position(|&s| s == d.section_idx)
            .ok_or_else(|| {
                FormatError::invalid(
                    file,
                    None,
                    format!(
                        "dark frame {} is not a section of RawSize z = {}",
                        d.section_idx, aln.raw_size[2]
                    ),
                )
            })?;
        sections.remove(pos);
    }
    if sections.len() != aln.global.len() {
        return Err(FormatError::invalid(
            file,
            None,
            format!(
                "RawSize z ({}) minus {} dark frames leaves {} sections, but there are {} global alignment rows",
                aln.raw_size[2],
                aln.dark_frames.len(),
                sections.len(),
                aln.global.len()
            ),
        ));
    }
    Ok(sections
        .iter()
        .zip(&aln.global)
        .map(|(&z, row)| {
            let a = radians(row.rot);
            let (s, c) = (a.sin(), a.cos());
            SectionAlignment {
                z_index: z,
                tilt_angle: row.tilt,
                volume_x_rotation: 0.0,
                in_plane_rotation: [[c, -s], [s, c]],
                x_offset: row.tx,
                y_offset: row.ty,
            }
        })
        .collect())
}

/// Convenience: `per_section_alignment_parameters` JSON from IMOD file texts. Each argument is
/// `(text, file name)`; `tiltcom` supplies the excluded sections.
pub fn imod_per_section_parameters(
    xf: (&str, &str),
    tlt: (&str, &str),
    xtilt: Option<(&str, &str)>,
    tiltcom: Option<(&str, &str)>,
) -> Result<Vec<Value>, FormatError> {
    use super::tilts::{parse_angles, parse_tiltcom_exclude_list, parse_xf};
    let xf = parse_xf(xf.0, xf.1)?;
    let tlt = parse_angles(tlt.0, tlt.1)?;
    let xtilt = xtilt.map(|(t, f)| parse_angles(t, f)).transpose()?;
    let exclude = match tiltcom {
        Some((t, f)) => parse_tiltcom_exclude_list(t, f)?,
        None => Vec::new(),
    };
    Ok(from_imod(&xf, &tlt, xtilt.as_deref(), &exclude)
        .iter()
        .map(SectionAlignment::to_json)
        .collect())
}

/// Convenience: `per_section_alignment_parameters` JSON from `.aln` text.
pub fn aretomo3_per_section_parameters(text: &str, file: &str) -> Result<Vec<Value>, FormatError> {
    let aln = parse_aln(text, file)?;
    Ok(from_aretomo3(&aln, file)?
        .iter()
        .map(SectionAlignment::to_json)
        .collect())
}

/// The defaults of a portal alignment (`AlignmentImporter.get_default_metadata`), in the
/// reference's key order and JSON types (integers, not floats).
pub fn identity_alignment_defaults() -> Map<String, Value> {
    let v = json!({
        "affine_transformation_matrix": [[1, 0, 0, 0], [0, 1, 0, 0], [0, 0, 1, 0], [0, 0, 0, 1]],
        "alignment_type": "GLOBAL",
        "is_portal_standard": false,
        "volume_offset": {"x": 0, "y": 0, "z": 0},
        "tilt_offset": 0,
        "x_rotation_offset": 0,
        "method_type": "undefined",
    });
    match v {
        Value::Object(m) => m,
        _ => unreachable!("a JSON object literal"),
    }
}

/// The defaults whose keys the alignment's config metadata lacks; the reference adds exactly
/// these to the extracted metadata.
pub fn missing_alignment_defaults(config_metadata: &Map<String, Value>) -> Map<String, Value> {
    identity_alignment_defaults()
        .into_iter()
        .filter(|(k, _)| !config_metadata.contains_key(k))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    // Reference fixtures from input_bucket/10001_input/alignments/.
    const XF: &str = "    0.029     1.000    -1.000     0.029     55.43     25.56
    0.029     1.000    -1.000     0.029    -75.84     55.10
    0.029     1.000    -1.000     0.029    -93.80     77.79
";
    const TLT: &str = "-5\n0\n5\n";
    const XTILT: &str = "0.23\n2.12\n1.97\n";
    const ALN: &str = "# AreTomo Alignment / Priims bprmMn
# RawSize = 10 20 3
# NumPatches = 0

# AlphaOffset =     0.00
# BetaOffset =     0.00
# SEC     ROT         GMAG       TX          TY      SMEAN     SFIT    SCALE     BASE     TILT
    0    88.3389    1.00000     23.953    -56.171     1.00     1.00     1.00     0.00     -5.00
    1    88.3389    1.00000     57.299     74.242     1.00     1.00     1.00     0.00      0.00
    2    88.3389    1.00000     80.510     91.544     1.00     1.00     1.00     0.00      5.00
# Local Alignment
";

    /// Spec §8.1 / test_alignments.py expectations: (z, tilt, x_offset, y_offset).
    const EXPECTED: [(i64, f64, f64, f64); 3] = [
        (0, -5.0, 23.95253, -56.17124),
        (1, 0.0, 57.29936, 74.2421),
        (2, 5.0, 80.5102, 91.54409),
    ];

    fn close(a: f64, b: f64, tol: f64) -> bool {
        (a - b).abs() <= tol
    }

    fn check(got: &[Value], x_rot: [f64; 3], tol: f64) {
        assert_eq!(got.len(), 3);
        for ((g, (z, tilt, x, y)), xr) in got.iter().zip(EXPECTED).zip(x_rot) {
            assert_eq!(g["z_index"], json!(z));
            assert_eq!(g["tilt_angle"], json!(tilt));
            assert_eq!(g["volume_x_rotation"], json!(xr));
            assert!(close(g["x_offset"].as_f64().unwrap(), x, tol), "{g}");
            assert!(close(g["y_offset"].as_f64().unwrap(), y, tol), "{g}");
            let r = &g["in_plane_rotation"];
            for (i, j, want) in [(0, 0, 0.029), (0, 1, -1.0), (1, 0, 1.0), (1, 1, 0.029)] {
                assert!(close(r[i][j].as_f64().unwrap(), want, tol), "{r}");
            }
            let keys: Vec<_> = g.as_object().unwrap().keys().cloned().collect();
            assert_eq!(
                keys,
                [
                    "z_index",
                    "tilt_angle",
                    "volume_x_rotation",
                    "in_plane_rotation",
                    "x_offset",
                    "y_offset"
                ]
            );
        }
    }

    #[test]
    fn imod_fixture_with_xtilt() {
        let got = imod_per_section_parameters(
            (XF, "TS_run1.xf"),
            (TLT, "TS_run1.tlt"),
            Some((XTILT, "TS_run1.xtilt")),
            None,
        )
        .unwrap();
        check(&got, [0.23, 2.12, 1.97], 1e-4);
        // The rotation is the exact transpose of the xf matrix.
        assert_eq!(
            got[0]["in_plane_rotation"],
            json!([[0.029, -1.0], [1.0, 0.029]])
        );
    }

    #[test]
    fn imod_fixture_without_xtilt() {
        let got = imod_per_section_parameters((XF, "TS_run1.xf"), (TLT, "TS_run1.tlt"), None, None)
            .unwrap();
        check(&got, [0.0, 0.0, 0.0], 1e-4);
        assert!(got[0]["volume_x_rotation"].is_f64());
    }

    #[test]
    fn imod_excluded_sections_keep_z_indices() {
        let tiltcom = "$tilt -StandardInput\nEXCLUDELIST2 2\n";
        let got = imod_per_section_parameters(
            (XF, "a.xf"),
            (TLT, "a.tlt"),
            None,
            Some((tiltcom, "tilt.com")),
        )
        .unwrap();
        let z: Vec<_> = got.iter().map(|g| g["z_index"].as_i64().unwrap()).collect();
        assert_eq!(z, vec![0, 2]);
        assert!(close(got[1]["x_offset"].as_f64().unwrap(), 80.5102, 1e-4));
    }

    #[test]
    fn imod_pairs_like_zip() {
        let got =
            imod_per_section_parameters((XF, "a.xf"), ("-5\n0\n", "a.tlt"), None, None).unwrap();
        assert_eq!(got.len(), 2);
    }

    #[test]
    fn imod_offsets_are_the_transposed_negated_shift() {
        let xf = [XfRow {
            mxx: 0.0,
            mxy: 1.0,
            myx: -1.0,
            myy: 0.0,
            sx: 3.0,
            sy: 5.0,
        }];
        let got = from_imod(&xf, &[10.0], None, &[]);
        // transpose [[0,-1],[1,0]] applied to (-3,-5) = (5, -3)
        assert_eq!((got[0].x_offset, got[0].y_offset), (5.0, -3.0));
        assert_eq!(got[0].in_plane_rotation, [[0.0, -1.0], [1.0, 0.0]]);
    }

    #[test]
    fn aretomo3_fixture() {
        let aln = parse_aln(ALN, "TS_run1.aln").unwrap();
        assert_eq!(aln.raw_size, [10, 20, 3]);
        assert_eq!(aln.num_patches, 0);
        assert_eq!(aln.global.len(), 3);
        assert_eq!(aln.global[1].tx, 57.299);
        let got = aretomo3_per_section_parameters(ALN, "TS_run1.aln").unwrap();
        check(&got, [0.0, 0.0, 0.0], 1e-2);
        let a = 88.3389 * (std::f64::consts::PI / 180.0);
        assert_eq!(
            got[0]["in_plane_rotation"],
            json!([[a.cos(), -a.sin()], [a.sin(), a.cos()]])
        );
        assert_eq!(got[0]["x_offset"], json!(23.953));
    }

    #[test]
    fn aretomo3_dark_frames_shift_z_indices() {
        let text = "# AreTomo Alignment / Priims bprmMn
# RawSize = 4092 5760 4
# NumPatches = 0
# DarkFrame =     1    1   -57.00
# AlphaOffset =     1.50
# BetaOffset =    -0.25
# SEC     ROT         GMAG       TX          TY      SMEAN     SFIT    SCALE     BASE     TILT
    0    -95.1000    1.00000      1.000      2.000     1.00     1.00     1.00     0.00    -60.00
    1    -95.1000    1.00000      3.000      4.000     1.00     1.00     1.00     0.00    -54.00
    2    -95.1000    1.00000      5.000      6.000     1.00     1.00     1.00     0.00    -51.00
# Local Alignment
   0   0   -12.50    300.00      1.20     -0.80   1.0
";
        let aln = parse_aln(text, "TS_01.aln").unwrap();
        assert_eq!(
            (aln.alpha_offset, aln.beta_offset, aln.local_rows),
            (1.5, -0.25, 1)
        );
        assert_eq!(
            aln.dark_frames,
            vec![DarkFrame {
                section_idx: 1,
                val2: 1,
                angle: -57.0
            }]
        );
        let got = from_aretomo3(&aln, "TS_01.aln").unwrap();
        assert_eq!(
            got.iter().map(|s| s.z_index).collect::<Vec<_>>(),
            vec![0, 2, 3]
        );
        assert_eq!(got[1].x_offset, 3.0);
        assert_eq!(got[2].tilt_angle, -51.0);
    }

    #[test]
    fn aretomo3_errors() {
        let e = parse_aln(
            "# RawSize = 10 20 3\n# NumPatches = 0\n# SEC ROT\n 0 88.3 1.0 23.9\n",
            "a.aln",
        )
        .unwrap_err();
        assert_eq!(
            e.to_string(),
            "a.aln:4: expected 10 columns (SEC ROT GMAG TX TY SMEAN SFIT SCALE BASE TILT), found 4 columns"
        );
        let e = parse_aln("# NumPatches = 0\n", "a.aln").unwrap_err();
        assert_eq!(e.to_string(), "a.aln: no `# RawSize = x y z` line");
        let e = parse_aln("# RawSize = 10 20\n", "a.aln").unwrap_err();
        assert_eq!(
            e.to_string(),
            "a.aln:1: expected 3 integers after `# RawSize =`, found 2 values"
        );
        let short = ALN.replace("# RawSize = 10 20 3", "# RawSize = 10 20 4");
        let e = aretomo3_per_section_parameters(&short, "a.aln").unwrap_err();
        assert!(
            e.to_string()
                .contains("leaves 4 sections, but there are 3 global alignment rows"),
            "{e}"
        );
        let bad_dark = ALN.replace(
            "# NumPatches = 0",
            "# NumPatches = 0\n# DarkFrame =  7  1  60.0",
        );
        let e = aretomo3_per_section_parameters(&bad_dark, "a.aln").unwrap_err();
        assert_eq!(
            e.to_string(),
            "a.aln: dark frame 7 is not a section of RawSize z = 3"
        );
    }

    #[test]
    fn defaults_types_and_order() {
        let d = identity_alignment_defaults();
        let keys: Vec<_> = d.keys().cloned().collect();
        assert_eq!(
            keys,
            [
                "affine_transformation_matrix",
                "alignment_type",
                "is_portal_standard",
                "volume_offset",
                "tilt_offset",
                "x_rotation_offset",
                "method_type"
            ]
        );
        assert!(d["affine_transformation_matrix"][3][3].is_i64());
        assert_eq!(d["affine_transformation_matrix"][1], json!([0, 1, 0, 0]));
        assert!(d["tilt_offset"].is_i64() && d["volume_offset"]["z"].is_i64());
        assert_eq!(d["is_portal_standard"], json!(false));
        let mut cfg = Map::new();
        cfg.insert("alignment_type".into(), json!("LOCAL"));
        cfg.insert("tilt_offset".into(), json!(-0.3));
        let missing = missing_alignment_defaults(&cfg);
        assert_eq!(missing.len(), 5);
        assert!(!missing.contains_key("alignment_type") && !missing.contains_key("tilt_offset"));
    }
}
