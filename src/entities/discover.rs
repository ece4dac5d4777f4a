//! The discovery walk: one depth-first pass over the entity tree (spec §1, §2), running each
//! kind's finders under each parent, applying filters, default configs and ID assignment.

use super::ids::{deposition_part, identity, IdError, IdRegistry};
use super::{Instance, Origin};
use crate::config::{
    expand_metadata, parse_two_column_map, DatasetConfig, EntityBlock, GlobVars, RunDataMap,
    Source, VarValue,
};
use crate::finders::{self, FinderContext, FinderError, Found};
use crate::pycompat::re::{PyRegex, PyRegexError};
use crate::storage::{KeyError, Store, StoreKey};
use crate::EntityKind;
use serde_json::{json, Map, Value};
use std::collections::BTreeMap;

/// Everything found, parents before children, siblings in the reference's order.
#[derive(Debug, Default)]
pub struct Discovery {
    /// The instances; [`Instance::parent`] indexes into this list.
    pub instances: Vec<Instance>,
    /// Problems that did not stop the walk, e.g. a dataset under which the run blocks found
    /// nothing (the reference goes on with the other parents); printed by the CLI.
    pub warnings: Vec<String>,
}

/// A discovery failure, named by config file, block and source.
#[derive(Debug, thiserror::Error)]
#[error("{file}: {place}: {message}")]
pub struct DiscoverError {
    /// The config file.
    pub file: String,
    /// Block path, e.g. `runs[0].sources[1] (source_glob)`.
    pub place: String,
    /// What went wrong.
    pub message: String,
}

/// The CLI's `--filter KIND=REGEX` / `--exclude KIND=REGEX`, applied to instance names with
/// Python `re.match` semantics (anchored at the start). Excludes are checked first.
#[derive(Debug, Default, Clone)]
pub struct NameFilters {
    /// Keep only names matching one of these, per kind.
    pub include: BTreeMap<EntityKind, Vec<PyRegex>>,
    /// Drop names matching any of these, per kind.
    pub exclude: BTreeMap<EntityKind, Vec<PyRegex>>,
}

impl NameFilters {
    /// Whether an instance of `kind` named `name` passes.
    ///
    /// # Errors
    /// A pattern that gave up matching (backtracking limit).
    pub fn allows(&self, kind: EntityKind, name: &str) -> Result<bool, PyRegexError> {
        if let Some(ex) = self.exclude.get(&kind) {
            for r in ex {
                if r.is_match(name)? {
                    return Ok(false);
                }
            }
        }
        match self.include.get(&kind) {
            Some(inc) if !inc.is_empty() => {
                for r in inc {
                    if r.is_match(name)? {
                        return Ok(true);
                    }
                }
                Ok(false)
            }
            _ => Ok(true),
        }
    }
}

/// Children of each kind, in processing order (spec §2).
fn child_kinds(kind: EntityKind) -> &'static [EntityKind] {
    use EntityKind::*;
    match kind {
        Deposition => &[Dataset, DepositionKeyphoto],
        Dataset => &[Run, DatasetKeyphoto],
        Run => &[
            Gain,
            CollectionMetadata,
            Frame,
            Tiltseries,
            Alignment,
            IdentifiedObject,
            VoxelSpacing,
        ],
        Tiltseries => &[Ctf, Rawtilt],
        VoxelSpacing => &[Annotation, Tomogram, VizConfig],
        Tomogram => &[KeyImage],
        Annotation => &[AnnotationViz],
        _ => &[],
    }
}

/// Kinds the walk visits now. Annotation visualizations come with the work that builds them;
/// key images are derived from tomograms, not found.
fn discovered(kind: EntityKind) -> bool {
    use EntityKind::*;
    !matches!(kind, AnnotationViz | KeyImage)
}

struct Walk<'a> {
    config: &'a DatasetConfig,
    input: &'a Store,
    output: &'a Store,
    filters: &'a NameFilters,
    run_map: Option<RunDataMap>,
    legacy_maps: Vec<(&'static str, BTreeMap<String, String>)>,
    ids: IdRegistry,
    out: Discovery,
    /// Instances found per kind before the CLI name filters (a kind that found nothing under
    /// every parent is an error, under some parents a warning).
    found_counts: BTreeMap<EntityKind, usize>,
    /// The first "found nothing" message per kind, for the error when it found nothing at all.
    first_empty: BTreeMap<EntityKind, DiscoverError>,
}

/// Walks the entity tree of `config` over INPUT and OUTPUT.
///
/// # Errors
/// Finder failures (bad templates, regexes, listings), a deposition, dataset or run kind that
/// finds nothing, unreadable run-data maps and ID seeding failures; each names the config file
/// and block.
pub fn discover(
    config: &DatasetConfig,
    input: &Store,
    output: &Store,
    filters: &NameFilters,
) -> Result<Discovery, DiscoverError> {
    let file = config.file.display().to_string();
    let sc = &config.standardization;
    let read_map = |name: &str| -> Result<Vec<u8>, DiscoverError> {
        let key = join(&sc.source_prefix, name);
        input.read(&key).map_err(|e| DiscoverError {
            file: file.clone(),
            place: "standardization_config".into(),
            message: e.to_string(),
        })
    };
    let run_map = match &sc.run_data_map_file {
        Some(name) => {
            let bytes = read_map(name)?;
            Some(
                RunDataMap::parse(&bytes, name.ends_with("tsv"), name).map_err(|e| {
                    DiscoverError {
                        file: file.clone(),
                        place: "standardization_config.run_data_map_file".into(),
                        message: e.to_string(),
                    }
                })?,
            )
        }
        None => None,
    };
    let mut legacy_maps = Vec::new();
    for (var, name) in [
        ("mapped_tomo_name", &sc.run_to_tomo_map_csv),
        ("mapped_frame_name", &sc.run_to_frame_map_csv),
        ("mapped_ts_name", &sc.run_to_ts_map_csv),
    ] {
        if let Some(name) = name {
            let bytes = read_map(name)?;
            let map = parse_two_column_map(&bytes, name).map_err(|e| DiscoverError {
                file: file.clone(),
                place: "standardization_config".into(),
                message: e.to_string(),
            })?;
            legacy_maps.push((var, map));
        }
    }
    let mut walk = Walk {
        config,
        input,
        output,
        filters,
        run_map,
        legacy_maps,
        ids: IdRegistry::default(),
        out: Discovery::default(),
        found_counts: BTreeMap::new(),
        first_empty: BTreeMap::new(),
    };
    walk.visit_kind(EntityKind::Deposition, None)?;
    // A kind that found nothing anywhere is a broken config (a wrong glob or source prefix),
    // not a parent that happens to be empty.
    let mut first_empty = std::mem::take(&mut walk.first_empty);
    for kind in [EntityKind::Dataset, EntityKind::Run] {
        if walk.found_counts.get(&kind).copied().unwrap_or(0) == 0 {
            if let Some(e) = first_empty.remove(&kind) {
                return Err(e);
            }
        }
    }
    Ok(walk.out)
}

fn join(prefix: &str, rest: &str) -> String {
    let p = prefix.trim_matches('/');
    if p.is_empty() {
        rest.trim_start_matches('/').to_string()
    } else {
        format!("{p}/{}", rest.trim_start_matches('/'))
    }
}

fn basename(key: &str) -> &str {
    key.rsplit('/').next().unwrap_or(key)
}

/// Python `"{:.3f}".format(round(float(name), 3))`.
fn voxel_name(raw: &str) -> Option<String> {
    let v: f64 = raw.trim().parse().ok()?;
    Some(format!("{:.3}", crate::volume::round3(v)))
}

impl<'a> Walk<'a> {
    fn err(&self, place: String, message: impl ToString) -> DiscoverError {
        DiscoverError {
            file: self.config.file.display().to_string(),
            place,
            message: message.to_string(),
        }
    }

    fn visit_kind(&mut self, kind: EntityKind, parent: Option<usize>) -> Result<(), DiscoverError> {
        let found = self.find(kind, parent)?;
        for inst in found {
            let idx = self.out.instances.len();
            self.out.instances.push(inst);
            for child in child_kinds(kind) {
                if discovered(*child) {
                    self.visit_kind(*child, Some(idx))?;
                }
            }
        }
        Ok(())
    }

    fn parent_vars(&self, parent: Option<usize>) -> GlobVars {
        let mut vars = parent
            .map(|p| self.out.instances[p].vars.clone())
            .unwrap_or_default();
        vars.insert("output_path".into(), VarValue::Str(String::new()));
        vars
    }

    /// Runs every block's sources of `kind` under `parent`, then the default config when all of
    /// them found nothing, then the CLI name filters.
    fn find(
        &mut self,
        kind: EntityKind,
        parent: Option<usize>,
    ) -> Result<Vec<Instance>, DiscoverError> {
        let vars = self.parent_vars(parent);
        // The config outlives the walk: borrow its blocks rather than clone them per parent.
        let config: &'a DatasetConfig = self.config;
        let blocks: &[EntityBlock] = config.blocks(kind);
        let mut found: Vec<(Found, usize, usize, Vec<Found>)> = Vec::new();
        for block in blocks {
            for source in &block.sources {
                let place = format!(
                    "{}[{}].sources[{}] ({})",
                    kind.plural_key(),
                    block.index,
                    source.index,
                    source.finder.config_key()
                );
                let allowed = finders::parents_allow(&source.parent_filters, |k| {
                    parent
                        .and_then(|p| self.out.ancestor(p, k))
                        .map(|i| i.name.clone())
                })
                .map_err(|e| self.err(place.clone(), e))?;
                if !allowed {
                    continue;
                }
                let ctx = FinderContext {
                    input: self.input,
                    output: self.output,
                    source_prefix: &self.config.standardization.source_prefix,
                    vars: &vars,
                    kind,
                };
                let results = finders::find(&source.finder, &ctx)
                    .and_then(|r| finders::apply_exclude(r, &source.exclude))
                    .map_err(|e: FinderError| self.err(place.clone(), e))?;
                if grouped(kind) {
                    if let Some(first) = results.first().cloned() {
                        found.push((first, block.index, source.index, results));
                    }
                } else {
                    for r in results {
                        found.push((r, block.index, source.index, Vec::new()));
                    }
                }
            }
        }
        let mut instances = Vec::new();
        *self.found_counts.entry(kind).or_insert(0) += found.len();
        if found.is_empty() {
            if matches!(
                kind,
                EntityKind::Deposition | EntityKind::Dataset | EntityKind::Run
            ) && !blocks.is_empty()
            {
                let parent_name = parent.map_or(String::new(), |p| {
                    let i = &self.out.instances[p];
                    format!(" under {} `{}`", i.kind, i.name)
                });
                let e = self.err(
                    kind.plural_key().to_string(),
                    format!(
                        "found no {kind}{parent_name}: check the sources' globs against INPUT/{}",
                        self.config.standardization.source_prefix
                    ),
                );
                // With no deposition there is nothing to walk; an empty dataset (or run
                // listing under one dataset) is reported, and the walk goes on, as the
                // reference's does.
                if kind == EntityKind::Deposition {
                    return Err(e);
                }
                self.out.warnings.push(e.to_string());
                self.first_empty.entry(kind).or_insert(e);
            }
            instances.extend(default_instances(kind, parent));
        } else {
            for (first, block, source, group) in found {
                let b = blocks
                    .iter()
                    .find(|b| b.index == block)
                    .expect("block exists");
                let s = &b.sources[source];
                let inst = self.make_instance(kind, parent, b, s, first, group)?;
                instances.push(inst);
            }
        }
        let mut kept = Vec::new();
        for mut inst in instances {
            // IDs first, as the reference's importers take theirs when the finder makes them:
            // a run filtered to some names numbers them as the whole run does.
            self.assign_id(&mut inst)?;
            let allowed = self
                .filters
                .allows(kind, &inst.name)
                .map_err(|e| self.err(format!("--filter/--exclude {kind}"), e))?;
            if !allowed {
                continue;
            }
            inst.output_dir = self.output_dir(&inst).map_err(|e| {
                self.err(
                    inst.origin.place(kind),
                    format!("{kind} name cannot be an output folder: {e}"),
                )
            })?;
            self.add_own_vars(&mut inst);
            kept.push(inst);
        }
        Ok(kept)
    }

    fn make_instance(
        &self,
        kind: EntityKind,
        parent: Option<usize>,
        block: &EntityBlock,
        source: &Source,
        first: Found,
        group: Vec<Found>,
    ) -> Result<Instance, DiscoverError> {
        let place = format!("{}[{}]", kind.plural_key(), block.index);
        let mut metadata = block.metadata.clone();
        let mut name = first.name.clone();
        let mut path = first.path.clone();
        let mut file_paths = Vec::new();
        let mut in_destination = first.in_destination;
        if grouped(kind) {
            let with_paths: Vec<&Found> = group.iter().filter(|f| f.path.is_some()).collect();
            if with_paths.is_empty() {
                name = "default".into();
                path = None;
            } else if with_paths
                .iter()
                .all(|f| f.path.as_deref().unwrap_or("").ends_with("metadata.json"))
            {
                // A reference to an existing entity: its JSON becomes the metadata.
                if with_paths.len() > 1 {
                    return Err(self.err(place, "more than one existing metadata.json matched"));
                }
                let key = with_paths[0].path.clone().unwrap_or_default();
                let store = if first.in_destination {
                    self.output
                } else {
                    self.input
                };
                let bytes = store.read(&key).map_err(|e| self.err(place.clone(), e))?;
                let json: Value = serde_json::from_slice(&bytes).map_err(|e| {
                    self.err(place.clone(), format!("{}: {e}", store.describe(&key)))
                })?;
                metadata = json.as_object().cloned().unwrap_or_default();
                file_paths = metadata
                    .get("files")
                    .and_then(Value::as_array)
                    .map(|a| {
                        a.iter()
                            .filter_map(|v| v.as_str().map(String::from))
                            .collect()
                    })
                    .unwrap_or_default();
                name = basename(&key).to_string();
                path = Some(key);
                in_destination = true;
            } else {
                file_paths = with_paths.iter().filter_map(|f| f.path.clone()).collect();
                name = file_paths
                    .iter()
                    .map(|p| basename(p))
                    .collect::<Vec<_>>()
                    .join(",");
                path = None;
            }
        }
        if matches!(kind, EntityKind::Tomogram | EntityKind::Tiltseries)
            && first.in_destination
            && path
                .as_deref()
                .is_some_and(|p| p.ends_with("metadata.json"))
        {
            // A reference to a volume already in the destination (destination_filter, or a
            // destination_glob to its JSON): named by the JSON's `omezarr_dir`, as the
            // reference's `get_name_and_path`; it keeps the config metadata.
            let key = path.clone().unwrap_or_default();
            let bytes = self
                .output
                .read(&key)
                .map_err(|e| self.err(place.clone(), e))?;
            let json: Value = serde_json::from_slice(&bytes).map_err(|e| {
                self.err(
                    place.clone(),
                    format!("{}: {e}", self.output.describe(&key)),
                )
            })?;
            name = json
                .get("omezarr_dir")
                .and_then(Value::as_str)
                .map(String::from)
                .ok_or_else(|| {
                    self.err(
                        place.clone(),
                        format!(
                            "{}: no `omezarr_dir` to name the referenced {kind} by",
                            self.output.describe(&key)
                        ),
                    )
                })?;
        }
        if kind == EntityKind::Run && name.is_empty() {
            name = self.run_name_from_path(&place, path.as_deref())?;
        }
        if kind == EntityKind::VoxelSpacing {
            let raw = if name.contains('{') {
                let expanded = self
                    .expand_string(parent, &name)
                    .map_err(|e| self.err(place.clone(), e))?;
                match expanded {
                    Value::Number(n) => n.to_string(),
                    Value::String(s) => s,
                    other => other.to_string(),
                }
            } else {
                name.clone()
            };
            name = voxel_name(&raw).ok_or_else(|| {
                self.err(
                    place.clone(),
                    format!("voxel spacing `{raw}` is not a number"),
                )
            })?;
        }
        if matches!(
            kind,
            EntityKind::Tomogram | EntityKind::Tiltseries | EntityKind::Frame
        ) {
            let row = self.run_row(parent);
            metadata =
                expand_metadata(&metadata, row.as_ref()).map_err(|e| self.err(place.clone(), e))?;
        }
        Ok(Instance {
            kind,
            name,
            path,
            is_dir: first.is_dir,
            file_paths,
            in_destination,
            metadata,
            finder: serde_json::to_value(source).unwrap_or(Value::Null),
            origin: Origin::Block {
                block: block.index,
                source: source.index,
            },
            vars: GlobVars::new(),
            output_dir: StoreKey::root(),
            id: None,
            parent,
        })
    }

    /// The legacy `standardization_config.run_name_regex` (spec §3.3): a run whose finder gave
    /// it no name is named by group 1 of the regex on its path's basename.
    fn run_name_from_path(&self, place: &str, path: Option<&str>) -> Result<String, DiscoverError> {
        let field = "standardization_config.run_name_regex";
        let Some(pattern) = &self.config.standardization.run_name_regex else {
            return Err(self.err(
                place.to_string(),
                format!("a run was found with an empty name ({}); set {field} to name it from its path, or fix the source's name_regex", path.unwrap_or("no path")),
            ));
        };
        let Some(path) = path.filter(|p| !p.is_empty()) else {
            return Err(self.err(
                place.to_string(),
                format!(
                    "a run was found with an empty name and no path for {field} to name it from"
                ),
            ));
        };
        let re =
            finders::compile_match(field, pattern).map_err(|e| self.err(place.to_string(), e))?;
        let base = basename(path);
        let name = re
            .first_group(base)
            .map_err(|e| self.err(place.to_string(), e))?
            .filter(|n| !n.is_empty());
        name.ok_or_else(|| {
            self.err(
                place.to_string(),
                format!("{field} `{pattern}` gives no name for `{base}` (found by the run's source, path {path})"),
            )
        })
    }

    fn run_row(&self, parent: Option<usize>) -> Option<indexmap::IndexMap<String, String>> {
        let run = parent.and_then(|p| self.out.ancestor(p, EntityKind::Run))?;
        self.run_map.as_ref()?.row(&run.name).cloned()
    }

    fn expand_string(&self, parent: Option<usize>, text: &str) -> Result<Value, String> {
        let mut m = Map::new();
        m.insert("v".into(), Value::String(text.to_string()));
        let row = self.run_row(parent);
        let out = expand_metadata(&m, row.as_ref()).map_err(|e| e.to_string())?;
        Ok(out.get("v").cloned().unwrap_or(Value::Null))
    }

    fn assign_id(&mut self, inst: &mut Instance) -> Result<(), DiscoverError> {
        let Some(parent) = inst.parent else {
            return Ok(());
        };
        let place = format!("{} `{}`", inst.kind, inst.name);
        if inst.in_destination
            && matches!(
                inst.kind,
                EntityKind::Alignment | EntityKind::Tomogram | EntityKind::Tiltseries
            )
        {
            // A referenced alignment, tomogram or tilt series keeps its folder number (the
            // reference recomputes a tomogram's from the config metadata, which may differ), and
            // takes no new number.
            if let Some(path) = &inst.path {
                let folder = path.rsplit('/').nth(1).unwrap_or_default();
                if let Ok(id) = folder.parse() {
                    inst.id = Some(id);
                    return Ok(());
                }
            }
        }
        let dep_name = self
            .out
            .ancestor(parent, EntityKind::Deposition)
            .map(|d| d.name.clone())
            .unwrap_or_default();
        let md = Value::Object(inst.metadata.clone());
        let run_idx = self.out.ancestor_index(parent, EntityKind::Run);
        let run_dir = run_idx.map(|r| self.out.instances[r].output_dir.clone());
        let result: Result<Option<u32>, IdError> = match (inst.kind, &run_dir) {
            (EntityKind::Tiltseries | EntityKind::Alignment, Some(run_dir)) => {
                let folder = if inst.kind == EntityKind::Tiltseries {
                    "TiltSeries/*/tiltseries_metadata.json"
                } else {
                    "Alignments/*/alignment_metadata.json"
                };
                let dep = dep_name.clone();
                let identity_of = move |v: &Value| deposition_part(v, &dep);
                let me = deposition_part(&md, &dep_name);
                self.ids
                    .assign(
                        self.output,
                        &format!("{run_dir}#{}", inst.kind),
                        &format!("{run_dir}/{folder}"),
                        &identity_of,
                        &me,
                    )
                    .map(Some)
            }
            (EntityKind::Tomogram, Some(run_dir)) => {
                let vs_name = self.out.instances[parent].name.clone();
                let default_alignment = self.out.run_alignment_path(parent).unwrap_or_default();
                let dep = dep_name.clone();
                let vs_for_existing = vs_name.clone();
                let align_for_existing = default_alignment.clone();
                let identity_of = move |v: &Value| {
                    tomogram_identity(v, &vs_for_existing, &align_for_existing, &dep)
                };
                let me = tomogram_identity(&md, &vs_name, &default_alignment, &dep_name);
                self.ids
                    .assign(
                        self.output,
                        &format!("{run_dir}#tomogram"),
                        &format!("{run_dir}/Reconstructions/VoxelSpacing*/Tomograms/*/tomogram_metadata.json"),
                        &identity_of,
                        &me,
                    )
                    .map(Some)
            }
            (EntityKind::Annotation, Some(_)) => {
                let vs_dir = self.out.instances[parent].output_dir.clone();
                let default_alignment = self.out.run_alignment_path(parent).unwrap_or_default();
                let dep = dep_name.clone();
                let identity_of = move |v: &Value| annotation_identity(v, &dep, None);
                let me = annotation_identity(&md, &dep_name, Some(&default_alignment));
                self.ids
                    .assign(
                        self.output,
                        &format!("{vs_dir}#annotation"),
                        &format!("{vs_dir}/Annotations/*/*[0-9].json"),
                        &identity_of,
                        &me,
                    )
                    .map(Some)
            }
            _ => Ok(None),
        };
        inst.id = result.map_err(|e| self.err(place, e))?;
        Ok(())
    }

    /// The output folder of `inst`: its parent's, with the kind's folders and the instance's
    /// name or ID. Names become exactly one folder, so a name found in a config or a source
    /// path cannot reach outside its parent.
    fn output_dir(&self, inst: &Instance) -> Result<StoreKey, KeyError> {
        let parent_dir = inst
            .parent
            .map(|p| self.out.instances[p].output_dir.clone())
            .unwrap_or_default();
        let id = inst.id.map(|i| i.to_string()).unwrap_or_default();
        let under = |folder: &str, name: &str| parent_dir.child(folder)?.child(name);
        Ok(match inst.kind {
            EntityKind::Deposition => under("depositions_metadata", &inst.name)?,
            EntityKind::Dataset => StoreKey::root().child(&inst.name)?,
            EntityKind::Run => parent_dir.child(&inst.name)?,
            EntityKind::VoxelSpacing => {
                under("Reconstructions", &format!("VoxelSpacing{}", inst.name))?
            }
            EntityKind::Tiltseries => under("TiltSeries", &id)?,
            EntityKind::Alignment => under("Alignments", &id)?,
            EntityKind::Tomogram => under("Tomograms", &id)?,
            EntityKind::Gain => parent_dir.child("Gains")?,
            EntityKind::Frame | EntityKind::CollectionMetadata => parent_dir.child("Frames")?,
            EntityKind::Rawtilt | EntityKind::Ctf => parent_dir,
            EntityKind::IdentifiedObject => parent_dir.child("IdentifiedObjects")?,
            EntityKind::DatasetKeyphoto | EntityKind::DepositionKeyphoto => {
                parent_dir.child("Images")?
            }
            EntityKind::Annotation => under("Annotations", &id)?,
            EntityKind::KeyImage => parent_dir,
            EntityKind::AnnotationViz | EntityKind::VizConfig => parent_dir,
        })
    }

    fn add_own_vars(&self, inst: &mut Instance) {
        let mut vars = inst
            .parent
            .map(|p| self.out.instances[p].vars.clone())
            .unwrap_or_default();
        let t = inst.kind.type_key();
        vars.insert(format!("{t}_name"), VarValue::Str(inst.name.clone()));
        vars.insert(
            format!("{t}_path"),
            inst.path.clone().map_or(VarValue::None, VarValue::Str),
        );
        if let Some(id) = inst.id {
            vars.insert(format!("{t}_id"), VarValue::Int(i64::from(id)));
        }
        if let Ok(n) = inst.name.parse::<i64>() {
            vars.insert(format!("int_{t}_name"), VarValue::Int(n));
        }
        // Quirk kept: a volume's output path is its file prefix.
        let out_path = match inst.kind {
            EntityKind::Tomogram | EntityKind::Tiltseries => {
                let run = vars
                    .get("run_name")
                    .map(ToString::to_string)
                    .unwrap_or_default();
                format!("{}/{run}", inst.output_dir)
            }
            _ => inst.output_dir.to_string(),
        };
        vars.insert(format!("{t}_output_path"), VarValue::Str(out_path));
        if inst.kind == EntityKind::Run {
            if let Some(row) = self.run_map.as_ref().and_then(|m| m.row(&inst.name)) {
                for (k, v) in row {
                    vars.insert(k.clone(), VarValue::Str(v.clone()));
                }
            }
            for (var, map) in &self.legacy_maps {
                vars.insert(
                    (*var).to_string(),
                    map.get(&inst.name)
                        .cloned()
                        .map_or(VarValue::None, VarValue::Str),
                );
            }
            for var in ["mapped_tomo_name", "mapped_frame_name", "mapped_ts_name"] {
                vars.entry(var.to_string()).or_insert(VarValue::None);
            }
        }
        inst.vars = vars;
    }
}

/// The default config of a kind (spec §2), used when no block found anything: the identity
/// alignment, and the dataset key photos (which then fall back to a tomogram's key images).
fn default_instances(kind: EntityKind, parent: Option<usize>) -> Vec<Instance> {
    let names: &[&str] = match kind {
        EntityKind::Alignment => &["default"],
        EntityKind::DatasetKeyphoto => &["snapshot", "thumbnail"],
        EntityKind::VizConfig => &["neuroglancer"],
        _ => &[],
    };
    names
        .iter()
        .map(|name| Instance {
            kind,
            name: (*name).into(),
            path: None,
            is_dir: false,
            file_paths: Vec::new(),
            in_destination: false,
            metadata: Map::new(),
            finder: json!({"literal": names}),
            origin: Origin::Default,
            vars: GlobVars::new(),
            output_dir: StoreKey::root(),
            id: None,
            parent,
        })
        .collect()
}

/// Kinds whose results of one source entry are grouped into one instance
/// (the reference's MultiSourceFileFinder).
fn grouped(kind: EntityKind) -> bool {
    matches!(kind, EntityKind::Alignment | EntityKind::Frame)
}

/// The annotation identity of spec §5.3: deposition, `annotation_ingest_id` (or ""), and the
/// alignment path — the existing JSON's, or for a new annotation the run's first alignment.
fn annotation_identity(md: &Value, dep_name: &str, new_alignment: Option<&str>) -> String {
    let text = |k: &str| md.get(k).and_then(Value::as_str).unwrap_or("").to_string();
    let align = new_alignment.map_or_else(|| text("alignment_metadata_path"), str::to_string);
    identity(&[
        &deposition_part(md, dep_name),
        &text("annotation_ingest_id"),
        &align,
    ])
}

/// The tomogram identity of spec §5.3: voxel spacing (normalised), alignment path,
/// reconstruction method, processing, processing software, deposition.
fn tomogram_identity(md: &Value, vs_name: &str, default_alignment: &str, dep_name: &str) -> String {
    let vs = match md.get("voxel_spacing") {
        Some(Value::Number(n)) if n.is_f64() => format!("{:.3}", n.as_f64().unwrap_or(0.0)),
        Some(Value::Number(n)) => n.to_string(),
        Some(Value::String(s)) if !s.is_empty() && s.chars().all(|c| c.is_ascii_digit()) => {
            s.clone()
        }
        _ => vs_name.to_string(),
    };
    let text = |k: &str| md.get(k).and_then(Value::as_str).unwrap_or("").to_string();
    let align = match md.get("alignment_metadata_path").and_then(Value::as_str) {
        Some(s) if !s.is_empty() => s.to_string(),
        _ => default_alignment.to_string(),
    };
    identity(&[
        &vs,
        &align,
        &text("reconstruction_method"),
        &text("processing"),
        &text("processing_software"),
        &deposition_part(md, dep_name),
    ])
}
