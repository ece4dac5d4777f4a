//! Tomograms, tilt series and key images (spec §6, §9, §11).
//!
//! Each volume is split into targets so that an edit rebuilds only what it changes:
//!
//! | target | id | reads | writes |
//! |---|---|---|---|
//! | volume | `…/{id}/{run}` (the file prefix) | the source volume | `{run}.zarr`, `{run}.mrc` |
//! | metadata | `…/{id}` | the volume target's zarr (`.zarray`/`.zattrs`), and for tilt series the copied rawtlt, mdoc and CTF | `tomogram_metadata.json` / `tiltseries_metadata.json` |
//! | key images | `…/Images/{id}` | level 0 of the tomogram's zarr (the 40 central sections) | four `key-photo-*.png` |
//!
//! A metadata edit rebuilds only the metadata target; a new source volume rebuilds the volume,
//! and its children only when the converted outputs differ (their digests are keyed).

use super::files::{ctf_format, output_key, run_mdoc, run_name};
use super::{Instance, PlanKind, TargetContext, VolumeFormats};
use crate::formats::omezarr;
use crate::storage::{KeyError, ObjectInfo, StoreKey};
use crate::target::{invalid, BuildError, BuildIo, Kind, Planned, TargetId, TargetSpec};
use crate::volume::{self, KeySlab, VolumeKind, VolumeOptions, VolumeSource, Zyx};
use crate::EntityKind;
use serde_json::{json, Map, Value};

/// Output keys of a volume instance: (folder, file prefix, zarr key, mrc key).
struct VolumePaths {
    /// The folder: the metadata target's id.
    dir: TargetId,
    /// `{dir}/{run}`: the conversion target's id.
    prefix: TargetId,
    zarr: StoreKey,
    mrc: StoreKey,
}

impl VolumePaths {
    fn of(inst: &Instance, run: &str) -> Result<VolumePaths, KeyError> {
        let dir = &inst.output_dir;
        Ok(VolumePaths {
            prefix: TargetId::from_key(dir.child(run)?)?,
            zarr: dir.child(&format!("{run}.zarr"))?,
            mrc: dir.child(&format!("{run}.mrc"))?,
            dir: TargetId::from_key(dir.clone())?,
        })
    }
}

/// The `alignment_metadata_path` a tomogram's metadata gets: its config's, else the run's
/// first alignment's.
pub(crate) fn tomogram_alignment_path(d: &super::Discovery, idx: usize) -> Option<String> {
    d.instances[idx]
        .metadata
        .get("alignment_metadata_path")
        .and_then(Value::as_str)
        .map(String::from)
        .or_else(|| d.run_alignment_path(idx))
}

/// A volume source opened for reading: an MRC by ranged reads (checked against its listing),
/// or a local OME-Zarr folder.
pub(crate) enum SourceVolume {
    Mrc(crate::storage::RangedObject),
    Zarr(zarrs::storage::ReadableStorage),
}

impl SourceVolume {
    /// Opens `src_key` of INPUT: an MRC (`object` is its listing) or an OME-Zarr folder
    /// (`listed` holds its files). A zarr on S3 is first fetched into the target's scratch
    /// folder, every object with `If-Match` on its listed ETag.
    ///
    /// # Errors
    /// A changed or missing source.
    pub(crate) fn open(
        io: &mut BuildIo<'_>,
        src_key: &str,
        object: Option<&ObjectInfo>,
        is_zarr: bool,
        listed: &[ObjectInfo],
    ) -> Result<SourceVolume, BuildError> {
        let name = io.input.describe(src_key);
        if is_zarr {
            let root = match io.input.local_root() {
                Some(root) => root.join(src_key),
                None => {
                    let scratch = io.scratch()?;
                    for o in listed {
                        let rel = o.key.strip_prefix(src_key).unwrap_or(&o.key);
                        let to = scratch.join(rel.trim_start_matches('/'));
                        if let Some(parent) = to.parent() {
                            std::fs::create_dir_all(parent)
                                .map_err(|e| invalid(format!("{}: {e}", parent.display())))?;
                        }
                        io.input.copy_checked(o, &to)?;
                    }
                    scratch
                }
            };
            let storage = omezarr::local_storage(&root)?;
            return Ok(SourceVolume::Zarr(storage));
        }
        let object = object.ok_or_else(|| invalid(format!("{name}: not a file")))?;
        Ok(SourceVolume::Mrc(io.input.open_ranged(object)?))
    }

    /// The source as the volume code takes it.
    pub(crate) fn source(&self) -> VolumeSource<'_> {
        match self {
            SourceVolume::Mrc(object) => VolumeSource::Mrc(object),
            SourceVolume::Zarr(storage) => VolumeSource::OmeZarr(storage.clone()),
        }
    }
}

/// Records the `{stem}.zarr` folder and `{stem}.mrc` file a volume conversion wrote in
/// `scratch` as outputs `zarr_key` and `mrc_key` (`None`: that format is not written), moving
/// them into the staging area.
///
/// # Errors
/// A format asked for that was not written; staging I/O errors.
pub(crate) fn record_volume_outputs(
    io: &mut BuildIo<'_>,
    outputs: &volume::VolumeOutputs,
    stem: &str,
    (zarr_key, mrc_key): (Option<&StoreKey>, Option<&StoreKey>),
    name: &str,
    scratch: &std::path::Path,
) -> Result<(), BuildError> {
    if let Some(zarr_key) = zarr_key {
        let zarr_prefix = format!("{stem}.zarr/");
        let mut zarr_files = Vec::new();
        let mut zarr_size = 0;
        for f in &outputs.files {
            if let Some(rel) = f.path.strip_prefix(&zarr_prefix) {
                zarr_files.push((rel.to_string(), f.blake3.clone()));
                zarr_size += f.size;
            }
        }
        if zarr_files.is_empty() {
            return Err(invalid(format!("{name}: no zarr was written")));
        }
        io.adopt(&scratch.join(format!("{stem}.zarr")), zarr_key)?;
        io.record_folder(zarr_key, zarr_files, zarr_size);
    }
    if let Some(mrc_key) = mrc_key {
        let mrc = outputs
            .files
            .iter()
            .find(|f| f.path == format!("{stem}.mrc"))
            .ok_or_else(|| invalid(format!("{name}: no MRC was written")))?;
        io.adopt(&scratch.join(format!("{stem}.mrc")), mrc_key)?;
        io.record_file(mrc_key, &mrc.blake3, mrc.size);
    }
    Ok(())
}

/// The run's first tomogram with a source, in discovery order: where `volume_dimension` comes
/// from when an alignment's config lacks it (alignment metadata, mask rescaling). A tomogram
/// referenced in the destination has no source volume to read a header from.
pub(crate) fn first_tomogram(d: &super::Discovery, run_idx: usize) -> Option<&Instance> {
    d.descendants(run_idx, EntityKind::Tomogram)
        .into_iter()
        .map(|t| &d.instances[t])
        .find(|t| !t.in_destination)
}

/// A tomogram's source path and its voxel spacing (the parent's name; 0 when unparsable).
pub(crate) fn tomogram_source(d: &super::Discovery, t: &Instance) -> Option<(String, f64)> {
    let vs: f64 = t
        .parent
        .map_or(0.0, |p| d.instances[p].name.parse().unwrap_or(0.0));
    t.path.clone().map(|p| (p, vs))
}

/// What a tomogram's header is read from: its source (an MRC, or an OME-Zarr folder) and the
/// listed objects that reading the header needs, which are the inputs a key must name.
#[derive(Debug, Clone, serde::Serialize)]
pub struct TomogramHeaderSource {
    pub key: String,
    pub is_zarr: bool,
    /// The MRC itself, or the zarr's metadata files (`.zattrs`, `.zarray`, `zarr.json`, …).
    /// They are among the sources of the target that reads them, so already in its key.
    #[serde(skip)]
    pub objects: Vec<ObjectInfo>,
    /// The tomogram's voxel spacing (its parent's name).
    pub voxel_spacing: f64,
}

/// The header source of tomogram `t`, or `None` when it has no source or nothing is listed
/// under it.
///
/// # Errors
/// Listing errors on INPUT.
pub(crate) fn tomogram_header_source(
    ctx: &TargetContext<'_>,
    t: &Instance,
) -> Result<Option<TomogramHeaderSource>, BuildError> {
    let Some((key, voxel_spacing)) = tomogram_source(ctx.discovery, t) else {
        return Ok(None);
    };
    let listed = ctx.input.list_files(&key)?;
    let is_zarr = t.is_dir || key.contains(".zarr");
    let objects: Vec<ObjectInfo> = if is_zarr {
        listed
            .into_iter()
            .filter(|o| crate::storage::is_zarr_metadata_key(&o.key))
            .collect()
    } else {
        listed.into_iter().take(1).collect()
    };
    Ok((!objects.is_empty()).then_some(TomogramHeaderSource {
        key,
        is_zarr,
        objects,
        voxel_spacing,
    }))
}

/// A tomogram's physical size in Å, z, y, x: its source's size (an MRC header, or an
/// OME-Zarr's level 0 shape) times the voxel spacing rounded to 3 decimals. Only headers and
/// metadata are read, each checked against the listing.
///
/// # Errors
/// A changed source or an unreadable header.
pub(crate) fn tomogram_dimension_zyx(
    io: &mut BuildIo<'_>,
    tomogram: &TomogramHeaderSource,
) -> Result<[f64; 3], BuildError> {
    let name = io.input.describe(&tomogram.key);
    let opened = SourceVolume::open(
        io,
        &tomogram.key,
        tomogram.objects.first(),
        tomogram.is_zarr,
        &tomogram.objects,
    )?;
    let header = volume::read_header(&opened.source(), &name)?;
    let vs = volume::round3(tomogram.voxel_spacing);
    let s = header.size;
    Ok([s.z, s.y, s.x].map(|n| vs * n as f64))
}

/// Fingerprints of outputs that a target reads from OUTPUT without building them (a build
/// with `--no-write-mrc` or `--no-write-zarr`), for its key: `null` for one that is absent
/// (the target then fails when it reads it).
///
/// # Errors
/// Listing errors on OUTPUT.
fn destination_fingerprints(
    ctx: &TargetContext<'_>,
    keys: &[StoreKey],
) -> Result<Value, BuildError> {
    let mut out = Vec::new();
    for k in keys {
        out.push(json!({"key": k, "found": ctx.output.head(k)?}));
    }
    Ok(Value::Array(out))
}

/// The zarr metadata files that a volume's metadata reads (`.zattrs` and each level's
/// `.zarray`), found in OUTPUT, for a build that does not write the zarr.
///
/// # Errors
/// Listing or reading errors on OUTPUT.
fn destination_zarr_fingerprints(
    ctx: &TargetContext<'_>,
    zarr: &StoreKey,
) -> Result<Value, BuildError> {
    let attrs_key = zarr.child(".zattrs")?;
    let mut keys = vec![attrs_key.clone()];
    if ctx.output.head(&attrs_key)?.is_some() {
        let attrs: Value =
            serde_json::from_slice(&ctx.output.read(&attrs_key)?).unwrap_or(Value::Null);
        if let Some(datasets) = attrs
            .pointer("/multiscales/0/datasets")
            .and_then(Value::as_array)
        {
            for ds in datasets {
                let path = ds.get("path").and_then(Value::as_str).unwrap_or("0");
                keys.push(zarr.join(&format!("{path}/.zarray"))?);
            }
        }
    }
    destination_fingerprints(ctx, &keys)
}

/// What the metadata of a volume reads back from its written zarr (spec §6.5).
struct WrittenVolume {
    scales: Vec<Zyx>,
    level0_spacing: f64,
}

fn read_written_volume(io: &BuildIo<'_>, zarr: &str) -> Result<WrittenVolume, BuildError> {
    let json_at = |key: String| io.read_output_json(&key);
    let attrs = json_at(format!("{zarr}/.zattrs"))?;
    let datasets = attrs
        .pointer("/multiscales/0/datasets")
        .and_then(Value::as_array)
        .ok_or_else(|| {
            invalid(format!(
                "{}/.zattrs: no multiscales datasets",
                io.output.describe(zarr)
            ))
        })?;
    let mut scales = Vec::new();
    for ds in datasets {
        let path = ds.get("path").and_then(Value::as_str).unwrap_or("0");
        let zarray = json_at(format!("{zarr}/{path}/.zarray"))?;
        let shape: Vec<usize> = zarray
            .get("shape")
            .and_then(Value::as_array)
            .map(|a| {
                a.iter()
                    .filter_map(|v| v.as_u64().map(|n| n as usize))
                    .collect()
            })
            .unwrap_or_default();
        let [z, y, x] = shape[..] else {
            return Err(invalid(format!(
                "{}/{path}/.zarray: expected a 3-d shape",
                io.output.describe(zarr)
            )));
        };
        scales.push(Zyx { z, y, x });
    }
    let level0_spacing = datasets
        .first()
        .and_then(|d| d.pointer("/coordinateTransformations/0/scale/1"))
        .and_then(Value::as_f64)
        .unwrap_or(0.0);
    Ok(WrittenVolume {
        scales,
        level0_spacing,
    })
}

/// The conversion of a tomogram or tilt-series source into `{run}.zarr` and `{run}.mrc`.
pub struct Volume;

/// What a volume conversion reads.
#[derive(serde::Serialize)]
pub struct VolumeParams {
    /// The source volume (an MRC, or an OME-Zarr folder), among the target's sources.
    source: String,
    kind: VolumeKind,
    voxel_spacing: Option<f64>,
    /// The files written (a build without one of them keys differently).
    outputs: Vec<StoreKey>,
    writer_version: u32,
    is_zarr: bool,
    /// `{run}`: the written files' stem.
    stem: String,
    zarr: StoreKey,
    mrc: StoreKey,
    formats: VolumeFormats,
}

impl Kind for Volume {
    type Params = VolumeParams;

    fn build(p: &VolumeParams, io: &mut BuildIo<'_>) -> Result<(), BuildError> {
        let name = io.input.describe(&p.source);
        let mut opts = VolumeOptions::new(p.stem.clone());
        opts.voxel_spacing = p.voxel_spacing;
        opts.write_mrc = p.formats.mrc;
        opts.write_zarr = p.formats.zarr;
        let scratch = io.scratch()?;
        let object = io.source(&p.source).ok();
        let listed: Vec<ObjectInfo> = io.sources_under(&p.source).cloned().collect();
        let opened = SourceVolume::open(io, &p.source, object, p.is_zarr, &listed)?;
        let outputs = volume::standardize(&opened.source(), &name, p.kind, &opts, &scratch)?;
        let keys = (
            p.formats.zarr.then_some(&p.zarr),
            p.formats.mrc.then_some(&p.mrc),
        );
        record_volume_outputs(io, &outputs, &p.stem, keys, &name, &scratch)
    }
}

impl PlanKind for Volume {
    fn plan(
        ctx: &TargetContext<'_>,
        _earlier: &[TargetSpec],
    ) -> Result<Vec<(usize, Planned<Volume>)>, BuildError> {
        use EntityKind::{Tiltseries, Tomogram};
        ctx.each_instance(&[Tomogram, Tiltseries], |idx| {
            let inst = &ctx.discovery.instances[idx];
            let paths = VolumePaths::of(inst, &run_name(ctx, idx))?;
            let (kind, spacing) = match inst.kind {
                Tomogram => (
                    VolumeKind::Tomogram,
                    Some(ctx.discovery.voxel_spacing(idx)?),
                ),
                _ => (VolumeKind::TiltSeries, tiltseries_pixel_spacing(inst)?),
            };
            Ok(vec![plan_volume(ctx, inst, &paths, kind, spacing)?])
        })
    }
}

/// A tilt series' configured `pixel_spacing`, when set.
fn tiltseries_pixel_spacing(inst: &Instance) -> Result<Option<f64>, BuildError> {
    Ok(match inst.metadata.get("pixel_spacing") {
        Some(v) if crate::metadata::is_truthy(v) => Some(v.as_f64().ok_or_else(|| {
            invalid(format!(
                "tilt series {}: metadata.pixel_spacing is {v}, expected a number",
                inst.name
            ))
        })?),
        _ => None,
    })
}

fn plan_volume(
    ctx: &TargetContext<'_>,
    inst: &Instance,
    paths: &VolumePaths,
    kind: VolumeKind,
    voxel_spacing: Option<f64>,
) -> Result<Planned<Volume>, BuildError> {
    let src_key = inst
        .path
        .clone()
        .filter(|p| !p.is_empty())
        .ok_or_else(|| invalid(format!("{} {} has no source volume", inst.kind, inst.name)))?;
    let sources = ctx.input.list_files(&src_key)?;
    let formats = ctx.volume_formats;
    let outputs = [(formats.zarr, &paths.zarr), (formats.mrc, &paths.mrc)]
        .into_iter()
        .filter(|(on, _)| *on)
        .map(|(_, k)| k.clone())
        .collect();
    let params = VolumeParams {
        is_zarr: inst.is_dir || src_key.contains(".zarr"),
        source: src_key,
        kind,
        voxel_spacing,
        outputs,
        writer_version: volume::WRITER_VERSION,
        stem: paths
            .prefix
            .rsplit('/')
            .next()
            .unwrap_or_default()
            .to_string(),
        zarr: paths.zarr.clone(),
        mrc: paths.mrc.clone(),
        formats,
    };
    Ok(Planned::new(paths.prefix.clone(), inst.kind, params).sources(sources))
}

/// The metadata JSON of a tomogram or tilt series, read back from its written zarr.
pub struct VolumeMetadata;

/// What a volume's metadata reads.
#[derive(serde::Serialize)]
pub struct VolumeMetadataParams {
    name: String,
    metadata: Map<String, Value>,
    finder: Value,
    output: StoreKey,
    /// Fields known when planning, written after those read back from the zarr.
    fields: Map<String, Value>,
    deposition_id_default: Value,
    /// `--no-write-zarr`: the fingerprints of the zarr already in OUTPUT that it reads.
    #[serde(skip_serializing_if = "Option::is_none")]
    zarr_from_destination: Option<Value>,
    zarr: StoreKey,
    mrc: StoreKey,
    /// A tilt series' per-section inputs (parents' outputs).
    #[serde(skip_serializing_if = "Option::is_none")]
    tiltseries: Option<TiltSeriesInputs>,
}

/// What a tilt series' metadata reads besides its zarr: the copied rawtlt, mdoc and CTF.
#[derive(serde::Serialize)]
pub struct TiltSeriesInputs {
    rawtlt: Option<StoreKey>,
    mdoc: Option<StoreKey>,
    /// The CTF copy and its format.
    ctf: Option<(StoreKey, String)>,
    pixel_spacing: Option<f64>,
}

impl Kind for VolumeMetadata {
    type Params = VolumeMetadataParams;

    fn build(p: &VolumeMetadataParams, io: &mut BuildIo<'_>) -> Result<(), BuildError> {
        let written = read_written_volume(io, &p.zarr).map_err(|e| {
            if p.zarr_from_destination.is_some() {
                invalid(format!(
                    "{e} (with --no-write-zarr the metadata reads the zarr already in OUTPUT)"
                ))
            } else {
                e
            }
        })?;
        let mut doc = Map::new();
        doc.insert("scales".into(), json!(written.scales));
        doc.insert("size".into(), json!(written.scales.first()));
        doc.insert("omezarr_dir".into(), json!(p.zarr));
        doc.insert("mrc_file".into(), json!(p.mrc));
        doc.extend(p.fields.clone());
        if let Some(ts) = &p.tiltseries {
            doc.extend(tiltseries_fields(io, &p.name, ts, written.level0_spacing)?);
        }
        io.write_metadata(
            &p.output,
            &p.metadata,
            Value::Object(doc),
            &p.deposition_id_default,
        )
    }
}

/// A tilt series' `pixel_spacing`, per-section parameters and copied-file paths.
fn tiltseries_fields(
    io: &BuildIo<'_>,
    name: &str,
    ts: &TiltSeriesInputs,
    level0_spacing: f64,
) -> Result<Map<String, Value>, BuildError> {
    let missing = |what: &str| {
        invalid(format!(
            "tilt series {name}: per-section parameters need {what}, but none was found"
        ))
    };
    let rawtlt =
        (ts.rawtlt.as_ref()).ok_or_else(|| missing("a rawtilt source ending in .rawtlt"))?;
    let mdoc_key =
        (ts.mdoc.as_ref()).ok_or_else(|| missing("a collection_metadata (mdoc) source"))?;
    let text = |key: &str| io.read_output_text(key);
    let angles = crate::formats::tilts::parse_angles(&text(rawtlt)?, rawtlt)?;
    let mdoc_doc = crate::formats::mdoc::parse_mdoc(&text(mdoc_key)?, mdoc_key)?;
    let ctf_rows = match &ts.ctf {
        Some((key, format)) => Some(crate::formats::ctf::parse_ctf(format, &text(key)?, key)?),
        None => None,
    };
    let psp =
        crate::formats::frames::per_section_parameters(&angles, &mdoc_doc, ctf_rows.as_deref())?;
    let mut extra = Map::new();
    extra.insert(
        "pixel_spacing".into(),
        json!(ts.pixel_spacing.unwrap_or(level0_spacing)),
    );
    extra.insert("per_section_parameter".into(), Value::Array(psp));
    extra.insert("raw_tlt_path".into(), json!(rawtlt));
    extra.insert(
        "ctf_path".into(),
        json!(ts.ctf.as_ref().map(|(k, _)| k.clone())),
    );
    Ok(extra)
}

impl PlanKind for VolumeMetadata {
    fn plan(
        ctx: &TargetContext<'_>,
        _earlier: &[TargetSpec],
    ) -> Result<Vec<(usize, Planned<VolumeMetadata>)>, BuildError> {
        use EntityKind::{Tiltseries, Tomogram};
        ctx.each_instance(&[Tomogram, Tiltseries], |idx| {
            Ok(vec![match ctx.discovery.instances[idx].kind {
                Tomogram => plan_tomogram_metadata(ctx, idx)?,
                _ => plan_tiltseries_metadata(ctx, idx)?,
            }])
        })
    }
}

fn plan_tomogram_metadata(
    ctx: &TargetContext<'_>,
    idx: usize,
) -> Result<Planned<VolumeMetadata>, BuildError> {
    let d = ctx.discovery;
    let inst = &d.instances[idx];
    let run = run_name(ctx, idx);
    let vs_inst = &d.instances[inst.parent.expect("tomograms live under a voxel spacing")];
    let vs = ctx.discovery.voxel_spacing(idx)?;
    let images_dir = key_images_dir(ctx.discovery, idx)?;
    let key_photo = |name: &str| format!("{images_dir}/key-photo-{name}.png");
    let neuroglancer = format!(
        "{}/NeuroglancerPrecompute/{}-neuroglancer_config.json",
        vs_inst.output_dir,
        inst.id.unwrap_or(0)
    );
    let mut metadata = inst.metadata.clone();
    if let Some(status) = metadata.get("fiducial_alignment_status") {
        let normal = crate::metadata::normalize_fiducial_alignment_status(status).map_err(|e| {
            invalid(format!(
                "tomogram {}: metadata.fiducial_alignment_status: {e}",
                inst.name
            ))
        })?;
        metadata.insert("fiducial_alignment_status".into(), normal);
    }
    let fields = json!({
        "run_name": run,
        "key_photo": {"snapshot": key_photo("snapshot"), "thumbnail": key_photo("thumbnail")},
        "voxel_spacing": vs,
        "alignment_metadata_path": tomogram_alignment_path(d, idx),
        "neuroglancer_config_path": neuroglancer,
    });
    let paths = VolumePaths::of(inst, &run)?;
    let deps = vec![paths.prefix.clone()];
    plan_metadata(
        ctx,
        idx,
        &paths,
        "tomogram_metadata.json",
        metadata,
        fields,
        None,
    )
    .map(|p| p.deps(deps))
}

fn plan_tiltseries_metadata(
    ctx: &TargetContext<'_>,
    idx: usize,
) -> Result<Planned<VolumeMetadata>, BuildError> {
    let d = ctx.discovery;
    let inst = &d.instances[idx];
    let run = run_name(ctx, idx);
    let run_idx = d
        .ancestor_index(idx, EntityKind::Run)
        .expect("tilt series live under a run");
    let paths = VolumePaths::of(inst, &run)?;
    // Frames: the number of frame files of the run (a `default` frames entry counts as one).
    let frames_count: usize = d
        .children(run_idx, EntityKind::Frame)
        .map(|(_, f)| f.file_paths.len().max(usize::from(f.name == "default")))
        .sum();
    // As the reference: per-section parameters need a rawtilt source ending in `.rawtlt`, and
    // read the `{run}.rawtlt` copy (which holds the last rawtilt's bytes).
    let rawtlt = d
        .children(idx, EntityKind::Rawtilt)
        .any(|(_, r)| r.path.as_deref().is_some_and(|p| p.ends_with(".rawtlt")))
        .then(|| super::files::tiltseries_rawtlt(d, idx).map(|(_, key)| key))
        .flatten();
    let ctf = match d.children(idx, EntityKind::Ctf).next() {
        Some((i, c)) => output_key(d, i)?.map(|k| (k, ctf_format(c).to_string())),
        None => None,
    };
    let mdoc = run_mdoc(d, run_idx).map(|(_, key)| key);
    // The copies are targets whose ids are their keys.
    let copies = rawtlt.iter().chain(&mdoc).chain(ctf.iter().map(|(k, _)| k));
    let mut deps = vec![paths.prefix.clone()];
    for key in copies {
        deps.push(TargetId::from_key(key.clone())?);
    }
    let fields = json!({"run_name": run, "frames_count": frames_count});
    let inputs = TiltSeriesInputs {
        rawtlt,
        mdoc,
        ctf,
        pixel_spacing: tiltseries_pixel_spacing(inst)?,
    };
    let metadata = inst.metadata.clone();
    plan_metadata(
        ctx,
        idx,
        &paths,
        "tiltseries_metadata.json",
        metadata,
        fields,
        Some(inputs),
    )
    .map(|p| p.deps(deps))
}

/// The metadata JSON of a volume: config metadata + `scales`, `size`, `omezarr_dir`, `mrc_file`
/// read back from the written zarr, then `fields` (known when planning) and, for tilt series,
/// the per-section fields, in that key order.
fn plan_metadata(
    ctx: &TargetContext<'_>,
    idx: usize,
    paths: &VolumePaths,
    file: &str,
    metadata: Map<String, Value>,
    fields: Value,
    tiltseries: Option<TiltSeriesInputs>,
) -> Result<Planned<VolumeMetadata>, BuildError> {
    let inst = &ctx.discovery.instances[idx];
    // `--no-write-zarr`: the metadata reads the zarr already in OUTPUT (spec §1).
    let zarr_from_destination = match ctx.volume_formats.zarr {
        true => None,
        false => Some(destination_zarr_fingerprints(ctx, &paths.zarr)?),
    };
    let Value::Object(fields) = fields else {
        unreachable!("fields are built as a JSON object")
    };
    let params = VolumeMetadataParams {
        name: inst.name.clone(),
        metadata,
        finder: inst.finder.clone(),
        output: paths.dir.key().child(file)?,
        fields,
        deposition_id_default: super::containers::deposition_name_value(ctx, idx),
        zarr_from_destination,
        zarr: paths.zarr.clone(),
        mrc: paths.mrc.clone(),
        tiltseries,
    };
    Ok(Planned::new(paths.dir.clone(), inst.kind, params).metadata_only())
}

/// `{vs}/Images/{tomogram id}`: where a tomogram's key images go (their target's id).
pub(crate) fn key_images_dir(d: &super::Discovery, idx: usize) -> Result<TargetId, KeyError> {
    let inst = &d.instances[idx];
    let vs_inst = &d.instances[inst.parent.expect("tomograms live under a voxel spacing")];
    let dir = vs_inst.output_dir.child("Images")?;
    TargetId::from_key(dir.child(&inst.id.unwrap_or(0).to_string())?)
}

/// The four key images of a tomogram, from the 40 central sections of its written MRC (the
/// same values as level 0 of its zarr, which the reference reads, without decompressing
/// whole 256-deep chunks), with the overlays of its visualization-default masks and points
/// (spec §9 step 2). Those annotation targets are dependencies, and their colours are part of
/// the params: other annotations' data never rebuild the key images.
pub struct KeyImages;

/// What a tomogram's key images read.
#[derive(serde::Serialize)]
pub struct KeyImagesParams {
    tomogram: String,
    mrc: StoreKey,
    output: StoreKey,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    overlays: Vec<super::annotations::KeyOverlay>,
    /// `--no-write-mrc`: fingerprints of the MRCs already in OUTPUT that it reads.
    #[serde(skip_serializing_if = "Option::is_none")]
    mrc_from_destination: Option<Value>,
}

impl Kind for KeyImages {
    type Params = KeyImagesParams;

    fn build(p: &KeyImagesParams, io: &mut BuildIo<'_>) -> Result<(), BuildError> {
        use crate::key_image::Overlay;
        let name = io.output.describe(&p.mrc);
        let src = io.output.open_ranged_unchecked(&p.mrc)?;
        let slab = KeySlab::from_mrc(&src, &name)?;
        let mut drawn = Vec::new();
        for o in &p.overlays {
            // A source that wrote nothing (an invalid mask) is skipped, as the reference does.
            if !io.output.exists(&o.read) {
                continue;
            }
            let what = io.output.describe(&o.read);
            if o.is_mask {
                let m = KeySlab::from_mrc(&io.output.open_ranged_unchecked(&o.read)?, &what)?;
                drawn.push(Overlay::Mask {
                    color: o.color,
                    width: m.width,
                    height: m.height,
                    mask: m.sum.iter().map(|&v| v > 0.0).collect(),
                });
            } else {
                let text = io.read_output_text(&o.read)?;
                let points = text
                    .lines()
                    .filter_map(|l| serde_json::from_str::<Value>(l).ok())
                    .filter_map(|v| {
                        let loc = v.get("location")?;
                        Some([
                            loc.get("x")?.as_f64()?,
                            loc.get("y")?.as_f64()?,
                            loc.get("z")?.as_f64()?,
                        ])
                    })
                    .collect();
                drawn.push(Overlay::Points {
                    color: o.color,
                    points,
                });
            }
        }
        let images = crate::key_image::render_key_images_with(&slab, &drawn, slab.bounds(), &name)?;
        for (which, png) in images {
            io.write_bytes(&p.output.child(&which.file_name())?, &png)?;
        }
        Ok(())
    }
}

impl PlanKind for KeyImages {
    fn plan(
        ctx: &TargetContext<'_>,
        _earlier: &[TargetSpec],
    ) -> Result<Vec<(usize, Planned<KeyImages>)>, BuildError> {
        ctx.each_instance(&[EntityKind::Tomogram], |idx| {
            let inst = &ctx.discovery.instances[idx];
            let paths = VolumePaths::of(inst, &run_name(ctx, idx))?;
            let overlays = super::annotations::key_image_overlays(ctx, idx)?;
            let mut deps = vec![paths.prefix.clone()];
            deps.extend(overlays.iter().map(|o| o.dep.clone()));
            let mrc_from_destination = if ctx.volume_formats.mrc {
                None
            } else {
                // The key images read MRCs this build does not write: the ones already in
                // OUTPUT.
                let mut read = vec![paths.mrc.clone()];
                read.extend(
                    overlays
                        .iter()
                        .filter(|o| o.is_mask)
                        .map(|o| o.read.clone()),
                );
                Some(destination_fingerprints(ctx, &read)?)
            };
            let dir = key_images_dir(ctx.discovery, idx)?;
            let params = KeyImagesParams {
                tomogram: inst.name.clone(),
                mrc: paths.mrc.clone(),
                output: dir.key().clone(),
                overlays,
                mrc_from_destination,
            };
            Ok(vec![
                Planned::new(dir, EntityKind::KeyImage, params).deps(deps)
            ])
        })
    }
}
