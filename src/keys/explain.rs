//! Stale reasons: the typed difference between today's key parts and the recorded ones, and the
//! one place they are rendered for a person.

use super::{KeyParts, Parent};
use serde::Serialize;
use serde_json::Value;
use std::fmt;

/// Why a target is not fresh. Rendered by [`fmt::Display`], one short phrase each.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "reason", rename_all = "snake_case")]
pub enum StaleReason {
    /// No record of this target in the cache.
    NeverBuilt,
    /// `--force` selected it.
    Forced,
    /// The cache format changed.
    CacheFormatChanged {
        /// Recorded version.
        old: u32,
        /// Current version.
        new: u32,
    },
    /// The tool changed what this kind writes.
    KindVersionChanged {
        /// Recorded version.
        old: u32,
        /// Current version.
        new: u32,
    },
    /// A config field changed (added: `old` is None; removed: `new` is None).
    ConfigChanged {
        /// Dotted path into the canonical config, e.g. `metadata.authors[0].name`.
        field: String,
        /// Recorded value.
        old: Option<Value>,
        /// Current value.
        new: Option<Value>,
    },
    /// A source object appeared.
    SourceAdded {
        /// Key relative to INPUT.
        key: String,
    },
    /// A source object is no longer read.
    SourceRemoved {
        /// Key relative to INPUT.
        key: String,
    },
    /// A source object's ETag or size changed.
    SourceChanged {
        /// Key relative to INPUT.
        key: String,
        /// Recorded ETag and size.
        old: String,
        /// Current ETag and size.
        new: String,
    },
    /// A target this one reads produced different outputs (or is new / gone as a dependency).
    ParentChanged {
        /// The parent target's id.
        target: String,
        /// Recorded state (None: it was not a dependency).
        old: Option<Parent>,
        /// Current state (None: no longer a dependency).
        new: Option<Parent>,
    },
    /// The key matches but a recorded output is missing at OUTPUT.
    OutputMissing {
        /// Key relative to OUTPUT.
        key: String,
    },
}

fn short(digest: &str) -> &str {
    digest.get(..12).unwrap_or(digest)
}

/// A parent's state in a phrase: its short output digest, or what it is instead.
fn parent_text(p: &Parent) -> String {
    match p {
        Parent::Built(d) => short(d).to_string(),
        Parent::Pending => "pending rebuild".to_string(),
        Parent::NotBuilt => "not built".to_string(),
    }
}

fn value_text(v: &Option<Value>) -> String {
    match v {
        None => "(absent)".to_string(),
        Some(v) => {
            let s = v.to_string();
            if s.len() > 80 {
                format!(
                    "{}…",
                    &s[..s.char_indices().nth(77).map_or(s.len(), |(i, _)| i)]
                )
            } else {
                s
            }
        }
    }
}

impl fmt::Display for StaleReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            StaleReason::NeverBuilt => write!(f, "never built"),
            StaleReason::Forced => write!(f, "forced"),
            StaleReason::CacheFormatChanged { old, new } => {
                write!(f, "cache format version {old} → {new}")
            }
            StaleReason::KindVersionChanged { old, new } => {
                write!(f, "output format version {old} → {new}")
            }
            StaleReason::ConfigChanged { field, old, new } => write!(
                f,
                "config field `{field}`: {} → {}",
                value_text(old),
                value_text(new)
            ),
            StaleReason::SourceAdded { key } => write!(f, "source added: {key}"),
            StaleReason::SourceRemoved { key } => write!(f, "source removed: {key}"),
            StaleReason::SourceChanged { key, old, new } => {
                write!(f, "source changed: {key} ({old} → {new})")
            }
            StaleReason::ParentChanged { target, old, new } => match (old, new) {
                (None, _) => write!(f, "new dependency: {target}"),
                (Some(_), None) => write!(f, "dependency dropped: {target}"),
                (Some(Parent::Built(o)), Some(Parent::Pending)) => write!(
                    f,
                    "parent {target} will rebuild (output {} may change)",
                    short(o)
                ),
                (Some(o), Some(Parent::Pending)) => {
                    write!(f, "parent {target} will rebuild (was {})", parent_text(o))
                }
                (Some(o), Some(Parent::NotBuilt)) => {
                    write!(f, "parent {target} is not built (was {})", parent_text(o))
                }
                (Some(o), Some(n)) => write!(
                    f,
                    "parent {target} output changed ({} → {})",
                    parent_text(o),
                    parent_text(n)
                ),
            },
            StaleReason::OutputMissing { key } => write!(f, "output missing: {key}"),
        }
    }
}

/// Renders reasons as one line each, for logs and `explain`.
pub fn render_reasons(reasons: &[StaleReason]) -> Vec<String> {
    reasons.iter().map(ToString::to_string).collect()
}

pub(super) fn compare(new: &KeyParts, old: &KeyParts) -> Vec<StaleReason> {
    let mut out = Vec::new();
    if new.cache_format != old.cache_format {
        out.push(StaleReason::CacheFormatChanged {
            old: old.cache_format,
            new: new.cache_format,
        });
    }
    if new.kind_version != old.kind_version {
        out.push(StaleReason::KindVersionChanged {
            old: old.kind_version,
            new: new.kind_version,
        });
    }
    diff_values("", &old.config, &new.config, &mut out);

    let mut i = 0;
    let mut j = 0;
    let (olds, news) = (&old.sources, &new.sources);
    while i < olds.len() || j < news.len() {
        match (olds.get(i), news.get(j)) {
            (Some(o), Some(n)) if o.key == n.key => {
                if o.etag != n.etag || o.size != n.size {
                    out.push(StaleReason::SourceChanged {
                        key: n.key.clone(),
                        old: format!("ETag {}, {} bytes", o.etag, o.size),
                        new: format!("ETag {}, {} bytes", n.etag, n.size),
                    });
                }
                i += 1;
                j += 1;
            }
            (Some(o), Some(n)) if o.key < n.key => {
                out.push(StaleReason::SourceRemoved { key: o.key.clone() });
                i += 1;
            }
            (Some(_), Some(n)) | (None, Some(n)) => {
                out.push(StaleReason::SourceAdded { key: n.key.clone() });
                j += 1;
            }
            (Some(o), None) => {
                out.push(StaleReason::SourceRemoved { key: o.key.clone() });
                i += 1;
            }
            (None, None) => unreachable!(),
        }
    }

    let ids: std::collections::BTreeSet<&String> =
        old.parents.keys().chain(new.parents.keys()).collect();
    for id in ids {
        let (o, n) = (old.parents.get(id), new.parents.get(id));
        if o != n {
            out.push(StaleReason::ParentChanged {
                target: id.clone(),
                old: o.cloned(),
                new: n.cloned(),
            });
        }
    }
    out
}

fn child_path(base: &str, key: &str) -> String {
    if base.is_empty() {
        key.to_string()
    } else {
        format!("{base}.{key}")
    }
}

/// Appends one `ConfigChanged` per differing leaf (objects recurse by key, arrays of equal
/// length recurse by index; anything else is compared whole).
fn diff_values(path: &str, old: &Value, new: &Value, out: &mut Vec<StaleReason>) {
    match (old, new) {
        (Value::Object(o), Value::Object(n)) => {
            let before = out.len();
            for (k, ov) in o {
                match n.get(k) {
                    Some(nv) => diff_values(&child_path(path, k), ov, nv, out),
                    None => out.push(StaleReason::ConfigChanged {
                        field: child_path(path, k),
                        old: Some(ov.clone()),
                        new: None,
                    }),
                }
            }
            for (k, nv) in n {
                if !o.contains_key(k) {
                    out.push(StaleReason::ConfigChanged {
                        field: child_path(path, k),
                        old: None,
                        new: Some(nv.clone()),
                    });
                }
            }
            // Same keys and values in another order still change the output's key order.
            if out.len() == before && !o.keys().eq(n.keys()) {
                out.push(StaleReason::ConfigChanged {
                    field: format!("{path} (key order)"),
                    old: Some(Value::Object(o.clone())),
                    new: Some(Value::Object(n.clone())),
                });
            }
        }
        (Value::Array(o), Value::Array(n)) if o.len() == n.len() => {
            for (i, (ov, nv)) in o.iter().zip(n).enumerate() {
                diff_values(&format!("{path}[{i}]"), ov, nv, out);
            }
        }
        _ if old != new => out.push(StaleReason::ConfigChanged {
            field: if path.is_empty() {
                "(config)".into()
            } else {
                path.into()
            },
            old: Some(old.clone()),
            new: Some(new.clone()),
        }),
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::storage::ObjectInfo;
    use crate::EntityKind;
    use serde_json::json;
    use std::collections::BTreeMap;

    fn obj(key: &str, etag: &str) -> ObjectInfo {
        ObjectInfo {
            key: key.into(),
            etag: etag.into(),
            size: 1,
        }
    }

    #[test]
    fn config_leaf_changes_are_named_by_path() {
        let old = KeyParts::new(
            EntityKind::Run,
            json!({"metadata": {"authors": [{"name": "A"}], "x": 1}}),
            vec![],
            BTreeMap::new(),
        );
        let new = KeyParts::new(
            EntityKind::Run,
            json!({"metadata": {"authors": [{"name": "B"}], "y": 2}}),
            vec![],
            BTreeMap::new(),
        );
        let lines = render_reasons(&new.compare(&old));
        assert_eq!(
            lines,
            vec![
                "config field `metadata.authors[0].name`: \"A\" → \"B\"",
                "config field `metadata.x`: 1 → (absent)",
                "config field `metadata.y`: (absent) → 2",
            ]
        );
    }

    #[test]
    fn sources_are_diffed_by_key() {
        let old = KeyParts::new(
            EntityKind::Gain,
            json!({}),
            vec![obj("a", "1"), obj("b", "1")],
            BTreeMap::new(),
        );
        let new = KeyParts::new(
            EntityKind::Gain,
            json!({}),
            vec![obj("b", "2"), obj("c", "1")],
            BTreeMap::new(),
        );
        let lines = render_reasons(&new.compare(&old));
        assert_eq!(
            lines,
            vec![
                "source removed: a",
                "source changed: b (ETag 1, 1 bytes → ETag 2, 1 bytes)",
                "source added: c",
            ]
        );
    }

    #[test]
    fn parents_are_diffed_by_id() {
        let with = |p: Parent| {
            KeyParts::new(
                EntityKind::Frame,
                json!({}),
                vec![],
                BTreeMap::from([("p".to_string(), p)]),
            )
        };
        let old = with(Parent::Built("aaaaaaaaaaaaaaaa".into()));
        let lines = |new: Parent| render_reasons(&with(new).compare(&old));
        assert_eq!(
            lines(Parent::Built("bbbbbbbbbbbbbbbb".into())),
            vec!["parent p output changed (aaaaaaaaaaaa → bbbbbbbbbbbb)"]
        );
        assert_eq!(
            lines(Parent::Pending),
            vec!["parent p will rebuild (output aaaaaaaaaaaa may change)"]
        );
        assert_eq!(
            lines(Parent::NotBuilt),
            vec!["parent p is not built (was aaaaaaaaaaaa)"]
        );
        assert_eq!(
            render_reasons(&old.compare(&with(Parent::NotBuilt))),
            vec!["parent p output changed (not built → aaaaaaaaaaaa)"]
        );
    }
}
