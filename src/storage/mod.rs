//! One storage layer for sources and outputs.
//!
//! Entity code sees only [`Store`]: list a glob with fingerprints (key, ETag, size), read an object
//! while checking that it still has the fingerprint the plan saw, and publish outputs atomically.
//!
//! Two backends: local folders and `s3://bucket/prefix` (see [`s3`]). On a local folder there is
//! no real ETag: object_store derives one from inode,
//! mtime and size, so a touched or copied but unchanged tree would look changed. We fingerprint
//! local files by content instead — `b3:<BLAKE3 of the bytes>` — and remember the hash per
//! `(path, size, mtime, inode)` in a [`StatCache`], so an unchanged file is hashed once and a
//! nightly re-run costs one `stat` per file. See `cache-format/SPEC.md`, "Local fingerprints".

mod aws_profile;
mod byte_source;
mod glob;
pub mod http;
mod key;
mod local;
pub mod s3;
mod stat_cache;

pub use byte_source::ByteSource;
pub use glob::{GlobError, GlobPattern};
pub use key::{KeyError, StoreKey};
pub use local::LocalStore;
pub use s3::{S3Options, S3Store};
pub use stat_cache::StatCache;

/// Whether a key names a zarr metadata document (`.zattrs`, `.zgroup`, `.zarray`,
/// `.zmetadata`, `zarr.json`) rather than a chunk: uploads write these last, so a reader never
/// sees metadata whose chunks are missing.
pub fn is_zarr_metadata_key(key: &str) -> bool {
    let name = key.rsplit('/').next().unwrap_or(key);
    name.starts_with('.') || name == "zarr.json"
}

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
    /// A key that is not a valid [`StoreKey`] (a listing gave back a name that cannot be
    /// written or deleted safely).
    #[error("{0}")]
    Key(#[from] KeyError),
    /// The fingerprint cache failed.
    #[error("fingerprint cache: {0}")]
    StatCache(#[from] sled::Error),
}

/// Result alias of the storage layer.
pub type Result<T> = std::result::Result<T, StorageError>;

/// A storage root: a local folder or an `s3://bucket/prefix`.
#[derive(Clone)]
pub enum Store {
    /// A folder on the local disk.
    Local(LocalStore),
    /// An S3 bucket and prefix.
    S3(S3Store),
}

/// What a store is opened for.
pub enum Role {
    /// Sources: must exist; local files get content fingerprints through the stat cache; S3
    /// listings are taken once per run.
    Input(Option<StatCache>),
    /// Outputs: may not exist yet; never memoised (the build changes them).
    Output,
}

impl Store {
    /// Opens a location given on the command line. Sources get content fingerprints through
    /// `stat_cache`; outputs need none.
    ///
    /// # Errors
    /// Missing folders when `must_exist` is set; malformed `s3://` URLs.
    pub fn open(location: &str, stat_cache: Option<StatCache>, must_exist: bool) -> Result<Store> {
        let role = if must_exist {
            Role::Input(stat_cache)
        } else {
            Role::Output
        };
        Store::open_with(location, role, &S3Options::default())
    }

    /// Opens a location for a role, with explicit S3 options.
    ///
    /// # Errors
    /// A missing input folder or bucket; malformed `s3://` URLs.
    pub fn open_with(location: &str, role: Role, s3: &S3Options) -> Result<Store> {
        let must_exist = matches!(role, Role::Input(_));
        if s3::is_s3(location) {
            let store = S3Store::open(location, s3, must_exist)?;
            if must_exist && !store.exists("") {
                return Err(StorageError::NotFound {
                    location: format!("{location} (no object under this prefix)"),
                });
            }
            return Ok(Store::S3(store));
        }
        let stat_cache = match role {
            Role::Input(c) => c,
            Role::Output => None,
        };
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
            Store::S3(s) => s.describe(key),
        }
    }

    /// A printable identity of the store root, stable across runs (used to pick the default cache).
    pub fn root_identity(&self) -> String {
        match self {
            Store::Local(s) => s.root_identity(),
            Store::S3(s) => s.root_identity(),
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
            Store::S3(s) => s.glob(pattern),
        }
    }

    /// Every file under `prefix` (a file key or a folder key), with fingerprints, sorted.
    ///
    /// # Errors
    /// I/O errors.
    pub fn list_files(&self, prefix: &str) -> Result<Vec<ObjectInfo>> {
        match self {
            Store::Local(s) => s.list_files(prefix),
            Store::S3(s) => s.list_files(prefix),
        }
    }

    /// The fingerprint of one file, or `None` when it does not exist.
    ///
    /// # Errors
    /// I/O errors other than not-found.
    pub fn head(&self, key: &str) -> Result<Option<ObjectInfo>> {
        match self {
            Store::Local(s) => s.head(key),
            Store::S3(s) => s.head(key),
        }
    }

    /// Reads a whole object, failing when its fingerprint is no longer `expected`'s.
    ///
    /// # Errors
    /// [`StorageError::Changed`] when the object changed since it was listed; I/O errors.
    pub fn read_checked(&self, expected: &ObjectInfo) -> Result<Vec<u8>> {
        match self {
            Store::Local(s) => s.read_checked(expected),
            Store::S3(s) => s.read_checked(expected),
        }
    }

    /// Reads a small object as a listing or head described it; on S3 remembered per (key, ETag)
    /// on this machine once an object memo is attached ([`Store::attach_object_memo`]).
    ///
    /// # Errors
    /// I/O errors, [`StorageError::Changed`].
    pub fn read_listed(&self, info: &ObjectInfo) -> Result<Vec<u8>> {
        match self {
            Store::Local(s) => s.read(&info.key),
            Store::S3(s) => s.read_listed(info),
        }
    }

    /// Gives an S3 store a machine-local memo of small objects (a no-op on folders).
    pub fn attach_object_memo(&self, tree: Option<sled::Tree>) {
        if let (Store::S3(s), Some(tree)) = (self, tree) {
            s.attach_object_memo(tree);
        }
    }

    /// Reads a whole object with no fingerprint check (destination state such as metadata JSONs).
    ///
    /// # Errors
    /// I/O errors, [`StorageError::NotFound`].
    pub fn read(&self, key: &str) -> Result<Vec<u8>> {
        match self {
            Store::Local(s) => s.read(key),
            Store::S3(s) => s.read(key),
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
            Store::S3(s) => s.copy_checked(expected, to),
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
            Store::S3(s) => s
                .open_ranged(Some(expected), &expected.key)
                .map(RangedObject::S3),
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
            Store::S3(s) => s.open_ranged(None, key).map(RangedObject::S3),
        }
    }

    /// Ends the planning phase: listings of an output root are no longer memoised, since the
    /// build is about to change it.
    pub fn end_discovery(&self) {
        if let Store::S3(s) = self {
            s.end_discovery();
        }
    }

    /// Whether the recorded output `key` is still there, for fresh-or-stale decisions. On S3 it
    /// is answered from one listing per top-level folder, so fresh targets cost no request.
    pub fn output_present(&self, key: &str) -> bool {
        match self {
            Store::Local(s) => s.path_of(key).exists(),
            Store::S3(s) => s.snapshot_exists(key),
        }
    }

    /// Whether a file or folder exists at `key`.
    pub fn exists(&self, key: &str) -> bool {
        match self {
            Store::Local(s) => s.path_of(key).exists(),
            Store::S3(s) => s.exists(key),
        }
    }

    /// Deletes the folder `key` and everything under it; returns how many files it held. On
    /// S3 the objects listed under exactly `key/` are deleted one by one, by their literal keys
    /// (so `123` never touches `1234`).
    ///
    /// # Errors
    /// I/O and request errors, naming the folder.
    pub fn remove_folder(&self, key: &StoreKey) -> Result<usize> {
        let key = key.as_str();
        match self {
            Store::Local(s) => {
                let path = s.path_of(key);
                let count = walkdir_count(&path);
                match std::fs::remove_dir_all(&path) {
                    Ok(()) => Ok(count),
                    Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(0),
                    Err(source) => Err(StorageError::Io {
                        location: path.display().to_string(),
                        source,
                    }),
                }
            }
            Store::S3(s) => {
                let objects = s.list_live(&format!("{key}/"))?;
                for o in &objects {
                    s.delete(&o.key)?;
                }
                Ok(objects.len())
            }
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
            Store::S3(s) => Staging::new(Destination::S3(s.clone())),
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
            Store::S3(_) => {}
        }
    }

    /// Local path of the store root, when it is a folder.
    pub fn local_root(&self) -> Option<&Path> {
        match self {
            Store::Local(s) => Some(s.root()),
            Store::S3(_) => None,
        }
    }
}

/// Files under a local folder (0 when it cannot be read).
fn walkdir_count(path: &Path) -> usize {
    let Ok(entries) = std::fs::read_dir(path) else {
        return 0;
    };
    entries
        .flatten()
        .map(|e| {
            if e.path().is_dir() {
                walkdir_count(&e.path())
            } else {
                1
            }
        })
        .sum()
}

/// An object opened for ranged reads; a [`ByteSource`].
pub enum RangedObject {
    /// A local file.
    Local(std::fs::File),
    /// An S3 object, read in ranged GETs conditional on its ETag.
    S3(s3::RemoteObject),
}

impl ByteSource for RangedObject {
    fn len(&self) -> u64 {
        match self {
            RangedObject::Local(f) => f.len(),
            RangedObject::S3(o) => o.len(),
        }
    }

    fn read_at(&self, offset: u64, buf: &mut [u8]) -> std::io::Result<()> {
        match self {
            RangedObject::Local(f) => f.read_at(offset, buf),
            RangedObject::S3(o) => o.read_at(offset, buf),
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
    dest: Destination,
    entries: Vec<StoreKey>,
}

/// Where a [`Staging`] publishes.
pub(crate) enum Destination {
    /// Renamed into this folder (staging lives on the same file system).
    Local(PathBuf),
    /// Uploaded (staging lives in a local temporary folder).
    S3(S3Store),
}

/// The local folder where outputs bound for S3 are staged: `$INGEST_STAGING_DIR`, or
/// `cryoet-ingest-staging/<pid>` under the temporary folder. Folders left by processes that no
/// longer run (a killed worker) are removed the first time a process stages.
fn remote_staging_base() -> Result<PathBuf> {
    static BASE: std::sync::OnceLock<PathBuf> = std::sync::OnceLock::new();
    let base = BASE.get_or_init(|| {
        let root = std::env::var_os("INGEST_STAGING_DIR")
            .map(PathBuf::from)
            .unwrap_or_else(|| std::env::temp_dir().join("cryoet-ingest-staging"));
        if let Ok(entries) = std::fs::read_dir(&root) {
            for e in entries.flatten() {
                let pid = e.file_name().to_string_lossy().parse::<u32>().ok();
                if pid.is_some_and(|p| !Path::new(&format!("/proc/{p}")).exists()) {
                    let _ = std::fs::remove_dir_all(e.path());
                }
            }
        }
        root.join(std::process::id().to_string())
    });
    std::fs::create_dir_all(base).map_err(|source| StorageError::Io {
        location: base.display().to_string(),
        source,
    })?;
    Ok(base.clone())
}

impl Staging {
    /// A staging area in `dir` (which must be on the local file system of the destination when
    /// that is a folder).
    pub(crate) fn in_dir(dir: tempfile::TempDir, dest: Destination) -> Staging {
        Staging {
            dir,
            dest,
            entries: Vec::new(),
        }
    }

    fn new(dest: Destination) -> Result<Staging> {
        let base = remote_staging_base()?;
        let dir = tempfile::Builder::new()
            .prefix("target-")
            .tempdir_in(&base)
            .map_err(|source| StorageError::Io {
                location: base.display().to_string(),
                source,
            })?;
        Ok(Staging::in_dir(dir, dest))
    }

    /// Local path where output `key` (relative to the output root) is to be written; parent
    /// folders are created. The key is remembered for [`Staging::publish`].
    ///
    /// # Errors
    /// I/O errors creating folders.
    pub fn path_for(&mut self, key: &StoreKey) -> Result<PathBuf> {
        let path = self.dir.path().join(key.as_str());
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent).map_err(|source| StorageError::Io {
                location: parent.display().to_string(),
                source,
            })?;
        }
        if !self.entries.contains(key) {
            self.entries.push(key.clone());
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
    pub fn adopt(&mut self, from: &Path, key: &StoreKey) -> Result<()> {
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
    pub fn write(&mut self, key: &StoreKey, bytes: &[u8]) -> Result<()> {
        let path = self.path_for(key)?;
        std::fs::write(&path, bytes).map_err(|source| StorageError::Io {
            location: path.display().to_string(),
            source,
        })
    }

    /// Moves every staged output into place, then removes the staging folder. On a local disk
    /// that is a rename each (readers see the old or the new file, never a half-written one);
    /// on S3 every object is uploaded whole (PUT or completed multipart).
    ///
    /// # Errors
    /// I/O and upload errors; outputs already published stay in place (each of them complete),
    /// and no cache record is written, so the next build redoes the target.
    pub fn publish(self) -> Result<()> {
        for key in &self.entries {
            match &self.dest {
                Destination::Local(root) => {
                    let from = self.dir.path().join(key.as_str());
                    local::replace_path(&from, &root.join(key.as_str()), self.dir.path())?;
                }
                Destination::S3(store) => store.publish(self.dir.path(), key)?,
            }
        }
        Ok(())
    }
}
