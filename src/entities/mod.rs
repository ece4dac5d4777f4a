//! Entities: the instances the config finds, in the tree of spec §2, and the targets they become.
//!
//! [`discover`] walks the tree once (listings only, plus the destination's existing metadata for
//! ID seeding) and returns every instance with its output folder, ID and template variables.
//! [`targets`] then turns instances into build targets, one file per kind deciding what a target
//! reads (its key parts) and writes.

mod alignment;
pub mod annotations;
pub mod cleanup;
mod containers;
mod discover;
mod files;
mod frames;
mod identified_objects;
pub mod ids;
mod keyphotos;
mod visualization;
mod viz_config;
mod volumes;

pub use discover::{discover, DiscoverError, Discovery, NameFilters};
pub use viz_config::DEFAULT_HTTPS_PREFIX;

use crate::config::{DatasetConfig, GlobVars};
use crate::storage::Store;
use crate::target::{BuildError, TargetSpec};
use crate::EntityKind;
use serde_json::{Map, Value};

/// Where an instance came from.
#[derive(Debug, Clone, PartialEq)]
pub enum Origin {
    /// Source entry `source` of block `block` of the kind's YAML list.
    Block {
        /// Index in the kind's list of blocks.
        block: usize,
        /// Index in the block's `sources`.
        source: usize,
    },
    /// The kind's default config (spec §2: no block found anything).
    Default,
}

/// One found entity.
#[derive(Debug, Clone)]
pub struct Instance {
    /// Its kind.
    pub kind: EntityKind,
    /// Its name (`run_name`, voxel spacing `13.480`, key-photo name, ...).
    pub name: String,
    /// Its source key (relative to INPUT, or OUTPUT when `in_destination`), a URL for key
    /// photos, or `None`.
    pub path: Option<String>,
    /// Whether `path` is a folder.
    pub is_dir: bool,
    /// Files of a grouped instance (alignments and frames): source keys in finder order.
    pub file_paths: Vec<String>,
    /// A read-only reference to something already in the destination (`allow_imports = false`).
    pub in_destination: bool,
    /// Block metadata (template-expanded for tomograms, tilt series and frames).
    pub metadata: Map<String, Value>,
    /// The source entry that found it, as JSON (part of target keys).
    pub finder: Value,
    /// Which block and source found it.
    pub origin: Origin,
    /// Template variables: its own and its ancestors'.
    pub vars: GlobVars,
    /// Output folder relative to OUTPUT.
    pub output_dir: String,
    /// Numeric ID, for kinds that have one.
    pub id: Option<u32>,
    /// Index of the parent instance in [`Discovery::instances`].
    pub parent: Option<usize>,
}

/// Context shared by target construction.
pub struct TargetContext<'a> {
    /// The parsed config.
    pub config: &'a DatasetConfig,
    /// Everything discovered.
    pub discovery: &'a Discovery,
    /// INPUT.
    pub input: &'a Store,
    /// OUTPUT.
    pub output: &'a Store,
    /// The URL prefix of OUTPUT in Neuroglancer states (`--https-prefix`).
    pub https_prefix: &'a str,
    /// How to reach S3 for objects outside INPUT (key photos in other buckets).
    pub s3: &'a crate::storage::S3Options,
    /// The `build --write-mrc/--write-zarr` choices for volumes.
    pub volume_formats: VolumeFormats,
}

/// Which files volume targets write (`build --no-write-mrc`, `--no-write-zarr`; spec §1). The
/// metadata names both either way; without the zarr it reads the one already in OUTPUT.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct VolumeFormats {
    /// Write `{prefix}.mrc`.
    pub mrc: bool,
    /// Write `{prefix}.zarr`.
    pub zarr: bool,
}

impl Default for VolumeFormats {
    fn default() -> Self {
        VolumeFormats {
            mrc: true,
            zarr: true,
        }
    }
}

/// The instances that make one target for a whole group, found in one pass: the first frame
/// of each run (not in the destination), and the first annotation of each block under each
/// voxel spacing.
fn group_heads(d: &Discovery) -> std::collections::HashSet<usize> {
    let mut seen = std::collections::HashSet::new();
    let mut heads = std::collections::HashSet::new();
    for (i, inst) in d.instances.iter().enumerate() {
        let block = match inst.origin {
            Origin::Block { block, .. } => Some(block),
            Origin::Default => None,
        };
        let group = match inst.kind {
            EntityKind::Frame if !inst.in_destination => (inst.kind, inst.parent, None),
            EntityKind::Annotation => (inst.kind, inst.parent, block),
            _ => continue,
        };
        if seen.insert(group) {
            heads.insert(i);
        }
    }
    heads
}

/// Builds the targets of every discovered instance, in discovery order.
///
/// # Errors
/// Listing errors while fingerprinting sources, named by target.
pub fn targets(ctx: &TargetContext<'_>) -> Result<Vec<TargetSpec>, BuildError> {
    let mut out = Vec::new();
    let d = ctx.discovery;
    let heads = group_heads(d);
    for (idx, inst) in d.instances.iter().enumerate() {
        if inst.in_destination {
            continue;
        }
        let named = |e: BuildError| {
            BuildError::Invalid(format!(
                "{}: {} `{}` ({}): {e}",
                ctx.config.file.display(),
                inst.kind,
                inst.name,
                match inst.origin {
                    Origin::Block { block, source } =>
                        format!("{}[{block}].sources[{source}]", inst.kind.plural_key()),
                    Origin::Default => "default config".to_string(),
                }
            ))
        };
        use EntityKind::*;
        match inst.kind {
            Deposition | Dataset | Run | VoxelSpacing => {
                if let Some(t) = containers::target(ctx, idx).map_err(named)? {
                    out.push(t);
                }
            }
            Gain | CollectionMetadata | Rawtilt | Ctf => {
                if let Some(t) = files::target(ctx, idx).map_err(named)? {
                    out.push(t);
                }
            }
            // All frame instances of a run make one target (one frames_metadata.json).
            Frame if heads.contains(&idx) => out.push(frames::target(ctx, idx).map_err(named)?),
            Tomogram => out.extend(volumes::tomogram_targets(ctx, idx).map_err(named)?),
            Tiltseries => out.extend(volumes::tiltseries_targets(ctx, idx).map_err(named)?),
            Annotation => {
                if let Some(t) = annotations::source_target(ctx, idx).map_err(named)? {
                    out.push(t);
                    // Its neuroglancer precompute (the reference's `annotation_viz` child).
                    if let Some(viz) = visualization::target(ctx, idx).map_err(named)? {
                        out.push(viz);
                    }
                }
                // One metadata target per block and voxel spacing: made with the block's first
                // source found there.
                if heads.contains(&idx) {
                    out.push(annotations::metadata_target(ctx, idx));
                }
            }
            IdentifiedObject => {
                if let Some(t) = identified_objects::target(ctx, idx).map_err(named)? {
                    out.push(t);
                }
            }
            DatasetKeyphoto | DepositionKeyphoto => {
                if let Some(t) = keyphotos::target(ctx, idx).map_err(named)? {
                    out.push(t);
                }
            }
            Alignment => {
                if let Some(t) = alignment::target(ctx, idx).map_err(named)? {
                    out.push(t);
                }
            }
            _ => {}
        }
    }
    // Sources that map to the same output file: the last one found writes it, as in the reference.
    let mut last = std::collections::HashMap::new();
    for (i, t) in out.iter().enumerate() {
        last.insert(t.id.clone(), i);
    }
    let mut i = 0;
    out.retain(|t| {
        i += 1;
        last[&t.id] == i - 1
    });
    // Dataset and deposition metadata list their `Images/` folder: they read the key photos.
    let photos: Vec<(String, String)> = out
        .iter()
        .filter(|t| {
            matches!(
                t.kind,
                EntityKind::DatasetKeyphoto | EntityKind::DepositionKeyphoto
            )
        })
        .map(|t| {
            (
                t.id.rsplit_once("/Images/")
                    .map_or("", |(dir, _)| dir)
                    .to_string(),
                t.id.clone(),
            )
        })
        .collect();
    for t in out
        .iter_mut()
        .filter(|t| matches!(t.kind, EntityKind::Dataset | EntityKind::Deposition))
    {
        t.deps.extend(
            photos
                .iter()
                .filter(|(dir, _)| *dir == t.id)
                .map(|(_, id)| id.clone()),
        );
    }
    // Neuroglancer states read what the other targets write, so they are planned last.
    let states = viz_config::targets(ctx, &out)?;
    out.extend(states);
    Ok(out)
}

impl Discovery {
    /// The nearest ancestor (or self) of `idx` of `kind`.
    pub fn ancestor(&self, idx: usize, kind: EntityKind) -> Option<&Instance> {
        let mut cur = Some(idx);
        while let Some(i) = cur {
            let inst = &self.instances[i];
            if inst.kind == kind {
                return Some(inst);
            }
            cur = inst.parent;
        }
        None
    }

    /// Index of the nearest ancestor (or self) of `idx` of `kind`.
    pub fn ancestor_index(&self, idx: usize, kind: EntityKind) -> Option<usize> {
        let mut cur = Some(idx);
        while let Some(i) = cur {
            if self.instances[i].kind == kind {
                return Some(i);
            }
            cur = self.instances[i].parent;
        }
        None
    }

    /// The metadata path of the first alignment of the run that `idx` is in (or is): the
    /// `alignment_metadata_path` of tomograms and annotations, and part of their IDs.
    pub fn run_alignment_path(&self, idx: usize) -> Option<String> {
        let run = self.ancestor_index(idx, EntityKind::Run)?;
        self.children(run, EntityKind::Alignment)
            .next()
            .map(|(_, a)| format!("{}/alignment_metadata.json", a.output_dir))
    }

    /// Children of `idx` of `kind`, in discovery order.
    pub fn children(
        &self,
        idx: usize,
        kind: EntityKind,
    ) -> impl Iterator<Item = (usize, &Instance)> {
        self.instances
            .iter()
            .enumerate()
            .filter(move |(_, i)| i.kind == kind && i.parent == Some(idx))
    }

    /// Descendants of `idx` of `kind`, in discovery order.
    pub fn descendants(&self, idx: usize, kind: EntityKind) -> Vec<usize> {
        (idx + 1..self.instances.len())
            .filter(|&i| self.instances[i].kind == kind && self.is_descendant(i, idx))
            .collect()
    }

    fn is_descendant(&self, mut i: usize, ancestor: usize) -> bool {
        while let Some(p) = self.instances[i].parent {
            if p == ancestor {
                return true;
            }
            i = p;
        }
        false
    }
}
