//! Errors of the config module.
//!
//! Every [`ConfigError`] carries a [`Site`]: the file, the line and column when known, and the
//! dotted path of the offending value inside the config (`tomograms[0].sources[1].source_glob.list_glob`).
//! The path always ends with the field named in the message, so a person can find the value both
//! by position and by name. Each message also says what was expected.

use serde::Serialize;
use std::fmt;
use std::path::PathBuf;

/// A position in a text file, both 1-based.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
pub struct Location {
    /// Line number, 1-based.
    pub line: usize,
    /// Column number, 1-based.
    pub column: usize,
}

impl fmt::Display for Location {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.line, self.column)
    }
}

/// Where an error was found: file, position (if known) and path inside the document.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Site {
    /// The config (or run data map) file, as given.
    pub file: PathBuf,
    /// Line and column of the offending value, when the parser reported one.
    pub location: Option<Location>,
    /// Dotted path from the document root, e.g. `runs[0].sources[0].source_glob.list_glob`.
    pub path: String,
}

impl fmt::Display for Site {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.file.display())?;
        if let Some(loc) = self.location {
            write!(f, ":{loc}")?;
        }
        if self.path.is_empty() {
            write!(f, ": <document>")
        } else {
            write!(f, ": {}", self.path)
        }
    }
}

/// A config file (or run data map) that cannot be used.
// Each variant's `#[error]` message documents it and names what its fields hold.
#[allow(missing_docs)]
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("{}: cannot read the config file: {source} (expected a readable YAML file)", file.display())]
    Io {
        file: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("{site}: invalid YAML: {message} (expected a well-formed YAML document)")]
    Syntax { site: Box<Site>, message: String },
    #[error("{site}: missing required field `{field}` (expected {expected})")]
    MissingField {
        site: Box<Site>,
        field: String,
        expected: String,
    },
    #[error("{site}: unknown field `{field}` (expected one of: {expected})")]
    UnknownField {
        site: Box<Site>,
        field: String,
        expected: String,
    },
    #[error("{site}: field `{field}` has the wrong type: expected {expected}, found {found}")]
    WrongType {
        site: Box<Site>,
        field: String,
        expected: String,
        found: String,
    },
    #[error("{site}: field `{field}` has an invalid value {found}: expected {expected}")]
    InvalidValue {
        site: Box<Site>,
        field: String,
        expected: String,
        found: String,
    },
    #[error("{site}: field `{field}` is not a valid regular expression {pattern:?}: {message} (expected a Python `re` regular expression)")]
    InvalidRegex {
        site: Box<Site>,
        field: String,
        pattern: String,
        message: String,
    },
    /// Several independent errors (other blocks, sources or metadata fields), in file order,
    /// so that one run of `validate` reports them all.
    #[error("{} errors:\n{}", .0.len(), .0.iter().map(|e| format!("  {e}")).collect::<Vec<_>>().join("\n"))]
    Several(Vec<ConfigError>),
}

impl ConfigError {
    /// The single errors this one holds: itself, or each of [`ConfigError::Several`].
    pub fn errors(&self) -> &[ConfigError] {
        match self {
            ConfigError::Several(all) => all,
            one => std::slice::from_ref(one),
        }
    }

    /// The site of the error (`None` only for I/O errors; the first one's for several).
    pub fn site(&self) -> Option<&Site> {
        match self {
            ConfigError::Io { .. } => None,
            ConfigError::Several(all) => all.first().and_then(ConfigError::site),
            ConfigError::Syntax { site, .. }
            | ConfigError::MissingField { site, .. }
            | ConfigError::UnknownField { site, .. }
            | ConfigError::WrongType { site, .. }
            | ConfigError::InvalidValue { site, .. }
            | ConfigError::InvalidRegex { site, .. } => Some(&**site),
        }
    }
}

/// Errors gathered while the loader goes on with the parts that do not depend on a failed
/// one (the other blocks, sources and metadata fields).
#[derive(Default)]
pub(super) struct Errors(Vec<ConfigError>);

impl Errors {
    /// The value, or `None` with its error kept.
    pub(super) fn take<T>(&mut self, result: Result<T, ConfigError>) -> Option<T> {
        match result {
            Ok(v) => Some(v),
            Err(e) => {
                self.push(e);
                None
            }
        }
    }

    /// Keeps an error (the errors of a [`ConfigError::Several`] one by one), once: rules that
    /// share a parent field report a broken parent once.
    pub(super) fn push(&mut self, e: ConfigError) {
        match e {
            ConfigError::Several(all) => all.into_iter().for_each(|e| self.push(e)),
            e => {
                let text = e.to_string();
                if !self.0.iter().any(|kept| kept.to_string() == text) {
                    self.0.push(e);
                }
            }
        }
    }

    /// Orders the errors as their places in the file (stable: errors without a place keep
    /// their order, after the others).
    pub(super) fn in_file_order(mut self) -> Errors {
        self.0.sort_by_key(|e| {
            e.site()
                .and_then(|s| s.location)
                .map_or((1, None), |l| (0, Some(l)))
        });
        self
    }

    /// `value` when nothing failed; else the one error, or all of them.
    pub(super) fn finish<T>(self, value: impl FnOnce() -> T) -> Result<T, ConfigError> {
        let mut all = self.0;
        match all.len() {
            0 => Ok(value()),
            1 => Err(all.remove(0)),
            _ => Err(ConfigError::Several(all)),
        }
    }
}

/// A template that cannot be formatted (spec §3.5) or a metadata value that cannot be typed (§3.4).
// Each variant's `#[error]` message documents it and names what its fields hold.
#[allow(missing_docs)]
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum TemplateError {
    #[error("template {template:?}: no value for `{{{name}}}` (expected one of the variables: {available})")]
    MissingVar {
        template: String,
        name: String,
        available: String,
    },
    #[error(
        "template {template:?}: {message} at byte {position} (expected Python str.format syntax)"
    )]
    Syntax {
        template: String,
        position: usize,
        message: String,
    },
    #[error(
        "template {template:?}: cannot format `{name}` = {value} with spec `{spec}`: {message}"
    )]
    BadSpec {
        template: String,
        name: String,
        value: String,
        spec: String,
        message: String,
    },
    #[error("{value:?} cannot be converted: expected {expected}")]
    Conversion { value: String, expected: String },
    #[error("metadata field `{path}`: {source}")]
    InField {
        path: String,
        #[source]
        source: Box<TemplateError>,
    },
}
