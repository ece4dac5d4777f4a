//! The portal's metadata JSON writing rules.
