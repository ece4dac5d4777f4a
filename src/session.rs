//! A loaded deposition: its config, INPUT, OUTPUT, cache, discovery and planned targets. What
//! `build`, `explain`, `plan` and `cache gc` share, as one library call.

use crate::cache::{Cache, CacheError, LocalMemo, MachineMemo, S3Cache, SledCache};
use crate::config::ConfigError;
use crate::entities::{self, DiscoverError, NameFilters, TargetContext, VolumeFormats};
use crate::graph::{BuildOptions, GraphError, Outcome};
use crate::storage::{s3, Role, S3Options, StatCache, StorageError, Store};
use crate::target::{BuildError, TargetSpec};
use std::path::{Path, PathBuf};
use std::time::Duration;

/// How a session opens its stores and cache, and what it plans.
#[derive(Debug, Clone)]
pub struct SessionOptions {
    /// The cache: a folder (embedded sled), `s3://bucket/prefix` (shared by workers), or
    /// `None` for one sled database per OUTPUT under the user cache folder.
    pub cache: Option<String>,
    /// How to reach S3 (INPUT, OUTPUT, a shared cache, key photos in other buckets).
    pub s3: S3Options,
    /// Lifetime of a build lease in a shared cache.
    pub lease_ttl: Duration,
    /// URL prefix under which OUTPUT is served, for the Neuroglancer states.
    pub https_prefix: String,
    /// Which instances discovery keeps.
    pub filters: NameFilters,
    /// Which files the volume targets write.
    pub volume_formats: VolumeFormats,
    /// Create a local OUTPUT folder that does not exist yet (`build`), rather than fail.
    pub create_output: bool,
}

/// Why a session cannot be loaded; each names the file, store or cache at fault. The cause of
/// the last two is their `source()`, as the CLI prints it (`{:#}`).
#[derive(Debug, thiserror::Error)]
pub enum SessionError {
    /// The config does not load.
    #[error(transparent)]
    Config(#[from] ConfigError),
    /// INPUT or OUTPUT cannot be opened.
    #[error(transparent)]
    Storage(#[from] StorageError),
    /// The cache cannot be opened.
    #[error(transparent)]
    Cache(#[from] CacheError),
    /// Discovery failed (a listing, an unexpandable template, a bad ID).
    #[error(transparent)]
    Discover(#[from] DiscoverError),
    /// Planning a target failed (named by config file, kind and instance).
    #[error(transparent)]
    Plan(#[from] BuildError),
    /// The planned targets depend on each other in a cycle.
    #[error("{file}: the planned targets")]
    Cycle {
        /// The config file.
        file: PathBuf,
        /// The cycle.
        source: GraphError,
    },
    /// A local OUTPUT folder cannot be created.
    #[error("{output}: cannot create the output folder")]
    CreateOutput {
        /// The folder.
        output: String,
        /// Why.
        source: std::io::Error,
    },
}

/// A loaded deposition, ready to build or explain.
pub struct Session {
    /// The store of target records, keyed by the output root and the input.
    pub cache: Box<dyn Cache>,
    /// The source tree (input bucket or directory).
    pub input: Store,
    /// The destination tree the targets write.
    pub output: Store,
    /// Every planned target (checked to form no cycle).
    pub targets: Vec<TargetSpec>,
}

impl Session {
    /// Loads the config, opens INPUT, OUTPUT and the cache, discovers and plans. Discovery
    /// warnings go to `tracing`.
    ///
    /// # Errors
    /// [`SessionError`], naming what failed.
    pub fn load(
        config: &Path,
        input: &str,
        output: &str,
        opts: &SessionOptions,
    ) -> Result<Session, SessionError> {
        let config = crate::config::load(config)?;
        if opts.create_output && !s3::is_s3(output) {
            std::fs::create_dir_all(output).map_err(|source| SessionError::CreateOutput {
                output: output.to_string(),
                source,
            })?;
        }
        let probe = Store::open_with(output, Role::Output, &opts.s3)?;
        let input_identity = if s3::is_s3(input) {
            input.to_string()
        } else {
            std::fs::canonicalize(input)
                .map_or_else(|_| input.to_string(), |p| p.display().to_string())
        };
        let (cache, memo) = open_cache(
            opts.cache.as_deref(),
            &opts.s3,
            opts.lease_ttl,
            &probe.root_identity(),
            &input_identity,
        )?;
        probe.attach_object_memo(memo.objects);
        let input = Store::open_with(input, Role::Input(memo.stat), &opts.s3)?;
        let output = probe;
        let discovery = entities::discover(&config, &input, &output, &opts.filters)?;
        for w in &discovery.warnings {
            tracing::warn!("{w}");
        }
        let ctx = TargetContext {
            config: &config,
            discovery: &discovery,
            input: &input,
            output: &output,
            s3: &opts.s3,
            volume_formats: opts.volume_formats,
            https_prefix: &opts.https_prefix,
        };
        let targets = entities::targets(&ctx)?;
        crate::graph::check_acyclic(&targets).map_err(|source| SessionError::Cycle {
            file: config.file.clone(),
            source,
        })?;
        output.end_discovery();
        Ok(Session {
            cache,
            input,
            output,
            targets,
        })
    }

    /// Runs the planned targets (see [`crate::graph::execute`]).
    pub fn execute(
        &self,
        opts: &BuildOptions,
        on_done: &(dyn Fn(&Outcome) + Sync),
    ) -> Vec<Outcome> {
        crate::graph::execute(
            &self.targets,
            self.cache.as_ref(),
            &self.input,
            &self.output,
            opts,
            on_done,
        )
    }

    /// Every target's fresh-or-stale decision, building nothing (`explain`, `plan`).
    pub fn dry_run(&self, jobs: usize) -> Vec<Outcome> {
        let opts = BuildOptions {
            dry_run: true,
            jobs,
            ..Default::default()
        };
        self.execute(&opts, &|_| {})
    }
}

/// Opens the cache at `location` (see [`SessionOptions::cache`]) for OUTPUT (identified by
/// `output_identity`) and INPUT, with this machine's memo beside it.
///
/// # Errors
/// A cache that cannot be opened, naming it.
pub fn open_cache(
    location: Option<&str>,
    s3_options: &S3Options,
    lease_ttl: Duration,
    output_identity: &str,
    input_identity: &str,
) -> Result<(Box<dyn Cache>, MachineMemo), CacheError> {
    let sled = |cache: SledCache| {
        let memo = cache.memo();
        (Box::new(cache) as Box<dyn Cache>, memo)
    };
    match location {
        Some(url) if s3::is_s3(url) => {
            let endpoint = s3_options.endpoint.as_deref().unwrap_or("aws");
            let local = local_memo(&format!("{endpoint} {url}"), input_identity);
            let cache = S3Cache::open(
                url,
                s3_options,
                lease_ttl.max(Duration::from_secs(3)),
                local,
            )?;
            let memo = cache.memo();
            Ok((Box::new(cache), memo))
        }
        Some(dir) => Ok(sled(SledCache::open(Path::new(dir))?)),
        None => Ok(sled(SledCache::open(&SledCache::default_path(
            output_identity,
        ))?)),
    }
}

/// With a shared cache, this machine keeps a small database of its own per (cache, INPUT):
/// local source fingerprints, and the immutable records it has already read, so that an
/// unchanged re-run reads no record twice. Several workers on one machine cannot open it at
/// once; the others go without (hashing local sources, reading records from S3).
fn local_memo(cache_url: &str, input_identity: &str) -> Option<LocalMemo> {
    let path = SledCache::default_path(&format!("memo:{cache_url}:{input_identity}"));
    let db = sled::open(&path).ok()?;
    let stat = (!s3::is_s3(input_identity))
        .then(|| db.open_tree("stat/v1").ok().map(StatCache::new))
        .flatten();
    let records = db.open_tree("s3-records/v1").ok()?;
    let objects = db.open_tree("objects/v1").ok()?;
    Some(LocalMemo {
        stat,
        records,
        objects,
    })
}
