//! S3 input, output and shared cache against a real S3-compatible server: moto's server from
//! the test venv, started on 127.0.0.1 by each test (so a test may pause or kill it). The test
//! side reads and writes buckets with boto3 (`tests/python/s3_tool.py`), not with our code.

use crate::common::{ids_with, run, venv_bin, Deposition, Run};
use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

/// A moto server on a free port of 127.0.0.1, killed on drop.
pub struct Moto {
    child: Child,
    pub endpoint: String,
}

impl Moto {
    pub fn start() -> Moto {
        let (child, endpoint) = crate::common::moto_server::start(&venv_bin("moto_server"));
        let moto = Moto { child, endpoint };
        for bucket in ["input", "out", "cache"] {
            moto.tool(&["mkbucket", bucket]);
        }
        moto
    }

    /// Runs `s3_tool.py ENDPOINT args…` and returns its stdout.
    pub(crate) fn tool(&self, args: &[&str]) -> String {
        let endpoint = [self.endpoint.as_str()];
        crate::common::python_script("s3_tool.py", endpoint.iter().chain(args))
    }

    /// Sends `signal` (`STOP`, `CONT`) to the server process, with kill(1).
    fn signal(&self, signal: &str) {
        let status = Command::new("kill")
            .args(["-s", signal, &self.child.id().to_string()])
            .status()
            .unwrap();
        assert!(status.success(), "kill -s {signal}");
    }

    /// An `ingest` command talking to this server with test credentials.
    fn ingest(&self, args: &[&str]) -> Command {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_ingest"));
        cmd.args(args)
            .env("AWS_ACCESS_KEY_ID", "testing")
            .env("AWS_SECRET_ACCESS_KEY", "testing")
            .env("AWS_REGION", "us-east-1")
            .env("AWS_ENDPOINT_URL", &self.endpoint)
            .env_remove("AWS_PROFILE");
        cmd
    }

    /// Downloads `s3://out/<prefix>` into a new folder of `d`.
    pub fn download(&self, url: &str, to: &Path) {
        self.tool(&["download", url, to.to_str().unwrap()]);
    }
}

impl Drop for Moto {
    fn drop(&mut self) {
        self.signal("CONT");
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A deposition whose INPUT is also uploaded to `s3://input` (the bucket its key photos name).
pub fn s3_deposition(moto: &Moto) -> Deposition {
    let d = Deposition::new();
    moto.tool(&["upload", d.input().to_str().unwrap(), "s3://input"]);
    d
}

/// `ingest build CONFIG s3://input s3://out/o --cache s3://cache/c` plus `extra`, with a
/// report at `report`.
fn s3_build_cmd(moto: &Moto, d: &Deposition, report: &Path, extra: &[&str]) -> Command {
    let config = d.config();
    let mut args = vec![
        "build",
        config.to_str().unwrap(),
        "s3://input",
        "s3://out/o",
        "--cache",
        "s3://cache/c",
        "--report",
        report.to_str().unwrap(),
    ];
    args.extend_from_slice(extra);
    let mut cmd = moto.ingest(&args);
    // This test's own machine-local memo (records read, local fingerprints).
    cmd.env("XDG_CACHE_HOME", d.path("xdg"))
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    cmd
}

/// Spawns a build and returns once it has finished `n` targets (its "built" lines on stderr),
/// with the child and a thread collecting the rest of its stderr.
fn spawn_until_built(mut cmd: Command, n: usize) -> (Child, std::thread::JoinHandle<String>) {
    use std::io::BufRead;
    let mut child = cmd.spawn().unwrap();
    let mut lines = std::io::BufReader::new(child.stderr.take().unwrap()).lines();
    let mut seen = String::new();
    let mut built = 0;
    while built < n {
        let Some(line) = lines.next() else {
            panic!("the build ended after {built} targets:\n{seen}");
        };
        let line = line.unwrap();
        built += usize::from(line.starts_with("built "));
        seen.push_str(&line);
        seen.push('\n');
    }
    let rest = std::thread::spawn(move || {
        for line in lines.map_while(Result::ok) {
            seen.push_str(&line);
            seen.push('\n');
        }
        seen
    });
    (child, rest)
}

fn s3_build(moto: &Moto, d: &Deposition, name: &str, extra: &[&str]) -> (Run, serde_json::Value) {
    let report = d.path(name);
    let out = run(s3_build_cmd(moto, d, &report, extra));
    let json = std::fs::read(&report)
        .ok()
        .and_then(|b| serde_json::from_slice(&b).ok())
        .unwrap_or(serde_json::Value::Null);
    (out, json)
}

/// Every file under `root`, relative path → bytes.
fn files(root: &Path) -> BTreeMap<PathBuf, Vec<u8>> {
    crate::common::snapshot(root)
        .into_iter()
        .map(|(p, (_, bytes))| (p, bytes))
        .collect()
}

/// Compares two output trees entry by entry: the same files; JSON equal once parsed, without
/// `last_updated_at`; MRC equal but for the header labels (which carry the build time); every
/// other file byte for byte.
pub fn assert_same_tree(a: &Path, b: &Path) {
    let (fa, fb) = (files(a), files(b));
    let (ka, kb): (BTreeSet<_>, BTreeSet<_>) = (fa.keys().collect(), fb.keys().collect());
    let only_a: Vec<_> = ka.difference(&kb).collect();
    let only_b: Vec<_> = kb.difference(&ka).collect();
    assert!(
        only_a.is_empty() && only_b.is_empty(),
        "only in {}: {only_a:?}\nonly in {}: {only_b:?}",
        a.display(),
        b.display()
    );
    assert!(!fa.is_empty(), "{} is empty", a.display());
    for (path, x) in &fa {
        let y = &fb[path];
        let ext = path.extension().and_then(|e| e.to_str()).unwrap_or("");
        match ext {
            "json" => {
                let parse = |bytes: &[u8]| {
                    let mut v: serde_json::Value = serde_json::from_slice(bytes).unwrap();
                    if let Some(o) = v.as_object_mut() {
                        o.remove("last_updated_at");
                    }
                    v
                };
                assert_eq!(parse(x), parse(y), "{}", path.display());
            }
            "mrc" => {
                assert_eq!(x.len(), y.len(), "{}", path.display());
                assert!(
                    x[..224] == y[..224] && x[1024..] == y[1024..],
                    "{} differs outside its labels",
                    path.display()
                );
            }
            _ => assert!(x == y, "{} differs", path.display()),
        }
    }
}

/// The same deposition built between folders: the reference tree.
fn folder_build(d: &Deposition) -> PathBuf {
    let (r, _) = d.build(&[]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    d.output()
}

fn summary(report: &serde_json::Value, field: &str) -> u64 {
    report["summary"][field].as_u64().unwrap()
}

#[test]
fn s3_build_equals_folder_build_and_rerun_writes_nothing() {
    let moto = Moto::start();
    let d = s3_deposition(&moto);
    let (r, report) = s3_build(&moto, &d, "r1.json", &[]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let built = summary(&report, "built");
    assert!(built > 40, "{report}");
    assert!(report["s3_requests"]["PUT"].as_u64().unwrap() > 0);

    let downloaded = d.path("downloaded");
    moto.download("s3://out/o", &downloaded);
    assert_same_tree(&downloaded, &folder_build(&d));
    // Content types by extension, as the portal serves them to browsers.
    for (key, ctype) in [
        ("19999/dataset_metadata.json", "application/json"),
        ("19999/Images/snapshot.png", "image/png"),
    ] {
        let found = moto.tool(&["ctype", &format!("s3://out/o/{key}")]);
        assert_eq!(found.trim(), ctype, "{key}");
    }

    let (r, report) = s3_build(&moto, &d, "r2.json", &[]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert_eq!(summary(&report, "built"), 0, "{report}");
    assert_eq!(summary(&report, "fresh"), built);
    let requests = &report["s3_requests"];
    assert_eq!(
        requests["PUT"], 0,
        "an unchanged re-run writes nothing: {requests}"
    );
    assert_eq!(requests["POST"], 0, "{requests}");
    assert_eq!(requests["DELETE"], 0, "{requests}");
}

#[test]
fn three_shards_on_one_output_build_each_target_once() {
    let moto = Moto::start();
    let d = s3_deposition(&moto);
    let workers: Vec<(Child, PathBuf)> = (0..3)
        .map(|i| {
            let report = d.path(&format!("shard{i}.json"));
            let shard = format!("{i}/3");
            let child = s3_build_cmd(&moto, &d, &report, &["--shard", &shard, "--jobs", "1"])
                .spawn()
                .unwrap();
            (child, report)
        })
        .collect();
    let mut built_by: BTreeMap<String, usize> = BTreeMap::new();
    for (i, (child, report)) in workers.into_iter().enumerate() {
        let out = child.wait_with_output().unwrap();
        assert!(
            out.status.success(),
            "shard {i}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let report: serde_json::Value =
            serde_json::from_slice(&std::fs::read(report).unwrap()).unwrap();
        assert_eq!(report["shard"], format!("{i}/3"));
        for id in ids_with(&report, "built") {
            *built_by.entry(id).or_default() += 1;
        }
    }
    let twice: Vec<_> = built_by.iter().filter(|(_, n)| **n > 1).collect();
    assert!(twice.is_empty(), "built by more than one worker: {twice:?}");

    // One worker alone builds exactly the same set of targets.
    let (r, single) = d.build(&["--dry-run"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let all: BTreeSet<String> = ids_with(&single, "would_build").into_iter().collect();
    assert_eq!(built_by.keys().cloned().collect::<BTreeSet<_>>(), all);

    let downloaded = d.path("downloaded");
    moto.download("s3://out/o", &downloaded);
    assert_same_tree(&downloaded, &folder_build(&d));
    assert_eq!(
        moto.tool(&["count", "s3://cache/c/v1/leases"]).trim(),
        "0",
        "every lease is released"
    );
}

#[test]
fn killed_worker_then_rerun_completes_with_a_clean_tree() {
    let moto = Moto::start();
    let d = s3_deposition(&moto);
    let lease = ["--lease-ttl", "3", "--jobs", "1"];
    // Kill it once it has published part of the deposition: after its tenth finished target,
    // while the next ones are in flight.
    let (mut child, _) =
        spawn_until_built(s3_build_cmd(&moto, &d, &d.path("killed.json"), &lease), 10);
    child.kill().unwrap(); // SIGKILL
    child.wait().unwrap();

    let (r, report) = s3_build(&moto, &d, "rerun.json", &lease);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(summary(&report, "built") > 0, "{report}");
    assert!(summary(&report, "fresh") > 0, "{report}");
    let downloaded = d.path("downloaded");
    moto.download("s3://out/o", &downloaded);
    assert_same_tree(&downloaded, &folder_build(&d));
}

#[test]
fn paused_server_is_retried_or_fails_cleanly_then_completes() {
    let moto = Moto::start();
    let d = s3_deposition(&moto);
    let pause = |seconds: u64| {
        moto.signal("STOP");
        std::thread::sleep(Duration::from_secs(seconds));
        moto.signal("CONT");
    };

    // Retried: requests time out after 1 s and retry for up to 60 s; the server is stopped 3 s.
    let retrying = ["--s3-request-timeout", "1", "--s3-retry-timeout", "60"];
    let cmd = s3_build_cmd(&moto, &d, &d.path("paused.json"), &retrying);
    let (mut child, stderr) = spawn_until_built(cmd, 5);
    pause(3);
    let status = child.wait().unwrap();
    assert!(status.success(), "{}", stderr.join().unwrap());

    // Failing: every target has a 1 s budget while the server is stopped for longer; those
    // that fail leave no record, so the next run builds exactly them. Their leases could not be
    // released either: a short lease lets the next run take them over soon.
    moto.tool(&["delete", "s3://out/o"]);
    moto.tool(&["delete", "s3://cache/c"]);
    let failing = [
        "--s3-request-timeout",
        "1",
        "--s3-retry-timeout",
        "1",
        "--lease-ttl",
        "3",
    ];
    let cmd = s3_build_cmd(&moto, &d, &d.path("failing.json"), &failing);
    let (mut child, stderr) = spawn_until_built(cmd, 5);
    // The server stays stopped until the build ends: every target still to finish must
    // publish to it, so the build cannot succeed however slow its CPU work is under load.
    moto.signal("STOP");
    let started = std::time::Instant::now();
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break Some(status);
        }
        if started.elapsed() > Duration::from_secs(180) {
            child.kill().unwrap();
            child.wait().unwrap();
            break None;
        }
        std::thread::sleep(Duration::from_millis(100));
    };
    moto.signal("CONT");
    let log = stderr.join().unwrap();
    let status = status.unwrap_or_else(|| panic!("the build did not end in 180 s:\n{log}"));
    assert_ne!(
        status.code(),
        Some(0),
        "the stopped server fails the build:\n{log}"
    );
    assert!(log.contains("FAILED"), "{log}");

    let (r, report) = s3_build(&moto, &d, "after.json", &[]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(summary(&report, "built") > 0, "{report}");
    let downloaded = d.path("downloaded");
    moto.download("s3://out/o", &downloaded);
    assert_same_tree(&downloaded, &folder_build(&d));
}

/// Credentials for in-process S3 clients (the same values in every test, set once).
pub(crate) fn in_process_credentials() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        std::env::set_var("AWS_ACCESS_KEY_ID", "testing");
        std::env::set_var("AWS_SECRET_ACCESS_KEY", "testing");
        std::env::set_var("AWS_REGION", "us-east-1");
    });
}

#[test]
fn object_replaced_between_plan_and_read_fails_its_target_without_a_record() {
    use cryoet_ingest::cli::plan::{load, StorageArgs};
    use cryoet_ingest::graph::{BuildOptions, Status};
    use cryoet_ingest::target::TargetId;
    in_process_credentials();
    let moto = Moto::start();
    let d = s3_deposition(&moto);
    let storage = StorageArgs {
        cache: Some("s3://cache/c".into()),
        endpoint_url: Some(moto.endpoint.clone()),
        s3_retry_timeout: 30,
        s3_request_timeout: 10,
        s3_part_size: 16,
        lease_ttl: 30,
        https_prefix: cryoet_ingest::entities::DEFAULT_HTTPS_PREFIX.into(),
    };
    let plan = load(
        &d.config(),
        "s3://input",
        "s3://out/o",
        &storage,
        &Default::default(),
        true,
        Default::default(),
    )
    .unwrap();

    // After the listing, replace a pick file and a tomogram (same sizes, other bytes).
    let replaced = [
        "demo_source/particles/TS_01_ribosomes.csv",
        "demo_source/tomograms/TS_01.mrc",
    ];
    for key in replaced {
        let local = d.input().join(key);
        let mut bytes = std::fs::read(&local).unwrap();
        let last = bytes.len() - 2;
        bytes[last] ^= 1;
        let other = d.path("replacement");
        std::fs::write(&other, &bytes).unwrap();
        moto.tool(&["put", other.to_str().unwrap(), &format!("s3://input/{key}")]);
    }

    let opts = BuildOptions {
        jobs: 2,
        ..Default::default()
    };
    let outcomes = plan.execute(&opts, &|_| {});
    let readers: BTreeSet<TargetId> = plan
        .targets
        .iter()
        .filter(|t| t.sources.iter().any(|s| replaced.contains(&s.key.as_str())))
        .map(|t| t.id.clone())
        .collect();
    // The pick file's annotation, the tomogram's volume and the alignment (reads its header).
    assert!(readers.len() >= 2, "{readers:?}");
    for o in &outcomes {
        if readers.contains(&o.id) {
            assert_eq!(o.status, Status::Failed, "{}: {:?}", o.id, o.reasons);
            let text = o.reasons.join("\n");
            assert!(text.contains("changed since it was listed"), "{text}");
            assert!(text.contains("s3://input/demo_source/"), "{text}");
            assert!(
                plan.cache.get(&o.id).unwrap().is_none(),
                "no record for {}",
                o.id
            );
            let published = moto.tool(&["count", &format!("s3://out/o/{}", o.id)]);
            assert_eq!(published.trim(), "0", "nothing published for {}", o.id);
        } else if o.status == Status::Failed {
            // Only dependents of the failed readers fail.
            assert!(o.reasons.iter().any(|r| r.contains("failed")), "{o:?}");
        }
    }
    assert!(outcomes.iter().any(|o| o.status == Status::Built));
}

#[test]
fn s3_cache_verify_and_gc_of_superseded_records() {
    let moto = Moto::start();
    let d = s3_deposition(&moto);
    assert_eq!(s3_build(&moto, &d, "r1.json", &[]).0.code, 0);
    d.edit_config("dose_rate: 1.5", "dose_rate: 2.5");
    let (r, report) = s3_build(&moto, &d, "r2.json", &[]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let rebuilt = ids_with(&report, "built").len();
    assert!(rebuilt > 0);
    let records = || -> usize {
        moto.tool(&["count", "s3://cache/c/v1/records"])
            .trim()
            .parse()
            .unwrap()
    };
    let before = records();

    let cache_cmd = |args: &[&str]| {
        let mut cmd = moto.ingest(&["cache"]);
        cmd.env("XDG_CACHE_HOME", d.path("xdg"));
        cmd.args(args).args(["--cache", "s3://cache/c"]);
        run(cmd)
    };
    let verify = cache_cmd(&["verify", "s3://out/o"]);
    assert_eq!(verify.code, 0, "{verify:?}");
    assert!(verify.stdout.contains(", 0 bad"), "{}", verify.stdout);

    let config = d.config();
    let gc_args = [
        "gc",
        "--config",
        config.to_str().unwrap(),
        "s3://input",
        "s3://out/o",
        "--older-than",
        "0",
    ];
    let gc = cache_cmd(&gc_args);
    assert_eq!(gc.code, 0, "{gc:?}");
    assert_eq!(
        gc.stdout.matches("superseded: ").count(),
        rebuilt,
        "{}",
        gc.stdout
    );
    assert_eq!(records(), before - rebuilt);
    let (r, report) = s3_build(&moto, &d, "r3.json", &[]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert_eq!(summary(&report, "built"), 0, "{report}");
}

#[test]
fn large_objects_go_multipart_and_read_back_in_ranges() {
    use cryoet_ingest::storage::ByteSource;
    use cryoet_ingest::storage::{S3Options, S3Store};
    in_process_credentials();
    let moto = Moto::start();
    let opts = S3Options {
        endpoint: Some(moto.endpoint.clone()),
        part_size: 5 << 20,
        ..S3Options::default()
    };
    let store = S3Store::open("s3://out/big", &opts, false).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let bytes: Vec<u8> = (0..12u32 << 20)
        .map(|i| (i.wrapping_mul(2654435761) >> 13) as u8)
        .collect();
    std::fs::create_dir_all(dir.path().join("v.zarr/0")).unwrap();
    std::fs::write(dir.path().join("v.zarr/0/0"), &bytes).unwrap();
    std::fs::write(dir.path().join("v.zarr/.zattrs"), b"{}").unwrap();
    store.publish(dir.path(), "v.zarr").unwrap();

    // 12 MiB in 5 MiB parts: a multipart object of 3 parts (its ETag says so), intact.
    let etag = moto.tool(&["etag", "s3://out/big/v.zarr/0/0"]);
    assert!(etag.trim().trim_matches('"').ends_with("-3"), "{etag}");
    let back = dir.path().join("back");
    moto.download("s3://out/big", &back);
    assert!(std::fs::read(back.join("v.zarr/0/0")).unwrap() == bytes);

    // Ranged reads across the 8 MiB read-ahead blocks, conditional on the listed ETag.
    let info = store.list_live("v.zarr/0").unwrap().remove(0);
    let object = store.open_ranged(Some(&info), &info.key).unwrap();
    assert_eq!(object.len(), bytes.len() as u64);
    for (offset, len) in [
        (0usize, 100usize),
        ((8 << 20) - 10, 20),
        ((12 << 20) - 7, 7),
    ] {
        let mut buf = vec![0u8; len];
        object.read_at(offset as u64, &mut buf).unwrap();
        assert_eq!(buf, bytes[offset..offset + len]);
    }
    let mut past = [0u8; 8];
    assert!(object.read_at(12 << 20, &mut past).is_err());

    // Republishing the folder without a file deletes the stale object.
    std::fs::remove_file(dir.path().join("v.zarr/0/0")).unwrap();
    store.publish(dir.path(), "v.zarr").unwrap();
    assert_eq!(moto.tool(&["count", "s3://out/big/v.zarr"]).trim(), "1");
}

#[test]
fn a_missing_bucket_fails_naming_the_bucket_and_key() {
    let moto = Moto::start();
    let d = s3_deposition(&moto);
    let config = d.config();
    let report = d.path("r.json");
    let cache = d.path("cache");
    let args = [
        "build",
        config.to_str().unwrap(),
        "s3://input",
        "s3://no-such-bucket/o",
        "--cache",
        cache.to_str().unwrap(),
        "--report",
        report.to_str().unwrap(),
        "--s3-retry-timeout",
        "2",
    ];
    let r = run(moto.ingest(&args));
    assert_ne!(r.code, 0, "{r:?}");
    let text = format!("{}{}", r.stdout, r.stderr);
    assert!(text.contains("s3://no-such-bucket/o/"), "{text}");
    // Nothing was recorded: the same build to an existing bucket builds everything.
    let args_ok: Vec<&str> = args
        .iter()
        .map(|a| {
            if *a == "s3://no-such-bucket/o" {
                "s3://out/o"
            } else {
                a
            }
        })
        .collect();
    let r = run(moto.ingest(&args_ok));
    assert_eq!(r.code, 0, "{r:?}");
    let report: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&report).unwrap()).unwrap();
    assert_eq!(summary(&report, "fresh"), 0, "{report}");
}

#[test]
fn an_ome_zarr_source_is_read_from_s3() {
    use crate::annotations::{copy_membrane_zarrs, ZARR_MASK_BLOCK};
    let moto = Moto::start();
    let d = Deposition::new();
    folder_build(&d);
    copy_membrane_zarrs(&d);
    d.edit_config("annotations:\n", ZARR_MASK_BLOCK);
    moto.tool(&["upload", d.input().to_str().unwrap(), "s3://input"]);
    let (r, report) = s3_build(&moto, &d, "r.json", &[]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(ids_with(&report, "built")
        .iter()
        .any(|id| id.ends_with("membrane_copy-1.0_segmentationmask")));
    // A folder build of the same config into an empty OUTPUT is the reference (annotation IDs
    // depend on what OUTPUT already holds).
    std::fs::remove_dir_all(d.output()).unwrap();
    std::fs::remove_dir_all(d.path("cache")).unwrap();
    folder_build(&d);
    let downloaded = d.path("downloaded");
    moto.download("s3://out/o", &downloaded);
    assert_same_tree(&downloaded, &d.output());
}

#[test]
fn copick_ome_zarr_tomograms_are_found_and_measured_on_s3() {
    use crate::parity::{add_rescaled_mask, move_tomograms_to_copick_zarrs};
    let moto = Moto::start();
    let d = Deposition::new();
    add_rescaled_mask(&d);
    folder_build(&d);
    move_tomograms_to_copick_zarrs(&d);
    moto.tool(&["upload", d.input().to_str().unwrap(), "s3://input"]);
    // On S3 the `**` glob is answered from the listing, and the tomogram's shape from its
    // zarr metadata fetched alone.
    let (r, _) = s3_build(&moto, &d, "r.json", &[]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let downloaded = d.path("downloaded");
    moto.download("s3://out/o", &downloaded);
    assert_same_tree(&downloaded, &folder_build(&d));
}

#[test]
fn shards_share_a_folder_output_through_the_s3_cache() {
    // A facility's usual set-up: INPUT and OUTPUT on a shared file system, the cache in S3.
    let moto = Moto::start();
    let d = Deposition::new();
    let out = d.path("shared-output");
    let (config, input) = (d.config(), d.input());
    let workers: Vec<(Child, PathBuf)> = (0..3)
        .map(|i| {
            let report = d.path(&format!("shard{i}.json"));
            let shard = format!("{i}/3");
            let args = [
                "build",
                config.to_str().unwrap(),
                input.to_str().unwrap(),
                out.to_str().unwrap(),
                "--cache",
                "s3://cache/folders",
                "--shard",
                &shard,
                "--jobs",
                "1",
                "--report",
                report.to_str().unwrap(),
            ];
            let mut cmd = moto.ingest(&args);
            cmd.env("XDG_CACHE_HOME", d.path("xdg"))
                .stdout(Stdio::piped())
                .stderr(Stdio::piped());
            (cmd.spawn().unwrap(), report)
        })
        .collect();
    let mut built_by: BTreeMap<String, usize> = BTreeMap::new();
    for (child, report) in workers {
        let o = child.wait_with_output().unwrap();
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
        let report: serde_json::Value =
            serde_json::from_slice(&std::fs::read(report).unwrap()).unwrap();
        for id in ids_with(&report, "built") {
            *built_by.entry(id).or_default() += 1;
        }
    }
    assert!(built_by.values().all(|n| *n == 1), "{built_by:?}");
    assert!(!out.join(".ingest-staging").exists(), "staging left behind");
    assert_same_tree(&out, &folder_build(&d));
}

#[test]
fn a_key_photo_in_another_bucket_is_read_with_input_s_credentials() {
    let moto = Moto::start();
    let d = s3_deposition(&moto);
    let photos = d.path("photos");
    std::fs::create_dir_all(&photos).unwrap();
    std::fs::write(photos.join("snap.gif"), b"GIF89a-from-another-bucket").unwrap();
    moto.tool(&["upload", photos.to_str().unwrap(), "s3://cache/photos"]);
    d.edit_config(
        "datasets:\n- metadata:",
        "dataset_keyphotos:\n- sources:\n  - literal:\n      value:\n        snapshot: cache/photos/snap.gif\n        thumbnail: s3://cache/photos/missing.gif\ndatasets:\n- metadata:",
    );
    let (r, report) = s3_build(&moto, &d, "r.json", &[]);
    assert_eq!(r.code, 1, "{}", r.stderr);
    assert!(
        r.stderr
            .contains("s3://cache/photos/missing.gif was not found (read as an S3 bucket and key: s3://cache/photos/missing.gif)"),
        "{}",
        r.stderr
    );
    assert_eq!(
        ids_with(&report, "failed"),
        vec!["19999", "19999/Images/thumbnail.png"]
    );
    let downloaded = d.path("downloaded");
    moto.download("s3://out/o", &downloaded);
    assert_eq!(
        std::fs::read(downloaded.join("19999/Images/snapshot.gif")).unwrap(),
        b"GIF89a-from-another-bucket"
    );
}
