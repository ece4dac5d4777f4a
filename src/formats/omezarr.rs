//! OME-NGFF 0.4 multiscale images on Zarr v2: metadata documents, chunk encoding, and a reader
//! for OME-Zarr sources.
//!
//! Why the writer is split into pure pieces (JSON text, chunk keys, Blosc encoding) instead of
//! going through a zarr store: the volume pipeline encodes chunks on many threads straight from
//! its own chunk-shaped buffers and hashes each file as it writes it (digests drive the build's
//! early cutoff), which a store abstraction would hide. The layout follows what zarr-python 2.18
//! and ome-zarr 0.9 produce (spec §6.3): sorted keys, 4-space indents, "/" chunk separator.
//! Reading sources goes through zarrs, which handles any chunking and codec of the source.

use serde_json::{json, Map, Value};
use std::sync::Arc;
use zarrs::array::codec::{
    blosc_compress_bytes, BloscCompressionLevel, BloscCompressor, BloscShuffleMode,
};
use zarrs::array::{data_type, Array, ArraySubset};
use zarrs::storage::{ReadableStorage, ReadableStorageTraits, StoreKey};

/// Errors writing or reading OME-Zarr; each names the store.
// Each variant's `#[error]` message documents it; `name` is the store's display name.
#[allow(missing_docs)]
#[derive(Debug, thiserror::Error)]
pub enum OmeZarrError {
    #[error("{name}: blosc compression failed: {message}")]
    Compress { name: String, message: String },
    #[error("{name}: not an OME-Zarr image: {message}")]
    Metadata { name: String, message: String },
    #[error("{name}: unsupported OME-Zarr source data type {dtype}")]
    UnsupportedDataType { name: String, dtype: String },
    #[error("{name}: invalid voxel size {value} in the first scale transform")]
    BadVoxelSize { name: String, value: f64 },
    #[error("{name}: zarr read error: {message}")]
    Read { name: String, message: String },
}

/// Output data types (spec §6.3).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ZarrDtype {
    /// `<f4`: tomograms, tilt series.
    F4,
    /// `|i1`: semantic masks.
    I1,
    /// `<u2`: instance masks.
    U2,
}

impl ZarrDtype {
    /// numpy type string for `.zarray`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::F4 => "<f4",
            Self::I1 => "|i1",
            Self::U2 => "<u2",
        }
    }
    /// Bytes per element (Blosc typesize for shuffling).
    pub fn size(self) -> usize {
        match self {
            Self::F4 => 4,
            Self::I1 => 1,
            Self::U2 => 2,
        }
    }
}

/// `.zarray` text for one pyramid level: Blosc lz4/5/shuffle, fill 0, C order, "/" separator.
/// The fill value is spelled as zarr-python writes the default: `0.0` for floats, `0` for ints.
pub fn zarray_json(shape: [usize; 3], chunks: [usize; 3], dtype: ZarrDtype) -> String {
    let fill_value = match dtype {
        ZarrDtype::F4 => json!(0.0),
        ZarrDtype::I1 | ZarrDtype::U2 => json!(0),
    };
    let v = json!({
        "chunks": chunks,
        "compressor": {
            "blocksize": 0,
            "clevel": 5,
            "cname": "lz4",
            "id": "blosc",
            "shuffle": 1
        },
        "dimension_separator": "/",
        "dtype": dtype.as_str(),
        "fill_value": fill_value,
        "filters": null,
        "order": "C",
        "shape": shape,
        "zarr_format": 2
    });
    pretty(&v)
}

/// Root `.zgroup` text.
pub fn zgroup_json() -> String {
    pretty(&json!({ "zarr_format": 2 }))
}

/// Root `.zattrs` text: one NGFF 0.4 multiscales entry with a scale transform per level
/// (`scales[i]` in z, y, x order, Å). With `labels`, adds the NGFF `image-label` block (one
/// colour entry per label value, in the given order) under `multiscales[0].metadata`, where
/// ome-zarr's `write_multiscales_metadata` puts the `metadata` the reference passes it.
pub fn multiscales_zattrs(scales: &[[f64; 3]], labels: Option<&[u64]>) -> String {
    let axes: Vec<Value> = ["z", "y", "x"]
        .iter()
        .map(|n| json!({"name": n, "type": "space", "unit": "angstrom"}))
        .collect();
    let datasets: Vec<Value> = scales
        .iter()
        .enumerate()
        .map(|(i, s)| {
            json!({
                "coordinateTransformations": [{"scale": s, "type": "scale"}],
                "path": i.to_string()
            })
        })
        .collect();
    let mut metadata = Map::new();
    if let Some(labels) = labels {
        let colors: Vec<Value> = labels.iter().map(|l| json!({"label-value": l})).collect();
        metadata.insert(
            "image-label".into(),
            json!({"colors": colors, "version": "0.4"}),
        );
    }
    pretty(&json!({
        "multiscales": [{
            "axes": axes,
            "datasets": datasets,
            "metadata": metadata,
            "name": "/",
            "version": "0.4"
        }]
    }))
}

/// JSON with 4-space indentation, like zarr-python's `json_dumps`.
fn pretty(v: &Value) -> String {
    use serde::Serialize;
    let mut out = Vec::new();
    let fmt = serde_json::ser::PrettyFormatter::with_indent(b"    ");
    let mut ser = serde_json::Serializer::with_formatter(&mut out, fmt);
    v.serialize(&mut ser).expect("JSON values serialize");
    String::from_utf8(out).expect("serde_json writes UTF-8")
}

/// Store key of a chunk with the "/" separator: `level/cz/cy/cx`.
pub fn chunk_key(level: usize, idx: [usize; 3]) -> String {
    format!("{level}/{}/{}/{}", idx[0], idx[1], idx[2])
}

/// Blosc-compresses one chunk (lz4, clevel 5, byte shuffle, automatic block size), as numcodecs
/// does for `Blosc(cname="lz4", clevel=5, shuffle=1)`. `threads` > 1 lets blosc split one large
/// chunk across cores (used when there are fewer chunks than cores).
pub fn encode_chunk(
    raw: &[u8],
    dtype: ZarrDtype,
    threads: usize,
    name: &str,
) -> Result<Vec<u8>, OmeZarrError> {
    let level = BloscCompressionLevel::try_from(5u8).expect("5 is a valid blosc level");
    blosc_compress_bytes(
        raw,
        level,
        BloscShuffleMode::Shuffle,
        dtype.size(),
        BloscCompressor::LZ4,
        0,
        threads.max(1),
    )
    .map_err(|e| OmeZarrError::Compress {
        name: name.to_string(),
        message: e.to_string(),
    })
}

/// An OME-Zarr image opened for reading level 0 (spec §6.1: voxel size from the first scale
/// transform's y entry; rms and dmean are not computed).
pub struct OmeZarrSource {
    name: String,
    array: Array<dyn ReadableStorageTraits>,
    /// Level-0 shape, z, y, x.
    pub shape_zyx: [usize; 3],
    /// `multiscales[0].datasets[0].coordinateTransformations[0].scale[1]`.
    pub voxel_size: f64,
}

impl std::fmt::Debug for OmeZarrSource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OmeZarrSource")
            .field("name", &self.name)
            .field("shape_zyx", &self.shape_zyx)
            .field("voxel_size", &self.voxel_size)
            .finish()
    }
}

/// Opens a local OME-Zarr directory as a storage for [`OmeZarrSource::open`].
pub fn local_storage(path: &std::path::Path) -> Result<ReadableStorage, OmeZarrError> {
    let store = zarrs::filesystem::FilesystemStore::new(path).map_err(|e| OmeZarrError::Read {
        name: path.display().to_string(),
        message: e.to_string(),
    })?;
    Ok(Arc::new(store))
}

/// Reads `$subset` of `$array` as `Vec<$to>`: directly when the stored type is `$to`
/// (`$to_type`), otherwise element by element with `as $to` (numpy's `astype`: integers wrap,
/// floats truncate toward zero). Evaluates to a `Result` with read errors mapped by `$err`.
macro_rules! retrieve_as {
    ($array:expr, $subset:expr, $err:expr, $to:ty, $to_type:expr) => {{
        let dt = $array.data_type();
        macro_rules! get {
            ($t:ty) => {
                $array
                    .retrieve_array_subset::<Vec<$t>>($subset)
                    .map_err($err)
                    .map(|v| v.into_iter().map(|v| v as $to).collect())
            };
        }
        if *dt == $to_type {
            $array
                .retrieve_array_subset::<Vec<$to>>($subset)
                .map_err($err)
        } else if *dt == data_type::int8() {
            get!(i8)
        } else if *dt == data_type::uint8() {
            get!(u8)
        } else if *dt == data_type::int16() {
            get!(i16)
        } else if *dt == data_type::uint16() {
            get!(u16)
        } else if *dt == data_type::int32() {
            get!(i32)
        } else if *dt == data_type::uint32() {
            get!(u32)
        } else if *dt == data_type::float32() {
            get!(f32)
        } else {
            get!(f64)
        }
    }};
}

impl OmeZarrSource {
    /// Reads the root attributes (Zarr v2 `.zattrs`, or v3 `zarr.json` with an `ome` block) and
    /// opens the first dataset.
    pub fn open(storage: ReadableStorage, name: &str) -> Result<Self, OmeZarrError> {
        let meta_err = |message: String| OmeZarrError::Metadata {
            name: name.to_string(),
            message,
        };
        let read_json = |key: &str| -> Result<Option<Value>, OmeZarrError> {
            let key = StoreKey::new(key).map_err(|e| meta_err(e.to_string()))?;
            match storage.get(&key).map_err(|e| OmeZarrError::Read {
                name: name.to_string(),
                message: e.to_string(),
            })? {
                None => Ok(None),
                Some(b) => serde_json::from_slice(&b)
                    .map(Some)
                    .map_err(|e| meta_err(format!("{key}: {e}"))),
            }
        };
        let attrs = match read_json(".zattrs")? {
            Some(a) => a,
            None => match read_json("zarr.json")? {
                Some(v3) => {
                    let a = v3.get("attributes").cloned().unwrap_or(Value::Null);
                    a.get("ome").cloned().unwrap_or(a)
                }
                None => return Err(meta_err("no .zattrs or zarr.json at the root".into())),
            },
        };
        let ds0 = attrs
            .pointer("/multiscales/0/datasets/0")
            .ok_or_else(|| meta_err("no multiscales[0].datasets[0]".into()))?;
        let path = ds0
            .get("path")
            .and_then(Value::as_str)
            .ok_or_else(|| meta_err("datasets[0] has no path".into()))?;
        let voxel_size = ds0
            .pointer("/coordinateTransformations/0/scale/1")
            .and_then(Value::as_f64)
            .ok_or_else(|| meta_err("datasets[0] has no scale transform".into()))?;
        if !(voxel_size.is_finite() && voxel_size > 0.0) {
            return Err(OmeZarrError::BadVoxelSize {
                name: name.to_string(),
                value: voxel_size,
            });
        }
        let array =
            Array::open(storage.clone(), &format!("/{}", path.trim_matches('/'))).map_err(|e| {
                OmeZarrError::Read {
                    name: name.to_string(),
                    message: e.to_string(),
                }
            })?;
        let shape = array.shape();
        if shape.len() != 3 {
            return Err(meta_err(format!(
                "level 0 has {} dimensions, expected 3 (z, y, x)",
                shape.len()
            )));
        }
        let shape_zyx = [shape[0] as usize, shape[1] as usize, shape[2] as usize];
        let this = Self {
            name: name.to_string(),
            array,
            shape_zyx,
            voxel_size,
        };
        this.check_dtype()?;
        Ok(this)
    }

    fn check_dtype(&self) -> Result<(), OmeZarrError> {
        let dt = self.array.data_type();
        let known = [
            data_type::int8(),
            data_type::uint8(),
            data_type::int16(),
            data_type::uint16(),
            data_type::int32(),
            data_type::uint32(),
            data_type::float32(),
            data_type::float64(),
        ];
        if known.iter().any(|k| k == dt) {
            Ok(())
        } else {
            Err(OmeZarrError::UnsupportedDataType {
                name: self.name.clone(),
                dtype: format!("{dt:?}"),
            })
        }
    }

    /// Level-0 region `z`, `y` (all of x) as float32, C order.
    pub fn read_region_f32(
        &self,
        z: std::ops::Range<usize>,
        y: std::ops::Range<usize>,
    ) -> Result<Vec<f32>, OmeZarrError> {
        let subset = ArraySubset::new_with_ranges(&[
            z.start as u64..z.end as u64,
            y.start as u64..y.end as u64,
            0..self.shape_zyx[2] as u64,
        ]);
        let err = |e: zarrs::array::ArrayError| OmeZarrError::Read {
            name: self.name.clone(),
            message: e.to_string(),
        };
        retrieve_as!(self.array, &subset, err, f32, data_type::float32())
    }

    /// The chunk shape of level 0, z, y, x (regular grids; the first chunk's otherwise).
    pub fn chunk_shape_zyx(&self) -> Result<[usize; 3], OmeZarrError> {
        let shape = self
            .array
            .chunk_grid()
            .chunk_shape_u64(&[0, 0, 0])
            .ok()
            .flatten()
            .filter(|s| s.len() == 3)
            .ok_or_else(|| OmeZarrError::Metadata {
                name: self.name.clone(),
                message: "level 0 has no regular 3-d chunk grid".into(),
            })?;
        Ok([shape[0] as usize, shape[1] as usize, shape[2] as usize])
    }

    /// Level-0 region `zyx` (ranges clamped by the caller to the shape) as uint32, C order:
    /// integers converted as numpy's `astype(np.uint32)` does (wrapping: int8 -1 becomes
    /// 4294967295), floats truncated toward zero. A corrupt or unreadable chunk is an error
    /// naming the store and the region.
    pub fn read_region_u32(
        &self,
        zyx: [std::ops::Range<usize>; 3],
    ) -> Result<Vec<u32>, OmeZarrError> {
        let subset = ArraySubset::new_with_ranges(&[
            zyx[0].start as u64..zyx[0].end as u64,
            zyx[1].start as u64..zyx[1].end as u64,
            zyx[2].start as u64..zyx[2].end as u64,
        ]);
        let err = |e: zarrs::array::ArrayError| OmeZarrError::Read {
            name: self.name.clone(),
            message: format!("region z {:?} y {:?} x {:?}: {e}", zyx[0], zyx[1], zyx[2]),
        };
        retrieve_as!(self.array, &subset, err, u32, data_type::uint32())
    }
}

/// Reads a whole float32 array of a zarr storage (e.g. a pyramid level `"2"`): its values in C
/// order and its shape, z, y, x. Other data types are an error (only tomogram levels are read).
pub fn read_level_f32(
    storage: ReadableStorage,
    path: &str,
    name: &str,
) -> Result<(Vec<f32>, [usize; 3]), OmeZarrError> {
    let read_err = |message: String| OmeZarrError::Read {
        name: format!("{name}/{path}"),
        message,
    };
    let array = Array::open(storage, &format!("/{}", path.trim_matches('/')))
        .map_err(|e| read_err(e.to_string()))?;
    let shape = array.shape().to_vec();
    let [z, y, x] = shape[..] else {
        return Err(OmeZarrError::Metadata {
            name: format!("{name}/{path}"),
            message: format!("{} dimensions, expected 3 (z, y, x)", shape.len()),
        });
    };
    if *array.data_type() != data_type::float32() {
        return Err(OmeZarrError::UnsupportedDataType {
            name: format!("{name}/{path}"),
            dtype: format!("{:?}", array.data_type()),
        });
    }
    let subset = ArraySubset::new_with_ranges(&[0..z, 0..y, 0..x]);
    let values = array
        .retrieve_array_subset::<Vec<f32>>(&subset)
        .map_err(|e| read_err(e.to_string()))?;
    Ok((values, [z as usize, y as usize, x as usize]))
}

#[cfg(test)]
mod tests {
    use super::*;
    use zarrs::array::codec::blosc_decompress_bytes;

    #[test]
    fn zarray_has_the_reference_fields() {
        let v: Value =
            serde_json::from_str(&zarray_json([10, 8, 6], [256, 256, 256], ZarrDtype::F4)).unwrap();
        assert_eq!(v["chunks"], json!([256, 256, 256]));
        assert_eq!(v["shape"], json!([10, 8, 6]));
        assert_eq!(v["dtype"], "<f4");
        assert_eq!(
            v["compressor"],
            json!({"blocksize": 0, "clevel": 5, "cname": "lz4", "id": "blosc", "shuffle": 1})
        );
        assert_eq!(v["fill_value"].as_f64(), Some(0.0));
        assert!(v["fill_value"].is_f64(), "float arrays fill with 0.0");
        assert_eq!(v["filters"], Value::Null);
        assert_eq!(v["order"], "C");
        assert_eq!(v["dimension_separator"], "/");
        assert_eq!(v["zarr_format"], 2);
        let keys: Vec<&String> = v.as_object().unwrap().keys().collect();
        let mut sorted = keys.clone();
        sorted.sort();
        assert_eq!(keys, sorted, "keys are sorted like zarr-python writes them");
        assert!(zarray_json([10, 8, 6], [256, 256, 256], ZarrDtype::F4)
            .contains("\n    \"fill_value\": 0.0,\n"));
        for int in [ZarrDtype::I1, ZarrDtype::U2] {
            let text = zarray_json([1, 1, 1], [1, 1024, 1024], int);
            assert!(text.contains(&format!("\"{}\"", int.as_str())), "{text}");
            assert!(text.contains("\n    \"fill_value\": 0,\n"), "{text}");
        }
    }

    #[test]
    fn zattrs_lists_every_level() {
        let scales = [[2.0, 2.0, 2.0], [4.0, 4.0, 4.0], [8.0, 8.0, 8.0]];
        let v: Value = serde_json::from_str(&multiscales_zattrs(&scales, None)).unwrap();
        let ms = &v["multiscales"][0];
        assert_eq!(ms["version"], "0.4");
        assert_eq!(ms["name"], "/");
        assert_eq!(ms["metadata"], json!({}));
        assert_eq!(
            ms["axes"][2],
            json!({"name": "x", "type": "space", "unit": "angstrom"})
        );
        assert_eq!(ms["datasets"].as_array().unwrap().len(), 3);
        assert_eq!(ms["datasets"][1]["path"], "1");
        assert_eq!(
            ms["datasets"][2]["coordinateTransformations"],
            json!([{"scale": [8.0, 8.0, 8.0], "type": "scale"}])
        );
        assert!(v.get("image-label").is_none());

        let v: Value = serde_json::from_str(&multiscales_zattrs(&scales, Some(&[1, 5]))).unwrap();
        assert!(v.get("image-label").is_none());
        assert_eq!(
            v["multiscales"][0]["metadata"]["image-label"],
            json!({"colors": [{"label-value": 1}, {"label-value": 5}], "version": "0.4"})
        );
    }

    #[test]
    fn chunks_round_trip_through_blosc() {
        let vals: Vec<f32> = (0..70_000).map(|i| (i % 97) as f32).collect();
        let raw: Vec<u8> = vals.iter().flat_map(|v| v.to_le_bytes()).collect();
        let enc = encode_chunk(&raw, ZarrDtype::F4, 1, "x").unwrap();
        assert!(enc.len() < raw.len());
        // Blosc header: version 2, typesize 4, shuffle flag set.
        assert_eq!(enc[3], 4);
        assert_eq!(enc[2] & 0x1, 0x1);
        assert_eq!(blosc_decompress_bytes(&enc, raw.len(), 1).unwrap(), raw);
        // Several blosc threads decode to the same data (their block order may differ, which is
        // why the volume writer uses one).
        let threaded = encode_chunk(&raw, ZarrDtype::F4, 2, "x").unwrap();
        assert_eq!(
            blosc_decompress_bytes(&threaded, raw.len(), 1).unwrap(),
            raw
        );
        assert_eq!(chunk_key(2, [0, 1, 3]), "2/0/1/3");
    }

    #[test]
    fn reads_a_written_v2_image_back() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().join("src.zarr");
        std::fs::create_dir_all(root.join("0/0/0")).unwrap();
        std::fs::write(root.join(".zgroup"), zgroup_json()).unwrap();
        std::fs::write(
            root.join(".zattrs"),
            multiscales_zattrs(&[[3.5, 3.5, 3.5]], None),
        )
        .unwrap();
        std::fs::write(
            root.join("0/.zarray"),
            zarray_json([2, 3, 4], [2, 4, 4], ZarrDtype::U2),
        )
        .unwrap();
        // One chunk (2,4,4), padded beyond y=3.
        let mut chunk = [0u16; 32];
        for z in 0..2 {
            for y in 0..3 {
                for x in 0..4 {
                    chunk[z * 16 + y * 4 + x] = (z * 100 + y * 10 + x) as u16;
                }
            }
        }
        let raw: Vec<u8> = chunk.iter().flat_map(|v| v.to_le_bytes()).collect();
        let enc = encode_chunk(&raw, ZarrDtype::U2, 1, "x").unwrap();
        std::fs::write(root.join("0/0/0/0"), enc).unwrap();

        let src = OmeZarrSource::open(local_storage(&root).unwrap(), "src.zarr").unwrap();
        assert_eq!(src.shape_zyx, [2, 3, 4]);
        assert_eq!(src.voxel_size, 3.5);
        let region = src.read_region_f32(1..2, 1..3).unwrap();
        assert_eq!(
            region,
            vec![110.0, 111.0, 112.0, 113.0, 120.0, 121.0, 122.0, 123.0]
        );

        let e = OmeZarrSource::open(local_storage(dir.path()).unwrap(), "empty").unwrap_err();
        assert!(e.to_string().starts_with("empty:"));
    }
}
