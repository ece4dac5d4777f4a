//! Command-line interface: one file per subcommand, each an args struct plus `run()`.

mod build;
mod cache_cmd;
mod explain;
mod log;
mod units;
mod validate;

use anyhow::{Context, Result};
use clap::{Parser, Subcommand};

use std::process::ExitCode;

/// Exit code when some targets failed.
pub const EXIT_FAILED_TARGETS: u8 = 1;
/// Exit code for usage and config errors.
pub const EXIT_USAGE: u8 = 2;

#[derive(Parser)]
#[command(
    name = "ingest",
    version,
    about = "Incremental ingestion of cryo-ET depositions into the CryoET Data Portal layout"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Build every stale target of a deposition (incremental, parallel).
    Build(build::BuildArgs),
    /// Say why targets are fresh or stale, diffing today's key parts against the cache's.
    Explain(explain::ExplainArgs),
    /// Check dataset configs and report every problem with file, line, block and field.
    Validate(validate::ValidateArgs),
    /// List the work units (deposition level, runs) and shards of a deposition, for schedulers.
    Plan(units::PlanArgs),
    /// Verify or garbage-collect a cache (sled or S3).
    Cache(cache_cmd::CacheArgs),
}

/// Entry point of the binary.
pub fn main() -> ExitCode {
    log::init();
    let cli = match Cli::try_parse() {
        Ok(c) => c,
        Err(e) => {
            let _ = e.print();
            return if e.use_stderr() {
                ExitCode::from(EXIT_USAGE)
            } else {
                ExitCode::SUCCESS
            };
        }
    };
    let result = match cli.command {
        Command::Build(a) => build::run(a),
        Command::Explain(a) => explain::run(a),
        Command::Validate(a) => validate::run(a),
        Command::Plan(a) => units::run(a),
        Command::Cache(a) => cache_cmd::run(a),
    };
    match result {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::from(EXIT_USAGE)
        }
    }
}

/// What `build` and `explain` share: the config, stores, cache and the planned targets.
pub mod plan {
    use super::*;
    use crate::cache::{Cache, MachineMemo};
    use crate::entities::{self, NameFilters};
    use crate::storage::S3Options;
    use crate::EntityKind;
    use std::path::Path;
    use std::time::Duration;

    /// Worker threads when `--jobs` is not given: the number of cores.
    pub fn default_jobs() -> usize {
        std::thread::available_parallelism().map_or(2, |n| n.get())
    }

    /// Parses `KIND=REGEX` into a kind and a Python `re.match` pattern (anchored at the start),
    /// as the reference's `--filter-*-name` options compile them.
    pub fn parse_kind_regex(text: &str) -> Result<(EntityKind, crate::pycompat::re::PyRegex)> {
        let (kind, re) = text
            .split_once('=')
            .with_context(|| format!("`{text}`: expected KIND=REGEX"))?;
        let kind: EntityKind = kind.parse()?;
        let re = crate::pycompat::re::PyRegex::re_match(re)
            .with_context(|| format!("`{text}`: invalid regex"))?;
        Ok((kind, re))
    }

    /// Name filters from `--filter` / `--exclude` values.
    pub fn name_filters(filter: &[String], exclude: &[String]) -> Result<NameFilters> {
        let mut f = NameFilters::default();
        for (list, into) in [(filter, &mut f.include), (exclude, &mut f.exclude)] {
            for text in list {
                let (k, re) = parse_kind_regex(text)?;
                into.entry(k).or_insert_with(Vec::new).push(re);
            }
        }
        Ok(f)
    }

    /// `--write-mrc/--no-write-mrc`, `--write-zarr/--no-write-zarr` (spec §1): which files the
    /// volume targets write. They are part of those targets' keys, so `explain` takes them too.
    #[derive(clap::Args, Debug, Clone, Default)]
    pub struct VolumeArgs {
        /// Do not write the `.mrc` of tomograms, tilt series and masks (their metadata still
        /// names it; key images read the one already in OUTPUT).
        #[arg(long, overrides_with = "write_mrc")]
        pub no_write_mrc: bool,
        /// Write the `.mrc` of volumes (the default).
        #[arg(long, overrides_with = "no_write_mrc")]
        pub write_mrc: bool,
        /// Do not write the `.zarr` of tomograms, tilt series and masks (their metadata reads
        /// the zarr already in OUTPUT, which must exist).
        #[arg(long, overrides_with = "write_zarr")]
        pub no_write_zarr: bool,
        /// Write the `.zarr` of volumes (the default).
        #[arg(long, overrides_with = "no_write_zarr")]
        pub write_zarr: bool,
    }

    impl VolumeArgs {
        /// The formats the volume targets write.
        pub fn formats(&self) -> entities::VolumeFormats {
            entities::VolumeFormats {
                mrc: !self.no_write_mrc,
                zarr: !self.no_write_zarr,
            }
        }
    }

    /// Where the cache lives and how to reach S3: shared by every subcommand that plans.
    #[derive(clap::Args, Debug, Clone)]
    pub struct StorageArgs {
        /// Cache: a folder (embedded sled database; default: one per OUTPUT under the user
        /// cache folder) or `s3://bucket/prefix` (shared by any number of workers).
        #[arg(long, value_name = "DIR|s3://…")]
        pub cache: Option<String>,
        /// Endpoint of an S3-compatible server (path-style requests; `http://` allowed).
        #[arg(long, env = "AWS_ENDPOINT_URL", value_name = "URL")]
        pub endpoint_url: Option<String>,
        /// Seconds one S3 request keeps retrying transient errors (5xx, throttling, timeouts,
        /// resets) with exponential backoff and jitter before the target fails.
        #[arg(long, default_value_t = 180, value_name = "SECONDS")]
        pub s3_retry_timeout: u64,
        /// Seconds before one S3 request times out (and is retried).
        #[arg(long, default_value_t = 60, value_name = "SECONDS")]
        pub s3_request_timeout: u64,
        /// Size of S3 multipart upload parts in MiB (at least 5); larger objects go multipart.
        #[arg(long, default_value_t = 16, value_name = "MIB")]
        pub s3_part_size: usize,
        /// Lifetime of a build lease in a shared cache; renewed every third of it, taken over
        /// by another worker once expired (a crashed worker's targets wait this long).
        #[arg(long, default_value_t = 300, value_name = "SECONDS")]
        pub lease_ttl: u64,
        /// URL prefix under which OUTPUT is served, for the sources of the Neuroglancer states
        /// (part of their key: a new prefix rebuilds every state, nothing else).
        #[arg(long, default_value = entities::DEFAULT_HTTPS_PREFIX, value_name = "URL")]
        pub https_prefix: String,
    }

    impl StorageArgs {
        /// The S3 client options these arguments give.
        pub fn s3(&self) -> S3Options {
            S3Options {
                endpoint: self.endpoint_url.clone().filter(|e| !e.is_empty()),
                retry_timeout: Duration::from_secs(self.s3_retry_timeout),
                request_timeout: Duration::from_secs(self.s3_request_timeout),
                part_size: self.s3_part_size << 20,
            }
        }

        /// Opens the cache for OUTPUT (identified by `output_identity`) and INPUT, with this
        /// machine's memo beside it.
        pub fn open_cache(
            &self,
            output_identity: &str,
            input_identity: &str,
        ) -> Result<(Box<dyn Cache>, MachineMemo)> {
            Ok(crate::session::open_cache(
                self.cache.as_deref(),
                &self.s3(),
                Duration::from_secs(self.lease_ttl),
                output_identity,
                input_identity,
            )?)
        }
    }

    /// Loads a session from the command line's arguments (see [`crate::session::Session::load`]).
    pub fn load(
        config: &Path,
        input: &str,
        output: &str,
        storage: &StorageArgs,
        filters: &NameFilters,
        create_output: bool,
        volume_formats: entities::VolumeFormats,
    ) -> Result<crate::session::Session> {
        let opts = crate::session::SessionOptions {
            cache: storage.cache.clone(),
            s3: storage.s3(),
            lease_ttl: Duration::from_secs(storage.lease_ttl),
            https_prefix: storage.https_prefix.clone(),
            filters: filters.clone(),
            volume_formats,
            create_output,
        };
        Ok(crate::session::Session::load(config, input, output, &opts)?)
    }
}
