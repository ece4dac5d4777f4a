//! The target graph and its scheduler.
//!
//! Targets form a DAG by their `deps` (targets whose outputs they read). The scheduler runs it in
//! waves: every target whose dependencies are settled runs in parallel (rayon), decides fresh or
//! stale from its key parts — which include its dependencies' output digests of *this* run —
//! and, when stale, builds, publishes and only then records.

pub mod shard;

use crate::cache::{Cache, TargetRecord};
use crate::entities::{BuildError, BuildIo};
use crate::keys::{outputs_digest, KeyParts, StaleReason};
use crate::storage::{ObjectInfo, Store};
use crate::EntityKind;
use rayon::prelude::*;
use serde::Serialize;
use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::Arc;
use std::time::Instant;

/// The build step of a target.
pub type Action = Arc<dyn Fn(&mut BuildIo<'_>) -> Result<(), BuildError> + Send + Sync>;

/// One target: what it is keyed on and how it builds.
#[derive(Clone)]
pub struct TargetSpec {
    /// Stable id: the target's output path relative to OUTPUT.
    pub id: String,
    /// Its kind.
    pub kind: EntityKind,
    /// Canonical config part of the key.
    pub config: serde_json::Value,
    /// Sources it reads, with fingerprints from the listing.
    pub sources: Vec<ObjectInfo>,
    /// Ids of targets whose outputs it reads.
    pub deps: Vec<String>,
    /// The build step.
    pub action: Action,
}

/// What the scheduler is asked to do.
#[derive(Debug, Clone, Default)]
pub struct BuildOptions {
    /// Build only these kinds (others are used from the cache). `None`: every kind.
    pub only: Option<BTreeSet<EntityKind>>,
    /// Run only the targets with these ids (a shard's share). `None`: every target.
    pub ids: Option<BTreeSet<String>>,
    /// Rebuild every selected target.
    pub force: bool,
    /// Decide only; write nothing.
    pub dry_run: bool,
    /// Worker threads.
    pub jobs: usize,
}

/// The fate of one target in a run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    /// Rebuilt and recorded.
    Built,
    /// Key unchanged and outputs present: nothing done.
    Fresh,
    /// The build step (or a dependency) failed; no record written.
    Failed,
    /// Dry run: would be built.
    WouldBuild,
}

/// One line of the report.
#[derive(Debug, Clone, Serialize)]
pub struct Outcome {
    /// Target id.
    pub id: String,
    /// Target kind.
    pub kind: EntityKind,
    /// What happened.
    pub status: Status,
    /// Why it was (or would be) built, or why it failed.
    pub reasons: Vec<String>,
    /// Typed reasons, for `explain`.
    #[serde(skip)]
    pub stale: Vec<StaleReason>,
    /// Wall time spent on it.
    pub seconds: f64,
}

#[derive(Clone)]
enum Settled {
    Digest(String),
    Pending,
    Failed,
}

/// Puts targets in waves: a target's wave is one more than its latest dependency's.
fn waves(targets: &[TargetSpec]) -> Vec<Vec<usize>> {
    let index: HashMap<&str, usize> = targets
        .iter()
        .enumerate()
        .map(|(i, t)| (t.id.as_str(), i))
        .collect();
    let mut level: Vec<Option<usize>> = vec![None; targets.len()];
    fn visit(
        i: usize,
        targets: &[TargetSpec],
        index: &HashMap<&str, usize>,
        level: &mut Vec<Option<usize>>,
        stack: &mut Vec<usize>,
    ) -> usize {
        if let Some(l) = level[i] {
            return l;
        }
        if stack.contains(&i) {
            panic!("dependency cycle through target {}", targets[i].id);
        }
        stack.push(i);
        let mut l = 0;
        for d in &targets[i].deps {
            if let Some(&j) = index.get(d.as_str()) {
                l = l.max(visit(j, targets, index, level, stack) + 1);
            }
        }
        stack.pop();
        level[i] = Some(l);
        l
    }
    let mut stack = Vec::new();
    for i in 0..targets.len() {
        visit(i, targets, &index, &mut level, &mut stack);
    }
    let max = level.iter().flatten().copied().max().unwrap_or(0);
    let mut out = vec![Vec::new(); max + 1];
    for (i, l) in level.into_iter().enumerate() {
        out[l.expect("visited")].push(i);
    }
    out
}

/// Today's key parts of a target, given the digests its dependencies settled on.
fn key_parts(
    t: &TargetSpec,
    settled: &HashMap<String, Settled>,
    cache: &dyn Cache,
) -> Result<KeyParts, String> {
    let mut parents = BTreeMap::new();
    for d in &t.deps {
        let digest = match settled.get(d) {
            Some(Settled::Digest(s)) => s.clone(),
            Some(Settled::Pending) => "pending".to_string(),
            Some(Settled::Failed) => return Err(format!("dependency {d} failed")),
            None => match cache.get(d) {
                Ok(Some(r)) => r.output_digest,
                _ => "not built".to_string(),
            },
        };
        parents.insert(d.clone(), digest);
    }
    Ok(KeyParts::new(
        t.kind,
        t.config.clone(),
        t.sources.clone(),
        parents,
    ))
}

/// Fresh-or-stale decision for one target: the reasons it must be built (empty: fresh), and
/// its recorded outputs digest when fresh.
pub fn decide(
    parts: &KeyParts,
    record: Option<&TargetRecord>,
    output: &Store,
    force: bool,
) -> (Vec<StaleReason>, Option<String>) {
    let mut reasons = Vec::new();
    if force {
        reasons.push(StaleReason::Forced);
    }
    match record {
        None => reasons.push(StaleReason::NeverBuilt),
        Some(r) => {
            reasons.extend(parts.compare(&r.parts));
            if reasons.is_empty() {
                for o in &r.outputs {
                    if !output.output_present(&o.key) {
                        reasons.push(StaleReason::OutputMissing { key: o.key.clone() });
                    }
                }
            }
        }
    }
    let digest = if reasons.is_empty() {
        record.map(|r| r.output_digest.clone())
    } else {
        None
    };
    (reasons, digest)
}

fn now_secs() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

/// Runs the graph. Unselected targets are not run; their recorded digests feed their
/// dependents. A failure fails the target and its dependents; the rest still runs.
pub fn execute(
    targets: &[TargetSpec],
    cache: &dyn Cache,
    input: &Store,
    output: &Store,
    opts: &BuildOptions,
    on_done: &(dyn Fn(&Outcome) + Sync),
) -> Vec<Outcome> {
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(opts.jobs.max(1))
        .build()
        .expect("thread pool");
    let selected = |t: &TargetSpec| {
        opts.only.as_ref().is_none_or(|o| o.contains(&t.kind))
            && opts.ids.as_ref().is_none_or(|ids| ids.contains(&t.id))
    };
    let mut settled: HashMap<String, Settled> = HashMap::new();
    let mut outcomes: Vec<Option<Outcome>> = vec![None; targets.len()];
    for wave in waves(targets) {
        let results: Vec<(usize, Outcome, Settled)> = pool.install(|| {
            wave.par_iter()
                .filter(|&&i| selected(&targets[i]))
                .map(|&i| {
                    let (o, s) = run_one(&targets[i], &settled, cache, input, output, opts);
                    on_done(&o);
                    (i, o, s)
                })
                .collect()
        });
        for (i, o, s) in results {
            settled.insert(targets[i].id.clone(), s);
            outcomes[i] = Some(o);
        }
    }
    outcomes.into_iter().flatten().collect()
}

fn run_one(
    t: &TargetSpec,
    settled: &HashMap<String, Settled>,
    cache: &dyn Cache,
    input: &Store,
    output: &Store,
    opts: &BuildOptions,
) -> (Outcome, Settled) {
    let start = Instant::now();
    let outcome = |status, reasons: Vec<String>, stale: Vec<StaleReason>| Outcome {
        id: t.id.clone(),
        kind: t.kind,
        status,
        reasons,
        stale,
        seconds: start.elapsed().as_secs_f64(),
    };
    let parts = match key_parts(t, settled, cache) {
        Ok(p) => p,
        Err(e) => return (outcome(Status::Failed, vec![e], vec![]), Settled::Failed),
    };
    let key = parts.key().to_hex().to_string();
    // The record of today's key answers "fresh" in one lookup; the latest record of the
    // target, whatever its key, says why not.
    let record = cache
        .get_for_key(&t.id, &key)
        .and_then(|r| match r {
            Some(r) => Ok(Some(r)),
            None => cache.get(&t.id),
        })
        .unwrap_or_else(|e| {
            // An unreadable record is rebuilt over; say so.
            log::warn(&format!("{e}; rebuilding"));
            None
        });
    let (reasons, digest) = decide(&parts, record.as_ref(), output, opts.force);
    let lines = crate::keys::render_reasons(&reasons);
    if let Some(d) = digest {
        return (outcome(Status::Fresh, lines, reasons), Settled::Digest(d));
    }
    if opts.dry_run {
        return (
            outcome(Status::WouldBuild, lines, reasons),
            Settled::Pending,
        );
    }
    let _lease = match cache.acquire(&t.id) {
        Ok(lease) => lease,
        Err(e) => {
            let mut lines = lines;
            lines.push(format!("error: cannot claim the target: {e}"));
            return (outcome(Status::Failed, lines, reasons), Settled::Failed);
        }
    };
    // Another worker may have built it while this one waited for the claim.
    if !opts.force {
        if let Ok(Some(r)) = cache.get_for_key(&t.id, &key) {
            if let (none, Some(d)) = decide(&parts, Some(&r), output, false) {
                debug_assert!(none.is_empty());
                let lines = vec!["built by another worker".to_string()];
                return (outcome(Status::Fresh, lines, vec![]), Settled::Digest(d));
            }
        }
    }
    match build(t, &parts, cache, input, output) {
        Ok(d) => (outcome(Status::Built, lines, reasons), Settled::Digest(d)),
        Err(e) => {
            let mut lines = lines;
            lines.push(format!("error: {e}"));
            (outcome(Status::Failed, lines, reasons), Settled::Failed)
        }
    }
}

/// Builds, publishes, then records: a record exists only for outputs that are all in place.
fn build(
    t: &TargetSpec,
    parts: &KeyParts,
    cache: &dyn Cache,
    input: &Store,
    output: &Store,
) -> Result<String, String> {
    let mut io = BuildIo::new(input, output, now_secs()).map_err(|e| e.to_string())?;
    (t.action)(&mut io).map_err(|e| e.to_string())?;
    let outputs = io.publish().map_err(|e| e.to_string())?;
    let digest = outputs_digest(&outputs);
    let record = TargetRecord {
        id: t.id.clone(),
        key: parts.key().to_hex(),
        parts: parts.clone(),
        output_digest: digest.clone(),
        outputs,
        built_at: now_secs(),
        tool_version: env!("CARGO_PKG_VERSION").to_string(),
    };
    cache.put(&record).map_err(|e| e.to_string())?;
    Ok(digest)
}

/// Minimal logging to stderr (the CLI owns the progress bar).
pub mod log {
    /// Prints a warning line.
    pub fn warn(msg: &str) {
        eprintln!("warning: {msg}");
    }

    /// Prints an informational line (what the reference prints and skips).
    pub fn note(msg: &str) {
        eprintln!("note: {msg}");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(id: &str, deps: &[&str]) -> TargetSpec {
        TargetSpec {
            id: id.into(),
            kind: EntityKind::Run,
            config: serde_json::Value::Null,
            sources: vec![],
            deps: deps.iter().map(|d| d.to_string()).collect(),
            action: Arc::new(|_| Ok(())),
        }
    }

    #[test]
    fn waves_follow_dependencies() {
        let targets = vec![t("a", &["c"]), t("b", &[]), t("c", &["b"]), t("d", &["x"])];
        let w = waves(&targets);
        assert_eq!(w, vec![vec![1, 3], vec![2], vec![0]]);
    }
}
