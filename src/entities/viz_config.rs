//! Neuroglancer states (spec §10.2): one target per tomogram of a voxel spacing writing
//! `NeuroglancerPrecompute/{tomogram_id}-neuroglancer_config.json`.
//!
//! The reference reads the destination: the voxel spacing's `tomogram_metadata.json` files,
//! every annotation JSON of the run (all voxel spacings) with the tomogram's
//! `alignment_metadata_path`, and which precompute folders exist. Here each of those is either
//! a target of this plan (then a dependency, read after it is published) or something already
//! in OUTPUT (then its listing fingerprint is a source, and annotation JSONs are read while
//! planning, through the machine-local object memo on S3, to match their alignment):
//!
//! | read | planned | already in OUTPUT |
//! |---|---|---|
//! | the tomogram (alignment, MRC header, lowest zarr level) | its volume target (the alignment is planned) | every file under `Tomograms/{id}/` |
//! | annotation JSONs of the tomogram's alignment | their metadata targets | the JSONs |
//! | instance-mask labels (zarr `.zattrs`) | the mask's source target | the `.zattrs` |
//! | precompute folders (and `_orientedmesh`) | their `annotation_viz` targets | their names, in the config |
//!
//! So adding an annotation rebuilds only the states of the tomograms whose alignment it shares.
//! Layer colours follow the spec's accumulating rule: each colour-taking layer (not instance
//! shapes) is excluded from the next ones' palettes, in annotation-JSON path order. A new
//! annotation whose JSON sorts after the others (the usual case: IDs grow) leaves every
//! existing colour as it was; one that sorts before (a lower voxel spacing's folder, or an ID
//! with more digits) shifts the colours after it, as the reference does.

use super::{PlanKind, TargetContext};
use crate::formats::neuroglancer::state::{self, Scale, SegmentColors};
use crate::formats::neuroglancer::{contrast, precompute_dir_name};
use crate::storage::{ObjectInfo, StoreKey};
use crate::target::{invalid, BuildError, BuildIo, Kind, Planned, TargetId, TargetSpec};
use crate::EntityKind;
use serde_json::{json, Value};
use std::collections::{BTreeMap, BTreeSet, HashMap};

/// The portal's public file server: the default `--https-prefix`.
pub const DEFAULT_HTTPS_PREFIX: &str = "https://files.cryoetdataportal.cziscience.com";

/// Shapes that get a layer.
const LAYER_SHAPES: [&str; 7] = [
    "SegmentationMask",
    "Point",
    "OrientedPoint",
    "InstanceSegmentation",
    "TriangularMesh",
    "TriangularMeshGroup",
    "InstanceSegmentationMask",
];

/// One annotation JSON a state may read.
#[derive(Debug, Clone)]
struct AnnotationJson {
    /// Its key in OUTPUT.
    key: String,
    /// The metadata target writing it, or its listing when it is already in OUTPUT.
    origin: Origin,
    /// `alignment_metadata_path` (planned or read).
    alignment: Option<String>,
    /// Its files (planned or read): (path, shape, format).
    files: Vec<(String, String, String)>,
}

#[derive(Debug, Clone)]
enum Origin {
    Target(TargetId),
    Listed(ObjectInfo),
}

/// What one run's OUTPUT holds already, from one listing of its `Reconstructions/`.
struct RunListing {
    files: Vec<ObjectInfo>,
    /// Folders directly under some `NeuroglancerPrecompute/`, as keys.
    precompute_dirs: BTreeSet<String>,
}

impl RunListing {
    fn of(ctx: &TargetContext<'_>, run_dir: &str) -> Result<RunListing, BuildError> {
        let root = format!("{run_dir}/Reconstructions");
        let files = if ctx.output.exists(&root) {
            ctx.output.list_files(&root)?
        } else {
            Vec::new()
        };
        let mut precompute_dirs = BTreeSet::new();
        for f in &files {
            if let Some((head, tail)) = f.key.split_once("/NeuroglancerPrecompute/") {
                if let Some((dir, _)) = tail.split_once('/') {
                    precompute_dirs.insert(format!("{head}/NeuroglancerPrecompute/{dir}"));
                }
            }
        }
        Ok(RunListing {
            files,
            precompute_dirs,
        })
    }

    /// Files whose key, relative to `{run_dir}/Reconstructions/`, splits into exactly the
    /// given number of segments with the given literal segments (`None` matches any).
    fn matching<'a>(
        &'a self,
        run_dir: &'a str,
        pattern: &'a [Option<&'a str>],
    ) -> impl Iterator<Item = &'a ObjectInfo> + 'a {
        let root = format!("{run_dir}/Reconstructions/");
        self.files.iter().filter(move |f| {
            let Some(rel) = f.key.strip_prefix(&root) else {
                return false;
            };
            let parts: Vec<&str> = rel.split('/').collect();
            parts.len() == pattern.len()
                && parts.iter().zip(pattern).all(|(p, want)| match want {
                    Some(w) => w == p || (w.starts_with('*') && p.ends_with(&w[1..])),
                    None => true,
                })
        })
    }
}

/// A tomogram whose state is built.
struct Tomogram {
    id: String,
    alignment: String,
    /// Dependencies (planned) or sources (already in OUTPUT).
    deps: Vec<TargetId>,
    sources: Vec<ObjectInfo>,
}

/// The Neuroglancer state of one tomogram.
pub struct NeuroglancerState;

impl Kind for NeuroglancerState {
    type Params = StateParams;

    fn build(p: &StateParams, io: &mut BuildIo<'_>) -> Result<(), BuildError> {
        p.build(io)
    }
}

impl PlanKind for NeuroglancerState {
    /// The states of every voxel spacing, given the other targets of the plan.
    ///
    /// # Errors
    /// Listing OUTPUT; an existing tomogram or annotation JSON that cannot be read or parsed.
    fn plan(
        ctx: &TargetContext<'_>,
        planned: &[TargetSpec],
    ) -> Result<Vec<(usize, Planned<NeuroglancerState>)>, BuildError> {
        plan_states(ctx, planned)
    }
}

fn plan_states(
    ctx: &TargetContext<'_>,
    planned: &[TargetSpec],
) -> Result<Vec<(usize, Planned<NeuroglancerState>)>, BuildError> {
    let d = ctx.discovery;
    let planned_ids: HashMap<&str, &TargetSpec> =
        planned.iter().map(|t| (t.id.as_str(), t)).collect();
    let mut listings: HashMap<usize, RunListing> = HashMap::new();
    let mut out = Vec::new();
    for (idx, inst) in d.instances.iter().enumerate() {
        if inst.kind != EntityKind::VizConfig {
            continue;
        }
        let (Some(vs_idx), Some(run_idx)) = (
            d.ancestor_index(idx, EntityKind::VoxelSpacing),
            d.ancestor_index(idx, EntityKind::Run),
        ) else {
            continue;
        };
        let run_dir = d.instances[run_idx].output_dir.clone();
        if let std::collections::hash_map::Entry::Vacant(e) = listings.entry(run_idx) {
            e.insert(RunListing::of(ctx, &run_dir)?);
        }
        let listing = &listings[&run_idx];
        let vs_inst = &d.instances[vs_idx];
        let run = d.instances[run_idx].name.clone();
        let tomograms = tomograms_of(ctx, vs_idx, &run, listing, &run_dir, &vs_inst.name)?;
        let jsons = annotation_jsons(ctx, planned, listing, &run_dir)?;
        for t in tomograms {
            out.push((
                idx,
                state_target(
                    ctx,
                    vs_idx,
                    &run,
                    &run_dir,
                    &t,
                    &jsons,
                    listing,
                    &planned_ids,
                )?,
            ));
        }
    }
    Ok(out)
}

/// The tomograms of voxel spacing `vs_idx`: this plan's, then those already in OUTPUT.
fn tomograms_of(
    ctx: &TargetContext<'_>,
    vs_idx: usize,
    run: &str,
    listing: &RunListing,
    run_dir: &str,
    vs_name: &str,
) -> Result<Vec<Tomogram>, BuildError> {
    let d = ctx.discovery;
    let mut out: Vec<Tomogram> = Vec::new();
    for (i, t) in d.children(vs_idx, EntityKind::Tomogram) {
        if t.in_destination {
            continue;
        }
        let Some(alignment) = super::volumes::tomogram_alignment_path(d, i) else {
            continue; // the reference skips a tomogram without an alignment
        };
        out.push(Tomogram {
            id: t.id.unwrap_or(0).to_string(),
            alignment,
            // The volume target only: a planned tomogram's alignment is known here, so its
            // metadata JSON is not read (a metadata edit leaves the state fresh).
            deps: vec![TargetId::from_key(t.output_dir.child(run)?)?],
            sources: Vec::new(),
        });
    }
    let vs_dir = format!("VoxelSpacing{vs_name}");
    let pattern = [
        Some(vs_dir.as_str()),
        Some("Tomograms"),
        None,
        Some("tomogram_metadata.json"),
    ];
    for meta in listing.matching(run_dir, &pattern) {
        let folder = meta.key.rsplit('/').nth(1).unwrap_or_default().to_string();
        if out.iter().any(|t| t.id == folder) {
            continue;
        }
        let doc = read_listed_json(ctx, meta)?;
        let Some(alignment) = doc
            .get("alignment_metadata_path")
            .and_then(Value::as_str)
            .filter(|s| !s.is_empty())
        else {
            continue;
        };
        let prefix = format!("{run_dir}/Reconstructions/{vs_dir}/Tomograms/{folder}/");
        out.push(Tomogram {
            id: folder,
            alignment: alignment.to_string(),
            deps: Vec::new(),
            sources: listing
                .files
                .iter()
                .filter(|f| f.key.starts_with(&prefix))
                .cloned()
                .collect(),
        });
    }
    Ok(out)
}

fn read_listed_json(ctx: &TargetContext<'_>, info: &ObjectInfo) -> Result<Value, BuildError> {
    let bytes = ctx.output.read_listed(info)?;
    serde_json::from_slice(&bytes)
        .map_err(|e| invalid(format!("{}: {e}", ctx.output.describe(&info.key))))
}

fn files_of(doc: &Value) -> Vec<(String, String, String)> {
    let text = |f: &Value, k: &str| f.get(k).and_then(Value::as_str).unwrap_or("").to_string();
    doc.get("files")
        .and_then(Value::as_array)
        .map(|a| {
            a.iter()
                .map(|f| (text(f, "path"), text(f, "shape"), text(f, "format")))
                .collect()
        })
        .unwrap_or_default()
}

/// Every annotation JSON of the run, sorted by key (the reference's glob order): this plan's
/// metadata targets, then the JSONs already in OUTPUT that no target rewrites.
fn annotation_jsons(
    ctx: &TargetContext<'_>,
    planned: &[TargetSpec],
    listing: &RunListing,
    run_dir: &str,
) -> Result<Vec<AnnotationJson>, BuildError> {
    let prefix = format!("{run_dir}/Reconstructions/");
    let mut out: Vec<AnnotationJson> = planned
        .iter()
        .filter(|t| t.kind == EntityKind::Annotation && t.id.starts_with(&prefix))
        .filter(|t| t.config.get("files").is_some() && t.config.get("metadata").is_some())
        .map(|t| AnnotationJson {
            key: format!("{}.json", t.id),
            origin: Origin::Target(t.id.clone()),
            alignment: t
                .config
                .get("alignment_metadata_path")
                .and_then(Value::as_str)
                .map(String::from),
            files: files_of(&t.config),
        })
        .collect();
    let pattern = [Some("*"), Some("Annotations"), None, Some("*.json")];
    for info in listing.matching(run_dir, &pattern) {
        if !info.key[prefix.len()..].starts_with("VoxelSpacing")
            || out.iter().any(|j| j.key == info.key)
        {
            continue;
        }
        let doc = read_listed_json(ctx, info)?;
        out.push(AnnotationJson {
            key: info.key.clone(),
            origin: Origin::Listed(info.clone()),
            alignment: doc
                .get("alignment_metadata_path")
                .and_then(Value::as_str)
                .map(String::from),
            files: files_of(&doc),
        });
    }
    out.sort_by(|a, b| a.key.cmp(&b.key));
    Ok(out)
}

/// One layer-making file of an annotation JSON, resolved at planning time.
#[derive(Debug, Clone, serde::Serialize)]
struct PlannedLayer {
    /// The file's path (the layer's key in the reference).
    path: String,
    /// Its precompute folder name.
    dir_name: String,
    /// Folders where it may be, in the order they are tried: this voxel spacing's, then every
    /// other voxel spacing's that a target writes or OUTPUT has, sorted.
    candidates: Vec<String>,
    /// Candidates that OUTPUT has and no target of this plan writes (their existence is read
    /// while planning, so it is in the key).
    listed: Vec<String>,
}

#[allow(clippy::too_many_arguments)]
fn state_target(
    ctx: &TargetContext<'_>,
    vs_idx: usize,
    run: &str,
    run_dir: &str,
    tomo: &Tomogram,
    jsons: &[AnnotationJson],
    listing: &RunListing,
    planned_ids: &HashMap<&str, &TargetSpec>,
) -> Result<Planned<NeuroglancerState>, BuildError> {
    let d = ctx.discovery;
    let vs_inst = &d.instances[vs_idx];
    let vs_dir = vs_inst.output_dir.clone();
    let key = vs_dir
        .child("NeuroglancerPrecompute")?
        .child(&format!("{}-neuroglancer_config.json", tomo.id))?;
    let tomo_dir = format!("{vs_dir}/Tomograms/{}", tomo.id);
    let mut deps = tomo.deps.clone();
    let mut sources = tomo.sources.clone();
    let mut layers: BTreeMap<String, Vec<PlannedLayer>> = BTreeMap::new();
    let mut read_jsons = Vec::new();
    for j in jsons
        .iter()
        .filter(|j| j.alignment.as_deref() == Some(&tomo.alignment))
    {
        match &j.origin {
            Origin::Target(id) => deps.push(id.clone()),
            Origin::Listed(info) => sources.push(info.clone()),
        }
        read_jsons.push(j.key.clone());
        let stem = j.key.trim_end_matches(".json");
        let ann_folder = stem.rsplit('/').nth(1).unwrap_or_default();
        let prefix = stem.rsplit('/').next().unwrap_or_default();
        let mut planned_layers = Vec::new();
        for (path, shape, format) in &j.files {
            if !LAYER_SHAPES.contains(&shape.as_str())
                || !["zarr", "ndjson", "glb"].contains(&format.as_str())
            {
                continue;
            }
            let dir_name = match ann_folder.parse::<u32>() {
                Ok(id) => precompute_dir_name(id, prefix, shape),
                Err(_) => {
                    let name = format!("{prefix}_{}", shape.to_lowercase());
                    let numbered = name
                        .split('-')
                        .next()
                        .is_some_and(|h| !h.is_empty() && h.bytes().all(|b| b.is_ascii_digit()));
                    if numbered {
                        name
                    } else {
                        format!("{ann_folder}-{name}")
                    }
                }
            };
            let here = format!("{vs_dir}/NeuroglancerPrecompute/{dir_name}");
            let mut others: BTreeSet<String> = BTreeSet::new();
            let in_vs = |k: &str| {
                k.strip_prefix(&format!("{run_dir}/Reconstructions/"))
                    .and_then(|r| r.split_once('/'))
                    .is_some_and(|(vs, rest)| {
                        vs.starts_with("VoxelSpacing")
                            && rest == format!("NeuroglancerPrecompute/{dir_name}")
                    })
            };
            for id in planned_ids.keys() {
                if in_vs(id) {
                    others.insert((*id).to_string());
                }
            }
            for dir in &listing.precompute_dirs {
                if in_vs(dir) {
                    others.insert(dir.clone());
                }
            }
            others.remove(&here);
            let mut candidates = vec![here];
            candidates.extend(others);
            let mut listed = Vec::new();
            for c in &candidates {
                if let Some(t) = planned_ids.get(c.as_str()) {
                    deps.push(t.id.clone());
                } else if listing.precompute_dirs.contains(c) {
                    listed.push(c.clone());
                }
            }
            if shape == "InstanceSegmentationMask" {
                match &j.origin {
                    // The mask's source target (its id is the zarr's path without `.zarr`).
                    Origin::Target(_) => deps.push(TargetId::new(path.trim_end_matches(".zarr"))?),
                    Origin::Listed(_) => sources.extend(
                        listing
                            .files
                            .iter()
                            .filter(|f| f.key == format!("{path}/.zattrs"))
                            .cloned(),
                    ),
                }
            }
            planned_layers.push(PlannedLayer {
                path: path.clone(),
                dir_name,
                candidates,
                listed,
            });
        }
        layers.insert(j.key.clone(), planned_layers);
    }
    deps.sort();
    deps.dedup();
    let dep_value = super::containers::deposition_name_value(ctx, vs_idx);
    let vs: f64 = vs_inst.name.parse().unwrap_or(0.0);
    let params = StateParams {
        tomogram: tomo.id.clone(),
        run: run.to_string(),
        vs,
        alignment_metadata_path: tomo.alignment.clone(),
        https_prefix: ctx.https_prefix.to_string(),
        key: key.clone(),
        jsons: read_jsons,
        layers,
        dep_value,
        zarr: format!("{tomo_dir}/{run}.zarr"),
        mrc: format!("{tomo_dir}/{run}.mrc"),
        run_dir: run_dir.to_string(),
    };
    Ok(
        Planned::new(TargetId::from_key(key)?, EntityKind::VizConfig, params)
            .sources(sources)
            .deps(deps),
    )
}

/// What a state's build step reads.
#[derive(serde::Serialize)]
pub struct StateParams {
    tomogram: String,
    run: String,
    #[serde(rename = "voxel_spacing")]
    vs: f64,
    alignment_metadata_path: String,
    https_prefix: String,
    #[serde(rename = "output")]
    key: StoreKey,
    /// The annotation JSONs read, planned or already in OUTPUT.
    #[serde(rename = "annotation_jsons")]
    jsons: Vec<String>,
    /// Per annotation JSON, its layer-making files and where their precompute may be.
    layers: BTreeMap<String, Vec<PlannedLayer>>,
    #[serde(rename = "deposition_id_default")]
    dep_value: Value,
    zarr: String,
    mrc: String,
    run_dir: String,
}

/// `(voxel spacing × 1e-10,) × 3`.
fn scale_m(vs: f64) -> Scale {
    [vs * 1e-10; 3]
}

impl StateParams {
    fn build(&self, io: &mut BuildIo<'_>) -> Result<(), BuildError> {
        let name = io.output.describe(&self.mrc);
        let src = io.output.open_ranged_unchecked(&self.mrc)?;
        let info = crate::formats::mrc::read_header(&src, &name)?;
        let h = &info.header;
        let voxel = crate::volume::round3(h.voxel_size());
        let resolution = scale_m(voxel);
        let (level, shape) = self.lowest_level(io)?;
        let limits = contrast::gmm_contrast_limits(&level, shape, &io.output.describe(&self.zarr))?;
        let image_url = state::join_url(&self.https_prefix, &self.zarr);
        let mut layers = vec![state::image_layer(&state::ImageLayer {
            url: &image_url,
            name: &self.run,
            scale: resolution,
            size: [h.nx, h.ny, h.nz].map(f64::from),
            mean: f64::from(h.dmean),
            rms: f64::from(h.rms),
            contrast_3d: limits,
        })];
        let mut palette = crate::palette::Palette::default();
        let mut largest_ratio: f64 = 1.0;
        for json_key in &self.jsons {
            // A metadata target that wrote nothing (every source invalid) has no JSON.
            if !io.output.exists(json_key) {
                continue;
            }
            let doc = io.read_output_json(json_key)?;
            let files = files_of(&doc);
            let planned = self.layers.get(json_key).map_or(&[][..], Vec::as_slice);
            let mut seen = BTreeSet::new();
            for (path, shape, format) in &files {
                if !LAYER_SHAPES.contains(&shape.as_str())
                    || !["zarr", "ndjson", "glb"].contains(&format.as_str())
                    || !seen.insert(path.clone())
                {
                    continue;
                }
                let Some(pl) = planned.iter().find(|p| p.path == *path) else {
                    return Err(invalid(format!(
                        "{}: file {path} was not planned (the JSON changed while building)",
                        io.output.describe(json_key)
                    )));
                };
                let labels = if shape == "InstanceSegmentationMask" {
                    Some(self.labels(io, path)?)
                } else {
                    None
                };
                // The first folder that exists: this voxel spacing's, else another's.
                let Some(found) = pl
                    .candidates
                    .iter()
                    .find(|c| pl.listed.contains(c) || io.output.exists(c))
                else {
                    continue;
                };
                // Found at another voxel spacing: its scale, and the ratio rule.
                let (layer_vs, ratio) = if pl.candidates.first() == Some(found) {
                    (self.vs, 1.0)
                } else {
                    let other = self.voxel_spacing_of(found);
                    (other, other / self.vs)
                };
                let n = labels.as_ref().map_or(1, Vec::len);
                let colors = palette.next(&doc, shape, n);
                let hex: Vec<String> = colors.iter().map(|&c| crate::palette::to_hex(c)).collect();
                let id_prefix = pl.dir_name.split('-').next().unwrap_or("0");
                let id_prefix = id_prefix.parse::<u64>().unwrap_or(0);
                let object = doc
                    .pointer("/annotation_object/name")
                    .and_then(Value::as_str)
                    .unwrap_or("Annotation");
                let name_prefix = format!("{id_prefix} {object}");
                let visible = doc_file_visible(&doc, path);
                let url = state::join_url(&self.https_prefix, found);
                let scale = scale_m(layer_vs);
                match shape.as_str() {
                    "SegmentationMask" | "InstanceSegmentationMask" => {
                        let (segments, colors) = match &labels {
                            Some(ls) => (
                                ls.clone(),
                                SegmentColors::PerLabel(
                                    ls.iter().copied().zip(hex.iter().cloned()).collect(),
                                ),
                            ),
                            None => (vec![1], SegmentColors::Default(hex[0].clone())),
                        };
                        let kind = if segments.len() == 1 {
                            "segmentation"
                        } else {
                            "instancesegmentation"
                        };
                        layers.push(state::segmentation_layer(&state::SegmentationLayer {
                            url: &url,
                            name: &format!("{name_prefix} {kind}"),
                            colors,
                            scale,
                            output_scale: resolution,
                            visible,
                            segments,
                            mesh_render_scale: 2.0,
                        }));
                    }
                    "Point" | "OrientedPoint" | "InstanceSegmentation" => {
                        let oriented = shape == "OrientedPoint";
                        let mut point_visible = visible.clone();
                        if oriented {
                            let mesh = found
                                .strip_suffix("_orientedpoint")
                                .unwrap_or(found)
                                .to_string()
                                + "_orientedmesh";
                            if io.output.exists(&mesh) {
                                let mesh_url = state::join_url(&self.https_prefix, &mesh);
                                layers.push(state::segmentation_layer(&state::SegmentationLayer {
                                    url: &mesh_url,
                                    name: &format!("{name_prefix} orientedmesh"),
                                    colors: SegmentColors::Default(hex[0].clone()),
                                    scale,
                                    output_scale: resolution,
                                    visible: visible.clone(),
                                    segments: vec![1],
                                    mesh_render_scale: 4.0,
                                }));
                                point_visible = json!(false);
                            }
                        }
                        let kind = if oriented { "orientedpoint" } else { "point" };
                        layers.push(state::point_layer(&state::PointLayer {
                            url: &url,
                            name: &format!("{name_prefix} {kind}"),
                            color: &hex[0],
                            scale,
                            output_scale: resolution,
                            visible: point_visible,
                            instance: shape == "InstanceSegmentation",
                            oriented,
                        }));
                    }
                    _ => {
                        layers.push(state::segmentation_layer(&state::SegmentationLayer {
                            url: &url,
                            name: &format!("{name_prefix} mesh"),
                            colors: SegmentColors::Default(hex[0].clone()),
                            scale,
                            output_scale: resolution,
                            visible,
                            segments: vec![1],
                            mesh_render_scale: 2.0,
                        }));
                    }
                }
                largest_ratio = largest_ratio.max(ratio);
            }
        }
        let doc = state::combine_layers(layers, resolution, largest_ratio);
        let Value::Object(doc) = doc else {
            unreachable!("the state is an object")
        };
        io.write_metadata(&self.key, &doc, json!({}), &self.dep_value)
    }

    /// The voxel spacing of a precompute folder: its `VoxelSpacing…` folder name, rounded to 3
    /// decimals.
    fn voxel_spacing_of(&self, dir: &str) -> f64 {
        dir.strip_prefix(&format!("{}/Reconstructions/VoxelSpacing", self.run_dir))
            .and_then(|r| r.split('/').next())
            .and_then(|v| v.parse::<f64>().ok())
            .map_or(self.vs, crate::volume::round3)
    }

    /// The label values of an instance mask: its `image-label` colours (in
    /// `multiscales[0].metadata`, where the reference and we put them; at the top of `.zattrs`
    /// in masks written by earlier versions of this tool).
    fn labels(&self, io: &BuildIo<'_>, zarr: &str) -> Result<Vec<u64>, BuildError> {
        let attrs = io.read_output_json(&format!("{zarr}/.zattrs"))?;
        let colors = attrs
            .pointer("/multiscales/0/metadata/image-label/colors")
            .or_else(|| attrs.pointer("/image-label/colors"))
            .and_then(Value::as_array)
            .ok_or_else(|| {
                invalid(format!(
                    "{}/.zattrs: no image-label colours",
                    io.output.describe(zarr)
                ))
            })?;
        Ok(colors
            .iter()
            .filter_map(|c| c.get("label-value").and_then(Value::as_u64))
            .collect())
    }

    /// The lowest pyramid level of the tomogram's zarr (the last `multiscales` dataset).
    fn lowest_level(&self, io: &mut BuildIo<'_>) -> Result<(Vec<f32>, [usize; 3]), BuildError> {
        let attrs = io.read_output_json(&format!("{}/.zattrs", self.zarr))?;
        let path = attrs
            .pointer("/multiscales/0/datasets")
            .and_then(Value::as_array)
            .and_then(|d| d.last())
            .and_then(|d| d.get("path"))
            .and_then(Value::as_str)
            .ok_or_else(|| {
                invalid(format!(
                    "{}/.zattrs: no multiscales datasets",
                    io.output.describe(&self.zarr)
                ))
            })?
            .to_string();
        let root = match io.output.local_root() {
            Some(root) => root.join(&self.zarr),
            None => {
                // On S3, the level's objects are fetched into the scratch folder.
                let scratch = io.scratch()?;
                let level = format!("{}/{path}", self.zarr);
                for o in io.output.list_files(&level)? {
                    let rel = o
                        .key
                        .strip_prefix(&format!("{}/", self.zarr))
                        .unwrap_or(&o.key);
                    let to = scratch.join(rel);
                    if let Some(parent) = to.parent() {
                        std::fs::create_dir_all(parent)
                            .map_err(|e| invalid(format!("{}: {e}", parent.display())))?;
                    }
                    let bytes = io.output.read(&o.key)?;
                    std::fs::write(&to, bytes)
                        .map_err(|e| invalid(format!("{}: {e}", to.display())))?;
                }
                scratch
            }
        };
        let storage = crate::formats::omezarr::local_storage(&root)?;
        crate::formats::omezarr::read_level_f32(storage, &path, &io.output.describe(&self.zarr))
            .map_err(invalid)
    }
}

/// The `is_visualization_default` of file `path` in an annotation JSON (null when absent).
fn doc_file_visible(doc: &Value, path: &str) -> Value {
    doc.get("files")
        .and_then(Value::as_array)
        .and_then(|a| a.iter().find(|f| f["path"] == path))
        .and_then(|f| f.get("is_visualization_default").cloned())
        .unwrap_or(Value::Null)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scales_are_metres() {
        assert_eq!(scale_m(13.48), [1.348e-9; 3]);
    }

    #[test]
    fn visibility_comes_from_the_file_entry() {
        let doc =
            json!({"files": [{"path": "a", "is_visualization_default": true}, {"path": "b"}]});
        assert_eq!(doc_file_visible(&doc, "a"), json!(true));
        assert_eq!(doc_file_visible(&doc, "b"), Value::Null);
    }
}
