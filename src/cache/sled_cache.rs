//! The embedded sled backend of [`Cache`](super::Cache).

use super::{stored_id, Cache, CacheError, MachineMemo, TargetRecord};
use crate::storage::StatCache;
use crate::target::TargetId;
use std::path::{Path, PathBuf};

/// A sled database with two trees: `targets` (id → JSON record) and `stat` (local fingerprints).
pub struct SledCache {
    path: PathBuf,
    db: sled::Db,
    targets: sled::Tree,
    stat: sled::Tree,
}

impl SledCache {
    /// Opens (or creates) the database at `path`.
    ///
    /// # Errors
    /// [`CacheError::Backend`] when sled cannot open it (e.g. another process holds its lock).
    pub fn open(path: &Path) -> Result<SledCache, CacheError> {
        let err = |e: sled::Error| CacheError::Backend {
            location: path.display().to_string(),
            source: Box::new(e),
        };
        std::fs::create_dir_all(path).map_err(|e| CacheError::Backend {
            location: path.display().to_string(),
            source: Box::new(e),
        })?;
        let db = sled::open(path).map_err(err)?;
        let targets = db.open_tree("targets/v1").map_err(err)?;
        let stat = db.open_tree("stat/v1").map_err(err)?;
        Ok(SledCache {
            path: path.to_path_buf(),
            db,
            targets,
            stat,
        })
    }

    /// The default cache folder for an output location: one database per output root, under the
    /// user cache folder (`$XDG_CACHE_HOME/cryoet-ingest/<hash of the output root>`).
    pub fn default_path(output_identity: &str) -> PathBuf {
        let base = dirs::cache_dir().unwrap_or_else(std::env::temp_dir);
        let tag = blake3::hash(output_identity.as_bytes()).to_hex();
        base.join("cryoet-ingest").join(&tag.as_str()[..16])
    }

    /// This database's machine-local memo: the `stat/v1` tree of local fingerprints and the
    /// `objects/v1` tree of small S3 objects (absent if sled cannot open it).
    pub fn memo(&self) -> MachineMemo {
        MachineMemo {
            stat: Some(StatCache::new(self.stat.clone())),
            objects: self.db.open_tree("objects/v1").ok(),
        }
    }

    fn backend(&self, e: sled::Error) -> CacheError {
        CacheError::Backend {
            location: self.path.display().to_string(),
            source: Box::new(e),
        }
    }
}

impl Cache for SledCache {
    fn get(&self, id: &TargetId) -> Result<Option<TargetRecord>, CacheError> {
        let Some(bytes) = self.targets.get(id.as_str()).map_err(|e| self.backend(e))? else {
            return Ok(None);
        };
        TargetRecord::decode(id, &bytes).map(Some)
    }

    fn put(&self, record: &TargetRecord) -> Result<(), CacheError> {
        let bytes = record.encode();
        self.targets
            .insert(record.id.as_bytes(), bytes)
            .map_err(|e| self.backend(e))?;
        Ok(())
    }

    fn ids(&self) -> Result<Vec<TargetId>, CacheError> {
        self.targets
            .iter()
            .keys()
            .map(|k| {
                let k = k.map_err(|e| self.backend(e))?;
                stored_id(&String::from_utf8_lossy(&k))
            })
            .collect()
    }

    fn remove(&self, id: &TargetId) -> Result<(), CacheError> {
        self.targets
            .remove(id.as_str())
            .map_err(|e| self.backend(e))?;
        Ok(())
    }

    fn flush(&self) -> Result<(), CacheError> {
        self.db.flush().map_err(|e| self.backend(e))?;
        Ok(())
    }

    fn location(&self) -> String {
        self.path.display().to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::keys::{outputs_digest, KeyParts, OutputEntry};
    use crate::storage::StoreKey;
    use crate::EntityKind;

    fn id(s: &str) -> TargetId {
        TargetId::new(s).unwrap()
    }

    #[test]
    fn records_round_trip_and_survive_reopen() {
        let dir = tempfile::tempdir().unwrap();
        let outputs = vec![OutputEntry {
            key: StoreKey::new("ds/run/run_metadata.json").unwrap(),
            digest: "abc".into(),
            size: 3,
        }];
        let parts = KeyParts::new(
            EntityKind::Run,
            serde_json::json!({"name": "run"}),
            vec![],
            Default::default(),
        );
        let record = TargetRecord {
            id: id("ds/run"),
            key: parts.key().to_hex(),
            parts,
            output_digest: outputs_digest(&outputs),
            outputs,
            built_at: 1,
            tool_version: "test".into(),
        };
        {
            let cache = SledCache::open(dir.path()).unwrap();
            assert_eq!(cache.get(&id("ds/run")).unwrap(), None);
            cache.put(&record).unwrap();
            cache.flush().unwrap();
        }
        let cache = SledCache::open(dir.path()).unwrap();
        assert_eq!(cache.get(&id("ds/run")).unwrap(), Some(record));
        assert_eq!(cache.ids().unwrap(), vec![id("ds/run")]);
    }
}
