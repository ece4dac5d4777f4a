//! `ingest explain CONFIG INPUT OUTPUT PATTERN`: why each matching target is fresh or stale.
//!
//! It plans exactly as `build --dry-run` does (so a parent that would rebuild shows as such) and
//! prints, per target, the typed reasons rendered by `keys::explain`.

use super::plan;
use crate::graph::Status;
use anyhow::Result;
use clap::Args;
use std::path::PathBuf;
use std::process::ExitCode;

/// Arguments of `ingest explain`.
#[derive(Args, Debug)]
pub struct ExplainArgs {
    /// The dataset config YAML.
    pub config: PathBuf,
    /// Source root.
    pub input: String,
    /// Output root.
    pub output: String,
    /// A target id as printed by `build` (its output path), or a glob over ids (`*/TS_01/**`).
    pub pattern: String,
    #[command(flatten)]
    pub storage: plan::StorageArgs,
    /// The volume formats of the build to explain (they are part of volume targets' keys).
    #[command(flatten)]
    pub volumes: plan::VolumeArgs,
}

/// Runs `ingest explain`.
///
/// # Errors
/// Config, storage and cache errors; a pattern that matches no target.
pub fn run(args: ExplainArgs) -> Result<ExitCode> {
    let plan = plan::load(
        &args.config,
        &args.input,
        &args.output,
        &args.storage,
        &Default::default(),
        false,
        args.volumes.formats(),
    )?;
    let matcher = globset::GlobBuilder::new(&args.pattern)
        .literal_separator(false)
        .build()?
        .compile_matcher();
    let outcomes = plan.dry_run(1);
    let mut shown = 0;
    for o in outcomes
        .iter()
        .filter(|o| o.id.as_str() == args.pattern || matcher.is_match(o.id.as_str()))
    {
        shown += 1;
        match o.status {
            Status::Fresh => println!("{} ({}): fresh", o.id, o.kind),
            _ => {
                println!("{} ({}): stale", o.id, o.kind);
                for r in &o.reasons {
                    println!("  - {r}");
                }
            }
        }
    }
    if shown == 0 {
        anyhow::bail!(
            "no target matches `{}` ({} targets planned; ids are output paths such as `{}`)",
            args.pattern,
            outcomes.len(),
            outcomes.first().map_or("", |o| o.id.as_str())
        );
    }
    Ok(ExitCode::SUCCESS)
}
