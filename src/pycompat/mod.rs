//! Python behaviour the reference's outputs depend on, reproduced where it decides bytes.
//!
//! - [`numpy_sum`]: numpy's summation orders (pairwise, buffered casts), which decide the last
//!   bit of the float32 statistics in MRC headers.
//!
//! Other helpers of this kind still live beside their one user (`pyre`: Python `re`;
//! `metadata`: `json.dumps` and `repr` of floats; `volume::palette`: MT19937 and distinctipy).

pub mod numpy_sum;
