//! The `mesh/` of a precomputed segmentation, generated from its label volume as the
//! reference's `generate_multiresolution_mesh_from_segmentation` does with igneous:
//!
//! 1. `MeshTask`s of 256³ voxels (closed at the volume faces) mesh every label with zmesh's
//!    marching cubes and simplify it with zmesh's quadric edge collapse (`reduction_factor`
//!    100, `max_error` 2 voxels in physical units, `voxel_centered=True`: voxel `v` spans
//!    `[v, v + 1]`), both reproduced exactly by `zmesh_simplify`;
//! 2. `MultiResShardedMeshMergeTask` turns each label into a multi-LOD octree (at most 3
//!    LODs, smallest chunk from the reference's non-zero extent), Draco-encoded, and packs
//!    all labels into `neuroglancer_uint64_sharded_v1` shards;
//! 3. the `mesh/info` and the `provenance` the reference leaves (intermediate `.frags`,
//!    `.spatial` and `.labels` files are removed by the reference; they are never written here).

use super::multilod::{self, VERTEX_QUANTIZATION_BITS};
use super::segmentation::{python_json, write_json, MaskVolume};
use super::sharding::{shard_params_for_hashed, ShardEncoding, ShardHash, ShardingSpec};
use super::trimesh::TriMesh;
use super::zmesh_simplify::{mesh_block, ZmeshParams};
use super::NeuroglancerError;
use rayon::prelude::*;
use serde_json::{json, Map, Value};
use std::collections::BTreeMap;
use std::path::Path;

/// The mesh directory the reference names in the segmentation `info`.
pub const MESH_DIR: &str = "mesh";

/// igneous's meshing task shape (voxels per side).
const TASK: usize = 256;

/// `max_lod` and `min_mesh_chunk_dim` of the reference's `encode_segmentation`.
const MAX_LOD: u32 = 2;
const MIN_MESH_CHUNK_DIM: i64 = 16;

/// `max_simplification_error_in_voxels` of the reference (2 voxels); igneous hands zmesh
/// `2 * max(1, resolution)` in physical units.
const MAX_SIMPLIFICATION_ERROR_VOXELS: f64 = 2.0;

/// igneous's `simplification_factor` when simplification is on (`create_meshing_tasks`):
/// zmesh aims at a hundredth of the faces, bounded by the error.
const SIMPLIFICATION_FACTOR: u32 = 100;

/// Writes `mesh/` (info and shard files) and `provenance` for the mask; `mesh_shape` is the
/// reference's non-zero extent (x, y, z).
pub(crate) fn write_meshes(
    volume: &MaskVolume,
    zarr_dir: &Path,
    out_dir: &Path,
    resolution: u64,
    mesh_shape: [i64; 3],
) -> Result<(), NeuroglancerError> {
    let meshes = mesh_labels(volume, zarr_dir, resolution)?;
    let (_, min_chunk, _) = multilod::chunk_size_for_lod(mesh_shape, MAX_LOD, MIN_MESH_CHUNK_DIM)
        .ok_or_else(|| {
        NeuroglancerError::invalid(
            zarr_dir,
            format!("mesh extent {mesh_shape:?} has a zero side"),
        )
    })?;
    let mesh_dir = out_dir.join(MESH_DIR);
    std::fs::create_dir_all(&mesh_dir).map_err(|e| NeuroglancerError::io(&mesh_dir, e))?;
    let spec = hashed_spec(meshes.len() as u64);
    write_mesh_shards(&mesh_dir, &spec, &meshes, MAX_LOD, min_chunk)?;
    let info_path = mesh_dir.join("info");
    std::fs::write(&info_path, python_json(&mesh_info(resolution, &spec), 0))
        .map_err(|e| NeuroglancerError::io(&info_path, e))?;
    let layer = out_dir
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    write_json(
        &out_dir.join("provenance"),
        &provenance(&layer, min_chunk, &spec),
        2,
    )
}

/// igneous's `create_mesh_shard`: every label's multi-LOD mesh (fragments, then the manifest
/// the shard index points at) packed into the shard files of `spec` under `mesh_dir`. Labels
/// whose mesh is flat or empty are left out, as igneous leaves them out.
pub(crate) fn write_mesh_shards(
    mesh_dir: &Path,
    spec: &ShardingSpec,
    meshes: &[(u32, TriMesh)],
    num_lod: u32,
    min_chunk: [i64; 3],
) -> Result<(), NeuroglancerError> {
    let encoded: Vec<(u32, multilod::Manifest, Vec<u8>)> = meshes
        .par_iter()
        .filter_map(|(label, mesh)| {
            let (manifest, data) = multilod::process_mesh(mesh, num_lod, min_chunk)?;
            Some((*label, manifest, data))
        })
        .collect();
    write_encoded_shards(mesh_dir, spec, encoded)
}

/// Packs encoded multi-LOD meshes (label, manifest, fragment data) into the shard files of
/// `spec` under `mesh_dir`: each label's fragments, then the manifest the index points at.
pub(crate) fn write_encoded_shards(
    mesh_dir: &Path,
    spec: &ShardingSpec,
    encoded: Vec<(u32, multilod::Manifest, Vec<u8>)>,
) -> Result<(), NeuroglancerError> {
    let entries: Vec<(u64, Vec<u8>, Option<usize>)> = encoded
        .into_iter()
        .map(|(label, manifest, mut data)| {
            let manifest = manifest.to_bytes();
            let tail = manifest.len();
            data.extend_from_slice(&manifest);
            (u64::from(label), data, Some(tail))
        })
        .collect();
    for (name, bytes) in spec.synthesize_indexed_tails(entries) {
        let path = mesh_dir.join(name);
        std::fs::write(&path, bytes).map_err(|e| NeuroglancerError::io(&path, e))?;
    }
    Ok(())
}

/// The sharding igneous picks for `labels` hashed labels (8 KiB shard index, 32 KiB minishard
/// indices, gzip indices, raw Draco data).
pub(crate) fn hashed_spec(labels: u64) -> ShardingSpec {
    let (shard_bits, minishard_bits, preshift_bits) =
        shard_params_for_hashed(labels, 1 << 13, 1 << 15, 1);
    ShardingSpec {
        preshift_bits,
        hash: ShardHash::Murmurhash3X86_128,
        minishard_bits,
        shard_bits,
        minishard_index_encoding: ShardEncoding::Gzip,
        data_encoding: ShardEncoding::Raw,
    }
}

/// Every label's LOD 0 surface in voxel units (voxel `v` spans `[v, v + 1]`), sorted by label:
/// per task (256³ voxels plus the one-voxel apron igneous reads), zmesh's marching cubes and
/// quadric simplification exactly as igneous calls them (`zmesh_simplify`), in physical units
/// (resolution `resolution`), moved by the task's offset and divided by the resolution as
/// igneous's `MeshTask` and `process_mesh` do (in double, rounded to single). A label spanning
/// several tasks gets their pieces concatenated in task order.
fn mesh_labels(
    volume: &MaskVolume,
    zarr_dir: &Path,
    resolution: u64,
) -> Result<Vec<(u32, TriMesh)>, NeuroglancerError> {
    let [sz, sy, sx] = volume.shape_zyx;
    let res = resolution as f32;
    let params = ZmeshParams {
        resolution: [res; 3],
        reduction_factor: SIMPLIFICATION_FACTOR,
        max_error: (MAX_SIMPLIFICATION_ERROR_VOXELS * resolution.max(1) as f64) as f32,
    };
    // Block lower corners per task along an axis: -1 (the closing border) for the first task,
    // then the task's first voxel; each block reaches one voxel past the task (zero past the
    // volume).
    let spans = |n: usize| -> Vec<(i64, i64)> {
        (0..n.div_ceil(TASK))
            .map(|t| {
                let start = if t == 0 { -1 } else { (t * TASK) as i64 };
                (start, ((t + 1) * TASK).min(n) as i64)
            })
            .collect()
    };
    let mut by_label: BTreeMap<u32, TriMesh> = BTreeMap::new();
    for &(z0, z1) in &spans(sz) {
        for &(y0, y1) in &spans(sy) {
            for &(x0, x1) in &spans(sx) {
                let lo = [x0, y0, z0];
                let hi = [x1, y1, z1];
                let data = read_padded(volume, zarr_dir, lo, hi)?;
                let dims = [0, 1, 2].map(|a| (hi[a] - lo[a] + 1) as usize);
                let offset = lo.map(|o| o as f64 * f64::from(res));
                for (label, mesh) in mesh_block(&data, dims, &params) {
                    let into = by_label.entry(label).or_default();
                    let base = into.vertices.len() as u32;
                    into.vertices.extend(mesh.vertices.iter().map(|v| {
                        [0, 1, 2].map(|a| {
                            let physical = (f64::from(v[a]) + offset[a]) as f32;
                            (f64::from(physical) / f64::from(res)) as f32
                        })
                    }));
                    into.faces
                        .extend(mesh.faces.iter().map(|f| f.map(|i| i + base)));
                }
            }
        }
    }
    Ok(by_label.into_iter().collect())
}

/// Voxels `lo ..= hi` (x, y, z; may reach one past the volume on either side, read as 0) as a
/// z, y, x buffer.
fn read_padded(
    volume: &MaskVolume,
    zarr_dir: &Path,
    lo: [i64; 3],
    hi: [i64; 3],
) -> Result<Vec<u32>, NeuroglancerError> {
    let [sz, sy, sx] = volume.shape_zyx;
    let size = [sx, sy, sz];
    let n = [0, 1, 2].map(|a| (hi[a] - lo[a] + 1) as usize);
    let clamp = |a: usize| lo[a].max(0) as usize..((hi[a] + 1).min(size[a] as i64)) as usize;
    let (rx, ry, rz) = (clamp(0), clamp(1), clamp(2));
    let mut out = vec![0u32; n[0] * n[1] * n[2]];
    if rx.is_empty() || ry.is_empty() || rz.is_empty() {
        return Ok(out);
    }
    let inner = volume.read(zarr_dir, [rz.clone(), ry.clone(), rx.clone()])?;
    let (ix, iy) = (rx.len(), ry.len());
    let (dx, dy, dz) = (
        (rx.start as i64 - lo[0]) as usize,
        (ry.start as i64 - lo[1]) as usize,
        (rz.start as i64 - lo[2]) as usize,
    );
    for z in 0..rz.len() {
        for y in 0..iy {
            let src = (z * iy + y) * ix;
            let dst = ((z + dz) * n[1] + y + dy) * n[0] + dx;
            out[dst..dst + ix].copy_from_slice(&inner[src..src + ix]);
        }
    }
    Ok(out)
}

/// `mesh/info` as igneous leaves it: the legacy-mesh fields of the meshing step, then the
/// multi-LOD fields and the sharding.
fn mesh_info(resolution: u64, spec: &ShardingSpec) -> Value {
    let r = resolution;
    let task = TASK as u64;
    json!({
        "@type": "neuroglancer_multilod_draco",
        "mip": 0,
        "chunk_size": [task, task, task],
        "spatial_index": {"resolution": [r, r, r], "chunk_size": [task * r, task * r, task * r]},
        "vertex_quantization_bits": VERTEX_QUANTIZATION_BITS,
        "transform": [r, 0, 0, 0, 0, r, 0, 0, 0, 0, r, 0],
        "lod_scale_multiplier": 1.0,
        "sharding": spec.to_json(),
    })
}

/// The `provenance` igneous commits (cloud-volume's layout: sorted keys, indent 2), with the
/// two fields that would make the output depend on the machine and the clock made constant:
/// `by` (the reference writes the operator's git e-mail) is `cryoet-ingest` and `date` is
/// empty; `layer_path` names the output directory without its parent.
fn provenance(layer: &str, min_chunk: [i64; 3], spec: &ShardingSpec) -> Value {
    let path = format!("precomputed://file://{layer}");
    let step = |method: Value| json!({"by": "cryoet-ingest", "date": "", "method": method});
    sorted(&json!({
        "description": "",
        "owners": [],
        "processing": [
            step(json!({
                "cdn_cache": false,
                "closed_dataset_edges": true,
                "compress": "gzip",
                "dry_run": false,
                "dust_global": false,
                "dust_threshold": null,
                "encoding": "precomputed",
                "fill_holes": 0,
                "fill_missing": false,
                "frag_path": null,
                "layer_path": path,
                "max_simplification_error": MAX_SIMPLIFICATION_ERROR_VOXELS as u64,
                "mesh_dir": MESH_DIR,
                "mip": 0,
                "object_ids": null,
                "shape": [TASK, TASK, TASK],
                "sharded": true,
                "simplification": true,
                "spatial_index": true,
                "task": "MeshTask",
            })),
            step(json!({
                "cloudpath": path,
                "draco_compression_level": 7,
                "frag_path": null,
                "mesh_dir": MESH_DIR,
                "min_chunk_size": min_chunk,
                "minishard_bits": spec.minishard_bits,
                "mip": 0,
                "num_lod": MAX_LOD,
                "preshift_bits": spec.preshift_bits,
                "shard_bits": spec.shard_bits,
                "task": "MultiResShardedMeshMergeTask",
                "vertex_quantization_bits": VERTEX_QUANTIZATION_BITS,
            })),
        ],
        "sources": [],
    }))
}

/// `value` with every object's keys sorted (Python's `sort_keys=True`).
fn sorted(value: &Value) -> Value {
    match value {
        Value::Object(map) => {
            let mut keys: Vec<&String> = map.keys().collect();
            keys.sort();
            let mut out = Map::new();
            for k in keys {
                out.insert(k.clone(), sorted(&map[k]));
            }
            Value::Object(out)
        }
        Value::Array(items) => Value::Array(items.iter().map(sorted).collect()),
        other => other.clone(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mesh_info_is_the_reference_text() {
        let text = python_json(&mesh_info(1, &hashed_spec(4)), 0);
        assert_eq!(
            text,
            "{\"@type\": \"neuroglancer_multilod_draco\", \"mip\": 0, \"chunk_size\": [256, 256, 256], \"spatial_index\": {\"resolution\": [1, 1, 1], \"chunk_size\": [256, 256, 256]}, \"vertex_quantization_bits\": 16, \"transform\": [1, 0, 0, 0, 0, 1, 0, 0, 0, 0, 1, 0], \"lod_scale_multiplier\": 1.0, \"sharding\": {\"@type\": \"neuroglancer_uint64_sharded_v1\", \"preshift_bits\": 0, \"hash\": \"murmurhash3_x86_128\", \"minishard_bits\": 0, \"shard_bits\": 0, \"minishard_index_encoding\": \"gzip\", \"data_encoding\": \"raw\"}}"
        );
    }

    #[test]
    fn provenance_keys_are_sorted() {
        let p = provenance("x", [64, 128, 16], &hashed_spec(3));
        let keys: Vec<&String> = p.as_object().unwrap().keys().collect();
        assert_eq!(keys, ["description", "owners", "processing", "sources"]);
        let m = &p["processing"][1]["method"];
        assert_eq!(m["min_chunk_size"], json!([64, 128, 16]));
        let mk: Vec<&String> = m.as_object().unwrap().keys().collect();
        let mut s = mk.clone();
        s.sort();
        assert_eq!(mk, s);
    }
}
