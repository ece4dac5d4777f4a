//! Precomputed annotation directories for point-like annotations (spec §10.1): `info`,
//! sharded `by_id`, the spatial index, and relationship indices where the reference writes them.
//! Owned by the annotation-precompute work (issue 9).
