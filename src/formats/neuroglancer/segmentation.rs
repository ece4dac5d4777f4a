//! Precomputed segmentations of mask annotations (spec §10.1): `info`, compressed_segmentation
//! `data/` chunks, sharded multi-resolution `mesh/` generated from the label volume,
//! `provenance`. Owned by the segmentation/mesh work (issue 9).

use super::NeuroglancerError;
use std::path::Path;

/// Encodes the OME-Zarr mask at `zarr_dir` (level 0) as a precomputed segmentation with
/// meshes into the empty directory `out_dir` (the reference's `encode_segmentation` with
/// `include_mesh=True`, `delete_existing=True`), at `resolution_nm` per axis.
///
/// # Errors
/// An unreadable or corrupt zarr, or a failed write, naming the path.
pub fn encode_segmentation(
    zarr_dir: &Path,
    out_dir: &Path,
    resolution_nm: f64,
) -> Result<(), NeuroglancerError> {
    let _ = (out_dir, resolution_nm);
    Err(NeuroglancerError::invalid(
        zarr_dir,
        "segmentation precompute is not built yet",
    ))
}
