//! The typed dataset config (spec §3, §4.1, §7.1).
//!
//! Blocks, sources and finders implement `Serialize` with a fixed field order and
//! `serde_json`'s insertion-ordered maps, so serialising them gives the same JSON for the same
//! config text: suitable for content keys. Source positions (`location`) are left out of the JSON
//! on purpose: moving a block or adding a comment must not change a key.

use super::error::Location;
use crate::EntityKind;
use indexmap::IndexMap;
use serde::Serialize;
use serde_json::{Map, Value};
use std::collections::BTreeMap;
use std::path::PathBuf;

/// One dataset config file, validated.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct DatasetConfig {
    /// The config file this was loaded from (not part of the serialised JSON).
    #[serde(skip)]
    pub file: PathBuf,
    /// The top-level `version`, as Python `str()` would print it (`1.0` → `"1.0"`).
    pub version: Option<String>,
    /// The `standardization_config` mapping.
    pub standardization: StandardizationConfig,
    pub(super) blocks: BTreeMap<EntityKind, Vec<EntityBlock>>,
}

impl DatasetConfig {
    /// The configured blocks of one kind, in file order (empty when the key is missing or empty).
    pub fn blocks(&self, kind: EntityKind) -> &[EntityBlock] {
        self.blocks.get(&kind).map(Vec::as_slice).unwrap_or(&[])
    }

    /// Every block, kinds in tree order (spec §2), blocks in file order.
    pub fn all_blocks(&self) -> impl Iterator<Item = &EntityBlock> {
        EntityKind::ALL
            .into_iter()
            .flat_map(move |k| self.blocks(k).iter())
    }
}

/// The `standardization_config` mapping (spec §3.3).
///
/// The fields are the schema's keys (`StandardizationConfig` in
/// `../shared/reference/ingestion_config.schema.json`, beside the repository), same names and
/// meaning; `run_name_regex` and `extra` are not in the schema and are documented here.
// Schema-keyed fields: the schema and spec §3.3 document them.
#[allow(missing_docs)]
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct StandardizationConfig {
    pub deposition_id: i64,
    pub source_prefix: String,
    pub run_data_map_file: Option<String>,
    pub run_to_tomo_map_csv: Option<String>,
    pub run_to_frame_map_csv: Option<String>,
    pub run_to_ts_map_csv: Option<String>,
    /// Legacy key, not in the schema: for a run instance with no name, the name is group 1 of
    /// this regex applied to the path's basename.
    pub run_name_regex: Option<String>,
    /// Any other key, kept as written (the reference sets them as attributes and ignores them).
    pub extra: Map<String, Value>,
}

impl StandardizationConfig {
    /// Whether the run data map is tab-separated (the reference's rule: the name ends in `tsv`).
    pub fn run_data_map_is_tsv(&self) -> bool {
        self.run_data_map_file
            .as_deref()
            .is_some_and(|f| f.ends_with("tsv"))
    }
}

/// One item of a kind's list: metadata plus sources (spec §3.2).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct EntityBlock {
    /// The kind whose top-level list (`runs`, `tomograms`, …) holds this block.
    pub kind: EntityKind,
    /// Position in its YAML list.
    pub index: usize,
    /// Key order as in the YAML.
    pub metadata: Map<String, Value>,
    /// The block's `sources`, in YAML order (they run in that order).
    pub sources: Vec<Source>,
    /// Where the block starts in the config file, for messages (not part of the JSON).
    #[serde(skip)]
    pub location: Location,
}

/// One entry of a block's `sources` (spec §4.1).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Source {
    /// Position in the block's `sources` list.
    pub index: usize,
    /// The source's one finder key (or, in `annotations` blocks, its one shape key).
    pub finder: Finder,
    /// Regexes; a result whose name `re.match`es one is dropped (§4.2).
    pub exclude: Vec<String>,
    /// The source's `parent_filters` (empty when absent).
    pub parent_filters: ParentFilters,
    /// Where the source entry starts in the config file, for messages (not part of the JSON).
    #[serde(skip)]
    pub location: Location,
}

/// The finder of a source: exactly one per source.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Finder {
    /// `literal`: the names (and, for a mapping, paths) are given in the config.
    Literal(LiteralValue),
    /// `source_glob`: files under the source root matching a glob; one result per name.
    SourceGlob {
        /// Glob relative to the source root, formatted with the glob vars.
        list_glob: String,
        /// A path is kept when this regex `re.search`es its full path (default `.*`).
        match_regex: String,
        /// The name is group 1 of this regex `re.match`ed on the basename (default `(.*)`).
        name_regex: String,
    },
    /// `source_multi_glob`: every match of several globs; each result is named by its full path.
    SourceMultiGlob {
        /// Globs relative to the source root, formatted with the glob vars.
        list_globs: Vec<String>,
    },
    /// `destination_glob`: like `source_glob`, but over already written outputs (references,
    /// never imports).
    DestinationGlob {
        /// Glob not prefixed with the source root; it starts with `{output_path}` or a
        /// `{T_output_path}` variable.
        list_glob: String,
        /// A path is kept when this regex `re.search`es its full path (default `.*`).
        match_regex: String,
        /// The name is group 1 of this regex `re.match`ed on the basename (default `(.*)`).
        name_regex: String,
    },
    /// `destination_filter`: existing output metadata JSON files whose values match every rule.
    DestinationFilter {
        /// The rules; all must match (an empty list matches every file).
        filters: Vec<DestinationFilterRule>,
    },
    /// `tomogram_header` (voxel spacings only): the name is the voxel size read from each
    /// matched MRC or zarr header.
    TomogramHeader {
        /// Glob relative to the source root, formatted with the glob vars.
        list_glob: String,
        /// A path is kept when this regex `re.search`es its full path.
        match_regex: String,
        /// The header value to read; only `voxel_size` exists.
        header_key: String,
    },
    /// Only in `annotations` blocks, whose sources hold a shape key instead of a finder key.
    Annotation(AnnotationSource),
}

impl Finder {
    /// The config key of this finder (`source_glob`, …; the shape key for annotations).
    pub fn config_key(&self) -> &'static str {
        match self {
            Finder::Literal(_) => "literal",
            Finder::SourceGlob { .. } => "source_glob",
            Finder::SourceMultiGlob { .. } => "source_multi_glob",
            Finder::DestinationGlob { .. } => "destination_glob",
            Finder::DestinationFilter { .. } => "destination_filter",
            Finder::TomogramHeader { .. } => "tomogram_header",
            Finder::Annotation(a) => a.shape.config_key(),
        }
    }

    /// Whether results of this finder are imported (destination finders only reference, §4.1).
    pub fn allows_imports(&self) -> bool {
        !matches!(
            self,
            Finder::DestinationGlob { .. } | Finder::DestinationFilter { .. }
        )
    }
}

/// A `literal` finder's `value`: a list of names, or a mapping `name → path` (key photos).
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(untagged)]
pub enum LiteralValue {
    /// A list of names; the results have no path.
    List(Vec<Value>),
    /// `name → path` (a null path is kept as `None`), in YAML order.
    Map(IndexMap<String, Option<String>>),
}

/// One rule of a `destination_filter`: the JSON at `key` (a path) must equal / contain `value`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct DestinationFilterRule {
    /// Path of keys walked through the metadata JSON (lists are walked item by item).
    pub key: Vec<String>,
    /// Expected value: equal to the value found, or contained in it when that is a list.
    pub value: Value,
}

/// The annotation source of one shape key (spec §7.1).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct AnnotationSource {
    /// The shape key the source is written under (`Point`, `SegmentationMask`, …).
    pub shape: AnnotationShape,
    /// The `file_format` value (one of [`AnnotationShape::file_formats`]).
    pub file_format: String,
    /// The `glob_string` or `glob_strings` key.
    pub glob: AnnotationGlob,
    /// `is_visualization_default` (false when absent).
    pub is_visualization_default: bool,
    /// The remaining shape-specific parameters, in YAML order.
    pub params: Map<String, Value>,
}

/// `glob_string` (one glob; names are basenames) or `glob_strings` (names are full paths).
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum AnnotationGlob {
    /// `glob_string`: one glob relative to the source root; results are named by basename.
    Single(String),
    /// `glob_strings`: globs relative to the source root; results are named by full path.
    Multi(Vec<String>),
}

/// The shape keys of an annotation source.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
pub enum AnnotationShape {
    /// `Point`: point coordinates, written as `_point.ndjson`.
    Point,
    /// `OrientedPoint`: points with a rotation, written as `_orientedpoint.ndjson`.
    OrientedPoint,
    /// `InstanceSegmentation`: points labelled by instance, written as
    /// `_instancesegmentation.ndjson`.
    InstanceSegmentation,
    /// `SegmentationMask` (legacy): a binary mask volume, written as `_segmentationmask`.
    SegmentationMask,
    /// `SemanticSegmentationMask`: one label of a label volume as a binary mask; its output
    /// shape is `SegmentationMask`.
    SemanticSegmentationMask,
    /// `InstanceSegmentationMask`: a label volume, one integer per instance.
    InstanceSegmentationMask,
    /// `TriangularMesh`: one mesh file, written as `_triangularmesh.glb`.
    TriangularMesh,
    /// `TriangularMeshGroup`: one named segment of an HFF mesh group; its output shape is
    /// `TriangularMesh`.
    TriangularMeshGroup,
    /// `GlobalCaption`: a caption JSON file for the whole annotation, copied as is.
    GlobalCaption,
    /// `AnnotationCaption`: a per-object caption JSON file tied to a companion shape, copied as
    /// is.
    AnnotationCaption,
}

impl AnnotationShape {
    /// Every shape, in config-key order.
    pub const ALL: [AnnotationShape; 10] = [
        AnnotationShape::Point,
        AnnotationShape::OrientedPoint,
        AnnotationShape::InstanceSegmentation,
        AnnotationShape::SegmentationMask,
        AnnotationShape::SemanticSegmentationMask,
        AnnotationShape::InstanceSegmentationMask,
        AnnotationShape::TriangularMesh,
        AnnotationShape::TriangularMeshGroup,
        AnnotationShape::GlobalCaption,
        AnnotationShape::AnnotationCaption,
    ];

    /// The key in the config.
    pub fn config_key(self) -> &'static str {
        match self {
            AnnotationShape::Point => "Point",
            AnnotationShape::OrientedPoint => "OrientedPoint",
            AnnotationShape::InstanceSegmentation => "InstanceSegmentation",
            AnnotationShape::SegmentationMask => "SegmentationMask",
            AnnotationShape::SemanticSegmentationMask => "SemanticSegmentationMask",
            AnnotationShape::InstanceSegmentationMask => "InstanceSegmentationMask",
            AnnotationShape::TriangularMesh => "TriangularMesh",
            AnnotationShape::TriangularMeshGroup => "TriangularMeshGroup",
            AnnotationShape::GlobalCaption => "GlobalCaption",
            AnnotationShape::AnnotationCaption => "AnnotationCaption",
        }
    }

    /// The shape whose config key is exactly `key` (case-sensitive), if any.
    pub fn from_config_key(key: &str) -> Option<AnnotationShape> {
        Self::ALL.into_iter().find(|s| s.config_key() == key)
    }

    /// The `shape` string written to the metadata (spec §7.2).
    pub fn output_shape(self) -> &'static str {
        match self {
            AnnotationShape::SemanticSegmentationMask => "SegmentationMask",
            AnnotationShape::TriangularMeshGroup => "TriangularMesh",
            other => other.config_key(),
        }
    }

    /// The accepted `file_format` values (schema enums; `tsv` is in the schema's point enum).
    pub fn file_formats(self) -> &'static [&'static str] {
        match self {
            AnnotationShape::Point => &[
                "csv",
                "csv_with_header",
                "tsv",
                "mod",
                "relion3_star",
                "relion4_star",
                "tomoman_relion_star",
                "copick",
            ],
            AnnotationShape::OrientedPoint => &[
                "mod",
                "relion3_star",
                "relion4_star",
                "tomoman_relion_star",
                "copick",
                "stopgap_star",
            ],
            AnnotationShape::InstanceSegmentation => &["tardis", "copick"],
            AnnotationShape::SegmentationMask
            | AnnotationShape::SemanticSegmentationMask
            | AnnotationShape::InstanceSegmentationMask => &["mrc", "zarr"],
            AnnotationShape::TriangularMesh => &["obj", "stl", "vtk", "glb"],
            AnnotationShape::TriangularMeshGroup => &["hff"],
            AnnotationShape::GlobalCaption | AnnotationShape::AnnotationCaption => &["saber"],
        }
    }

    /// Shape-specific parameter keys and their expected JSON types (besides `file_format`,
    /// `glob_string(s)`, `is_visualization_default`, which every shape has).
    pub(super) fn params(self) -> &'static [(&'static str, ParamType)] {
        use ParamType::*;
        match self {
            AnnotationShape::Point => &[
                ("columns", Str),
                ("delimiter", Str),
                ("binning", Number),
                ("filter_value", Str),
                ("is_portal_standard", Bool),
            ],
            AnnotationShape::OrientedPoint | AnnotationShape::InstanceSegmentation => &[
                ("order", Str),
                ("binning", Number),
                ("filter_value", Str),
                ("mesh_source_path", Str),
                ("is_portal_standard", Bool),
            ],
            AnnotationShape::SegmentationMask => &[
                ("mask_label", Integer),
                ("threshold", Number),
                ("rescale", Bool),
                ("is_portal_standard", Bool),
            ],
            AnnotationShape::SemanticSegmentationMask => &[
                ("mask_label", Integer),
                ("threshold", Number),
                ("rescale", Bool),
                ("is_portal_standard", Bool),
            ],
            AnnotationShape::InstanceSegmentationMask => {
                &[("rescale", Bool), ("is_portal_standard", Bool)]
            }
            AnnotationShape::TriangularMesh => {
                &[("scale_factor", Number), ("is_portal_standard", Bool)]
            }
            // The schema calls the segment name `name`; the reference code reads `mesh_name`.
            AnnotationShape::TriangularMeshGroup => &[
                ("mesh_name", Str),
                ("name", Str),
                ("scale_factor", Number),
                ("is_portal_standard", Bool),
            ],
            AnnotationShape::GlobalCaption => &[("is_portal_standard", Bool)],
            AnnotationShape::AnnotationCaption => {
                &[("companion_shape", Str), ("is_portal_standard", Bool)]
            }
        }
    }
}

/// JSON types of annotation parameters; `null` is accepted for all (the schema allows it).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum ParamType {
    Str,
    Number,
    Integer,
    Bool,
}

/// `parent_filters`: per parent kind, regexes that must (include) or must not (exclude) match
/// the parent's name (spec §4.2).
#[derive(Debug, Clone, PartialEq, Default, Serialize)]
pub struct ParentFilters {
    /// Per parent kind: when present, at least one regex must `re.search` the parent's name.
    pub include: BTreeMap<EntityKind, Vec<String>>,
    /// Per parent kind: no regex may `re.search` the parent's name.
    pub exclude: BTreeMap<EntityKind, Vec<String>>,
}

impl ParentFilters {
    /// True when there is neither an include nor an exclude rule.
    pub fn is_empty(&self) -> bool {
        self.include.is_empty() && self.exclude.is_empty()
    }
}
