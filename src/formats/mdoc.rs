//! SerialEM `.mdoc` files, read the way the portal's `mdocfile` 0.2.3 reads them.
//!
//! The frames metadata (acquisition order, doses, frame paths) and the tilt series' per-section
//! parameters (which mdoc section each raw tilt angle came from) are both computed from the
//! destination copy of the mdoc, so this parser must agree with `mdocfile` on what a section is:
//! - every line is trimmed; a section starts at a line beginning with `[ZValue =`,
//!   `[MontSection =` or `[FrameSet =` (exactly that spacing);
//! - before the first section, blank lines and `[T = …]` title lines are skipped and every other
//!   line must be `key = value` with exactly one `=` (`mdocfile` fails otherwise);
//! - inside a section, `[`/`]` are stripped from both ends of each line, lines without `=` are
//!   skipped, the split is on the first `=`, and a repeated key keeps its first position but takes
//!   the last value.
//!
//! Only the typed fields the portal uses are validated (`ZValue` integer, `TiltAngle` and
//! `ExposureTime` numbers); `mdocfile` also validates other typed fields, which this parser keeps
//! as text.

use indexmap::IndexMap;

use super::error::{numbered_lines, FormatError};

pub use super::frames::{frames_entries, per_section_parameters};

/// A parsed mdoc file.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Mdoc {
    /// The file name given to [`parse_mdoc`], for error messages of later computations.
    pub file: String,
    /// Global `key = value` lines before the first section, in file order.
    pub global: IndexMap<String, String>,
    /// `[T = …]` title lines of the header, verbatim (trimmed).
    pub titles: Vec<String>,
    /// The sections, in file order.
    pub sections: Vec<MdocSection>,
}

/// One `[ZValue = N]` (or `[MontSection = N]` / `[FrameSet = N]`) section.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct MdocSection {
    /// `ZValue`; `None` for `MontSection`/`FrameSet` sections that carry none.
    pub z_value: Option<i64>,
    /// `TiltAngle` in degrees, when present.
    pub tilt_angle: Option<f64>,
    /// `ExposureTime` in seconds, when present.
    pub exposure_time: Option<f64>,
    /// `SubFramePath` verbatim (the movie file, often a Windows path), when present.
    pub sub_frame_path: Option<String>,
    /// Every `key = value` of the section, header key included, in file order.
    pub fields: IndexMap<String, String>,
    /// 1-based line of the section header, for error messages.
    pub line: usize,
}

fn is_section_start(line: &str) -> bool {
    line.starts_with("[ZValue =")
        || line.starts_with("[MontSection =")
        || line.starts_with("[FrameSet =")
}

/// Parses mdoc text; `file` names the file in errors.
pub fn parse_mdoc(text: &str, file: &str) -> Result<Mdoc, FormatError> {
    let mut mdoc = Mdoc {
        file: file.to_string(),
        ..Mdoc::default()
    };
    let mut current: Option<MdocSection> = None;
    for (n, raw) in numbered_lines(text) {
        let line = raw.trim();
        if is_section_start(line) {
            if let Some(s) = current.take() {
                mdoc.sections.push(finish_section(s, file)?);
            }
            current = Some(MdocSection {
                line: n,
                ..MdocSection::default()
            });
        }
        match current.as_mut() {
            Some(section) => {
                let body = line.trim_matches(['[', ']']);
                if let Some((k, v)) = body.split_once('=') {
                    section
                        .fields
                        .insert(k.trim().to_string(), v.trim().to_string());
                }
            }
            None => {
                if line.is_empty() {
                    continue;
                }
                if line.starts_with("[T =") {
                    mdoc.titles.push(line.to_string());
                    continue;
                }
                let mut parts = line.split('=');
                match (parts.next(), parts.next(), parts.next()) {
                    (Some(k), Some(v), None) => {
                        mdoc.global
                            .insert(k.trim().to_string(), v.trim().to_string());
                    }
                    _ => {
                        return Err(FormatError::malformed(
                            file,
                            Some(n),
                            "a global `key = value` line with one `=`",
                            format!("{line:?}"),
                        ))
                    }
                }
            }
        }
    }
    if let Some(s) = current.take() {
        mdoc.sections.push(finish_section(s, file)?);
    }
    Ok(mdoc)
}

fn finish_section(mut s: MdocSection, file: &str) -> Result<MdocSection, FormatError> {
    let at = Some(s.line);
    if let Some(z) = s.fields.get("ZValue") {
        s.z_value = Some(parse_int(z).ok_or_else(|| {
            FormatError::malformed(file, at, "an integer ZValue", format!("{z:?}"))
        })?);
    }
    let number = |key: &str| -> Result<Option<f64>, FormatError> {
        match s.fields.get(key) {
            None => Ok(None),
            Some(v) => v.parse::<f64>().map(Some).map_err(|_| {
                FormatError::malformed(
                    file,
                    at,
                    format!("a number for {key} in the section starting here"),
                    format!("{v:?}"),
                )
            }),
        }
    };
    s.tilt_angle = number("TiltAngle")?;
    s.exposure_time = number("ExposureTime")?;
    s.sub_frame_path = s.fields.get("SubFramePath").cloned();
    Ok(s)
}

/// An integer as pydantic accepts it from text: digits, or a float with no fractional part.
fn parse_int(v: &str) -> Option<i64> {
    if let Ok(i) = v.parse::<i64>() {
        return Some(i);
    }
    let f = v.parse::<f64>().ok()?;
    (f.fract() == 0.0 && f.abs() < 9.0e15).then_some(f as i64)
}

/// The file name of a `SubFramePath` as Python's `PureWindowsPath(...).name` gives it: both `\`
/// and `/` separate components, a drive letter prefix is dropped, `.` components and trailing
/// separators are ignored.
pub fn windows_basename(path: &str) -> &str {
    let b = path.as_bytes();
    let rest = if b.len() >= 2 && b[1] == b':' && b[0].is_ascii_alphabetic() {
        &path[2..]
    } else {
        path
    };
    rest.split(['\\', '/'])
        .rev()
        .find(|c| !c.is_empty() && *c != ".")
        .unwrap_or("")
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// The reference fixture input_bucket/10001_input/metadata/mdocs_modified/foo-TS_run1.mdoc
    /// (the mdoc the frames and per-section-parameter tests use).
    pub(crate) const FOO_TS_RUN1_MDOC: &str = "PixelSpacing = 3.3702
Voltage = 300
ImageFile = TS_run1.mrc
ImageSize = 3708 3838
DataMode = 1

[T = SerialEM: Digitized on EMBL Krios                       28-Apr-18  11:36:19    ]

[T =     Tilt axis angle = 84.7, binning = 1  spot = 6  camera = 0]

[ZValue = 0]
TiltAngle = -0.00499939
StagePosition = 181.087 446.897
StageZ = -26.7037
Magnification = 42000
Intensity = 0.116505
ExposureDose = 2.35936
PixelSpacing = 3.3702
SpotSize = 6
Defocus = -0.279296
ImageShift = -0.05244 -0.0632113
RotationAngle = 174.7
ExposureTime = 1
Binning = 1
CameraIndex = 0
DividedBy2 = 1
MagIndex = 27
CountsPerElectron = 17.25
MinMaxMean = -55 1151 220.207
TargetDefocus = -2
SubFramePath = TS_run1_1.tiff
NumSubFrames = 10
FrameDosesAndNumber = 0.23594 10
DateTime = 28-Apr-18  11:38:54
NavigatorLabel = 112


[ZValue = 1]
TiltAngle = 2.013
ExposureTime = 1.58
SubFramePath = TS_run1_2.tiff

[ZValue = 2]
TiltAngle = -1.98
ExposureTime = 1.59
SubFramePath = TS_run1_3.tiff

[ZValue = 3]
TiltAngle = -4.38
ExposureTime = 1.58
SubFramePath = TS_run1_4.tiff

[ZValue = 4]
TiltAngle = 4.28
ExposureTime = 1.58
SubFramePath = TS_run1_5.tiff
";

    #[test]
    fn parses_the_fixture() {
        let m = parse_mdoc(FOO_TS_RUN1_MDOC, "TS_run1.mdoc").unwrap();
        assert_eq!(m.global.len(), 5);
        assert_eq!(m.global["PixelSpacing"], "3.3702");
        assert_eq!(m.global["ImageSize"], "3708 3838");
        assert_eq!(m.titles.len(), 2);
        assert!(m.titles[1].contains("Tilt axis angle = 84.7"));
        assert_eq!(m.sections.len(), 5);
        let s0 = &m.sections[0];
        assert_eq!(s0.z_value, Some(0));
        assert_eq!(s0.tilt_angle, Some(-0.00499939));
        assert_eq!(s0.exposure_time, Some(1.0));
        assert_eq!(s0.sub_frame_path.as_deref(), Some("TS_run1_1.tiff"));
        assert_eq!(s0.fields["DateTime"], "28-Apr-18  11:38:54");
        assert_eq!(
            s0.fields.get_index(0),
            Some((&"ZValue".to_string(), &"0".to_string()))
        );
        assert_eq!(s0.line, 11);
        let zs: Vec<_> = m.sections.iter().map(|s| s.z_value).collect();
        assert_eq!(zs, vec![Some(0), Some(1), Some(2), Some(3), Some(4)]);
        assert_eq!(m.sections[2].exposure_time, Some(1.59));
    }

    #[test]
    fn crlf_windows_paths_and_frame_sets() {
        let text = "DataMode = 1\r\n\r\n[ZValue = 7]\r\nTiltAngle = -60.0\r\nSubFramePath = X:\\Data\\TS_01\\TS_01_007_-60.0.tif\r\n\r\n[FrameSet = 0]\r\nExposureTime = 0.5\r\n";
        let m = parse_mdoc(text, "a.mdoc").unwrap();
        assert_eq!(m.sections.len(), 2);
        assert_eq!(m.sections[0].z_value, Some(7));
        assert_eq!(
            windows_basename(m.sections[0].sub_frame_path.as_deref().unwrap()),
            "TS_01_007_-60.0.tif"
        );
        assert_eq!(m.sections[1].z_value, None);
        assert_eq!(m.sections[1].fields["FrameSet"], "0");
        assert_eq!(m.sections[1].exposure_time, Some(0.5));
    }

    #[test]
    fn windows_basename_cases() {
        assert_eq!(windows_basename("D:\\frames\\a.tiff"), "a.tiff");
        assert_eq!(windows_basename("C:a.tiff"), "a.tiff");
        assert_eq!(windows_basename("/mnt/frames/b.eer"), "b.eer");
        assert_eq!(windows_basename("frames\\c.tif\\"), "c.tif");
        assert_eq!(windows_basename("frames\\c.tif\\."), "c.tif");
        assert_eq!(windows_basename("plain.tif"), "plain.tif");
        assert_eq!(windows_basename(""), "");
    }

    #[test]
    fn repeated_keys_keep_position_take_last_value() {
        let m = parse_mdoc(
            "[ZValue = 0]\nTiltAngle = 1\nExposureTime = 2\nTiltAngle = 3\n",
            "a.mdoc",
        )
        .unwrap();
        let keys: Vec<_> = m.sections[0].fields.keys().cloned().collect();
        assert_eq!(keys, vec!["ZValue", "TiltAngle", "ExposureTime"]);
        assert_eq!(m.sections[0].tilt_angle, Some(3.0));
    }

    #[test]
    fn malformed_inputs() {
        let e =
            parse_mdoc("PixelSpacing = 3.3\nGarbage line\n[ZValue = 0]\n", "x.mdoc").unwrap_err();
        assert_eq!(
            e.to_string(),
            "x.mdoc:2: expected a global `key = value` line with one `=`, found \"Garbage line\""
        );
        let e = parse_mdoc(
            "[ZValue = 0]\nTiltAngle = 1\n\n[ZValue = 1]\nTiltAngle = abc\n",
            "x.mdoc",
        )
        .unwrap_err();
        assert_eq!(
            e.to_string(),
            "x.mdoc:4: expected a number for TiltAngle in the section starting here, found \"abc\""
        );
        let e = parse_mdoc("[ZValue = one]\n", "x.mdoc").unwrap_err();
        assert_eq!(
            e.to_string(),
            "x.mdoc:1: expected an integer ZValue, found \"one\""
        );
    }

    #[test]
    fn no_sections_is_fine() {
        let m = parse_mdoc("PixelSpacing = 1.0\n", "x.mdoc").unwrap();
        assert!(m.sections.is_empty());
        assert_eq!(m.global["PixelSpacing"], "1.0");
        // "[ZValue=0]" is not a section start for mdocfile, and then it is not `key = value` either.
        assert!(parse_mdoc("[ZValue=0]\n", "x.mdoc").is_ok());
    }
}
