//! HTTP(S) sources: the portal's configs name dataset key photos by URL.
//!
//! A URL is fingerprinted by a `HEAD`: its `ETag`, or `lm:<Last-Modified>` when the server sends
//! no ETag, plus `Content-Length`. A build reads it with a `GET` and refuses a response whose
//! validator differs from the one the plan saw.

use super::{ObjectInfo, Result, StorageError};
use reqwest::blocking::{Client, Response};
use reqwest::header::{CONTENT_LENGTH, ETAG, LAST_MODIFIED};
use std::time::Duration;

/// Whether a source path is a URL this module reads.
pub fn is_url(path: &str) -> bool {
    path.starts_with("http://") || path.starts_with("https://")
}

fn client() -> Result<Client> {
    Client::builder()
        .timeout(Duration::from_secs(60))
        .build()
        .map_err(|e| StorageError::Unsupported(format!("HTTP client: {e}")))
}

fn io_error(url: &str, e: impl std::fmt::Display) -> StorageError {
    StorageError::Io {
        location: url.to_string(),
        source: std::io::Error::other(e.to_string()),
    }
}

fn validator(url: &str, response: &Response) -> ObjectInfo {
    let header = |name| {
        response
            .headers()
            .get(name)
            .and_then(|v: &reqwest::header::HeaderValue| v.to_str().ok())
            .map(str::to_string)
    };
    let etag = header(ETAG)
        .or_else(|| header(LAST_MODIFIED).map(|lm| format!("lm:{lm}")))
        .unwrap_or_default();
    let size = header(CONTENT_LENGTH)
        .and_then(|v| v.parse().ok())
        .unwrap_or(0);
    ObjectInfo {
        key: url.to_string(),
        etag,
        size,
    }
}

/// The fingerprint of `url`, or `None` when the server answers anything but 200.
///
/// # Errors
/// Connection errors (the caller decides whether a missing photo falls back).
pub fn head(url: &str) -> Result<Option<ObjectInfo>> {
    let response = client()?.head(url).send().map_err(|e| io_error(url, e))?;
    if response.status().as_u16() != 200 {
        return Ok(None);
    }
    Ok(Some(validator(url, &response)))
}

/// The bytes of `expected.key`, refusing a response whose fingerprint changed since `head`.
///
/// # Errors
/// [`StorageError::Changed`], HTTP and connection errors naming the URL.
pub fn get_checked(expected: &ObjectInfo) -> Result<Vec<u8>> {
    let url = &expected.key;
    let response = client()?.get(url).send().map_err(|e| io_error(url, e))?;
    if !response.status().is_success() {
        return Err(io_error(url, format!("HTTP {}", response.status())));
    }
    let found = validator(url, &response);
    let bytes = response.bytes().map_err(|e| io_error(url, e))?.to_vec();
    if found.etag != expected.etag || bytes.len() as u64 != expected.size {
        return Err(StorageError::Changed {
            location: url.clone(),
            expected: format!("{} ({} bytes)", expected.etag, expected.size),
            found: format!("{} ({} bytes)", found.etag, bytes.len()),
        });
    }
    Ok(bytes)
}
