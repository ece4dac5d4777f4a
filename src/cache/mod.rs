//! The build cache: one record per target, written only after every output of the target is in
//! place. Backends sit behind [`Cache`] so the engine never names one; the embedded sled backend
//! is the default (one database per output location, in the user cache folder).

mod sled_cache;

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

    /// Memo of local source fingerprints kept beside the records, if the backend has one.
    fn stat_cache(&self) -> Option<StatCache>;

    /// Makes written records durable.
    ///
    /// # Errors
    /// Backend failures.
    fn flush(&self) -> Result<(), CacheError>;

    /// Where the cache lives, for messages.
    fn location(&self) -> String;
}
