//! The reference's annotation `pre_import` (spec §7.8): before annotations are imported under a
//! voxel spacing, every numeric folder of its `Annotations/` that holds no `*[0-9].json` (no
//! annotation metadata) is deleted with its content.
//!
//! Our own outputs never need it to be correct: targets publish whole outputs and IDs are
//! seeded from metadata JSONs only. But such a folder is what an interrupted run leaves (the
//! reference's, or an older build of ours killed between an annotation's sources and its JSON),
//! and since it holds no JSON its number is free: the next new annotation is numbered into it
//! and would sit beside the leftovers. So the build removes them first, as the reference does,
//! only under the voxel spacings whose annotation data it is about to build (`--only`,
//! `--metadata-only` and `--shard` narrow that), and never in a dry run.

use crate::storage::{GlobPattern, StorageError, Store, StoreKey};
use crate::target::TargetSpec;
use crate::EntityKind;
use std::collections::BTreeSet;

/// Whether a folder's own files include an annotation metadata JSON (`*[0-9].json`).
fn has_metadata_json(files: &[String]) -> bool {
    files.iter().any(|f| {
        f.strip_suffix(".json")
            .and_then(|stem| stem.chars().last())
            .is_some_and(|c| c.is_ascii_digit())
    })
}

/// The voxel-spacing folders of the selected annotation data targets.
fn voxel_spacings<'a>(selected: impl Iterator<Item = &'a TargetSpec>) -> BTreeSet<String> {
    selected
        .filter(|t| t.kind == EntityKind::Annotation && !t.metadata)
        .filter_map(|t| {
            t.id.split_once("/Annotations/")
                .map(|(vs, _)| vs.to_string())
        })
        .collect()
}

/// The partial annotation folders under the voxel spacings of `selected`.
///
/// # Errors
/// Listing errors on OUTPUT.
pub fn partial_annotation_folders<'a>(
    output: &Store,
    selected: impl Iterator<Item = &'a TargetSpec>,
) -> Result<Vec<StoreKey>, StorageError> {
    let mut partial = Vec::new();
    for vs in voxel_spacings(selected) {
        let pattern = GlobPattern::new(&format!("{vs}/Annotations/*"))
            .map_err(|e| StorageError::Unsupported(e.to_string()))?;
        for m in output.glob(&pattern)? {
            let name = m.key.rsplit('/').next().unwrap_or_default();
            if !m.is_dir || name.is_empty() || !name.chars().all(|c| c.is_ascii_digit()) {
                continue;
            }
            let files_pattern = GlobPattern::new(&format!("{}/*", m.key))
                .map_err(|e| StorageError::Unsupported(e.to_string()))?;
            let files: Vec<String> = output
                .glob(&files_pattern)?
                .into_iter()
                .filter(|f| !f.is_dir)
                .map(|f| f.key)
                .collect();
            if !has_metadata_json(&files) {
                partial.push(StoreKey::new(m.key)?);
            }
        }
    }
    Ok(partial)
}

/// Removes the partial annotation folders under the voxel spacings of `selected` (lists them
/// in a dry run) and returns one line per folder for the log.
///
/// # Errors
/// Listing and deletion errors on OUTPUT, naming the folder.
pub fn remove_partial_annotation_folders<'a>(
    output: &Store,
    selected: impl Iterator<Item = &'a TargetSpec>,
    dry_run: bool,
) -> Result<Vec<String>, StorageError> {
    let mut lines = Vec::new();
    for folder in partial_annotation_folders(output, selected)? {
        if dry_run {
            lines.push(format!(
                "would remove {folder}: an annotation folder with no metadata JSON (a partial write)"
            ));
        } else {
            let files = output.remove_folder(&folder)?;
            lines.push(format!(
                "removed {folder} ({files} files): an annotation folder with no metadata JSON (a partial write)"
            ));
        }
    }
    Ok(lines)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn metadata_jsons_end_in_a_digit() {
        let f = |names: &[&str]| names.iter().map(|s| format!("a/{s}")).collect::<Vec<_>>();
        assert!(has_metadata_json(&f(&["membrane-1.0.json", "x.ndjson"])));
        assert!(!has_metadata_json(&f(&["membrane-1.0_point.ndjson"])));
        assert!(!has_metadata_json(&f(&["caption.json", "mask.mrc"])));
        assert!(!has_metadata_json(&[]));
    }
}
