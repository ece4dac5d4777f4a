//! The `neuroglancer_uint64_sharded_v1` container (shard index, minishards, minishard
//! indices), as cloud-volume's `synthesize_shards` lays it out. Written by the coordinator.
