//! entities (being written)
