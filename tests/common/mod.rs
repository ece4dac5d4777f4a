//! Fixtures: a generated deposition in a temporary folder, and a runner for the `ingest` binary.

pub mod moto_server;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::SystemTime;

/// Repository root.
pub fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// A program of the test venv (`$CRYOET_TEST_VENV`, default `<repo>/.venv`, made by
/// `tests/python/setup_venv.sh`). A missing venv fails the test; it never skips it.
pub fn venv_bin(name: &str) -> PathBuf {
    let bin = venv_dir().join("bin").join(name);
    assert!(
        bin.exists(),
        "{} missing: run tests/python/setup_venv.sh (or set CRYOET_TEST_VENV)",
        bin.display()
    );
    bin
}

/// The test venv's folder: `$CRYOET_TEST_VENV`, default `<repo>/.venv`.
pub fn venv_dir() -> PathBuf {
    std::env::var_os("CRYOET_TEST_VENV")
        .map(PathBuf::from)
        .unwrap_or_else(|| repo().join(".venv"))
}

/// A folder of `$venv/sample-data/` (the unpacked sdists of the packages whose sample files the
/// tests read in place). A missing folder fails the test; it never skips it.
pub fn venv_sample_data(rel: &str) -> PathBuf {
    let dir = venv_dir().join("sample-data").join(rel);
    assert!(
        dir.is_dir(),
        "{} missing: run tests/python/setup_venv.sh (or set CRYOET_TEST_VENV)",
        dir.display()
    );
    dir
}

/// A deposition under test: INPUT (with the demo source tree), OUTPUT, a private cache and a
/// copy of the demo config that tests may edit.
pub struct Deposition {
    pub dir: tempfile::TempDir,
}

/// What one `ingest` run printed and returned.
#[derive(Debug)]
pub struct Run {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

impl Deposition {
    pub fn new() -> Deposition {
        let dir = tempfile::tempdir().unwrap();
        let input = dir.path().join("input/demo_source");
        cryoet_ingest::demo::write_source_tree(
            &input,
            &cryoet_ingest::demo::DemoSpec::default(),
            1,
        )
        .unwrap();
        // Key photos are named `bucket/key`: the demo's INPUT folder (bucket) is
        // `dataset_configs`, the tests' is `input` (`s3://input` on S3).
        let config = std::fs::read_to_string(repo().join("dataset_configs/demo.yaml"))
            .unwrap()
            .replace(
                "dataset_configs/demo_source/key_photos/",
                "input/demo_source/key_photos/",
            );
        std::fs::write(dir.path().join("config.yaml"), config).unwrap();
        Deposition { dir }
    }

    pub fn path(&self, rel: &str) -> PathBuf {
        self.dir.path().join(rel)
    }

    pub fn config(&self) -> PathBuf {
        self.path("config.yaml")
    }

    pub fn input(&self) -> PathBuf {
        self.path("input")
    }

    pub fn output(&self) -> PathBuf {
        self.path("output")
    }

    /// Replaces `from` by `to` in the config (exactly once).
    pub fn edit_config(&self, from: &str, to: &str) {
        let text = std::fs::read_to_string(self.config()).unwrap();
        assert_eq!(
            text.matches(from).count(),
            1,
            "`{from}` occurs once in the config"
        );
        std::fs::write(self.config(), text.replace(from, to)).unwrap();
    }

    /// Runs `ingest <sub> CONFIG INPUT OUTPUT <extra…> --cache <private>`.
    pub fn ingest(&self, sub: &str, extra: &[&str]) -> Run {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_ingest"));
        cmd.arg(sub)
            .arg(self.config())
            .arg(self.input())
            .arg(self.output())
            .args(extra)
            .arg("--cache")
            .arg(self.path("cache"));
        run(cmd)
    }

    /// `ingest build` with a report; returns the run and the parsed report.
    pub fn build(&self, extra: &[&str]) -> (Run, serde_json::Value) {
        let report = self.path("report.json");
        let _ = std::fs::remove_file(&report);
        let mut args = vec!["--report", report.to_str().unwrap()];
        args.extend_from_slice(extra);
        let run = self.ingest("build", &args);
        let json = std::fs::read(&report)
            .ok()
            .and_then(|b| serde_json::from_slice(&b).ok())
            .unwrap_or(serde_json::Value::Null);
        (run, json)
    }
}

pub fn run(mut cmd: Command) -> Run {
    let out = cmd.output().expect("ingest runs");
    Run {
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

/// Ids of report targets with `status`, sorted.
pub fn ids_with(report: &serde_json::Value, status: &str) -> Vec<String> {
    let mut ids: Vec<String> = report["targets"]
        .as_array()
        .expect("report has targets")
        .iter()
        .filter(|t| t["status"] == status)
        .map(|t| t["id"].as_str().unwrap().to_string())
        .collect();
    ids.sort();
    ids
}

/// Every file under `root` with its modification time and bytes.
pub fn snapshot(root: &Path) -> BTreeMap<PathBuf, (SystemTime, Vec<u8>)> {
    let mut out = BTreeMap::new();
    let mut stack = vec![root.to_path_buf()];
    while let Some(dir) = stack.pop() {
        for e in std::fs::read_dir(&dir).unwrap() {
            let e = e.unwrap();
            let p = e.path();
            if p.is_dir() {
                stack.push(p);
            } else {
                let m = e.metadata().unwrap().modified().unwrap();
                out.insert(
                    p.strip_prefix(root).unwrap().to_path_buf(),
                    (m, std::fs::read(&p).unwrap()),
                );
            }
        }
    }
    out
}

/// Parses an output JSON.
pub fn read_json(path: &Path) -> serde_json::Value {
    serde_json::from_slice(
        &std::fs::read(path).unwrap_or_else(|e| panic!("{}: {e}", path.display())),
    )
    .unwrap()
}

/// The test venv's Python (`tests/python/setup_venv.sh`; `$CRYOET_TEST_VENV`, default
/// `<repo>/.venv`). A missing venv fails the test that needs it; it never skips it.
pub fn venv_python() -> PathBuf {
    venv_bin("python")
}

/// The Python of the venv pinned to the reference's numerics (numpy 1.26.4, scikit-image
/// 0.22.0), `$venv/reference-numerics`, made by `tests/python/setup_venv.sh` beside the main
/// venv (whose pandas needs numpy 2). A missing venv fails the test; it never skips it.
pub fn reference_numerics_python() -> PathBuf {
    let bin = venv_dir().join("reference-numerics/bin/python");
    assert!(
        bin.exists(),
        "{} missing: run tests/python/setup_venv.sh (or set CRYOET_TEST_VENV)",
        bin.display()
    );
    bin
}

/// Runs `tests/python/<script>` with the test venv's Python and returns its stdout; fails the
/// test, with the script's stderr, when it exits non-zero.
pub fn python_script<I, S>(script: &str, args: I) -> String
where
    I: IntoIterator<Item = S>,
    S: AsRef<std::ffi::OsStr>,
{
    let out = Command::new(venv_python())
        .arg(repo().join("tests/python").join(script))
        .args(args)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{script}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// `ids` without the Neuroglancer states (`…-neuroglancer_config.json`), which rebuild with
/// every tomogram and annotation JSON they read; `tests/viz_config.rs` checks which do.
pub fn without_states(ids: Vec<String>) -> Vec<String> {
    ids.into_iter()
        .filter(|id| !id.ends_with("-neuroglancer_config.json"))
        .collect()
}

/// Copies a folder tree.
pub fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for e in std::fs::read_dir(from).unwrap() {
        let e = e.unwrap();
        let dest = to.join(e.file_name());
        if e.path().is_dir() {
            copy_dir(&e.path(), &dest);
        } else {
            std::fs::copy(e.path(), dest).unwrap();
        }
    }
}

/// The surface of label 1 where `inside(x, y, z)` holds, over an `n`³ volume with an empty
/// outer layer, moved by `offset`; zmesh's simplification as the segmentation mesher runs it
/// when `simplify`.
pub fn label_surface(
    n: usize,
    offset: [f32; 3],
    simplify: bool,
    inside: impl Fn(f64, f64, f64) -> bool,
) -> cryoet_ingest::formats::neuroglancer::trimesh::TriMesh {
    let mut data = vec![0u32; n * n * n];
    for z in 1..n - 1 {
        for y in 1..n - 1 {
            for x in 1..n - 1 {
                if inside(x as f64, y as f64, z as f64) {
                    data[(z * n + y) * n + x] = 1;
                }
            }
        }
    }
    let params = cryoet_ingest::formats::neuroglancer::zmesh_simplify::ZmeshParams {
        resolution: [1.0; 3],
        reduction_factor: if simplify { 100 } else { 0 },
        max_error: if simplify { 2.0 } else { 0.0 },
    };
    let mut mesh =
        cryoet_ingest::formats::neuroglancer::zmesh_simplify::mesh_block(&data, [n; 3], &params)
            .remove(0)
            .1;
    for v in &mut mesh.vertices {
        for a in 0..3 {
            v[a] += offset[a];
        }
    }
    mesh
}
