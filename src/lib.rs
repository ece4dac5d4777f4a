//! `cryoet-ingest`: ingests cryo-ET depositions into the CryoET Data Portal layout, as a build
//! system would: every entity is a target with a content key, and a cache skips what has not
//! changed.
//!
//! Data flows one way: config → instances → targets → plan → build → publish → record.
//! See `cache-format/SPEC.md` for the key derivation and the cache record layout.

pub mod cache;
pub mod cli;
pub mod config;
pub mod demo;
pub mod entities;
pub mod finders;
pub mod formats;
pub mod graph;
pub mod key_image;
pub mod keys;
pub mod kind;
pub mod metadata;
pub mod palette;
pub mod pycompat;
pub mod session;
pub mod storage;
pub mod target;
pub mod volume;

pub use kind::EntityKind;
