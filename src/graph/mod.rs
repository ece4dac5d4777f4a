//! The target graph and its scheduler.
//!
//! Targets form a DAG by their `deps` (targets whose outputs they read). The scheduler runs it in
//! a ready queue: every target whose dependencies are settled runs on a worker thread, decides fresh or
//! stale from its key parts — which include its dependencies' output digests of *this* run —
//! and, when stale, builds, publishes and only then records.

pub mod shard;

use crate::cache::{Cache, CacheError, LeaseGuard, TargetRecord};
use crate::keys::{outputs_digest, KeyParts, Parent, StaleReason};
use crate::storage::Store;
use crate::target::{BuildError, BuildIo, TargetId, TargetSpec};
use crate::EntityKind;
use serde::Serialize;
use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::time::Instant;

/// What the scheduler is asked to do.
#[derive(Debug, Clone, Default)]
pub struct BuildOptions {
    /// Build only these kinds (others are used from the cache). `None`: every kind.
    pub only: Option<BTreeSet<EntityKind>>,
    /// Build only the targets that write metadata JSON alone ([`TargetSpec::metadata`]).
    pub metadata_only: bool,
    /// Run only the targets with these ids (a shard's share). `None`: every target.
    pub ids: Option<BTreeSet<TargetId>>,
    /// Rebuild every selected target.
    pub force: bool,
    /// Decide only; write nothing.
    pub dry_run: bool,
    /// Worker threads.
    pub jobs: usize,
}

impl BuildOptions {
    /// Whether a target is in this run's selection (`--only`, `--metadata-only`, the shard).
    pub fn selects(&self, t: &TargetSpec) -> bool {
        self.only.as_ref().is_none_or(|o| o.contains(&t.kind))
            && (!self.metadata_only || t.metadata)
            && self.ids.as_ref().is_none_or(|ids| ids.contains(&t.id))
    }
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

/// Why a target failed, typed for callers and for the JSON report; `reasons` holds the same
/// as text.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "cause", rename_all = "snake_case")]
pub enum Failure {
    /// A planned dependency failed, so its outputs cannot be read.
    Dependency {
        /// The dependency's id.
        id: TargetId,
    },
    /// Its dependencies form a cycle (planning rejects these; a guard).
    Cycle,
    /// The cache could not be read or written, or the target not claimed.
    Cache {
        /// What failed, naming the cache and whose record.
        message: String,
    },
    /// The build step or the publishing of its outputs failed.
    Build {
        /// Which part failed ([`BuildError::category`]): `storage`, `format`, `mrc`, ….
        category: &'static str,
        /// The error, naming the file and field.
        message: String,
    },
}

impl Failure {
    fn cache(message: String) -> Failure {
        Failure::Cache { message }
    }
}

impl std::fmt::Display for Failure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Failure::Dependency { id } => write!(f, "dependency {id} failed"),
            Failure::Cycle => write!(f, "error: its dependencies form a cycle"),
            Failure::Cache { message } => write!(f, "{message}"),
            Failure::Build { message, .. } => write!(f, "error: {message}"),
        }
    }
}

impl From<BuildError> for Failure {
    fn from(e: BuildError) -> Failure {
        Failure::Build {
            category: e.category(),
            message: e.to_string(),
        }
    }
}

/// One line of the report.
#[derive(Debug, Clone, Serialize)]
pub struct Outcome {
    /// Target id.
    pub id: TargetId,
    /// Target kind.
    pub kind: EntityKind,
    /// What happened.
    pub status: Status,
    /// Why it was (or would be) built, or why it failed.
    pub reasons: Vec<String>,
    /// Typed reasons, for `explain`.
    #[serde(skip)]
    pub stale: Vec<StaleReason>,
    /// Why it failed (status `failed` only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub failure: Option<Failure>,
    /// Wall time spent on it.
    pub seconds: f64,
}

#[derive(Clone)]
enum Settled {
    Digest(String),
    Pending,
    Failed,
}

/// A target graph that cannot be run: a cycle, or a dependency on a target that is neither
/// planned nor buildable elsewhere.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum GraphError {
    /// Targets that (transitively) depend on themselves, in cycle order.
    #[error("dependency cycle: {}", .0.iter().map(|id| id.as_str()).collect::<Vec<_>>().join(" → "))]
    Cycle(Vec<TargetId>),
}

/// Checks that the dependencies form a DAG; a cycle is named target by target.
///
/// # Errors
/// [`GraphError::Cycle`] with the ids along one cycle.
pub fn check_acyclic(targets: &[TargetSpec]) -> Result<(), GraphError> {
    let graph = DepGraph::new(targets);
    let mut remaining = graph.blocking.clone();
    let mut ready: Vec<usize> = (0..targets.len()).filter(|&i| remaining[i] == 0).collect();
    let mut done = 0;
    while let Some(i) = ready.pop() {
        done += 1;
        for &d in &graph.dependents[i] {
            remaining[d] -= 1;
            if remaining[d] == 0 {
                ready.push(d);
            }
        }
    }
    if done == targets.len() {
        return Ok(());
    }
    // Walk from a blocked target along blocked dependencies until one repeats.
    let index = graph.index;
    let mut path: Vec<usize> = Vec::new();
    let mut cur = (0..targets.len())
        .find(|&i| remaining[i] > 0)
        .expect("a blocked target");
    while !path.contains(&cur) {
        path.push(cur);
        cur = targets[cur]
            .deps
            .iter()
            .filter_map(|d| index.get(d.as_str()).copied())
            .find(|&j| remaining[j] > 0)
            .expect("a blocked target has a blocked dependency");
    }
    let from = path.iter().position(|&i| i == cur).expect("on the path");
    let mut ids: Vec<TargetId> = path[from..]
        .iter()
        .map(|&i| targets[i].id.clone())
        .collect();
    ids.push(targets[cur].id.clone());
    Err(GraphError::Cycle(ids))
}

/// Dependency edges by index: the planned dependencies of each target (a dependency that is
/// not planned is read from the cache), and the reverse edges.
struct DepGraph<'a> {
    index: HashMap<&'a str, usize>,
    /// How many planned dependencies each target waits for.
    blocking: Vec<usize>,
    /// Targets that wait for each target.
    dependents: Vec<Vec<usize>>,
}

impl<'a> DepGraph<'a> {
    fn new(targets: &'a [TargetSpec]) -> Self {
        let index: HashMap<&str, usize> = targets
            .iter()
            .enumerate()
            .map(|(i, t)| (t.id.as_str(), i))
            .collect();
        let mut blocking = vec![0; targets.len()];
        let mut dependents = vec![Vec::new(); targets.len()];
        for (i, t) in targets.iter().enumerate() {
            let deps: BTreeSet<usize> = t
                .deps
                .iter()
                .filter_map(|d| index.get(d.as_str()).copied())
                .collect();
            blocking[i] = deps.len();
            for j in deps {
                dependents[j].push(i);
            }
        }
        Self {
            index,
            blocking,
            dependents,
        }
    }
}

/// Today's key parts of a target, given the digests its dependencies settled on.
fn key_parts(
    t: &TargetSpec,
    settled: &HashMap<TargetId, Settled>,
    cache: &dyn Cache,
) -> Result<KeyParts, Failure> {
    // `settled` holds exactly this target's planned dependencies, all finished.
    let mut parents = BTreeMap::new();
    for d in &t.deps {
        let parent = match settled.get(d) {
            Some(Settled::Digest(s)) => Parent::Built(s.clone()),
            Some(Settled::Pending) => Parent::Pending,
            Some(Settled::Failed) => return Err(Failure::Dependency { id: d.clone() }),
            None => recorded_parent(d, cache)?,
        };
        parents.insert(d.to_string(), parent);
    }
    Ok(KeyParts::new(
        t.kind,
        t.config.clone(),
        t.sources.clone(),
        parents,
    ))
}

/// The state of a dependency this run does not settle, from its record. A record that cannot
/// be read fails the dependent: keying it on "not built" would be a guess.
fn recorded_parent(d: &TargetId, cache: &dyn Cache) -> Result<Parent, Failure> {
    match cache.get(d) {
        Ok(Some(r)) => Ok(Parent::Built(r.output_digest)),
        Ok(None) => Ok(Parent::NotBuilt),
        Err(e) => Err(unreadable(&format!("dependency {d}"), cache, &e)),
    }
}

/// A failed cache read, naming the cache and whose record it is.
fn unreadable(whose: &str, cache: &dyn Cache, e: &CacheError) -> Failure {
    Failure::cache(match e {
        // The backend's error names the cache already.
        CacheError::Backend { .. } => format!("error: the record of {whose} cannot be read: {e}"),
        CacheError::Corrupt { reason, .. } => format!(
            "error: the record of {whose} in the cache {} is unreadable: {reason}",
            cache.location()
        ),
    })
}

/// The record that decides target `id`: today's key's, else its latest (which says why it is
/// stale). A damaged record is rebuilt over, with a warning; a cache that cannot be read fails
/// the target.
fn lookup_record(
    id: &TargetId,
    key: &str,
    cache: &dyn Cache,
) -> Result<Option<TargetRecord>, Failure> {
    let found = cache.get_for_key(id, key).and_then(|r| match r {
        Some(r) => Ok(Some(r)),
        None => cache.get(id),
    });
    match found {
        Ok(r) => Ok(r),
        Err(e @ CacheError::Corrupt { .. }) => {
            tracing::warn!("{e}; rebuilding");
            Ok(None)
        }
        Err(e) => Err(unreadable(id, cache, &e)),
    }
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
                        reasons.push(StaleReason::OutputMissing {
                            key: o.key.to_string(),
                        });
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
///
/// Scheduling is a ready queue: a target starts as soon as its own planned dependencies have
/// settled, so one slow volume holds back only what reads it. Targets caught in a dependency
/// cycle (which planning rejects with [`check_acyclic`]) never become ready and fail.
pub fn execute(
    targets: &[TargetSpec],
    cache: &dyn Cache,
    input: &Store,
    output: &Store,
    opts: &BuildOptions,
    on_done: &(dyn Fn(&Outcome) + Sync),
) -> Vec<Outcome> {
    let graph = DepGraph::new(targets);
    let run = Run {
        targets,
        graph: &graph,
        cache,
        input,
        output,
        opts,
        on_done,
        remaining: graph
            .blocking
            .iter()
            .map(|&n| std::sync::atomic::AtomicUsize::new(n))
            .collect(),
        settled: std::sync::Mutex::new(HashMap::new()),
        outcomes: std::sync::Mutex::new(vec![None; targets.len()]),
        queue: std::sync::Mutex::new(Queue {
            ready: (0..targets.len())
                .filter(|&i| graph.blocking[i] == 0)
                .map(std::cmp::Reverse)
                .collect(),
            running: 0,
        }),
        wake: std::sync::Condvar::new(),
    };
    std::thread::scope(|scope| {
        for _ in 0..opts.jobs.max(1) {
            scope.spawn(|| run.work());
        }
    });
    let mut outcomes = run
        .outcomes
        .into_inner()
        .expect("no panic while holding the lock");
    for (i, t) in targets.iter().enumerate() {
        if outcomes[i].is_none() && run.remaining[i].load(std::sync::atomic::Ordering::SeqCst) > 0 {
            outcomes[i] = Some(Outcome {
                id: t.id.clone(),
                kind: t.kind,
                status: Status::Failed,
                reasons: vec![Failure::Cycle.to_string()],
                stale: vec![],
                failure: Some(Failure::Cycle),
                seconds: 0.0,
            });
        }
    }
    outcomes.into_iter().flatten().collect()
}

/// The shared state of one [`execute`].
struct Run<'a> {
    targets: &'a [TargetSpec],
    graph: &'a DepGraph<'a>,
    cache: &'a dyn Cache,
    input: &'a Store,
    output: &'a Store,
    opts: &'a BuildOptions,
    on_done: &'a (dyn Fn(&Outcome) + Sync),
    /// Planned dependencies each target still waits for.
    remaining: Vec<std::sync::atomic::AtomicUsize>,
    settled: std::sync::Mutex<HashMap<TargetId, Settled>>,
    outcomes: std::sync::Mutex<Vec<Option<Outcome>>>,
    queue: std::sync::Mutex<Queue>,
    wake: std::sync::Condvar,
}

/// Ready targets, lowest plan index first, and how many are running.
struct Queue {
    ready: std::collections::BinaryHeap<std::cmp::Reverse<usize>>,
    running: usize,
}

impl Run<'_> {
    /// A worker: takes the ready target planned first until nothing is ready or running.
    /// Plan order is discovery order, so entities publish roughly in ID order: a build killed
    /// half-way leaves metadata for the lower IDs, which the next build's ID seeding maps back
    /// to the same entities.
    fn work(&self) {
        loop {
            let next = {
                let mut q = self.queue.lock().expect("queue lock");
                loop {
                    if let Some(std::cmp::Reverse(i)) = q.ready.pop() {
                        q.running += 1;
                        break Some(i);
                    }
                    if q.running == 0 {
                        break None;
                    }
                    q = self.wake.wait(q).expect("queue lock");
                }
            };
            let Some(i) = next else {
                self.wake.notify_all();
                return;
            };
            self.run_target(i);
            let mut q = self.queue.lock().expect("queue lock");
            q.running -= 1;
            for &d in &self.graph.dependents[i] {
                if self.remaining[d].fetch_sub(1, std::sync::atomic::Ordering::SeqCst) == 1 {
                    q.ready.push(std::cmp::Reverse(d));
                }
            }
            drop(q);
            self.wake.notify_all();
        }
    }

    /// Runs target `i`, whose planned dependencies have all settled.
    fn run_target(&self, i: usize) {
        let t = &self.targets[i];
        if !self.opts.selects(t) {
            return;
        }
        let deps: HashMap<TargetId, Settled> = {
            let settled = self.settled.lock().expect("settled lock");
            t.deps
                .iter()
                .filter_map(|d| settled.get(d).map(|s| (d.clone(), s.clone())))
                .collect()
        };
        let (o, s) = run_one(t, &deps, self.cache, self.input, self.output, self.opts);
        (self.on_done)(&o);
        self.settled
            .lock()
            .expect("settled lock")
            .insert(t.id.clone(), s);
        self.outcomes.lock().expect("outcomes lock")[i] = Some(o);
    }
}

fn run_one(
    t: &TargetSpec,
    settled: &HashMap<TargetId, Settled>,
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
        failure: None,
        seconds: start.elapsed().as_secs_f64(),
    };
    // A failure: the lines so far, then the failure's own line.
    let failed = |mut lines: Vec<String>, stale: Vec<StaleReason>, failure: Failure| {
        lines.push(failure.to_string());
        let o = Outcome {
            failure: Some(failure),
            ..outcome(Status::Failed, lines, stale)
        };
        (o, Settled::Failed)
    };
    let parts = match key_parts(t, settled, cache) {
        Ok(p) => p,
        Err(e) => return failed(vec![], vec![], e),
    };
    let key = parts.key().to_hex().to_string();
    // The record of today's key answers "fresh" in one lookup; the latest record of the
    // target, whatever its key, says why not.
    let record = match lookup_record(&t.id, &key, cache) {
        Ok(r) => r,
        Err(e) => return failed(vec![], vec![], e),
    };
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
    let claim = cache
        .shared()
        .map_or_else(|| Ok(LeaseGuard::default()), |s| s.acquire(&t.id));
    let _lease = match claim {
        Ok(lease) => lease,
        Err(e) => {
            let failure = Failure::cache(format!("error: cannot claim the target: {e}"));
            return failed(lines, reasons, failure);
        }
    };
    // Another worker may have built it while this one waited for the claim.
    if !opts.force {
        let built = match cache.get_for_key(&t.id, &key) {
            Ok(r) => r,
            // Damaged: rebuilt over (the first lookup warned).
            Err(CacheError::Corrupt { .. }) => None,
            Err(e) => return failed(lines, reasons, unreadable(&t.id, cache, &e)),
        };
        if let Some(r) = built {
            if let (none, Some(d)) = decide(&parts, Some(&r), output, false) {
                debug_assert!(none.is_empty());
                let lines = vec!["built by another worker".to_string()];
                return (outcome(Status::Fresh, lines, vec![]), Settled::Digest(d));
            }
        }
    }
    match build(t, &parts, cache, input, output) {
        Ok(d) => (outcome(Status::Built, lines, reasons), Settled::Digest(d)),
        Err(e) => failed(lines, reasons, e),
    }
}

/// Builds, publishes, then records: a record exists only for outputs that are all in place.
fn build(
    t: &TargetSpec,
    parts: &KeyParts,
    cache: &dyn Cache,
    input: &Store,
    output: &Store,
) -> Result<String, Failure> {
    let mut io = BuildIo::new(input, output, &t.sources, now_secs())?;
    (t.action)(&mut io)?;
    let outputs = io.publish()?;
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
    cache
        .put(&record)
        .map_err(|e| Failure::cache(format!("error: {e}")))?;
    Ok(digest)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::target::Action;
    use std::sync::Arc;

    fn id_of(id: &str) -> TargetId {
        TargetId::new(id).unwrap()
    }

    fn t(id: &str, deps: &[&str]) -> TargetSpec {
        TargetSpec {
            id: id_of(id),
            kind: EntityKind::Run,
            config: serde_json::Value::Null,
            sources: vec![],
            deps: deps.iter().map(|d| id_of(d)).collect(),
            metadata: false,
            action: Arc::new(|_| Ok(())),
        }
    }

    #[test]
    fn cycles_are_named_target_by_target() {
        let targets = vec![t("a", &["c"]), t("b", &[]), t("c", &["b"]), t("d", &["x"])];
        assert_eq!(check_acyclic(&targets), Ok(()));
        let targets = vec![t("a", &["c"]), t("b", &["a"]), t("c", &["b"]), t("d", &[])];
        let err = check_acyclic(&targets).unwrap_err();
        let GraphError::Cycle(ids) = &err;
        assert_eq!(ids.first(), ids.last());
        assert_eq!(ids.len(), 4, "{err}");
        for id in ["a", "b", "c"] {
            assert!(ids.iter().any(|i| i == id), "{err}");
        }
    }

    /// A real sled cache in a temporary folder, and a folder store beside it.
    fn sled_and_store() -> (tempfile::TempDir, crate::cache::SledCache, Store) {
        let dir = tempfile::tempdir().unwrap();
        let cache = crate::cache::SledCache::open(&dir.path().join("cache")).unwrap();
        let root = dir.path().join("out");
        std::fs::create_dir_all(&root).unwrap();
        let store = Store::open(root.to_str().unwrap(), None, true).unwrap();
        (dir, cache, store)
    }

    #[test]
    fn a_target_starts_when_its_own_dependencies_are_done() {
        // `slow` and `fast` are independent; `after_fast` needs only `fast`. With a ready queue
        // `after_fast` finishes while `slow` still runs (with waves it would wait for `slow`).
        let order = Arc::new(std::sync::Mutex::new(Vec::<String>::new()));
        let step = |id: &'static str, pause_ms: u64, order: Arc<std::sync::Mutex<Vec<String>>>| {
            let action: Action = Arc::new(move |_| {
                std::thread::sleep(std::time::Duration::from_millis(pause_ms));
                order.lock().unwrap().push(id.to_string());
                Ok(())
            });
            action
        };
        let mut targets = vec![t("slow", &[]), t("fast", &[]), t("after_fast", &["fast"])];
        targets[0].action = step("slow", 600, order.clone());
        targets[1].action = step("fast", 10, order.clone());
        targets[2].action = step("after_fast", 10, order.clone());
        let (_dir, cache, store) = sled_and_store();
        let opts = BuildOptions {
            jobs: 2,
            ..Default::default()
        };
        let outcomes = execute(&targets, &cache, &store, &store, &opts, &|_| {});
        assert!(
            outcomes.iter().all(|o| o.status == Status::Built),
            "{outcomes:?}"
        );
        assert_eq!(*order.lock().unwrap(), ["fast", "after_fast", "slow"]);
    }

    #[test]
    fn targets_in_a_cycle_fail_instead_of_hanging() {
        let targets = vec![t("a", &["b"]), t("b", &["a"]), t("c", &[])];
        let (_dir, cache, store) = sled_and_store();
        let opts = BuildOptions {
            jobs: 2,
            ..Default::default()
        };
        let outcomes = execute(&targets, &cache, &store, &store, &opts, &|_| {});
        let status: BTreeMap<_, _> = outcomes.iter().map(|o| (o.id.as_str(), o.status)).collect();
        assert_eq!(status["a"], Status::Failed);
        assert_eq!(status["b"], Status::Failed);
        assert_eq!(status["c"], Status::Built);
        let a = outcomes.iter().find(|o| o.id == "a").expect("reported");
        assert_eq!(a.failure, Some(Failure::Cycle));
    }

    #[test]
    fn failures_are_typed_by_cause() {
        let mut targets = vec![t("bad", &[]), t("after", &["bad"])];
        targets[0].action = Arc::new(|_| {
            Err(BuildError::Format(crate::formats::FormatError::value(
                "dose_rate",
                "expected a number",
            )))
        });
        let (_dir, cache, store) = sled_and_store();
        let outcomes = execute(
            &targets,
            &cache,
            &store,
            &store,
            &BuildOptions::default(),
            &|_| {},
        );
        let failure = |id: &str| {
            let o = outcomes.iter().find(|o| o.id == id).expect("reported");
            (o.failure.clone(), o.reasons.last().cloned())
        };
        let (bad, line) = failure("bad");
        let Some(Failure::Build { category, message }) = bad else {
            panic!("{bad:?}")
        };
        assert_eq!(category, "format");
        assert_eq!(line, Some(format!("error: {message}")));
        assert!(message.contains("dose_rate"), "{message}");
        let (after, line) = failure("after");
        assert_eq!(after, Some(Failure::Dependency { id: id_of("bad") }));
        assert_eq!(line.as_deref(), Some("dependency bad failed"));
    }

    #[test]
    fn an_unreadable_parent_record_fails_the_dependent_naming_cache_and_parent() {
        let (dir, cache, store) = sled_and_store();
        let opts = BuildOptions {
            jobs: 1,
            ..Default::default()
        };
        let first = execute(&[t("parent", &[])], &cache, &store, &store, &opts, &|_| {});
        assert_eq!(first[0].status, Status::Built, "{first:?}");
        cache.flush().unwrap();
        let location = cache.location();
        drop(cache);
        // Damage the record in the database itself, as a torn write or another tool would.
        {
            let db = sled::open(dir.path().join("cache")).unwrap();
            let targets = db.open_tree("targets/v1").unwrap();
            targets
                .insert("parent", b"{\"id\": \"par".to_vec())
                .unwrap();
            db.flush().unwrap();
        }
        let cache = crate::cache::SledCache::open(&dir.path().join("cache")).unwrap();
        // `child` reads `parent`, which this run does not plan: its state comes from the record.
        let outcomes = execute(
            &[t("child", &["parent"])],
            &cache,
            &store,
            &store,
            &opts,
            &|_| {},
        );
        assert_eq!(outcomes[0].status, Status::Failed, "{outcomes:?}");
        let text = outcomes[0].reasons.join("\n");
        assert!(text.contains("dependency parent"), "{text}");
        assert!(text.contains(&location), "{text}");
        assert!(text.contains("unreadable"), "{text}");
        assert_eq!(
            cache.get(&id_of("child")).unwrap(),
            None,
            "a failed target has no record"
        );
    }

    #[test]
    fn parents_are_keyed_by_state_not_by_words() {
        let cache = crate::cache::MemoryCache::new();
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path().to_str().unwrap(), None, true).unwrap();
        let opts = BuildOptions {
            jobs: 1,
            ..Default::default()
        };
        // `gone` is neither planned nor recorded; `p` is built in this run.
        let targets = vec![t("p", &[]), t("c", &["p", "gone"])];
        let outcomes = execute(&targets, &cache, &store, &store, &opts, &|_| {});
        assert!(
            outcomes.iter().all(|o| o.status == Status::Built),
            "{outcomes:?}"
        );
        let p = cache.get(&id_of("p")).unwrap().unwrap();
        let c = cache.get(&id_of("c")).unwrap().unwrap();
        assert_eq!(c.parts.parents["p"], Parent::Built(p.output_digest));
        assert_eq!(c.parts.parents["gone"], Parent::NotBuilt);
        // A dry run after a forced change of `p` would rebuild it: `c` sees it pending.
        let mut changed = targets.clone();
        changed[0].config = serde_json::json!({"edited": true});
        let dry = BuildOptions {
            dry_run: true,
            ..opts
        };
        let outcomes = execute(&changed, &cache, &store, &store, &dry, &|_| {});
        let c = outcomes.iter().find(|o| o.id == "c").unwrap();
        assert_eq!(c.status, Status::WouldBuild);
        assert_eq!(
            c.reasons,
            vec![format!(
                "parent p will rebuild (output {} may change)",
                &cache.get(&id_of("p")).unwrap().unwrap().output_digest[..12]
            )]
        );
    }
}
