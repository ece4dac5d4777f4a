//! Alignments (spec §8.1): the files of one source entry are copied to
//! `Alignments/{id}/{run}{ext}`, and `alignment_metadata.json` gets the per-section alignment
//! parameters computed from them, the first tilt series' path, the volume dimension of the
//! first tomogram's *source* header when the config lacks it, and the identity defaults.
//!
//! Key parts beyond the block: the copied files, and the first tomogram's source (its header
//! gives `volume_dimension`), so replacing that tomogram re-derives the alignment.

use super::files::{extension, run_name};
use super::frames::FileCopy;
use super::volumes::TomogramHeaderSource;
use super::{PlanKind, TargetContext};
use crate::storage::{ObjectInfo, StoreKey};
use crate::target::{BuildError, BuildIo, Kind, Planned, TargetId, TargetSpec};
use crate::EntityKind;
use serde_json::{json, Map, Value};

/// An alignment: its copied files and `alignment_metadata.json`.
pub struct Alignment;

/// What an alignment target reads.
#[derive(serde::Serialize)]
pub struct AlignmentParams {
    name: String,
    metadata: Map<String, Value>,
    finder: Value,
    copies: Vec<FileCopy>,
    tiltseries_path: Option<String>,
    /// The first tomogram's source, whose header gives `volume_dimension` when the config
    /// lacks it.
    tomogram: Option<TomogramHeaderSource>,
    output: StoreKey,
    deposition_id_default: Value,
}

impl Kind for Alignment {
    type Params = AlignmentParams;

    fn build(p: &AlignmentParams, io: &mut BuildIo<'_>) -> Result<(), BuildError> {
        let mut texts: Vec<(String, String)> = Vec::new();
        for c in &p.copies {
            let bytes = io.read_source(io.source(&c.source)?)?;
            io.write_bytes(&c.output, &bytes)?;
            texts.push((
                c.output.to_string(),
                String::from_utf8_lossy(&bytes).into_owned(),
            ));
        }
        // The reference globs the alignment folder for `*{suffix}`; first match wins.
        let with_suffix = |suffixes: &[&str]| -> Option<(String, String)> {
            suffixes
                .iter()
                .find_map(|s| texts.iter().find(|(k, _)| k.ends_with(s)).cloned())
        };
        let (alignment_path, tilt_path, tiltx_path, params) = match p
            .metadata
            .get("format")
            .and_then(Value::as_str)
            .unwrap_or("")
        {
            "IMOD" => {
                let xf = with_suffix(&[".xf"]);
                let tlt = with_suffix(&[".tlt"]);
                let tiltx = with_suffix(&[".tltx", ".xtilt"]);
                let tiltcom = with_suffix(&["tilt.com"]);
                let params = match (&xf, &tlt) {
                    (Some(xf), Some(tlt)) => {
                        crate::formats::alignment::imod_per_section_parameters(
                            (&xf.1, &xf.0),
                            (&tlt.1, &tlt.0),
                            tiltx.as_ref().map(|t| (t.1.as_str(), t.0.as_str())),
                            tiltcom.as_ref().map(|t| (t.1.as_str(), t.0.as_str())),
                        )?
                    }
                    _ => Vec::new(),
                };
                (
                    xf.map(|x| x.0),
                    tlt.map(|x| x.0),
                    tiltx.map(|x| x.0),
                    params,
                )
            }
            "ARETOMO3" => {
                let aln = with_suffix(&[".aln"]);
                let params = match &aln {
                    Some((k, text)) => {
                        crate::formats::alignment::aretomo3_per_section_parameters(text, k)?
                    }
                    None => Vec::new(),
                };
                (aln.map(|x| x.0), None, None, params)
            }
            _ => (None, None, None, Vec::new()),
        };
        let mut extra = Map::new();
        extra.insert(
            "per_section_alignment_parameters".into(),
            Value::Array(params),
        );
        extra.insert("alignment_path".into(), json!(alignment_path));
        extra.insert("tilt_path".into(), json!(tilt_path));
        extra.insert("tiltx_path".into(), json!(tiltx_path));
        extra.insert("tiltseries_path".into(), json!(p.tiltseries_path));
        extra.insert(
            "files".into(),
            json!(p
                .copies
                .iter()
                .map(|c| c.output.clone())
                .collect::<Vec<_>>()),
        );
        if let Some(tomogram) = &p.tomogram {
            let [z, y, x] = super::volumes::tomogram_dimension_zyx(io, tomogram)?;
            extra.insert("volume_dimension".into(), json!({"x": x, "y": y, "z": z}));
        }
        for (k, v) in crate::formats::alignment::missing_alignment_defaults(&p.metadata) {
            extra.insert(k, v);
        }
        io.write_metadata(
            &p.output,
            &p.metadata,
            Value::Object(extra),
            &p.deposition_id_default,
        )
    }
}

impl PlanKind for Alignment {
    fn plan(
        ctx: &TargetContext<'_>,
        _earlier: &[TargetSpec],
    ) -> Result<Vec<(usize, Planned<Alignment>)>, BuildError> {
        ctx.each_instance(&[EntityKind::Alignment], |idx| {
            Ok(plan_one(ctx, idx)?.into_iter().collect())
        })
    }
}

/// The target of an alignment instance, or `None` when the reference would write nothing
/// (an alignment with neither a tomogram nor a configured volume dimension).
///
/// # Errors
/// Listing errors while fingerprinting sources.
fn plan_one(ctx: &TargetContext<'_>, idx: usize) -> Result<Option<Planned<Alignment>>, BuildError> {
    let d = ctx.discovery;
    let inst = &d.instances[idx];
    let run_idx = inst.parent.expect("alignments live under a run");
    let run = run_name(ctx, idx);
    let dir = inst.output_dir.clone();
    let is_default = inst.name == "default" && inst.file_paths.is_empty();
    let dims_in_config = inst.metadata.get("volume_dimension").is_some_and(|v| {
        ["x", "y", "z"]
            .iter()
            .all(|k| v.get(k).is_some_and(crate::metadata::is_truthy))
    });
    let tomogram = super::volumes::first_tomogram(d, run_idx);
    // Without a tomogram the reference writes nothing unless the config gives the volume
    // dimension (which the default alignment never does).
    if tomogram.is_none() && (is_default || !dims_in_config) {
        return Ok(None);
    }
    // The first tomogram's source header gives `volume_dimension` when the config lacks it.
    let tomogram_header = match tomogram.filter(|_| !inst.metadata.contains_key("volume_dimension"))
    {
        Some(t) => super::volumes::tomogram_header_source(ctx, t)?,
        None => None,
    };
    let mut sources: Vec<ObjectInfo> = Vec::new();
    let mut copies: Vec<FileCopy> = Vec::new();
    if !is_default {
        for key in &inst.file_paths {
            for o in ctx.input.list_files(key)? {
                copies.push(FileCopy {
                    source: o.key.clone(),
                    output: dir.child(&format!("{run}{}", extension(key)))?,
                });
                sources.push(o);
            }
        }
    }
    if let Some(t) = &tomogram_header {
        sources.extend(t.objects.iter().cloned());
    }
    let tiltseries_path = d
        .children(run_idx, EntityKind::Tiltseries)
        .next()
        .map(|(_, t)| format!("{}/tiltseries_metadata.json", t.output_dir));
    let params = AlignmentParams {
        name: inst.name.clone(),
        metadata: inst.metadata.clone(),
        finder: inst.finder.clone(),
        copies,
        tiltseries_path,
        tomogram: tomogram_header,
        output: dir.child("alignment_metadata.json")?,
        deposition_id_default: super::containers::deposition_name_value(ctx, idx),
    };
    Ok(Some(
        Planned::new(TargetId::from_key(dir)?, EntityKind::Alignment, params).sources(sources),
    ))
}
