//! A target: what it is keyed on and how it builds. Below both the graph (which schedules
//! targets) and the entities (which plan them), so neither imports the other.

mod id;
mod io;

pub use id::TargetId;
pub(crate) use io::invalid;
pub use io::{BuildError, BuildIo};

use crate::storage::ObjectInfo;
use crate::EntityKind;
use std::sync::Arc;

/// The build step of a target.
pub type Action = Arc<dyn Fn(&mut BuildIo<'_>) -> Result<(), BuildError> + Send + Sync>;

/// One target: what it is keyed on and how it builds.
#[derive(Clone)]
pub struct TargetSpec {
    /// Stable id: the target's output path relative to OUTPUT.
    pub id: TargetId,
    /// Its kind.
    pub kind: EntityKind,
    /// Canonical config part of the key.
    pub config: serde_json::Value,
    /// Sources it reads, with fingerprints from the listing.
    pub sources: Vec<ObjectInfo>,
    /// Ids of targets whose outputs it reads.
    pub deps: Vec<TargetId>,
    /// Whether it writes only a metadata JSON (deposition, dataset, run, tomogram, tilt-series
    /// and annotation metadata): what `build --metadata-only` selects.
    pub metadata: bool,
    /// The build step.
    pub action: Action,
}

/// A kind of target, typed by what its build step reads.
///
/// `Params` are everything the step uses besides its fingerprinted sources (reached through
/// [`BuildIo::source`]) and its parents' published outputs. They are serialized as the key's
/// config part, so a value the build uses cannot be missing from the key: a complete key by
/// construction. Fields that are handles rather than values (an opened store) are
/// `#[serde(skip)]` and derived from serialized fields.
pub trait Kind: Send + Sync + 'static {
    /// What the build step reads.
    type Params: serde::Serialize + Send + Sync + 'static;

    /// Builds one target from its params, staging its outputs in `io`.
    ///
    /// # Errors
    /// Sources or parents' outputs that are not what the kind expects; storage errors.
    fn build(params: &Self::Params, io: &mut BuildIo<'_>) -> Result<(), BuildError>;
}

/// A planned target of kind `K`, before its params are erased into a [`TargetSpec`].
pub struct Planned<K: Kind> {
    /// Stable id: the target's output path relative to OUTPUT.
    pub id: TargetId,
    /// The entity kind it reports as.
    pub entity: EntityKind,
    /// What its build step reads (and its key's config part).
    pub params: K::Params,
    /// Sources it reads, with fingerprints from the listing.
    pub sources: Vec<ObjectInfo>,
    /// Ids of targets whose outputs it reads.
    pub deps: Vec<TargetId>,
    /// Whether it writes only a metadata JSON ([`TargetSpec::metadata`]).
    pub metadata: bool,
}

impl<K: Kind> Planned<K> {
    /// A target without sources or dependencies that is not metadata-only; set the rest with
    /// struct update syntax or the builders below.
    pub fn new(id: TargetId, entity: EntityKind, params: K::Params) -> Planned<K> {
        Planned {
            id,
            entity,
            params,
            sources: Vec::new(),
            deps: Vec::new(),
            metadata: false,
        }
    }

    /// With these sources.
    #[must_use]
    pub fn sources(mut self, sources: Vec<ObjectInfo>) -> Planned<K> {
        self.sources = sources;
        self
    }

    /// With these dependencies.
    #[must_use]
    pub fn deps(mut self, deps: Vec<TargetId>) -> Planned<K> {
        self.deps = deps;
        self
    }

    /// Marked as writing only a metadata JSON.
    #[must_use]
    pub fn metadata_only(mut self) -> Planned<K> {
        self.metadata = true;
        self
    }

    /// The erased target: params serialized as its config, build step bound to them.
    pub fn into_spec(self) -> TargetSpec {
        let config = serde_json::to_value(&self.params)
            .expect("params are plain data (strings, numbers, maps) and always serialize");
        let params = Arc::new(self.params);
        TargetSpec {
            id: self.id,
            kind: self.entity,
            config,
            sources: self.sources,
            deps: self.deps,
            metadata: self.metadata,
            action: Arc::new(move |io| K::build(&params, io)),
        }
    }
}
