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
    Deposition,
    Dataset,
    Run,
    Gain,
    CollectionMetadata,
    Frame,
    Tiltseries,
    Ctf,
    Rawtilt,
    Alignment,
    IdentifiedObject,
    VoxelSpacing,
    Annotation,
    AnnotationViz,
    Tomogram,
    KeyImage,
    VizConfig,
    DatasetKeyphoto,
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
