//! File formats read and written by the ingester.

pub mod alignment;
pub mod ctf;
pub mod error;
pub mod frames;
pub mod mdoc;
pub mod mesh;
pub mod mrc;
pub mod neuroglancer;
pub mod omezarr;
pub mod points;
pub mod tilts;

pub use error::FormatError;
