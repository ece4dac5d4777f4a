//! [`TargetId`]: a target's stable name, which is also the output key it writes under.

use crate::storage::{KeyError, StoreKey};
use std::borrow::Borrow;
use std::fmt;

/// A target's id: its output path relative to OUTPUT (`19999/TS_01/Alignments/100`). A valid,
/// non-root [`StoreKey`], so the cache can use it in record keys and S3 object names, and the
/// outputs under it stay inside OUTPUT.
#[derive(
    Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize, serde::Deserialize,
)]
#[serde(try_from = "String", into = "String")]
pub struct TargetId(StoreKey);

impl TargetId {
    /// Checks `id` and wraps it.
    ///
    /// # Errors
    /// The empty id, and whatever [`StoreKey::new`] refuses.
    pub fn new(id: impl Into<String>) -> Result<TargetId, KeyError> {
        let key = StoreKey::new(id).map_err(|e| KeyError {
            what: "target id",
            ..e
        })?;
        TargetId::from_key(key)
    }

    /// The target writing under output key `key`.
    ///
    /// # Errors
    /// The root key.
    pub fn from_key(key: StoreKey) -> Result<TargetId, KeyError> {
        if key.is_root() {
            return Err(KeyError {
                text: String::new(),
                what: "target id",
                reason: "a target id names a folder or file under OUTPUT, not OUTPUT itself",
            });
        }
        Ok(TargetId(key))
    }

    /// The output key the id names.
    pub fn key(&self) -> &StoreKey {
        &self.0
    }
}

impl fmt::Display for TargetId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

/// A target id is its output key: `id.child(…)`, `id.as_str()`, and through the key `&str`.
impl std::ops::Deref for TargetId {
    type Target = StoreKey;
    fn deref(&self) -> &StoreKey {
        &self.0
    }
}

impl Borrow<str> for TargetId {
    fn borrow(&self) -> &str {
        self.as_str()
    }
}

impl PartialEq<str> for TargetId {
    fn eq(&self, other: &str) -> bool {
        self.as_str() == other
    }
}

impl PartialEq<&str> for TargetId {
    fn eq(&self, other: &&str) -> bool {
        self.as_str() == *other
    }
}

impl TryFrom<String> for TargetId {
    type Error = KeyError;
    fn try_from(id: String) -> Result<TargetId, KeyError> {
        TargetId::new(id)
    }
}

impl From<TargetId> for String {
    fn from(id: TargetId) -> String {
        id.0.into()
    }
}

impl From<TargetId> for StoreKey {
    fn from(id: TargetId) -> StoreKey {
        id.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_id_is_a_non_root_store_key() {
        let id = TargetId::new("19999/TS_01/Frames").unwrap();
        assert_eq!(
            id.key().child("x.json").unwrap(),
            "19999/TS_01/Frames/x.json"
        );
        let e = TargetId::new("").unwrap_err();
        assert_eq!(e.what, "target id");
        let e = TargetId::new("19999/../x").unwrap_err();
        assert_eq!(e.what, "target id");
        assert!(e.to_string().contains("19999/../x"), "{e}");
    }

    #[test]
    fn ids_look_up_by_str_in_maps() {
        let mut m = std::collections::HashMap::new();
        m.insert(TargetId::new("a/b").unwrap(), 1);
        assert_eq!(m.get("a/b"), Some(&1));
    }
}
