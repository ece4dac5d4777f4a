//! Neuroglancer precomputed outputs (spec §10): annotation directories, segmentations with
//! meshes, multi-resolution meshes, and the sharded container format they share.
//!
//! Each encoder writes a complete directory into a staging folder; publishing it is the
//! caller's job (targets publish atomically).

pub mod annotations;
pub mod compressed_segmentation;
pub mod contrast;
pub mod draco;
pub mod fqmr;
pub mod mesh;
pub mod multilod;
pub mod plane_slice;
pub mod segmentation;
mod segmentation_mesh;
pub mod sharding;
pub mod state;
pub mod trimesh;
pub mod zmesh_simplify;

/// Errors of the neuroglancer encoders, naming the file or directory concerned.
#[derive(Debug, thiserror::Error)]
pub enum NeuroglancerError {
    /// Reading or writing a file failed.
    #[error("{path}: {source}")]
    Io {
        /// The file or directory.
        path: std::path::PathBuf,
        /// The underlying error.
        source: std::io::Error,
    },
    /// An input cannot be encoded (corrupt or out of the format's range).
    #[error("{path}: {message}")]
    Invalid {
        /// The input file or directory.
        path: std::path::PathBuf,
        /// What is wrong with it.
        message: String,
    },
}

impl NeuroglancerError {
    /// An I/O error on `path`.
    pub fn io(path: impl Into<std::path::PathBuf>, source: std::io::Error) -> Self {
        Self::Io {
            path: path.into(),
            source,
        }
    }

    /// An input that cannot be encoded.
    pub fn invalid(path: impl Into<std::path::PathBuf>, message: impl Into<String>) -> Self {
        Self::Invalid {
            path: path.into(),
            message: message.into(),
        }
    }
}

/// The directory name of an annotation's precompute (spec §10.1):
/// `basename("{annotation output prefix}_{shape lower}")`, prefixed with `{annotation_id}-`
/// unless it already starts with digits before its first `-`.
pub fn precompute_dir_name(annotation_id: u32, annotation_prefix: &str, shape: &str) -> String {
    let name = format!("{annotation_prefix}_{}", shape.to_lowercase());
    let name = name.rsplit('/').next().unwrap_or(&name).to_string();
    let head = name.split('-').next().unwrap_or("");
    if !head.is_empty() && head.bytes().all(|b| b.is_ascii_digit()) {
        name
    } else {
        format!("{annotation_id}-{name}")
    }
}

#[cfg(test)]
mod tests {
    use super::precompute_dir_name;

    #[test]
    fn precompute_dir_names_follow_the_reference() {
        assert_eq!(
            precompute_dir_name(100, "ribosome-1.0", "Point"),
            "100-ribosome-1.0_point"
        );
        assert_eq!(
            precompute_dir_name(
                101,
                "VoxelSpacing13.480/Annotations/101/membrane-1.0",
                "SegmentationMask"
            ),
            "101-membrane-1.0_segmentationmask"
        );
        // Already numbered: kept as it is.
        assert_eq!(precompute_dir_name(7, "12-x-1", "Point"), "12-x-1_point");
    }
}
