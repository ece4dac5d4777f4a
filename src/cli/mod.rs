//! Command-line interface: one file per subcommand, each an args struct plus `run()`.

mod build;
mod explain;
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
}

/// Entry point of the binary.
pub fn main() -> ExitCode {
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
pub(crate) mod plan {
    use super::*;
    use crate::cache::{Cache, SledCache};
    use crate::entities::{self, NameFilters, TargetContext};
    use crate::graph::TargetSpec;
    use crate::storage::Store;
    use crate::EntityKind;
    use std::path::{Path, PathBuf};

    /// A loaded deposition, ready to build or explain.
    pub struct Plan {
        pub cache: Box<dyn Cache>,
        pub input: Store,
        pub output: Store,
        pub targets: Vec<TargetSpec>,
    }

    impl Plan {
        /// Runs the planned targets (see [`crate::graph::execute`]).
        pub fn execute(
            &self,
            opts: &crate::graph::BuildOptions,
            on_done: &(dyn Fn(&crate::graph::Outcome) + Sync),
        ) -> Vec<crate::graph::Outcome> {
            crate::graph::execute(
                &self.targets,
                self.cache.as_ref(),
                &self.input,
                &self.output,
                opts,
                on_done,
            )
        }
    }

    /// Parses `KIND=REGEX` into a kind and a start-anchored regex.
    pub fn parse_kind_regex(text: &str) -> Result<(EntityKind, regex::Regex)> {
        let (kind, re) = text
            .split_once('=')
            .with_context(|| format!("`{text}`: expected KIND=REGEX"))?;
        let kind: EntityKind = kind.parse()?;
        let re = regex::Regex::new(&format!("^(?:{re})"))
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

    /// Loads the config, opens INPUT, OUTPUT and the cache, discovers and plans.
    pub fn load(
        config: &Path,
        input: &str,
        output: &str,
        cache: Option<&PathBuf>,
        filters: &NameFilters,
        create_output: bool,
    ) -> Result<Plan> {
        let config = crate::config::load(config)?;
        if create_output && !output.contains("://") {
            std::fs::create_dir_all(output)
                .with_context(|| format!("{output}: cannot create the output folder"))?;
        }
        let probe = Store::open(output, None, false)?;
        let cache_path = cache
            .cloned()
            .unwrap_or_else(|| SledCache::default_path(&probe.root_identity()));
        let cache: Box<dyn Cache> = Box::new(SledCache::open(&cache_path)?);
        let input = Store::open(input, cache.stat_cache(), true)?;
        let output = Store::open(output, None, false)?;
        let discovery = entities::discover(&config, &input, &output, filters)?;
        let ctx = TargetContext {
            config: &config,
            discovery: &discovery,
            input: &input,
            output: &output,
        };
        let targets = entities::targets(&ctx)?;
        Ok(Plan {
            cache,
            input,
            output,
            targets,
        })
    }
}
