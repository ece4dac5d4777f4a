//! File formats read and written by the ingester.
