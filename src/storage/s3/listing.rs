//! Listings: memoised per prefix, globs, heads and existence checks.

use super::*;

impl S3Store {
    /// Every object under folder `prefix` (keys relative to the root), sorted. Answered from a
    /// memoised listing of the same or an enclosing prefix when there is one.
    pub(super) fn list_under(&self, prefix: &str, memo: bool) -> Result<Arc<Vec<ObjectInfo>>> {
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
        use crate::storage::glob::Segment;
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

    /// Every object under a folder key, listed now (no memo).
    pub fn list_live(&self, prefix: &str) -> Result<Vec<ObjectInfo>> {
        Ok(self.list_under(prefix, false)?.as_ref().clone())
    }
}
