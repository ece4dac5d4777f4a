//! Frames (spec §8.4): every frame instance of a run makes one target that copies the frame
//! files into `Frames/` and writes `frames_metadata.json` from the run's copied mdoc.
//!
//! The reference writes `frames_metadata.json` once per frame source entry (the last one wins);
//! one target per run writes it once, from the last entry's metadata, with the same result.

use super::files::{basename, run_name};
use super::{PlanKind, TargetContext};
use crate::storage::{KeyError, StoreKey};
use crate::target::{BuildError, BuildIo, Kind, Planned, TargetId, TargetSpec};
use crate::EntityKind;
use serde_json::{json, Map, Value};

/// The frames of one run: copied files and `frames_metadata.json`.
pub struct Frames;

/// A source file and where it is copied to.
#[derive(serde::Serialize)]
pub struct FileCopy {
    /// Source key (among the target's sources).
    pub source: String,
    /// Output key.
    pub output: StoreKey,
}

/// What a run's frames target reads.
#[derive(serde::Serialize)]
pub struct FramesParams {
    run: String,
    /// The last frame entry's metadata.
    metadata: Map<String, Value>,
    finders: Vec<Value>,
    copies: Vec<FileCopy>,
    /// The run's copied mdoc (a parent's output).
    frames_acquisition_file: Option<StoreKey>,
    output: StoreKey,
    deposition_id_default: Value,
}

impl Kind for Frames {
    type Params = FramesParams;

    fn build(p: &FramesParams, io: &mut BuildIo<'_>) -> Result<(), BuildError> {
        let run = &p.run;
        let dose_rate = p
            .metadata
            .get("dose_rate")
            .and_then(Value::as_f64)
            .filter(|d| *d != 0.0)
            .ok_or_else(|| {
                BuildError::Invalid(format!(
                    "frames of run {run}: metadata.dose_rate is {}, expected a non-zero number",
                    p.metadata
                        .get("dose_rate")
                        .map_or("missing".into(), ToString::to_string)
                ))
            })?;
        let mdoc_key = p.frames_acquisition_file.clone().ok_or_else(|| {
            BuildError::Invalid(format!(
                "frames of run {run}: frames_metadata.json needs the run's mdoc, but no collection_metadata source found one"
            ))
        })?;
        for c in &p.copies {
            let object = io.source(&c.source)?;
            io.copy_source(object, &c.output)?;
        }
        let text = io.output.read(&mdoc_key)?;
        let text = String::from_utf8_lossy(&text);
        let parsed = crate::formats::mdoc::parse_mdoc(&text, &io.output.describe(&mdoc_key))?;
        let copied: Vec<String> = p.copies.iter().map(|c| c.output.to_string()).collect();
        let gain = p.metadata.get("is_gain_corrected").and_then(Value::as_bool);
        let frames = crate::formats::frames::frames_entries(&parsed, dose_rate, gain, &copied)?;
        let extra = json!({"frames": frames, "frames_acquisition_file": mdoc_key});
        io.write_metadata(&p.output, &p.metadata, extra, &p.deposition_id_default)
    }
}

impl PlanKind for Frames {
    fn plan(
        ctx: &TargetContext<'_>,
        _earlier: &[TargetSpec],
    ) -> Result<Vec<(usize, Planned<Frames>)>, BuildError> {
        // All frame instances of a run make one target, planned at the first of them.
        let mut runs = std::collections::HashSet::new();
        ctx.each_instance(&[EntityKind::Frame], |idx| {
            let run = ctx.discovery.instances[idx].parent;
            Ok(match runs.insert(run) {
                true => vec![plan_run(ctx, idx)?],
                false => Vec::new(),
            })
        })
    }
}

/// The frames target of the run that frame instance `idx` belongs to.
fn plan_run(ctx: &TargetContext<'_>, idx: usize) -> Result<Planned<Frames>, BuildError> {
    let d = ctx.discovery;
    let inst = &d.instances[idx];
    let run_idx = inst.parent.expect("frames live under a run");
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
    let copies = sources
        .iter()
        .map(|o| {
            Ok(FileCopy {
                source: o.key.clone(),
                output: dir.child(basename(&o.key))?,
            })
        })
        .collect::<Result<Vec<_>, KeyError>>()?;
    let last = members.last().expect("at least the instance itself");
    let mdoc = super::files::run_mdoc(d, run_idx).map(|(_, key)| key);
    let params = FramesParams {
        run: run_name(ctx, idx),
        metadata: last.metadata.clone(),
        finders: members.iter().map(|m| m.finder.clone()).collect(),
        copies,
        frames_acquisition_file: mdoc.clone(),
        output: dir.child("frames_metadata.json")?,
        deposition_id_default: super::containers::deposition_name_value(ctx, idx),
    };
    let deps = mdoc.map(TargetId::from_key).transpose()?;
    Ok(
        Planned::new(TargetId::from_key(dir)?, EntityKind::Frame, params)
            .sources(sources)
            .deps(deps.into_iter().collect()),
    )
}
