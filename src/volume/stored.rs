//! Volume headers read straight from a [`Store`]: the `tomogram_header` finder and the
//! alignment's `volume_dimension` need only the header of a source, never its data.

use super::{read_header, VolumeHeader, VolumeSource};
use crate::formats::omezarr;
use crate::storage::Store;

/// Reads and validates the header of the MRC (1024 bytes) or OME-Zarr (`.zattrs` and the
/// level-0 `.zarray`) at `key`.
///
/// # Errors
/// A message naming the source: missing, truncated, inconsistent or unsupported headers.
pub fn header_in_store(store: &Store, key: &str, is_dir: bool) -> Result<VolumeHeader, String> {
    let name = store.describe(key);
    if is_dir || key.contains(".zarr") {
        let root = store
            .local_root()
            .ok_or_else(|| format!("{name}: OME-Zarr sources are read from local folders only"))?;
        let storage = omezarr::local_storage(&root.join(key)).map_err(|e| e.to_string())?;
        read_header(&VolumeSource::OmeZarr(storage), &name).map_err(|e| e.to_string())
    } else {
        let object = store
            .open_ranged_unchecked(key)
            .map_err(|e| e.to_string())?;
        read_header(&VolumeSource::Mrc(&object), &name).map_err(|e| e.to_string())
    }
}
