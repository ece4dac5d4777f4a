//! Frames metadata (spec §8.4) and the tilt series' per-section parameters (spec §6.6), both
//! derived from the destination copy of the mdoc.
//!
//! The values go into metadata JSON as the portal writes them, so the JSON types matter: the
//! first `accumulated_dose` is the integer `0` (the reference starts its running sum at an int),
//! `acquisition_order` and `frame_acquisition_order` are the integer `ZValue`, and CTF fields are
//! `null` for sections without a CTF row.

use serde_json::{json, Map, Value};

use super::ctf::CtfRow;
use super::error::FormatError;
use super::mdoc::{windows_basename, Mdoc};
use crate::pycompat::round::py_round;

fn float(v: f64, field: &str) -> Result<Value, FormatError> {
    serde_json::Number::from_f64(v)
        .map(Value::Number)
        .ok_or_else(|| FormatError::value(field, format!("{v} cannot be written as JSON")))
}

/// One `frames` entry per mdoc section, in mdoc order.
///
/// `copied_frame_paths` are the relative destination paths of the copied frames (empty for a
/// `default` frames source); a section's `path` is the one whose basename equals the basename of
/// its `SubFramePath` (Windows separators handled), else `null`. A zero `dose_rate` is an error,
/// as in the reference; so is a section without `ExposureTime`.
pub fn frames_entries(
    mdoc: &Mdoc,
    dose_rate: f64,
    is_gain_corrected: Option<bool>,
    copied_frame_paths: &[String],
) -> Result<Vec<Value>, FormatError> {
    if dose_rate == 0.0 {
        return Err(FormatError::value(
            "dose_rate",
            "missing or zero dose rate for frames",
        ));
    }
    let mut by_name: Map<String, Value> = Map::new();
    for p in copied_frame_paths {
        let name = p.rsplit('/').next().unwrap_or(p);
        by_name.insert(name.to_string(), Value::String(p.clone()));
    }
    let mut out = Vec::with_capacity(mdoc.sections.len());
    let mut accumulated: Option<f64> = None;
    for s in &mdoc.sections {
        let exposure_time = s.exposure_time.ok_or_else(|| {
            FormatError::invalid(
                &mdoc.file,
                Some(s.line),
                "section has no ExposureTime (needed for exposure_dose)",
            )
        })?;
        let exposure_dose = exposure_time * dose_rate;
        let path = s
            .sub_frame_path
            .as_deref()
            .and_then(|p| by_name.get(windows_basename(p)))
            .cloned()
            .unwrap_or(Value::Null);
        let accumulated_value = match accumulated {
            None => json!(0),
            Some(a) => float(a, "accumulated_dose")?,
        };
        out.push(json!({
            "acquisition_order": s.z_value,
            "accumulated_dose": accumulated_value,
            "exposure_dose": float(exposure_dose, "exposure_dose")?,
            "is_gain_corrected": is_gain_corrected,
            "path": path,
        }));
        accumulated = Some(accumulated.unwrap_or(0.0) + exposure_dose);
    }
    Ok(out)
}

/// Decimal places at which raw tilt angles are matched to mdoc `TiltAngle`s.
const TILT_ANGLE_DECIMALS: usize = 2;

/// The tilt series' `per_section_parameter` list: for raw tilt angle `i`, the first mdoc section
/// whose `TiltAngle` equals it at 2 decimals (Python rounding on both sides) and the CTF row with
/// `section - 1 == i`. Keys, in order: `z_index, frame_acquisition_order, raw_angle,
/// astigmatic_angle, cross_correlation, major_defocus, max_resolution, minor_defocus,
/// phase_shift`. No matching section is [`FormatError::TiltAngleNotFound`]; a section without
/// a `TiltAngle` met before the match is an error, as in the reference.
pub fn per_section_parameters(
    rawtlt_angles: &[f64],
    mdoc: &Mdoc,
    ctf: Option<&[CtfRow]>,
) -> Result<Vec<Value>, FormatError> {
    let ctf = ctf.unwrap_or(&[]);
    let mut out = Vec::with_capacity(rawtlt_angles.len());
    for (i, &angle) in rawtlt_angles.iter().enumerate() {
        let rounded = py_round(angle, TILT_ANGLE_DECIMALS);
        let mut found = None;
        for s in &mdoc.sections {
            let t = s.tilt_angle.ok_or_else(|| {
                FormatError::invalid(
                    &mdoc.file,
                    Some(s.line),
                    "section has no TiltAngle to match raw tilt angles against",
                )
            })?;
            if py_round(t, TILT_ANGLE_DECIMALS) == rounded {
                found = Some((s, t));
                break;
            }
        }
        let Some((section, raw_angle)) = found else {
            return Err(FormatError::TiltAngleNotFound {
                mdoc: mdoc.file.clone(),
                z_index: i,
                angle,
                rounded,
            });
        };
        let row = ctf.iter().find(|r| r.section - 1 == i as i64);
        let opt = |f: fn(&CtfRow) -> f64, name: &str| -> Result<Value, FormatError> {
            row.map_or(Ok(Value::Null), |r| float(f(r), name))
        };
        let mut m = Map::new();
        m.insert("z_index".into(), json!(i));
        m.insert("frame_acquisition_order".into(), json!(section.z_value));
        m.insert("raw_angle".into(), float(raw_angle, "raw_angle")?);
        m.insert(
            "astigmatic_angle".into(),
            opt(|r| r.azimuth, "astigmatic_angle")?,
        );
        m.insert(
            "cross_correlation".into(),
            opt(|r| r.cross_correlation, "cross_correlation")?,
        );
        m.insert(
            "major_defocus".into(),
            opt(|r| r.defocus_1, "major_defocus")?,
        );
        m.insert(
            "max_resolution".into(),
            opt(|r| r.max_resolution, "max_resolution")?,
        );
        m.insert(
            "minor_defocus".into(),
            opt(|r| r.defocus_2, "minor_defocus")?,
        );
        m.insert("phase_shift".into(), opt(|r| r.phase_shift, "phase_shift")?);
        out.push(Value::Object(m));
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::formats::ctf::parse_ctf;
    use crate::formats::mdoc::parse_mdoc;
    use crate::formats::mdoc::tests::FOO_TS_RUN1_MDOC;
    use crate::formats::tilts::parse_angles;

    const CTFFIND: &str = "# Columns: #1 micrograph number; #2 - defocus 1 [A]; #3 - defocus 2; #4 - azimuth of astigmatism; #5 - additional phase shift [radian]; #6 - cross correlation; #7 - spacing (in Angstroms) up to which CTF rings were fit successfully; #8 - dfHand
   1   72249.28  71262.08    -42.32     0.0000    0.1138   28.4226    1
   2   72222.11  71235.27    -50.87     0.0000    0.1169   28.4226    1
   3   71568.57  70590.66    -42.32     0.0000    0.1612   27.7120    1
";

    fn frame_paths() -> Vec<String> {
        (1..=5)
            .map(|i| format!("10001/TS_run1/Frames/TS_run1_{i}.tiff"))
            .collect()
    }

    #[test]
    fn frames_match_the_reference_expectations() {
        let mdoc = parse_mdoc(FOO_TS_RUN1_MDOC, "TS_run1.mdoc").unwrap();
        let frames = frames_entries(&mdoc, 1.881, Some(true), &frame_paths()).unwrap();
        let exposures = [1.0, 1.58, 1.59, 1.58, 1.58];
        assert_eq!(frames.len(), 5);
        let mut acc = 0.0;
        for (i, (f, e)) in frames.iter().zip(exposures).enumerate() {
            let dose = 1.881 * e;
            assert_eq!(f["acquisition_order"], json!(i));
            assert_eq!(f["exposure_dose"].as_f64(), Some(dose));
            assert_eq!(f["accumulated_dose"].as_f64(), Some(acc));
            assert_eq!(f["is_gain_corrected"], json!(true));
            assert_eq!(
                f["path"],
                json!(format!("10001/TS_run1/Frames/TS_run1_{}.tiff", i + 1))
            );
            acc += dose;
        }
        // The running sum starts as the integer 0, as in the reference.
        assert!(frames[0]["accumulated_dose"].is_i64());
        assert!(frames[1]["accumulated_dose"].is_f64());
        let keys: Vec<_> = frames[0].as_object().unwrap().keys().cloned().collect();
        assert_eq!(
            keys,
            [
                "acquisition_order",
                "accumulated_dose",
                "exposure_dose",
                "is_gain_corrected",
                "path"
            ]
        );
    }

    #[test]
    fn default_frames_have_null_paths() {
        let mdoc = parse_mdoc(FOO_TS_RUN1_MDOC, "TS_run1.mdoc").unwrap();
        let frames = frames_entries(&mdoc, 1.881, None, &[]).unwrap();
        assert!(frames
            .iter()
            .all(|f| f["path"].is_null() && f["is_gain_corrected"].is_null()));
        assert_eq!(frames[4]["exposure_dose"].as_f64(), Some(1.881 * 1.58));
    }

    #[test]
    fn windows_subframe_paths_match_by_basename() {
        let text = "[ZValue = 0]\nTiltAngle = 0\nExposureTime = 2\nSubFramePath = D:\\SerialEM\\frames\\TS_run1_2.tiff\n";
        let mdoc = parse_mdoc(text, "a.mdoc").unwrap();
        let frames = frames_entries(&mdoc, 0.5, Some(false), &frame_paths()).unwrap();
        assert_eq!(
            frames[0]["path"],
            json!("10001/TS_run1/Frames/TS_run1_2.tiff")
        );
        assert_eq!(frames[0]["exposure_dose"], json!(1.0));
    }

    #[test]
    fn zero_dose_rate_and_missing_exposure_are_errors() {
        let mdoc = parse_mdoc(FOO_TS_RUN1_MDOC, "TS_run1.mdoc").unwrap();
        let e = frames_entries(&mdoc, 0.0, None, &[]).unwrap_err();
        assert_eq!(
            e.to_string(),
            "metadata field `dose_rate`: missing or zero dose rate for frames"
        );
        let mdoc = parse_mdoc("[ZValue = 0]\nTiltAngle = 0\n", "a.mdoc").unwrap();
        let e = frames_entries(&mdoc, 1.0, None, &[]).unwrap_err();
        assert_eq!(
            e.to_string(),
            "a.mdoc:1: section has no ExposureTime (needed for exposure_dose)"
        );
    }

    fn psp(has_ctf: bool) -> Vec<Value> {
        let mdoc = parse_mdoc(FOO_TS_RUN1_MDOC, "TS_run1.mdoc").unwrap();
        let angles = parse_angles("-4.38\n-1.98\n0\n2.013\n", "TS_run1.rawtlt").unwrap();
        let ctf = parse_ctf("CTFFIND", CTFFIND, "TS_run1_CTFFIND_ctf.txt").unwrap();
        per_section_parameters(&angles, &mdoc, has_ctf.then_some(ctf.as_slice())).unwrap()
    }

    #[test]
    fn per_section_parameters_with_ctf() {
        let expected = [
            (
                3,
                -4.38,
                Some((72249.28, 71262.08, -42.32, 0.0, 0.1138, 28.4226)),
            ),
            (
                2,
                -1.98,
                Some((72222.11, 71235.27, -50.87, 0.0, 0.1169, 28.4226)),
            ),
            (
                0,
                -0.00499939,
                Some((71568.57, 70590.66, -42.32, 0.0, 0.1612, 27.7120)),
            ),
            (1, 2.013, None),
        ];
        let got = psp(true);
        assert_eq!(got.len(), 4);
        for (i, (g, (z, raw, c))) in got.iter().zip(expected).enumerate() {
            let want = match c {
                Some((d1, d2, az, ph, cc, res)) => json!({
                    "z_index": i, "frame_acquisition_order": z, "raw_angle": raw,
                    "astigmatic_angle": az, "cross_correlation": cc, "major_defocus": d1,
                    "max_resolution": res, "minor_defocus": d2, "phase_shift": ph,
                }),
                None => json!({
                    "z_index": i, "frame_acquisition_order": z, "raw_angle": raw,
                    "astigmatic_angle": null, "cross_correlation": null, "major_defocus": null,
                    "max_resolution": null, "minor_defocus": null, "phase_shift": null,
                }),
            };
            assert_eq!(g, &want);
        }
        let keys: Vec<_> = got[0].as_object().unwrap().keys().cloned().collect();
        assert_eq!(
            keys,
            [
                "z_index",
                "frame_acquisition_order",
                "raw_angle",
                "astigmatic_angle",
                "cross_correlation",
                "major_defocus",
                "max_resolution",
                "minor_defocus",
                "phase_shift"
            ]
        );
    }

    #[test]
    fn per_section_parameters_without_ctf() {
        let got = psp(false);
        let orders: Vec<_> = got
            .iter()
            .map(|v| v["frame_acquisition_order"].as_i64().unwrap())
            .collect();
        assert_eq!(orders, vec![3, 2, 0, 1]);
        assert_eq!(got[2]["raw_angle"], json!(-0.00499939));
        for k in [
            "astigmatic_angle",
            "cross_correlation",
            "major_defocus",
            "max_resolution",
            "minor_defocus",
            "phase_shift",
        ] {
            assert!(got.iter().all(|v| v[k].is_null()), "{k}");
        }
    }

    /// The reference fixture mdocs_modified/close-TS_run1.mdoc: angles closer than 0.1°.
    const CLOSE_MDOC_TAIL: &str = "
[ZValue = 5]
TiltAngle = -6.016
ExposureTime = 1.58
SubFramePath = TS_run1_6.tiff

[ZValue = 6]
TiltAngle = -5.9944
ExposureTime = 1.58
SubFramePath = TS_run1_7.tiff

[ZValue = 7]
TiltAngle = 6.0833
ExposureTime = 1.58
SubFramePath = TS_run1_8.tiff

[ZValue = 8]
TiltAngle = 6.0900
ExposureTime = 1.58
SubFramePath = TS_run1_9.tiff
";

    #[test]
    fn close_tilt_angles_are_told_apart() {
        let text = format!("{FOO_TS_RUN1_MDOC}{CLOSE_MDOC_TAIL}");
        let mdoc = parse_mdoc(&text, "close-TS_run1.mdoc").unwrap();
        let rawtlt = "-6.02\n-5.99\n-4.38\n-1.98\n2.01\n4.284\n6.08\n6.088\n";
        let angles = parse_angles(rawtlt, "close_TS_run1.rawtlt").unwrap();
        let got = per_section_parameters(&angles, &mdoc, None).unwrap();
        let mut raw: Vec<f64> = got
            .iter()
            .map(|v| v["raw_angle"].as_f64().unwrap())
            .collect();
        raw.sort_by(f64::total_cmp);
        assert_eq!(
            raw,
            vec![-6.016, -5.9944, -4.38, -1.98, 2.013, 4.28, 6.0833, 6.09]
        );
    }

    #[test]
    fn unmatched_angle_is_an_error() {
        let mdoc = parse_mdoc(FOO_TS_RUN1_MDOC, "TS_run1.mdoc").unwrap();
        // The reference fixture invalid_TS_run1.rawtlt: 6° is not in the mdoc.
        let angles = parse_angles("-4.38\n-1.98\n0\n2.013\n6\n", "invalid_TS_run1.rawtlt").unwrap();
        let e = per_section_parameters(&angles, &mdoc, None).unwrap_err();
        assert_eq!(
            e,
            FormatError::TiltAngleNotFound {
                mdoc: "TS_run1.mdoc".into(),
                z_index: 4,
                angle: 6.0,
                rounded: 6.0
            }
        );
    }

    #[test]
    fn python_rounding() {
        // Values and results of CPython's round(x, 2).
        assert_eq!(py_round(0.125, 2), 0.12);
        assert_eq!(py_round(0.375, 2), 0.38);
        assert_eq!(py_round(2.675, 2), 2.67);
        assert_eq!(py_round(-0.00499939, 2), 0.0);
        assert_eq!(py_round(-5.9944, 2), -5.99);
        assert_eq!(py_round(6.0833, 2), 6.08);
        assert_eq!(py_round(6.088, 2), 6.09);
        assert!(py_round(f64::NAN, 2).is_nan());
    }
}
