//! Work units and shards, for many workers on a batch engine.
//!
//! A **unit** is one run (every target whose id is the run's folder or lies under it) or the
//! deposition level (everything else: deposition, dataset, key photos). Runs are numbered by
//! their sorted ids, which every worker of one submission computes alike from the same listing.
//! Shard `I/N` builds the runs whose number mod N is I, the deposition level, and whatever those
//! read from other runs (the dataset key photo may fall back to the first tomogram's key image).
//! Targets in several shards are built once: a shared cache's leases make the others wait and
//! then find the record.

use super::TargetSpec;
use crate::target::TargetId;
use crate::EntityKind;
use std::collections::{BTreeSet, HashMap};

/// Which share of the runs a worker builds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Shard {
    /// This worker's number, `0 ≤ index < count`.
    pub index: usize,
    /// Number of workers.
    pub count: usize,
}

/// Environment variables that carry an array job's index, by batch engine.
const INDEX_VARS: [&str; 3] = [
    "SLURM_ARRAY_TASK_ID",
    "AWS_BATCH_JOB_ARRAY_INDEX",
    "JOB_COMPLETION_INDEX",
];

impl Shard {
    /// Parses `I/N`, `auto` or `auto/N`. `auto` reads the index from the batch engine
    /// (`SLURM_ARRAY_TASK_ID`, `AWS_BATCH_JOB_ARRAY_INDEX`, `JOB_COMPLETION_INDEX`) and the count
    /// from `SLURM_ARRAY_TASK_COUNT` or `INGEST_SHARD_COUNT` unless `/N` gives it. Slurm arrays
    /// may start at `SLURM_ARRAY_TASK_MIN`, which is subtracted.
    ///
    /// # Errors
    /// A malformed spec, or `auto` where no engine variable is set.
    pub fn parse(spec: &str, env: &dyn Fn(&str) -> Option<String>) -> Result<Shard, String> {
        let (index, count) = spec.split_once('/').unwrap_or((spec, ""));
        let number = |what: &str, text: &str| {
            text.trim()
                .parse::<usize>()
                .map_err(|_| format!("--shard {spec}: {what} `{text}` is not a number"))
        };
        let (index, count) = if index == "auto" {
            let (var, value) = INDEX_VARS
                .iter()
                .find_map(|v| env(v).map(|x| (*v, x)))
                .ok_or_else(|| {
                    format!("--shard {spec}: none of {} is set", INDEX_VARS.join(", "))
                })?;
            let mut index = number(var, &value)?;
            if var == "SLURM_ARRAY_TASK_ID" {
                if let Some(min) = env("SLURM_ARRAY_TASK_MIN") {
                    index = index.saturating_sub(number("SLURM_ARRAY_TASK_MIN", &min)?);
                }
            }
            let count = if count.is_empty() {
                let (var, value) = ["SLURM_ARRAY_TASK_COUNT", "INGEST_SHARD_COUNT"]
                    .iter()
                    .find_map(|v| env(v).map(|x| (*v, x)))
                    .ok_or_else(|| {
                        format!(
                        "--shard {spec}: the shard count is unknown; give it (auto/N) or set INGEST_SHARD_COUNT"
                    )
                    })?;
                number(var, &value)?
            } else {
                number("count", count)?
            };
            (index, count)
        } else {
            (number("index", index)?, number("count", count)?)
        };
        if count == 0 || index >= count {
            return Err(format!(
                "--shard {spec}: index {index} is not below count {count}"
            ));
        }
        Ok(Shard { index, count })
    }
}

/// The run folder each target belongs to (`None`: deposition level), and the sorted run folders.
pub fn units(targets: &[TargetSpec]) -> (Vec<Option<String>>, Vec<String>) {
    let runs: BTreeSet<&str> = targets
        .iter()
        .filter(|t| t.kind == EntityKind::Run)
        .map(|t| t.id.as_str())
        .collect();
    let unit_of = |id: &str| {
        let mut prefix = id;
        loop {
            if runs.contains(prefix) {
                return Some(prefix.to_string());
            }
            prefix = prefix.rsplit_once('/')?.0;
        }
    };
    (
        targets.iter().map(|t| unit_of(&t.id)).collect(),
        runs.into_iter().map(str::to_string).collect(),
    )
}

/// The targets shard `shard` builds: its runs, the deposition level, and everything those read.
pub fn select(targets: &[TargetSpec], shard: Shard) -> BTreeSet<TargetId> {
    let (unit, runs) = units(targets);
    let number: HashMap<&str, usize> = runs
        .iter()
        .enumerate()
        .map(|(i, r)| (r.as_str(), i))
        .collect();
    let index: HashMap<&str, usize> = targets
        .iter()
        .enumerate()
        .map(|(i, t)| (t.id.as_str(), i))
        .collect();
    let mut keep = BTreeSet::new();
    let mut stack: Vec<usize> = (0..targets.len())
        .filter(|&i| match &unit[i] {
            None => true,
            Some(run) => number[run.as_str()] % shard.count == shard.index,
        })
        .collect();
    while let Some(i) = stack.pop() {
        if keep.insert(targets[i].id.clone()) {
            stack.extend(
                targets[i]
                    .deps
                    .iter()
                    .filter_map(|d| index.get(d.as_str()).copied()),
            );
        }
    }
    keep
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;

    fn t(id: &str, kind: EntityKind, deps: &[&str]) -> TargetSpec {
        TargetSpec {
            id: TargetId::new(id).unwrap(),
            kind,
            config: serde_json::Value::Null,
            sources: vec![],
            deps: deps.iter().map(|d| TargetId::new(*d).unwrap()).collect(),
            metadata: false,
            action: Arc::new(|_| Ok(())),
        }
    }

    #[test]
    fn shards_split_runs_and_share_the_deposition_level() {
        let targets = vec![
            t("ds", EntityKind::Dataset, &["ds/Images/snapshot.png"]),
            t(
                "ds/Images/snapshot.png",
                EntityKind::DatasetKeyphoto,
                &["ds/r1/img"],
            ),
            t("ds/r1", EntityKind::Run, &[]),
            t("ds/r1/img", EntityKind::KeyImage, &[]),
            t("ds/r2", EntityKind::Run, &[]),
            t("ds/r2/x", EntityKind::Gain, &[]),
            t("ds/r3", EntityKind::Run, &[]),
        ];
        let s0 = select(&targets, Shard { index: 0, count: 2 });
        let s1 = select(&targets, Shard { index: 1, count: 2 });
        // r1 (0) and r3 (2) go to shard 0, r2 (1) to shard 1; the key photo pulls r1's image in.
        assert!(s0.contains("ds/r1") && s0.contains("ds/r3") && !s0.contains("ds/r2"));
        assert!(s1.contains("ds/r2/x") && !s1.contains("ds/r1") && !s1.contains("ds/r3"));
        assert!(s1.contains("ds/r1/img") && s1.contains("ds"));
    }

    #[test]
    fn auto_reads_the_batch_engine() {
        let env = |vars: &'static [(&'static str, &'static str)]| {
            move |k: &str| {
                vars.iter()
                    .find(|(n, _)| *n == k)
                    .map(|(_, v)| v.to_string())
            }
        };
        let slurm = env(&[
            ("SLURM_ARRAY_TASK_ID", "3"),
            ("SLURM_ARRAY_TASK_MIN", "1"),
            ("SLURM_ARRAY_TASK_COUNT", "4"),
        ]);
        assert_eq!(
            Shard::parse("auto", &slurm),
            Ok(Shard { index: 2, count: 4 })
        );
        let k8s = env(&[("JOB_COMPLETION_INDEX", "1")]);
        assert_eq!(
            Shard::parse("auto/3", &k8s),
            Ok(Shard { index: 1, count: 3 })
        );
        assert!(Shard::parse("auto", &k8s)
            .unwrap_err()
            .contains("INGEST_SHARD_COUNT"));
        assert!(Shard::parse("3/3", &k8s).is_err());
        assert!(Shard::parse("auto", &env(&[])).is_err());
    }
}
