//! Multi-resolution precomputed meshes (spec §10.1): triangular-mesh annotations from their
//! glb, and the meshes of segmentations. Owned by the segmentation/mesh work (issue 9).

use super::marching_cubes::TriMesh;
use super::segmentation::write_json;
use super::sharding::ShardingSpec;
use super::{multilod, segmentation_mesh, NeuroglancerError};
use serde_json::{json, Value};
use std::path::Path;

/// One oriented point of an annotation: its location (voxels, x,y,z) and its 3×3 rotation.
pub type OrientedPoint = ([f64; 3], [[f64; 3]; 3]);

/// `min_mesh_chunk_dim` and `max_lod` the reference passes for triangular-mesh annotations.
const GLB_MIN_MESH_CHUNK_DIM: i64 = 8;
const GLB_MAX_LOD: u32 = 2;

/// The one segment id of a standalone mesh (the reference's `label=1`).
const GLB_LABEL: u32 = 1;

/// Encodes the glb at `glb` as a multi-resolution precomputed mesh into the empty directory
/// `out_dir`, as the reference's `generate_multiresolution_mesh` does with
/// `min_mesh_chunk_dim=8`, `max_lod=2` and `string_label`: a segmentation `info` (resolution
/// 1, size from the mesh's upper bound), `segment_properties/info` naming segment 1, and
/// `mesh/` (`info` and the sharded multi-LOD Draco mesh of segment 1).
///
/// # Errors
/// An unreadable or corrupt glb, a mesh without extent on an axis, or a failed write, naming
/// the path.
pub fn encode_glb_mesh(
    glb: &Path,
    out_dir: &Path,
    string_label: &str,
) -> Result<(), NeuroglancerError> {
    let bytes = std::fs::read(glb).map_err(|e| NeuroglancerError::io(glb, e))?;
    let what = glb.display().to_string();
    let mesh = crate::formats::mesh::glb::read(&bytes, &what)
        .map_err(|e| NeuroglancerError::invalid(glb, e.to_string()))?;
    // glb positions are float32, so this narrowing is exact.
    let mesh = TriMesh {
        vertices: mesh.positions.iter().map(|p| p.map(|c| c as f32)).collect(),
        faces: mesh.faces,
    };
    let (lo, hi) = mesh
        .bounds()
        .ok_or_else(|| NeuroglancerError::invalid(glb, "the mesh has no vertices"))?;
    // trimesh's bounds: size is ceil(max) (at least 1); the shape truncates max - floor(min).
    let size = hi.map(|h| f64::from(h).ceil().max(1.0));
    let shape = [0, 1, 2].map(|a| (f64::from(hi[a]) - f64::from(lo[a]).floor()) as i64);
    let (chunk, min_chunk, num_lod) =
        multilod::chunk_size_for_lod(shape, GLB_MAX_LOD, GLB_MIN_MESH_CHUNK_DIM).ok_or_else(
            || NeuroglancerError::invalid(glb, format!("mesh extent {shape:?} has a zero side")),
        )?;
    write_json(&out_dir.join("info"), &standalone_info(size), 2)?;
    let props_dir = out_dir.join("segment_properties");
    std::fs::create_dir_all(&props_dir).map_err(|e| NeuroglancerError::io(&props_dir, e))?;
    write_json(
        &props_dir.join("info"),
        &segment_properties(&[GLB_LABEL], &[string_label]),
        2,
    )?;
    let mesh_dir = out_dir.join(segmentation_mesh::MESH_DIR);
    std::fs::create_dir_all(&mesh_dir).map_err(|e| NeuroglancerError::io(&mesh_dir, e))?;
    let spec = segmentation_mesh::hashed_spec(1);
    write_json(
        &mesh_dir.join("info"),
        &standalone_mesh_info(chunk, &spec),
        2,
    )?;
    segmentation_mesh::write_mesh_shards(&mesh_dir, &spec, &[(GLB_LABEL, mesh)], num_lod, min_chunk)
}

/// The segmentation `info` of a standalone mesh (the reference's
/// `_generate_standalone_mesh_info`): the volume fields Neuroglancer requires but does not
/// use, and the segment properties.
fn standalone_info(size: [f64; 3]) -> Value {
    json!({
        "@type": "neuroglancer_multiscale_volume",
        "data_type": "uint32",
        "mesh": segmentation_mesh::MESH_DIR,
        "num_channels": 1,
        "scales": [{
            "chunk_sizes": [[256, 256, 256]],
            "compressed_segmentation_block_size": [64, 64, 64],
            "encoding": "compressed_segmentation",
            "key": "data",
            "resolution": [1.0, 1.0, 1.0],
            "size": size,
        }],
        "type": "segmentation",
        "segment_properties": "segment_properties",
    })
}

/// `mesh/info` of a standalone mesh: chunk and spatial-index chunk of the actual LOD-0 chunk
/// size, resolution 1, then igneous's multi-LOD fields and the sharding.
fn standalone_mesh_info(chunk: [i64; 3], spec: &ShardingSpec) -> Value {
    json!({
        "@type": "neuroglancer_multilod_draco",
        "mip": 0,
        "chunk_size": chunk,
        "spatial_index": {"resolution": [1, 1, 1], "chunk_size": chunk},
        "vertex_quantization_bits": multilod::VERTEX_QUANTIZATION_BITS,
        "transform": [1, 0, 0, 0, 0, 1, 0, 0, 0, 0, 1, 0],
        "lod_scale_multiplier": 1.0,
        "sharding": spec.to_json(),
    })
}

/// Inline `neuroglancer_segment_properties` with one `label` property.
fn segment_properties(ids: &[u32], labels: &[&str]) -> Value {
    json!({
        "inline": {
            "ids": ids.iter().map(u32::to_string).collect::<Vec<_>>(),
            "properties": [{"values": labels, "type": "label", "id": "label"}],
        },
        "@type": "neuroglancer_segment_properties",
    })
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
