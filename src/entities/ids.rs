//! Stable numeric IDs (spec §5.3).
//!
//! IDs are folders named 100, 101, … per container (a run's output folder for tomograms, tilt
//! series and alignments). The first time a container is seen it is **seeded** from the metadata
//! JSONs already in the destination: each existing folder's identity (a hash key over a few
//! fields) maps to its number, and new identities get numbers after the largest one. So a re-run
//! never renumbers, an added asset takes the next free number, and numbers are never reused.

use crate::storage::{GlobPattern, Store};
use serde_json::Value;
use std::collections::HashMap;

/// Errors while seeding a container from the destination.
#[derive(Debug, thiserror::Error)]
pub enum IdError {
    /// An existing ID folder whose name is not a number.
    #[error("{path}: ID folder `{folder}` is not numeric")]
    NotNumeric {
        /// The metadata file found.
        path: String,
        /// Its parent folder name.
        folder: String,
    },
    /// An existing metadata file that does not parse.
    #[error("{path}: {reason}")]
    BadMetadata {
        /// The metadata file.
        path: String,
        /// Why it does not parse.
        reason: String,
    },
    /// Listing or reading the destination failed.
    #[error("{0}")]
    Storage(#[from] crate::storage::StorageError),
}

#[derive(Default)]
struct Container {
    next: u32,
    by_identity: HashMap<String, u32>,
}

/// Per-process ID state: one counter and identity map per container.
#[derive(Default)]
pub struct IdRegistry {
    containers: HashMap<String, Container>,
}

/// How a kind computes the identity of an existing metadata JSON or a new instance.
pub type IdentityFn<'a> = &'a dyn Fn(&Value) -> String;

impl IdRegistry {
    /// The ID for an instance whose identity is `identity` in `container`. `seed_glob` lists the
    /// existing metadata JSONs of the container (relative to OUTPUT); `identity_of` computes the
    /// identity of each existing JSON.
    ///
    /// # Errors
    /// Non-numeric ID folders, unreadable existing metadata, listing errors.
    pub fn assign(
        &mut self,
        output: &Store,
        container: &str,
        seed_glob: &str,
        identity_of: IdentityFn<'_>,
        identity: &str,
    ) -> Result<u32, IdError> {
        if !self.containers.contains_key(container) {
            let seeded = seed(output, seed_glob, identity_of)?;
            self.containers.insert(container.to_string(), seeded);
        }
        let c = self.containers.get_mut(container).expect("seeded above");
        if let Some(id) = c.by_identity.get(identity) {
            return Ok(*id);
        }
        let id = c.next;
        c.next += 1;
        c.by_identity.insert(identity.to_string(), id);
        Ok(id)
    }
}

fn seed(
    output: &Store,
    seed_glob: &str,
    identity_of: IdentityFn<'_>,
) -> Result<Container, IdError> {
    let mut c = Container {
        next: 100,
        by_identity: HashMap::new(),
    };
    let pattern = GlobPattern::new(seed_glob).expect("seed globs are built by the tool");
    for m in output.glob(&pattern)? {
        if m.is_dir {
            continue;
        }
        let mut parts = m.key.rsplit('/');
        let _file = parts.next();
        let folder = parts.next().unwrap_or_default();
        let id: u32 = folder.parse().map_err(|_| IdError::NotNumeric {
            path: output.describe(&m.key),
            folder: folder.to_string(),
        })?;
        // The listing just taken describes it: an unchanged object is read from the memo.
        let bytes = match output.head(&m.key)? {
            Some(info) => output.read_listed(&info)?,
            None => output.read(&m.key)?,
        };
        let json: Value = serde_json::from_slice(&bytes).map_err(|e| IdError::BadMetadata {
            path: output.describe(&m.key),
            reason: e.to_string(),
        })?;
        c.next = c.next.max(id + 1);
        c.by_identity.entry(identity_of(&json)).or_insert(id);
    }
    Ok(c)
}

/// The `deposition_id` part of identities: the metadata's `deposition_id`, or the deposition
/// name; stringified so that `"10301"` and `10301` are equal.
pub fn deposition_part(metadata: &Value, deposition_name: &str) -> String {
    match metadata.get("deposition_id") {
        Some(Value::String(s)) if !s.is_empty() => s.clone(),
        Some(Value::Number(n)) => n.to_string(),
        _ => deposition_name.to_string(),
    }
}

/// Joins identity fields with a separator that cannot occur in them unescaped.
pub fn identity(parts: &[&str]) -> String {
    parts
        .iter()
        .map(|p| p.replace('\\', "\\\\").replace('|', "\\|"))
        .collect::<Vec<_>>()
        .join("|")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn out_with(files: &[(&str, &str)]) -> (tempfile::TempDir, Store) {
        let dir = tempfile::tempdir().unwrap();
        for (f, body) in files {
            let p = dir.path().join(f);
            std::fs::create_dir_all(p.parent().unwrap()).unwrap();
            std::fs::write(&p, body).unwrap();
        }
        let store = Store::open(dir.path().to_str().unwrap(), None, true).unwrap();
        (dir, store)
    }

    fn by_dep(v: &Value) -> String {
        deposition_part(v, "")
    }

    #[test]
    fn empty_destination_starts_at_100_and_counts_up() {
        let (_d, out) = out_with(&[]);
        let mut ids = IdRegistry::default();
        let glob = "ds/r/Alignments/*/alignment_metadata.json";
        assert_eq!(ids.assign(&out, "ds/r", glob, &by_dep, "1").unwrap(), 100);
        assert_eq!(ids.assign(&out, "ds/r", glob, &by_dep, "2").unwrap(), 101);
        assert_eq!(ids.assign(&out, "ds/r", glob, &by_dep, "1").unwrap(), 100);
    }

    #[test]
    fn existing_folders_seed_the_numbers() {
        let (_d, out) = out_with(&[
            (
                "ds/r/Alignments/100/alignment_metadata.json",
                r#"{"deposition_id": 7}"#,
            ),
            (
                "ds/r/Alignments/104/alignment_metadata.json",
                r#"{"deposition_id": "8"}"#,
            ),
        ]);
        let mut ids = IdRegistry::default();
        let glob = "ds/r/Alignments/*/alignment_metadata.json";
        assert_eq!(ids.assign(&out, "ds/r", glob, &by_dep, "8").unwrap(), 104);
        assert_eq!(ids.assign(&out, "ds/r", glob, &by_dep, "7").unwrap(), 100);
        assert_eq!(ids.assign(&out, "ds/r", glob, &by_dep, "9").unwrap(), 105);
    }

    #[test]
    fn non_numeric_folders_are_an_error() {
        let (_d, out) = out_with(&[("ds/r/Alignments/abc/alignment_metadata.json", "{}")]);
        let mut ids = IdRegistry::default();
        let err = ids
            .assign(
                &out,
                "ds/r",
                "ds/r/Alignments/*/alignment_metadata.json",
                &by_dep,
                "x",
            )
            .unwrap_err();
        assert!(err.to_string().contains("`abc` is not numeric"), "{err}");
    }
}
