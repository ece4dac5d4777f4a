//! The bench deposition of the volumes issue, generated once under `BENCH_DIR` and shared by
//! the whole-build benches: 4 runs (`BENCH_RUNS`), each a float32 tomogram of 256×512×512 at
//! 13.48 Å, a float32 tilt series of 41×512×512, one small frame file per tilt, rawtlt / tlt /
//! xf / mdoc / CTFFIND text, one mask and one point file.

use cryoet_ingest::demo::{write_source_tree, DemoSpec};
use std::path::{Path, PathBuf};
use std::time::Instant;

pub struct BenchDeposition {
    pub root: PathBuf,
    /// INPUT (holds `demo_source/`).
    pub input: PathBuf,
    pub spec: DemoSpec,
    /// The bench config: the demo config with one mask block per run.
    pub config_text: String,
}

/// The config text without the annotation block whose `annotation_ingest_id` is `id`.
pub fn drop_annotation_block(text: &str, id: &str) -> String {
    let start = text
        .find(&format!("- metadata:\n    annotation_ingest_id: {id}\n"))
        .expect("the block is in the demo config");
    let end = text[start + 1..]
        .find("\n- metadata:")
        .map_or(text.len(), |i| start + 1 + i + 1);
    format!("{}{}", &text[..start], &text[end..])
}

/// Generates the deposition unless a tree of this generator version is already there.
pub fn bench_deposition() -> BenchDeposition {
    let root = PathBuf::from(std::env::var("BENCH_DIR").unwrap_or("/tmp/cryoet-bench".into()));
    let runs: usize = std::env::var("BENCH_RUNS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(4);
    let input = root.join("input");
    let spec = DemoSpec {
        runs: (1..=runs).map(|i| format!("TS_{i:02}")).collect(),
        tomogram_shape: [256, 512, 512],
        tilts: (0..41).map(|i| -60.0 + 3.0 * i as f64).collect(),
        tilt_shape: [512, 512],
        voxel_spacing: 13.48,
    };
    // The stamp names the generator's version: a tree from an older generator is rewritten.
    let stamp = input.join(format!(".generated-v3-{runs}-runs"));
    if !stamp.exists() {
        let _ = std::fs::remove_dir_all(&input);
        let t = Instant::now();
        write_source_tree(&input.join("demo_source"), &spec, 42).unwrap();
        std::fs::write(&stamp, b"").unwrap();
        println!(
            "generated the bench deposition in {:.1} s",
            t.elapsed().as_secs_f64()
        );
    }
    let config_text = std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("dataset_configs/demo.yaml"),
    )
    .unwrap()
    .replace("max: 6.0", "max: 60.0")
    .replace("min: -6.0", "min: -60.0")
    // Key photos name `bucket/key`; the bench's INPUT folder (its bucket) is `input`.
    .replace(
        "dataset_configs/demo_source/key_photos/",
        "input/demo_source/key_photos/",
    );
    // The bench has one mask per run: keep the membrane mask, drop the demo's two
    // vesicle blocks over the same label file.
    let config_text = ["vesicle-1", "vesicle-instances-1"]
        .iter()
        .fold(config_text, |text, id| drop_annotation_block(&text, id));
    BenchDeposition {
        root,
        input,
        spec,
        config_text,
    }
}

/// Bytes of every file under `root`.
pub fn dir_bytes(root: &Path) -> u64 {
    let mut total = 0;
    let mut stack = vec![root.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).into_iter().flatten().flatten() {
            let m = e.metadata().unwrap();
            if m.is_dir() {
                stack.push(e.path());
            } else {
                total += m.len();
            }
        }
    }
    total
}
