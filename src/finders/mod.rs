//! finders (being written)
