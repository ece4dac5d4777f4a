//! Voxel size from a volume's header alone, for the `tomogram_header` finder (spec §4.1, §6.1):
//! MRC `cella.y / my` from the first 1024 bytes, or the first scale of an OME-Zarr's `.zattrs`.

use crate::storage::Store;

/// Reads the voxel size of the MRC or OME-Zarr at `key`, rounded to 3 decimals.
///
/// # Errors
/// A message naming the file when the header is short, unreadable or has no usable size.
pub fn voxel_size(store: &Store, key: &str, is_dir: bool) -> Result<f64, String> {
    let header = crate::volume::header_in_store(store, key, is_dir)?;
    Ok(crate::volume::round3(header.voxel_size))
}
