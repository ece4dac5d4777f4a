//! Glob patterns in the reference's dialect (Python `glob.glob` / fsspec): `*`, `?` and `[...]`
//! never cross `/`, and wildcards do not match names starting with `.` unless the pattern does.

use globset::{GlobBuilder, GlobMatcher};

/// A parsed glob, one matcher per `/`-separated segment.
#[derive(Debug, Clone)]
pub struct GlobPattern {
    text: String,
    segments: Vec<Segment>,
}

#[derive(Debug, Clone)]
pub(crate) enum Segment {
    Literal(String),
    Wild {
        matcher: GlobMatcher,
        hidden_ok: bool,
    },
}

/// A pattern that does not parse.
#[derive(Debug, thiserror::Error)]
#[error("invalid glob `{pattern}`: {reason}")]
pub struct GlobError {
    /// The pattern as given.
    pub pattern: String,
    /// What is wrong with it.
    pub reason: String,
}

fn is_wild(segment: &str) -> bool {
    segment.contains(['*', '?', '['])
}

impl GlobPattern {
    /// Parses a pattern relative to a store root. Leading `/` and `./` and empty segments are
    /// dropped, so `a//b` and `/a/b` mean `a/b`.
    ///
    /// # Errors
    /// A segment that globset cannot compile.
    pub fn new(pattern: &str) -> Result<GlobPattern, GlobError> {
        let mut segments = Vec::new();
        for part in pattern.split('/') {
            if part.is_empty() || part == "." {
                continue;
            }
            if is_wild(part) {
                let glob = GlobBuilder::new(part)
                    .literal_separator(true)
                    .backslash_escape(true)
                    .build()
                    .map_err(|e| GlobError {
                        pattern: pattern.to_string(),
                        reason: e.kind().to_string(),
                    })?;
                segments.push(Segment::Wild {
                    matcher: glob.compile_matcher(),
                    hidden_ok: part.starts_with('.'),
                });
            } else {
                segments.push(Segment::Literal(part.to_string()));
            }
        }
        Ok(GlobPattern {
            text: pattern.to_string(),
            segments,
        })
    }

    /// The pattern as given.
    pub fn as_str(&self) -> &str {
        &self.text
    }

    pub(crate) fn segments(&self) -> &[Segment] {
        &self.segments
    }

    /// Whether a name matches a wildcard segment (hidden names only when the pattern is hidden).
    pub(crate) fn segment_matches(segment: &Segment, name: &str) -> bool {
        match segment {
            Segment::Literal(l) => l == name,
            Segment::Wild { matcher, hidden_ok } => {
                (*hidden_ok || !name.starts_with('.')) && matcher.is_match(name)
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn seg_match(pattern: &str, name: &str) -> bool {
        let p = GlobPattern::new(pattern).unwrap();
        GlobPattern::segment_matches(&p.segments()[0], name)
    }

    #[test]
    fn star_does_not_match_hidden_names() {
        assert!(seg_match("*.mrc", "a.mrc"));
        assert!(!seg_match("*.mrc", ".a.mrc"));
        assert!(seg_match(".*", ".hidden"));
    }

    #[test]
    fn classes_and_question_marks() {
        assert!(seg_match("TS_[0-9]?", "TS_12"));
        assert!(!seg_match("TS_[0-9]?", "TS_a2"));
    }

    #[test]
    fn empty_and_dot_segments_are_dropped() {
        let p = GlobPattern::new("/a//./b/*.x").unwrap();
        assert_eq!(p.segments().len(), 3);
    }
}
