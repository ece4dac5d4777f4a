//! Target keys: what makes a target fresh or stale.
//!
//! A target's **key** is a BLAKE3 hash over its [`KeyParts`]:
//!
//! | part | in key? | shown by `explain`? |
//! |---|---|---|
//! | cache-format version ([`CACHE_FORMAT_VERSION`]) | yes | yes, as a version bump |
//! | target kind and its output-format version ([`kind_version`]) | yes | yes, as a version bump |
//! | config block after template expansion, plus derived output paths and IDs | yes | yes, field path with old → new |
//! | sources read: (key relative to INPUT, ETag, size), sorted | yes | yes, per object |
//! | the targets it reads: output digest, or pending / not built ([`Parent`]) | yes | yes, per parent |
//! | mtimes, absolute paths, host names, `last_updated_at` | **never** | – |
//!
//! Keying on parents' *output digests* rather than their keys gives early cutoff: a parent that
//! rebuilds with identical outputs leaves its children fresh. That needs deterministic outputs,
//! so volatile fields (`last_updated_at`, timestamps in MRC labels) are kept out of digests.
//!
//! The cache stores, per target, the key *and its parts*, so `explain` diffs stored parts against
//! today's instead of re-hashing blindly ([`KeyParts::compare`] → [`StaleReason`]). The exact byte
//! encoding is specified in `cache-format/SPEC.md`, with test vectors checked by a test.

mod explain;

pub use explain::{render_reasons, StaleReason};

use crate::storage::{ObjectInfo, StoreKey};
use crate::EntityKind;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// Version of the key derivation and record layout. Bumping it makes every target stale.
/// 2: parents are [`Parent`] values (`{"built": digest}`, `"pending"`, `"not_built"`) instead
/// of bare strings, where a digest and the words "pending" / "not built" shared one namespace.
pub const CACHE_FORMAT_VERSION: u32 = 2;

/// Domain separator hashed before the parts, so a key never collides with another BLAKE3 use.
const KEY_DOMAIN: &[u8] = b"cryoet-ingest/target-key/v1\n";

/// Output-format version of a kind: bump one when the tool changes what that kind writes, and
/// only that kind's targets rebuild (in every dataset).
pub fn kind_version(kind: EntityKind) -> u32 {
    use EntityKind::*;
    // A kind whose writer changes moves to its own arm with the next number and a comment
    // saying what changed.
    match kind {
        Deposition | Dataset | Run | Gain | CollectionMetadata | Frame | Ctf | Rawtilt
        | IdentifiedObject | VoxelSpacing | VizConfig => 1,
        // 2: MRC dmean/rms in numpy's float32 arithmetic, as the reference writes them.
        Tiltseries | Tomogram => 2,
        // 2: MRC dmean/rms as the reference; the instance masks' `image-label` moves into
        // `multiscales[0].metadata`.
        Annotation => 2,
        // 2: x/y offsets computed from +0.0, as numpy's matrix product (no `-0.0`).
        Alignment => 2,
        // 2: segmentation meshes are zmesh's (LOD 0) and pyfqmr's (coarser LODs), exactly.
        // 3: mesh fragments are Draco edgebreaker + rANS (same decoded meshes, ~4× smaller).
        // 4: fragment positions stored as DracoPy stores igneous's integers (exact; they were
        // quantized again and decoded up to 0.45 stored units off).
        AnnotationViz => 4,
        // 2: annotation overlays (visualization-default masks and points) are drawn.
        KeyImage => 2,
        // 2: configured paths are `bucket/key` (not keys of INPUT), a configured photo that is
        // not found fails instead of falling back, and sources are keyed by the configured path.
        DatasetKeyphoto | DepositionKeyphoto => 2,
    }
}

/// Everything a target's key is made of, kept whole in the cache record so `explain` can diff.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct KeyParts {
    /// [`CACHE_FORMAT_VERSION`] at build time.
    pub cache_format: u32,
    /// The target's kind.
    pub kind: EntityKind,
    /// [`kind_version`] of that kind at build time.
    pub kind_version: u32,
    /// The canonical config of the target: block metadata after template expansion, the finder
    /// entry, derived output paths and IDs, build options that change outputs.
    pub config: serde_json::Value,
    /// Every source object the target reads, sorted by key.
    pub sources: Vec<ObjectInfo>,
    /// State of every target whose outputs this one reads, by target id.
    pub parents: BTreeMap<String, Parent>,
}

/// What a target's key says of one target it reads.
///
/// Serialized externally tagged, so a digest can never be mistaken for a state:
/// `{"built": "<hex>"}`, `"pending"`, `"not_built"`. Records of cache format 1 held bare
/// strings; they still decode (a digest as `Built`, "pending", "not built"), so an old record
/// reads as "cache format version 1 → 2" rather than as damaged.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Parent {
    /// Built (this run or before) with this output digest.
    Built(String),
    /// Would rebuild in this dry run: its output digest is not known yet.
    Pending,
    /// Neither planned in this run nor recorded in the cache.
    NotBuilt,
}

impl<'de> Deserialize<'de> for Parent {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Parent, D::Error> {
        /// Format 2's tagged form.
        #[derive(Deserialize)]
        #[serde(rename_all = "snake_case")]
        enum Tagged {
            Built(String),
            Pending,
            NotBuilt,
        }
        /// Either form: format 2's, or format 1's bare string.
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum Any {
            Tagged(Tagged),
            Legacy(String),
        }
        Ok(match Any::deserialize(d)? {
            Any::Tagged(Tagged::Built(digest)) => Parent::Built(digest),
            Any::Tagged(Tagged::Pending) => Parent::Pending,
            Any::Tagged(Tagged::NotBuilt) => Parent::NotBuilt,
            Any::Legacy(s) if s == "not built" => Parent::NotBuilt,
            Any::Legacy(digest) => Parent::Built(digest),
        })
    }
}

/// A target's key: 32 bytes of BLAKE3, shown as hex.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct ContentKey(pub [u8; 32]);

impl ContentKey {
    /// Lower-case hex form, as stored in records.
    pub fn to_hex(&self) -> String {
        blake3::Hash::from(self.0).to_hex().to_string()
    }
}

impl KeyParts {
    /// Builds the parts for `kind` with the current versions; sources are sorted here.
    pub fn new(
        kind: EntityKind,
        config: serde_json::Value,
        mut sources: Vec<ObjectInfo>,
        parents: BTreeMap<String, Parent>,
    ) -> KeyParts {
        sources.sort();
        sources.dedup();
        KeyParts {
            cache_format: CACHE_FORMAT_VERSION,
            kind,
            kind_version: kind_version(kind),
            config,
            sources,
            parents,
        }
    }

    /// The canonical encoding hashed into the key: compact JSON of the parts in field order
    /// (object keys of `config` keep their config-file order, which is output-relevant).
    pub fn canonical_bytes(&self) -> Vec<u8> {
        serde_json::to_vec(self).expect("key parts are plain JSON")
    }

    /// BLAKE3 over the domain separator and [`KeyParts::canonical_bytes`].
    pub fn key(&self) -> ContentKey {
        let mut h = blake3::Hasher::new();
        h.update(KEY_DOMAIN);
        h.update(&self.canonical_bytes());
        ContentKey(*h.finalize().as_bytes())
    }

    /// Why `self` (today) differs from `old` (recorded), in fixed order: versions, config fields,
    /// sources, parents. Empty when the parts are equal.
    pub fn compare(&self, old: &KeyParts) -> Vec<StaleReason> {
        explain::compare(self, old)
    }
}

/// Digest of one output (a file, or a folder such as a `.zarr`) as recorded.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OutputEntry {
    /// Key relative to OUTPUT.
    pub key: StoreKey,
    /// BLAKE3 hex of the deterministic content (for JSON: without `last_updated_at`; for a
    /// folder: over its sorted (relative path, file digest) pairs).
    pub digest: String,
    /// Bytes written.
    pub size: u64,
}

/// The digest of a whole target's outputs: BLAKE3 over the sorted (key, digest) pairs. This is
/// what children put in their keys.
pub fn outputs_digest(outputs: &[OutputEntry]) -> String {
    let mut sorted: Vec<&OutputEntry> = outputs.iter().collect();
    sorted.sort_by(|a, b| a.key.cmp(&b.key));
    let mut h = blake3::Hasher::new();
    h.update(b"cryoet-ingest/outputs/v1\n");
    for o in sorted {
        h.update(o.key.as_bytes());
        h.update(b"\0");
        h.update(o.digest.as_bytes());
        h.update(b"\n");
    }
    h.finalize().to_hex().to_string()
}

/// Digest of a folder of outputs from its files' digests: BLAKE3 over sorted (path, digest).
pub fn folder_digest(mut files: Vec<(String, String)>) -> String {
    files.sort();
    let mut h = blake3::Hasher::new();
    h.update(b"cryoet-ingest/folder/v1\n");
    for (path, digest) in files {
        h.update(path.as_bytes());
        h.update(b"\0");
        h.update(digest.as_bytes());
        h.update(b"\n");
    }
    h.finalize().to_hex().to_string()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn parts() -> KeyParts {
        KeyParts::new(
            EntityKind::Rawtilt,
            json!({"name": "TS_1", "metadata": {"b": 1, "a": [1, 2]}}),
            vec![ObjectInfo {
                key: "m/TS_1.rawtlt".into(),
                etag: "e1".into(),
                size: 10,
            }],
            BTreeMap::from([("ds/TS_1/TiltSeries/100".into(), Parent::Built("d1".into()))]),
        )
    }

    #[test]
    fn equal_parts_give_equal_keys_and_no_reasons() {
        assert_eq!(parts().key(), parts().key());
        assert!(parts().compare(&parts()).is_empty());
    }

    #[test]
    fn every_part_changes_the_key() {
        let base = parts().key();
        let mut p = parts();
        p.config["metadata"]["b"] = json!(2);
        assert_ne!(p.key(), base);
        let mut p = parts();
        p.sources[0].etag = "e2".into();
        assert_ne!(p.key(), base);
        let mut p = parts();
        p.parents
            .insert("ds/TS_1/TiltSeries/100".into(), Parent::Built("d2".into()));
        assert_ne!(p.key(), base);
        let mut p = parts();
        p.parents
            .insert("ds/TS_1/TiltSeries/100".into(), Parent::Pending);
        assert_ne!(p.key(), base);
        let mut p = parts();
        p.kind_version += 1;
        assert_ne!(p.key(), base);
    }

    #[test]
    fn parent_states_serialize_apart_from_any_digest() {
        let text = |p: &Parent| serde_json::to_string(p).unwrap();
        assert_eq!(
            text(&Parent::Built("pending".into())),
            r#"{"built":"pending"}"#
        );
        assert_eq!(text(&Parent::Pending), r#""pending""#);
        assert_eq!(text(&Parent::NotBuilt), r#""not_built""#);
        for p in [
            Parent::Built("ab".into()),
            Parent::Pending,
            Parent::NotBuilt,
        ] {
            assert_eq!(serde_json::from_str::<Parent>(&text(&p)).unwrap(), p);
        }
    }

    #[test]
    fn format_1_parents_still_decode() {
        let old: BTreeMap<String, Parent> =
            serde_json::from_str(r#"{"a": "0f6b", "b": "pending", "c": "not built"}"#).unwrap();
        assert_eq!(old["a"], Parent::Built("0f6b".into()));
        assert_eq!(old["b"], Parent::Pending);
        assert_eq!(old["c"], Parent::NotBuilt);
    }

    #[test]
    fn outputs_digest_ignores_order() {
        let a = OutputEntry {
            key: StoreKey::new("a").unwrap(),
            digest: "1".into(),
            size: 1,
        };
        let b = OutputEntry {
            key: StoreKey::new("b").unwrap(),
            digest: "2".into(),
            size: 1,
        };
        assert_eq!(
            outputs_digest(&[a.clone(), b.clone()]),
            outputs_digest(&[b, a])
        );
    }
}
