//! Python behaviour the reference's outputs depend on, reproduced where it decides bytes or
//! values. Nothing here depends on the rest of the crate.
//!
//! - [`json`]: `json.dumps` (indent, separators, `sort_keys`, `ensure_ascii`) and `repr` of
//!   floats, which decide the bytes of every metadata file and Neuroglancer `info`;
//! - [`numpy_sum`]: numpy's summation orders (pairwise, buffered casts), which decide the last
//!   bit of the float32 statistics in MRC headers;
//! - [`random`]: `random.Random` (MT19937) and numpy's legacy seeding, for the palettes and
//!   k-means seeding;
//! - [`re`]: Python `re` patterns of configs and the CLI;
//! - [`round`]: `round(x, ndigits)`.

pub mod json;
pub mod numpy_sum;
pub mod random;
pub mod re;
pub mod round;
