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

mod file;
mod metadata;
mod overlays;

pub use file::{AnnotationFile, AnnotationFileParams};
pub use metadata::{AnnotationMetadata, AnnotationMetadataParams};
pub use overlays::{key_image_overlays, KeyOverlay};

use super::{Instance, Origin, TargetContext};
use crate::config::{AnnotationShape, AnnotationSource, Finder};
use crate::storage::{KeyError, StoreKey};
use crate::target::TargetId;
use crate::EntityKind;
use serde_json::{Map, Value};

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
    pub files: Vec<(StoreKey, &'static str)>,
    /// The id of the source target that writes these files: its first output, a mask's
    /// without `.zarr`.
    pub id: TargetId,
    /// The output `shape` string.
    pub shape: &'static str,
    is_visualization_default: bool,
}

/// What source `a` writes into the annotation folder `dir` under the file prefix `prefix`.
///
/// # Errors
/// A prefix (from the metadata's object name and version) or companion shape that cannot be
/// part of a file name.
pub(crate) fn plan(
    a: &AnnotationSource,
    dir: &StoreKey,
    prefix: &str,
) -> Result<PlannedOutputs, KeyError> {
    let shape = a.shape.output_shape();
    let lower = shape.to_lowercase();
    let stem = format!("{prefix}_{lower}");
    let file = |name: String, format: &'static str| -> Result<_, KeyError> {
        Ok((dir.child(&name)?, format))
    };
    let (files, vis) = match a.shape {
        AnnotationShape::Point
        | AnnotationShape::OrientedPoint
        | AnnotationShape::InstanceSegmentation => (
            vec![file(format!("{stem}.ndjson"), "ndjson")?],
            a.is_visualization_default,
        ),
        AnnotationShape::SemanticSegmentationMask
        | AnnotationShape::SegmentationMask
        | AnnotationShape::InstanceSegmentationMask => (
            vec![
                file(format!("{stem}.zarr"), "zarr")?,
                file(format!("{stem}.mrc"), "mrc")?,
            ],
            a.is_visualization_default,
        ),
        AnnotationShape::GlobalCaption => (vec![file(format!("{stem}.json"), "json")?], false),
        AnnotationShape::AnnotationCaption => {
            let companion = a
                .params
                .get("companion_shape")
                .and_then(Value::as_str)
                .unwrap_or("")
                .to_lowercase();
            (
                vec![file(format!("{prefix}_{companion}_caption.json"), "json")?],
                false,
            )
        }
        AnnotationShape::TriangularMesh | AnnotationShape::TriangularMeshGroup => (
            vec![file(format!("{stem}.glb"), "glb")?],
            a.is_visualization_default,
        ),
    };
    // A mask's target is named by its stem (it writes `.zarr` and `.mrc`), others by their file.
    let id = match files[0].1 {
        "zarr" => dir.child(&stem)?,
        _ => files[0].0.clone(),
    };
    Ok(PlannedOutputs {
        files,
        shape,
        id: TargetId::from_key(id)?,
        is_visualization_default: vis,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn md(v: Value) -> Map<String, Value> {
        v.as_object().unwrap().clone()
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
