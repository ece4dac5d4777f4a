//! One conformance suite for the OUTPUT stores: a local folder and an S3 prefix (moto's server).
//! Both run the same checks of what [`Store`] promises: staged outputs appear only on publish,
//! a folder output is replaced whole, listings are sorted and fingerprinted, a changed object is
//! refused, missing objects are errors that name them, and folder removal is literal.

use crate::s3::{in_process_credentials, Moto};
use cryoet_ingest::storage::{GlobPattern, Match, Role, S3Options, StorageError, Store, StoreKey};
use std::time::Duration;

fn opts(endpoint: Option<&str>) -> S3Options {
    S3Options {
        endpoint: endpoint.map(str::to_string),
        retry_timeout: Duration::from_secs(20),
        request_timeout: Duration::from_secs(10),
        part_size: 16 << 20,
    }
}

/// The keys and sizes of every file under `prefix`.
fn listing(store: &Store, prefix: &str) -> Vec<(String, u64)> {
    store
        .list_files(prefix)
        .unwrap()
        .into_iter()
        .map(|o| (o.key, o.size))
        .collect()
}

/// The checks every store passes. `open` opens a new handle on the same root (as the next
/// process would), past discovery: listings are live, as while targets build.
fn conformance(open: &dyn Fn() -> Store) {
    let store = open();
    let at = store.describe("");
    let key = |k: &str| StoreKey::new(k).unwrap();
    let (meta, zarr) = (&key("ds/run/meta.json"), &key("ds/run/v.zarr"));

    // Staged outputs are invisible until published; a staging dropped unpublished leaves none.
    let mut staging = store.staging().unwrap();
    staging.write(meta, b"{\"a\": 1}").unwrap();
    let folder = staging.path_for(zarr).unwrap();
    std::fs::create_dir_all(folder.join("0")).unwrap();
    std::fs::write(folder.join("0/0"), [7u8; 100]).unwrap();
    std::fs::write(folder.join(".zattrs"), b"{}").unwrap();
    assert!(!store.exists(meta), "{at}: staged is not published");
    assert!(!store.exists(zarr), "{at}");
    let mut dropped = store.staging().unwrap();
    dropped.write(&key("ds/run/abandoned.json"), b"{}").unwrap();
    drop(dropped);
    staging.publish().unwrap();
    assert!(!store.exists("ds/run/abandoned.json"), "{at}");

    // Published: readable whole, listed sorted with sizes, present as outputs.
    assert_eq!(store.read(meta).unwrap(), b"{\"a\": 1}", "{at}");
    assert_eq!(
        listing(&store, zarr),
        [(format!("{zarr}/.zattrs"), 2), (format!("{zarr}/0/0"), 100)],
        "{at}"
    );
    assert_eq!(listing(&store, meta), [(meta.to_string(), 8)], "{at}");
    let head = store.head(meta).unwrap().expect("published");
    assert_eq!((head.key.as_str(), head.size), (meta.as_str(), 8), "{at}");
    assert!(!head.etag.is_empty(), "{at}: a fingerprint");
    let fresh = open();
    for key in [meta, zarr] {
        assert!(fresh.output_present(key), "{at}: {key}");
        assert!(fresh.exists(key), "{at}: {key}");
    }
    assert!(!fresh.output_present("ds/run/never.json"), "{at}");
    assert!(!fresh.exists("ds/run/never.json"), "{at}");

    // Globs: files and folders, sorted, hidden names and staging excluded.
    let found = |pattern: &str| open().glob(&GlobPattern::new(pattern).unwrap()).unwrap();
    let m = |key: &str, is_dir: bool| Match {
        key: key.to_string(),
        is_dir,
    };
    assert_eq!(found("ds/*/meta.json"), [m(meta, false)], "{at}");
    assert_eq!(found("ds/run/*.zarr"), [m(zarr, true)], "{at}");
    assert_eq!(found("ds/**/*.json"), [m(meta, false)], "{at}");

    // Reads against a fingerprint: the listed one passes, another one is refused.
    assert_eq!(store.read_checked(&head).unwrap(), b"{\"a\": 1}", "{at}");
    let mut stale = head.clone();
    stale.etag = "\"0123456789abcdef0123456789abcdef\"".to_string();
    match store.read_checked(&stale) {
        Err(StorageError::Changed { location, .. }) => {
            assert_eq!(location, store.describe(meta), "{at}")
        }
        other => panic!("{at}: a changed object read as {other:?}"),
    }

    // Missing objects: `None` from head, errors that name them from reads and listings.
    let missing = "ds/run/missing.json";
    assert_eq!(store.head(missing).unwrap(), None, "{at}");
    for err in [
        store.read(missing).unwrap_err(),
        store.list_files(missing).unwrap_err(),
    ] {
        assert!(
            err.to_string().contains(&store.describe(missing)),
            "{at}: {err}"
        );
    }

    // Republishing a folder output replaces it whole: files the new version lacks are gone.
    // A file output is replaced too.
    let mut staging = store.staging().unwrap();
    let folder = staging.path_for(zarr).unwrap();
    std::fs::create_dir_all(folder.join("0")).unwrap();
    std::fs::write(folder.join("0/1"), [8u8; 50]).unwrap();
    std::fs::write(folder.join(".zattrs"), b"{\"v\": 2}").unwrap();
    staging.write(meta, b"{\"a\": 2}").unwrap();
    staging.publish().unwrap();
    assert_eq!(
        listing(&store, zarr),
        [(format!("{zarr}/.zattrs"), 8), (format!("{zarr}/0/1"), 50)],
        "{at}"
    );
    assert_eq!(store.read(meta).unwrap(), b"{\"a\": 2}", "{at}");

    // Folder removal is literal: `v.zarr` never touches `v.zarr2`.
    let mut staging = store.staging().unwrap();
    staging.write(&key("ds/run/v.zarr2/x"), b"x").unwrap();
    staging.publish().unwrap();
    assert_eq!(store.remove_folder(zarr).unwrap(), 2, "{at}");
    assert!(!store.exists(zarr), "{at}");
    assert_eq!(store.read("ds/run/v.zarr2/x").unwrap(), b"x", "{at}");
    assert_eq!(store.remove_folder(zarr).unwrap(), 0, "{at}: already gone");
}

#[test]
fn local_store_conforms() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("out");
    let root = root.to_str().unwrap();
    conformance(&|| {
        let store = Store::open_with(root, Role::Output, &opts(None)).unwrap();
        store.end_discovery();
        store
    });
}

#[test]
fn s3_store_conforms() {
    in_process_credentials();
    let moto = Moto::start();
    let endpoint = moto.endpoint.clone();
    conformance(&|| {
        let store =
            Store::open_with("s3://out/conformance", Role::Output, &opts(Some(&endpoint))).unwrap();
        store.end_discovery();
        store
    });
}
