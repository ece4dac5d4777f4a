//! Finders: turn one source entry of a config block into named results (spec §4).
//!
//! A finder only lists; it never reads object contents, except `tomogram_header`, which reads the
//! 1024-byte MRC header (or the `.zattrs` of a zarr) of each match. Results carry the matched
//! keys so that the engine can fingerprint them from the same listing.

use crate::config::{
    format_template, AnnotationGlob, Finder, GlobVars, LiteralValue, ParentFilters, TemplateError,
};
use crate::pycompat::re::{PyRegex, PyRegexError};
use crate::storage::{GlobPattern, StorageError, Store};

mod header;

/// One thing a finder found.
#[derive(Debug, Clone, PartialEq)]
pub struct Found {
    /// Instance name (basename via `name_regex`, literal value, full key for multi-globs, ...).
    pub name: String,
    /// Where it is: a key relative to INPUT (or OUTPUT for destination finders), a URL for
    /// literal key photos, or `None` for plain literals.
    pub path: Option<String>,
    /// Whether `path` is in the destination (read-only references, `allow_imports = false`).
    pub in_destination: bool,
    /// Whether `path` is a folder (e.g. a `.zarr` source).
    pub is_dir: bool,
}

/// Why a finder failed.
#[derive(Debug, thiserror::Error)]
pub enum FinderError {
    /// A template variable is missing or malformed.
    #[error("{0}")]
    Template(#[from] TemplateError),
    /// A regex field does not compile.
    #[error("invalid {field} `{pattern}`: {reason}")]
    Regex {
        /// `match_regex`, `name_regex`, `exclude`, ...
        field: &'static str,
        /// The pattern.
        pattern: String,
        /// The compile error.
        reason: String,
    },
    /// A regex gave up matching (backtracking limit).
    #[error("{0}")]
    RegexRun(#[from] PyRegexError),
    /// `name_regex` did not match a found file's basename.
    #[error("name_regex `{pattern}` does not match `{basename}` (found by `{glob}`)")]
    NameRegexMismatch {
        /// The pattern.
        pattern: String,
        /// The basename that failed.
        basename: String,
        /// The glob that found it.
        glob: String,
    },
    /// A glob does not parse.
    #[error("{0}")]
    Glob(#[from] crate::storage::GlobError),
    /// Listing failed.
    #[error("{0}")]
    Storage(#[from] StorageError),
    /// A destination glob must be anchored in the output tree.
    #[error("destination_glob `{0}` must start with {{output_path}} or a {{<type>_output_path}} variable")]
    UnanchoredDestinationGlob(String),
    /// A header could not be read for `tomogram_header`.
    #[error("{0}")]
    Header(String),
    /// A finder kind that this build does not implement.
    #[error("finder `{0}` is not supported yet")]
    Unsupported(&'static str),
    /// `destination_filter` on a kind whose metadata has no numbered folder to search.
    #[error("destination_filter finds tomograms and tilt series only, not {0}")]
    DestinationFilterKind(crate::EntityKind),
    /// A metadata JSON that `destination_filter` read does not parse.
    #[error("{location}: {reason}")]
    DestinationMetadata {
        /// The JSON file.
        location: String,
        /// Why it does not parse.
        reason: String,
    },
}

/// What a finder needs to know about where it runs.
pub struct FinderContext<'a> {
    /// The INPUT store.
    pub input: &'a Store,
    /// The OUTPUT store.
    pub output: &'a Store,
    /// `standardization_config.source_prefix`: every source glob is joined to it.
    pub source_prefix: &'a str,
    /// Template variables of the parent instances.
    pub vars: &'a GlobVars,
    /// The kind being found (`destination_filter` searches that kind's metadata folders).
    pub kind: crate::EntityKind,
}

/// Compiles a Python-`re.match`-style pattern (anchored at the start only).
///
/// # Errors
/// [`FinderError::Regex`] naming `field`.
pub fn compile_match(field: &'static str, pattern: &str) -> Result<PyRegex, FinderError> {
    compile(field, pattern, true)
}

/// Compiles a Python-`re.search`-style pattern (unanchored).
///
/// # Errors
/// [`FinderError::Regex`] naming `field`.
pub fn compile_search(field: &'static str, pattern: &str) -> Result<PyRegex, FinderError> {
    compile(field, pattern, false)
}

/// Compiles `pattern`, once per process: discovery applies the same source's patterns under
/// every parent (every run, voxel spacing, …), and a compiled [`PyRegex`] is cheap to clone.
fn compile(field: &'static str, pattern: &str, anchored: bool) -> Result<PyRegex, FinderError> {
    type Memo = std::sync::Mutex<std::collections::HashMap<(String, bool), PyRegex>>;
    static COMPILED: std::sync::OnceLock<Memo> = std::sync::OnceLock::new();
    let compiled = COMPILED.get_or_init(Default::default);
    let key = (pattern.to_string(), anchored);
    if let Some(r) = compiled.lock().expect("regex memo").get(&key) {
        return Ok(r.clone());
    }
    let r = if anchored {
        PyRegex::re_match(pattern)
    } else {
        PyRegex::re_search(pattern)
    }
    .map_err(|e| FinderError::Regex {
        field,
        pattern: pattern.to_string(),
        reason: e.to_string(),
    })?;
    compiled.lock().expect("regex memo").insert(key, r.clone());
    Ok(r)
}

fn join_prefix(prefix: &str, rest: &str) -> String {
    let prefix = prefix.trim_matches('/');
    let rest = rest.trim_start_matches('/');
    if prefix.is_empty() {
        rest.to_string()
    } else {
        format!("{prefix}/{rest}")
    }
}

fn basename(key: &str) -> &str {
    key.rsplit('/').next().unwrap_or(key)
}

/// Python `str()` of a YAML scalar used as a literal name.
pub fn literal_name(value: &serde_json::Value) -> String {
    match value {
        serde_json::Value::String(s) => s.clone(),
        serde_json::Value::Number(n) => match n.as_f64() {
            Some(f) if n.is_f64() => crate::pycompat::json::py_float_repr(f),
            _ => n.to_string(),
        },
        serde_json::Value::Bool(b) => if *b { "True" } else { "False" }.to_string(),
        serde_json::Value::Null => "None".to_string(),
        other => other.to_string(),
    }
}

/// Runs one finder. Results keep finder order (globs are sorted by key); for `source_glob` a
/// duplicate name replaces the earlier result, as in the reference.
///
/// # Errors
/// Template, regex, glob and listing errors.
pub fn find(finder: &Finder, ctx: &FinderContext<'_>) -> Result<Vec<Found>, FinderError> {
    match finder {
        Finder::Literal(LiteralValue::List(values)) => Ok(values
            .iter()
            .map(|v| Found {
                name: literal_name(v),
                path: None,
                in_destination: false,
                is_dir: false,
            })
            .collect()),
        Finder::Literal(LiteralValue::Map(map)) => Ok(map
            .iter()
            .map(|(k, v)| Found {
                name: k.clone(),
                path: v.clone(),
                in_destination: false,
                is_dir: false,
            })
            .collect()),
        Finder::SourceGlob {
            list_glob,
            match_regex,
            name_regex,
        } => {
            let glob = join_prefix(ctx.source_prefix, &format_template(list_glob, ctx.vars)?);
            named_glob(ctx.input, &glob, match_regex, name_regex, false)
        }
        Finder::DestinationGlob {
            list_glob,
            match_regex,
            name_regex,
        } => {
            let anchored = list_glob.trim_start().starts_with("{output_path}")
                || (list_glob.starts_with('{') && list_glob.contains("_output_path}"));
            if !anchored {
                return Err(FinderError::UnanchoredDestinationGlob(list_glob.clone()));
            }
            let glob = format_template(list_glob, ctx.vars)?;
            named_glob(ctx.output, &glob, match_regex, name_regex, true)
        }
        Finder::SourceMultiGlob { list_globs } => {
            let mut out = Vec::new();
            for g in list_globs {
                let glob = join_prefix(ctx.source_prefix, &format_template(g, ctx.vars)?);
                for m in ctx.input.glob(&GlobPattern::new(&glob)?)? {
                    out.push(Found {
                        name: m.key.clone(),
                        path: Some(m.key),
                        in_destination: false,
                        is_dir: m.is_dir,
                    });
                }
            }
            Ok(out)
        }
        Finder::TomogramHeader {
            list_glob,
            match_regex,
            ..
        } => {
            let glob = join_prefix(ctx.source_prefix, &format_template(list_glob, ctx.vars)?);
            let matches = named_glob(ctx.input, &glob, match_regex, "(.*)", false)?;
            let mut out = Vec::new();
            for m in matches {
                let key = m.path.clone().unwrap_or_default();
                let voxel = header::voxel_size(ctx.input, &key, m.is_dir)
                    .map_err(|e| FinderError::Header(e.to_string()))?;
                out.push(Found {
                    name: format!("{voxel}"),
                    path: Some(String::new()),
                    in_destination: false,
                    is_dir: false,
                });
            }
            Ok(out)
        }
        Finder::DestinationFilter { filters } => destination_filter(ctx, filters),
        // An annotation source's glob: `glob_string` finds like a source_glob with the default
        // regexes (name = basename), `glob_strings` like a source_multi_glob (name = key).
        Finder::Annotation(a) => match &a.glob {
            AnnotationGlob::Single(g) => {
                let glob = join_prefix(ctx.source_prefix, &format_template(g, ctx.vars)?);
                named_glob(ctx.input, &glob, ".*", "(.*)", false)
            }
            AnnotationGlob::Multi(globs) => find(
                &Finder::SourceMultiGlob {
                    list_globs: globs.clone(),
                },
                ctx,
            ),
        },
    }
}

/// `destination_filter` (spec §4.1, §4.3): every `*metadata.json` in the kind's numbered
/// folders under the parent's output folder whose JSON passes every rule. Each result is named
/// by its key and points at it; discovery turns it into a read-only reference (spec §4.4).
fn destination_filter(
    ctx: &FinderContext<'_>,
    filters: &[crate::config::DestinationFilterRule],
) -> Result<Vec<Found>, FinderError> {
    let folders = match ctx.kind {
        crate::EntityKind::Tomogram => "{voxel_spacing_output_path}/Tomograms/*",
        crate::EntityKind::Tiltseries => "{run_output_path}/TiltSeries/*",
        other => return Err(FinderError::DestinationFilterKind(other)),
    };
    let glob = format!("{}/*metadata.json", format_template(folders, ctx.vars)?);
    let glob = glob.trim_start_matches('/').to_string();
    let mut out = Vec::new();
    for m in ctx.output.glob(&GlobPattern::new(&glob)?)? {
        if m.is_dir {
            continue;
        }
        let bytes = ctx.output.read(&m.key)?;
        let json: serde_json::Value =
            serde_json::from_slice(&bytes).map_err(|e| FinderError::DestinationMetadata {
                location: ctx.output.describe(&m.key),
                reason: e.to_string(),
            })?;
        if filters
            .iter()
            .all(|f| metadata_matches(&json, &f.key, &f.value))
        {
            out.push(Found {
                name: m.key.clone(),
                path: Some(m.key),
                in_destination: true,
                is_dir: false,
            });
        }
    }
    Ok(out)
}

/// The reference's rule (spec §4.3): walk `key` through the JSON, a dict by its field, a list
/// by collecting that field of its dict items, stopping at a falsy value; then `expected in
/// value` for a list, else `value == expected` (Python equality).
pub fn metadata_matches(
    metadata: &serde_json::Value,
    key: &[String],
    expected: &serde_json::Value,
) -> bool {
    use serde_json::Value;
    let mut value = metadata.clone();
    for part in key {
        value = match &value {
            Value::Object(m) => m.get(part).cloned().unwrap_or(Value::Null),
            Value::Array(items) => Value::Array(
                items
                    .iter()
                    .filter_map(|v| {
                        v.as_object()
                            .map(|o| o.get(part).cloned().unwrap_or(Value::Null))
                    })
                    .collect(),
            ),
            // Python iterates a string's characters (none is a dict); a number raises there.
            Value::String(_) => Value::Array(Vec::new()),
            _ => return false,
        };
        if !crate::metadata::is_truthy(&value) {
            break;
        }
    }
    match &value {
        Value::Array(items) => items.iter().any(|v| py_eq(v, expected)),
        v => py_eq(v, expected),
    }
}

/// Python `==` on JSON values: numbers by value (`1 == 1.0`), booleans as 0 and 1.
fn py_eq(a: &serde_json::Value, b: &serde_json::Value) -> bool {
    use serde_json::Value;
    let num = |v: &Value| match v {
        Value::Number(n) => n.as_f64(),
        Value::Bool(b) => Some(f64::from(u8::from(*b))),
        _ => None,
    };
    match (a, b) {
        (Value::Array(x), Value::Array(y)) => {
            x.len() == y.len() && x.iter().zip(y).all(|(p, q)| py_eq(p, q))
        }
        (Value::Object(x), Value::Object(y)) => {
            x.len() == y.len() && x.iter().all(|(k, v)| y.get(k).is_some_and(|w| py_eq(v, w)))
        }
        _ => match (num(a), num(b)) {
            (Some(x), Some(y)) => x == y,
            _ => a == b,
        },
    }
}

fn named_glob(
    store: &Store,
    glob: &str,
    match_regex: &str,
    name_regex: &str,
    in_destination: bool,
) -> Result<Vec<Found>, FinderError> {
    let keep = compile_search("match_regex", match_regex)?;
    let name_re = compile_match("name_regex", name_regex)?;
    let mut out: Vec<Found> = Vec::new();
    for m in store.glob(&GlobPattern::new(glob)?)? {
        // The reference searches the full path (bucket or folder included).
        let full = format!("/{}", m.key);
        if !keep.is_match(&full)? {
            continue;
        }
        let base = basename(&m.key);
        let name = name_re
            .first_group(base)?
            .ok_or_else(|| FinderError::NameRegexMismatch {
                pattern: name_regex.to_string(),
                basename: base.to_string(),
                glob: glob.to_string(),
            })?;
        let found = Found {
            name,
            path: Some(m.key),
            in_destination,
            is_dir: m.is_dir,
        };
        match out.iter_mut().find(|f| f.name == found.name) {
            Some(slot) => *slot = found,
            None => out.push(found),
        }
    }
    Ok(out)
}

/// Drops results whose name `re.match`es one of the `exclude` patterns.
///
/// # Errors
/// A pattern that does not compile.
pub fn apply_exclude(found: Vec<Found>, exclude: &[String]) -> Result<Vec<Found>, FinderError> {
    if exclude.is_empty() {
        return Ok(found);
    }
    let res = exclude
        .iter()
        .map(|p| compile_match("exclude", p))
        .collect::<Result<Vec<_>, _>>()?;
    let mut kept = Vec::with_capacity(found.len());
    for f in found {
        let mut excluded = false;
        for r in &res {
            if r.is_match(&f.name)? {
                excluded = true;
                break;
            }
        }
        if !excluded {
            kept.push(f);
        }
    }
    Ok(kept)
}

/// Whether a source entry applies under these parents (spec §4.2): any exclude match on a
/// parent's name disables it; include patterns for a parent type must match that parent.
///
/// # Errors
/// A pattern that does not compile.
pub fn parents_allow(
    filters: &ParentFilters,
    parent_name: impl Fn(crate::EntityKind) -> Option<String>,
) -> Result<bool, FinderError> {
    for (kind, patterns) in &filters.exclude {
        if let Some(name) = parent_name(*kind) {
            for p in patterns {
                if compile_search("parent_filters.exclude", p)?.is_match(&name)? {
                    return Ok(false);
                }
            }
        }
    }
    for (kind, patterns) in &filters.include {
        if patterns.is_empty() {
            continue;
        }
        if let Some(name) = parent_name(*kind) {
            let mut any = false;
            for p in patterns {
                any |= compile_search("parent_filters.include", p)?.is_match(&name)?;
            }
            if !any {
                return Ok(false);
            }
        }
    }
    Ok(true)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn found(name: &str) -> Found {
        Found {
            name: name.into(),
            path: None,
            in_destination: false,
            is_dir: false,
        }
    }

    #[test]
    fn exclude_is_anchored_at_the_start() {
        let kept = apply_exclude(
            vec![found("TS_1"), found("xTS_1"), found("TS_10")],
            &["TS_1$".to_string()],
        )
        .unwrap();
        let names: Vec<_> = kept.iter().map(|f| f.name.as_str()).collect();
        assert_eq!(names, vec!["xTS_1", "TS_10"]);
    }

    #[test]
    fn destination_filter_rules_follow_the_reference() {
        use serde_json::json;
        let md = json!({
            "authors": [{"name": {"initial": "A"}}, {"name": {"first": "Bob"}}],
            "processing": "raw",
            "voxel_spacing": 13.48,
            "count": 0,
            "tags": ["a", "b"],
        });
        let key = |k: &[&str]| k.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        assert!(metadata_matches(
            &md,
            &key(&["authors", "name", "first"]),
            &json!("Bob")
        ));
        assert!(!metadata_matches(
            &md,
            &key(&["authors", "name", "first"]),
            &json!("Al")
        ));
        assert!(metadata_matches(&md, &key(&["processing"]), &json!("raw")));
        assert!(metadata_matches(
            &md,
            &key(&["voxel_spacing"]),
            &json!(13.48)
        ));
        assert!(metadata_matches(&md, &key(&["tags"]), &json!("b")));
        // A missing key stops at None, which equals only null.
        assert!(!metadata_matches(
            &md,
            &key(&["missing", "deeper"]),
            &json!("x")
        ));
        assert!(metadata_matches(
            &md,
            &key(&["missing", "deeper"]),
            &json!(null)
        ));
        // A falsy value stops the walk and is compared itself (Python: 0 == False).
        assert!(metadata_matches(&md, &key(&["count", "x"]), &json!(0)));
        assert!(metadata_matches(&md, &key(&["count"]), &json!(false)));
    }

    #[test]
    fn parent_filters_include_and_exclude() {
        use crate::EntityKind;
        use std::collections::BTreeMap;
        let filters = ParentFilters {
            include: BTreeMap::from([(EntityKind::Run, vec!["^TS_0".to_string()])]),
            exclude: BTreeMap::from([(EntityKind::Run, vec!["TS_03".to_string()])]),
        };
        let run = |n: &'static str| move |k| (k == EntityKind::Run).then(|| n.to_string());
        assert!(parents_allow(&filters, run("TS_01")).unwrap());
        assert!(!parents_allow(&filters, run("TS_03")).unwrap());
        assert!(!parents_allow(&filters, run("TS_11")).unwrap());
    }
}
