//! Dataset and deposition key photos (spec §9, "Key photos").
//!
//! A key photo named `snapshot` or `thumbnail` with a path is copied to
//! `…/Images/{name}{source extension}`: an `http(s)://` path is downloaded (fingerprinted by a
//! `HEAD`), any other path is a key under INPUT. A deposition photo with no path writes nothing.
//! A dataset photo whose path is missing or does not exist falls back to
//! `key-photo-{name}.png` of the dataset's first tomogram (runs → voxel spacings → tomograms in
//! finder order), and fails when there is none, as the reference does.

use super::files::extension;
use super::{BuildError, BuildIo, TargetContext};
use crate::graph::TargetSpec;
use crate::storage::{http, ObjectInfo};
use crate::EntityKind;
use serde_json::json;
use std::sync::Arc;

/// Where a key photo comes from, as planned.
enum Origin {
    /// A URL, with the fingerprint of its `HEAD`.
    Url(ObjectInfo),
    /// A key under INPUT.
    Input(ObjectInfo),
    /// A tomogram key image in OUTPUT, built by the target `key_images`.
    TomogramKeyImage { key: String, key_images: String },
}

fn extension_of_url(url: &str) -> &str {
    let path = url.split(['?', '#']).next().unwrap_or(url);
    extension(path)
}

/// The target of a dataset or deposition key-photo instance (`None`: nothing to write).
///
/// # Errors
/// Listing errors on INPUT.
pub fn target(ctx: &TargetContext<'_>, idx: usize) -> Result<Option<TargetSpec>, BuildError> {
    let d = ctx.discovery;
    let inst = &d.instances[idx];
    let path = inst.path.clone().filter(|p| !p.is_empty());
    // A source that cannot be reached is reported by the target, so the rest still builds.
    let mut unreachable: Option<String> = None;
    let found = match &path {
        Some(p) if http::is_url(p) => match http::head(p) {
            Ok(info) => info.map(Origin::Url),
            Err(e) => {
                unreachable = Some(e.to_string());
                None
            }
        },
        Some(p) => ctx.input.head(p)?.map(Origin::Input),
        None => None,
    };
    let origin = match (found, inst.kind) {
        (Some(origin), _) => Some(origin),
        (None, EntityKind::DatasetKeyphoto) if unreachable.is_none() => {
            let dataset = inst
                .parent
                .expect("dataset key photos live under a dataset");
            d.descendants(dataset, EntityKind::Tomogram)
                .first()
                .map(|&t| {
                    let tomo = &d.instances[t];
                    let vs =
                        &d.instances[tomo.parent.expect("tomograms live under a voxel spacing")];
                    let images = format!("{}/Images/{}", vs.output_dir, tomo.id.unwrap_or(0));
                    Origin::TomogramKeyImage {
                        key: format!("{images}/key-photo-{}.png", inst.name),
                        key_images: images,
                    }
                })
        }
        (None, EntityKind::DepositionKeyphoto) if path.is_none() => return Ok(None),
        _ => None,
    };
    let ext = match &origin {
        Some(Origin::Url(o)) => extension_of_url(&o.key).to_string(),
        Some(Origin::Input(o)) => extension(&o.key).to_string(),
        Some(Origin::TomogramKeyImage { .. }) | None => ".png".to_string(),
    };
    let out_key = format!("{}/{}{ext}", inst.output_dir, inst.name);
    let (sources, deps) = match &origin {
        Some(Origin::Url(o)) | Some(Origin::Input(o)) => (vec![o.clone()], Vec::new()),
        Some(Origin::TomogramKeyImage { key_images, .. }) => (Vec::new(), vec![key_images.clone()]),
        None => (Vec::new(), Vec::new()),
    };
    let config = json!({"name": inst.name, "finder": inst.finder, "path": path, "output": out_key});
    let what = format!("{} `{}`", inst.kind, inst.name);
    let fallback = if inst.kind == EntityKind::DatasetKeyphoto {
        ", and there is no tomogram key image to fall back on"
    } else {
        ""
    };
    let key = out_key.clone();
    let action = Arc::new(move |io: &mut BuildIo<'_>| match &origin {
        Some(Origin::Url(o)) => {
            let bytes = http::get_checked(o)?;
            io.write_bytes(&key, &bytes)
        }
        Some(Origin::Input(o)) => io.copy_source(o, &key),
        Some(Origin::TomogramKeyImage { key: image, .. }) => {
            let bytes = io.output.read(image)?;
            io.write_bytes(&key, &bytes)
        }
        None => Err(BuildError::Invalid(match (&unreachable, &path) {
            (Some(e), _) => format!("{what}: {e}"),
            (None, Some(p)) => format!("{what}: {p} does not exist{fallback}"),
            (None, None) => format!("{what}: no source path{fallback}"),
        })),
    });
    Ok(Some(TargetSpec {
        id: out_key,
        kind: inst.kind,
        config,
        sources,
        deps,
        action,
    }))
}
