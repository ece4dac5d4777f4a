//! Precomputed segmentations of mask annotations (spec §10.1): `info`, compressed_segmentation
//! `data/` chunks, sharded multi-resolution `mesh/` generated from the label volume,
//! `provenance`. Owned by the segmentation/mesh work (issue 9).
