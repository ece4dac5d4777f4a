//! The key test vectors of `cache-format/vectors.json`: each gives key parts and the expected
//! canonical bytes and key. A change here is a cache-format change: bump
//! `CACHE_FORMAT_VERSION` and regenerate the file with
//! `UPDATE_KEY_VECTORS=1 cargo test --test tests key_vectors`.

use cryoet_ingest::keys::KeyParts;
use serde_json::{json, Value};

fn vectors_path() -> std::path::PathBuf {
    crate::common::repo().join("cache-format/vectors.json")
}

#[test]
fn key_vectors_match_the_spec() {
    let text = std::fs::read_to_string(vectors_path()).unwrap();
    let mut doc: Value = serde_json::from_str(&text).unwrap();
    let update = std::env::var_os("UPDATE_KEY_VECTORS").is_some();
    let vectors = doc["vectors"].as_array_mut().unwrap();
    assert!(vectors.len() >= 3);
    for v in vectors.iter_mut() {
        let parts: KeyParts = serde_json::from_value(v["parts"].clone()).unwrap();
        let canonical = String::from_utf8(parts.canonical_bytes()).unwrap();
        // Independent of the code under test: BLAKE3 over the documented domain line + bytes.
        let mut h = blake3::Hasher::new();
        h.update(b"cryoet-ingest/target-key/v1\n");
        h.update(canonical.as_bytes());
        let by_spec = h.finalize().to_hex().to_string();
        assert_eq!(parts.key().to_hex(), by_spec, "{}", v["name"]);
        if update {
            v["canonical"] = json!(canonical);
            v["key"] = json!(by_spec);
        } else {
            assert_eq!(v["canonical"], json!(canonical), "{}", v["name"]);
            assert_eq!(v["key"], json!(by_spec), "{}", v["name"]);
        }
    }
    if update {
        std::fs::write(
            vectors_path(),
            serde_json::to_string_pretty(&doc).unwrap() + "\n",
        )
        .unwrap();
    }
}
