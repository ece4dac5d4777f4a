//! The Slurm array script (`deploy/slurm/ingest-array.sbatch`) on a real one-node Slurm
//! (`../shared/tools/slurm-local`), three tasks sharing one S3 OUTPUT and cache on a moto
//! server: every task succeeds, no target is built twice, and the tree equals a folder build.

use crate::common::{ids_with, repo, Deposition};
use crate::s3::{assert_same_tree, Moto};
use std::collections::BTreeMap;
use std::path::PathBuf;
use std::process::Command;
use std::time::{Duration, Instant};

/// A one-node Slurm cluster, stopped on drop.
struct Slurm {
    env: Vec<(String, String)>,
    stop: PathBuf,
}

impl Slurm {
    fn start() -> Slurm {
        let tools = repo().join("../shared/tools/slurm-local");
        let out = Command::new("bash")
            .arg(tools.join("start.sh"))
            .env("SLURM_LOCAL_CPUS", "6")
            .output()
            .expect("slurm-local/start.sh runs");
        assert!(
            out.status.success(),
            "slurm-local failed to start: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let env = String::from_utf8_lossy(&out.stdout)
            .lines()
            .filter_map(|l| l.strip_prefix("export "))
            .filter_map(|l| l.split_once('='))
            .map(|(k, v)| (k.to_string(), v.trim_matches(['"', '\'']).to_string()))
            .collect();
        Slurm {
            env,
            stop: tools.join("stop.sh"),
        }
    }

    fn command(&self, program: &str) -> Command {
        let mut cmd = Command::new(program);
        cmd.envs(self.env.iter().map(|(k, v)| (k, v)));
        cmd
    }
}

impl Drop for Slurm {
    fn drop(&mut self) {
        let _ = self.command("bash").arg(&self.stop).output();
    }
}

#[test]
fn sbatch_array_builds_each_target_once() {
    let moto = Moto::start();
    let d = crate::s3::s3_deposition(&moto);
    let slurm = Slurm::start();
    let reports = d.path("reports");
    std::fs::create_dir_all(&reports).unwrap();
    let script = repo().join("deploy/slurm/ingest-array.sbatch");
    let out = slurm
        .command("sbatch")
        .args(["--parsable", "--array=0-2"])
        .arg(format!("--output={}/task_%A_%a.out", reports.display()))
        .arg(&script)
        .args([
            d.config().to_str().unwrap(),
            "s3://input",
            "s3://out/o",
            "s3://cache/c",
        ])
        .env("INGEST_BIN", env!("CARGO_BIN_EXE_ingest"))
        .env("INGEST_REPORT_DIR", &reports)
        .env("XDG_CACHE_HOME", d.path("xdg"))
        .env("AWS_ACCESS_KEY_ID", "testing")
        .env("AWS_SECRET_ACCESS_KEY", "testing")
        .env("AWS_REGION", "us-east-1")
        .env("AWS_ENDPOINT_URL", &moto.endpoint)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let job = String::from_utf8_lossy(&out.stdout).trim().to_string();

    let deadline = Instant::now() + Duration::from_secs(300);
    loop {
        let q = slurm
            .command("squeue")
            .args(["-h", "-j", &job])
            .output()
            .unwrap();
        if String::from_utf8_lossy(&q.stdout).trim().is_empty() {
            break;
        }
        assert!(Instant::now() < deadline, "the array job did not finish");
        std::thread::sleep(Duration::from_millis(500));
    }

    let mut built_by: BTreeMap<String, usize> = BTreeMap::new();
    for task in 0..3 {
        let log = std::fs::read_to_string(reports.join(format!("task_{job}_{task}.out")))
            .unwrap_or_default();
        let path = reports.join(format!("report_{job}_{task}.json"));
        let report: serde_json::Value = serde_json::from_slice(
            &std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}\n{log}", path.display())),
        )
        .unwrap();
        assert_eq!(report["shard"], format!("{task}/3"), "{log}");
        assert_eq!(report["summary"]["failed"], 0, "{log}");
        for id in ids_with(&report, "built") {
            *built_by.entry(id).or_default() += 1;
        }
    }
    assert!(
        built_by.values().all(|n| *n == 1),
        "a target was built by two tasks: {built_by:?}"
    );
    let downloaded = d.path("downloaded");
    moto.download("s3://out/o", &downloaded);
    let reference = Deposition::new();
    let (r, _) = reference.build(&[]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert_same_tree(&downloaded, &reference.output());
}
