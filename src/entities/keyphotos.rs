//! Dataset and deposition key photos (spec §9, "Key photos").
//!
//! A key photo named `snapshot` or `thumbnail` with a path is copied to
//! `…/Images/{name}{source extension}`. The path is read as the reference reads it:
//!
//! - `http(s)://…`: downloaded (fingerprinted by a `HEAD`);
//! - `s3://bucket/key`: that object, with INPUT's S3 credentials and endpoint;
//! - `bucket/key` (what real configs write, e.g. `cryoetportal-rawdatasets-dev/…`): on S3 INPUT
//!   the object `s3://bucket/key`; for a folder INPUT, the file `bucket/key` under the folder
//!   holding INPUT (INPUT plays a bucket, its parent folder the bucket namespace, as the
//!   reference's `--local-fs` run from that parent folder reads it);
//! - an absolute path (folder INPUT): that file.
//!
//! A configured path that cannot be found fails the photo's target naming the path and where
//! it looked. The reference falls back to a tomogram image then (spec §13); a nightly
//! re-ingestion would hide a broken path behind a silently substituted picture, so we do not.
//! A dataset photo with no path (`null`, or the default config) uses `key-photo-{name}.png` of
//! the dataset's first tomogram (runs → voxel spacings → tomograms in finder order), and fails
//! when there is none; a deposition photo with no path writes nothing. The photos of a dataset
//! or deposition referenced in the destination (read-only) are not written at all.

use super::files::extension;
use super::{PlanKind, TargetContext};
use crate::storage::{http, s3, ObjectInfo, Role, S3Options, Store, StoreKey};
use crate::target::{BuildError, BuildIo, Kind, Planned, TargetId, TargetSpec};
use crate::EntityKind;
use serde_json::Value;

/// Where a key photo comes from, as planned.
#[derive(serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Origin {
    /// A URL, with the fingerprint of its `HEAD`.
    Url(#[serde(skip)] ObjectInfo),
    /// An object of a bucket (or folder) store, at `info.key` of `store`. Its fingerprint is
    /// the target's source named by the configured path.
    Bucket {
        /// The store holding it: a handle, named by the configured `path`.
        #[serde(skip)]
        store: Store,
        /// The object's key and fingerprint in `store`: derived from the configured path, and
        /// its fingerprint is the target's source.
        #[serde(skip)]
        info: ObjectInfo,
    },
    /// A tomogram key image in OUTPUT, built by the target `key_images`.
    TomogramKeyImage {
        /// The image read.
        key: String,
        /// The key-image target that writes it.
        key_images: TargetId,
    },
    /// The key image of a tomogram referenced in the destination (built by an earlier
    /// ingestion), with its fingerprint.
    DestinationImage(ObjectInfo),
}

/// Dataset and deposition key photos.
pub struct KeyPhoto;

/// What a key-photo target reads.
#[derive(serde::Serialize)]
pub struct KeyPhotoParams {
    name: String,
    finder: Value,
    path: Option<String>,
    read_as: &'static str,
    output: StoreKey,
    origin: Option<Origin>,
    /// Why no origin was found, when it was not (the target fails with it).
    problem: Option<String>,
    /// `{kind} `{name}``, for messages.
    what: String,
}

impl Kind for KeyPhoto {
    type Params = KeyPhotoParams;

    fn build(p: &KeyPhotoParams, io: &mut BuildIo<'_>) -> Result<(), BuildError> {
        let key = &p.output;
        match &p.origin {
            Some(Origin::Url(o)) => {
                let bytes = http::get_checked(o)?;
                io.write_bytes(key, &bytes)
            }
            Some(Origin::Bucket { store, info }) => io.copy_from(store, info, key),
            Some(Origin::TomogramKeyImage { key: image, .. }) => {
                let bytes = io.output.read(image)?;
                io.write_bytes(key, &bytes)
            }
            Some(Origin::DestinationImage(info)) => {
                let bytes = io.output.read(&info.key)?;
                io.write_bytes(key, &bytes)
            }
            None => Err(BuildError::Invalid(match &p.problem {
                Some(problem) => format!("{}: {problem}", p.what),
                None => format!(
                    "{}: no source path, and there is no tomogram key image to fall back on",
                    p.what
                ),
            })),
        }
    }
}

impl PlanKind for KeyPhoto {
    fn plan(
        ctx: &TargetContext<'_>,
        _earlier: &[TargetSpec],
    ) -> Result<Vec<(usize, Planned<KeyPhoto>)>, BuildError> {
        use EntityKind::{DatasetKeyphoto, DepositionKeyphoto};
        ctx.each_instance(&[DatasetKeyphoto, DepositionKeyphoto], |idx| {
            Ok(plan_one(ctx, idx)?.into_iter().collect())
        })
    }
}

fn extension_of_url(url: &str) -> &str {
    let path = url.split(['?', '#']).next().unwrap_or(url);
    extension(path)
}

/// A configured photo path resolved to a store and a key in it, plus a description of where
/// it was looked for (for the error when it is not there).
struct Located {
    store: Store,
    key: String,
    how: &'static str,
}

/// Resolves a non-URL photo path (see the module doc). INPUT itself is used when the path
/// falls under it, so that its listing memo and fingerprint cache serve the photo too.
fn locate(path: &str, input: &Store, s3_options: &S3Options) -> Result<Located, String> {
    let open = |location: &str| {
        Store::open_with(location, Role::Output, s3_options).map_err(|e| e.to_string())
    };
    let (bucket, key) = if let Some(rest) = path.strip_prefix("s3://") {
        rest.split_once('/').unwrap_or((rest, ""))
    } else if path.starts_with('/') {
        return match input.local_root() {
            Some(_) => {
                let (dir, file) = path.rsplit_once('/').unwrap_or(("", path));
                Ok(Located {
                    store: open(if dir.is_empty() { "/" } else { dir })?,
                    key: file.to_string(),
                    how: "an absolute path",
                })
            }
            None => Err(format!(
                "`{path}` is an absolute local path, but INPUT is on S3 (write `bucket/key`)"
            )),
        };
    } else {
        path.split_once('/').unwrap_or((path, ""))
    };
    if bucket.is_empty() || key.is_empty() {
        return Err(format!(
            "`{path}` is not a bucket-qualified path (`bucket/key`, as the reference reads it)"
        ));
    }
    match input.local_root() {
        Some(root) if !path.starts_with("s3://") => {
            let root = std::fs::canonicalize(root).unwrap_or_else(|_| root.to_path_buf());
            let namespace = root.parent().unwrap_or(&root);
            let file = namespace.join(bucket).join(key);
            if let Ok(rel) = file.strip_prefix(&root) {
                return Ok(Located {
                    store: input.clone(),
                    key: rel.to_string_lossy().into_owned(),
                    how: "a bucket under the folder holding INPUT",
                });
            }
            Ok(Located {
                store: open(&namespace.join(bucket).to_string_lossy())?,
                key: key.to_string(),
                how: "a bucket under the folder holding INPUT",
            })
        }
        _ => {
            if let Ok((in_bucket, prefix)) = s3::parse_url(&input.root_identity()) {
                let under = if prefix.is_empty() {
                    Some(key)
                } else {
                    key.strip_prefix(&format!("{prefix}/"))
                };
                if let (true, Some(rel)) = (in_bucket == bucket, under) {
                    return Ok(Located {
                        store: input.clone(),
                        key: rel.to_string(),
                        how: "an S3 bucket and key",
                    });
                }
            }
            Ok(Located {
                store: open(&format!("s3://{bucket}"))?,
                key: key.to_string(),
                how: "an S3 bucket and key",
            })
        }
    }
}

/// The target of a dataset or deposition key-photo instance (`None`: nothing to write).
///
/// # Errors
/// Listing errors on INPUT or OUTPUT.
fn plan_one(ctx: &TargetContext<'_>, idx: usize) -> Result<Option<Planned<KeyPhoto>>, BuildError> {
    let d = ctx.discovery;
    let inst = &d.instances[idx];
    let owner = inst.parent.map(|p| &d.instances[p]);
    if owner.is_some_and(|o| o.in_destination) {
        // A dataset or deposition referenced in the destination is read-only: its photos too.
        return Ok(None);
    }
    let path = inst.path.clone().filter(|p| !p.is_empty());
    // A photo that cannot be found or reached is reported by its target, so the rest builds.
    let mut problem: Option<String> = None;
    let mut read_as = "none";
    let found = match &path {
        Some(p) if http::is_url(p) => {
            read_as = "url";
            match http::head(p) {
                Ok(Some(info)) => Some(Origin::Url(info)),
                Ok(None) => {
                    problem = Some(format!("{p} was not found (the server did not answer 200)"));
                    None
                }
                Err(e) => {
                    problem = Some(e.to_string());
                    None
                }
            }
        }
        Some(p) => {
            read_as = "bucket";
            match locate(p, ctx.input, ctx.s3) {
                Ok(l) => match l.store.head(&l.key)? {
                    Some(info) => Some(Origin::Bucket {
                        store: l.store,
                        info,
                    }),
                    None => {
                        problem = Some(format!(
                            "{p} was not found (read as {}: {})",
                            l.how,
                            l.store.describe(&l.key)
                        ));
                        None
                    }
                },
                Err(e) => {
                    problem = Some(e);
                    None
                }
            }
        }
        None => None,
    };
    let origin = match (found, inst.kind) {
        (Some(origin), _) => Some(origin),
        (None, _) if problem.is_some() => None,
        (None, EntityKind::DatasetKeyphoto) => {
            let dataset = inst
                .parent
                .expect("dataset key photos live under a dataset");
            match d.descendants(dataset, EntityKind::Tomogram).first() {
                None => None,
                Some(&t) => {
                    let tomo = &d.instances[t];
                    let images = super::volumes::key_images_dir(d, t)?;
                    let key = format!("{images}/key-photo-{}.png", inst.name);
                    if tomo.in_destination {
                        read_as = "destination_key_image";
                        match ctx.output.head(&key)? {
                            Some(info) => Some(Origin::DestinationImage(info)),
                            None => {
                                problem = Some(format!(
                                    "no source path, and the referenced tomogram has no key image {}",
                                    ctx.output.describe(&key)
                                ));
                                None
                            }
                        }
                    } else {
                        read_as = "tomogram_key_image";
                        Some(Origin::TomogramKeyImage {
                            key,
                            key_images: images,
                        })
                    }
                }
            }
        }
        (None, EntityKind::DepositionKeyphoto) => return Ok(None),
        _ => None,
    };
    let ext = match &origin {
        Some(Origin::Url(o)) => extension_of_url(&o.key).to_string(),
        Some(Origin::Bucket { info, .. }) => extension(&info.key).to_string(),
        Some(Origin::TomogramKeyImage { .. } | Origin::DestinationImage(_)) | None => {
            ".png".to_string()
        }
    };
    let out_key = inst.output_dir.child(&format!("{}{ext}", inst.name))?;
    // Sources are named as configured (a URL, or the bucket-qualified path), not by where
    // this machine found them: keys hold no absolute paths.
    let (sources, deps) = match &origin {
        Some(Origin::Url(o)) => (vec![o.clone()], Vec::new()),
        Some(Origin::Bucket { info, .. }) => (
            vec![ObjectInfo {
                key: path.clone().unwrap_or_default(),
                ..info.clone()
            }],
            Vec::new(),
        ),
        Some(Origin::TomogramKeyImage { key_images, .. }) => (Vec::new(), vec![key_images.clone()]),
        Some(Origin::DestinationImage(_)) | None => (Vec::new(), Vec::new()),
    };
    let params = KeyPhotoParams {
        name: inst.name.clone(),
        finder: inst.finder.clone(),
        path,
        read_as,
        output: out_key.clone(),
        origin,
        problem,
        what: format!("{} `{}`", inst.kind, inst.name),
    };
    Ok(Some(
        Planned::new(TargetId::from_key(out_key)?, inst.kind, params)
            .sources(sources)
            .deps(deps),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The `dataset_keyphotos` snapshot path of a real config.
    fn real_config_photo() -> String {
        // Read in place from the shared real configs (`../shared` of the repository).
        let file = concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../shared/real_configs/gjensen/10014.yaml"
        );
        let text = std::fs::read_to_string(file).expect("the real configs are in ../shared");
        let line = text
            .lines()
            .find(|l| {
                l.trim_start()
                    .starts_with("snapshot: cryoetportal-rawdatasets-dev/")
            })
            .expect("10014.yaml names its snapshot bucket-qualified");
        line.trim_start()
            .trim_start_matches("snapshot: ")
            .to_string()
    }

    #[test]
    fn a_real_config_photo_is_read_from_input_when_input_is_its_bucket() {
        let path = real_config_photo();
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join(&path);
        std::fs::create_dir_all(file.parent().unwrap()).unwrap();
        std::fs::write(&file, b"jpeg").unwrap();
        let input_dir = dir.path().join("cryoetportal-rawdatasets-dev");
        let input = Store::open(input_dir.to_str().unwrap(), None, true).unwrap();
        let l = locate(&path, &input, &S3Options::default()).unwrap();
        let (_, rest) = path.split_once('/').unwrap();
        assert_eq!(l.key, rest);
        assert_eq!(l.store.read(&l.key).unwrap(), b"jpeg");
        // The same path under an INPUT named otherwise is looked for beside it, not in it.
        let other = Store::open(dir.path().join("mirror").to_str().unwrap(), None, false).unwrap();
        let l = locate(&path, &other, &S3Options::default()).unwrap();
        assert_eq!(l.store.describe(&l.key), file.display().to_string());
    }

    #[test]
    fn unqualified_and_absolute_paths() {
        let dir = tempfile::tempdir().unwrap();
        let input = Store::open(dir.path().to_str().unwrap(), None, true).unwrap();
        let e = locate("photo.png", &input, &S3Options::default())
            .err()
            .unwrap();
        assert!(e.contains("not a bucket-qualified path"), "{e}");
        let abs = dir.path().join("abs.png");
        std::fs::write(&abs, b"png").unwrap();
        let l = locate(abs.to_str().unwrap(), &input, &S3Options::default()).unwrap();
        assert_eq!(l.store.read(&l.key).unwrap(), b"png");
    }
}
