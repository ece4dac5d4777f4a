//! From YAML tree to [`DatasetConfig`]: structure, finders and regexes (spec §3, §4.1, §7.1).
//!
//! The checks follow the portal's JSON schema where the tool depends on the answer (which finder
//! keys a kind accepts, required fields, field types) and the reference's behaviour elsewhere
//! (`overrides`/`overrides_by_run` are ignored; defaults for the optional regexes). Each error
//! names the file, the position and the dotted path of the offending value.
//!
//! Regexes are checked as the finders compile them ([`crate::pycompat::re`]): Python `re` syntax, with
//! look-around and backreferences, as the reference compiles them with `re`.

use super::error::{ConfigError, Errors, Location, Site};
use super::model::*;
use super::validate::validate_metadata;
use super::yaml::{self, Node, Value as Y};
use crate::EntityKind;
use indexmap::IndexMap;
use serde_json::{Map, Number, Value};
use std::collections::BTreeMap;
use std::path::Path;

/// Context for building errors: the file and helpers that fill in a [`Site`].
pub(super) struct Ctx<'a> {
    pub file: &'a Path,
}

pub(super) fn join(path: &str, key: &str) -> String {
    if path.is_empty() {
        key.to_string()
    } else {
        format!("{path}.{key}")
    }
}

pub(super) fn index(path: &str, i: usize) -> String {
    format!("{path}[{i}]")
}

fn last_field(path: &str) -> String {
    let tail = path.rsplit('.').next().unwrap_or(path);
    tail.to_string()
}

impl Ctx<'_> {
    pub fn site(&self, loc: Option<Location>, path: &str) -> Box<Site> {
        Box::new(Site {
            file: self.file.to_path_buf(),
            location: loc,
            path: path.to_string(),
        })
    }

    /// `node` at `path` is not of the `expected` type.
    pub fn wrong_type(&self, node: &Node, path: &str, expected: &str) -> ConfigError {
        ConfigError::WrongType {
            site: self.site(Some(node.loc), path),
            field: last_field(path),
            expected: expected.to_string(),
            found: node.describe(),
        }
    }

    /// `node` at `path` has the right type but an unusable value.
    pub fn invalid(&self, node: &Node, path: &str, expected: &str) -> ConfigError {
        ConfigError::InvalidValue {
            site: self.site(Some(node.loc), path),
            field: last_field(path),
            expected: expected.to_string(),
            found: node.describe(),
        }
    }

    /// `field` is missing from the mapping `parent` at `parent_path`.
    pub fn missing(
        &self,
        parent: &Node,
        parent_path: &str,
        field: &str,
        expected: &str,
    ) -> ConfigError {
        ConfigError::MissingField {
            site: self.site(Some(parent.loc), &join(parent_path, field)),
            field: field.to_string(),
            expected: expected.to_string(),
        }
    }

    pub fn unknown(&self, entry: &yaml::Entry, parent_path: &str, allowed: &[&str]) -> ConfigError {
        ConfigError::UnknownField {
            site: self.site(Some(entry.key_loc), &join(parent_path, &entry.key)),
            field: entry.key.clone(),
            expected: allowed.join(", "),
        }
    }

    /// The entries of a mapping node, or a type error.
    pub fn entries<'n>(
        &self,
        node: &'n Node,
        path: &str,
    ) -> Result<&'n [yaml::Entry], ConfigError> {
        match &node.value {
            Y::Map(e) => Ok(e),
            _ => Err(self.wrong_type(node, path, "a mapping")),
        }
    }

    /// Errors on any key not in `allowed`.
    pub fn only_keys(&self, node: &Node, path: &str, allowed: &[&str]) -> Result<(), ConfigError> {
        for e in self.entries(node, path)? {
            if !allowed.contains(&e.key.as_str()) {
                return Err(self.unknown(e, path, allowed));
            }
        }
        Ok(())
    }

    pub fn string(&self, node: &Node, path: &str) -> Result<String, ConfigError> {
        match &node.value {
            Y::Str(s) => Ok(s.clone()),
            _ => Err(self.wrong_type(node, path, "a string")),
        }
    }

    /// A required string field of `parent`.
    fn req_string(&self, parent: &Node, path: &str, field: &str) -> Result<String, ConfigError> {
        match parent.get(field) {
            Some(e) => self.string(&e.value, &join(path, field)),
            None => Err(self.missing(parent, path, field, "a string")),
        }
    }

    /// An optional string field (absent or null → `None`).
    fn opt_string(
        &self,
        parent: &Node,
        path: &str,
        field: &str,
    ) -> Result<Option<String>, ConfigError> {
        match parent.get(field) {
            None => Ok(None),
            Some(e) if e.value.value == Y::Null => Ok(None),
            Some(e) => self.string(&e.value, &join(path, field)).map(Some),
        }
    }

    fn string_list(&self, node: &Node, path: &str) -> Result<Vec<String>, ConfigError> {
        match &node.value {
            Y::Seq(items) => items
                .iter()
                .enumerate()
                .map(|(i, n)| self.string(n, &index(path, i)))
                .collect(),
            _ => Err(self.wrong_type(node, path, "a list of strings")),
        }
    }

    fn regex(&self, node: &Node, path: &str, pattern: &str) -> Result<(), ConfigError> {
        crate::pycompat::re::PyRegex::re_search(pattern)
            .map(|_| ())
            .map_err(|e| ConfigError::InvalidRegex {
                site: self.site(Some(node.loc), path),
                field: last_field(path),
                pattern: pattern.to_string(),
                message: {
                    let text = e.to_string();
                    let last = text.lines().last().unwrap_or_default().trim();
                    last.strip_prefix("error: ").unwrap_or(last).to_string()
                },
            })
    }

    /// An optional regex field with a default.
    fn opt_regex(
        &self,
        parent: &Node,
        path: &str,
        field: &str,
        default: &str,
    ) -> Result<String, ConfigError> {
        match parent.get(field) {
            None => Ok(default.to_string()),
            Some(e) if e.value.value == Y::Null => Ok(default.to_string()),
            Some(e) => {
                let p = join(path, field);
                let s = self.string(&e.value, &p)?;
                self.regex(&e.value, &p, &s)?;
                Ok(s)
            }
        }
    }

    /// Converts a node to JSON (dates are already strings; non-finite floats are refused).
    pub fn to_json(&self, node: &Node, path: &str) -> Result<Value, ConfigError> {
        Ok(match &node.value {
            Y::Null => Value::Null,
            Y::Bool(b) => Value::Bool(*b),
            Y::Int(i) => Value::Number((*i).into()),
            Y::Float(f) => Value::Number(
                Number::from_f64(*f).ok_or_else(|| self.invalid(node, path, "a finite number"))?,
            ),
            Y::Str(s) => Value::String(s.clone()),
            Y::Seq(items) => Value::Array(
                items
                    .iter()
                    .enumerate()
                    .map(|(i, n)| self.to_json(n, &index(path, i)))
                    .collect::<Result<_, _>>()?,
            ),
            Y::Map(entries) => {
                let mut m = Map::new();
                for e in entries {
                    m.insert(e.key.clone(), self.to_json(&e.value, &join(path, &e.key))?);
                }
                Value::Object(m)
            }
        })
    }
}

const STANDARD_FINDERS: &[&str] = &[
    "source_glob",
    "source_multi_glob",
    "destination_glob",
    "literal",
];

/// The finder keys a kind accepts (from the schema's `*Source` definitions).
pub(super) fn finders_for(kind: EntityKind) -> &'static [&'static str] {
    match kind {
        EntityKind::VoxelSpacing => &[
            "source_glob",
            "destination_glob",
            "tomogram_header",
            "literal",
        ],
        EntityKind::Tiltseries | EntityKind::Tomogram => &[
            "source_glob",
            "source_multi_glob",
            "destination_glob",
            "destination_filter",
            "literal",
        ],
        EntityKind::Annotation => &[],
        _ => STANDARD_FINDERS,
    }
}

/// Parses and validates a config text. `file` is used in errors and kept in the result.
pub(super) fn load_str(text: &str, file: &Path) -> Result<DatasetConfig, ConfigError> {
    let cx = Ctx { file };
    let root = yaml::parse(text).map_err(|e| ConfigError::Syntax {
        site: cx.site(Some(e.loc), ""),
        message: e.message,
    })?;
    let entries = match &root.value {
        Y::Map(e) => e.as_slice(),
        Y::Null => &[],
        _ => return Err(cx.wrong_type(&root, "", "a mapping of top-level keys")),
    };
    // Top-level sections and entity blocks are checked independently: every one that fails
    // is reported, not only the first.
    let mut errors = Errors::default();
    let std_entry = entries
        .iter()
        .find(|e| e.key == "standardization_config")
        .ok_or_else(|| {
            cx.missing(
                &root,
                "",
                "standardization_config",
                "a mapping with `deposition_id` and `source_prefix`",
            )
        });
    let standardization = errors.take(std_entry.and_then(|e| standardization(&cx, &e.value)));

    let mut version = None;
    let mut blocks = BTreeMap::new();
    for e in entries {
        match e.key.as_str() {
            "standardization_config" | "overrides" | "overrides_by_run" => {}
            "version" => {
                version =
                    match e.value.value {
                        Y::Null => None,
                        _ => errors.take(e.value.python_str().ok_or_else(|| {
                            cx.wrong_type(&e.value, "version", "a string or number")
                        })),
                    }
            }
            key => {
                let Some(kind) = EntityKind::from_plural_key(key) else {
                    let mut allowed = vec![
                        "version",
                        "standardization_config",
                        "overrides",
                        "overrides_by_run",
                    ];
                    allowed.extend(EntityKind::ALL.iter().map(|k| k.plural_key()));
                    errors.push(cx.unknown(e, "", &allowed));
                    continue;
                };
                match errors.take(entity_blocks(&cx, kind, &e.value)) {
                    Some(list) if !list.is_empty() => {
                        blocks.insert(kind, list);
                    }
                    _ => {}
                }
            }
        }
    }
    errors.in_file_order().finish(|| DatasetConfig {
        file: file.to_path_buf(),
        version,
        standardization: standardization.expect("no error, so it parsed"),
        blocks,
    })
}

fn standardization(cx: &Ctx, node: &Node) -> Result<StandardizationConfig, ConfigError> {
    let path = "standardization_config";
    let entries = cx.entries(node, path)?;
    let deposition_id = match node.get("deposition_id") {
        None => return Err(cx.missing(node, path, "deposition_id", "an integer")),
        Some(e) => match e.value.value {
            Y::Int(i) => i,
            _ => return Err(cx.wrong_type(&e.value, &join(path, "deposition_id"), "an integer")),
        },
    };
    let mut cfg = StandardizationConfig {
        deposition_id,
        source_prefix: cx.req_string(node, path, "source_prefix")?,
        run_data_map_file: cx.opt_string(node, path, "run_data_map_file")?,
        run_to_tomo_map_csv: cx.opt_string(node, path, "run_to_tomo_map_csv")?,
        run_to_frame_map_csv: cx.opt_string(node, path, "run_to_frame_map_csv")?,
        run_to_ts_map_csv: cx.opt_string(node, path, "run_to_ts_map_csv")?,
        run_name_regex: None,
        extra: Map::new(),
    };
    for e in entries {
        let p = join(path, &e.key);
        // The reference compiles every key containing `regex`.
        if e.key.contains("regex") && e.value.value != Y::Null {
            let s = cx.string(&e.value, &p)?;
            cx.regex(&e.value, &p, &s)?;
            if e.key == "run_name_regex" {
                cfg.run_name_regex = Some(s);
                continue;
            }
        }
        match e.key.as_str() {
            "deposition_id"
            | "source_prefix"
            | "run_data_map_file"
            | "run_to_tomo_map_csv"
            | "run_to_frame_map_csv"
            | "run_to_ts_map_csv"
            | "run_name_regex" => {}
            other => {
                cfg.extra
                    .insert(other.to_string(), cx.to_json(&e.value, &p)?);
            }
        }
    }
    Ok(cfg)
}

fn entity_blocks(cx: &Ctx, kind: EntityKind, node: &Node) -> Result<Vec<EntityBlock>, ConfigError> {
    let path = kind.plural_key();
    let items = match &node.value {
        Y::Null => return Ok(Vec::new()),
        Y::Seq(items) => items,
        _ => {
            return Err(cx.wrong_type(
                node,
                path,
                "a list of blocks (mappings with `metadata` and `sources`)",
            ))
        }
    };
    let mut errors = Errors::default();
    let blocks: Vec<EntityBlock> = items
        .iter()
        .enumerate()
        .filter_map(|(i, item)| errors.take(entity_block(cx, kind, i, item, &index(path, i))))
        .collect();
    errors.finish(|| blocks)
}

fn entity_block(
    cx: &Ctx,
    kind: EntityKind,
    i: usize,
    node: &Node,
    path: &str,
) -> Result<EntityBlock, ConfigError> {
    cx.only_keys(node, path, &["metadata", "sources"])?;
    // The metadata and each source are checked independently.
    let mut errors = Errors::default();
    let metadata_path = join(path, "metadata");
    let metadata = match node.get("metadata") {
        None if kind == EntityKind::Annotation => {
            errors.push(cx.missing(
                node,
                path,
                "metadata",
                "a mapping (annotations need metadata)",
            ));
            Map::new()
        }
        None => Map::new(),
        Some(e) if e.value.value == Y::Null && kind != EntityKind::Annotation => Map::new(),
        Some(e) => {
            let checked = cx.entries(&e.value, &metadata_path).and_then(|_| {
                validate_metadata(cx, kind, &e.value, &metadata_path)?;
                cx.to_json(&e.value, &metadata_path)
            });
            match errors.take(checked) {
                Some(Value::Object(m)) => m,
                Some(_) => unreachable!("a mapping converts to an object"),
                None => Map::new(),
            }
        }
    };
    let sources_path = join(path, "sources");
    let not_a_list = "a non-empty list of sources";
    let sources = match node.get("sources") {
        None => {
            errors.push(cx.missing(node, path, "sources", not_a_list));
            Vec::new()
        }
        Some(e) => match &e.value.value {
            Y::Seq(items) if !items.is_empty() => items
                .iter()
                .enumerate()
                .filter_map(|(j, s)| errors.take(source(cx, kind, j, s, &index(&sources_path, j))))
                .collect(),
            Y::Seq(_) => {
                errors.push(cx.invalid(&e.value, &sources_path, not_a_list));
                Vec::new()
            }
            _ => {
                errors.push(cx.wrong_type(&e.value, &sources_path, not_a_list));
                Vec::new()
            }
        },
    };
    errors.finish(|| EntityBlock {
        kind,
        index: i,
        metadata,
        sources,
        location: node.loc,
    })
}

fn source(
    cx: &Ctx,
    kind: EntityKind,
    j: usize,
    node: &Node,
    path: &str,
) -> Result<Source, ConfigError> {
    let entries = cx.entries(node, path)?;
    let finder_keys: Vec<&str> = if kind == EntityKind::Annotation {
        AnnotationShape::ALL
            .iter()
            .map(|s| s.config_key())
            .collect()
    } else {
        finders_for(kind).to_vec()
    };
    let mut allowed = finder_keys.clone();
    allowed.extend(["exclude", "parent_filters"]);
    let mut finder: Option<(&yaml::Entry, Finder)> = None;
    let mut exclude = Vec::new();
    let mut parent_filters = ParentFilters::default();
    for e in entries {
        let p = join(path, &e.key);
        match e.key.as_str() {
            "exclude" => {
                if e.value.value != Y::Null {
                    exclude = cx.string_list(&e.value, &p)?;
                    if let Y::Seq(items) = &e.value.value {
                        for (k, (n, s)) in items.iter().zip(&exclude).enumerate() {
                            cx.regex(n, &index(&p, k), s)?;
                        }
                    }
                }
            }
            "parent_filters" => parent_filters = parent_filters_of(cx, kind, &e.value, &p)?,
            key if finder_keys.contains(&key) => {
                if let Some((first, _)) = &finder {
                    return Err(ConfigError::InvalidValue {
                        site: cx.site(Some(e.key_loc), &p),
                        field: e.key.clone(),
                        expected: format!(
                            "exactly one finder key per source (`{}` is already given)",
                            first.key
                        ),
                        found: format!("a second finder key `{}`", e.key),
                    });
                }
                let f = if kind == EntityKind::Annotation {
                    Finder::Annotation(annotation_source(cx, key, &e.value, &p)?)
                } else {
                    finder_of(cx, kind, key, &e.value, &p)?
                };
                finder = Some((e, f));
            }
            _ => return Err(cx.unknown(e, path, &allowed)),
        }
    }
    let Some((_, finder)) = finder else {
        let what = if kind == EntityKind::Annotation {
            "shape key"
        } else {
            "finder key"
        };
        return Err(ConfigError::MissingField {
            site: cx.site(Some(node.loc), path),
            field: format!("<{what}>"),
            expected: format!("exactly one {what} of: {}", finder_keys.join(", ")),
        });
    };
    Ok(Source {
        index: j,
        finder,
        exclude,
        parent_filters,
        location: node.loc,
    })
}

fn parent_filters_of(
    cx: &Ctx,
    kind: EntityKind,
    node: &Node,
    path: &str,
) -> Result<ParentFilters, ConfigError> {
    let mut pf = ParentFilters::default();
    if node.value == Y::Null {
        return Ok(pf);
    }
    cx.only_keys(node, path, &["include", "exclude"])?;
    let mut ancestors = Vec::new();
    let mut k = kind.parent();
    while let Some(p) = k {
        ancestors.push(p.type_key());
        k = p.parent();
    }
    ancestors.reverse();
    for e in cx.entries(node, path)? {
        let p = join(path, &e.key);
        if e.value.value == Y::Null {
            continue;
        }
        let mut map = BTreeMap::new();
        for t in cx.entries(&e.value, &p)? {
            let tp = join(&p, &t.key);
            let parent = match t.key.parse::<EntityKind>() {
                Ok(pk) if ancestors.contains(&pk.type_key()) => pk,
                _ => return Err(cx.unknown(t, &p, &ancestors)),
            };
            if t.value.value == Y::Null {
                continue;
            }
            let regexes = cx.string_list(&t.value, &tp)?;
            if let Y::Seq(items) = &t.value.value {
                for (i, (n, s)) in items.iter().zip(&regexes).enumerate() {
                    cx.regex(n, &index(&tp, i), s)?;
                }
            }
            map.insert(parent, regexes);
        }
        if e.key == "include" {
            pf.include = map;
        } else {
            pf.exclude = map;
        }
    }
    Ok(pf)
}

fn finder_of(
    cx: &Ctx,
    kind: EntityKind,
    key: &str,
    node: &Node,
    path: &str,
) -> Result<Finder, ConfigError> {
    match key {
        "source_glob" | "destination_glob" => {
            cx.only_keys(node, path, &["list_glob", "match_regex", "name_regex"])?;
            let list_glob = cx.req_string(node, path, "list_glob")?;
            let match_regex = cx.opt_regex(node, path, "match_regex", ".*")?;
            let name_regex = cx.opt_regex(node, path, "name_regex", "(.*)")?;
            Ok(if key == "source_glob" {
                Finder::SourceGlob {
                    list_glob,
                    match_regex,
                    name_regex,
                }
            } else {
                Finder::DestinationGlob {
                    list_glob,
                    match_regex,
                    name_regex,
                }
            })
        }
        "source_multi_glob" => {
            cx.only_keys(node, path, &["list_globs"])?;
            let Some(e) = node.get("list_globs") else {
                return Err(cx.missing(node, path, "list_globs", "a non-empty list of strings"));
            };
            let p = join(path, "list_globs");
            let list_globs = cx.string_list(&e.value, &p)?;
            if list_globs.is_empty() {
                return Err(cx.invalid(&e.value, &p, "a non-empty list of strings"));
            }
            Ok(Finder::SourceMultiGlob { list_globs })
        }
        "tomogram_header" => {
            cx.only_keys(node, path, &["list_glob", "match_regex", "header_key"])?;
            let list_glob = cx.req_string(node, path, "list_glob")?;
            let match_regex = cx.opt_regex(node, path, "match_regex", ".*")?;
            let header_key = cx
                .opt_string(node, path, "header_key")?
                .unwrap_or_else(|| "voxel_size".to_string());
            if header_key != "voxel_size" {
                let e = node
                    .get("header_key")
                    .expect("a non-default value was read from the node");
                return Err(cx.invalid(
                    &e.value,
                    &join(path, "header_key"),
                    "\"voxel_size\" (the only header key the reference reads)",
                ));
            }
            Ok(Finder::TomogramHeader {
                list_glob,
                match_regex,
                header_key,
            })
        }
        "destination_filter" => {
            cx.only_keys(node, path, &["filters"])?;
            let Some(e) = node.get("filters") else {
                return Err(cx.missing(node, path, "filters", "a list of {key, value} rules"));
            };
            let p = join(path, "filters");
            let Y::Seq(items) = &e.value.value else {
                return Err(cx.wrong_type(&e.value, &p, "a list of {key, value} rules"));
            };
            let mut filters = Vec::new();
            for (i, item) in items.iter().enumerate() {
                let ip = index(&p, i);
                cx.only_keys(item, &ip, &["key", "value"])?;
                let Some(k) = item.get("key") else {
                    return Err(cx.missing(
                        item,
                        &ip,
                        "key",
                        "a non-empty list of strings (a JSON path)",
                    ));
                };
                let kp = join(&ip, "key");
                let key = cx.string_list(&k.value, &kp)?;
                if key.is_empty() {
                    return Err(cx.invalid(
                        &k.value,
                        &kp,
                        "a non-empty list of strings (a JSON path)",
                    ));
                }
                let Some(v) = item.get("value") else {
                    return Err(cx.missing(item, &ip, "value", "the value to compare with"));
                };
                let value = cx.to_json(&v.value, &join(&ip, "value"))?;
                filters.push(DestinationFilterRule { key, value });
            }
            Ok(Finder::DestinationFilter { filters })
        }
        "literal" => {
            cx.only_keys(node, path, &["value"])?;
            let Some(e) = node.get("value") else {
                return Err(cx.missing(
                    node,
                    path,
                    "value",
                    "a non-empty list, or a mapping of names to paths",
                ));
            };
            Ok(Finder::Literal(literal_value(
                cx,
                kind,
                &e.value,
                &join(path, "value"),
            )?))
        }
        other => unreachable!("finder key {other} is filtered by finders_for"),
    }
}

fn literal_value(
    cx: &Ctx,
    kind: EntityKind,
    node: &Node,
    path: &str,
) -> Result<LiteralValue, ConfigError> {
    match &node.value {
        Y::Seq(items) if !items.is_empty() => {
            let mut out = Vec::new();
            for (i, n) in items.iter().enumerate() {
                let ip = index(path, i);
                if kind == EntityKind::VoxelSpacing {
                    // A number, or a "float {column}" template expanded with the run data map.
                    let ok = match &n.value {
                        Y::Int(_) | Y::Float(_) => true,
                        Y::Str(s) => s.contains('{'),
                        _ => false,
                    };
                    if !ok {
                        return Err(cx.wrong_type(
                            n,
                            &ip,
                            "a number or a \"float {column}\" template",
                        ));
                    }
                } else if matches!(n.value, Y::Seq(_) | Y::Map(_)) {
                    return Err(cx.wrong_type(n, &ip, "a scalar name"));
                }
                out.push(cx.to_json(n, &ip)?);
            }
            Ok(LiteralValue::List(out))
        }
        Y::Map(entries) if kind != EntityKind::VoxelSpacing => {
            let mut out = IndexMap::new();
            for e in entries {
                let ep = join(path, &e.key);
                let v = match &e.value.value {
                    Y::Null => None,
                    Y::Str(s) => Some(s.clone()),
                    _ => return Err(cx.wrong_type(&e.value, &ep, "a string path or null")),
                };
                out.insert(e.key.clone(), v);
            }
            Ok(LiteralValue::Map(out))
        }
        Y::Seq(_) => Err(cx.invalid(node, path, "a non-empty list")),
        _ => Err(cx.wrong_type(
            node,
            path,
            if kind == EntityKind::VoxelSpacing {
                "a non-empty list of numbers"
            } else {
                "a non-empty list, or a mapping of names to paths"
            },
        )),
    }
}

fn annotation_source(
    cx: &Ctx,
    key: &str,
    node: &Node,
    path: &str,
) -> Result<AnnotationSource, ConfigError> {
    let shape =
        AnnotationShape::from_config_key(key).expect("shape keys come from AnnotationShape::ALL");
    let mut allowed = vec![
        "file_format",
        "glob_string",
        "glob_strings",
        "is_visualization_default",
    ];
    allowed.extend(shape.params().iter().map(|(k, _)| *k));
    cx.only_keys(node, path, &allowed)?;

    let formats = shape.file_formats();
    let file_format = match node.get("file_format") {
        None => {
            return Err(cx.missing(
                node,
                path,
                "file_format",
                &format!("a string, one of: {}", formats.join(", ")),
            ))
        }
        Some(e) => {
            let p = join(path, "file_format");
            let f = cx.string(&e.value, &p)?;
            if !formats.contains(&f.as_str()) {
                return Err(cx.invalid(&e.value, &p, &format!("one of: {}", formats.join(", "))));
            }
            f
        }
    };
    let single = cx.opt_string(node, path, "glob_string")?;
    let multi = match node.get("glob_strings") {
        Some(e) if e.value.value != Y::Null => {
            let p = join(path, "glob_strings");
            let l = cx.string_list(&e.value, &p)?;
            if l.is_empty() {
                return Err(cx.invalid(&e.value, &p, "a non-empty list of strings"));
            }
            Some(l)
        }
        _ => None,
    };
    let glob = match (single, multi) {
        (Some(s), None) => AnnotationGlob::Single(s),
        (None, Some(m)) => AnnotationGlob::Multi(m),
        (None, None) => {
            return Err(cx.missing(
                node,
                path,
                "glob_string",
                "a string `glob_string` or a list `glob_strings`",
            ))
        }
        (Some(_), Some(_)) => {
            let e = node.get("glob_strings").expect("present");
            return Err(ConfigError::InvalidValue {
                site: cx.site(Some(e.key_loc), &join(path, "glob_strings")),
                field: "glob_strings".into(),
                expected: "only one of `glob_string` and `glob_strings`".into(),
                found: "both".into(),
            });
        }
    };
    let is_visualization_default = match node.get("is_visualization_default") {
        None => false,
        Some(e) => match e.value.value {
            Y::Null => false,
            Y::Bool(b) => b,
            _ => {
                return Err(cx.wrong_type(
                    &e.value,
                    &join(path, "is_visualization_default"),
                    "a boolean",
                ))
            }
        },
    };
    let mut params = Map::new();
    for (name, ty) in shape.params() {
        let Some(e) = node.get(name) else { continue };
        let p = join(path, name);
        let ok = matches!(
            (&e.value.value, ty),
            (Y::Null, _)
                | (Y::Str(_), ParamType::Str)
                | (Y::Int(_) | Y::Float(_), ParamType::Number)
                | (Y::Int(_), ParamType::Integer)
                | (Y::Bool(_), ParamType::Bool)
        );
        if !ok {
            let expected = match ty {
                ParamType::Str => "a string",
                ParamType::Number => "a number",
                ParamType::Integer => "an integer",
                ParamType::Bool => "a boolean",
            };
            return Err(cx.wrong_type(&e.value, &p, expected));
        }
        if matches!(*name, "columns" | "order") {
            if let Y::Str(s) = &e.value.value {
                if s != "xyz" && s != "zyx" {
                    return Err(cx.invalid(&e.value, &p, "\"xyz\" or \"zyx\""));
                }
            }
        }
        params.insert((*name).to_string(), cx.to_json(&e.value, &p)?);
    }
    // Keep YAML order in params.
    let mut ordered = Map::new();
    for e in cx.entries(node, path)? {
        if let Some(v) = params.remove(&e.key) {
            ordered.insert(e.key.clone(), v);
        }
    }
    Ok(AnnotationSource {
        shape,
        file_format,
        glob,
        is_visualization_default,
        params: ordered,
    })
}
