//! The S3 backend of [`Store`](super::Store), on `object_store`.
//!
//! - **Fingerprints** come from listings: `(key, ETag, size)`. A source prefix is listed once per
//!   run and every later glob, head or list under it is answered from that listing, so a fresh
//!   target issues no request at all.
//! - **Reads of sources** send `If-Match: <ETag>`: an object replaced between the listing and the
//!   read fails the target (412 → [`StorageError::Changed`]) instead of storing new bytes under
//!   the old key.
//! - **Writes** are staged on the local disk and uploaded on publish: small files with one PUT,
//!   large ones multipart with bounded memory; a replaced folder loses the objects the new one
//!   does not have. Zarr metadata files go last, so a reader never sees metadata whose chunks are
//!   not there yet.
//! - **Retries**: `object_store` retries 5xx, throttling, timeouts and connection errors with
//!   exponential backoff and jitter, within [`S3Options::retry_timeout`]; other errors fail with
//!   the bucket and key in the message.
//! - **Request counts** by type are kept for reports (`--report`), counted at the HTTP layer so
//!   retries count too.

use super::{GlobPattern, Match, ObjectInfo, Result, StorageError};
use futures::{StreamExt, TryStreamExt};
use object_store::aws::{AmazonS3, AmazonS3Builder};
use object_store::client::{
    HttpClient, HttpConnector, HttpError, HttpRequest, HttpResponse, HttpService, ReqwestConnector,
};
use object_store::path::Path as ObjectPath;
use object_store::{
    Attribute, Attributes, BackoffConfig, ClientOptions, GetOptions, GetRange, ObjectStore,
    ObjectStoreExt, PutMode, PutMultipartOptions, PutOptions, PutPayload, RetryConfig,
    UpdateVersion, WriteMultipart,
};
use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

/// Objects up to the part size (default 16 MiB) upload with one PUT; larger ones are multipart
/// in parts of that size. S3 requires at least 5 MiB per part.
const DEFAULT_PART_SIZE: usize = 16 << 20;
const MIN_PART_SIZE: usize = 5 << 20;
/// Multipart parts in flight per upload (memory: about `(PARTS_IN_FLIGHT + 2) × part size`).
const PARTS_IN_FLIGHT: usize = 2;
/// Files of one folder output uploaded at once.
const UPLOADS_IN_FLIGHT: usize = 8;
/// Read-ahead block of ranged reads, and how many blocks a reader keeps.
const READ_BLOCK: u64 = 8 << 20;
const READ_BLOCKS_KEPT: usize = 8;

/// How to reach S3 (or an S3-compatible server).
#[derive(Debug, Clone)]
pub struct S3Options {
    /// Endpoint URL of an S3-compatible server (path-style requests; `http://` allowed).
    pub endpoint: Option<String>,
    /// How long one request may keep retrying transient errors before it fails.
    pub retry_timeout: Duration,
    /// Timeout of one HTTP request.
    pub request_timeout: Duration,
    /// Size of multipart upload parts (and the largest object sent with one PUT).
    pub part_size: usize,
}

impl Default for S3Options {
    fn default() -> Self {
        S3Options {
            endpoint: std::env::var("AWS_ENDPOINT_URL")
                .ok()
                .filter(|s| !s.is_empty()),
            retry_timeout: Duration::from_secs(180),
            request_timeout: Duration::from_secs(60),
            part_size: DEFAULT_PART_SIZE,
        }
    }
}

/// Requests made to S3 by this process, by type.
#[derive(Debug, Default)]
pub struct RequestCounts {
    list: AtomicU64,
    head: AtomicU64,
    get: AtomicU64,
    put: AtomicU64,
    post: AtomicU64,
    delete: AtomicU64,
}

impl RequestCounts {
    /// The counts so far, by type (`LIST`, `HEAD`, `GET`, `PUT`, `POST`, `DELETE`).
    pub fn snapshot(&self) -> BTreeMap<&'static str, u64> {
        [
            ("LIST", &self.list),
            ("HEAD", &self.head),
            ("GET", &self.get),
            ("PUT", &self.put),
            ("POST", &self.post),
            ("DELETE", &self.delete),
        ]
        .into_iter()
        .map(|(k, v)| (k, v.load(Ordering::Relaxed)))
        .collect()
    }
}

/// The process-wide request counters.
pub fn request_counts() -> &'static RequestCounts {
    static COUNTS: OnceLock<RequestCounts> = OnceLock::new();
    COUNTS.get_or_init(RequestCounts::default)
}

/// Counts every HTTP request `object_store` sends (retries included), then sends it.
#[derive(Debug)]
struct CountingService(HttpClient);

#[async_trait::async_trait]
impl HttpService for CountingService {
    async fn call(&self, req: HttpRequest) -> std::result::Result<HttpResponse, HttpError> {
        let c = request_counts();
        let counter = match req.method().as_str() {
            "GET" if req.uri().query().is_some_and(|q| q.contains("list-type")) => &c.list,
            "GET" => &c.get,
            "HEAD" => &c.head,
            "PUT" => &c.put,
            "DELETE" => &c.delete,
            // object_store deletes through the bulk DeleteObjects call.
            "POST" if req.uri().query().is_some_and(|q| q.contains("delete")) => &c.delete,
            _ => &c.post,
        };
        counter.fetch_add(1, Ordering::Relaxed);
        self.0.execute(req).await
    }
}

#[derive(Debug, Default)]
struct CountingConnector;

impl HttpConnector for CountingConnector {
    fn connect(&self, options: &ClientOptions) -> object_store::Result<HttpClient> {
        let inner = ReqwestConnector::default().connect(options)?;
        Ok(HttpClient::new(CountingService(inner)))
    }
}

/// The runtime that drives `object_store`'s futures; the rest of the tool is synchronous.
fn runtime() -> &'static tokio::runtime::Runtime {
    static RT: OnceLock<tokio::runtime::Runtime> = OnceLock::new();
    RT.get_or_init(|| {
        tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .expect("tokio runtime")
    })
}

fn block_on<F: std::future::Future>(f: F) -> F::Output {
    runtime().block_on(f)
}

/// Splits `s3://bucket/prefix` into bucket and prefix (no trailing `/`).
///
/// # Errors
/// A URL with no bucket.
pub fn parse_url(url: &str) -> Result<(String, String)> {
    let rest = url
        .strip_prefix("s3://")
        .ok_or_else(|| StorageError::Unsupported(format!("{url}: not an s3:// URL")))?;
    let (bucket, prefix) = rest.split_once('/').unwrap_or((rest, ""));
    if bucket.is_empty() {
        return Err(StorageError::Unsupported(format!("{url}: no bucket name")));
    }
    Ok((bucket.to_string(), prefix.trim_matches('/').to_string()))
}

/// Whether a location names S3.
pub fn is_s3(location: &str) -> bool {
    location.starts_with("s3://")
}

/// An `s3://bucket/prefix` root.
#[derive(Clone)]
pub struct S3Store {
    inner: Arc<Inner>,
}

struct Inner {
    store: Arc<AmazonS3>,
    bucket: String,
    prefix: String,
    /// Listings memoised by key prefix ("" = everything). Only for stores that do not change
    /// during a run (INPUT), or for [`S3Store::snapshot_exists`].
    listings: Mutex<Vec<(String, Arc<Vec<ObjectInfo>>)>>,
    memo_listings: AtomicBool,
    part_size: usize,
    /// Whether the store is a source root, listed whole (an output root may hold much more than
    /// this deposition, so only the prefixes asked for are listed).
    is_source: bool,
    /// Listings of top-level folders for [`S3Store::snapshot_exists`].
    snapshots: Mutex<BTreeMap<String, Arc<Vec<ObjectInfo>>>>,
    /// Small objects already read, by (key, ETag), on this machine: see [`S3Store::read_listed`].
    object_memo: OnceLock<sled::Tree>,
}

impl S3Store {
    /// Opens `s3://bucket/prefix`. Listings are memoised until [`S3Store::end_discovery`]: a
    /// source root (`is_source`) is listed once, whole; other roots once per prefix asked for.
    ///
    /// # Errors
    /// A malformed URL or client configuration.
    pub fn open(url: &str, opts: &S3Options, is_source: bool) -> Result<S3Store> {
        let (bucket, prefix) = parse_url(url)?;
        let mut builder = AmazonS3Builder::from_env()
            .with_bucket_name(&bucket)
            .with_http_connector(CountingConnector)
            .with_retry(RetryConfig {
                backoff: BackoffConfig::default(),
                max_retries: 12,
                retry_timeout: opts.retry_timeout,
            })
            .with_client_options(
                ClientOptions::new()
                    .with_timeout(opts.request_timeout)
                    .with_connect_timeout(Duration::from_secs(5)),
            );
        let env = |k: &str| std::env::var(k).ok().filter(|v| !v.is_empty());
        if env("AWS_REGION").is_none() && env("AWS_DEFAULT_REGION").is_none() {
            builder = builder.with_region(
                super::aws_profile::region().unwrap_or_else(|| "us-east-1".to_string()),
            );
        }
        if env("AWS_ACCESS_KEY_ID").is_none() {
            if let Some(creds) = super::aws_profile::credentials() {
                builder = builder
                    .with_access_key_id(creds.access_key_id)
                    .with_secret_access_key(creds.secret_access_key);
                if let Some(token) = creds.session_token {
                    builder = builder.with_token(token);
                }
            }
        }
        if let Some(endpoint) = &opts.endpoint {
            builder = builder
                .with_endpoint(endpoint)
                .with_allow_http(endpoint.starts_with("http://"))
                .with_virtual_hosted_style_request(false);
        }
        let store = builder
            .build()
            .map_err(|e| StorageError::Unsupported(format!("{url}: {e}")))?;
        Ok(S3Store {
            inner: Arc::new(Inner {
                store: Arc::new(store),
                bucket,
                prefix,
                listings: Mutex::new(Vec::new()),
                memo_listings: AtomicBool::new(true),
                part_size: opts.part_size.max(MIN_PART_SIZE),
                is_source,
                snapshots: Mutex::new(BTreeMap::new()),
                object_memo: OnceLock::new(),
            }),
        })
    }

    /// `s3://bucket/prefix/key`, for messages.
    pub fn describe(&self, key: &str) -> String {
        let full = self.full_key(key);
        format!("s3://{}/{full}", self.inner.bucket)
    }

    fn full_key(&self, key: &str) -> String {
        let key = key.trim_matches('/');
        match (self.inner.prefix.is_empty(), key.is_empty()) {
            (true, _) => key.to_string(),
            (false, true) => self.inner.prefix.clone(),
            (false, false) => format!("{}/{key}", self.inner.prefix),
        }
    }

    fn path(&self, key: &str) -> ObjectPath {
        ObjectPath::from(self.full_key(key))
    }

    fn relative(&self, location: &ObjectPath) -> String {
        let full = location.as_ref();
        if self.inner.prefix.is_empty() {
            full.to_string()
        } else {
            full.strip_prefix(&self.inner.prefix)
                .map(|r| r.trim_start_matches('/'))
                .unwrap_or(full)
                .to_string()
        }
    }

    fn error(&self, key: &str, e: object_store::Error) -> StorageError {
        let location = self.describe(key);
        match e {
            object_store::Error::NotFound { .. } => StorageError::NotFound { location },
            e => StorageError::Io {
                location,
                source: std::io::Error::other(condense(&e.to_string())),
            },
        }
    }

    /// Maps a failed conditional read: 412 means the object is no longer the one listed.
    fn read_error(&self, expected: &ObjectInfo, e: object_store::Error) -> StorageError {
        match e {
            object_store::Error::Precondition { .. } => StorageError::Changed {
                location: self.describe(&expected.key),
                expected: format!("ETag {} ({} bytes)", expected.etag, expected.size),
                found: "another ETag".to_string(),
            },
            e => self.error(&expected.key, e),
        }
    }

    /// Stops answering from memoised listings (an output root, once the build starts changing
    /// it). A source root keeps its listing: the build checks every read against it anyway.
    pub fn end_discovery(&self) {
        if !self.inner.is_source {
            self.inner.memo_listings.store(false, Ordering::Relaxed);
            self.inner.listings.lock().expect("listing memo").clear();
        }
    }

    fn memo(&self) -> bool {
        self.inner.memo_listings.load(Ordering::Relaxed)
    }

    /// A printable identity of the root (picks the default cache).
    pub fn root_identity(&self) -> String {
        self.describe("")
    }

    /// Every object under folder `prefix` (keys relative to the root), sorted. Answered from a
    /// memoised listing of the same or an enclosing prefix when there is one.
    fn list_under(&self, prefix: &str, memo: bool) -> Result<Arc<Vec<ObjectInfo>>> {
        let prefix = prefix.trim_matches('/').to_string();
        if memo {
            if let Some((p, list)) = self.memo_covering(&prefix) {
                if p == prefix {
                    return Ok(list);
                }
                let under = format!("{prefix}/");
                let filtered = list
                    .iter()
                    .filter(|o| prefix.is_empty() || o.key.starts_with(&under))
                    .cloned()
                    .collect();
                return Ok(Arc::new(filtered));
            }
        }
        let path = self.path(&prefix);
        let listed: Vec<object_store::ObjectMeta> = block_on(async {
            let root = (!path.as_ref().is_empty()).then_some(&path);
            self.inner.store.list(root).try_collect().await
        })
        .map_err(|e| self.error(&prefix, e))?;
        let mut out = Vec::with_capacity(listed.len());
        for meta in listed {
            let key = self.relative(&meta.location);
            let etag = meta.e_tag.ok_or_else(|| {
                StorageError::Unsupported(format!(
                    "{}: the server listed it without an ETag",
                    self.describe(&key)
                ))
            })?;
            out.push(ObjectInfo {
                key,
                etag,
                size: meta.size,
            });
        }
        out.sort();
        let out = Arc::new(out);
        if memo {
            self.inner
                .listings
                .lock()
                .expect("listing memo")
                .push((prefix, out.clone()));
        }
        Ok(out)
    }

    /// Objects and folders matching a glob, from one listing of the pattern's literal prefix.
    pub fn glob(&self, pattern: &GlobPattern) -> Result<Vec<Match>> {
        use super::glob::Segment;
        let segments = pattern.segments();
        if segments.is_empty() {
            return Ok(Vec::new());
        }
        let literal: Vec<&str> = segments[..segments.len() - 1]
            .iter()
            .map_while(|s| match s {
                Segment::Literal(name) => Some(name.as_str()),
                Segment::Wild { .. } | Segment::AnyDepth => None,
            })
            .collect();
        // A source root is one deposition: one listing of all of it answers every glob. An
        // output root may hold every dataset of the portal: list at most the dataset and run
        // folders the pattern names (a run's worker then lists only its runs), once each.
        let base = if self.inner.is_source {
            String::new()
        } else {
            literal[..literal.len().min(2)].join("/")
        };
        let listing = self.list_under(&base, self.memo())?;
        let mut found: BTreeMap<String, bool> = BTreeMap::new();
        for object in listing.iter() {
            let parts: Vec<&str> = object.key.split('/').collect();
            for n in pattern.matched_prefixes(&parts) {
                let key = parts[..n].join("/");
                let is_dir = parts.len() > n;
                *found.entry(key).or_insert(is_dir) |= is_dir;
            }
        }
        Ok(found
            .into_iter()
            .map(|(key, is_dir)| Match { key, is_dir })
            .collect())
    }

    /// Every object under `prefix` (an object key or a folder key), sorted.
    pub fn list_files(&self, prefix: &str) -> Result<Vec<ObjectInfo>> {
        let under = self.list_under(prefix, self.memo())?;
        if !under.is_empty() {
            return Ok(under.as_ref().clone());
        }
        match self.head(prefix)? {
            Some(one) => Ok(vec![one]),
            None => Err(StorageError::NotFound {
                location: self.describe(prefix),
            }),
        }
    }

    /// The listing entry of one object, or `None`.
    pub fn head(&self, key: &str) -> Result<Option<ObjectInfo>> {
        if self.memo() {
            if let Some(parent) = key.rsplit_once('/').map(|(p, _)| p) {
                if let Some((_, list)) = self.memo_covering(parent) {
                    // Listings are sorted by key.
                    let found = list.binary_search_by(|o| o.key.as_str().cmp(key));
                    return Ok(found.ok().map(|i| list[i].clone()));
                }
            }
        }
        match block_on(self.inner.store.head(&self.path(key))) {
            Ok(meta) => Ok(Some(ObjectInfo {
                key: key.to_string(),
                etag: meta.e_tag.unwrap_or_default(),
                size: meta.size,
            })),
            Err(object_store::Error::NotFound { .. }) => Ok(None),
            Err(e) => Err(self.error(key, e)),
        }
    }

    /// The memoised listing of `prefix` or of a folder enclosing it, with the prefix listed.
    fn memo_covering(&self, prefix: &str) -> Option<(String, Arc<Vec<ObjectInfo>>)> {
        let memos = self.inner.listings.lock().expect("listing memo");
        memos
            .iter()
            .find(|(p, _)| p.is_empty() || prefix == p || prefix.starts_with(&format!("{p}/")))
            .cloned()
    }

    /// Whether an object or a folder exists at `key` (live: a HEAD, then a one-page LIST).
    pub fn exists(&self, key: &str) -> bool {
        if matches!(self.head(key), Ok(Some(_))) {
            return true;
        }
        let path = self.path(key);
        // A failed listing is not an object: the output must be (re)written.
        block_on(async { matches!(self.inner.store.list(Some(&path)).next().await, Some(Ok(_))) })
    }

    /// Whether `key` exists, answered from one listing of its dataset/run folder (its first two
    /// segments) taken the first time it is asked, so a fresh target's outputs cost no request
    /// and a shard lists only its own runs. Keys less deep, and keys absent from the listing
    /// (another worker may have written them since), are checked live.
    pub fn snapshot_exists(&self, key: &str) -> bool {
        let segments: Vec<&str> = key.split('/').collect();
        if segments.len() < 3 {
            return self.exists(key);
        }
        let folder = segments[..2].join("/");
        let cached = self
            .inner
            .snapshots
            .lock()
            .expect("snapshots")
            .get(&folder)
            .cloned();
        let listing = match cached {
            Some(l) => l,
            None => match self.list_under(&folder, false) {
                Ok(l) => {
                    let mut snaps = self.inner.snapshots.lock().expect("snapshots");
                    snaps.entry(folder).or_insert(l).clone()
                }
                Err(_) => return self.exists(key),
            },
        };
        // The listing is sorted: the object itself, or the first object under `key/`.
        let at = listing.partition_point(|o| o.key.as_str() < key);
        let dir = format!("{key}/");
        let found = listing.get(at).is_some_and(|o| o.key == key)
            || listing[at..]
                .iter()
                .take_while(|o| o.key.as_str() < dir.as_str() || o.key.starts_with(&dir))
                .any(|o| o.key.starts_with(&dir));
        found || self.exists(key)
    }

    /// One GET with `opts`: the bytes and the object's ETag.
    fn get_bytes(&self, key: &str, opts: GetOptions) -> object_store::Result<(Vec<u8>, String)> {
        block_on(async {
            let got = self.inner.store.get_opts(&self.path(key), opts).await?;
            let etag = got.meta.e_tag.clone().unwrap_or_default();
            Ok((got.bytes().await?.to_vec(), etag))
        })
    }

    /// Reads a whole object.
    pub fn read(&self, key: &str) -> Result<Vec<u8>> {
        self.get_bytes(key, GetOptions::default())
            .map(|(bytes, _)| bytes)
            .map_err(|e| self.error(key, e))
    }

    /// Lets [`S3Store::read_listed`] remember small objects in `tree` across runs.
    pub fn attach_object_memo(&self, tree: sled::Tree) {
        let _ = self.inner.object_memo.set(tree);
    }

    /// Reads a small object as listed: from the machine's memo when it holds this (key, ETag),
    /// else with a GET conditional on the ETag (a changed object fails rather than being
    /// remembered under the old ETag). What an unchanged re-run reads of OUTPUT (existing
    /// metadata, for stable IDs) then costs no request.
    pub fn read_listed(&self, info: &ObjectInfo) -> Result<Vec<u8>> {
        const MEMO_MAX: u64 = 1 << 20;
        let memo_key = format!("{}\0{}", self.describe(&info.key), info.etag);
        let memo = self.inner.object_memo.get();
        if let Some(Ok(Some(bytes))) = memo.map(|m| m.get(&memo_key)) {
            return Ok(bytes.to_vec());
        }
        let bytes = self.read_checked(info)?;
        if let Some(m) = memo.filter(|_| info.size <= MEMO_MAX) {
            let _ = m.insert(memo_key, bytes.as_slice());
        }
        Ok(bytes)
    }

    /// Reads a whole object with its current ETag, or `None` when absent.
    pub fn read_with_etag(&self, key: &str) -> Result<Option<(Vec<u8>, String)>> {
        match self.get_bytes(key, GetOptions::default()) {
            Ok(v) => Ok(Some(v)),
            Err(object_store::Error::NotFound { .. }) => Ok(None),
            Err(e) => Err(self.error(key, e)),
        }
    }

    fn if_match(expected: &ObjectInfo) -> GetOptions {
        GetOptions {
            if_match: Some(expected.etag.clone()),
            ..Default::default()
        }
    }

    /// Reads a whole source object, conditional on its listed ETag.
    pub fn read_checked(&self, expected: &ObjectInfo) -> Result<Vec<u8>> {
        let (bytes, _) = self
            .get_bytes(&expected.key, Self::if_match(expected))
            .map_err(|e| self.read_error(expected, e))?;
        self.check_size(expected, bytes.len() as u64)?;
        Ok(bytes)
    }

    fn check_size(&self, expected: &ObjectInfo, size: u64) -> Result<()> {
        if size != expected.size {
            return Err(StorageError::Changed {
                location: self.describe(&expected.key),
                expected: format!("{} bytes", expected.size),
                found: format!("{size} bytes"),
            });
        }
        Ok(())
    }

    /// Streams a source object into a local file, conditional on its listed ETag; returns the
    /// BLAKE3 hex of the bytes.
    pub fn copy_checked(&self, expected: &ObjectInfo, to: &Path) -> Result<String> {
        use std::io::Write;
        let io_err = |source| StorageError::Io {
            location: to.display().to_string(),
            source,
        };
        let mut file = std::fs::File::create(to).map_err(io_err)?;
        let mut hasher = blake3::Hasher::new();
        let mut size = 0u64;
        block_on(async {
            let got = self
                .inner
                .store
                .get_opts(&self.path(&expected.key), Self::if_match(expected))
                .await
                .map_err(|e| self.read_error(expected, e))?;
            let mut stream = got.into_stream();
            while let Some(chunk) = stream.next().await {
                let chunk = chunk.map_err(|e| self.read_error(expected, e))?;
                hasher.update(&chunk);
                file.write_all(&chunk).map_err(io_err)?;
                size += chunk.len() as u64;
            }
            Ok::<_, StorageError>(())
        })?;
        file.sync_all().map_err(io_err)?;
        self.check_size(expected, size)?;
        Ok(hasher.finalize().to_hex().to_string())
    }

    /// Opens an object for ranged reads; with `expected`, every read is conditional on its ETag.
    pub fn open_ranged(&self, expected: Option<&ObjectInfo>, key: &str) -> Result<RemoteObject> {
        let info = match expected {
            Some(e) => e.clone(),
            None => self.head(key)?.ok_or_else(|| StorageError::NotFound {
                location: self.describe(key),
            })?,
        };
        Ok(RemoteObject {
            store: self.clone(),
            info,
            blocks: Mutex::new(Vec::new()),
        })
    }

    fn get_range(&self, info: &ObjectInfo, range: std::ops::Range<u64>) -> Result<Vec<u8>> {
        let opts = GetOptions {
            range: Some(GetRange::Bounded(range)),
            ..Self::if_match(info)
        };
        self.get_bytes(&info.key, opts)
            .map(|(bytes, _)| bytes)
            .map_err(|e| self.read_error(info, e))
    }

    /// Uploads the staged output `key` (a file or a folder under `staged_root`).
    pub fn publish(&self, staged_root: &Path, key: &str) -> Result<()> {
        let local = staged_root.join(key);
        if local.is_file() {
            return block_on(self.upload_file(key.to_string(), local));
        }
        let mut files = Vec::new();
        walk_files(&local, &mut files).map_err(|source| StorageError::Io {
            location: local.display().to_string(),
            source,
        })?;
        // Chunks first, then metadata (names starting with a dot, or zarr.json): a reader of the
        // zarr never sees metadata that points at missing chunks.
        let is_meta = |p: &Path| {
            p.file_name()
                .is_some_and(|n| crate::formats::omezarr::is_metadata_key(&n.to_string_lossy()))
        };
        let (meta, data): (Vec<_>, Vec<_>) = files.into_iter().partition(|p| is_meta(p));
        let key_of = |p: &Path| {
            let rel = p.strip_prefix(staged_root).expect("under the staging root");
            rel.to_string_lossy().replace('\\', "/")
        };
        let mut uploaded = BTreeSet::new();
        for batch in [data, meta] {
            let jobs: Vec<(String, std::path::PathBuf)> =
                batch.into_iter().map(|p| (key_of(&p), p)).collect();
            uploaded.extend(jobs.iter().map(|(k, _)| k.clone()));
            block_on(async {
                futures::stream::iter(jobs)
                    .map(|(k, p)| self.upload_file(k, p))
                    .buffer_unordered(UPLOADS_IN_FLIGHT)
                    .try_collect::<Vec<()>>()
                    .await
            })?;
        }
        // Objects of an older version of the folder that the new one does not have.
        let before = self.list_under(key, false)?;
        let stale: Vec<String> = before
            .iter()
            .filter(|o| !uploaded.contains(&o.key))
            .map(|o| o.key.clone())
            .collect();
        for k in stale {
            self.delete(&k)?;
        }
        Ok(())
    }

    async fn upload_file(&self, key: String, local: std::path::PathBuf) -> Result<()> {
        let io_err = |source| StorageError::Io {
            location: local.display().to_string(),
            source,
        };
        let size = std::fs::metadata(&local).map_err(io_err)?.len();
        let path = self.path(&key);
        let part_size = self.inner.part_size;
        let attributes = attributes_for(&key);
        if size <= part_size as u64 {
            let bytes = std::fs::read(&local).map_err(io_err)?;
            let opts = PutOptions {
                attributes,
                ..Default::default()
            };
            self.inner
                .store
                .put_opts(&path, PutPayload::from(bytes), opts)
                .await
                .map_err(|e| self.error(&key, e))?;
            return Ok(());
        }
        let opts = PutMultipartOptions {
            attributes,
            ..Default::default()
        };
        let upload = self
            .inner
            .store
            .put_multipart_opts(&path, opts)
            .await
            .map_err(|e| self.error(&key, e))?;
        let mut writer = WriteMultipart::new_with_chunk_size(upload, part_size);
        let mut file = std::fs::File::open(&local).map_err(io_err)?;
        let mut buf = vec![0u8; part_size];
        loop {
            let n = read_full(&mut file, &mut buf).map_err(io_err)?;
            if n == 0 {
                break;
            }
            if let Err(e) = writer.wait_for_capacity(PARTS_IN_FLIGHT).await {
                let _ = writer.abort().await;
                return Err(self.error(&key, e));
            }
            writer.write(&buf[..n]);
        }
        writer.finish().await.map_err(|e| self.error(&key, e))?;
        Ok(())
    }

    /// Deletes one object (absent is fine).
    pub fn delete(&self, key: &str) -> Result<()> {
        match block_on(self.inner.store.delete(&self.path(key))) {
            Ok(()) | Err(object_store::Error::NotFound { .. }) => Ok(()),
            Err(e) => Err(self.error(key, e)),
        }
    }

    /// Writes `bytes` at `key` under a condition; `Ok(None)` when the condition failed (the
    /// object exists for [`Condition::Absent`], or has another ETag for [`Condition::Matches`]).
    /// Returns the new ETag.
    pub fn put_conditional(
        &self,
        key: &str,
        bytes: Vec<u8>,
        condition: Condition,
    ) -> Result<Option<String>> {
        let mode = match condition {
            Condition::Absent => PutMode::Create,
            Condition::Matches(etag) => PutMode::Update(UpdateVersion {
                e_tag: Some(etag),
                version: None,
            }),
            Condition::None => PutMode::Overwrite,
        };
        let opts = PutOptions {
            mode,
            ..Default::default()
        };
        match block_on(
            self.inner
                .store
                .put_opts(&self.path(key), PutPayload::from(bytes), opts),
        ) {
            Ok(r) => Ok(Some(r.e_tag.unwrap_or_default())),
            Err(
                object_store::Error::AlreadyExists { .. }
                | object_store::Error::Precondition { .. },
            ) => Ok(None),
            // A conditional update of an object deleted meanwhile.
            Err(object_store::Error::NotFound { .. }) => Ok(None),
            Err(e) => Err(self.error(key, e)),
        }
    }

    /// Every object under a folder key, listed now (no memo).
    pub fn list_live(&self, prefix: &str) -> Result<Vec<ObjectInfo>> {
        Ok(self.list_under(prefix, false)?.as_ref().clone())
    }
}

/// The Content-Type of an output, from its extension, as the reference's uploads set it
/// (Python's `mimetypes`); other objects get the server's default.
pub fn content_type(key: &str) -> Option<&'static str> {
    let ext = key.rsplit_once('.')?.1.to_ascii_lowercase();
    Some(match ext.as_str() {
        "json" => "application/json",
        "png" => "image/png",
        "gif" => "image/gif",
        "jpg" | "jpeg" => "image/jpeg",
        "tif" | "tiff" => "image/tiff",
        "txt" => "text/plain",
        "csv" => "text/csv",
        _ => return None,
    })
}

fn attributes_for(key: &str) -> Attributes {
    content_type(key)
        .map(|t| (Attribute::ContentType, t))
        .into_iter()
        .collect()
}

/// An `object_store` error without the XML body S3 sends: the text before it, then the body's
/// `Code` and `Message`.
fn condense(text: &str) -> String {
    let Some(xml) = text.find("<?xml") else {
        return text.to_string();
    };
    let field = |name: &str| {
        let open = format!("<{name}>");
        let start = text.find(&open)? + open.len();
        let end = text[start..].find(&format!("</{name}>"))? + start;
        Some(
            text[start..end]
                .trim_start_matches("<![CDATA[")
                .trim_end_matches("]]>")
                .to_string(),
        )
    };
    let head = text[..xml].trim_end().trim_end_matches(':');
    match (field("Code"), field("Message")) {
        (Some(code), Some(message)) => format!("{head}: {code}: {message}"),
        _ => head.to_string(),
    }
}

/// The precondition of [`S3Store::put_conditional`].
#[derive(Debug, Clone)]
pub enum Condition {
    /// `If-None-Match: *`: create only.
    Absent,
    /// `If-Match: <etag>`: replace only that version.
    Matches(String),
    /// Unconditional.
    None,
}

fn read_full(file: &mut std::fs::File, buf: &mut [u8]) -> std::io::Result<usize> {
    use std::io::Read;
    let mut n = 0;
    while n < buf.len() {
        match file.read(&mut buf[n..])? {
            0 => break,
            k => n += k,
        }
    }
    Ok(n)
}

/// Every file under `dir`, sorted.
fn walk_files(dir: &Path, out: &mut Vec<std::path::PathBuf>) -> std::io::Result<()> {
    let mut stack = vec![dir.to_path_buf()];
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(&dir)? {
            let entry = entry?;
            if entry.file_type()?.is_dir() {
                stack.push(entry.path());
            } else {
                out.push(entry.path());
            }
        }
    }
    out.sort();
    Ok(())
}

/// An S3 object opened for ranged reads, with read-ahead blocks; every request is conditional on
/// the ETag it was opened with.
pub struct RemoteObject {
    store: S3Store,
    info: ObjectInfo,
    /// Recently read blocks (block index, bytes), most recent last.
    blocks: Mutex<Vec<(u64, Arc<Vec<u8>>)>>,
}

impl RemoteObject {
    fn block(&self, index: u64) -> std::io::Result<Arc<Vec<u8>>> {
        {
            let mut blocks = self.blocks.lock().expect("read blocks");
            if let Some(pos) = blocks.iter().position(|(i, _)| *i == index) {
                let hit = blocks.remove(pos);
                let data = hit.1.clone();
                blocks.push(hit);
                return Ok(data);
            }
        }
        let start = index * READ_BLOCK;
        let end = (start + READ_BLOCK).min(self.info.size);
        let data = Arc::new(
            self.store
                .get_range(&self.info, start..end)
                .map_err(std::io::Error::other)?,
        );
        let mut blocks = self.blocks.lock().expect("read blocks");
        if blocks.len() >= READ_BLOCKS_KEPT {
            blocks.remove(0);
        }
        blocks.push((index, data.clone()));
        Ok(data)
    }
}

impl crate::formats::mrc::ByteSource for RemoteObject {
    fn len(&self) -> u64 {
        self.info.size
    }

    fn read_at(&self, offset: u64, buf: &mut [u8]) -> std::io::Result<()> {
        let end = offset + buf.len() as u64;
        if end > self.info.size {
            return Err(std::io::Error::new(
                std::io::ErrorKind::UnexpectedEof,
                format!(
                    "{}: read past the end ({end} > {} bytes)",
                    self.store.describe(&self.info.key),
                    self.info.size
                ),
            ));
        }
        if buf.len() as u64 >= READ_BLOCK {
            let data = self
                .store
                .get_range(&self.info, offset..end)
                .map_err(std::io::Error::other)?;
            buf.copy_from_slice(&data);
            return Ok(());
        }
        let mut pos = offset;
        while pos < end {
            let index = pos / READ_BLOCK;
            let block = self.block(index)?;
            let within = (pos - index * READ_BLOCK) as usize;
            let take = ((end - pos) as usize).min(block.len() - within);
            let at = (pos - offset) as usize;
            buf[at..at + take].copy_from_slice(&block[within..within + take]);
            pos += take as u64;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn s3_error_bodies_are_condensed_to_code_and_message() {
        let text = "Error performing GET http://h/b in 6ms - Server returned non-2xx status code: 404 Not Found: <?xml version=\"1.0\"?>\n<Error>\n <Code>NoSuchBucket</Code>\n <Message><![CDATA[The specified bucket does not exist]]></Message>\n</Error>";
        assert_eq!(
            condense(text),
            "Error performing GET http://h/b in 6ms - Server returned non-2xx status code: 404 Not Found: NoSuchBucket: The specified bucket does not exist"
        );
        assert_eq!(condense("timeout"), "timeout");
    }

    #[test]
    fn urls_split_into_bucket_and_prefix() {
        assert_eq!(
            parse_url("s3://b/a/c/").unwrap(),
            ("b".to_string(), "a/c".to_string())
        );
        assert_eq!(parse_url("s3://b").unwrap(), ("b".into(), String::new()));
        assert!(parse_url("s3:///x").is_err());
    }
}
