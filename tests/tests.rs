//! Integration tests, one binary, by capability:
//! - `annotations`: masks, annotation JSONs, IDs and incremental annotation rebuilds;
//! - `engine`: incremental builds over a generated deposition (fresh re-runs, exact rebuilds);
//! - `explain`: what `ingest explain` says about changed files and fields;
//! - `bad_input`: clear errors, exit codes, nothing partial left behind;
//! - `demo`: the bundled demo deposition;
//! - `key_vectors`: the key test vectors of `cache-format/`;
//! - `keyimage`: tomogram key-image overlays (colours, which edits rebuild them);
//! - `keyphotos`: dataset and deposition key photos (INPUT, HTTP on 127.0.0.1, fallback);
//! - `maintenance`: `ingest plan` work units, `ingest cache verify|gc`;
//! - `palette`: the annotation colours against distinctipy itself (test venv);
//! - `package_samples`: the sample files of the `starfile` and `imodmodel` packages (test venv)
//!   read by our point readers and compared with the packages' own readings;
//! - `s3`: S3 input/output, the shared S3 cache, shards, crashes and outages (moto server);
//! - `slurm`: the sbatch array script on a one-node Slurm (`../shared/tools/slurm-local`);
//! - `viz_config`: Neuroglancer states (layers, colours, ratio rule, incremental rebuilds, an
//!   annotation-only deposition) and the GMM contrast limits against scikit-learn (test venv);
//! - `validate`: `ingest validate` over the real configs in `../shared`;
//! - `volume_readers`: volume outputs read back by zarr-python and mrcfile (test venv).

mod common;

mod annotations;
mod bad_input;
mod demo;
mod engine;
mod explain;
mod key_vectors;
mod keyimage;
mod keyphotos;
mod maintenance;
mod package_samples;
mod palette;
mod s3;
mod slurm;
mod validate;
mod viz_config;
mod volume_readers;
