//! Voxel size from a volume's header alone, for the `tomogram_header` finder (spec §4.1, §6.1):
//! MRC `cella.y / my` from the first 1024 bytes, or the first scale of an OME-Zarr's `.zattrs`.

use crate::storage::Store;

/// Reads the voxel size of the MRC or OME-Zarr at `key`, rounded to 3 decimals.
///
/// # Errors
/// A message naming the file when the header is short, unreadable or has no usable size.
pub fn voxel_size(store: &Store, key: &str, is_dir: bool) -> Result<f64, String> {
    let name = store.describe(key);
    let raw = if is_dir || key.contains(".zarr") {
        let zattrs = format!("{}/.zattrs", key.trim_end_matches('/'));
        let bytes = store.read(&zattrs).map_err(|e| e.to_string())?;
        let v: serde_json::Value =
            serde_json::from_slice(&bytes).map_err(|e| format!("{name}/.zattrs: {e}"))?;
        v.pointer("/multiscales/0/datasets/0/coordinateTransformations/0/scale/1")
            .and_then(serde_json::Value::as_f64)
            .ok_or_else(|| format!("{name}/.zattrs: no multiscales scale"))?
    } else {
        let header = store.read_range(key, 0, 1024).map_err(|e| e.to_string())?;
        if header.len() < 1024 {
            return Err(format!(
                "{name}: MRC header truncated ({} of 1024 bytes)",
                header.len()
            ));
        }
        let i32_at = |o: usize| i32::from_le_bytes(header[o..o + 4].try_into().unwrap());
        let f32_at = |o: usize| f32::from_le_bytes(header[o..o + 4].try_into().unwrap());
        let my = i32_at(32);
        let cella_y = f32_at(44);
        if my <= 0 {
            return Err(format!("{name}: MRC header my = {my}, expected > 0"));
        }
        f64::from(cella_y) / f64::from(my)
    };
    if !(raw.is_finite() && raw > 0.0) {
        return Err(format!("{name}: voxel size {raw} is not a positive number"));
    }
    Ok((raw * 1000.0).round() / 1000.0)
}
