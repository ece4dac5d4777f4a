//! Glob patterns in the reference's dialect (Python `glob.glob` / fsspec): `*`, `?` and `[...]`
//! never cross `/`, and wildcards do not match names starting with `.` unless the pattern does.
//! A whole `**` segment matches zero or more folders (as fsspec's glob does), never hidden ones;
//! as the last segment it matches everything below, files and folders.

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
    /// `**`: zero or more non-hidden folders (one or more names when last).
    AnyDepth,
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
            if part == "**" {
                // `a/**/**/b` means `a/**/b`.
                if !matches!(segments.last(), Some(Segment::AnyDepth)) {
                    segments.push(Segment::AnyDepth);
                }
            } else if is_wild(part) {
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
            Segment::AnyDepth => !name.starts_with('.'),
            Segment::Wild { matcher, hidden_ok } => {
                (*hidden_ok || !name.starts_with('.')) && matcher.is_match(name)
            }
        }
    }
}

impl GlobPattern {
    /// Every `n` such that the first `n` names of `parts` (a key split at `/`) match the whole
    /// pattern, ascending. Without `**` that is at most `segments.len()`.
    pub(crate) fn matched_prefixes(&self, parts: &[&str]) -> Vec<usize> {
        let mut found = Vec::new();
        prefixes(&self.segments, parts, 0, &mut found);
        found.sort_unstable();
        found.dedup();
        found
    }
}

/// Backtracking match of `segments` against `parts`, `used` names consumed so far.
fn prefixes(segments: &[Segment], parts: &[&str], used: usize, found: &mut Vec<usize>) {
    let Some((segment, rest)) = segments.split_first() else {
        found.push(used);
        return;
    };
    let left = &parts[used..];
    match segment {
        Segment::AnyDepth => {
            // Zero folders, then one more for as long as the names are not hidden. When last,
            // `**` must name something below, so zero is not a match.
            let min = usize::from(rest.is_empty());
            for take in 0..=left.len() {
                if take > 0 && !GlobPattern::segment_matches(segment, left[take - 1]) {
                    break;
                }
                if take >= min {
                    prefixes(rest, parts, used + take, found);
                }
            }
        }
        _ => {
            if let Some(name) = left.first() {
                if GlobPattern::segment_matches(segment, name) {
                    prefixes(rest, parts, used + 1, found);
                }
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

    fn prefixes_of(pattern: &str, key: &str) -> Vec<usize> {
        let parts: Vec<&str> = key.split('/').collect();
        GlobPattern::new(pattern).unwrap().matched_prefixes(&parts)
    }

    #[test]
    fn double_star_matches_zero_or_more_folders() {
        assert_eq!(prefixes_of("V*/**/x.zarr", "VS10/x.zarr/.zattrs"), vec![2]);
        assert_eq!(prefixes_of("V*/**/x.zarr", "VS10/a/b/x.zarr/0/0"), vec![4]);
        assert_eq!(
            prefixes_of("V*/**/x.zarr", "VS10/a/x.zarr/b/x.zarr"),
            vec![3, 5]
        );
        // Hidden folders are not descended into.
        assert!(prefixes_of("V*/**/x.zarr", "VS10/.tmp/x.zarr").is_empty());
        assert!(prefixes_of("V*/**/x.zarr", "Other/x.zarr").is_empty());
        // Last: everything below, not the folder itself.
        assert_eq!(prefixes_of("a/**", "a/b/c"), vec![2, 3]);
        assert!(prefixes_of("a/**", "a").is_empty());
        assert_eq!(prefixes_of("a/**/**/c", "a/c"), vec![2]);
    }

    #[test]
    fn without_double_star_at_most_one_prefix() {
        assert_eq!(prefixes_of("*/t/*.mrc", "r1/t/a.mrc"), vec![3]);
        assert_eq!(prefixes_of("*/t", "r1/t/a.mrc"), vec![2]);
        assert!(prefixes_of("*/t/*.mrc", "r1/t").is_empty());
    }

    #[test]
    fn empty_and_dot_segments_are_dropped() {
        let p = GlobPattern::new("/a//./b/*.x").unwrap();
        assert_eq!(p.segments().len(), 3);
    }
}
