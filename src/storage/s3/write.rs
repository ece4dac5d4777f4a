//! Writes: publishing staged outputs (PUT or multipart, metadata last), deletes, conditional puts.

use super::*;

impl S3Store {
    /// Uploads the staged output `key` (a file or a folder under `staged_root`).
    pub fn publish(&self, staged_root: &Path, key: &str) -> Result<()> {
        let local = staged_root.join(key);
        if local.is_file() {
            return block_on(self.upload_file(key.to_string(), local));
        }
        let mut files = Vec::new();
        walk_files(&local, &mut files).map_err(|source| StorageError::Io {
            location: local.display().to_string(),
            source,
        })?;
        // Chunks first, then metadata (names starting with a dot, or zarr.json): a reader of the
        // zarr never sees metadata that points at missing chunks.
        let is_meta = |p: &Path| {
            p.file_name()
                .is_some_and(|n| crate::storage::is_zarr_metadata_key(&n.to_string_lossy()))
        };
        let (meta, data): (Vec<_>, Vec<_>) = files.into_iter().partition(|p| is_meta(p));
        let key_of = |p: &Path| {
            let rel = p.strip_prefix(staged_root).expect("under the staging root");
            rel.to_string_lossy().replace('\\', "/")
        };
        let mut uploaded = BTreeSet::new();
        for batch in [data, meta] {
            let jobs: Vec<(String, std::path::PathBuf)> =
                batch.into_iter().map(|p| (key_of(&p), p)).collect();
            uploaded.extend(jobs.iter().map(|(k, _)| k.clone()));
            block_on(async {
                futures::stream::iter(jobs)
                    .map(|(k, p)| self.upload_file(k, p))
                    .buffer_unordered(UPLOADS_IN_FLIGHT)
                    .try_collect::<Vec<()>>()
                    .await
            })?;
        }
        // Objects of an older version of the folder that the new one does not have.
        let before = self.list_under(key, false)?;
        let stale: Vec<String> = before
            .iter()
            .filter(|o| !uploaded.contains(&o.key))
            .map(|o| o.key.clone())
            .collect();
        for k in stale {
            self.delete(&k)?;
        }
        Ok(())
    }

    async fn upload_file(&self, key: String, local: std::path::PathBuf) -> Result<()> {
        let io_err = |source| StorageError::Io {
            location: local.display().to_string(),
            source,
        };
        let size = std::fs::metadata(&local).map_err(io_err)?.len();
        let path = self.path(&key);
        let part_size = self.inner.part_size;
        let attributes = attributes_for(&key);
        if size <= part_size as u64 {
            let bytes = std::fs::read(&local).map_err(io_err)?;
            let opts = PutOptions {
                attributes,
                ..Default::default()
            };
            self.inner
                .store
                .put_opts(&path, PutPayload::from(bytes), opts)
                .await
                .map_err(|e| self.error(&key, e))?;
            return Ok(());
        }
        let opts = PutMultipartOptions {
            attributes,
            ..Default::default()
        };
        let upload = self
            .inner
            .store
            .put_multipart_opts(&path, opts)
            .await
            .map_err(|e| self.error(&key, e))?;
        let mut writer = WriteMultipart::new_with_chunk_size(upload, part_size);
        let mut file = std::fs::File::open(&local).map_err(io_err)?;
        let mut buf = vec![0u8; part_size];
        loop {
            let n = read_full(&mut file, &mut buf).map_err(io_err)?;
            if n == 0 {
                break;
            }
            if let Err(e) = writer.wait_for_capacity(PARTS_IN_FLIGHT).await {
                let _ = writer.abort().await;
                return Err(self.error(&key, e));
            }
            writer.write(&buf[..n]);
        }
        writer.finish().await.map_err(|e| self.error(&key, e))?;
        Ok(())
    }

    /// Deletes one object (absent is fine).
    pub fn delete(&self, key: &str) -> Result<()> {
        match block_on(self.inner.store.delete(&self.path(key))) {
            Ok(()) | Err(object_store::Error::NotFound { .. }) => Ok(()),
            Err(e) => Err(self.error(key, e)),
        }
    }

    /// Writes `bytes` at `key` under a condition; `Ok(None)` when the condition failed (the
    /// object exists for [`Condition::Absent`], or has another ETag for [`Condition::Matches`]).
    /// Returns the new ETag.
    pub fn put_conditional(
        &self,
        key: &str,
        bytes: Vec<u8>,
        condition: Condition,
    ) -> Result<Option<String>> {
        let mode = match condition {
            Condition::Absent => PutMode::Create,
            Condition::Matches(etag) => PutMode::Update(UpdateVersion {
                e_tag: Some(etag),
                version: None,
            }),
            Condition::None => PutMode::Overwrite,
        };
        let opts = PutOptions {
            mode,
            ..Default::default()
        };
        match block_on(
            self.inner
                .store
                .put_opts(&self.path(key), PutPayload::from(bytes), opts),
        ) {
            Ok(r) => Ok(Some(r.e_tag.unwrap_or_default())),
            Err(
                object_store::Error::AlreadyExists { .. }
                | object_store::Error::Precondition { .. },
            ) => Ok(None),
            // A conditional update of an object deleted meanwhile.
            Err(object_store::Error::NotFound { .. }) => Ok(None),
            Err(e) => Err(self.error(key, e)),
        }
    }
}

/// The Content-Type of an output, from its extension, as the reference's uploads set it
/// (Python's `mimetypes`); other objects get the server's default.
pub fn content_type(key: &str) -> Option<&'static str> {
    let ext = key.rsplit_once('.')?.1.to_ascii_lowercase();
    Some(match ext.as_str() {
        "json" => "application/json",
        "png" => "image/png",
        "gif" => "image/gif",
        "jpg" | "jpeg" => "image/jpeg",
        "tif" | "tiff" => "image/tiff",
        "txt" => "text/plain",
        "csv" => "text/csv",
        _ => return None,
    })
}

fn attributes_for(key: &str) -> Attributes {
    content_type(key)
        .map(|t| (Attribute::ContentType, t))
        .into_iter()
        .collect()
}

/// The precondition of [`S3Store::put_conditional`].
#[derive(Debug, Clone)]
pub enum Condition {
    /// `If-None-Match: *`: create only.
    Absent,
    /// `If-Match: <etag>`: replace only that version.
    Matches(String),
    /// Unconditional.
    None,
}

fn read_full(file: &mut std::fs::File, buf: &mut [u8]) -> std::io::Result<usize> {
    use std::io::Read;
    let mut n = 0;
    while n < buf.len() {
        match file.read(&mut buf[n..])? {
            0 => break,
            k => n += k,
        }
    }
    Ok(n)
}

/// Every file under `dir`, sorted.
fn walk_files(dir: &Path, out: &mut Vec<std::path::PathBuf>) -> std::io::Result<()> {
    let mut stack = vec![dir.to_path_buf()];
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(&dir)? {
            let entry = entry?;
            if entry.file_type()?.is_dir() {
                stack.push(entry.path());
            } else {
                out.push(entry.path());
            }
        }
    }
    out.sort();
    Ok(())
}
