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
//!
//! This file holds the client (options, request counting, paths, errors); [`listing`], [`read`]
//! and [`write`] hold the three kinds of request.

mod listing;
mod read;
mod write;

pub use read::RemoteObject;
pub use write::{content_type, Condition};

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
    /// How long one read keeps retrying ([`S3Options::retry_timeout`]).
    retry_timeout: Duration,
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
                retry_timeout: opts.retry_timeout,
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
