//! [`StoreKey`]: a key relative to a store root that cannot leave it.
//!
//! Output keys are assembled from names found in configs and source paths (run names, voxel
//! spacings, annotation objects). A name such as `..`, `a//b` or one holding a newline would
//! otherwise reach a `Path::join` or an S3 key as it is, writing outside OUTPUT, into another
//! run's folder, or under a key S3 listings cannot give back. Every write, delete and cache
//! record goes through a `StoreKey`, so the check is made once, where the key is made.

use std::borrow::Borrow;
use std::fmt;

/// A `/`-separated key relative to a store root: no empty, `.` or `..` segment, no control
/// character. The empty key is the root itself.
#[derive(
    Debug,
    Clone,
    Default,
    PartialEq,
    Eq,
    PartialOrd,
    Ord,
    Hash,
    serde::Serialize,
    serde::Deserialize,
)]
#[serde(try_from = "String", into = "String")]
pub struct StoreKey(String);

/// Why a string is not a [`StoreKey`] (or a path segment of one).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("`{}` is not a valid {what}: {reason}", text.escape_debug())]
pub struct KeyError {
    /// The rejected text.
    pub text: String,
    /// What it was meant to be ("store key", "path segment", "target id").
    pub what: &'static str,
    /// The rule it breaks.
    pub reason: &'static str,
}

impl StoreKey {
    /// The root of the store.
    pub fn root() -> StoreKey {
        StoreKey(String::new())
    }

    /// Checks `key` and wraps it.
    ///
    /// # Errors
    /// A leading, trailing or doubled `/`, a `.` or `..` segment, a control character.
    pub fn new(key: impl Into<String>) -> Result<StoreKey, KeyError> {
        let key = key.into();
        match check_key(&key) {
            Ok(()) => Ok(StoreKey(key)),
            Err(reason) => Err(KeyError {
                text: key,
                what: "store key",
                reason,
            }),
        }
    }

    /// `self/relative`, where `relative` is itself a valid key (it may hold `/`).
    ///
    /// # Errors
    /// As [`StoreKey::new`], for `relative`.
    pub fn join(&self, relative: &str) -> Result<StoreKey, KeyError> {
        let relative = StoreKey::new(relative)?;
        Ok(self.join_key(&relative))
    }

    /// `self/relative` for an already checked key: cannot fail.
    pub fn join_key(&self, relative: &StoreKey) -> StoreKey {
        match (self.0.is_empty(), relative.0.is_empty()) {
            (true, _) => relative.clone(),
            (false, true) => self.clone(),
            (false, false) => StoreKey(format!("{}/{}", self.0, relative.0)),
        }
    }

    /// `self/name` where `name` must be one path segment (a name found in a config or a source
    /// path, which must not add folders of its own).
    ///
    /// # Errors
    /// An empty name, `.`, `..`, a `/` or a control character.
    pub fn child(&self, name: &str) -> Result<StoreKey, KeyError> {
        check_segment(name)?;
        Ok(self.join_key(&StoreKey(name.to_string())))
    }

    /// The key as a string.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// Whether this is the root.
    pub fn is_root(&self) -> bool {
        self.0.is_empty()
    }

    /// The last segment (the root's is empty).
    pub fn file_name(&self) -> &str {
        self.0.rsplit('/').next().unwrap_or("")
    }

    /// The key without its last segment (the root for a one-segment key).
    pub fn parent(&self) -> StoreKey {
        StoreKey(self.0.rsplit_once('/').map_or("", |(p, _)| p).to_string())
    }

    /// Whether `other` is this key or lies under it (segment-wise: `a/1` is not under `a/12`).
    pub fn contains(&self, other: &str) -> bool {
        self.0.is_empty()
            || other == self.0
            || other
                .strip_prefix(self.0.as_str())
                .is_some_and(|rest| rest.starts_with('/'))
    }
}

/// Checks that `name` is one segment of a key.
///
/// # Errors
/// An empty name, `.`, `..`, a `/` or a control character.
fn check_segment(name: &str) -> Result<(), KeyError> {
    let reason = if name.contains('/') {
        Some("a name must not contain `/`")
    } else {
        segment_fault(name)
    };
    match reason {
        None => Ok(()),
        Some(reason) => Err(KeyError {
            text: name.to_string(),
            what: "path segment",
            reason,
        }),
    }
}

fn check_key(key: &str) -> Result<(), &'static str> {
    if key.is_empty() {
        return Ok(());
    }
    key.split('/').try_for_each(|s| match segment_fault(s) {
        None => Ok(()),
        Some(reason) => Err(reason),
    })
}

/// The rule a single segment breaks, if any.
fn segment_fault(segment: &str) -> Option<&'static str> {
    if segment.is_empty() {
        Some("empty segment (a leading, trailing or doubled `/`)")
    } else if segment == "." || segment == ".." {
        Some("`.` and `..` segments would leave the folder")
    } else if segment.chars().any(char::is_control) {
        Some("control characters are not allowed")
    } else {
        None
    }
}

impl fmt::Display for StoreKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl AsRef<str> for StoreKey {
    fn as_ref(&self) -> &str {
        &self.0
    }
}

impl Borrow<str> for StoreKey {
    fn borrow(&self) -> &str {
        &self.0
    }
}

impl std::ops::Deref for StoreKey {
    type Target = str;
    fn deref(&self) -> &str {
        &self.0
    }
}

impl PartialEq<str> for StoreKey {
    fn eq(&self, other: &str) -> bool {
        self.0 == other
    }
}

impl PartialEq<&str> for StoreKey {
    fn eq(&self, other: &&str) -> bool {
        self.0 == *other
    }
}

impl TryFrom<String> for StoreKey {
    type Error = KeyError;
    fn try_from(key: String) -> Result<StoreKey, KeyError> {
        StoreKey::new(key)
    }
}

impl From<StoreKey> for String {
    fn from(key: StoreKey) -> String {
        key.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn clean_relative_keys_are_accepted_as_they_are() {
        for k in [
            "",
            "a",
            "19999/TS_01/Frames",
            "x/.zattrs",
            "a b/c-d_e.f",
            "名前/データ",
        ] {
            assert_eq!(StoreKey::new(k).unwrap().as_str(), k);
        }
    }

    #[test]
    fn keys_that_leave_the_folder_or_do_not_round_trip_are_refused_with_the_rule() {
        let cases = [
            ("/abs", "empty segment"),
            ("a/", "empty segment"),
            ("a//b", "empty segment"),
            ("..", "`.` and `..`"),
            ("a/../../etc", "`.` and `..`"),
            ("./a", "`.` and `..`"),
            ("a\nb", "control"),
            ("a\0b", "control"),
        ];
        for (k, rule) in cases {
            let e = StoreKey::new(k).unwrap_err();
            assert!(e.reason.contains(rule), "{k:?}: {e}");
            assert!(e.to_string().contains(&k.escape_debug().to_string()), "{e}");
        }
    }

    #[test]
    fn a_child_is_exactly_one_segment() {
        let run = StoreKey::new("19999/TS_01").unwrap();
        assert_eq!(run.child("Frames").unwrap(), "19999/TS_01/Frames");
        assert_eq!(StoreKey::root().child("19999").unwrap(), "19999");
        for bad in ["", ".", "..", "a/b", "tab\there"] {
            let e = run.child(bad).unwrap_err();
            assert_eq!(e.what, "path segment", "{bad:?}");
        }
        // join takes a relative key, which may hold folders.
        assert_eq!(run.join("Images/100").unwrap(), "19999/TS_01/Images/100");
        assert!(run.join("../TS_02").is_err());
    }

    #[test]
    fn parent_file_name_and_containment_are_segment_wise() {
        let k = StoreKey::new("a/12/x.json").unwrap();
        assert_eq!(k.file_name(), "x.json");
        assert_eq!(k.parent(), "a/12");
        assert_eq!(StoreKey::new("a").unwrap().parent(), "");
        let a1 = StoreKey::new("a/1").unwrap();
        assert!(a1.contains("a/1"));
        assert!(a1.contains("a/1/b"));
        assert!(!a1.contains("a/12"));
        assert!(StoreKey::root().contains("anything"));
    }

    #[test]
    fn serde_checks_on_the_way_in() {
        let k: StoreKey = serde_json::from_str("\"a/b\"").unwrap();
        assert_eq!(serde_json::to_string(&k).unwrap(), "\"a/b\"");
        assert!(serde_json::from_str::<StoreKey>("\"../a\"").is_err());
    }
}
