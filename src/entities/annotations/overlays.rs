//! The key-image overlays of a tomogram: its voxel spacing's visualization-default masks and
//! points, with the colours its Neuroglancer state gives them.

use super::{plan, prefix, source_of};
use crate::entities::Origin;
use crate::entities::TargetContext;
use crate::storage::{KeyError, StoreKey};
use crate::target::TargetId;
use crate::EntityKind;
use serde_json::{json, Value};

/// One overlay of a tomogram's key images (spec §9 step 2): a visualization-default mask or
/// point source at the tomogram's voxel spacing, with its §10.2 colour.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct KeyOverlay {
    /// A mask (its `.mrc` is read) or points (its `.ndjson`).
    pub is_mask: bool,
    /// The output file read: the mask's `.mrc` or the points' `.ndjson`.
    pub read: StoreKey,
    /// The source target that writes it (a dependency, so not repeated in params).
    #[serde(skip)]
    pub dep: TargetId,
    /// The colour the neuroglancer state gives the file (keyed by its zarr/ndjson path).
    pub color: [u8; 3],
}

/// A planned annotation file: path, shape, format.
type PlannedFile = (StoreKey, &'static str, &'static str);

/// The key-image overlays of tomogram `idx`, in finder order (masks, then points).
///
/// The colours follow §10.2: every annotation JSON of the run (all voxel spacings share the
/// run's alignment), in path order, each listed zarr/ndjson/glb file of a kept shape taking the
/// first colour of its seeded palette; non-instance shapes add theirs to the exclusion list, so
/// instance shapes (which do not) are skipped. Annotation files that end up not written are
/// still counted (the list is planned, not read).
///
/// # Errors
/// An annotation file name that cannot be a key (see [`super::plan`]).
pub fn key_image_overlays(
    ctx: &TargetContext<'_>,
    idx: usize,
) -> Result<Vec<KeyOverlay>, KeyError> {
    use crate::palette::{to_byte, Palette};
    let d = ctx.discovery;
    let (Some(run_idx), Some(vs_idx)) = (
        d.ancestor_index(idx, EntityKind::Run),
        d.ancestor_index(idx, EntityKind::VoxelSpacing),
    ) else {
        return Ok(Vec::new());
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
        let planned = plan(a, &head.output_dir, &prefix)?;
        let pos = match jsons.iter().position(|(p, _, _)| *p == json_path) {
            Some(p) => p,
            None => {
                let dep_value = crate::entities::containers::deposition_name_value(ctx, first);
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
    let mut colors: std::collections::HashMap<StoreKey, [u8; 3]> = Default::default();
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
        let planned = plan(a, &inst.output_dir, &prefix)?;
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
            dep: planned.id.clone(),
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
    Ok(masks)
}
