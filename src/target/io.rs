//! What a target's build step may do: read its sources (checked against the fingerprints the
//! plan saw), read its parents' published outputs, and stage outputs that the engine publishes
//! together once the step has succeeded.

use crate::config::TemplateError;
use crate::formats::mrc::MrcError;
use crate::formats::neuroglancer::contrast::ContrastError;
use crate::formats::neuroglancer::NeuroglancerError;
use crate::formats::omezarr::OmeZarrError;
use crate::formats::FormatError;
use crate::key_image::KeyImageError;
use crate::keys::{folder_digest, OutputEntry};
use crate::storage::{KeyError, ObjectInfo, Staging, StorageError, Store, StoreKey};
use crate::volume::VolumeError;
use serde_json::{Map, Value};

/// Why a build step failed; the engine prefixes the target id and kind. Each module's own
/// error is kept as it is (every one names the file and field), so a caller can tell a
/// storage failure from a malformed source without parsing text.
#[derive(Debug, thiserror::Error)]
pub enum BuildError {
    /// Reading a source or writing an output failed.
    #[error("{0}")]
    Storage(#[from] StorageError),
    /// A source file that does not parse as its format (mdoc, CTF, alignment, points, mesh,
    /// metadata rules).
    #[error("{0}")]
    Format(#[from] FormatError),
    /// An MRC that cannot be read.
    #[error("{0}")]
    Mrc(#[from] MrcError),
    /// An OME-Zarr that cannot be read.
    #[error("{0}")]
    OmeZarr(#[from] OmeZarrError),
    /// Standardizing a volume failed (its source, or writing its outputs).
    #[error("{0}")]
    Volume(#[from] VolumeError),
    /// A tomogram's key images cannot be made.
    #[error("{0}")]
    KeyImage(#[from] KeyImageError),
    /// Encoding a Neuroglancer precompute or state failed.
    #[error("{0}")]
    Neuroglancer(#[from] NeuroglancerError),
    /// The contrast limits of a Neuroglancer image layer cannot be computed.
    #[error("{0}")]
    Contrast(#[from] ContrastError),
    /// A config template that does not expand for this instance.
    #[error("{0}")]
    Template(#[from] TemplateError),
    /// What the kind itself checks: a source that is not what it expects, a missing input
    /// (names the file or field and what was expected).
    #[error("{0}")]
    Invalid(String),
    /// An output key or target id made from names that would not stay inside OUTPUT.
    #[error("{0}")]
    Key(#[from] KeyError),
}

impl BuildError {
    /// Which part failed, as the report names it.
    pub fn category(&self) -> &'static str {
        match self {
            BuildError::Storage(_) => "storage",
            BuildError::Format(_) => "format",
            BuildError::Mrc(_) => "mrc",
            BuildError::OmeZarr(_) => "ome_zarr",
            BuildError::Volume(_) => "volume",
            BuildError::KeyImage(_) => "key_image",
            BuildError::Neuroglancer(_) => "neuroglancer",
            BuildError::Contrast(_) => "contrast",
            BuildError::Template(_) => "template",
            BuildError::Invalid(_) => "invalid",
            BuildError::Key(_) => "key",
        }
    }
}

/// A build failure from any displayable error (a source that is not what its kind expects).
pub(crate) fn invalid(e: impl ToString) -> BuildError {
    BuildError::Invalid(e.to_string())
}

/// The build step's handle on storage; collects the digest of every output it stages.
pub struct BuildIo<'a> {
    /// INPUT.
    pub input: &'a Store,
    /// OUTPUT (read-only here: writes go through the staging methods).
    pub output: &'a Store,
    /// The sources the plan fingerprinted (the key's `sources`): the only INPUT objects a
    /// build step reads, looked up with [`BuildIo::source`].
    sources: &'a [ObjectInfo],
    staging: Staging,
    outputs: Vec<OutputEntry>,
    now: u64,
}

impl<'a> BuildIo<'a> {
    /// Starts a build step with a fresh staging area in OUTPUT.
    ///
    /// # Errors
    /// When the staging folder cannot be created.
    pub fn new(
        input: &'a Store,
        output: &'a Store,
        sources: &'a [ObjectInfo],
        now: u64,
    ) -> Result<BuildIo<'a>, BuildError> {
        Ok(BuildIo {
            input,
            output,
            sources,
            staging: output.staging()?,
            outputs: Vec::new(),
            now,
        })
    }

    /// The fingerprint of source `key` as the plan listed it.
    ///
    /// # Errors
    /// When the plan listed no such object (a folder where a file was expected).
    pub fn source(&self, key: &str) -> Result<&'a ObjectInfo, BuildError> {
        self.sources.iter().find(|o| o.key == key).ok_or_else(|| {
            BuildError::Invalid(format!(
                "{}: expected a file, found a folder or nothing",
                self.input.describe(key)
            ))
        })
    }

    /// Every source the plan listed under `prefix` (a folder source's files), in key order.
    pub fn sources_under(&self, prefix: &str) -> impl Iterator<Item = &'a ObjectInfo> + '_ {
        let folder = format!("{prefix}/");
        let prefix = prefix.to_string();
        self.sources
            .iter()
            .filter(move |o| o.key == prefix || o.key.starts_with(&folder))
    }

    /// Writes a metadata JSON the portal's way: the config metadata deep-merged with the
    /// extracted fields, `deposition_id` defaulted, then `last_updated_at`. The digest is taken
    /// before `last_updated_at` is added, so an unchanged document has an unchanged digest
    /// (early cutoff).
    ///
    /// # Errors
    /// Staging I/O errors.
    pub fn write_metadata(
        &mut self,
        key: &StoreKey,
        config_metadata: &Map<String, Value>,
        extracted: Value,
        deposition_name: &Value,
    ) -> Result<(), BuildError> {
        let doc = crate::metadata::merged_document(
            &Value::Object(config_metadata.clone()),
            &extracted,
            deposition_name,
        );
        let stable = crate::pycompat::json::render_json(&doc);
        let digest = blake3::hash(&stable).to_hex().to_string();
        let doc = crate::metadata::with_last_updated_at(&doc, self.now as i64);
        let bytes = crate::pycompat::json::render_json(&doc);
        self.staging.write(key, &bytes)?;
        self.outputs.push(OutputEntry {
            key: key.clone(),
            digest,
            size: bytes.len() as u64,
        });
        Ok(())
    }

    /// Writes an output file whose bytes are deterministic.
    ///
    /// # Errors
    /// Staging I/O errors.
    pub fn write_bytes(&mut self, key: &StoreKey, bytes: &[u8]) -> Result<(), BuildError> {
        self.staging.write(key, bytes)?;
        self.outputs.push(OutputEntry {
            key: key.clone(),
            digest: blake3::hash(bytes).to_hex().to_string(),
            size: bytes.len() as u64,
        });
        Ok(())
    }

    /// Copies a source object to an output key, verifying it is the object the plan listed.
    ///
    /// # Errors
    /// [`StorageError::Changed`] when the source changed since listing; I/O errors.
    pub fn copy_source(&mut self, source: &ObjectInfo, key: &StoreKey) -> Result<(), BuildError> {
        let path = self.staging.path_for(key)?;
        let digest = self.input.copy_checked(source, &path)?;
        self.outputs.push(OutputEntry {
            key: key.clone(),
            digest,
            size: source.size,
        });
        Ok(())
    }

    /// Copies an object of another store (a key photo in another bucket) to an output key,
    /// verifying it is the object the plan saw.
    ///
    /// # Errors
    /// [`StorageError::Changed`] when the object changed since it was seen; I/O errors.
    pub fn copy_from(
        &mut self,
        store: &Store,
        source: &ObjectInfo,
        key: &StoreKey,
    ) -> Result<(), BuildError> {
        let path = self.staging.path_for(key)?;
        let digest = store.copy_checked(source, &path)?;
        self.outputs.push(OutputEntry {
            key: key.clone(),
            digest,
            size: source.size,
        });
        Ok(())
    }

    /// Reads a source object, verifying it is the object the plan listed.
    ///
    /// # Errors
    /// [`StorageError::Changed`], I/O errors.
    pub fn read_source(&self, source: &ObjectInfo) -> Result<Vec<u8>, BuildError> {
        Ok(self.input.read_checked(source)?)
    }

    /// Reads a published output (a parent's) as text.
    ///
    /// # Errors
    /// I/O errors, [`StorageError::NotFound`].
    pub fn read_output_text(&self, key: &str) -> Result<String, BuildError> {
        Ok(String::from_utf8_lossy(&self.output.read(key)?).into_owned())
    }

    /// Reads a published output (a parent's) as JSON; a parse error names the object.
    ///
    /// # Errors
    /// I/O errors, [`StorageError::NotFound`], invalid JSON.
    pub fn read_output_json(&self, key: &str) -> Result<Value, BuildError> {
        serde_json::from_slice(&self.output.read(key)?)
            .map_err(|e| invalid(format!("{}: {e}", self.output.describe(key))))
    }

    /// A staged folder output (e.g. a `.zarr` written by the volume code): its local path.
    ///
    /// # Errors
    /// Staging I/O errors.
    pub fn stage_folder(&mut self, key: &StoreKey) -> Result<std::path::PathBuf, BuildError> {
        Ok(self.staging.path_for(key)?)
    }

    /// A scratch folder for outputs that may not be kept (see [`BuildIo::adopt`]).
    ///
    /// # Errors
    /// Staging I/O errors.
    pub fn scratch(&mut self) -> Result<std::path::PathBuf, BuildError> {
        Ok(self.staging.scratch()?)
    }

    /// Stages a file or folder from a scratch folder as output `key` (record it separately).
    ///
    /// # Errors
    /// Staging I/O errors.
    pub fn adopt(&mut self, from: &std::path::Path, key: &StoreKey) -> Result<(), BuildError> {
        Ok(self.staging.adopt(from, key)?)
    }

    /// Records a staged folder output with its per-file digests.
    pub fn record_folder(&mut self, key: &StoreKey, files: Vec<(String, String)>, size: u64) {
        self.outputs.push(OutputEntry {
            key: key.clone(),
            digest: folder_digest(files),
            size,
        });
    }

    /// Records a staged file output written by other code (e.g. the volume writer), with the
    /// digest it computed.
    pub fn record_file(&mut self, key: &StoreKey, digest: &str, size: u64) {
        self.outputs.push(OutputEntry {
            key: key.clone(),
            digest: digest.to_string(),
            size,
        });
    }

    /// Publishes every staged output and returns their digests.
    ///
    /// # Errors
    /// I/O errors while moving outputs into place.
    pub fn publish(self) -> Result<Vec<OutputEntry>, BuildError> {
        self.staging.publish()?;
        Ok(self.outputs)
    }
}
