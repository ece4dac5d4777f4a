//! `ingest plan CONFIG INPUT OUTPUT [--json] [--shards N]`: the work units of a deposition for a
//! scheduler — the deposition level and one unit per run, each with its stale targets — and,
//! with `--shards N`, which runs each `--shard I/N` worker would build.

use super::plan;
use crate::graph::shard::{self, Shard};
use crate::graph::Status;
use anyhow::Result;
use clap::Args;
use serde_json::{json, Value};
use std::path::PathBuf;
use std::process::ExitCode;

/// Arguments of `ingest plan`.
#[derive(Args, Debug)]
pub struct PlanArgs {
    /// The dataset config YAML.
    pub config: PathBuf,
    /// Source root: a folder or `s3://bucket/prefix`.
    pub input: String,
    /// Output root: a folder or `s3://bucket/prefix`.
    pub output: String,
    #[command(flatten)]
    pub storage: plan::StorageArgs,
    /// Print JSON (for schedulers) instead of a table.
    #[arg(long)]
    pub json: bool,
    /// Also split the runs into N shards, as `build --shard I/N` would.
    #[arg(long, value_name = "N")]
    pub shards: Option<usize>,
}

/// Runs `ingest plan`.
///
/// # Errors
/// Config, storage and cache errors.
pub fn run(args: PlanArgs) -> Result<ExitCode> {
    let plan = plan::load(
        &args.config,
        &args.input,
        &args.output,
        &args.storage,
        &Default::default(),
        false,
        Default::default(),
    )?;
    let outcomes = plan.dry_run(plan::default_jobs());
    let stale: std::collections::HashSet<&str> = outcomes
        .iter()
        .filter(|o| o.status == Status::WouldBuild)
        .map(|o| o.id.as_str())
        .collect();
    let (unit_of, runs) = shard::units(&plan.targets);
    let count = |unit: Option<&str>| {
        let ids = plan
            .targets
            .iter()
            .zip(&unit_of)
            .filter(|(_, u)| u.as_deref() == unit)
            .map(|(t, _)| t.id.as_str());
        let (mut total, mut stale_n) = (0, 0);
        for id in ids {
            total += 1;
            stale_n += usize::from(stale.contains(id));
        }
        (total, stale_n)
    };
    let (dep_total, dep_stale) = count(None);
    let mut units = vec![json!({"unit": "deposition", "targets": dep_total, "stale": dep_stale})];
    for (i, run) in runs.iter().enumerate() {
        let (total, stale_n) = count(Some(run));
        units.push(
            json!({"unit": "run", "run": run, "index": i, "targets": total, "stale": stale_n}),
        );
    }
    let shards: Option<Vec<Value>> = args.shards.map(|n| {
        (0..n.max(1))
            .map(|index| {
                let s = Shard {
                    index,
                    count: n.max(1),
                };
                let ids = shard::select(&plan.targets, s);
                let mine: Vec<&String> = runs
                    .iter()
                    .enumerate()
                    .filter(|(i, _)| i % s.count == s.index)
                    .map(|(_, r)| r)
                    .collect();
                let stale_n = ids.iter().filter(|id| stale.contains(id.as_str())).count();
                json!({"shard": format!("{index}/{n}"), "runs": mine,
                           "targets": ids.len(), "stale": stale_n})
            })
            .collect()
    });
    if args.json {
        let doc = json!({"units": units, "shards": shards});
        println!("{}", serde_json::to_string_pretty(&doc)?);
    } else {
        println!(
            "{:<12} {:<40} {:>8} {:>8}",
            "unit", "run", "targets", "stale"
        );
        for u in &units {
            println!(
                "{:<12} {:<40} {:>8} {:>8}",
                u["unit"].as_str().unwrap_or_default(),
                u["run"].as_str().unwrap_or("-"),
                u["targets"].as_u64().unwrap_or_default(),
                u["stale"].as_u64().unwrap_or_default()
            );
        }
        for s in shards.iter().flatten() {
            println!(
                "shard {}: {} targets, {} stale, runs {}",
                s["shard"].as_str().unwrap_or_default(),
                s["targets"],
                s["stale"],
                s["runs"]
            );
        }
    }
    Ok(ExitCode::SUCCESS)
}
