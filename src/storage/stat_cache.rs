//! Content fingerprints of local files, memoised by `stat`.
//!
//! The fingerprint of a local file is `b3:` + the BLAKE3 of its bytes. Hashing every source on
//! every run would cost a full read of the deposition, so the hash is stored per absolute path
//! together with the `(size, mtime, inode)` it was computed for; while those are unchanged the
//! stored hash is reused. A touched file is re-hashed once and keeps its fingerprint when its
//! bytes are the same; a copied tree is re-hashed once and keeps every fingerprint.

use std::fs::Metadata;
use std::path::Path;

/// The `stat` facts that invalidate a memoised hash.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StatStamp {
    size: u64,
    mtime_ns: i128,
    inode: u64,
}

impl StatStamp {
    /// Reads the stamp off file metadata.
    pub fn of(meta: &Metadata) -> StatStamp {
        use std::os::unix::fs::MetadataExt;
        StatStamp {
            size: meta.len(),
            mtime_ns: i128::from(meta.mtime()) * 1_000_000_000 + i128::from(meta.mtime_nsec()),
            inode: meta.ino(),
        }
    }

    /// File size in bytes.
    pub fn size(&self) -> u64 {
        self.size
    }

    fn encode(&self, hash: &[u8; 32]) -> [u8; 72] {
        let mut out = [0u8; 72];
        out[..8].copy_from_slice(&self.size.to_le_bytes());
        out[8..24].copy_from_slice(&self.mtime_ns.to_le_bytes());
        out[24..32].copy_from_slice(&self.inode.to_le_bytes());
        out[32..64].copy_from_slice(hash);
        out
    }

    fn decode(bytes: &[u8]) -> Option<(StatStamp, [u8; 32])> {
        if bytes.len() < 64 {
            return None;
        }
        let stamp = StatStamp {
            size: u64::from_le_bytes(bytes[..8].try_into().ok()?),
            mtime_ns: i128::from_le_bytes(bytes[8..24].try_into().ok()?),
            inode: u64::from_le_bytes(bytes[24..32].try_into().ok()?),
        };
        Some((stamp, bytes[32..64].try_into().ok()?))
    }
}

/// A persistent map `path → (stat stamp, BLAKE3)` in a sled tree of the build cache.
#[derive(Clone)]
pub struct StatCache {
    tree: sled::Tree,
}

impl StatCache {
    /// Wraps a sled tree (the build cache opens it).
    pub fn new(tree: sled::Tree) -> StatCache {
        StatCache { tree }
    }

    /// The memoised hash of `path` if its stamp is unchanged.
    ///
    /// # Errors
    /// sled errors.
    pub fn lookup(&self, path: &Path, stamp: &StatStamp) -> sled::Result<Option<[u8; 32]>> {
        let key = path.as_os_str().as_encoded_bytes();
        Ok(self
            .tree
            .get(key)?
            .and_then(|v| StatStamp::decode(&v))
            .filter(|(old, _)| old == stamp)
            .map(|(_, hash)| hash))
    }

    /// Remembers the hash of `path` for `stamp`.
    ///
    /// # Errors
    /// sled errors.
    pub fn remember(&self, path: &Path, stamp: &StatStamp, hash: &[u8; 32]) -> sled::Result<()> {
        let key = path.as_os_str().as_encoded_bytes();
        self.tree.insert(key, stamp.encode(hash).to_vec())?;
        Ok(())
    }
}
