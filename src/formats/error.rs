//! The one error type of the pure format parsers and metadata rules.
//!
//! Every variant names the file (or the metadata field) it is about, the 1-based line when one
//! is known, and what was expected, so an ingestion failure can be fixed from its message alone
//! without re-running anything under a debugger.

use std::fmt;

/// A 1-based line number, or nothing when the problem concerns the whole file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Line(pub Option<usize>);

impl fmt::Display for Line {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.0 {
            Some(n) => write!(f, ":{n}"),
            None => Ok(()),
        }
    }
}

/// Errors raised while parsing deposited text formats or applying metadata rules.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum FormatError {
    /// A line (or the whole file) does not have the expected shape.
    #[error("{file}{line}: expected {expected}, found {found}")]
    Malformed {
        /// Display name of the file.
        file: String,
        /// Where in the file, when the problem is on one line.
        line: Line,
        /// What the format requires there, phrased for the message.
        expected: String,
        /// What the file has instead.
        found: String,
    },
    /// The file parses, but its content breaks a rule of the format or of the portal.
    #[error("{file}{line}: {message}")]
    Invalid {
        /// Display name of the file.
        file: String,
        /// Where in the file, when the problem is on one line.
        line: Line,
        /// Which rule is broken, and by what.
        message: String,
    },
    /// A raw tilt angle has no mdoc section with the same angle at 2 decimals (the reference
    /// raises `KeyError` here).
    #[error(
        "{mdoc}: no section has a TiltAngle that rounds to {rounded} (raw tilt angle {angle} at z_index {z_index})"
    )]
    TiltAngleNotFound {
        /// Display name of the mdoc file.
        mdoc: String,
        /// 0-based position of the angle in the raw tilt file.
        z_index: usize,
        /// The raw tilt angle in degrees.
        angle: f64,
        /// The angle rounded to 2 decimals, as compared.
        rounded: f64,
    },
    /// A metadata value is not one the portal accepts.
    #[error("metadata field `{field}`: {message}")]
    InvalidValue {
        /// Name (or dotted path) of the metadata field.
        field: String,
        /// Why the value is refused.
        message: String,
    },
}

impl FormatError {
    /// Shape error at a 1-based line.
    pub fn malformed(
        file: &str,
        line: Option<usize>,
        expected: impl Into<String>,
        found: impl Into<String>,
    ) -> Self {
        FormatError::Malformed {
            file: file.to_string(),
            line: Line(line),
            expected: expected.into(),
            found: found.into(),
        }
    }

    /// Rule violation at a 1-based line (or the whole file).
    pub fn invalid(file: &str, line: Option<usize>, message: impl Into<String>) -> Self {
        FormatError::Invalid {
            file: file.to_string(),
            line: Line(line),
            message: message.into(),
        }
    }

    /// Invalid metadata value.
    pub fn value(field: &str, message: impl Into<String>) -> Self {
        FormatError::InvalidValue {
            field: field.to_string(),
            message: message.into(),
        }
    }
}

/// Parses one number the way Python's `float()` does for the inputs that matter here
/// (surrounding whitespace allowed, `inf`/`nan` accepted), reporting `what` on failure.
pub(crate) fn parse_f64(
    token: &str,
    file: &str,
    line: Option<usize>,
    what: &str,
) -> Result<f64, FormatError> {
    token.trim().parse::<f64>().map_err(|_| {
        FormatError::malformed(
            file,
            line,
            format!("a number for {what}"),
            format!("{token:?}"),
        )
    })
}

/// Parses an integer the way Python's `int()` does on a string (no fractional part allowed).
pub(crate) fn parse_i64(
    token: &str,
    file: &str,
    line: Option<usize>,
    what: &str,
) -> Result<i64, FormatError> {
    token.trim().parse::<i64>().map_err(|_| {
        FormatError::malformed(
            file,
            line,
            format!("an integer for {what}"),
            format!("{token:?}"),
        )
    })
}

/// Splits text into lines the way Python's text mode does (universal newlines: `\n`, `\r\n`
/// and a lone `\r` all end a line), keeping 1-based line numbers.
pub(crate) fn numbered_lines(text: &str) -> impl Iterator<Item = (usize, &str)> {
    let mut rest = text;
    let mut n = 0usize;
    std::iter::from_fn(move || {
        if rest.is_empty() {
            return None;
        }
        n += 1;
        match rest.find(['\n', '\r']) {
            Some(i) => {
                let line = &rest[..i];
                let skip = if rest[i..].starts_with("\r\n") { 2 } else { 1 };
                rest = &rest[i + skip..];
                Some((n, line))
            }
            None => {
                let line = rest;
                rest = "";
                Some((n, line))
            }
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_follow_universal_newlines() {
        let got: Vec<_> = numbered_lines("a\r\nb\rc\n\nd").collect();
        assert_eq!(got, vec![(1, "a"), (2, "b"), (3, "c"), (4, ""), (5, "d")]);
        assert_eq!(numbered_lines("").count(), 0);
        assert_eq!(numbered_lines("x\n").count(), 1);
    }

    #[test]
    fn messages_name_file_line_and_expectation() {
        let e = FormatError::malformed("a.txt", Some(7), "7 columns", "5");
        assert_eq!(e.to_string(), "a.txt:7: expected 7 columns, found 5");
        let e = FormatError::invalid("a.txt", None, "empty");
        assert_eq!(e.to_string(), "a.txt: empty");
        let e = parse_f64("x1", "t.tlt", Some(2), "a tilt angle").unwrap_err();
        assert_eq!(
            e.to_string(),
            "t.tlt:2: expected a number for a tilt angle, found \"x1\""
        );
        assert_eq!(parse_i64(" 12 ", "f", None, "n").unwrap(), 12);
        assert!(parse_i64("1.5", "f", None, "n").is_err());
    }
}
