//! The local-folder backend of [`Store`](super::Store).

use super::glob::{GlobPattern, Segment};
use super::stat_cache::{StatCache, StatStamp};
use super::{Match, ObjectInfo, Result, Staging, StorageError};
use std::fs;
use std::path::{Path, PathBuf};

/// Name of the folder under an output root where targets stage their outputs. It starts with a
/// dot so that no glob of the reference's dialect ever matches it.
pub const STAGING_DIR: &str = ".ingest-staging";

/// A folder used as a store.
#[derive(Clone)]
pub struct LocalStore {
    root: PathBuf,
    stat_cache: Option<StatCache>,
}

fn io_err(path: &Path) -> impl FnOnce(std::io::Error) -> StorageError + '_ {
    move |source| {
        if source.kind() == std::io::ErrorKind::NotFound {
            StorageError::NotFound {
                location: path.display().to_string(),
            }
        } else {
            StorageError::Io {
                location: path.display().to_string(),
                source,
            }
        }
    }
}

impl LocalStore {
    pub(crate) fn new(root: PathBuf, stat_cache: Option<StatCache>) -> LocalStore {
        LocalStore { root, stat_cache }
    }

    pub(crate) fn root(&self) -> &Path {
        &self.root
    }

    pub(crate) fn path_of(&self, key: &str) -> PathBuf {
        let key = key.trim_start_matches('/');
        if key.is_empty() {
            self.root.clone()
        } else {
            self.root.join(key)
        }
    }

    pub(crate) fn root_identity(&self) -> String {
        fs::canonicalize(&self.root)
            .unwrap_or_else(|_| self.root.clone())
            .display()
            .to_string()
    }

    pub(crate) fn glob(&self, pattern: &GlobPattern) -> Result<Vec<Match>> {
        // Walk one segment at a time: literal segments are joined, wildcard segments list the
        // folders reached so far. Only the last segment may match files.
        let segments = pattern.segments();
        let mut frontier: Vec<String> = vec![String::new()];
        for (i, segment) in segments.iter().enumerate() {
            let last = i + 1 == segments.len();
            let mut next = Vec::new();
            for dir in &frontier {
                match segment {
                    Segment::Literal(name) => {
                        let key = join_key(dir, name);
                        let path = self.path_of(&key);
                        // Like Python's glob, a literal name matches a dangling symlink too, so that
                        // the error names it instead of silently finding nothing.
                        let ok = if last {
                            path.symlink_metadata().is_ok()
                        } else {
                            path.is_dir()
                        };
                        if ok {
                            next.push(key);
                        }
                    }
                    Segment::AnyDepth => {
                        // Zero folders (not when last: `a/**` names what is below `a`), then
                        // every non-hidden folder below, and the files too when last.
                        if !last {
                            next.push(dir.clone());
                        }
                        self.walk_visible(dir, last, &mut next)?;
                    }
                    Segment::Wild { .. } => {
                        let path = self.path_of(dir);
                        let Ok(entries) = fs::read_dir(&path) else {
                            continue;
                        };
                        for entry in entries {
                            let entry = entry.map_err(io_err(&path))?;
                            let name = entry.file_name().to_string_lossy().into_owned();
                            if !GlobPattern::segment_matches(segment, &name) {
                                continue;
                            }
                            let is_dir = entry.path().is_dir();
                            if last || is_dir {
                                next.push(join_key(dir, &name));
                            }
                        }
                    }
                }
            }
            frontier = next;
        }
        if segments.is_empty() {
            return Ok(Vec::new());
        }
        frontier.sort();
        frontier.dedup();
        Ok(frontier
            .into_iter()
            .map(|key| {
                let is_dir = self.path_of(&key).is_dir();
                Match { key, is_dir }
            })
            .collect())
    }

    /// Pushes the keys of every non-hidden folder below `dir` (and of the files, with
    /// `files`), not descending into hidden folders.
    fn walk_visible(&self, dir: &str, files: bool, out: &mut Vec<String>) -> Result<()> {
        let path = self.path_of(dir);
        let Ok(entries) = fs::read_dir(&path) else {
            return Ok(());
        };
        for entry in entries {
            let entry = entry.map_err(io_err(&path))?;
            let name = entry.file_name().to_string_lossy().into_owned();
            if name.starts_with('.') {
                continue;
            }
            let key = join_key(dir, &name);
            if entry.path().is_dir() {
                out.push(key.clone());
                self.walk_visible(&key, files, out)?;
            } else if files {
                out.push(key);
            }
        }
        Ok(())
    }

    pub(crate) fn list_files(&self, prefix: &str) -> Result<Vec<ObjectInfo>> {
        let base = self.path_of(prefix);
        let meta = fs::metadata(&base).map_err(io_err(&base))?;
        let mut out = Vec::new();
        if meta.is_file() {
            out.push(self.fingerprint(prefix, &base, &meta)?);
            return Ok(out);
        }
        let mut stack = vec![prefix.trim_end_matches('/').to_string()];
        while let Some(dir) = stack.pop() {
            let path = self.path_of(&dir);
            for entry in fs::read_dir(&path).map_err(io_err(&path))? {
                let entry = entry.map_err(io_err(&path))?;
                let name = entry.file_name().to_string_lossy().into_owned();
                let key = join_key(&dir, &name);
                let meta = entry.metadata().map_err(io_err(&entry.path()))?;
                if meta.is_dir() {
                    stack.push(key);
                } else {
                    out.push(self.fingerprint(&key, &entry.path(), &meta)?);
                }
            }
        }
        out.sort();
        Ok(out)
    }

    pub(crate) fn head(&self, key: &str) -> Result<Option<ObjectInfo>> {
        let path = self.path_of(key);
        match fs::metadata(&path) {
            Ok(meta) if meta.is_file() => Ok(Some(self.fingerprint(key, &path, &meta)?)),
            Ok(_) => Ok(None),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(io_err(&path)(e)),
        }
    }

    fn fingerprint(&self, key: &str, path: &Path, meta: &fs::Metadata) -> Result<ObjectInfo> {
        let stamp = StatStamp::of(meta);
        let cached = match &self.stat_cache {
            Some(cache) => cache.lookup(path, &stamp)?,
            None => None,
        };
        let hash = match cached {
            Some(hash) => hash,
            None => {
                let hash = hash_file(path)?;
                if let Some(cache) = &self.stat_cache {
                    cache.remember(path, &stamp, &hash)?;
                }
                hash
            }
        };
        Ok(ObjectInfo {
            key: key.to_string(),
            etag: format!("b3:{}", blake3::Hash::from(hash).to_hex()),
            size: stamp.size(),
        })
    }

    pub(crate) fn read(&self, key: &str) -> Result<Vec<u8>> {
        let path = self.path_of(key);
        fs::read(&path).map_err(io_err(&path))
    }

    pub(crate) fn copy_checked(&self, expected: &ObjectInfo, to: &Path) -> Result<String> {
        use std::io::{Read, Write};
        let path = self.path_of(&expected.key);
        let mut src = fs::File::open(&path).map_err(io_err(&path))?;
        let mut dst = fs::File::create(to).map_err(io_err(to))?;
        let mut hasher = blake3::Hasher::new();
        let mut buf = vec![0u8; 1 << 20];
        let mut size = 0u64;
        loop {
            let n = src.read(&mut buf).map_err(io_err(&path))?;
            if n == 0 {
                break;
            }
            hasher.update(&buf[..n]);
            dst.write_all(&buf[..n]).map_err(io_err(to))?;
            size += n as u64;
        }
        dst.sync_all().map_err(io_err(to))?;
        let found = format!("b3:{}", hasher.finalize().to_hex());
        if found != expected.etag || size != expected.size {
            return Err(StorageError::Changed {
                location: path.display().to_string(),
                expected: format!("{} ({} bytes)", expected.etag, expected.size),
                found: format!("{found} ({size} bytes)"),
            });
        }
        Ok(found[3..].to_string())
    }

    pub(crate) fn open_ranged(
        &self,
        expected: Option<&ObjectInfo>,
        key: &str,
    ) -> Result<super::RangedObject> {
        let path = self.path_of(key);
        let file = fs::File::open(&path).map_err(io_err(&path))?;
        if let Some(expected) = expected {
            let meta = file.metadata().map_err(io_err(&path))?;
            let found = self.fingerprint(key, &path, &meta)?;
            if found.etag != expected.etag || found.size != expected.size {
                return Err(StorageError::Changed {
                    location: path.display().to_string(),
                    expected: format!("{} ({} bytes)", expected.etag, expected.size),
                    found: format!("{} ({} bytes)", found.etag, found.size),
                });
            }
        }
        Ok(super::RangedObject::Local(file))
    }

    pub(crate) fn read_checked(&self, expected: &ObjectInfo) -> Result<Vec<u8>> {
        let bytes = self.read(&expected.key)?;
        let found = format!("b3:{}", blake3::hash(&bytes).to_hex());
        if found != expected.etag || bytes.len() as u64 != expected.size {
            return Err(StorageError::Changed {
                location: self.path_of(&expected.key).display().to_string(),
                expected: format!("{} ({} bytes)", expected.etag, expected.size),
                found: format!("{found} ({} bytes)", bytes.len()),
            });
        }
        Ok(bytes)
    }

    pub(crate) fn staging(&self) -> Result<Staging> {
        let base = self.root.join(STAGING_DIR);
        // Another worker finishing its build may remove the (empty) staging folder between our
        // create and our tempdir: create it again, a few times.
        let mut attempt = 0;
        let dir = loop {
            fs::create_dir_all(&base).map_err(io_err(&base))?;
            match tempfile::Builder::new().prefix("target-").tempdir_in(&base) {
                Ok(dir) => break dir,
                Err(e) if e.kind() == std::io::ErrorKind::NotFound && attempt < 5 => attempt += 1,
                Err(e) => return Err(io_err(&base)(e)),
            }
        };
        Ok(Staging::in_dir(
            dir,
            super::Destination::Local(self.root.clone()),
        ))
    }
}

fn join_key(dir: &str, name: &str) -> String {
    if dir.is_empty() {
        name.to_string()
    } else {
        format!("{dir}/{name}")
    }
}

/// BLAKE3 of a file's bytes (memory-mapped and multi-threaded for large files).
pub(crate) fn hash_file(path: &Path) -> Result<[u8; 32]> {
    let mut hasher = blake3::Hasher::new();
    hasher.update_mmap_rayon(path).map_err(io_err(path))?;
    Ok(*hasher.finalize().as_bytes())
}

/// Moves `from` to `to`, replacing what is there. A file replaces a file in one rename; a folder
/// is swapped in with two renames (the old one moves into `scratch`, then is deleted).
pub(crate) fn replace_path(from: &Path, to: &Path, scratch: &Path) -> Result<()> {
    if let Some(parent) = to.parent() {
        fs::create_dir_all(parent).map_err(io_err(parent))?;
    }
    if to.is_dir() {
        let trash = scratch.join(format!(
            ".trash-{}",
            to.file_name()
                .map(|n| n.to_string_lossy())
                .unwrap_or_default()
        ));
        fs::rename(to, &trash).map_err(io_err(to))?;
        fs::rename(from, to).map_err(io_err(to))?;
        fs::remove_dir_all(&trash).map_err(io_err(&trash))?;
    } else {
        fs::rename(from, to).map_err(io_err(to))?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::storage::{Store, StoreKey};

    fn store_with(files: &[&str]) -> (tempfile::TempDir, Store) {
        let dir = tempfile::tempdir().unwrap();
        for f in files {
            let p = dir.path().join(f);
            fs::create_dir_all(p.parent().unwrap()).unwrap();
            fs::write(&p, f.as_bytes()).unwrap();
        }
        let db = sled::Config::new().temporary(true).open().unwrap();
        let cache = StatCache::new(db.open_tree("stat").unwrap());
        let store = Store::open(dir.path().to_str().unwrap(), Some(cache), true).unwrap();
        (dir, store)
    }

    #[test]
    fn glob_matches_files_and_folders_sorted() {
        let (_d, store) = store_with(&["b/TS_2.rec", "b/TS_1.rec", "b/x.txt", "b/TS_3.zarr/0/0"]);
        let m = store.glob(&GlobPattern::new("b/TS_*").unwrap()).unwrap();
        let keys: Vec<_> = m.iter().map(|m| (m.key.as_str(), m.is_dir)).collect();
        assert_eq!(
            keys,
            vec![
                ("b/TS_1.rec", false),
                ("b/TS_2.rec", false),
                ("b/TS_3.zarr", true)
            ]
        );
    }

    #[test]
    fn glob_wildcards_in_folders() {
        let (_d, store) = store_with(&["r1/t/a.mrc", "r2/t/b.mrc", "r2/u/c.mrc"]);
        let m = store.glob(&GlobPattern::new("*/t/*.mrc").unwrap()).unwrap();
        let keys: Vec<_> = m.into_iter().map(|m| m.key).collect();
        assert_eq!(keys, vec!["r1/t/a.mrc", "r2/t/b.mrc"]);
    }

    #[test]
    fn double_star_matches_zero_or_more_visible_folders() {
        let (_d, store) = store_with(&[
            "VS10/x.zarr/.zattrs",
            "VS10/a/b/x.zarr/0/0",
            "VS10/.tmp/x.zarr/0",
            "Other/x.zarr/0",
        ]);
        let m = store
            .glob(&GlobPattern::new("VS*/**/x.zarr").unwrap())
            .unwrap();
        let keys: Vec<_> = m.iter().map(|m| (m.key.as_str(), m.is_dir)).collect();
        assert_eq!(keys, vec![("VS10/a/b/x.zarr", true), ("VS10/x.zarr", true)]);
        let m = store.glob(&GlobPattern::new("VS10/a/**").unwrap()).unwrap();
        let keys: Vec<_> = m.into_iter().map(|m| m.key).collect();
        assert_eq!(
            keys,
            vec![
                "VS10/a/b",
                "VS10/a/b/x.zarr",
                "VS10/a/b/x.zarr/0",
                "VS10/a/b/x.zarr/0/0"
            ]
        );
    }

    #[test]
    fn fingerprint_is_content_not_mtime() {
        let (dir, store) = store_with(&["a.txt"]);
        let before = store.head("a.txt").unwrap().unwrap();
        // Rewrite the same bytes: new mtime, same content, same fingerprint.
        std::thread::sleep(std::time::Duration::from_millis(10));
        fs::write(dir.path().join("a.txt"), b"a.txt").unwrap();
        let after = store.head("a.txt").unwrap().unwrap();
        assert_eq!(before, after);
        fs::write(dir.path().join("a.txt"), b"changed").unwrap();
        let changed = store.head("a.txt").unwrap().unwrap();
        assert_ne!(before.etag, changed.etag);
        assert_eq!(changed.size, 7);
    }

    #[test]
    fn read_checked_refuses_changed_objects() {
        let (dir, store) = store_with(&["a.txt"]);
        let info = store.head("a.txt").unwrap().unwrap();
        assert_eq!(store.read_checked(&info).unwrap(), b"a.txt");
        fs::write(dir.path().join("a.txt"), b"other").unwrap();
        let err = store.read_checked(&info).unwrap_err().to_string();
        assert!(err.contains("changed since it was listed"), "{err}");
        assert!(err.contains("a.txt"), "{err}");
    }

    #[test]
    fn staging_publishes_files_and_replaces_folders() {
        let (dir, store) = store_with(&["out/v.zarr/old"]);
        let mut staging = store.staging().unwrap();
        staging
            .write(&StoreKey::new("out/v.zarr/new").unwrap(), b"n")
            .unwrap();
        staging
            .write(&StoreKey::new("out/meta.json").unwrap(), b"{}")
            .unwrap();
        assert!(!dir.path().join("out/meta.json").exists());
        // Publish the folder as a whole: register the folder key instead of its file.
        let mut staging2 = store.staging().unwrap();
        let p = staging2
            .path_for(&StoreKey::new("out/v.zarr").unwrap())
            .unwrap();
        fs::create_dir_all(&p).unwrap();
        fs::write(p.join("new"), b"n").unwrap();
        staging2.publish().unwrap();
        assert!(dir.path().join("out/v.zarr/new").exists());
        assert!(!dir.path().join("out/v.zarr/old").exists());
        drop(staging);
        assert!(!dir.path().join("out/meta.json").exists());
    }
}
