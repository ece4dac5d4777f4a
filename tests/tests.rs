//! Integration tests, one binary, by capability:
//! - `annotations`: masks, annotation JSONs, IDs and incremental annotation rebuilds;
//! - `engine`: incremental builds over a generated deposition (fresh re-runs, exact rebuilds);
//! - `explain`: what `ingest explain` says about changed files and fields;
//! - `fqmr_parity`: the mesh-LOD decimation against pyfqmr itself, the reference's pin (test
//!   venv);
//! - `human_text`: snapshots of the build log, `explain` and `validate` errors (redacted);
//! - `bad_input`: clear errors, exit codes, nothing partial left behind;
//! - `cache_conformance`: one suite of the cache contract run against sled, memory and S3 (moto);
//! - `demo`: the bundled demo deposition;
//! - `draco_parity`: our Draco mesh fragments against DracoPy's, both decoded by DracoPy (test
//!   venv);
//! - `key_vectors`: the key test vectors of `cache-format/`;
//! - `keyimage`: tomogram key-image overlays (colours, which edits rebuild them);
//! - `keyphotos`: dataset and deposition key photos (INPUT, HTTP on 127.0.0.1, fallback);
//! - `ng_annotations`: neuroglancer precomputed annotations of points, oriented points and
//!   instance segmentations, decoded by a spec reader with cloud-volume's ShardReader (test venv);
//! - `octree_parity`: the multi-resolution mesh fragments (octree cells cut by trimesh's plane
//!   slicing) against igneous and cloud-volume themselves (test venv);
//! - `maintenance`: `ingest plan` work units, `ingest cache verify|gc`;
//! - `parity`: the reference's behaviour on real configs and layouts (empty parents, IDs before
//!   filters, run_name_regex, destination_filter and read-only references, --metadata-only,
//!   --no-write-mrc/--no-write-zarr, the annotation pre_import cleanup);
//! - `neuroglancer_segmentation`: precomputed segmentations and their multi-LOD meshes read back
//!   by cloud-volume and DracoPy (test venv);
//! - `palette`: the annotation colours against distinctipy itself (test venv);
//! - `pyramid_parity`: float pyramid levels equal, bit for bit, skimage's `block_reduce` under
//!   the reference's numpy (the test venv's `reference-numerics`);
//! - `package_samples`: the sample files of the `starfile` and `imodmodel` packages (test venv)
//!   read by our point readers and compared with the packages' own readings;
//! - `s3`: S3 input/output, the shared S3 cache, shards, crashes and outages (moto server);
//! - `store_conformance`: one suite of the store contract run against a folder and S3 (moto);
//! - `slurm`: the sbatch array script on a one-node Slurm (`../shared/tools/slurm-local`);
//! - `viz_config`: Neuroglancer states (layers, colours, ratio rule, incremental rebuilds, an
//!   annotation-only deposition) and the GMM contrast limits against scikit-learn (test venv);
//! - `validate`: `ingest validate` over the real configs in `../shared`;
//! - `volume_readers`: volume outputs read back by zarr-python and mrcfile (test venv);
//! - `zmesh_parity`: segmentation meshes' LOD 0 (marching cubes and quadric simplification)
//!   against zmesh itself as igneous calls it (test venv).

mod common;

mod annotations;
mod bad_input;
mod cache_conformance;
mod demo;
mod draco_parity;
mod engine;
mod explain;
mod fqmr_parity;
mod human_text;
mod key_vectors;
mod keyimage;
mod keyphotos;
mod maintenance;
mod neuroglancer_segmentation;
mod ng_annotations;
mod octree_parity;
mod package_samples;
mod palette;
mod parity;
mod pyramid_parity;
mod s3;
mod slurm;
mod store_conformance;
mod validate;
mod viz_config;
mod volume_readers;
mod zmesh_parity;
