//! The metadata target of an annotation block: `{prefix}.json` listing the outputs of every
//! source of the block in one voxel spacing, with the object count read back from them.

use super::{plan, prefix, source_of};
use crate::entities::files::run_name;
use crate::entities::{Instance, Origin, PlanKind, TargetContext};
use crate::storage::StoreKey;
use crate::target::{BuildError, BuildIo, Kind, Planned, TargetId, TargetSpec};
use crate::EntityKind;
use serde_json::{json, Map, Value};

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
    output: StoreKey,
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
                true => vec![plan_metadata(ctx, idx)?],
                false => Vec::new(),
            })
        })
    }
}

/// The metadata target of the annotation block that instance `idx` belongs to: `{prefix}.json`
/// listing the outputs of every source of the block in this voxel spacing.
fn plan_metadata(
    ctx: &TargetContext<'_>,
    idx: usize,
) -> Result<Planned<AnnotationMetadata>, BuildError> {
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
        let planned = plan(a, &dir, &prefix)?;
        deps.push(planned.id.clone());
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
        deposition_id_default: crate::entities::containers::deposition_name_value(ctx, idx),
        run: run_name(ctx, idx),
        output: dir.child(&format!("{prefix}.json"))?,
    };
    let id = TargetId::from_key(dir.child(&prefix)?)?;
    Ok(Planned::new(id, EntityKind::Annotation, params)
        .deps(deps)
        .metadata_only())
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
