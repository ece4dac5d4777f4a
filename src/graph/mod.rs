//! graph (being written)
