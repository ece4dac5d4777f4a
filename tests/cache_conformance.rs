//! One conformance suite for every cache backend: the embedded sled database, the in-memory
//! cache of unit tests and the shared S3 cache (on moto's server). Each backend runs the same
//! checks of the [`Cache`] contract; a record is damaged behind the backend's back (in the sled
//! database itself, in the memory map, in the bucket through boto3), never through the API.

use crate::s3::{in_process_credentials, Moto};
use cryoet_ingest::cache::{
    id_tag, Cache, CacheError, MemoryCache, S3Cache, SledCache, TargetRecord,
};
use cryoet_ingest::keys::{outputs_digest, KeyParts, OutputEntry, Parent};
use cryoet_ingest::storage::{S3Options, StoreKey};
use cryoet_ingest::target::TargetId;
use cryoet_ingest::EntityKind;
use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::Duration;

/// A backend under test.
trait Backend {
    /// The cache as the engine sees it.
    fn cache(&self) -> &dyn Cache;
    /// Stores `bytes` as the record of `id` built for `key`, bypassing the `Cache` API.
    fn plant(&mut self, id: &str, key: &str, bytes: &[u8]);
    /// Closes and reopens the cache: what was flushed must still be there.
    fn reopen(&mut self);
}

fn id(id: &str) -> TargetId {
    TargetId::new(id).unwrap()
}

/// A record of target `id` whose key and outputs depend on `n`.
fn record(id: &str, n: u64) -> TargetRecord {
    let outputs = vec![OutputEntry {
        key: StoreKey::new(format!("{id}/out_{n}.json")).unwrap(),
        digest: format!("{n:064x}"),
        size: n + 1,
    }];
    let parts = KeyParts::new(
        EntityKind::Run,
        serde_json::json!({"name": id, "n": n}),
        vec![],
        BTreeMap::from([("p".to_string(), Parent::Built(format!("{n:x}")))]),
    );
    TargetRecord {
        id: self::id(id),
        key: parts.key().to_hex(),
        parts,
        output_digest: outputs_digest(&outputs),
        outputs,
        built_at: 1_700_000_000 + n,
        tool_version: "conformance".to_string(),
    }
}

/// The checks every backend passes.
fn conformance(b: &mut dyn Backend) {
    let (a1, a2, nested, other) = (
        record("ds/a", 1),
        record("ds/a", 2),
        record("ds/a/b", 3),
        record("ds/c", 4),
    );
    let cache = b.cache();
    let location = cache.location();
    assert!(!location.is_empty());
    assert_eq!(
        cache.get(&id("ds/a")).unwrap(),
        None,
        "{location}: empty cache"
    );
    assert_eq!(cache.get_for_key(&id("ds/a"), &a1.key).unwrap(), None);
    assert!(cache.ids().unwrap().is_empty(), "{location}");

    // Round trip, and a record answers only for its own key.
    cache.put(&a1).unwrap();
    assert_eq!(
        cache.get(&id("ds/a")).unwrap().as_ref(),
        Some(&a1),
        "{location}"
    );
    assert_eq!(
        cache.get_for_key(&id("ds/a"), &a1.key).unwrap().as_ref(),
        Some(&a1)
    );
    assert_eq!(cache.get_for_key(&id("ds/a"), &a2.key).unwrap(), None);

    // A new build of the same target is its latest record. A shared cache keeps the older
    // key's record (immutable, until gc); a local one keeps only the latest.
    cache.put(&a2).unwrap();
    assert_eq!(
        cache.get(&id("ds/a")).unwrap().as_ref(),
        Some(&a2),
        "{location}"
    );
    assert_eq!(
        cache.get_for_key(&id("ds/a"), &a2.key).unwrap().as_ref(),
        Some(&a2)
    );
    let older = cache.get_for_key(&id("ds/a"), &a1.key).unwrap();
    match cache.shared() {
        Some(shared) => {
            assert_eq!(older.as_ref(), Some(&a1), "{location}: shared keeps keys");
            let superseded = shared.superseded().unwrap();
            assert_eq!(superseded.len(), 1, "{location}: {superseded:?}");
            assert_eq!(superseded[0].1, a1.built_at);
            shared.remove_object(&superseded[0].0).unwrap();
            assert_eq!(cache.get_for_key(&id("ds/a"), &a1.key).unwrap(), None);
            assert_eq!(cache.get(&id("ds/a")).unwrap().as_ref(), Some(&a2));
            // A lease is granted at once when nobody holds it, and again once released.
            drop(shared.acquire(&id("ds/a")).unwrap());
            drop(shared.acquire(&id("ds/a")).unwrap());
        }
        None => assert_eq!(older, None, "{location}: one record per target"),
    }

    // Ids are target ids (`ds/a` and `ds/a/b` are distinct), each once.
    cache.put(&nested).unwrap();
    cache.put(&other).unwrap();
    let mut ids = cache.ids().unwrap();
    ids.sort();
    assert_eq!(ids, ["ds/a", "ds/a/b", "ds/c"], "{location}");

    // Removing a target forgets every record of it, and only it.
    cache.remove(&id("ds/a")).unwrap();
    assert_eq!(cache.get(&id("ds/a")).unwrap(), None, "{location}");
    assert_eq!(cache.get_for_key(&id("ds/a"), &a2.key).unwrap(), None);
    assert_eq!(
        cache.get(&id("ds/a/b")).unwrap().as_ref(),
        Some(&nested),
        "{location}"
    );
    cache.remove(&id("ds/never")).unwrap();
    let mut ids = cache.ids().unwrap();
    ids.sort();
    assert_eq!(ids, ["ds/a/b", "ds/c"], "{location}");

    // Flushed records survive a reopen.
    cache.flush().unwrap();
    b.reopen();
    let cache = b.cache();
    assert_eq!(
        cache.get(&id("ds/c")).unwrap().as_ref(),
        Some(&other),
        "{location}"
    );

    // A damaged record is an error naming the target, not "never built".
    b.plant("ds/c", &other.key, b"{\"id\": \"ds/c\", \"key\": ");
    let cache = b.cache();
    for found in [
        cache.get(&id("ds/c")),
        cache.get_for_key(&id("ds/c"), &other.key),
    ] {
        match found {
            Err(CacheError::Corrupt { id, .. }) => assert_eq!(id, "ds/c", "{location}"),
            other => panic!("{location}: a damaged record read as {other:?}"),
        }
    }
    // Other targets are unaffected, and a new build replaces the damaged record.
    assert_eq!(cache.get(&id("ds/a/b")).unwrap().as_ref(), Some(&nested));
    let rebuilt = record("ds/c", 5);
    cache.put(&rebuilt).unwrap();
    assert_eq!(
        cache.get(&id("ds/c")).unwrap().as_ref(),
        Some(&rebuilt),
        "{location}"
    );
}

struct Sled {
    _dir: tempfile::TempDir,
    path: PathBuf,
    cache: Option<SledCache>,
}

impl Backend for Sled {
    fn cache(&self) -> &dyn Cache {
        self.cache.as_ref().expect("open")
    }

    fn plant(&mut self, id: &str, _key: &str, bytes: &[u8]) {
        // sled locks its folder: close the cache, write into the database, reopen.
        self.cache = None;
        {
            let db = when_unlocked(|| sled::open(&self.path));
            db.open_tree("targets/v1")
                .unwrap()
                .insert(id, bytes)
                .unwrap();
            db.flush().unwrap();
        }
        self.reopen();
    }

    fn reopen(&mut self) {
        self.cache = None;
        self.cache = Some(when_unlocked(|| SledCache::open(&self.path)));
    }
}

/// Opens a sled database that this process has just closed. sled releases its folder lock
/// from a background thread shortly after the last handle drops, so an immediate reopen can
/// find it still locked (another process would wait for the build that holds it to end).
fn when_unlocked<T, E: std::fmt::Debug>(open: impl Fn() -> Result<T, E>) -> T {
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    loop {
        match open() {
            Ok(db) => return db,
            Err(e) if std::time::Instant::now() < deadline && format!("{e:?}").contains("lock") => {
                std::thread::sleep(Duration::from_millis(20));
            }
            Err(e) => panic!("{e:?}"),
        }
    }
}

#[test]
fn sled_cache_conforms() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("cache");
    let cache = Some(SledCache::open(&path).unwrap());
    conformance(&mut Sled {
        _dir: dir,
        path,
        cache,
    });
}

struct Memory(MemoryCache);

impl Backend for Memory {
    fn cache(&self) -> &dyn Cache {
        &self.0
    }

    fn plant(&mut self, id: &str, _key: &str, bytes: &[u8]) {
        self.0.insert_raw(id, bytes);
    }

    /// Nothing to reopen: the records live as long as the value.
    fn reopen(&mut self) {}
}

#[test]
fn memory_cache_conforms() {
    conformance(&mut Memory(MemoryCache::new()));
}

struct S3 {
    moto: Moto,
    url: String,
    scratch: tempfile::TempDir,
    cache: S3Cache,
}

impl S3 {
    fn open(endpoint: &str, url: &str) -> S3Cache {
        let opts = S3Options {
            endpoint: Some(endpoint.to_string()),
            retry_timeout: Duration::from_secs(20),
            request_timeout: Duration::from_secs(10),
            part_size: 16 << 20,
        };
        // No machine-local memo: every read goes to the bucket.
        S3Cache::open(url, &opts, Duration::from_secs(30), None).unwrap()
    }
}

impl Backend for S3 {
    fn cache(&self) -> &dyn Cache {
        &self.cache
    }

    fn plant(&mut self, id: &str, key: &str, bytes: &[u8]) {
        // The record object of cache-format/SPEC.md, written with boto3.
        let file = self.scratch.path().join("planted.json");
        std::fs::write(&file, bytes).unwrap();
        let object = format!("{}/v1/records/{}/{key}.json", self.url, id_tag(id));
        self.moto.tool(&["put", file.to_str().unwrap(), &object]);
    }

    fn reopen(&mut self) {
        self.cache = S3::open(&self.moto.endpoint, &self.url);
    }
}

#[test]
fn s3_cache_conforms() {
    in_process_credentials();
    let moto = Moto::start();
    let url = "s3://cache/conformance".to_string();
    let cache = S3::open(&moto.endpoint, &url);
    conformance(&mut S3 {
        moto,
        url,
        scratch: tempfile::tempdir().unwrap(),
        cache,
    });
}
