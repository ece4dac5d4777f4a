//! Annotation visualizations (spec §10.1, the reference's `annotation_viz`): one target per
//! annotation source whose shape has a neuroglancer precompute, writing the folder
//! `{vs}/NeuroglancerPrecompute/{precompute_dir_name(id, prefix, shape)}`, which is also its id.
//!
//! | source shape | reads (from OUTPUT) | writes |
//! |---|---|---|
//! | Point, OrientedPoint, InstanceSegmentation | the `.ndjson` | a precomputed annotation folder |
//! | OrientedPoint with `mesh_source_path` | the `.ndjson` and the mesh (INPUT) | also `…_orientedmesh/` |
//! | SegmentationMask, SemanticSegmentationMask, InstanceSegmentationMask | the `.zarr` | a precomputed segmentation with meshes |
//! | TriangularMesh, TriangularMeshGroup | the `.glb` | a multi-resolution precomputed mesh |
//! | GlobalCaption, AnnotationCaption | – | nothing (noted, as the reference prints it) |
//!
//! Its only parent is the annotation's source target; what it takes from the annotation's
//! config metadata (diameter, object name, the instance colour seed) is in its key config, so a
//! metadata edit that leaves them alone does not rebuild it. A source that wrote nothing (an
//! invalid mask) gives no folder. Every folder is staged whole and published in one step.

use super::annotations::{plan, prefix, source_of};
use super::{PlanKind, TargetContext};
use crate::config::{format_template, AnnotationShape};
use crate::formats::neuroglancer::annotations::{
    encode_annotations, parse_ndjson, AnnotationSettings, PointLayer,
};
use crate::formats::neuroglancer::{mesh, precompute_dir_name, segmentation, NeuroglancerError};
use crate::storage::{ObjectInfo, StorageError, StoreKey};
use crate::target::{invalid, BuildError, BuildIo, Kind, Planned, TargetId, TargetSpec};
use crate::EntityKind;
use serde_json::{Map, Value};
use std::path::{Path, PathBuf};

/// The Neuroglancer precompute of one annotation source (the reference's `annotation_viz`).
pub struct AnnotationViz;

/// What an annotation's precompute reads.
#[derive(serde::Serialize)]
pub struct AnnotationVizParams {
    /// The annotation file read (its source target's output).
    annotation: StoreKey,
    shape: &'static str,
    output: StoreKey,
    #[serde(flatten)]
    encoding: Encoding,
}

/// How the precompute of one source is encoded, and what the encoder takes.
#[derive(serde::Serialize)]
#[serde(untagged)]
enum Encoding {
    /// A precomputed annotation folder from the NDJSON, and for oriented points with a mesh
    /// file, the instanced mesh in a sibling folder.
    Points {
        /// Derived from `shape`.
        #[serde(skip)]
        layer: PointLayer,
        #[serde(flatten)]
        settings: AnnotationSettings,
        /// The configured `mesh_source_path`, found or not.
        #[serde(skip_serializing_if = "Option::is_none")]
        mesh_source: Option<String>,
        #[serde(flatten, skip_serializing_if = "Option::is_none")]
        oriented_mesh: Option<OrientedMesh>,
    },
    /// A precomputed segmentation of the mask's zarr.
    Segmentation { resolution_nm: f64 },
    /// A multi-resolution mesh of the glb.
    Mesh { string_label: String },
}

/// The instanced mesh of oriented points: the mesh file (among the target's sources), its
/// output folder and scale (nm per voxel).
#[derive(serde::Serialize)]
struct OrientedMesh {
    #[serde(rename = "mesh_file")]
    source: String,
    oriented_mesh_output: StoreKey,
    data_scale_nm: f64,
}

impl Kind for AnnotationViz {
    type Params = AnnotationVizParams;

    fn build(p: &AnnotationVizParams, io: &mut BuildIo<'_>) -> Result<(), BuildError> {
        let (read, out_key) = (&p.annotation, &p.output);
        // A source that wrote nothing (an invalid mask, a mesh group without the segment) has
        // no visualization, as the reference drops the source.
        if !io.output.exists(read) {
            return Ok(());
        }
        let what = PathBuf::from(io.output.describe(read));
        match &p.encoding {
            Encoding::Points {
                layer,
                settings,
                oriented_mesh,
                ..
            } => {
                let bytes = io.output.read(read)?;
                let records = parse_ndjson(&bytes, &what, *layer)?;
                let dir = empty_stage_dir(io, out_key)?;
                encode_annotations(*layer, &records, settings, &what, &dir)?;
                record_dir(io, out_key, &dir)?;
                if let Some(m) = oriented_mesh {
                    let glb = local_source_file(io, io.source(&m.source)?)?;
                    let points: Vec<mesh::OrientedPoint> = records
                        .iter()
                        .filter_map(|r| Some((r.location, r.rotation?)))
                        .collect();
                    let mesh_dir = empty_stage_dir(io, &m.oriented_mesh_output)?;
                    mesh::encode_oriented_mesh(&glb, &points, &mesh_dir, m.data_scale_nm)?;
                    record_dir(io, &m.oriented_mesh_output, &mesh_dir)?;
                }
            }
            Encoding::Segmentation { resolution_nm } => {
                let zarr = local_output_folder(io, read)?;
                let dir = empty_stage_dir(io, out_key)?;
                segmentation::encode_segmentation(&zarr, &dir, *resolution_nm)?;
                record_dir(io, out_key, &dir)?;
            }
            Encoding::Mesh { string_label } => {
                let glb = local_output_file(io, read)?;
                let dir = empty_stage_dir(io, out_key)?;
                mesh::encode_glb_mesh(&glb, &dir, string_label)?;
                record_dir(io, out_key, &dir)?;
            }
        }
        Ok(())
    }
}

impl PlanKind for AnnotationViz {
    fn plan(
        ctx: &TargetContext<'_>,
        _earlier: &[TargetSpec],
    ) -> Result<Vec<(usize, Planned<AnnotationViz>)>, BuildError> {
        ctx.each_instance(&[EntityKind::Annotation], |idx| {
            Ok(plan_one(ctx, idx)?.into_iter().collect())
        })
    }
}

/// The `annotation_viz` target of annotation source `idx`, or `None` when its shape has no
/// precompute (captions) or it has no source target.
///
/// # Errors
/// Metadata the encoder cannot use (a non-numeric `annotation_object.diameter`), a
/// `mesh_source_path` template that does not expand, listing errors.
fn plan_one(
    ctx: &TargetContext<'_>,
    idx: usize,
) -> Result<Option<Planned<AnnotationViz>>, BuildError> {
    let d = ctx.discovery;
    let inst = &d.instances[idx];
    let (Some(a), Some(annotation_id), Some(vs_idx)) = (source_of(ctx, inst), inst.id, inst.parent)
    else {
        return Ok(None);
    };
    if inst.path.is_none() {
        return Ok(None); // no source target to read
    }
    let vs = &d.instances[vs_idx];
    let prefix = prefix(&inst.metadata);
    let planned = plan(a, &inst.output_dir, &prefix)?;
    let shape = planned.shape;
    let read = planned.files[0].0.clone();
    let voxel_spacing = d.voxel_spacing(idx)?;
    let name = precompute_dir_name(annotation_id, &prefix, shape);
    let id = TargetId::from_key(
        vs.output_dir
            .child("NeuroglancerPrecompute")?
            .child(&name)?,
    )?;
    let mut sources = Vec::new();
    let encoding = match a.shape {
        AnnotationShape::Point
        | AnnotationShape::OrientedPoint
        | AnnotationShape::InstanceSegmentation => {
            let layer = PointLayer::from_shape(shape).expect("point-like shapes have a layer");
            let settings = settings(&inst.metadata, voxel_spacing, layer)?;
            let mut mesh_source = None;
            let mut oriented_mesh = None;
            if let (PointLayer::OrientedPoint, Some(Value::String(template))) =
                (layer, a.params.get("mesh_source_path"))
            {
                let rel = format_template(template, &inst.vars)?;
                let key = join_key(&ctx.config.standardization.source_prefix, &rel);
                mesh_source = Some(key.clone());
                // A missing folder lists as not found: the file is absent either way.
                let listed = match ctx.input.list_files(&key) {
                    Err(StorageError::NotFound { .. }) => Vec::new(),
                    other => other?,
                };
                match listed.into_iter().find(|o| o.key == key) {
                    Some(object) => {
                        sources.push(object);
                        oriented_mesh = Some(OrientedMesh {
                            source: key,
                            oriented_mesh_output: oriented_mesh_dir(id.key()),
                            data_scale_nm: voxel_spacing * 0.1,
                        });
                    }
                    // The reference warns and writes the points only.
                    None => tracing::warn!(
                        "{}: oriented mesh file {} does not exist; {id} gets no mesh",
                        ctx.config.file.display(),
                        ctx.input.describe(&key)
                    ),
                }
            }
            Encoding::Points {
                layer,
                settings,
                mesh_source,
                oriented_mesh,
            }
        }
        AnnotationShape::SegmentationMask
        | AnnotationShape::SemanticSegmentationMask
        | AnnotationShape::InstanceSegmentationMask => Encoding::Segmentation {
            resolution_nm: voxel_spacing * 0.1,
        },
        AnnotationShape::TriangularMesh | AnnotationShape::TriangularMeshGroup => Encoding::Mesh {
            string_label: mesh_label(&prefix),
        },
        AnnotationShape::GlobalCaption | AnnotationShape::AnnotationCaption => {
            tracing::info!("no precompute for {shape} shape ({read})");
            return Ok(None);
        }
    };
    let deps = vec![planned.id.clone()];
    let params = AnnotationVizParams {
        annotation: read,
        shape,
        output: id.key().clone(),
        encoding,
    };
    Ok(Some(
        Planned::new(id, EntityKind::AnnotationViz, params)
            .sources(sources)
            .deps(deps),
    ))
}

/// The encoder settings of a point-like annotation from its config metadata, as the reference
/// takes them: `annotation_object.diameter` (default 100) / 10, `annotation_object.name`
/// (default empty), the colour seed of shape `InstanceSegmentation`, `vs × 1e-10` m.
fn settings(
    metadata: &Map<String, Value>,
    voxel_spacing: f64,
    layer: PointLayer,
) -> Result<AnnotationSettings, BuildError> {
    let object = metadata.get("annotation_object");
    let diameter = match object.and_then(|o| o.get("diameter")) {
        None => 100.0,
        Some(Value::Number(n)) if n.as_f64().is_some() => n.as_f64().unwrap_or(100.0),
        Some(other) => {
            return Err(invalid(format!(
                "metadata field `annotation_object.diameter` must be a number, found {other}"
            )))
        }
    } / 10.0;
    let object_name = match object.and_then(|o| o.get("name")) {
        None | Some(Value::Null) => String::new(),
        Some(Value::String(s)) => s.clone(),
        Some(other) => other.to_string(),
    };
    let color_seed = match layer {
        PointLayer::InstanceSegmentation => {
            let md = Value::Object(metadata.clone());
            crate::palette::color_seed(&crate::palette::seed_input(&md, "InstanceSegmentation"))
        }
        _ => 0,
    };
    Ok(AnnotationSettings {
        resolution_m: voxel_spacing * 1e-10,
        diameter,
        object_name,
        color_seed,
    })
}

/// The oriented-mesh folder beside an oriented-point precompute: `…_orientedpoint` becomes
/// `…_orientedmesh` (the suffix is added when the name lacks it).
fn oriented_mesh_dir(points_dir: &StoreKey) -> StoreKey {
    let base = points_dir.file_name();
    let base = base.strip_suffix("_orientedpoint").unwrap_or(base);
    points_dir
        .parent()
        .child(&format!("{base}_orientedmesh"))
        .expect("a valid segment with a suffix in place of another is one")
}

/// The mesh's `string_label`: Python's `Path(prefix).with_suffix("").stem` with spaces → `_`
/// (both drop a last `.suffix`, so `ribosome-1.0` gives `ribosome-1`).
fn mesh_label(prefix: &str) -> String {
    fn drop_suffix(name: &str) -> &str {
        match name.rfind('.') {
            Some(i) if i > 0 && i < name.len() - 1 => &name[..i],
            _ => name,
        }
    }
    drop_suffix(drop_suffix(prefix)).replace(' ', "_")
}

fn join_key(prefix: &str, rel: &str) -> String {
    let prefix = prefix.trim_matches('/');
    let rel = rel.trim_start_matches('/');
    if prefix.is_empty() {
        rel.to_string()
    } else {
        format!("{prefix}/{rel}")
    }
}

/// A new, empty staging folder for output folder `key`.
fn empty_stage_dir(io: &mut BuildIo<'_>, key: &StoreKey) -> Result<PathBuf, BuildError> {
    let dir = io.stage_folder(key)?;
    std::fs::create_dir_all(&dir).map_err(|e| invalid(NeuroglancerError::io(&dir, e)))?;
    Ok(dir)
}

/// Records the staged folder `dir` as output `key`, with the digest of every file in it.
fn record_dir(io: &mut BuildIo<'_>, key: &StoreKey, dir: &Path) -> Result<(), BuildError> {
    let mut files = Vec::new();
    let mut size = 0;
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        let entries = std::fs::read_dir(&d).map_err(|e| invalid(NeuroglancerError::io(&d, e)))?;
        for entry in entries {
            let path = entry
                .map_err(|e| invalid(NeuroglancerError::io(&d, e)))?
                .path();
            if path.is_dir() {
                stack.push(path);
                continue;
            }
            let bytes =
                std::fs::read(&path).map_err(|e| invalid(NeuroglancerError::io(&path, e)))?;
            let rel = path
                .strip_prefix(dir)
                .expect("walked under dir")
                .components()
                .map(|c| c.as_os_str().to_string_lossy().into_owned())
                .collect::<Vec<_>>()
                .join("/");
            size += bytes.len() as u64;
            files.push((rel, blake3::hash(&bytes).to_hex().to_string()));
        }
    }
    io.record_folder(key, files, size);
    Ok(())
}

/// A local path of the published output folder `key`: in place on a local OUTPUT, else
/// fetched object by object into the target's scratch folder.
fn local_output_folder(io: &mut BuildIo<'_>, key: &str) -> Result<PathBuf, BuildError> {
    if let Some(root) = io.output.local_root() {
        return Ok(root.join(key));
    }
    let listed = io.output.list_files(key)?;
    let scratch = io.scratch()?;
    for o in &listed {
        let Some(rel) = o.key.strip_prefix(key).map(|r| r.trim_start_matches('/')) else {
            continue;
        };
        let to = scratch.join(rel);
        if let Some(parent) = to.parent() {
            std::fs::create_dir_all(parent)
                .map_err(|e| invalid(NeuroglancerError::io(parent, e)))?;
        }
        io.output.copy_checked(o, &to)?;
    }
    Ok(scratch)
}

/// A local path of the published output file `key` (downloaded to scratch from S3).
fn local_output_file(io: &mut BuildIo<'_>, key: &str) -> Result<PathBuf, BuildError> {
    if let Some(root) = io.output.local_root() {
        return Ok(root.join(key));
    }
    let bytes = io.output.read(key)?;
    let file_name = key.rsplit('/').next().unwrap_or("file");
    let path = io.scratch()?.join(file_name);
    std::fs::write(&path, bytes).map_err(|e| invalid(NeuroglancerError::io(&path, e)))?;
    Ok(path)
}

/// A local copy of source object `object`, checked against its listing.
fn local_source_file(io: &mut BuildIo<'_>, object: &ObjectInfo) -> Result<PathBuf, BuildError> {
    let file_name = object.key.rsplit('/').next().unwrap_or("file");
    let path = io.scratch()?.join(file_name);
    io.input.copy_checked(object, &path)?;
    Ok(path)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn mesh_labels_drop_two_suffixes_like_pathlib() {
        assert_eq!(mesh_label("ribosome-1.0"), "ribosome-1");
        assert_eq!(mesh_label("x-1.0.2"), "x-1");
        assert_eq!(mesh_label("a b-1"), "a_b-1");
        assert_eq!(mesh_label("x-1."), "x-1.");
    }

    #[test]
    fn oriented_mesh_dirs_replace_the_point_suffix() {
        assert_eq!(
            oriented_mesh_dir(
                &StoreKey::new("a/NeuroglancerPrecompute/100-r-1.0_orientedpoint").unwrap()
            ),
            "a/NeuroglancerPrecompute/100-r-1.0_orientedmesh"
        );
    }

    #[test]
    fn diameter_defaults_to_ten_and_must_be_a_number() {
        let md = |v: Value| v.as_object().unwrap().clone();
        let s = settings(
            &md(json!({"annotation_object": {"name": "r"}})),
            13.48,
            PointLayer::Point,
        )
        .unwrap();
        assert_eq!(s.diameter, 10.0);
        assert_eq!(s.resolution_m, 13.48 * 1e-10);
        let s = settings(
            &md(json!({"annotation_object": {"name": "r", "diameter": 250}})),
            10.0,
            PointLayer::Point,
        )
        .unwrap();
        assert_eq!(s.diameter, 25.0);
        let e = settings(
            &md(json!({"annotation_object": {"diameter": "1e3"}})),
            10.0,
            PointLayer::Point,
        )
        .unwrap_err();
        assert!(e.to_string().contains("annotation_object.diameter"), "{e}");
    }
}
