//! Multi-resolution precomputed meshes (spec §10.1): triangular-mesh annotations from their
//! glb, and the meshes of segmentations. Owned by the segmentation/mesh work (issue 9).
