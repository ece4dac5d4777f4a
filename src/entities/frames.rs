//! Frames (spec §8.4): every frame instance of a run makes one target that copies the frame
//! files into `Frames/` and writes `frames_metadata.json` from the run's copied mdoc.
//!
//! The reference writes `frames_metadata.json` once per frame source entry (the last one wins);
//! one target per run writes it once, from the last entry's metadata, with the same result.

use super::files::{basename, run_name};
use super::TargetContext;
use crate::target::invalid;
use crate::target::TargetSpec;
use crate::target::{BuildError, BuildIo};
use crate::EntityKind;
use serde_json::{json, Value};
use std::sync::Arc;

/// The frames target of the run that frame instance `idx` belongs to.
///
/// # Errors
/// Listing errors while fingerprinting frame files.
pub fn target(ctx: &TargetContext<'_>, idx: usize) -> Result<TargetSpec, BuildError> {
    let d = ctx.discovery;
    let inst = &d.instances[idx];
    let run_idx = inst.parent.expect("frames live under a run");
    let run = run_name(ctx, idx);
    let dir = inst.output_dir.clone();
    let members: Vec<_> = d
        .children(run_idx, EntityKind::Frame)
        .filter(|(_, i)| !i.in_destination)
        .map(|(_, i)| i)
        .collect();
    let mut sources = Vec::new();
    for m in &members {
        for key in &m.file_paths {
            sources.extend(ctx.input.list_files(key)?);
        }
    }
    let copies: Vec<(crate::storage::ObjectInfo, String)> = sources
        .iter()
        .map(|o| (o.clone(), format!("{dir}/{}", basename(&o.key))))
        .collect();
    let last = members.last().expect("at least the instance itself");
    let metadata = last.metadata.clone();
    let mdoc = super::files::run_mdoc(d, run_idx).map(|(_, key)| key);
    let deps: Vec<String> = mdoc.iter().cloned().collect();
    let meta_key = format!("{dir}/frames_metadata.json");
    let dep_value = super::containers::deposition_name_value(ctx, idx);
    let config = json!({
        "run": run,
        "metadata": metadata,
        "finders": members.iter().map(|m| m.finder.clone()).collect::<Vec<_>>(),
        "outputs": copies.iter().map(|(_, k)| k.clone()).collect::<Vec<_>>(),
        "frames_acquisition_file": mdoc,
        "deposition_id_default": dep_value,
    });
    let run_for_msg = run.clone();
    let action = Arc::new(move |io: &mut BuildIo<'_>| {
        let dose_rate = metadata
            .get("dose_rate")
            .and_then(Value::as_f64)
            .filter(|d| *d != 0.0)
            .ok_or_else(|| {
                BuildError::Invalid(format!(
                    "frames of run {run_for_msg}: metadata.dose_rate is {}, expected a non-zero number",
                    metadata.get("dose_rate").map_or("missing".into(), ToString::to_string)
                ))
            })?;
        let mdoc_key = mdoc.clone().ok_or_else(|| {
            BuildError::Invalid(format!(
                "frames of run {run_for_msg}: frames_metadata.json needs the run's mdoc, but no collection_metadata source found one"
            ))
        })?;
        for (object, key) in &copies {
            io.copy_source(object, key)?;
        }
        let text = io.output.read(&mdoc_key)?;
        let text = String::from_utf8_lossy(&text);
        let parsed = crate::formats::mdoc::parse_mdoc(&text, &io.output.describe(&mdoc_key))
            .map_err(invalid)?;
        let copied: Vec<String> = copies.iter().map(|(_, k)| k.clone()).collect();
        let gain = metadata.get("is_gain_corrected").and_then(Value::as_bool);
        let frames = crate::formats::frames::frames_entries(&parsed, dose_rate, gain, &copied)
            .map_err(invalid)?;
        let extra = json!({"frames": frames, "frames_acquisition_file": mdoc_key});
        io.write_metadata(&meta_key, &metadata, extra, &dep_value)
    });
    Ok(TargetSpec {
        id: dir,
        kind: EntityKind::Frame,
        config,
        sources,
        deps,
        metadata: false,
        action,
    })
}
