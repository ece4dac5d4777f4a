//! keys (being written)
