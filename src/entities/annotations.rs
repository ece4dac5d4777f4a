//! Annotations (spec §7): every file an annotation source finds becomes one **source target**
//! writing its converted output into `Annotations/{id}/`, and every annotation block under a
//! voxel spacing becomes one **metadata target** writing `{prefix}.json` from all its sources.
//!
//! | source shape | output | object_count |
//! |---|---|---|
//! | Point, OrientedPoint, InstanceSegmentation | `{prefix}_{shape}.ndjson` | lines, or distinct instance ids |
//! | SemanticSegmentationMask, SegmentationMask | `{prefix}_segmentationmask.zarr` + `.mrc` (int8) | 0 |
//! | InstanceSegmentationMask | `{prefix}_instancesegmentationmask.zarr` + `.mrc` (uint16) | distinct labels |
//! | TriangularMesh, TriangularMeshGroup | `{prefix}_triangularmesh.glb` (from obj, stl, vtk, glb; hff) | 1 |
//! | GlobalCaption, AnnotationCaption | a byte copy of the JSON | `captions` / `objects` |
//!
//! The split gives early cutoff for free: editing an annotation's metadata rebuilds only its
//! JSON (the source targets' keys hold the shape parameters, not the metadata), and a mask whose
//! data did not change is not converted again. The file list is derived from every source of the
//! block, not only the ones a filtered run processed (the reference's quirk is not kept).
//!
//! A mask with `rescale` is resized to `round(volume_dimension / voxel spacing)` when that
//! differs from its own shape; the volume dimension is the run's first alignment's (its config
//! value, else the first tomogram's source shape × its voxel spacing, as the alignment metadata
//! computes it), so that tomogram's source is part of the mask's key.

use super::files::run_name;
use super::volumes::SourceVolume;
use super::{Instance, Origin, PlanKind, TargetContext, VolumeFormats};
use crate::config::{format_template, AnnotationShape, AnnotationSource, Finder};
use crate::formats::mesh;
use crate::formats::points::{self, PointParams, PointShape};
use crate::storage::ObjectInfo;
use crate::target::{invalid, BuildError, BuildIo, Kind, Planned, TargetSpec};
use crate::volume::{self, VolumeKind, VolumeOptions};
use crate::EntityKind;
use serde_json::{json, Map, Value};

/// The annotation file prefix `{object}-{version}` of spec §5.1.
pub fn prefix(metadata: &Map<String, Value>) -> String {
    let object = metadata.get("annotation_object");
    let description = object
        .and_then(|o| o.get("description"))
        .and_then(Value::as_str)
        .filter(|d| !d.is_empty() && d.chars().count() <= 50);
    let name = description
        .or_else(|| object.and_then(|o| o.get("name")).and_then(Value::as_str))
        .unwrap_or("");
    let version = match metadata.get("version") {
        Some(Value::String(s)) => s.clone(),
        Some(Value::Number(n)) if n.is_f64() => {
            crate::pycompat::json::py_float_repr(n.as_f64().unwrap_or(0.0))
        }
        Some(other) => other.to_string(),
        None => "None".to_string(),
    };
    let clean = |s: &str, keep_dot: bool| -> String {
        s.to_lowercase()
            .chars()
            .map(|c| {
                if c.is_ascii_digit() || c.is_ascii_lowercase() || (keep_dot && c == '.') {
                    c
                } else {
                    '_'
                }
            })
            .collect()
    };
    format!("{}-{}", clean(name, false), clean(&version, true))
}

/// The source entry of an annotation instance.
pub(crate) fn source_of<'a>(
    ctx: &'a TargetContext<'_>,
    inst: &Instance,
) -> Option<&'a AnnotationSource> {
    let Origin::Block { block, source } = inst.origin else {
        return None;
    };
    let blocks = ctx.config.blocks(EntityKind::Annotation);
    let b = blocks.iter().find(|b| b.index == block)?;
    match &b.sources.get(source)?.finder {
        Finder::Annotation(a) => Some(a),
        _ => None,
    }
}

/// What one source writes, as listed in the annotation's `files`.
pub(crate) struct PlannedOutputs {
    /// Output keys with their `format`, in `files` order (zarr before mrc).
    pub files: Vec<(String, &'static str)>,
    /// The output `shape` string.
    pub shape: &'static str,
    is_visualization_default: bool,
}

impl PlannedOutputs {
    /// The id of the source target that writes these files: its first output, a mask's
    /// without `.zarr`.
    pub(crate) fn target_id(&self) -> String {
        self.files[0].0.trim_end_matches(".zarr").to_string()
    }
}

/// What source `a` writes into the annotation folder `dir` under the file prefix `prefix`.
pub(crate) fn plan(a: &AnnotationSource, dir: &str, prefix: &str) -> PlannedOutputs {
    let shape = a.shape.output_shape();
    let lower = shape.to_lowercase();
    let stem = format!("{dir}/{prefix}_{lower}");
    let (files, vis) = match a.shape {
        AnnotationShape::Point
        | AnnotationShape::OrientedPoint
        | AnnotationShape::InstanceSegmentation => (
            vec![(format!("{stem}.ndjson"), "ndjson")],
            a.is_visualization_default,
        ),
        AnnotationShape::SemanticSegmentationMask
        | AnnotationShape::SegmentationMask
        | AnnotationShape::InstanceSegmentationMask => (
            vec![
                (format!("{stem}.zarr"), "zarr"),
                (format!("{stem}.mrc"), "mrc"),
            ],
            a.is_visualization_default,
        ),
        AnnotationShape::GlobalCaption => (vec![(format!("{stem}.json"), "json")], false),
        AnnotationShape::AnnotationCaption => {
            let companion = a
                .params
                .get("companion_shape")
                .and_then(Value::as_str)
                .unwrap_or("")
                .to_lowercase();
            (
                vec![(format!("{dir}/{prefix}_{companion}_caption.json"), "json")],
                false,
            )
        }
        AnnotationShape::TriangularMesh | AnnotationShape::TriangularMeshGroup => (
            vec![(format!("{stem}.glb"), "glb")],
            a.is_visualization_default,
        ),
    };
    PlannedOutputs {
        files,
        shape,
        is_visualization_default: vis,
    }
}

/// An annotation source converted to its standardized file (NDJSON, mask zarr + MRC, GLB, or
/// caption copy).
pub struct AnnotationFile;

/// What an annotation source's conversion reads.
#[derive(serde::Serialize)]
pub struct AnnotationFileParams {
    /// The source file or folder, among the target's sources.
    source: String,
    shape: AnnotationShape,
    file_format: String,
    /// The source entry's shape parameters (`filter_value` template-expanded).
    params: Map<String, Value>,
    voxel_spacing: f64,
    /// The files written.
    outputs: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    reader_version: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    writer_version: Option<u32>,
    /// What `rescale` reads, as keyed: the dimension, the tomogram's voxel spacing (its
    /// source's header objects are among the sources), or why there is no basis.
    #[serde(skip_serializing_if = "Option::is_none")]
    rescale_basis: Option<Value>,
    /// The same basis as the build step uses it.
    #[serde(skip)]
    rescale: Option<Result<RescaleBasis, String>>,
    /// `annotation {name} ({shape})`, for messages.
    what: String,
    is_zarr: bool,
    /// Every file of the planned outputs, with its format (a mask's zarr and MRC).
    files: Vec<(String, &'static str)>,
    formats: VolumeFormats,
}

impl Kind for AnnotationFile {
    type Params = AnnotationFileParams;

    fn build(p: &AnnotationFileParams, io: &mut BuildIo<'_>) -> Result<(), BuildError> {
        let name = io.input.describe(&p.source);
        let what = &p.what;
        let file = || {
            io.source(&p.source)
                .map_err(|_| invalid(format!("{what}: {name} is a folder")))
        };
        match p.shape {
            AnnotationShape::Point
            | AnnotationShape::OrientedPoint
            | AnnotationShape::InstanceSegmentation => {
                let point_shape = match p.shape {
                    AnnotationShape::Point => PointShape::Point,
                    AnnotationShape::OrientedPoint => PointShape::OrientedPoint,
                    _ => PointShape::InstanceSegmentation,
                };
                let pp = PointParams::for_source(point_shape, &p.file_format, &p.params)
                    .map_err(invalid)?;
                let bytes = io.read_source(file()?)?;
                let records = points::read_points(&p.file_format, point_shape, &pp, &bytes, &name)
                    .map_err(invalid)?;
                io.write_bytes(&p.files[0].0, &points::to_ndjson(point_shape, &records))
            }
            AnnotationShape::GlobalCaption | AnnotationShape::AnnotationCaption => {
                io.copy_source(file()?, &p.files[0].0)
            }
            AnnotationShape::TriangularMesh => {
                let scale = scale_factor(&p.params, what)?;
                let bytes = io.read_source(file()?)?;
                let mut m = mesh::read(&p.file_format, &bytes, &name).map_err(invalid)?;
                m.scale(scale);
                let glb = mesh::glb::write(&m, &name).map_err(invalid)?;
                io.write_bytes(&p.files[0].0, &glb)
            }
            AnnotationShape::TriangularMeshGroup => {
                let Some(mesh_name) = p.params.get("mesh_name").and_then(Value::as_str) else {
                    return Err(invalid(format!(
                        "{what}: field `mesh_name` (the segment's biological_annotation name) \
                     is required"
                    )));
                };
                let scale = scale_factor(&p.params, what)?;
                let bytes = io.read_source(file()?)?;
                // No segment of that name: invalid, nothing is written (as the reference).
                let Some(mut m) = mesh::read_group(&bytes, &name, mesh_name).map_err(invalid)?
                else {
                    return Ok(());
                };
                m.scale(scale);
                let glb = mesh::glb::write(&m, &name).map_err(invalid)?;
                io.write_bytes(&p.files[0].0, &glb)
            }
            _ => {
                let target = match &p.rescale {
                    None => None,
                    Some(basis) => Some(rescale_target(io, basis, p.voxel_spacing, what)?),
                };
                let object = io.source(&p.source).ok();
                let listed: Vec<ObjectInfo> = io.sources_under(&p.source).cloned().collect();
                let volume = SourceVolume::open(io, &p.source, object, p.is_zarr, &listed)?;
                convert_mask(
                    io,
                    &volume,
                    &name,
                    p.shape,
                    &p.params,
                    p.voxel_spacing,
                    target,
                    &p.files,
                    p.formats,
                )
            }
        }
    }
}

impl PlanKind for AnnotationFile {
    fn plan(
        ctx: &TargetContext<'_>,
        _earlier: &[TargetSpec],
    ) -> Result<Vec<(usize, Planned<AnnotationFile>)>, BuildError> {
        ctx.each_instance(&[EntityKind::Annotation], |idx| {
            Ok(plan_source(ctx, idx)?.into_iter().collect())
        })
    }
}

/// The source target of an annotation instance, and the id of its block's metadata target.
///
/// # Errors
/// Listing errors while fingerprinting sources; a template in `filter_value` or
/// `mesh_source_path` that does not expand.
fn plan_source(
    ctx: &TargetContext<'_>,
    idx: usize,
) -> Result<Option<Planned<AnnotationFile>>, BuildError> {
    let d = ctx.discovery;
    let inst = &d.instances[idx];
    let Some(a) = source_of(ctx, inst) else {
        return Ok(None);
    };
    let Some(src_key) = inst.path.clone() else {
        return Ok(None);
    };
    let prefix = prefix(&inst.metadata);
    let planned = plan(a, &inst.output_dir, &prefix);
    let mut sources = ctx.input.list_files(&src_key)?;
    let mut params = a.params.clone();
    if let Some(Value::String(f)) = params.get("filter_value").cloned() {
        params.insert(
            "filter_value".into(),
            json!(format_template(&f, &inst.vars).map_err(invalid)?),
        );
    }
    let vs: f64 = d.instances[inst.parent.expect("annotations live under a voxel spacing")]
        .name
        .parse()
        .map_err(invalid)?;
    let what = format!("annotation {} ({})", inst.name, a.shape.config_key());
    let rescale = match (a.params.get("rescale"), a.shape) {
        (
            Some(Value::Bool(true)),
            AnnotationShape::SemanticSegmentationMask
            | AnnotationShape::SegmentationMask
            | AnnotationShape::InstanceSegmentationMask,
        ) => Some(rescale_basis(ctx, idx)?),
        _ => None,
    };
    if let Some(Ok(RescaleBasis::Tomogram(tomogram))) = &rescale {
        sources.extend(tomogram.objects.iter().cloned());
    }
    let formats = ctx.volume_formats;
    // What is written (`--no-write-mrc/--no-write-zarr` drop a mask's mrc or zarr; its
    // metadata lists both either way).
    let outputs = planned
        .files
        .iter()
        .filter(|(_, format)| match *format {
            "zarr" => formats.zarr,
            "mrc" => formats.mrc,
            _ => true,
        })
        .map(|(k, _)| k.clone())
        .collect();
    // Masks go through the volume writer.
    let writes_mrc = planned.files.iter().any(|(_, format)| *format == "mrc");
    let rescale_basis = rescale.as_ref().map(|basis| match basis {
        Ok(RescaleBasis::Dimension(d)) => json!({"volume_dimension_zyx": d}),
        Ok(RescaleBasis::Tomogram(tomogram)) => {
            json!({"tomogram_voxel_spacing": tomogram.voxel_spacing})
        }
        Err(e) => json!({"error": e}),
    });
    let id = planned.target_id();
    let params = AnnotationFileParams {
        is_zarr: inst.is_dir || src_key.contains(".zarr"),
        source: src_key,
        shape: a.shape,
        file_format: a.file_format.clone(),
        params,
        voxel_spacing: vs,
        outputs,
        reader_version: crate::formats::points::reader_version(&a.file_format),
        writer_version: writes_mrc.then_some(volume::WRITER_VERSION),
        rescale_basis,
        rescale,
        what,
        files: planned.files,
        formats,
    };
    Ok(Some(
        Planned::new(id, EntityKind::Annotation, params).sources(sources),
    ))
}

/// Where the target shape of a mask's `rescale` comes from.
#[derive(Debug, Clone)]
enum RescaleBasis {
    /// The first alignment's configured `volume_dimension` (Å), z, y, x.
    Dimension([f64; 3]),
    /// No configured dimension: the first tomogram's source size (MRC header or OME-Zarr
    /// shape), times its voxel spacing rounded to 3 decimals (the alignment metadata's
    /// `volume_dimension`).
    Tomogram(super::volumes::TomogramHeaderSource),
}

/// The rescale basis of annotation `idx`, or the reason there is none (which fails only that
/// annotation's target, when it builds).
///
/// # Errors
/// Listing the tomogram's source.
fn rescale_basis(
    ctx: &TargetContext<'_>,
    idx: usize,
) -> Result<Result<RescaleBasis, String>, BuildError> {
    let d = ctx.discovery;
    let run = d
        .ancestor_index(idx, EntityKind::Run)
        .expect("annotations live under a run");
    // The reference takes the first alignment's `volume_dimension` when it is truthy, else the
    // one its metadata derives from the first tomogram.
    if let Some((_, al)) = d.children(run, EntityKind::Alignment).next() {
        if let Some(dims) = al
            .metadata
            .get("volume_dimension")
            .filter(|v| crate::metadata::is_truthy(v))
        {
            let mut zyx = [0.0; 3];
            for (slot, axis) in zyx.iter_mut().zip(["z", "y", "x"]) {
                let v = dims.get(axis);
                let n = match v {
                    Some(Value::Number(n)) => n.as_f64(),
                    Some(Value::String(s)) => s.trim().parse::<f64>().ok(),
                    _ => None,
                };
                *slot = match n {
                    Some(n) if n.is_finite() && n > 0.0 => n,
                    _ => {
                        return Ok(Err(format!(
                        "rescale: alignment `{}` metadata field `volume_dimension.{axis}` is {}, \
                             not a positive number",
                        al.name,
                        v.map_or("missing".to_string(), Value::to_string)
                    )))
                    }
                };
            }
            return Ok(Ok(RescaleBasis::Dimension(zyx)));
        }
    }
    let Some(tomogram) = super::volumes::first_tomogram(d, run) else {
        return Ok(Err(
            "rescale: the run's alignment has no `volume_dimension` and the run \
                       has no tomogram to derive it from"
                .to_string(),
        ));
    };
    match super::volumes::tomogram_header_source(ctx, tomogram)? {
        Some(source) => Ok(Ok(RescaleBasis::Tomogram(source))),
        None => Ok(Err(format!(
            "rescale: the tomogram source {} holds no volume",
            tomogram.path.as_deref().unwrap_or("(none)")
        ))),
    }
}

/// `round(volume_dimension / vs)` per axis (Python's `round`: ties to even), z, y, x.
fn rescale_target(
    io: &mut BuildIo<'_>,
    basis: &Result<RescaleBasis, String>,
    vs: f64,
    what: &str,
) -> Result<[usize; 3], BuildError> {
    let dims = match basis {
        Err(e) => return Err(invalid(format!("{what}: {e}"))),
        Ok(RescaleBasis::Dimension(d)) => *d,
        Ok(RescaleBasis::Tomogram(tomogram)) => {
            super::volumes::tomogram_dimension_zyx(io, tomogram)?
        }
    };
    let target = dims.map(|d| (d / vs).round_ties_even());
    if !target.iter().all(|n| (1.0..1e9).contains(n)) {
        return Err(invalid(format!(
            "{what}: rescale: volume dimension {dims:?} Å at voxel spacing {vs} gives the grid \
             {target:?}"
        )));
    }
    Ok(target.map(|n| n as usize))
}

/// The `scale_factor` of a mesh source: a number, 1.0 when absent or null.
fn scale_factor(params: &Map<String, Value>, what: &str) -> Result<f64, BuildError> {
    match params.get("scale_factor") {
        None | Some(Value::Null) => Ok(1.0),
        Some(Value::Number(n)) if n.as_f64().is_some_and(f64::is_finite) => {
            Ok(n.as_f64().unwrap_or(1.0))
        }
        Some(other) => Err(invalid(format!(
            "{what}: field `scale_factor` must be a finite number, found {other}"
        ))),
    }
}

/// Converts a mask source through the volume code. An invalid mask (the label absent, or no
/// voxel ≥ 1) writes nothing, as the reference drops it.
#[allow(clippy::too_many_arguments)]
fn convert_mask(
    io: &mut BuildIo<'_>,
    source: &SourceVolume,
    name: &str,
    shape: AnnotationShape,
    params: &Map<String, Value>,
    vs: f64,
    rescale_to: Option<[usize; 3]>,
    files: &[(String, &'static str)],
    formats: super::VolumeFormats,
) -> Result<(), BuildError> {
    let kind = if shape == AnnotationShape::InstanceSegmentationMask {
        VolumeKind::InstanceMask
    } else {
        let label = params
            .get("mask_label")
            .and_then(Value::as_i64)
            .unwrap_or(1);
        let threshold = params.get("threshold").and_then(Value::as_f64);
        if label != 1 && threshold.is_some() {
            return Err(invalid(format!(
                "{name}: mask_label {label} and threshold cannot be used together"
            )));
        }
        VolumeKind::SemanticMask { label, threshold }
    };
    let scratch = io.scratch()?;
    let stem = files[0]
        .0
        .rsplit('/')
        .next()
        .unwrap_or_default()
        .trim_end_matches(".zarr")
        .to_string();
    let mut opts = VolumeOptions::new(stem.clone());
    opts.voxel_spacing = Some(vs);
    opts.rescale_to = rescale_to;
    opts.write_mrc = formats.mrc;
    opts.write_zarr = formats.zarr;
    let out =
        volume::standardize(&source.source(), name, kind, &opts, &scratch).map_err(invalid)?;
    // The reference drops a mask whose *source* lacks the label (or any voxel ≥ 1). Without a
    // resize the output's labels say the same; a resize can lose every label (a mean under
    // the threshold, a nearest-neighbour zoom missing small labels), so ask the source then.
    let valid = !out.labels.is_empty()
        || (out.size != out.source_header.size
            && match kind {
                VolumeKind::SemanticMask {
                    threshold: Some(t), ..
                } => {
                    let t = t as f32;
                    volume::any_voxel(&source.source(), name, |v| v >= t)
                }
                VolumeKind::SemanticMask { label, .. } => {
                    let l = label as f32;
                    volume::any_voxel(&source.source(), name, |v| v == l)
                }
                _ => volume::any_voxel(&source.source(), name, |v| v >= 1.0),
            }
            .map_err(invalid)?);
    if !valid {
        return Ok(());
    }
    let keys = (
        formats.zarr.then_some(files[0].0.as_str()),
        formats.mrc.then_some(files[1].0.as_str()),
    );
    super::volumes::record_volume_outputs(io, &out, &stem, keys, name, &scratch)
}

/// The metadata JSON of one annotation block in one voxel spacing.
pub struct AnnotationMetadata;

/// What an annotation block's metadata reads. No block index: inserting a block before this
/// one must not rebuild it.
#[derive(serde::Serialize)]
pub struct AnnotationMetadataParams {
    metadata: Map<String, Value>,
    /// The `files` entries of every source of the block (format, path, shape, default).
    files: Vec<Value>,
    alignment_metadata_path: Option<String>,
    deposition_id_default: Value,
    run: String,
    output: String,
}

impl Kind for AnnotationMetadata {
    type Params = AnnotationMetadataParams;

    fn build(p: &AnnotationMetadataParams, io: &mut BuildIo<'_>) -> Result<(), BuildError> {
        let mut files = Vec::new();
        let mut object_count = 0usize;
        for entry in &p.files {
            let path = entry["path"].as_str().unwrap_or_default();
            if !io.output.exists(path) {
                continue; // an invalid mask writes nothing and is not listed
            }
            object_count = object_count.max(count_objects(io, path, entry)?);
            files.push(entry.clone());
        }
        if files.is_empty() {
            // Every source was invalid: the reference drops them all and writes no JSON.
            return Ok(());
        }
        let extracted = json!({
            "object_count": object_count,
            "files": files,
            "alignment_metadata_path": p.alignment_metadata_path,
        });
        io.write_metadata(&p.output, &p.metadata, extracted, &p.deposition_id_default)
    }
}

impl PlanKind for AnnotationMetadata {
    fn plan(
        ctx: &TargetContext<'_>,
        _earlier: &[TargetSpec],
    ) -> Result<Vec<(usize, Planned<AnnotationMetadata>)>, BuildError> {
        // One metadata target per block and voxel spacing, made with the block's first
        // source found there (none when that one is a read-only destination reference).
        let mut seen = std::collections::HashSet::new();
        let heads: std::collections::HashSet<usize> = (ctx.discovery.instances.iter())
            .enumerate()
            .filter(|(_, i)| i.kind == EntityKind::Annotation)
            .filter(|(_, i)| {
                let block = match i.origin {
                    Origin::Block { block, .. } => Some(block),
                    Origin::Default => None,
                };
                seen.insert((i.parent, block))
            })
            .map(|(idx, _)| idx)
            .collect();
        ctx.each_instance(&[EntityKind::Annotation], |idx| {
            Ok(match heads.contains(&idx) {
                true => vec![plan_metadata(ctx, idx)],
                false => Vec::new(),
            })
        })
    }
}

/// The metadata target of the annotation block that instance `idx` belongs to: `{prefix}.json`
/// listing the outputs of every source of the block in this voxel spacing.
fn plan_metadata(ctx: &TargetContext<'_>, idx: usize) -> Planned<AnnotationMetadata> {
    let d = ctx.discovery;
    let inst = &d.instances[idx];
    let prefix = prefix(&inst.metadata);
    let dir = inst.output_dir.clone();
    let Origin::Block { block, .. } = inst.origin else {
        unreachable!("annotations come from blocks")
    };
    // Every source of this block under the same voxel spacing, in discovery order.
    let members: Vec<(usize, &Instance)> = d
        .instances
        .iter()
        .enumerate()
        .filter(|(_, i)| {
            i.kind == EntityKind::Annotation
                && i.parent == inst.parent
                && matches!(i.origin, Origin::Block { block: b, .. } if b == block)
        })
        .collect();
    let mut entries: Vec<Value> = Vec::new();
    let mut deps = Vec::new();
    for (_, m) in &members {
        let Some(a) = source_of(ctx, m) else { continue };
        let planned = plan(a, &dir, &prefix);
        deps.push(planned.target_id());
        for (path, format) in &planned.files {
            if entries.iter().any(|e| e["path"] == path.as_str()) {
                continue;
            }
            entries.push(json!({
                "format": format,
                "path": path,
                "shape": planned.shape,
                "is_visualization_default": planned.is_visualization_default,
            }));
        }
    }
    deps.sort();
    deps.dedup();
    let params = AnnotationMetadataParams {
        metadata: inst.metadata.clone(),
        files: entries,
        alignment_metadata_path: d.run_alignment_path(idx),
        deposition_id_default: super::containers::deposition_name_value(ctx, idx),
        run: run_name(ctx, idx),
        output: format!("{dir}/{prefix}.json"),
    };
    Planned::new(format!("{dir}/{prefix}"), EntityKind::Annotation, params)
        .deps(deps)
        .metadata_only()
}

/// The object count of one written output (spec §7.2).
fn count_objects(io: &BuildIo<'_>, path: &str, entry: &Value) -> Result<usize, BuildError> {
    let shape = entry["shape"].as_str().unwrap_or("");
    Ok(match (shape, entry["format"].as_str().unwrap_or("")) {
        (_, "ndjson") => {
            let text = io.read_output_text(path)?;
            if shape == "InstanceSegmentation" {
                let mut ids: Vec<i64> = text
                    .lines()
                    .filter_map(|l| serde_json::from_str::<Value>(l).ok())
                    .filter_map(|v| v["instance_id"].as_i64())
                    .collect();
                ids.sort_unstable();
                ids.dedup();
                ids.len()
            } else {
                text.lines().filter(|l| !l.trim().is_empty()).count()
            }
        }
        ("InstanceSegmentationMask", "zarr") => io
            .read_output_json(&format!("{path}/.zattrs"))?
            .pointer("/multiscales/0/metadata/image-label/colors")
            .and_then(Value::as_array)
            .map_or(0, Vec::len),
        ("GlobalCaption", "json") => io.read_output_json(path)?["captions"]
            .as_array()
            .map_or(0, Vec::len),
        ("AnnotationCaption", "json") => io.read_output_json(path)?["objects"]
            .as_array()
            .map_or(0, Vec::len),
        ("TriangularMesh", "glb") => 1,
        _ => 0,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn md(v: Value) -> Map<String, Value> {
        v.as_object().unwrap().clone()
    }

    #[test]
    fn scale_factor_defaults_to_one_and_must_be_a_number() {
        let w = "annotation m.obj (TriangularMesh)";
        assert_eq!(scale_factor(&md(json!({})), w).unwrap(), 1.0);
        assert_eq!(
            scale_factor(&md(json!({"scale_factor": null})), w).unwrap(),
            1.0
        );
        assert_eq!(
            scale_factor(&md(json!({"scale_factor": 0.25})), w).unwrap(),
            0.25
        );
        assert_eq!(
            scale_factor(&md(json!({"scale_factor": "2"})), w)
                .unwrap_err()
                .to_string(),
            "annotation m.obj (TriangularMesh): field `scale_factor` must be a finite number, \
             found \"2\""
        );
    }

    #[test]
    fn prefix_follows_the_reference_rules() {
        assert_eq!(
            prefix(&md(
                json!({"annotation_object": {"name": "Some Protein"}, "version": 1.0})
            )),
            "some_protein-1.0"
        );
        assert_eq!(
            prefix(&md(
                json!({"annotation_object": {"name": "x", "description": "Cytosolic ribosome (80S)"}, "version": 1})
            )),
            "cytosolic_ribosome__80s_-1"
        );
        let long = "d".repeat(51);
        assert_eq!(
            prefix(&md(
                json!({"annotation_object": {"name": "Fatty acid", "description": long}, "version": "1.0-b"})
            )),
            "fatty_acid-1.0_b"
        );
    }
}

/// One overlay of a tomogram's key images (spec §9 step 2): a visualization-default mask or
/// point source at the tomogram's voxel spacing, with its §10.2 colour.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct KeyOverlay {
    /// A mask (its `.mrc` is read) or points (its `.ndjson`).
    pub is_mask: bool,
    /// The output file read: the mask's `.mrc` or the points' `.ndjson`.
    pub read: String,
    /// The source target that writes it (a dependency, so not repeated in params).
    #[serde(skip)]
    pub dep: String,
    /// The colour the neuroglancer state gives the file (keyed by its zarr/ndjson path).
    pub color: [u8; 3],
}

/// A planned annotation file: path, shape, format.
type PlannedFile = (String, &'static str, &'static str);

/// The key-image overlays of tomogram `idx`, in finder order (masks, then points).
///
/// The colours follow §10.2: every annotation JSON of the run (all voxel spacings share the
/// run's alignment), in path order, each listed zarr/ndjson/glb file of a kept shape taking the
/// first colour of its seeded palette; non-instance shapes add theirs to the exclusion list, so
/// instance shapes (which do not) are skipped. Annotation files that end up not written are
/// still counted (the list is planned, not read).
pub fn key_image_overlays(ctx: &TargetContext<'_>, idx: usize) -> Vec<KeyOverlay> {
    use crate::palette::{to_byte, Palette};
    let d = ctx.discovery;
    let (Some(run_idx), Some(vs_idx)) = (
        d.ancestor_index(idx, EntityKind::Run),
        d.ancestor_index(idx, EntityKind::VoxelSpacing),
    ) else {
        return Vec::new();
    };
    // Annotation JSONs of the run: (json path, written metadata, files (path, shape, format)).
    let mut jsons: Vec<(String, Value, Vec<PlannedFile>)> = Vec::new();
    // The first source of each (voxel spacing, block) names its JSON, as in `metadata_target`;
    // descendants come in discovery order, so the first seen is the first.
    let mut heads: std::collections::HashMap<(Option<usize>, usize), usize> = Default::default();
    for i in d.descendants(run_idx, EntityKind::Annotation) {
        let inst = &d.instances[i];
        let Origin::Block { block, .. } = inst.origin else {
            continue;
        };
        let first = *heads.entry((inst.parent, block)).or_insert(i);
        let head = &d.instances[first];
        let prefix = prefix(&head.metadata);
        let json_path = format!("{}/{prefix}.json", head.output_dir);
        let Some(a) = source_of(ctx, inst) else {
            continue;
        };
        let planned = plan(a, &head.output_dir, &prefix);
        let pos = match jsons.iter().position(|(p, _, _)| *p == json_path) {
            Some(p) => p,
            None => {
                let dep_value = super::containers::deposition_name_value(ctx, first);
                let doc = crate::metadata::merged_document(
                    &Value::Object(head.metadata.clone()),
                    &json!({}),
                    &dep_value,
                );
                jsons.push((json_path, doc, Vec::new()));
                jsons.len() - 1
            }
        };
        for (path, format) in planned.files {
            if !jsons[pos].2.iter().any(|(p, _, _)| *p == path) {
                jsons[pos].2.push((path, planned.shape, format));
            }
        }
    }
    jsons.sort_by(|a, b| a.0.cmp(&b.0));
    let mut palette = Palette::default();
    let mut colors: std::collections::HashMap<String, [u8; 3]> = Default::default();
    for (_, doc, files) in &jsons {
        for (path, shape, format) in files {
            let colored = matches!(
                *shape,
                "SegmentationMask" | "Point" | "OrientedPoint" | "TriangularMesh"
            ) && matches!(*format, "zarr" | "ndjson" | "glb");
            if colored {
                let c = palette.next(doc, shape, 1)[0];
                colors.insert(path.clone(), [to_byte(c[0]), to_byte(c[1]), to_byte(c[2])]);
            }
        }
    }
    let mut masks = Vec::new();
    let mut points = Vec::new();
    for (_, inst) in d.children(vs_idx, EntityKind::Annotation) {
        if inst.in_destination {
            continue;
        }
        let Some(a) = source_of(ctx, inst) else {
            continue;
        };
        if !a.is_visualization_default {
            continue;
        }
        let prefix = prefix(&inst.metadata);
        let planned = plan(a, &inst.output_dir, &prefix);
        let (shown, read) = match planned.shape {
            "SegmentationMask" => (&planned.files[0].0, planned.files.get(1)),
            "Point" | "OrientedPoint" => (&planned.files[0].0, planned.files.first()),
            _ => continue,
        };
        let (Some((read, _)), Some(&color)) = (read, colors.get(shown)) else {
            continue;
        };
        let overlay = KeyOverlay {
            is_mask: planned.shape == "SegmentationMask",
            read: read.clone(),
            dep: planned.target_id(),
            color,
        };
        if overlay.is_mask {
            masks.push(overlay);
        } else {
            points.push(overlay);
        }
    }
    masks.extend(points);
    masks.dedup();
    masks
}
