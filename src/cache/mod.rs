//! The build cache: one record per target, written only after every output of the target is in
//! place. Backends sit behind [`Cache`] so the engine never names one; the embedded sled backend
//! is the default (one database per output location, in the user cache folder).
//!
//! - [`Cache`]: the records, all the engine needs from any backend;
//! - [`SharedCache`]: what a cache that several processes use at once adds (leases, superseded
//!   records), reached through [`Cache::shared`];
//! - [`MachineMemo`]: what one machine remembers beside a cache to skip work (local source
//!   fingerprints, small S3 objects), handed out by the backends that keep one, never shared.

mod memory;
mod s3_cache;
mod sled_cache;

pub use memory::MemoryCache;
pub use s3_cache::{id_tag, LocalMemo, S3Cache};
pub use sled_cache::SledCache;

use crate::keys::{KeyParts, OutputEntry};
use crate::storage::StatCache;
use crate::target::TargetId;
use serde::{Deserialize, Serialize};

/// What the cache remembers of one built target (layout: `cache-format/SPEC.md`, "Records").
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TargetRecord {
    /// Target id (its output path relative to OUTPUT).
    pub id: TargetId,
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

impl TargetRecord {
    /// A record as every backend stores it (JSON); bytes that do not decode are the corrupt
    /// record of `id`.
    ///
    /// # Errors
    /// [`CacheError::Corrupt`].
    pub fn decode(id: &str, bytes: &[u8]) -> Result<TargetRecord, CacheError> {
        serde_json::from_slice(bytes).map_err(|e| CacheError::Corrupt {
            id: id.to_string(),
            reason: e.to_string(),
        })
    }

    /// The bytes a backend stores.
    pub fn encode(&self) -> Vec<u8> {
        serde_json::to_vec(self).expect("records are plain JSON")
    }
}

/// A target id as a backend stored it; one that is not a valid id is a damaged record.
fn stored_id(id: &str) -> Result<TargetId, CacheError> {
    TargetId::new(id).map_err(|e| CacheError::Corrupt {
        id: id.to_string(),
        reason: e.to_string(),
    })
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
    /// The latest record of target `id`, if any.
    ///
    /// # Errors
    /// Backend failures, and [`CacheError::Corrupt`] for a record that does not decode (so
    /// that `explain` and the engine can say so instead of reading it as "never built").
    fn get(&self, id: &TargetId) -> Result<Option<TargetRecord>, CacheError>;

    /// The record of target `id` built for exactly `key` (hex), if any. A shared cache keeps
    /// every key's record, so this is also how a worker sees that another one built the target.
    ///
    /// # Errors
    /// Backend failures and corrupt records.
    fn get_for_key(&self, id: &TargetId, key: &str) -> Result<Option<TargetRecord>, CacheError> {
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
    fn ids(&self) -> Result<Vec<TargetId>, CacheError>;

    /// Forgets every record of target `id` (`cache gc`).
    ///
    /// # Errors
    /// Backend failures.
    fn remove(&self, id: &TargetId) -> Result<(), CacheError>;

    /// Makes written records durable.
    ///
    /// # Errors
    /// Backend failures.
    fn flush(&self) -> Result<(), CacheError>;

    /// Where the cache lives, for messages.
    fn location(&self) -> String;

    /// The shared-cache side of this cache, when several processes may use it at once (what
    /// `--shard` requires). `None`: one process at a time, so no leases are needed.
    fn shared(&self) -> Option<&dyn SharedCache> {
        None
    }
}

/// What a cache shared by many workers adds to [`Cache`]: build leases, and the records of
/// older builds that it keeps besides each target's latest one (its head).
pub trait SharedCache: Cache {
    /// Claims target `id` for building, waiting while another worker holds it. The claim ends
    /// when the guard drops.
    ///
    /// # Errors
    /// Backend failures.
    fn acquire(&self, id: &TargetId) -> Result<LeaseGuard, CacheError>;

    /// Records kept besides each target's latest one, as (object name, built at): older builds
    /// that `cache gc` may delete.
    ///
    /// # Errors
    /// Backend failures.
    fn superseded(&self) -> Result<Vec<(String, u64)>, CacheError>;

    /// Deletes one object named by [`SharedCache::superseded`].
    ///
    /// # Errors
    /// Backend failures.
    fn remove_object(&self, object: &str) -> Result<(), CacheError>;
}

/// What one machine remembers beside a cache so that an unchanged re-run does little: only
/// shortcuts, never the truth (losing it costs time, not correctness).
#[derive(Clone, Default)]
pub struct MachineMemo {
    /// Fingerprints of local source files, so an unchanged file is hashed once.
    pub stat: Option<StatCache>,
    /// Small OUTPUT objects by (key, ETag), for [`crate::storage::Store::read_listed`] on S3.
    pub objects: Option<sled::Tree>,
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
