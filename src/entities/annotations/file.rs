//! The source target of an annotation: one found file converted to its standardized output
//! (NDJSON, mask zarr + MRC, GLB, or a caption copy), and the mask `rescale` basis.

use super::{plan, prefix, source_of};
use crate::config::{format_template, AnnotationShape};
use crate::entities::volumes::SourceVolume;
use crate::entities::{PlanKind, TargetContext, VolumeFormats};
use crate::formats::mesh;
use crate::formats::points::{self, PointParams, PointShape};
use crate::storage::{ObjectInfo, StoreKey};
use crate::target::{invalid, BuildError, BuildIo, Kind, Planned, TargetSpec};
use crate::volume::{self, VolumeKind, VolumeOptions};
use crate::EntityKind;
use serde_json::{json, Map, Value};

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
    outputs: Vec<StoreKey>,
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
    files: Vec<(StoreKey, &'static str)>,
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
                let pp = PointParams::for_source(point_shape, &p.file_format, &p.params)?;
                let bytes = io.read_source(file()?)?;
                let records = points::read_points(&p.file_format, point_shape, &pp, &bytes, &name)?;
                io.write_bytes(&p.files[0].0, &points::to_ndjson(point_shape, &records))
            }
            AnnotationShape::GlobalCaption | AnnotationShape::AnnotationCaption => {
                io.copy_source(file()?, &p.files[0].0)
            }
            AnnotationShape::TriangularMesh => {
                let scale = scale_factor(&p.params, what)?;
                let bytes = io.read_source(file()?)?;
                let mut m = mesh::read(&p.file_format, &bytes, &name)?;
                m.scale(scale);
                let glb = mesh::glb::write(&m, &name)?;
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
                let Some(mut m) = mesh::read_group(&bytes, &name, mesh_name)? else {
                    return Ok(());
                };
                m.scale(scale);
                let glb = mesh::glb::write(&m, &name)?;
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
    let planned = plan(a, &inst.output_dir, &prefix)?;
    let mut sources = ctx.input.list_files(&src_key)?;
    let mut params = a.params.clone();
    if let Some(Value::String(f)) = params.get("filter_value").cloned() {
        params.insert(
            "filter_value".into(),
            json!(format_template(&f, &inst.vars)?),
        );
    }
    let vs = d.voxel_spacing(idx)?;
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
    let id = planned.id;
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
    Tomogram(crate::entities::volumes::TomogramHeaderSource),
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
    let Some(tomogram) = crate::entities::volumes::first_tomogram(d, run) else {
        return Ok(Err(
            "rescale: the run's alignment has no `volume_dimension` and the run \
                       has no tomogram to derive it from"
                .to_string(),
        ));
    };
    match crate::entities::volumes::tomogram_header_source(ctx, tomogram)? {
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
            crate::entities::volumes::tomogram_dimension_zyx(io, tomogram)?
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
    files: &[(StoreKey, &'static str)],
    formats: VolumeFormats,
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
    let out = volume::standardize(&source.source(), name, kind, &opts, &scratch)?;
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
            }?);
    if !valid {
        return Ok(());
    }
    let keys = (
        formats.zarr.then_some(&files[0].0),
        formats.mrc.then_some(&files[1].0),
    );
    crate::entities::volumes::record_volume_outputs(io, &out, &stem, keys, name, &scratch)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

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
}
