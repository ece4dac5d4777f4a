//! `ingest cache verify|gc`: maintenance of a sled or S3 cache.
//!
//! - `verify OUTPUT`: every record whose outputs are missing from OUTPUT or have another size
//!   (a cheap check: sizes, not digests); `--fix` forgets those records so the next build redoes
//!   their targets.
//! - `gc CONFIG… INPUT OUTPUT --older-than DAYS`: forgets records that none of the configs plans
//!   any more, and superseded records of a shared cache, once older than DAYS. Only records of
//!   the datasets and depositions those configs write are considered, so a cache shared by many
//!   datasets is safe to collect one dataset at a time.

use super::plan;
use crate::cache::Cache;
use crate::storage::{Role, Store};
use anyhow::Result;
use clap::{Args, Subcommand};
use std::collections::BTreeSet;
use std::path::PathBuf;
use std::process::ExitCode;

/// Arguments of `ingest cache`.
#[derive(Args, Debug)]
pub struct CacheArgs {
    #[command(subcommand)]
    command: CacheCommand,
}

#[derive(Subcommand, Debug)]
enum CacheCommand {
    /// List records whose outputs are missing or differ in size.
    Verify {
        /// Output root the cache describes.
        output: String,
        #[command(flatten)]
        storage: plan::StorageArgs,
        /// Forget the bad records, so that the next build rebuilds their targets.
        #[arg(long)]
        fix: bool,
    },
    /// Forget records no config plans any more (and superseded ones), older than an age.
    Gc {
        /// Dataset configs whose datasets the cache serves (records of other datasets are kept).
        #[arg(long = "config", required = true, value_name = "CONFIG")]
        configs: Vec<PathBuf>,
        /// Source root.
        input: String,
        /// Output root.
        output: String,
        #[command(flatten)]
        storage: plan::StorageArgs,
        /// Only records built more than this many days ago.
        #[arg(long, value_name = "DAYS")]
        older_than: f64,
        /// Say what would be forgotten; change nothing.
        #[arg(long)]
        dry_run: bool,
    },
}

/// Runs `ingest cache …`.
///
/// # Errors
/// Storage and cache errors.
pub fn run(args: CacheArgs) -> Result<ExitCode> {
    match args.command {
        CacheCommand::Verify {
            output,
            storage,
            fix,
        } => verify(&output, &storage, fix),
        CacheCommand::Gc {
            configs,
            input,
            output,
            storage,
            older_than,
            dry_run,
        } => gc(&configs, &input, &output, &storage, older_than, dry_run),
    }
}

fn verify(output: &str, storage: &plan::StorageArgs, fix: bool) -> Result<ExitCode> {
    let out = Store::open_with(output, Role::Output, &storage.s3())?;
    let (cache, _) = storage.open_cache(&out.root_identity(), "")?;
    let mut bad = 0usize;
    let ids = cache.ids()?;
    for id in &ids {
        let Some(record) = cache.get(id)? else {
            continue;
        };
        let mut problems = Vec::new();
        for o in &record.outputs {
            match out.list_files(&o.key) {
                Err(_) => problems.push(format!("{} is missing", o.key)),
                Ok(files) => {
                    let size: u64 = files.iter().map(|f| f.size).sum();
                    if size != o.size {
                        problems.push(format!(
                            "{} has {size} bytes, the record says {}",
                            o.key, o.size
                        ));
                    }
                }
            }
        }
        if !problems.is_empty() {
            bad += 1;
            println!("{id}: {}", problems.join("; "));
            if fix {
                cache.remove(id)?;
            }
        }
    }
    cache.flush()?;
    println!(
        "{} records, {bad} bad{}",
        ids.len(),
        if fix && bad > 0 { " (forgotten)" } else { "" }
    );
    Ok(if bad > 0 && !fix {
        ExitCode::from(super::EXIT_FAILED_TARGETS)
    } else {
        ExitCode::SUCCESS
    })
}

fn gc(
    configs: &[PathBuf],
    input: &str,
    output: &str,
    storage: &plan::StorageArgs,
    older_than_days: f64,
    dry_run: bool,
) -> Result<ExitCode> {
    let mut planned = BTreeSet::new();
    let mut cache: Option<Box<dyn Cache>> = None;
    for config in configs {
        let p = plan::load(
            config,
            input,
            output,
            storage,
            &Default::default(),
            false,
            Default::default(),
        )?;
        planned.extend(p.targets.iter().map(|t| t.id.clone()));
        cache = Some(p.cache);
    }
    let cache = cache.expect("at least one config");
    let scope: BTreeSet<&str> = planned.iter().map(|id| top_folder(id)).collect();
    let cutoff = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)?
        .as_secs_f64()
        - older_than_days * 86_400.0;
    let mut forgotten = 0usize;
    for id in cache.ids()? {
        if planned.contains(&id) || !scope.contains(top_folder(&id)) {
            continue;
        }
        let Some(record) = cache.get(&id)? else {
            continue;
        };
        if (record.built_at as f64) < cutoff {
            println!("unreferenced: {id} (built at {})", record.built_at);
            forgotten += 1;
            if !dry_run {
                cache.remove(&id)?;
            }
        }
    }
    let superseded = match cache.shared() {
        Some(shared) => shared.superseded()?,
        // One record per target: nothing superseded.
        None => Vec::new(),
    };
    for (object, built_at) in superseded {
        if built_at as f64 >= cutoff {
            continue;
        }
        println!("superseded: {object} (built at {built_at})");
        forgotten += 1;
        if !dry_run {
            if let Some(shared) = cache.shared() {
                shared.remove_object(&object)?;
            }
        }
    }
    cache.flush()?;
    println!(
        "{} {forgotten} records",
        if dry_run { "would forget" } else { "forgot" }
    );
    Ok(ExitCode::SUCCESS)
}

/// The dataset folder (`10001`) or deposition folder (`depositions_metadata/10301`) of an id.
fn top_folder(id: &str) -> &str {
    let mut parts = id.splitn(3, '/');
    let first = parts.next().unwrap_or_default();
    match (first, parts.next()) {
        ("depositions_metadata", Some(dep)) => &id[..first.len() + 1 + dep.len()],
        _ => first,
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn ids_fall_in_their_dataset_or_deposition() {
        assert_eq!(super::top_folder("10001/TS_01/Frames"), "10001");
        assert_eq!(super::top_folder("10001"), "10001");
        assert_eq!(
            super::top_folder("depositions_metadata/10301/Images/x.png"),
            "depositions_metadata/10301"
        );
    }
}
