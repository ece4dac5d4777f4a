//! An in-memory [`Cache`](super::Cache) for unit tests: records live as long as the value.
//! Records are kept as their JSON bytes, as the persistent backends keep them, so a test goes
//! through the same encoding and can plant a damaged record.

use super::{stored_id, Cache, CacheError, TargetRecord};
use crate::target::TargetId;
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
    fn get(&self, id: &TargetId) -> Result<Option<TargetRecord>, CacheError> {
        let Some(bytes) = self.lock().get(id.as_str()).cloned() else {
            return Ok(None);
        };
        TargetRecord::decode(id, &bytes).map(Some)
    }

    fn put(&self, record: &TargetRecord) -> Result<(), CacheError> {
        let bytes = record.encode();
        self.lock().insert(record.id.to_string(), bytes);
        Ok(())
    }

    fn ids(&self) -> Result<Vec<TargetId>, CacheError> {
        self.lock().keys().map(|id| stored_id(id)).collect()
    }

    fn remove(&self, id: &TargetId) -> Result<(), CacheError> {
        self.lock().remove(id.as_str());
        Ok(())
    }

    fn flush(&self) -> Result<(), CacheError> {
        Ok(())
    }

    fn location(&self) -> String {
        "memory".to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_stored_id_that_is_not_a_target_id_is_a_corrupt_record() {
        let cache = MemoryCache::new();
        cache.insert_raw("ds/../elsewhere", b"{}");
        match cache.ids() {
            Err(CacheError::Corrupt { id, reason }) => {
                assert_eq!(id, "ds/../elsewhere");
                assert!(reason.contains("`.` and `..`"), "{reason}");
            }
            other => panic!("a bad stored id read as {other:?}"),
        }
    }
}
