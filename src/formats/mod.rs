//! File formats read and written by the ingester.

pub mod mrc;
pub mod omezarr;
