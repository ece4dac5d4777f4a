//! Precomputed segmentations of mask annotations (spec §10.1): `info`, compressed_segmentation
//! `data/` chunks, sharded multi-resolution `mesh/` generated from the label volume,
//! `provenance`. Owned by the segmentation/mesh work (issue 9).
//!
//! The layout is the reference's `encode_segmentation(include_mesh=True)`: one data chunk per
//! zarr chunk of level 0, named `x0-x1_y0-y1_z0-z1`, block size 64³, an integer resolution
//! (`max(round(r), 1)` nm, as the reference meshes at), and the mesh pipeline of igneous
//! (see [`super::segmentation_mesh`]).

use super::compressed_segmentation::encode_chunk;
use super::NeuroglancerError;
use crate::formats::omezarr::{local_storage, OmeZarrSource};
use rayon::prelude::*;
use serde_json::{json, Value};
use std::path::Path;

/// The compressed block size (z, y, x) the reference encodes with.
pub const BLOCK_SIZE: [usize; 3] = [64, 64, 64];

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
    if !(resolution_nm.is_finite() && resolution_nm > 0.0) {
        return Err(NeuroglancerError::invalid(
            zarr_dir,
            format!("resolution {resolution_nm} nm is not a positive number"),
        ));
    }
    let volume = open_mask(zarr_dir)?;
    let resolution = integer_resolution(resolution_nm);
    let local_boxes = write_data_chunks(&volume, zarr_dir, out_dir)?;
    let mesh_shape = reference_nonzero_extent(&local_boxes);
    // dask's chunksize: the largest chunk, so a chunk wider than the volume is clipped.
    let chunk_zyx = [0, 1, 2].map(|a| volume.chunk_zyx[a].min(volume.shape_zyx[a]));
    let info = segmentation_info(
        volume.shape_zyx,
        chunk_zyx,
        resolution,
        Some(super::segmentation_mesh::MESH_DIR),
    );
    write_json(&out_dir.join("info"), &info, 4)?;
    super::segmentation_mesh::write_meshes(&volume, zarr_dir, out_dir, resolution, mesh_shape)?;
    Ok(())
}

/// A mask's level 0, opened for reading.
pub(crate) struct MaskVolume {
    pub source: OmeZarrSource,
    /// Level-0 shape, z, y, x.
    pub shape_zyx: [usize; 3],
    /// Level-0 chunk shape, z, y, x.
    pub chunk_zyx: [usize; 3],
}

impl MaskVolume {
    /// Reads region `zyx` as uint32 (the reference's `astype(np.uint32)`), naming the zarr on
    /// failure.
    pub fn read(
        &self,
        zarr_dir: &Path,
        zyx: [std::ops::Range<usize>; 3],
    ) -> Result<Vec<u32>, NeuroglancerError> {
        self.source
            .read_region_u32(zyx)
            .map_err(|e| NeuroglancerError::invalid(zarr_dir, e.to_string()))
    }
}

fn open_mask(zarr_dir: &Path) -> Result<MaskVolume, NeuroglancerError> {
    let name = zarr_dir.display().to_string();
    let invalid = |e: crate::formats::omezarr::OmeZarrError| {
        NeuroglancerError::invalid(zarr_dir, e.to_string())
    };
    let storage = local_storage(zarr_dir).map_err(invalid)?;
    let source = OmeZarrSource::open(storage, &name).map_err(invalid)?;
    let shape_zyx = source.shape_zyx;
    let chunk_zyx = source.chunk_shape_zyx().map_err(invalid)?;
    if shape_zyx.contains(&0) || chunk_zyx.contains(&0) {
        return Err(NeuroglancerError::invalid(
            zarr_dir,
            format!("level 0 has an empty shape {shape_zyx:?} or chunk {chunk_zyx:?}"),
        ));
    }
    Ok(MaskVolume {
        source,
        shape_zyx,
        chunk_zyx,
    })
}

/// `max(round(r), 1)` with Python's rounding (half to even), the resolution the reference
/// writes and meshes at.
pub fn integer_resolution(resolution_nm: f64) -> u64 {
    let r = resolution_nm.round_ties_even();
    if r < 1.0 {
        1
    } else {
        r as u64
    }
}

/// The start/end ranges of the zarr chunks along one axis.
fn chunk_ranges(len: usize, chunk: usize) -> Vec<std::ops::Range<usize>> {
    (0..len.div_ceil(chunk))
        .map(|i| i * chunk..((i + 1) * chunk).min(len))
        .collect()
}

/// The reference's chunk file name: `x0-x1_y0-y1_z0-z1`.
pub fn chunk_name(zyx: &[std::ops::Range<usize>; 3]) -> String {
    let [z, y, x] = zyx;
    format!(
        "{}-{}_{}-{}_{}-{}",
        x.start, x.end, y.start, y.end, z.start, z.end
    )
}

/// The non-zero voxels' extent of one chunk in chunk-local coordinates (z, y, x): min, max.
type LocalBox = Option<([usize; 3], [usize; 3])>;

/// Writes `data/` with one compressed_segmentation file per zarr chunk; returns each chunk's
/// local non-zero extent.
fn write_data_chunks(
    volume: &MaskVolume,
    zarr_dir: &Path,
    out_dir: &Path,
) -> Result<Vec<LocalBox>, NeuroglancerError> {
    let data_dir = out_dir.join("data");
    std::fs::create_dir_all(&data_dir).map_err(|e| NeuroglancerError::io(&data_dir, e))?;
    let [sz, sy, sx] = volume.shape_zyx;
    let [cz, cy, cx] = volume.chunk_zyx;
    let mut regions = Vec::new();
    for z in chunk_ranges(sz, cz) {
        for y in chunk_ranges(sy, cy) {
            for x in chunk_ranges(sx, cx) {
                regions.push([z.clone(), y.clone(), x]);
            }
        }
    }
    regions
        .into_par_iter()
        .map(|zyx| {
            let data = volume.read(zarr_dir, zyx.clone())?;
            let shape = [zyx[0].len(), zyx[1].len(), zyx[2].len()];
            let bytes = encode_chunk(&data, shape, BLOCK_SIZE);
            let path = data_dir.join(chunk_name(&zyx));
            std::fs::write(&path, bytes).map_err(|e| NeuroglancerError::io(&path, e))?;
            Ok(local_nonzero_box(&data, shape))
        })
        .collect()
}

fn local_nonzero_box(data: &[u32], [_, ny, nx]: [usize; 3]) -> LocalBox {
    let mut lo = [usize::MAX; 3];
    let mut hi = [0usize; 3];
    for (i, _) in data.iter().enumerate().filter(|(_, &v)| v != 0) {
        let p = [i / (ny * nx), (i / nx) % ny, i % nx];
        for a in 0..3 {
            lo[a] = lo[a].min(p[a]);
            hi[a] = hi[a].max(p[a]);
        }
    }
    (lo[0] != usize::MAX).then_some((lo, hi))
}

/// The reference's `determine_size_of_non_zero_bounding_box`, x, y, z: `max - min + 1` over
/// the chunks' non-zero voxels, taken in chunk-local coordinates as the reference does (its
/// min and max mix chunks, so this is not the true extent once data spans several chunks;
/// kept because it decides the LOD chunk size). 1 on each axis for an empty mask.
pub(crate) fn reference_nonzero_extent(boxes: &[LocalBox]) -> [i64; 3] {
    let mut lo = [i64::MAX; 3];
    let mut hi = [0i64; 3];
    for (l, h) in boxes.iter().flatten() {
        for a in 0..3 {
            lo[a] = lo[a].min(l[a] as i64);
            hi[a] = hi[a].max(h[a] as i64);
        }
    }
    if lo[0] == i64::MAX {
        lo = [0; 3];
    }
    [hi[2] - lo[2] + 1, hi[1] - lo[1] + 1, hi[0] - lo[0] + 1]
}

/// The top-level `info` of a segmentation (key order and values as the reference's
/// `_create_metadata`); `mesh_dir` adds the `mesh` key.
pub fn segmentation_info(
    shape_zyx: [usize; 3],
    chunk_zyx: [usize; 3],
    resolution: u64,
    mesh_dir: Option<&str>,
) -> Value {
    let rev = |a: [usize; 3]| json!([a[2], a[1], a[0]]);
    let mut info = json!({
        "@type": "neuroglancer_multiscale_volume",
        "data_type": "uint32",
        "num_channels": 1,
        "scales": [{
            "chunk_sizes": [rev(chunk_zyx)],
            "encoding": "compressed_segmentation",
            "compressed_segmentation_block_size": BLOCK_SIZE,
            "resolution": [resolution, resolution, resolution],
            "key": "data",
            "size": rev(shape_zyx),
        }],
        "type": "segmentation",
    });
    if let Some(dir) = mesh_dir {
        info["mesh"] = json!(dir);
    }
    info
}

/// Writes `value` as Python's `json.dump(value, f, indent=indent)` does (", "/": " separators,
/// key order kept, no trailing newline).
pub(crate) fn write_json(
    path: &Path,
    value: &Value,
    indent: usize,
) -> Result<(), NeuroglancerError> {
    std::fs::write(path, python_json(value, indent)).map_err(|e| NeuroglancerError::io(path, e))
}

/// `json.dumps(value, indent=indent)` text (`indent = 0` for the one-line `json.dumps` form
/// with ", " and ": " separators).
pub(crate) fn python_json(value: &Value, indent: usize) -> String {
    crate::pycompat::json::Dumps {
        indent: (indent > 0).then_some(indent),
        sort_keys: false,
    }
    .render(value)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn resolution_rounds_like_python_and_is_at_least_one() {
        assert_eq!(integer_resolution(1.348), 1);
        assert_eq!(integer_resolution(0.4), 1);
        assert_eq!(integer_resolution(2.5), 2);
        assert_eq!(integer_resolution(3.5), 4);
        assert_eq!(integer_resolution(7.84), 8);
    }

    #[test]
    fn chunk_names_are_x_y_z_ranges() {
        assert_eq!(
            chunk_name(&[0..10, 256..300, 512..768]),
            "512-768_256-300_0-10"
        );
        assert_eq!(chunk_ranges(300, 256), vec![0..256, 256..300]);
    }

    #[test]
    fn info_matches_the_reference_text() {
        let info = segmentation_info([10, 300, 600], [10, 256, 256], 1, Some("mesh"));
        let text = python_json(&info, 4);
        let expected = "{\n    \"@type\": \"neuroglancer_multiscale_volume\",\n    \"data_type\": \"uint32\",\n    \"num_channels\": 1,\n    \"scales\": [\n        {\n            \"chunk_sizes\": [\n                [\n                    256,\n                    256,\n                    10\n                ]\n            ],\n            \"encoding\": \"compressed_segmentation\",\n            \"compressed_segmentation_block_size\": [\n                64,\n                64,\n                64\n            ],\n            \"resolution\": [\n                1,\n                1,\n                1\n            ],\n            \"key\": \"data\",\n            \"size\": [\n                600,\n                300,\n                10\n            ]\n        }\n    ],\n    \"type\": \"segmentation\",\n    \"mesh\": \"mesh\"\n}";
        assert_eq!(text, expected);
        assert_eq!(
            python_json(&json!({"a": [1, 2], "b": {"c": "d"}}), 0),
            "{\"a\": [1, 2], \"b\": {\"c\": \"d\"}}"
        );
    }
}
