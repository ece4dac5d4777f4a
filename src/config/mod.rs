//! Dataset configs: reading, validating and typing the portal's ingestion YAML (spec §3–§4, §7.1).
//!
//! * [`load`] / [`load_str`] turn one YAML file into a [`DatasetConfig`]: the
//!   `standardization_config`, and per [`EntityKind`] the list of [`EntityBlock`]s (metadata plus
//!   sources, each source with exactly one [`Finder`]). Everything the later stages depend on is
//!   checked here, so a bad config fails before any data is touched, with an error that names the
//!   file, `line:column`, the block path (`tomograms[0].sources[1].source_glob.list_glob`), the
//!   field and what was expected ([`ConfigError`]).
//! * [`format_template`] and [`expand_metadata`] reproduce Python's `str.format` over glob
//!   variables and the reference's run-data-map expansion of metadata.
//! * [`RunDataMap`] and [`parse_two_column_map`] parse the per-run CSV/TSV files; the engine reads
//!   their bytes through the storage layer.
//!
//! **YAML 1.1.** The configs are written for PyYAML's `safe_load`, whose implicit typing is YAML
//! 1.1 (dates, `yes`/`no` booleans, `1e3` as a string, octal `017`, base-60 `1:30`); serde_yaml
//! 0.9 types per YAML 1.2 and keeps no positions. We therefore use the event parser of
//! `saphyr-parser` (the maintained successor of yaml-rust, two small dependencies, spans on every
//! event and the raw text and style of every scalar) and resolve plain scalars ourselves with
//! PyYAML's patterns: see the `yaml` module for the exact rules. The typed model is built by
//! hand from that tree rather than with serde, because every error needs a position and a path.

mod error;
mod load;
mod model;
mod run_data_map;
mod template;
mod validate;
mod yaml;

pub use crate::EntityKind;
pub use error::{ConfigError, Location, Site, TemplateError};
pub use model::{
    AnnotationGlob, AnnotationShape, AnnotationSource, DatasetConfig, DestinationFilterRule,
    EntityBlock, Finder, LiteralValue, ParentFilters, Source, StandardizationConfig,
};
pub use run_data_map::{parse_two_column_map, RunDataMap};
pub use template::{expand_metadata, format_template, python_float_repr, GlobVars, VarValue};

use std::path::Path;

/// Reads, parses and validates one config file.
pub fn load(path: &Path) -> Result<DatasetConfig, ConfigError> {
    let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Io {
        file: path.to_path_buf(),
        source,
    })?;
    load_str(&text, path)
}

/// Parses and validates a config text; `file` names it in errors and in [`DatasetConfig::file`].
pub fn load_str(text: &str, file: &Path) -> Result<DatasetConfig, ConfigError> {
    load::load_str(text, file)
}

#[cfg(test)]
mod tests;
