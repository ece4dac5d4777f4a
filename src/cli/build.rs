//! `ingest build CONFIG INPUT OUTPUT`: build every stale target, in parallel.

use super::plan;
use crate::graph::shard::Shard;
use crate::graph::{BuildOptions, Outcome, Status};
use crate::EntityKind;
use anyhow::{Context, Result};
use clap::Args;
use serde_json::json;
use std::io::IsTerminal;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Mutex;

/// Arguments of `ingest build`.
#[derive(Args, Debug)]
pub struct BuildArgs {
    /// The dataset config YAML (always a local file).
    pub config: PathBuf,
    /// Source root: a folder or `s3://bucket/prefix`.
    pub input: String,
    /// Output root: a folder (created if missing) or `s3://bucket/prefix`.
    pub output: String,
    #[command(flatten)]
    pub storage: plan::StorageArgs,
    /// Build only this worker's share: `I/N` (runs whose sorted index mod N is I, plus the
    /// deposition level), or `auto` / `auto/N` from the batch engine's array index
    /// (`SLURM_ARRAY_TASK_ID`, `AWS_BATCH_JOB_ARRAY_INDEX`, `JOB_COMPLETION_INDEX`). Needs a
    /// shared (`s3://`) cache.
    #[arg(long, value_name = "I/N|auto[/N]")]
    pub shard: Option<String>,
    /// Worker threads (default: the number of cores).
    #[arg(long, short = 'j')]
    pub jobs: Option<usize>,
    /// Build only these kinds (type keys, e.g. `alignment frame`); their ancestors are still
    /// discovered, and other kinds' recorded outputs are used as they are.
    #[arg(long, num_args = 1.., value_name = "KIND")]
    pub only: Vec<EntityKind>,
    /// Build only the targets that write metadata JSON alone: deposition, dataset and run
    /// metadata, tomogram and tilt-series metadata, annotation metadata (the reference's
    /// `--import-all-metadata`; with `--only KIND…`, its `--import-KIND-metadata`). Data
    /// targets are not built; the metadata reads the data already in OUTPUT.
    #[arg(long)]
    pub metadata_only: bool,
    #[command(flatten)]
    pub volumes: plan::VolumeArgs,
    /// Keep only instances of KIND whose name matches REGEX (anchored at the start).
    #[arg(long, value_name = "KIND=REGEX")]
    pub filter: Vec<String>,
    /// Drop instances of KIND whose name matches REGEX (checked before --filter).
    #[arg(long, value_name = "KIND=REGEX")]
    pub exclude: Vec<String>,
    /// Rebuild every selected target, fresh or not.
    #[arg(long)]
    pub force: bool,
    /// Print the plan (what would build, and why); write nothing.
    #[arg(long)]
    pub dry_run: bool,
    /// Write a JSON report of every target to FILE.
    #[arg(long, value_name = "FILE")]
    pub report: Option<PathBuf>,
}

/// Runs `ingest build`.
///
/// # Errors
/// Config, storage and cache errors (exit code 2).
pub fn run(args: BuildArgs) -> Result<ExitCode> {
    let filters = plan::name_filters(&args.filter, &args.exclude)?;
    let shard = args
        .shard
        .as_deref()
        .map(|s| Shard::parse(s, &|k| std::env::var(k).ok().filter(|v| !v.is_empty())))
        .transpose()
        .map_err(anyhow::Error::msg)?;
    let plan = plan::load(
        &args.config,
        &args.input,
        &args.output,
        &args.storage,
        &filters,
        !args.dry_run,
        args.volumes.formats(),
    )?;
    if shard.is_some() && plan.cache.shared().is_none() && !args.dry_run {
        anyhow::bail!(
            "--shard needs a cache that several workers can share (--cache s3://…); {} is one process's",
            plan.cache.location()
        );
    }
    let opts = BuildOptions {
        ids: shard.map(|s| crate::graph::shard::select(&plan.targets, s)),
        only: (!args.only.is_empty()).then(|| args.only.iter().copied().collect()),
        metadata_only: args.metadata_only,
        force: args.force,
        dry_run: args.dry_run,
        jobs: args.jobs.unwrap_or_else(plan::default_jobs),
    };
    let total = plan.targets.iter().filter(|t| opts.selects(t)).count();
    // The reference's annotation `pre_import`: partial annotation folders go before any
    // annotation of their voxel spacing builds.
    for line in crate::entities::cleanup::remove_partial_annotation_folders(
        &plan.output,
        plan.targets.iter().filter(|t| opts.selects(t)),
        args.dry_run,
    )? {
        tracing::warn!("{line}");
    }
    let bar = std::io::stderr().is_terminal().then(|| {
        let bar = indicatif::ProgressBar::new(total as u64);
        bar.set_style(
            indicatif::ProgressStyle::with_template("{bar:40} {pos}/{len} {msg}")
                .expect("static template"),
        );
        bar
    });
    let printer = Mutex::new(());
    let on_done = |o: &Outcome| {
        let line = log_line(o);
        match &bar {
            Some(bar) => {
                if o.status != Status::Fresh {
                    bar.println(line);
                }
                bar.inc(1);
            }
            None => {
                if o.status != Status::Fresh {
                    let _guard = printer.lock();
                    eprintln!("{line}");
                }
            }
        }
    };
    let outcomes = plan.execute(&opts, &on_done);
    if let Some(bar) = bar {
        bar.finish_and_clear();
    }
    plan.cache.flush()?;
    plan.output.remove_idle_staging();
    let count = |s: Status| outcomes.iter().filter(|o| o.status == s).count();
    let (built, fresh, failed, would) = (
        count(Status::Built),
        count(Status::Fresh),
        count(Status::Failed),
        count(Status::WouldBuild),
    );
    if let Some(path) = &args.report {
        let report = json!({
            "summary": {"built": built, "fresh": fresh, "failed": failed, "would_build": would},
            "shard": shard.map(|s| format!("{}/{}", s.index, s.count)),
            "s3_requests": crate::storage::s3::request_counts().snapshot(),
            "targets": outcomes,
        });
        std::fs::write(path, serde_json::to_vec_pretty(&report)?)
            .with_context(|| format!("{}: cannot write the report", path.display()))?;
    }
    if args.dry_run {
        println!("would build {would}, fresh {fresh}");
    } else {
        println!("built {built}, fresh {fresh}, failed {failed}");
    }
    Ok(if failed > 0 {
        ExitCode::from(super::EXIT_FAILED_TARGETS)
    } else {
        ExitCode::SUCCESS
    })
}

fn log_line(o: &Outcome) -> String {
    let verb = match o.status {
        Status::Built => "built",
        Status::Fresh => "fresh",
        Status::Failed => "FAILED",
        Status::WouldBuild => "would build",
    };
    let mut line = format!("{verb} {} ({}) {:.2}s", o.id, o.kind, o.seconds);
    for r in &o.reasons {
        line.push_str("\n    ");
        line.push_str(r);
    }
    line
}
