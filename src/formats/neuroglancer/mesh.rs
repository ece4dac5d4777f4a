//! Multi-resolution precomputed meshes (spec §10.1): triangular-mesh annotations from their
//! glb, and the meshes of segmentations. Owned by the segmentation/mesh work (issue 9).

use super::NeuroglancerError;
use std::path::Path;

/// One oriented point of an annotation: its location (voxels, x,y,z) and its 3×3 rotation.
pub type OrientedPoint = ([f64; 3], [[f64; 3]; 3]);

/// Encodes the glb at `glb` as a multi-resolution precomputed mesh into the empty directory
/// `out_dir` (the reference's `generate_multiresolution_mesh` with `min_mesh_chunk_dim=8`,
/// `max_lod=2`, the given `string_label`).
///
/// # Errors
/// An unreadable or corrupt glb, or a failed write, naming the path.
pub fn encode_glb_mesh(
    glb: &Path,
    out_dir: &Path,
    string_label: &str,
) -> Result<(), NeuroglancerError> {
    let _ = (out_dir, string_label);
    Err(NeuroglancerError::invalid(
        glb,
        "mesh precompute is not built yet",
    ))
}

/// Instances the glb mesh at every oriented point and writes the `_orientedmesh` precompute
/// into the empty directory `out_dir` (the reference's `encode_oriented_mesh` with max_lod 2,
/// 10e6 faces for the first LOD, decimation 5.5, then `generate_mesh_from_lods` with
/// `min_mesh_chunk_dim=2`); `data_scale_nm` is the voxel spacing in nm.
///
/// # Errors
/// An unreadable or corrupt glb, or a failed write, naming the path.
pub fn encode_oriented_mesh(
    glb: &Path,
    points: &[OrientedPoint],
    out_dir: &Path,
    data_scale_nm: f64,
) -> Result<(), NeuroglancerError> {
    let _ = (points, out_dir, data_scale_nm);
    Err(NeuroglancerError::invalid(
        glb,
        "oriented-mesh precompute is not built yet",
    ))
}
