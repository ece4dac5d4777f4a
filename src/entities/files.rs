//! Plain file entities copied (and renamed) into the run's folders (spec §8.2): gains,
//! collection metadata (the mdoc), raw tilt angles and CTF files.

use super::{Instance, PlanKind, TargetContext};
use crate::storage::{KeyError, ObjectInfo, StoreKey};
use crate::target::{invalid, BuildError, BuildIo, Kind, Planned, TargetId, TargetSpec};
use crate::EntityKind;
use serde_json::{Map, Value};

pub(crate) fn basename(key: &str) -> &str {
    key.rsplit('/').next().unwrap_or(key)
}

/// Python `os.path.splitext(path)[1]`: the last `.suffix` of the basename, or "".
pub(crate) fn extension(key: &str) -> &str {
    let base = basename(key);
    match base.rfind('.') {
        Some(0) | None => "",
        Some(i) => &base[i..],
    }
}

/// Fingerprints of an instance's source (a file, or every file of a folder source).
pub(crate) fn fingerprint(
    ctx: &TargetContext<'_>,
    inst: &Instance,
) -> Result<Vec<ObjectInfo>, BuildError> {
    match &inst.path {
        Some(p) if !p.is_empty() => Ok(ctx.input.list_files(p)?),
        _ => Ok(Vec::new()),
    }
}

/// The run's name (every file entity lives under a run).
pub(crate) fn run_name(ctx: &TargetContext<'_>, idx: usize) -> String {
    ctx.discovery
        .ancestor(idx, EntityKind::Run)
        .map(|r| r.name.clone())
        .unwrap_or_default()
}

/// The run's mdoc as copied into the destination: the last collection-metadata instance of run
/// `run_idx` that has a source, and its output key (`{run}/Frames/{run}.mdoc`). Its target id
/// is that key.
pub(crate) fn run_mdoc(d: &super::Discovery, run_idx: usize) -> Option<(usize, StoreKey)> {
    let (idx, inst) = d
        .children(run_idx, EntityKind::CollectionMetadata)
        .filter(|(_, c)| c.path.as_deref().is_some_and(|p| !p.is_empty()))
        .last()?;
    let run = &d.instances[run_idx].name;
    Some((idx, named_after_run(&inst.output_dir, run, ".mdoc")))
}

/// A tilt series' raw tilt angles as copied into the destination: the last rawtilt instance of
/// tilt series `ts_idx` that has a source, and its output key. The reference names the copy
/// `{run}.rawtlt` whatever the source's name or extension, so all its rawtilts write that one
/// file, and the last copied stays. Its target id is that key.
pub(crate) fn tiltseries_rawtlt(d: &super::Discovery, ts_idx: usize) -> Option<(usize, StoreKey)> {
    let (idx, inst) = d
        .children(ts_idx, EntityKind::Rawtilt)
        .filter(|(_, r)| r.path.as_deref().is_some_and(|p| !p.is_empty()))
        .last()?;
    let run = d
        .ancestor(idx, EntityKind::Run)
        .map_or("", |r| r.name.as_str());
    Some((idx, named_after_run(&inst.output_dir, run, ".rawtlt")))
}

/// `dir/{run}{suffix}` for a non-empty `suffix` without `/`: discovery made the run name one
/// valid path segment (or it is empty), so the name with the suffix is one too.
fn named_after_run(dir: &StoreKey, run: &str, suffix: &str) -> StoreKey {
    dir.child(&format!("{run}{suffix}"))
        .expect("a valid (or empty) run name with a non-empty suffix is one valid segment")
}

/// Where a gain, collection-metadata, rawtilt or CTF instance is copied to (spec §5.1), or
/// `None` when it writes nothing (no source, or an mdoc or rawtilt that is not the last). Readers of
/// these copies (the tilt-series metadata) take their paths from here too.
///
/// # Errors
/// A CTF format (from the config) that cannot be part of a file name.
pub(crate) fn output_key(d: &super::Discovery, idx: usize) -> Result<Option<StoreKey>, KeyError> {
    let inst = &d.instances[idx];
    let Some(src_key) = inst.path.as_deref().filter(|p| !p.is_empty()) else {
        return Ok(None);
    };
    let run = d
        .ancestor(idx, EntityKind::Run)
        .map_or("", |r| r.name.as_str());
    let dir = &inst.output_dir;
    Ok(Some(match inst.kind {
        EntityKind::Gain if extension(src_key).eq_ignore_ascii_case(".dm4") => {
            let base = basename(src_key);
            dir.child(&format!("{}.mrc", &base[..base.len() - 4]))?
        }
        EntityKind::Gain => dir.child(basename(src_key))?,
        EntityKind::CollectionMetadata => {
            // Consumers read the last instance only; earlier ones would write the same file.
            match run_mdoc(d, inst.parent.unwrap_or(usize::MAX)) {
                Some((last, key)) if last == idx => key,
                _ => return Ok(None),
            }
        }
        EntityKind::Rawtilt => match tiltseries_rawtlt(d, inst.parent.unwrap_or(usize::MAX)) {
            // Every rawtilt of a tilt series writes the same file; the last one's bytes stay.
            Some((last, key)) if last == idx => key,
            _ => return Ok(None),
        },
        EntityKind::Ctf => dir.child(&format!("{run}_{}_ctf.txt", ctf_format(inst)))?,
        _ => return Ok(None),
    }))
}

/// The CTF format named by a CTF block (`metadata.format`), as written in the config.
pub(crate) fn ctf_format(inst: &Instance) -> &str {
    inst.metadata
        .get("format")
        .and_then(|v| v.as_str())
        .unwrap_or("unknown")
}

/// Gain, collection-metadata, rawtilt and CTF copies.
pub struct FileCopy;

/// What a file copy reads.
#[derive(serde::Serialize)]
pub struct FileCopyParams {
    name: String,
    metadata: Map<String, Value>,
    finder: Value,
    /// The source file (among the target's sources).
    source: String,
    /// Where it is copied to.
    output: StoreKey,
    /// A `.dm4` gain converted to MRC on the way.
    convert_dm4: bool,
}

impl Kind for FileCopy {
    type Params = FileCopyParams;

    fn build(p: &FileCopyParams, io: &mut BuildIo<'_>) -> Result<(), BuildError> {
        let object = io.source(&p.source)?;
        if p.convert_dm4 {
            convert_dm4_gain(io, object, &p.output)
        } else {
            io.copy_source(object, &p.output)
        }
    }
}

impl PlanKind for FileCopy {
    fn plan(
        ctx: &TargetContext<'_>,
        _earlier: &[TargetSpec],
    ) -> Result<Vec<(usize, Planned<FileCopy>)>, BuildError> {
        use EntityKind::{CollectionMetadata, Ctf, Gain, Rawtilt};
        ctx.each_instance(&[Gain, CollectionMetadata, Rawtilt, Ctf], |idx| {
            Ok(plan_one(ctx, idx)?.into_iter().collect())
        })
    }
}

fn plan_one(ctx: &TargetContext<'_>, idx: usize) -> Result<Option<Planned<FileCopy>>, BuildError> {
    let inst = &ctx.discovery.instances[idx];
    let Some(out_key) = output_key(ctx.discovery, idx)? else {
        return Ok(None);
    };
    let src_key = inst.path.clone().unwrap_or_default();
    let sources = fingerprint(ctx, inst)?;
    if !sources.iter().any(|o| o.key == src_key) {
        return Err(BuildError::Invalid(format!(
            "{}: expected a file, found a folder",
            ctx.input.describe(&src_key)
        )));
    }
    let params = FileCopyParams {
        name: inst.name.clone(),
        metadata: inst.metadata.clone(),
        finder: inst.finder.clone(),
        convert_dm4: inst.kind == EntityKind::Gain
            && extension(&src_key).eq_ignore_ascii_case(".dm4"),
        source: src_key,
        output: out_key.clone(),
    };
    Ok(Some(
        Planned::new(TargetId::from_key(out_key)?, inst.kind, params).sources(sources),
    ))
}

/// `.dm4` gain references become MRC through IMOD's `dm2mrc`, as in the reference; without IMOD
/// the target fails with a message saying so (no Rust DM4 reader exists yet).
fn convert_dm4_gain(
    io: &mut BuildIo<'_>,
    object: &ObjectInfo,
    key: &StoreKey,
) -> Result<(), BuildError> {
    let tool = ["/usr/local/IMOD/bin/dm2mrc", "dm2mrc"]
        .into_iter()
        .find(|t| std::process::Command::new(t).arg("-h").output().is_ok())
        .ok_or_else(|| {
            BuildError::Invalid(format!(
                "{}: .dm4 gain references need IMOD's dm2mrc on PATH (not found)",
                io.input.describe(&object.key)
            ))
        })?;
    let scratch = |e: std::io::Error| invalid(format!("dm2mrc scratch folder: {e}"));
    let tmp = tempfile::tempdir().map_err(scratch)?;
    let src = tmp.path().join("gain.dm4");
    std::fs::write(&src, io.read_source(object)?).map_err(scratch)?;
    let dst = tmp.path().join("gain.mrc");
    let status = std::process::Command::new(tool)
        .arg(&src)
        .arg(&dst)
        .status()
        .map_err(|e| BuildError::Invalid(format!("dm2mrc: {e}")))?;
    if !status.success() {
        return Err(BuildError::Invalid(format!(
            "{}: dm2mrc failed ({status})",
            io.input.describe(&object.key)
        )));
    }
    let bytes = std::fs::read(&dst).map_err(scratch)?;
    io.write_bytes(key, &bytes)
}
