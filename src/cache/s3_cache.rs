//! The shared S3 backend of [`Cache`](super::Cache) and [`SharedCache`]: any number of workers on any machines share
//! one cache (layout and protocol: `cache-format/SPEC.md`, "Shared S3 cache").
//!
//! - `v1/records/<tag>/<key>.json`: immutable records, created with `If-None-Match: *`. A record
//!   is named by its key, so a fresh check is one GET of a name computed from today's key.
//! - `v1/heads/<tag>.json`: the latest record of a target (for `explain` and `gc`), replaced only
//!   with `If-Match` on the ETag read.
//! - `v1/leases/<tag>.json`: who is building a target, until when. Created with
//!   `If-None-Match: *`; renewed and taken over (once expired) with `If-Match`.
//!
//! `<tag>` is the first 32 hex digits of BLAKE3(target id): ids are paths, and `a` and `a/b` must
//! not share a listing prefix.

use super::{Cache, CacheError, LeaseGuard, MachineMemo, SharedCache, TargetRecord};
use crate::storage::s3::Condition;
use crate::storage::{S3Options, S3Store, StatCache, StorageError};
use crate::target::TargetId;
use serde::{Deserialize, Serialize};
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// The tag of a target id in object names.
pub fn id_tag(id: &str) -> String {
    blake3::hash(id.as_bytes()).to_hex()[..32].to_string()
}

fn now() -> f64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0.0, |d| d.as_secs_f64())
}

/// The body of a lease object.
#[derive(Debug, Serialize, Deserialize)]
struct Lease {
    id: String,
    owner: String,
    /// Unix seconds after which any worker may take the target over.
    expires_at: f64,
}

/// The body of a head pointer.
#[derive(Debug, Serialize, Deserialize)]
struct Head {
    id: TargetId,
    key: String,
    built_at: u64,
}

/// Leases this process holds, renewed by a background thread every third of their lifetime.
struct LeaseKeeper {
    store: S3Store,
    ttl: Duration,
    owner: String,
    /// Lease object key → (target id, ETag of our current lease body).
    held: Mutex<HashMap<String, (String, String)>>,
}

impl LeaseKeeper {
    fn body(&self, id: &str) -> Vec<u8> {
        let lease = Lease {
            id: id.to_string(),
            owner: self.owner.clone(),
            expires_at: now() + self.ttl.as_secs_f64(),
        };
        serde_json::to_vec(&lease).expect("plain JSON")
    }

    fn renew_all(&self) {
        let held: Vec<(String, (String, String))> = self
            .held
            .lock()
            .expect("leases")
            .iter()
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect();
        for (key, (id, etag)) in held {
            match self
                .store
                .put_conditional(&key, self.body(&id), Condition::Matches(etag))
            {
                Ok(Some(new)) => {
                    if let Some(entry) = self.held.lock().expect("leases").get_mut(&key) {
                        entry.1 = new;
                    }
                }
                Ok(None) => tracing::warn!(
                    "lease on {id} was taken over by another worker (this one was too slow to renew it)"
                ),
                Err(e) => tracing::warn!("renewing the lease on {id}: {e}"),
            }
        }
    }
}

/// What one machine remembers next to a shared cache (see `session::local_memo`).
pub struct LocalMemo {
    /// Fingerprints of local source files.
    pub stat: Option<StatCache>,
    /// Records already read or written, by object name: they never change once created.
    pub records: sled::Tree,
    /// Small OUTPUT objects by (key, ETag), for [`crate::storage::Store::read_listed`].
    pub objects: sled::Tree,
}

/// A shared cache in `s3://bucket/prefix`.
pub struct S3Cache {
    store: S3Store,
    keeper: Arc<LeaseKeeper>,
    local: Option<LocalMemo>,
    retry_timeout: Duration,
}

impl S3Cache {
    /// Opens the cache at `url`, with this machine's memo if it could be opened.
    ///
    /// # Errors
    /// A malformed URL.
    pub fn open(
        url: &str,
        opts: &S3Options,
        lease_ttl: Duration,
        local: Option<LocalMemo>,
    ) -> Result<S3Cache, CacheError> {
        let store = S3Store::open(url, opts, false).map_err(|e| backend(url, e))?;
        let host = std::fs::read_to_string("/proc/sys/kernel/hostname")
            .map(|h| h.trim().to_string())
            .unwrap_or_else(|_| "host".to_string());
        let nonce =
            blake3::hash(format!("{:?}{}", SystemTime::now(), std::process::id()).as_bytes())
                .to_hex()[..8]
                .to_string();
        let keeper = Arc::new(LeaseKeeper {
            store: store.clone(),
            ttl: lease_ttl,
            owner: format!("{host}:{}:{nonce}", std::process::id()),
            held: Mutex::new(HashMap::new()),
        });
        let weak = Arc::downgrade(&keeper);
        let period = lease_ttl / 3;
        std::thread::spawn(move || loop {
            std::thread::sleep(period);
            match weak.upgrade() {
                Some(k) => k.renew_all(),
                None => return,
            }
        });
        Ok(S3Cache {
            store,
            keeper,
            local,
            retry_timeout: opts.retry_timeout,
        })
    }

    /// A conditional PUT, retried on transport errors. `object_store` does not retry
    /// conditional writes itself (a retry of a write that did land would fail its own
    /// precondition), so every caller reads back what it finds after `Ok(None)`.
    fn put_retrying(
        &self,
        key: &str,
        bytes: &[u8],
        condition: Condition,
    ) -> Result<Option<String>, CacheError> {
        let deadline = std::time::Instant::now() + self.retry_timeout;
        let mut wait = Duration::from_millis(100);
        loop {
            match self
                .store
                .put_conditional(key, bytes.to_vec(), condition.clone())
            {
                Ok(r) => return Ok(r),
                Err(StorageError::Io { .. }) if std::time::Instant::now() < deadline => {
                    std::thread::sleep(wait);
                    wait = (wait * 2).min(Duration::from_secs(5));
                }
                Err(e) => return Err(self.err(e)),
            }
        }
    }

    /// The lease object's body and ETag when it is this worker's own (a retried create or
    /// update that landed before its response was lost).
    fn own_lease(&self, key: &str) -> Result<Option<String>, CacheError> {
        let Some((bytes, etag)) = self.store.read_with_etag(key).map_err(|e| self.err(e))? else {
            return Ok(None);
        };
        Ok(serde_json::from_slice::<Lease>(&bytes)
            .ok()
            .filter(|l| l.owner == self.keeper.owner && l.expires_at > now())
            .map(|_| etag))
    }

    fn record_key(id: &str, key: &str) -> String {
        format!("v1/records/{}/{key}.json", id_tag(id))
    }

    fn head_key(id: &str) -> String {
        format!("v1/heads/{}.json", id_tag(id))
    }

    fn lease_key(id: &str) -> String {
        format!("v1/leases/{}.json", id_tag(id))
    }

    fn err(&self, e: StorageError) -> CacheError {
        backend(&self.store.describe(""), e)
    }

    /// Every record object of every target, with the target id its head names.
    fn all_records(&self) -> Result<Vec<(String, String)>, CacheError> {
        let listed = self
            .store
            .list_live("v1/records")
            .map_err(|e| self.err(e))?;
        Ok(listed
            .into_iter()
            .filter_map(|o| {
                let rest = o.key.strip_prefix("v1/records/")?;
                let (tag, file) = rest.split_once('/')?;
                Some((tag.to_string(), file.trim_end_matches(".json").to_string()))
            })
            .collect())
    }
}

fn backend(location: &str, e: StorageError) -> CacheError {
    CacheError::Backend {
        location: location.to_string(),
        source: Box::new(e),
    }
}

impl Cache for S3Cache {
    fn get(&self, id: &TargetId) -> Result<Option<TargetRecord>, CacheError> {
        let Some((bytes, _)) = self
            .store
            .read_with_etag(&Self::head_key(id))
            .map_err(|e| self.err(e))?
        else {
            return Ok(None);
        };
        let head: Head = serde_json::from_slice(&bytes).map_err(|e| CacheError::Corrupt {
            id: id.to_string(),
            reason: format!("head pointer: {e}"),
        })?;
        self.get_for_key(id, &head.key)
    }

    fn get_for_key(&self, id: &TargetId, key: &str) -> Result<Option<TargetRecord>, CacheError> {
        let object = Self::record_key(id, key);
        if let Some(memo) = &self.local {
            if let Ok(Some(bytes)) = memo.records.get(&object) {
                if let Ok(record) = TargetRecord::decode(id, &bytes) {
                    return Ok(Some(record));
                }
            }
        }
        match self
            .store
            .read_with_etag(&object)
            .map_err(|e| self.err(e))?
        {
            Some((bytes, _)) => {
                let record = TargetRecord::decode(id, &bytes)?;
                self.remember(&object, &bytes);
                Ok(Some(record))
            }
            None => Ok(None),
        }
    }

    fn put(&self, record: &TargetRecord) -> Result<(), CacheError> {
        let bytes = record.encode();
        // Created once: an existing record of the same key holds the same outputs.
        let object = Self::record_key(&record.id, &record.key);
        self.put_retrying(&object, &bytes, Condition::Absent)?;
        self.remember(&object, &bytes);
        let head = serde_json::to_vec(&Head {
            id: record.id.clone(),
            key: record.key.clone(),
            built_at: record.built_at,
        })
        .expect("plain JSON");
        let head_key = Self::head_key(&record.id);
        for _ in 0..20 {
            let condition = match self
                .store
                .read_with_etag(&head_key)
                .map_err(|e| self.err(e))?
            {
                None => Condition::Absent,
                Some((current, _)) if current == head => return Ok(()),
                Some((_, etag)) => Condition::Matches(etag),
            };
            if self.put_retrying(&head_key, &head, condition)?.is_some() {
                return Ok(());
            }
        }
        Err(CacheError::Backend {
            location: self.store.describe(&head_key),
            source: "too many concurrent updates of this head pointer".into(),
        })
    }

    fn ids(&self) -> Result<Vec<TargetId>, CacheError> {
        let heads = self.store.list_live("v1/heads").map_err(|e| self.err(e))?;
        let mut ids = Vec::new();
        for h in heads {
            if let Some((bytes, _)) = self.store.read_with_etag(&h.key).map_err(|e| self.err(e))? {
                if let Ok(head) = serde_json::from_slice::<Head>(&bytes) {
                    ids.push(head.id);
                }
            }
        }
        ids.sort();
        Ok(ids)
    }

    fn remove(&self, id: &TargetId) -> Result<(), CacheError> {
        let tag = id_tag(id);
        for (t, key) in self.all_records()? {
            if t == tag {
                self.remove_object(&format!("v1/records/{t}/{key}.json"))?;
            }
        }
        self.store
            .delete(&Self::head_key(id))
            .map_err(|e| self.err(e))
    }

    fn flush(&self) -> Result<(), CacheError> {
        if let Some(memo) = &self.local {
            let _ = memo.records.flush();
        }
        Ok(())
    }

    fn location(&self) -> String {
        self.store.describe("")
    }

    fn shared(&self) -> Option<&dyn SharedCache> {
        Some(self)
    }
}

impl SharedCache for S3Cache {
    fn superseded(&self) -> Result<Vec<(String, u64)>, CacheError> {
        // Records that are not their target's head: older builds, kept until gc.
        let mut heads: HashMap<String, String> = HashMap::new();
        for h in self.store.list_live("v1/heads").map_err(|e| self.err(e))? {
            if let Some((bytes, _)) = self.store.read_with_etag(&h.key).map_err(|e| self.err(e))? {
                if let Ok(head) = serde_json::from_slice::<Head>(&bytes) {
                    heads.insert(id_tag(&head.id), head.key);
                }
            }
        }
        let mut out = Vec::new();
        for (tag, key) in self.all_records()? {
            if heads.get(&tag) == Some(&key) {
                continue;
            }
            let object = format!("v1/records/{tag}/{key}.json");
            if let Some((bytes, _)) = self
                .store
                .read_with_etag(&object)
                .map_err(|e| self.err(e))?
            {
                let built_at = TargetRecord::decode(&object, &bytes).map_or(0, |r| r.built_at);
                out.push((object, built_at));
            }
        }
        Ok(out)
    }

    fn remove_object(&self, object: &str) -> Result<(), CacheError> {
        if let Some(memo) = &self.local {
            let _ = memo.records.remove(object);
        }
        self.store.delete(object).map_err(|e| self.err(e))
    }

    fn acquire(&self, id: &TargetId) -> Result<LeaseGuard, CacheError> {
        let key = Self::lease_key(id);
        let mut wait = Duration::from_millis(100);
        loop {
            let body = self.keeper.body(id);
            if let Some(etag) = self.put_retrying(&key, &body, Condition::Absent)? {
                return Ok(self.hold(key, id, etag));
            }
            if let Some(etag) = self.own_lease(&key)? {
                return Ok(self.hold(key, id, etag));
            }
            let Some((bytes, etag)) = self.store.read_with_etag(&key).map_err(|e| self.err(e))?
            else {
                continue; // released between our create and our read
            };
            // An unreadable lease is treated as expired.
            let expired =
                serde_json::from_slice::<Lease>(&bytes).map_or(true, |l| l.expires_at <= now());
            if expired {
                let took = match self.put_retrying(&key, &body, Condition::Matches(etag))? {
                    Some(etag) => Some(etag),
                    None => self.own_lease(&key)?,
                };
                if let Some(etag) = took {
                    tracing::warn!(
                        "took over the expired lease on {id} (its worker stopped renewing it)"
                    );
                    return Ok(self.hold(key, id, etag));
                }
                continue;
            }
            std::thread::sleep(wait);
            wait = (wait * 2).min(Duration::from_secs(2));
        }
    }
}

impl S3Cache {
    /// This machine's memo of local fingerprints and small OUTPUT objects, if it could be
    /// opened (the record memo stays inside: it is this backend's own shortcut).
    pub fn memo(&self) -> MachineMemo {
        self.local
            .as_ref()
            .map(|l| MachineMemo {
                stat: l.stat.clone(),
                objects: Some(l.objects.clone()),
            })
            .unwrap_or_default()
    }

    /// Remembers a record object this machine read or wrote (best effort: the memo is only a
    /// shortcut around a GET).
    fn remember(&self, object: &str, bytes: &[u8]) {
        if let Some(memo) = &self.local {
            let _ = memo.records.insert(object, bytes);
        }
    }

    fn hold(&self, key: String, id: &str, etag: String) -> LeaseGuard {
        self.keeper
            .held
            .lock()
            .expect("leases")
            .insert(key.clone(), (id.to_string(), etag));
        let keeper = self.keeper.clone();
        LeaseGuard::new(move || {
            let ours = keeper.held.lock().expect("leases").remove(&key);
            // Delete only our own lease: if another worker took it over, it is theirs now.
            if let (Some((_, etag)), Ok(Some((_, current)))) =
                (ours, keeper.store.read_with_etag(&key))
            {
                if current == etag {
                    let _ = keeper.store.delete(&key);
                }
            }
        })
    }
}
