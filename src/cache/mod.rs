//! The build cache: one record per target, written only after every output of the target is in
//! place. Backends sit behind [`Cache`] so the engine never names one; the embedded sled backend
//! is the default (one database per output location, in the user cache folder).

mod s3_cache;
mod sled_cache;

pub use s3_cache::{LocalMemo, S3Cache};
pub use sled_cache::SledCache;

use crate::keys::{KeyParts, OutputEntry};
use crate::storage::StatCache;
use serde::{Deserialize, Serialize};

/// What the cache remembers of one built target (layout: `cache-format/SPEC.md`, "Records").
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TargetRecord {
    /// Target id (its output path relative to OUTPUT).
    pub id: String,
    /// Hex of the key the outputs were built for.
    pub key: String,
    /// The parts of that key, for `explain`.
    pub parts: KeyParts,
    /// Every output written, with its digest.
    pub outputs: Vec<OutputEntry>,
    /// [`crate::keys::outputs_digest`] of `outputs`: what children key on.
    pub output_digest: String,
    /// Unix seconds when the record was written (informative, never keyed).
    pub built_at: u64,
    /// The tool version that built it (informative).
    pub tool_version: String,
}

/// Errors of cache backends.
#[derive(Debug, thiserror::Error)]
pub enum CacheError {
    /// The database could not be opened or used.
    #[error("cache {location}: {source}")]
    Backend {
        /// Where the cache lives.
        location: String,
        /// The backend's error.
        source: Box<dyn std::error::Error + Send + Sync>,
    },
    /// A record that does not decode (written by an incompatible version, or damaged).
    #[error("cache record for {id} is unreadable: {reason}")]
    Corrupt {
        /// Target id.
        id: String,
        /// Decode error.
        reason: String,
    },
}

/// A store of target records.
pub trait Cache: Send + Sync {
    /// The record of target `id`, if any. An undecodable record reads as `None` with a warning
    /// by the caller's choice: here it is an error so that `explain` can say so.
    ///
    /// # Errors
    /// Backend failures and corrupt records.
    fn get(&self, id: &str) -> Result<Option<TargetRecord>, CacheError>;

    /// The record of target `id` built for exactly `key` (hex), if any. A shared cache keeps
    /// every key's record, so this is also how a worker sees that another one built the target.
    ///
    /// # Errors
    /// Backend failures and corrupt records.
    fn get_for_key(&self, id: &str, key: &str) -> Result<Option<TargetRecord>, CacheError> {
        Ok(self.get(id)?.filter(|r| r.key == key))
    }

    /// Stores the record of a target whose outputs are all published.
    ///
    /// # Errors
    /// Backend failures.
    fn put(&self, record: &TargetRecord) -> Result<(), CacheError>;

    /// Ids of every record.
    ///
    /// # Errors
    /// Backend failures.
    fn ids(&self) -> Result<Vec<String>, CacheError>;

    /// Forgets every record of target `id` (`cache gc`).
    ///
    /// # Errors
    /// Backend failures.
    fn remove(&self, id: &str) -> Result<(), CacheError>;

    /// Records kept besides each target's latest one, as (object name, built at): older builds
    /// that `cache gc` may delete. Backends that keep only the latest record have none.
    ///
    /// # Errors
    /// Backend failures.
    fn superseded(&self) -> Result<Vec<(String, u64)>, CacheError> {
        Ok(Vec::new())
    }

    /// Deletes one object named by [`Cache::superseded`].
    ///
    /// # Errors
    /// Backend failures.
    fn remove_object(&self, _object: &str) -> Result<(), CacheError> {
        Ok(())
    }

    /// Claims target `id` for building, waiting while another worker holds it. The claim ends
    /// when the guard drops. Backends used by one process at a time grant it at once.
    ///
    /// # Errors
    /// Backend failures.
    fn acquire(&self, _id: &str) -> Result<LeaseGuard, CacheError> {
        Ok(LeaseGuard::default())
    }

    /// Whether several processes may use this cache at once (required by `--shard`).
    fn is_shared(&self) -> bool {
        false
    }

    /// Memo of local source fingerprints kept beside the records, if the backend has one.
    fn stat_cache(&self) -> Option<StatCache>;

    /// A machine-local tree where an S3 store may remember small objects by ETag, if the
    /// backend keeps one.
    fn object_memo(&self) -> Option<sled::Tree> {
        None
    }

    /// Makes written records durable.
    ///
    /// # Errors
    /// Backend failures.
    fn flush(&self) -> Result<(), CacheError>;

    /// Where the cache lives, for messages.
    fn location(&self) -> String;
}

/// A claim on a target; releasing it (on drop) lets other workers see the target as settled.
#[derive(Default)]
pub struct LeaseGuard {
    release: Option<Box<dyn FnOnce() + Send>>,
}

impl LeaseGuard {
    /// A guard that runs `release` when dropped.
    pub fn new(release: impl FnOnce() + Send + 'static) -> LeaseGuard {
        LeaseGuard {
            release: Some(Box::new(release)),
        }
    }
}

impl Drop for LeaseGuard {
    fn drop(&mut self) {
        if let Some(release) = self.release.take() {
            release();
        }
    }
}
