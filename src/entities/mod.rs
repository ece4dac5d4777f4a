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
use crate::storage::{Store, StoreKey};
use crate::target::{BuildError, Kind, Planned, TargetId, TargetSpec};
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

impl Origin {
    /// Where in the config an instance of `kind` came from: `runs[0].sources[1]`.
    pub fn place(&self, kind: EntityKind) -> String {
        match self {
            Origin::Block { block, source } => {
                format!("{}[{block}].sources[{source}]", kind.plural_key())
            }
            Origin::Default => "default config".to_string(),
        }
    }
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
    pub output_dir: StoreKey,
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
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
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

/// A kind that plans its targets from the discovered instances.
///
/// Kinds are planned in [`targets`]' order; `earlier` holds every target planned before this
/// kind (the Neuroglancer states read the precompute and annotation targets planned for their
/// tomogram, dataset and deposition metadata the key photos written into their `Images/`).
pub trait PlanKind: Kind + Sized {
    /// This kind's targets, each with the discovery index of the instance it comes from.
    ///
    /// # Errors
    /// Listing errors while fingerprinting sources, named by instance.
    fn plan(
        ctx: &TargetContext<'_>,
        earlier: &[TargetSpec],
    ) -> Result<Vec<(usize, Planned<Self>)>, BuildError>;
}

impl TargetContext<'_> {
    /// Plans `each` for every instance of `kinds` that is not a read-only destination
    /// reference, in discovery order. Errors are named by config file, kind, instance and the
    /// block that found it. Sources that map to the same output file: the last one found
    /// writes it, as in the reference.
    pub(crate) fn each_instance<K: Kind>(
        &self,
        kinds: &[EntityKind],
        mut each: impl FnMut(usize) -> Result<Vec<Planned<K>>, BuildError>,
    ) -> Result<Vec<(usize, Planned<K>)>, BuildError> {
        // Slots of replaced targets become `None`; `slot` finds an id's current one.
        let mut out: Vec<Option<(usize, Planned<K>)>> = Vec::new();
        let mut slot: std::collections::HashMap<TargetId, usize> = Default::default();
        for (idx, inst) in self.discovery.instances.iter().enumerate() {
            if inst.in_destination || !kinds.contains(&inst.kind) {
                continue;
            }
            let planned = each(idx).map_err(|e| self.named(inst, e))?;
            for p in planned {
                if let Some(old) = slot.insert(p.id.clone(), out.len()) {
                    out[old] = None;
                }
                out.push(Some((idx, p)));
            }
        }
        Ok(out.into_iter().flatten().collect())
    }

    /// A planning error named by config file, kind, instance and the block that found it.
    fn named(&self, inst: &Instance, e: BuildError) -> BuildError {
        BuildError::Invalid(format!(
            "{}: {} `{}` ({}): {e}",
            self.config.file.display(),
            inst.kind,
            inst.name,
            inst.origin.place(inst.kind),
        ))
    }
}

/// Every target of the discovered instances, in discovery order (an instance's targets in
/// the order its kinds are planned here), the Neuroglancer states last.
///
/// # Errors
/// Listing errors while fingerprinting sources, named by instance.
pub fn targets(ctx: &TargetContext<'_>) -> Result<Vec<TargetSpec>, BuildError> {
    /// The targets planned so far, and the discovery index each was planned for.
    #[derive(Default)]
    struct Plan {
        targets: Vec<TargetSpec>,
        instances: Vec<usize>,
    }
    fn add<K: PlanKind>(ctx: &TargetContext<'_>, plan: &mut Plan) -> Result<(), BuildError> {
        for (idx, p) in K::plan(ctx, &plan.targets)? {
            plan.targets.push(p.into_spec());
            plan.instances.push(idx);
        }
        Ok(())
    }
    let mut plan = Plan::default();
    add::<keyphotos::KeyPhoto>(ctx, &mut plan)?;
    add::<containers::Container>(ctx, &mut plan)?;
    add::<files::FileCopy>(ctx, &mut plan)?;
    add::<frames::Frames>(ctx, &mut plan)?;
    add::<volumes::Volume>(ctx, &mut plan)?;
    add::<volumes::VolumeMetadata>(ctx, &mut plan)?;
    add::<volumes::KeyImages>(ctx, &mut plan)?;
    add::<annotations::AnnotationFile>(ctx, &mut plan)?;
    add::<visualization::AnnotationViz>(ctx, &mut plan)?;
    add::<annotations::AnnotationMetadata>(ctx, &mut plan)?;
    add::<identified_objects::IdentifiedObjects>(ctx, &mut plan)?;
    add::<alignment::Alignment>(ctx, &mut plan)?;
    // Discovery order; stable, so an instance's targets keep the order of the kinds above.
    let mut order: Vec<usize> = (0..plan.targets.len()).collect();
    order.sort_by_key(|&i| plan.instances[i]);
    let mut slots: Vec<Option<TargetSpec>> = plan.targets.into_iter().map(Some).collect();
    let mut out: Vec<TargetSpec> = order.into_iter().filter_map(|i| slots[i].take()).collect();
    // Neuroglancer states read what the other targets write, so they are planned last.
    let states = <viz_config::NeuroglancerState as PlanKind>::plan(ctx, &out)?;
    out.extend(states.into_iter().map(|(_, p)| p.into_spec()));
    Ok(out)
}

impl Discovery {
    /// The voxel spacing (Å) that instance `idx` lives under: its voxel-spacing ancestor's
    /// name, which discovery formats from a number.
    ///
    /// # Errors
    /// An instance outside a voxel spacing, or a name that is not a number.
    pub fn voxel_spacing(&self, idx: usize) -> Result<f64, BuildError> {
        let vs = self
            .ancestor(idx, EntityKind::VoxelSpacing)
            .ok_or_else(|| {
                BuildError::Invalid(format!(
                    "{} `{}` is not under a voxel spacing",
                    self.instances[idx].kind, self.instances[idx].name
                ))
            })?;
        vs.name.parse().map_err(|e| {
            BuildError::Invalid(format!("voxel spacing `{}` is not a number: {e}", vs.name))
        })
    }

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
