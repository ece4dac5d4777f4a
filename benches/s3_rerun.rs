//! The bench deposition on S3: INPUT, OUTPUT and the cache in buckets of an S3-compatible
//! server. It times a cold build and two unchanged re-runs, prints their requests by type
//! (from `--report`), and compares the second re-run with its floor: one listing of the source.
//!
//! ```text
//! cargo bench --bench s3_rerun     # BENCH_S3_ENDPOINT (default: moto from the test venv),
//!                                  # BENCH_DIR, BENCH_RUNS as whole_build
//! ```

#[path = "common/deposition.rs"]
mod deposition;
#[path = "../tests/common/moto_server.rs"]
mod moto_server;

use cryoet_ingest::storage::{S3Options, S3Store};
use deposition::{bench_deposition, dir_bytes};
use std::path::{Path, PathBuf};
use std::process::{Child, Command};
use std::time::Instant;

fn venv_bin(name: &str) -> PathBuf {
    std::env::var_os("CRYOET_TEST_VENV")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join(".venv"))
        .join("bin")
        .join(name)
}

struct Server(Option<Child>);

impl Drop for Server {
    fn drop(&mut self) {
        if let Some(c) = &mut self.0 {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

fn start_moto() -> (String, Server) {
    let (child, endpoint) = moto_server::start(&venv_bin("moto_server"));
    (endpoint, Server(Some(child)))
}

fn s3_tool(endpoint: &str, args: &[&str]) {
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/python/s3_tool.py");
    let ok = Command::new(venv_bin("python"))
        .arg(script)
        .arg(endpoint)
        .args(args)
        .status()
        .unwrap()
        .success();
    assert!(ok, "s3_tool {args:?}");
}

fn build(config: &Path, report: &Path) -> (f64, serde_json::Value) {
    let start = Instant::now();
    let out = Command::new(env!("CARGO_BIN_EXE_ingest"))
        .arg("build")
        .arg(config)
        .args([
            "s3://src/bench",
            "s3://out/bench",
            "--cache",
            "s3://cache/bench",
        ])
        .arg("--report")
        .arg(report)
        .output()
        .unwrap();
    let seconds = start.elapsed().as_secs_f64();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let report = serde_json::from_slice(&std::fs::read(report).unwrap()).unwrap();
    (seconds, report)
}

fn main() {
    let dep = bench_deposition();
    let (endpoint, _server) = match std::env::var("BENCH_S3_ENDPOINT") {
        Ok(e) => (e, Server(None)),
        Err(_) => start_moto(),
    };
    // Set before any thread starts: the child processes and the in-process client read them.
    std::env::set_var("AWS_ACCESS_KEY_ID", "testing");
    std::env::set_var("AWS_SECRET_ACCESS_KEY", "testing");
    std::env::set_var("AWS_REGION", "us-east-1");
    std::env::set_var("AWS_ENDPOINT_URL", &endpoint);
    for b in ["src", "out", "cache"] {
        s3_tool(&endpoint, &["mkbucket", b]);
    }
    let t = Instant::now();
    s3_tool(
        &endpoint,
        &["upload", dep.input.to_str().unwrap(), "s3://src/bench"],
    );
    let in_mb = dir_bytes(&dep.input) as f64 / 1e6;
    println!(
        "uploaded the bench deposition ({in_mb:.0} MB) in {:.1} s",
        t.elapsed().as_secs_f64()
    );
    let config = dep.root.join("bench-s3.yaml");
    // The key photos are in the same bucket as INPUT, under its prefix.
    let config_text = dep.config_text.replace(
        "input/demo_source/key_photos/",
        "src/bench/demo_source/key_photos/",
    );
    std::fs::write(&config, &config_text).unwrap();

    let (cold, _) = build(&config, &dep.root.join("s3-cold.json"));
    // The first re-run reads the existing metadata the cold build wrote (for stable IDs) and
    // remembers it by ETag; from the second on, a nightly re-run is in its steady state.
    let (first, first_report) = build(&config, &dep.root.join("s3-rerun-1.json"));
    let (rerun, report) = build(&config, &dep.root.join("s3-rerun.json"));

    // The floor: one listing of the source, through the same client.
    let opts = S3Options {
        endpoint: Some(endpoint.clone()),
        ..S3Options::default()
    };
    let store = S3Store::open("s3://src/bench", &opts, true).unwrap();
    let t = Instant::now();
    let listed = store.list_live("").unwrap().len();
    let list_s = t.elapsed().as_secs_f64();

    println!(
        "S3 bench deposition: {} runs, {in_mb:.0} MB in",
        dep.spec.runs.len()
    );
    println!("cold build:        {cold:>7.2} s   ({})", report["summary"]);
    println!(
        "first re-run:      {first:>7.3} s   requests {}",
        first_report["s3_requests"]
    );
    println!(
        "unchanged re-run:  {rerun:>7.3} s  = {:.4} of the cold build, {:.1}× one listing of the source ({listed} objects, {list_s:.3} s)",
        rerun / cold,
        rerun / list_s
    );
    println!("re-run requests:   {}", report["s3_requests"]);
    println!("re-run summary:    {}", report["summary"]);
}
