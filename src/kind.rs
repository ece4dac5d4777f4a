//! The entity kinds of the portal's ingestion tree, named by the reference's type keys.
//!
//! The order of [`EntityKind::ALL`] is the tree order of spec §2 (siblings in processing order), so
//! iterating it visits parents before children.

use serde::{Deserialize, Serialize};
use std::fmt;
use std::str::FromStr;

/// One kind of entity (and of build target). `type_key` spelling is the CLI spelling.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum EntityKind {
    /// A deposition, the root of the tree; writes `depositions_metadata/{name}/`.
    Deposition,
    /// A dataset of the deposition; its outputs live under `{dataset}/`.
    Dataset,
    /// One run (one acquisition site) of a dataset: `{dataset}/{run}/`.
    Run,
    /// A camera gain reference of a run, copied (dm4 converted to MRC) into `Gains/`.
    Gain,
    /// A run's SerialEM `.mdoc`, copied to `Frames/{run}.mdoc`.
    CollectionMetadata,
    /// A run's movie frames, copied together into `Frames/` (one instance per source entry).
    Frame,
    /// A tilt series of a run, standardized to MRC + OME-Zarr under `TiltSeries/{id}/`.
    Tiltseries,
    /// A tilt series' CTF estimate file, copied next to it.
    Ctf,
    /// A tilt series' `.rawtlt` tilt-angle file, copied next to it.
    Rawtilt,
    /// A run's alignment files, copied under `Alignments/{id}/` with their metadata.
    Alignment,
    /// A run's identified objects, converted from CSV to `IdentifiedObjects/*.json`.
    IdentifiedObject,
    /// One voxel spacing of a run (name in Å, 3 decimals): `Reconstructions/VoxelSpacing{vs}/`.
    VoxelSpacing,
    /// An annotation at a voxel spacing, converted under `Annotations/{id}/`.
    Annotation,
    /// The neuroglancer precompute of one annotation source.
    AnnotationViz,
    /// A tomogram at a voxel spacing, standardized to MRC + OME-Zarr under `Tomograms/{id}/`.
    Tomogram,
    /// The key-photo PNGs rendered from a tomogram (`Images/{tomogram_id}/key-photo-*.png`).
    KeyImage,
    /// The neuroglancer state JSON of a tomogram.
    VizConfig,
    /// A dataset's key photo (snapshot, thumbnail) under `{dataset}/Images/`.
    DatasetKeyphoto,
    /// A deposition's key photo under `depositions_metadata/{deposition}/Images/`.
    DepositionKeyphoto,
}

impl EntityKind {
    /// Every kind, in the tree order of spec §2.
    pub const ALL: [EntityKind; 19] = [
        EntityKind::Deposition,
        EntityKind::Dataset,
        EntityKind::Run,
        EntityKind::Gain,
        EntityKind::CollectionMetadata,
        EntityKind::Frame,
        EntityKind::Tiltseries,
        EntityKind::Ctf,
        EntityKind::Rawtilt,
        EntityKind::Alignment,
        EntityKind::IdentifiedObject,
        EntityKind::VoxelSpacing,
        EntityKind::Annotation,
        EntityKind::AnnotationViz,
        EntityKind::Tomogram,
        EntityKind::KeyImage,
        EntityKind::VizConfig,
        EntityKind::DatasetKeyphoto,
        EntityKind::DepositionKeyphoto,
    ];

    /// The reference's `type_key` (CLI and report spelling).
    pub fn type_key(self) -> &'static str {
        match self {
            EntityKind::Deposition => "deposition",
            EntityKind::Dataset => "dataset",
            EntityKind::Run => "run",
            EntityKind::Gain => "gain",
            EntityKind::CollectionMetadata => "collection_metadata",
            EntityKind::Frame => "frame",
            EntityKind::Tiltseries => "tiltseries",
            EntityKind::Ctf => "ctf",
            EntityKind::Rawtilt => "rawtilt",
            EntityKind::Alignment => "alignment",
            EntityKind::IdentifiedObject => "identified_object",
            EntityKind::VoxelSpacing => "voxel_spacing",
            EntityKind::Annotation => "annotation",
            EntityKind::AnnotationViz => "annotation_viz",
            EntityKind::Tomogram => "tomogram",
            EntityKind::KeyImage => "key_image",
            EntityKind::VizConfig => "viz_config",
            EntityKind::DatasetKeyphoto => "dataset_keyphoto",
            EntityKind::DepositionKeyphoto => "deposition_keyphoto",
        }
    }

    /// The top-level YAML key that holds this kind's blocks (the reference's `plural_key`).
    pub fn plural_key(self) -> &'static str {
        match self {
            EntityKind::Deposition => "depositions",
            EntityKind::Dataset => "datasets",
            EntityKind::Run => "runs",
            EntityKind::Gain => "gains",
            EntityKind::CollectionMetadata => "collection_metadata",
            EntityKind::Frame => "frames",
            EntityKind::Tiltseries => "tiltseries",
            EntityKind::Ctf => "ctfs",
            EntityKind::Rawtilt => "rawtilts",
            EntityKind::Alignment => "alignments",
            EntityKind::IdentifiedObject => "identified_objects",
            EntityKind::VoxelSpacing => "voxel_spacings",
            EntityKind::Annotation => "annotations",
            EntityKind::AnnotationViz => "annotation_viz",
            EntityKind::Tomogram => "tomograms",
            EntityKind::KeyImage => "key_images",
            EntityKind::VizConfig => "viz_config",
            EntityKind::DatasetKeyphoto => "dataset_keyphotos",
            EntityKind::DepositionKeyphoto => "deposition_keyphotos",
        }
    }

    /// The parent kind in the entity tree (`None` for the deposition).
    pub fn parent(self) -> Option<EntityKind> {
        use EntityKind::*;
        match self {
            Deposition => None,
            Dataset | DepositionKeyphoto => Some(Deposition),
            Run | DatasetKeyphoto => Some(Dataset),
            Gain | CollectionMetadata | Frame | Tiltseries | Alignment | IdentifiedObject
            | VoxelSpacing => Some(Run),
            Ctf | Rawtilt => Some(Tiltseries),
            Annotation | Tomogram | VizConfig => Some(VoxelSpacing),
            AnnotationViz => Some(Annotation),
            KeyImage => Some(Tomogram),
        }
    }

    /// Looks a kind up by its plural (YAML) key.
    pub fn from_plural_key(key: &str) -> Option<EntityKind> {
        Self::ALL.into_iter().find(|k| k.plural_key() == key)
    }
}

impl fmt::Display for EntityKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.type_key())
    }
}

/// Error for an unknown kind name.
#[derive(Debug, thiserror::Error)]
#[error("unknown entity kind `{0}` (expected one of: {list})", list = EntityKind::ALL.map(|k| k.type_key()).join(", "))]
pub struct UnknownKind(pub String);

impl FromStr for EntityKind {
    type Err = UnknownKind;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::ALL
            .into_iter()
            .find(|k| k.type_key() == s)
            .ok_or_else(|| UnknownKind(s.to_string()))
    }
}
