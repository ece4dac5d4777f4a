//! An in-memory [`Cache`](super::Cache) for unit tests: records live as long as the value.
//! Records are kept as their JSON bytes, as the persistent backends keep them, so a test goes
//! through the same encoding and can plant a damaged record.

use super::{Cache, CacheError, TargetRecord};
use std::collections::BTreeMap;
use std::sync::Mutex;

/// Target id → JSON record, behind a lock.
#[derive(Default)]
pub struct MemoryCache {
    records: Mutex<BTreeMap<String, Vec<u8>>>,
}

impl MemoryCache {
    /// An empty cache.
    pub fn new() -> MemoryCache {
        MemoryCache::default()
    }

    /// Stores `bytes` as the record of `id` without checking them: how a test plants a record
    /// that an older version or a damaged disk left behind.
    pub fn insert_raw(&self, id: &str, bytes: &[u8]) {
        self.lock().insert(id.to_string(), bytes.to_vec());
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, BTreeMap<String, Vec<u8>>> {
        // A panic elsewhere cannot leave the map half-updated: every update is one call.
        self.records.lock().unwrap_or_else(|e| e.into_inner())
    }
}

impl Cache for MemoryCache {
    fn get(&self, id: &str) -> Result<Option<TargetRecord>, CacheError> {
        let Some(bytes) = self.lock().get(id).cloned() else {
            return Ok(None);
        };
        TargetRecord::decode(id, &bytes).map(Some)
    }

    fn put(&self, record: &TargetRecord) -> Result<(), CacheError> {
        let bytes = record.encode();
        self.lock().insert(record.id.clone(), bytes);
        Ok(())
    }

    fn ids(&self) -> Result<Vec<String>, CacheError> {
        Ok(self.lock().keys().cloned().collect())
    }

    fn remove(&self, id: &str) -> Result<(), CacheError> {
        self.lock().remove(id);
        Ok(())
    }

    fn flush(&self) -> Result<(), CacheError> {
        Ok(())
    }

    fn location(&self) -> String {
        "memory".to_string()
    }
}
