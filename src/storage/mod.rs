//! One storage layer for sources and outputs.
//!
//! Entity code sees only [`Store`]: list a glob with fingerprints (key, ETag, size), read an object
//! while checking that it still has the fingerprint the plan saw, and publish outputs atomically.
//!
//! Local folders are the backend built now (`s3://` URLs are refused with a clear error until the
//! S3 backend lands). On a local folder there is no real ETag: object_store derives one from inode,
//! mtime and size, so a touched or copied but unchanged tree would look changed. We fingerprint
//! local files by content instead — `b3:<BLAKE3 of the bytes>` — and remember the hash per
//! `(path, size, mtime, inode)` in a [`StatCache`], so an unchanged file is hashed once and a
//! nightly re-run costs one `stat` per file. See `cache-format/SPEC.md`, "Local fingerprints".

mod glob;
pub mod http;
mod local;
mod stat_cache;

pub use glob::{GlobError, GlobPattern};
pub use local::LocalStore;
pub use stat_cache::StatCache;

use std::path::{Path, PathBuf};

/// What a listing says about one object: enough to decide "changed or not" without reading it.
#[derive(
    Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize, serde::Deserialize,
)]
pub struct ObjectInfo {
    /// Key relative to the store root, `/`-separated.
    pub key: String,
    /// Change detector: an S3 ETag, or `b3:<hex>` for local files.
    pub etag: String,
    /// Size in bytes.
    pub size: u64,
}

/// Errors of the storage layer; every variant names the object it is about.
#[derive(Debug, thiserror::Error)]
pub enum StorageError {
    /// The object or folder does not exist.
    #[error("{location}: not found")]
    NotFound {
        /// Full location (folder path or URL) of the object.
        location: String,
    },
    /// The object changed between the listing that planned a target and the read that builds it.
    #[error("{location}: changed since it was listed (expected {expected}, found {found}); re-run the build")]
    Changed {
        /// Full location of the object.
        location: String,
        /// Fingerprint seen by the plan.
        expected: String,
        /// Fingerprint found at read time.
        found: String,
    },
    /// An I/O error on a named object.
    #[error("{location}: {source}")]
    Io {
        /// Full location of the object.
        location: String,
        /// The underlying error.
        source: std::io::Error,
    },
    /// A URL or backend that this build cannot use.
    #[error("{0}")]
    Unsupported(String),
    /// The fingerprint cache failed.
    #[error("fingerprint cache: {0}")]
    StatCache(#[from] sled::Error),
}

/// Result alias of the storage layer.
pub type Result<T> = std::result::Result<T, StorageError>;

/// A storage root: a local folder (or, later, an `s3://bucket/prefix`).
#[derive(Clone)]
pub enum Store {
    /// A folder on the local disk.
    Local(LocalStore),
}

impl Store {
    /// Opens a location given on the command line. Sources get content fingerprints through
    /// `stat_cache`; outputs need none.
    ///
    /// # Errors
    /// `s3://` URLs (not built yet) and missing folders when `must_exist` is set.
    pub fn open(location: &str, stat_cache: Option<StatCache>, must_exist: bool) -> Result<Store> {
        if location.starts_with("s3://") {
            return Err(StorageError::Unsupported(format!(
                "{location}: S3 locations are not supported yet; use a local folder"
            )));
        }
        let root = PathBuf::from(location);
        if must_exist && !root.is_dir() {
            return Err(StorageError::NotFound {
                location: format!("{location} (folder)"),
            });
        }
        Ok(Store::Local(LocalStore::new(root, stat_cache)))
    }

    /// A printable location of `key` for messages.
    pub fn describe(&self, key: &str) -> String {
        match self {
            Store::Local(s) => s.path_of(key).display().to_string(),
        }
    }

    /// A printable identity of the store root, stable across runs (used to pick the default cache).
    pub fn root_identity(&self) -> String {
        match self {
            Store::Local(s) => s.root_identity(),
        }
    }

    /// Objects and folders matching a glob (relative to the root), sorted by key. Folders are
    /// returned with an empty ETag and size 0; use [`Store::list_files`] to fingerprint them.
    ///
    /// # Errors
    /// I/O errors while walking.
    pub fn glob(&self, pattern: &GlobPattern) -> Result<Vec<Match>> {
        match self {
            Store::Local(s) => s.glob(pattern),
        }
    }

    /// Every file under `prefix` (a file key or a folder key), with fingerprints, sorted.
    ///
    /// # Errors
    /// I/O errors.
    pub fn list_files(&self, prefix: &str) -> Result<Vec<ObjectInfo>> {
        match self {
            Store::Local(s) => s.list_files(prefix),
        }
    }

    /// The fingerprint of one file, or `None` when it does not exist.
    ///
    /// # Errors
    /// I/O errors other than not-found.
    pub fn head(&self, key: &str) -> Result<Option<ObjectInfo>> {
        match self {
            Store::Local(s) => s.head(key),
        }
    }

    /// Reads a whole object, failing when its fingerprint is no longer `expected`'s.
    ///
    /// # Errors
    /// [`StorageError::Changed`] when the object changed since it was listed; I/O errors.
    pub fn read_checked(&self, expected: &ObjectInfo) -> Result<Vec<u8>> {
        match self {
            Store::Local(s) => s.read_checked(expected),
        }
    }

    /// Reads a whole object with no fingerprint check (destination state such as metadata JSONs).
    ///
    /// # Errors
    /// I/O errors, [`StorageError::NotFound`].
    pub fn read(&self, key: &str) -> Result<Vec<u8>> {
        match self {
            Store::Local(s) => s.read(key),
        }
    }

    /// Copies a source object into a staged output file while hashing it, failing when its
    /// fingerprint is no longer `expected`'s. Returns the BLAKE3 hex of the bytes copied.
    ///
    /// # Errors
    /// [`StorageError::Changed`], I/O errors.
    pub fn copy_checked(&self, expected: &ObjectInfo, to: &Path) -> Result<String> {
        match self {
            Store::Local(s) => s.copy_checked(expected, to),
        }
    }

    /// Opens a source for ranged reads (volumes), failing when its fingerprint is no longer
    /// `expected`'s. On a local disk the check is the memoised stat stamp, so a large unchanged
    /// volume is not read twice.
    ///
    /// # Errors
    /// [`StorageError::Changed`], I/O errors.
    pub fn open_ranged(&self, expected: &ObjectInfo) -> Result<RangedObject> {
        match self {
            Store::Local(s) => s.open_ranged(Some(expected), &expected.key),
        }
    }

    /// Opens an object for ranged reads with no fingerprint check (header reads while
    /// discovering, before anything is keyed).
    ///
    /// # Errors
    /// I/O errors, [`StorageError::NotFound`].
    pub fn open_ranged_unchecked(&self, key: &str) -> Result<RangedObject> {
        match self {
            Store::Local(s) => s.open_ranged(None, key),
        }
    }

    /// Whether a file or folder exists at `key`.
    pub fn exists(&self, key: &str) -> bool {
        match self {
            Store::Local(s) => s.path_of(key).exists(),
        }
    }

    /// Starts a staging area for one target's outputs. Nothing is visible at the output paths
    /// until [`Staging::publish`].
    ///
    /// # Errors
    /// I/O errors creating the staging folder.
    pub fn staging(&self) -> Result<Staging> {
        match self {
            Store::Local(s) => s.staging(),
        }
    }

    /// Removes the staging folder when no target is using it any more, so that a finished build
    /// leaves nothing of its own in OUTPUT.
    pub fn remove_idle_staging(&self) {
        match self {
            Store::Local(s) => {
                // Fails (and is left) while another build still stages outputs there.
                let _ = std::fs::remove_dir(s.root().join(local::STAGING_DIR));
            }
        }
    }

    /// Local path of the store root, when it is a folder.
    pub fn local_root(&self) -> Option<&Path> {
        match self {
            Store::Local(s) => Some(s.root()),
        }
    }
}

/// An object opened for ranged reads; a [`ByteSource`](crate::formats::mrc::ByteSource).
pub enum RangedObject {
    /// A local file.
    Local(std::fs::File),
}

impl crate::formats::mrc::ByteSource for RangedObject {
    fn len(&self) -> u64 {
        match self {
            RangedObject::Local(f) => f.len(),
        }
    }

    fn read_at(&self, offset: u64, buf: &mut [u8]) -> std::io::Result<()> {
        match self {
            RangedObject::Local(f) => f.read_at(offset, buf),
        }
    }
}

/// One glob match: a file (with fingerprint) or a folder.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Match {
    /// Key relative to the store root.
    pub key: String,
    /// Whether the match is a folder.
    pub is_dir: bool,
}

/// A private folder where a target writes its outputs before publishing them together.
///
/// Dropping a `Staging` without publishing removes it, so a failed target leaves nothing behind.
pub struct Staging {
    dir: tempfile::TempDir,
    target_root: PathBuf,
    entries: Vec<String>,
}

impl Staging {
    /// Local path where output `key` (relative to the output root) is to be written; parent
    /// folders are created. The key is remembered for [`Staging::publish`].
    ///
    /// # Errors
    /// I/O errors creating folders.
    pub fn path_for(&mut self, key: &str) -> Result<PathBuf> {
        let path = self.dir.path().join(key);
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent).map_err(|source| StorageError::Io {
                location: parent.display().to_string(),
                source,
            })?;
        }
        if !self.entries.iter().any(|e| e == key) {
            self.entries.push(key.to_string());
        }
        Ok(path)
    }

    /// A fresh scratch folder inside the staging area, published only through
    /// [`Staging::adopt`]: for writers that decide after writing whether to keep the result.
    ///
    /// # Errors
    /// I/O errors creating the folder.
    pub fn scratch(&mut self) -> Result<PathBuf> {
        let base = self.dir.path().join(".scratch");
        std::fs::create_dir_all(&base).map_err(|source| StorageError::Io {
            location: base.display().to_string(),
            source,
        })?;
        tempfile::Builder::new()
            .tempdir_in(&base)
            .map(tempfile::TempDir::keep)
            .map_err(|source| StorageError::Io {
                location: base.display().to_string(),
                source,
            })
    }

    /// Moves a file or folder written in a [`Staging::scratch`] folder to output `key`.
    ///
    /// # Errors
    /// I/O errors.
    pub fn adopt(&mut self, from: &Path, key: &str) -> Result<()> {
        let to = self.path_for(key)?;
        std::fs::rename(from, &to).map_err(|source| StorageError::Io {
            location: to.display().to_string(),
            source,
        })
    }

    /// Writes one whole output file into the staging area.
    ///
    /// # Errors
    /// I/O errors.
    pub fn write(&mut self, key: &str, bytes: &[u8]) -> Result<()> {
        let path = self.path_for(key)?;
        std::fs::write(&path, bytes).map_err(|source| StorageError::Io {
            location: path.display().to_string(),
            source,
        })
    }

    /// Moves every staged output into place (a rename each on a local disk: readers see the old
    /// or the new file, never a half-written one), then removes the staging folder.
    ///
    /// # Errors
    /// I/O errors; outputs already moved stay in place (each of them complete).
    pub fn publish(self) -> Result<()> {
        for key in &self.entries {
            let from = self.dir.path().join(key);
            let to = self.target_root.join(key);
            local::replace_path(&from, &to, self.dir.path())?;
        }
        Ok(())
    }
}
