//! Reads: whole objects, checked reads and copies (`If-Match`), ranged reads with read-ahead.

use super::*;

/// How one attempt at a GET failed: for good (the request itself, which object_store has
/// already retried, or a local write), or with its body cut off after the headers arrived.
enum Attempt<E> {
    Final(E),
    CutBody(E),
}

impl S3Store {
    /// Runs `attempt` (one GET, read to its end) again while its body is cut off after the
    /// headers arrived (a timeout or a reset mid-transfer), within the retry budget:
    /// object_store retries a request only until its response headers.
    async fn retrying_cut_bodies<T, E>(
        &self,
        mut attempt: impl AsyncFnMut() -> std::result::Result<T, Attempt<E>>,
    ) -> std::result::Result<T, E> {
        let deadline = std::time::Instant::now() + self.inner.retry_timeout;
        let mut wait = Duration::from_millis(100);
        loop {
            match attempt().await {
                Ok(v) => return Ok(v),
                Err(Attempt::CutBody(_)) if std::time::Instant::now() + wait < deadline => {
                    tokio::time::sleep(wait).await;
                    wait = (wait * 2).min(Duration::from_secs(5));
                }
                Err(Attempt::Final(e) | Attempt::CutBody(e)) => return Err(e),
            }
        }
    }

    /// One GET with `opts`: the bytes and the object's ETag (a cut-off body is retried).
    fn get_bytes(&self, key: &str, opts: GetOptions) -> object_store::Result<(Vec<u8>, String)> {
        block_on(self.retrying_cut_bodies(async || {
            let got = (self.inner.store)
                .get_opts(&self.path(key), opts.clone())
                .await
                .map_err(Attempt::Final)?;
            let etag = got.meta.e_tag.clone().unwrap_or_default();
            let bytes = got.bytes().await.map_err(Attempt::CutBody)?;
            Ok((bytes.to_vec(), etag))
        }))
    }

    /// Reads a whole object.
    pub fn read(&self, key: &str) -> Result<Vec<u8>> {
        self.get_bytes(key, GetOptions::default())
            .map(|(bytes, _)| bytes)
            .map_err(|e| self.error(key, e))
    }

    /// Lets [`S3Store::read_listed`] remember small objects in `tree` across runs.
    pub fn attach_object_memo(&self, tree: sled::Tree) {
        let _ = self.inner.object_memo.set(tree);
    }

    /// Reads a small object as listed: from the machine's memo when it holds this (key, ETag),
    /// else with a GET conditional on the ETag (a changed object fails rather than being
    /// remembered under the old ETag). What an unchanged re-run reads of OUTPUT (existing
    /// metadata, for stable IDs) then costs no request.
    pub fn read_listed(&self, info: &ObjectInfo) -> Result<Vec<u8>> {
        const MEMO_MAX: u64 = 1 << 20;
        let memo_key = format!("{}\0{}", self.describe(&info.key), info.etag);
        let memo = self.inner.object_memo.get();
        if let Some(Ok(Some(bytes))) = memo.map(|m| m.get(&memo_key)) {
            return Ok(bytes.to_vec());
        }
        let bytes = self.read_checked(info)?;
        if let Some(m) = memo.filter(|_| info.size <= MEMO_MAX) {
            let _ = m.insert(memo_key, bytes.as_slice());
        }
        Ok(bytes)
    }

    /// Reads a whole object with its current ETag, or `None` when absent.
    pub fn read_with_etag(&self, key: &str) -> Result<Option<(Vec<u8>, String)>> {
        match self.get_bytes(key, GetOptions::default()) {
            Ok(v) => Ok(Some(v)),
            Err(object_store::Error::NotFound { .. }) => Ok(None),
            Err(e) => Err(self.error(key, e)),
        }
    }

    fn if_match(expected: &ObjectInfo) -> GetOptions {
        GetOptions {
            if_match: Some(expected.etag.clone()),
            ..Default::default()
        }
    }

    /// Reads a whole source object, conditional on its listed ETag.
    pub fn read_checked(&self, expected: &ObjectInfo) -> Result<Vec<u8>> {
        let (bytes, _) = self
            .get_bytes(&expected.key, Self::if_match(expected))
            .map_err(|e| self.read_error(expected, e))?;
        self.check_size(expected, bytes.len() as u64)?;
        Ok(bytes)
    }

    fn check_size(&self, expected: &ObjectInfo, size: u64) -> Result<()> {
        if size != expected.size {
            return Err(StorageError::Changed {
                location: self.describe(&expected.key),
                expected: format!("{} bytes", expected.size),
                found: format!("{size} bytes"),
            });
        }
        Ok(())
    }

    /// Streams a source object into a local file, conditional on its listed ETag; returns the
    /// BLAKE3 hex of the bytes.
    pub fn copy_checked(&self, expected: &ObjectInfo, to: &Path) -> Result<String> {
        use std::io::Write;
        let io_err = |source| StorageError::Io {
            location: to.display().to_string(),
            source,
        };
        let mut file = std::fs::File::create(to).map_err(io_err)?;
        // Each attempt starts the file, digest and count again (a cut-off body is retried).
        let (digest, size) = block_on(self.retrying_cut_bodies(async || {
            file.set_len(0).map_err(|e| Attempt::Final(io_err(e)))?;
            std::io::Seek::rewind(&mut file).map_err(|e| Attempt::Final(io_err(e)))?;
            let mut hasher = blake3::Hasher::new();
            let mut size = 0u64;
            let got = (self.inner.store)
                .get_opts(&self.path(&expected.key), Self::if_match(expected))
                .await
                .map_err(|e| Attempt::Final(self.read_error(expected, e)))?;
            let mut stream = got.into_stream();
            while let Some(chunk) = stream.next().await {
                let chunk = chunk.map_err(|e| Attempt::CutBody(self.read_error(expected, e)))?;
                hasher.update(&chunk);
                file.write_all(&chunk)
                    .map_err(|e| Attempt::Final(io_err(e)))?;
                size += chunk.len() as u64;
            }
            Ok((hasher.finalize().to_hex().to_string(), size))
        }))?;
        file.sync_all().map_err(io_err)?;
        self.check_size(expected, size)?;
        Ok(digest)
    }

    /// Opens an object for ranged reads; with `expected`, every read is conditional on its ETag.
    pub fn open_ranged(&self, expected: Option<&ObjectInfo>, key: &str) -> Result<RemoteObject> {
        let info = match expected {
            Some(e) => e.clone(),
            None => self.head(key)?.ok_or_else(|| StorageError::NotFound {
                location: self.describe(key),
            })?,
        };
        Ok(RemoteObject {
            store: self.clone(),
            info,
            blocks: Mutex::new(Vec::new()),
        })
    }

    fn get_range(&self, info: &ObjectInfo, range: std::ops::Range<u64>) -> Result<Vec<u8>> {
        let opts = GetOptions {
            range: Some(GetRange::Bounded(range)),
            ..Self::if_match(info)
        };
        self.get_bytes(&info.key, opts)
            .map(|(bytes, _)| bytes)
            .map_err(|e| self.read_error(info, e))
    }
}

/// An S3 object opened for ranged reads, with read-ahead blocks; every request is conditional on
/// the ETag it was opened with.
pub struct RemoteObject {
    store: S3Store,
    info: ObjectInfo,
    /// Recently read blocks (block index, bytes), most recent last.
    blocks: Mutex<Vec<(u64, Arc<Vec<u8>>)>>,
}

impl RemoteObject {
    fn block(&self, index: u64) -> std::io::Result<Arc<Vec<u8>>> {
        {
            let mut blocks = self.blocks.lock().expect("read blocks");
            if let Some(pos) = blocks.iter().position(|(i, _)| *i == index) {
                let hit = blocks.remove(pos);
                let data = hit.1.clone();
                blocks.push(hit);
                return Ok(data);
            }
        }
        let start = index * READ_BLOCK;
        let end = (start + READ_BLOCK).min(self.info.size);
        let data = Arc::new(
            self.store
                .get_range(&self.info, start..end)
                .map_err(std::io::Error::other)?,
        );
        let mut blocks = self.blocks.lock().expect("read blocks");
        if blocks.len() >= READ_BLOCKS_KEPT {
            blocks.remove(0);
        }
        blocks.push((index, data.clone()));
        Ok(data)
    }
}

impl crate::storage::ByteSource for RemoteObject {
    fn len(&self) -> u64 {
        self.info.size
    }

    fn read_at(&self, offset: u64, buf: &mut [u8]) -> std::io::Result<()> {
        let end = offset + buf.len() as u64;
        if end > self.info.size {
            return Err(std::io::Error::new(
                std::io::ErrorKind::UnexpectedEof,
                format!(
                    "{}: read past the end ({end} > {} bytes)",
                    self.store.describe(&self.info.key),
                    self.info.size
                ),
            ));
        }
        if buf.len() as u64 >= READ_BLOCK {
            let data = self
                .store
                .get_range(&self.info, offset..end)
                .map_err(std::io::Error::other)?;
            buf.copy_from_slice(&data);
            return Ok(());
        }
        let mut pos = offset;
        while pos < end {
            let index = pos / READ_BLOCK;
            let block = self.block(index)?;
            let within = (pos - index * READ_BLOCK) as usize;
            let take = ((end - pos) as usize).min(block.len() - within);
            let at = (pos - offset) as usize;
            buf[at..at + take].copy_from_slice(&block[within..within + take]);
            pos += take as u64;
        }
        Ok(())
    }
}
