//! Regular expressions written by config authors and CLI users, with Python `re` semantics.
//!
//! The reference compiles every such pattern with Python's `re`, so configs use its syntax,
//! look-around and backreferences included (a real config selects datasets with
//! `.*$(?<!(10014|10015))`). `fancy-regex` backtracks like `re` where a pattern needs it and
//! hands the rest to the `regex` crate. Patterns this crate writes itself keep `regex`.
//!
//! Python's two entry points are kept apart: [`PyRegex::re_match`] anchors at the start only
//! (`re.match`: `TS_1` matches `TS_10`), [`PyRegex::re_search`] matches anywhere (`re.search`).

use std::sync::Arc;

/// How many backtracking steps one match may take before it fails with an error. Python has no
/// limit; this one is far above what a name or a path needs with any sane pattern, and turns a
/// runaway pattern into an error that names it instead of a hung build.
const BACKTRACK_LIMIT: usize = 50_000_000;

/// A compiled pattern (cheap to clone).
#[derive(Debug, Clone)]
pub struct PyRegex {
    pattern: Arc<str>,
    regex: Arc<fancy_regex::Regex>,
}

/// A pattern that does not compile, or a match that gave up.
#[derive(Debug, Clone, thiserror::Error)]
pub enum PyRegexError {
    /// Not valid Python `re` syntax (or syntax that `fancy-regex` lacks).
    #[error("{message}")]
    Syntax {
        /// The pattern as written.
        pattern: String,
        /// What is wrong, from the parser.
        message: String,
    },
    /// The match exceeded the backtracking limit.
    #[error("regular expression `{pattern}` gave up matching `{text}`: {message}")]
    Runtime {
        /// The pattern as written.
        pattern: String,
        /// The text it was matched against.
        text: String,
        /// Why it stopped.
        message: String,
    },
}

impl PyRegex {
    /// `re.match`: the pattern must match at the start of the text (not necessarily to its end).
    ///
    /// # Errors
    /// [`PyRegexError::Syntax`].
    pub fn re_match(pattern: &str) -> Result<PyRegex, PyRegexError> {
        Self::compile(pattern, &format!("^(?:{pattern})"))
    }

    /// `re.search`: the pattern may match anywhere in the text.
    ///
    /// # Errors
    /// [`PyRegexError::Syntax`].
    pub fn re_search(pattern: &str) -> Result<PyRegex, PyRegexError> {
        Self::compile(pattern, pattern)
    }

    fn compile(pattern: &str, regex: &str) -> Result<PyRegex, PyRegexError> {
        let compiled = fancy_regex::RegexBuilder::new(regex)
            .backtrack_limit(BACKTRACK_LIMIT)
            .build()
            .map_err(|e| PyRegexError::Syntax {
                pattern: pattern.to_string(),
                message: e.to_string(),
            })?;
        Ok(PyRegex {
            pattern: pattern.into(),
            regex: Arc::new(compiled),
        })
    }

    /// The pattern as written (without the `re.match` anchor).
    pub fn as_str(&self) -> &str {
        &self.pattern
    }

    /// Whether the pattern matches `text` (at its start for [`PyRegex::re_match`]).
    ///
    /// # Errors
    /// [`PyRegexError::Runtime`] when the match exceeds the backtracking limit.
    pub fn is_match(&self, text: &str) -> Result<bool, PyRegexError> {
        self.regex.is_match(text).map_err(|e| self.runtime(text, e))
    }

    /// Group 1 of the first match, or the whole match when the pattern has no group (an
    /// unmatched optional group 1 gives the whole match too); `None` when it does not match.
    ///
    /// # Errors
    /// [`PyRegexError::Runtime`] when the match exceeds the backtracking limit.
    pub fn first_group(&self, text: &str) -> Result<Option<String>, PyRegexError> {
        let caps = self
            .regex
            .captures(text)
            .map_err(|e| self.runtime(text, e))?;
        Ok(caps.map(|c| {
            c.get(1)
                .or_else(|| c.get(0))
                .map_or(String::new(), |m| m.as_str().to_string())
        }))
    }

    fn runtime(&self, text: &str, e: fancy_regex::Error) -> PyRegexError {
        PyRegexError::Runtime {
            pattern: self.pattern.to_string(),
            text: text.to_string(),
            message: e.to_string(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn negative_look_behind_from_a_real_config() {
        // deposition_10303 of the portal selects its datasets with this `match_regex`.
        let re =
            PyRegex::re_search(r".*$(?<!(10014|10015|10016|10017|10018|10019|10020))").unwrap();
        assert!(re.is_match("/bucket/10013").unwrap());
        assert!(re.is_match("/bucket/10021").unwrap());
        assert!(!re.is_match("/bucket/10014").unwrap());
        assert!(!re.is_match("/bucket/10020").unwrap());
    }

    #[test]
    fn match_is_anchored_at_the_start_only_and_search_is_not() {
        let m = PyRegex::re_match("TS_1").unwrap();
        assert!(m.is_match("TS_10").unwrap());
        assert!(!m.is_match("xTS_1").unwrap());
        let alt = PyRegex::re_match("a|b").unwrap();
        assert!(alt.is_match("bz").unwrap());
        assert!(!alt.is_match("zb").unwrap());
        let s = PyRegex::re_search("TS_1$").unwrap();
        assert!(s.is_match("xTS_1").unwrap());
        assert!(!s.is_match("TS_10").unwrap());
    }

    #[test]
    fn python_only_syntax_compiles() {
        // Look-ahead, named groups and their backreference, as `re` spells them.
        let re = PyRegex::re_match(r"(?P<p>[a-z]+)_(?P=p)(?=\.mrc$)").unwrap();
        assert!(re.is_match("ab_ab.mrc").unwrap());
        assert!(!re.is_match("ab_ac.mrc").unwrap());
        assert_eq!(
            PyRegex::re_match(r"(?!tmp_)(.*)\.rec")
                .unwrap()
                .first_group("TS_1.rec")
                .unwrap()
                .as_deref(),
            Some("TS_1")
        );
    }

    #[test]
    fn first_group_falls_back_to_the_whole_match() {
        let re = PyRegex::re_match(r"TS_\d+").unwrap();
        assert_eq!(
            re.first_group("TS_12.mrc").unwrap().as_deref(),
            Some("TS_12")
        );
        assert_eq!(re.first_group("x").unwrap(), None);
    }

    #[test]
    fn bad_syntax_names_the_pattern() {
        let e = PyRegex::re_match("(").unwrap_err();
        assert!(matches!(&e, PyRegexError::Syntax { pattern, .. } if pattern == "("));
        assert!(!e.to_string().is_empty());
    }
}
