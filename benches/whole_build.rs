//! Whole-build figures on the bench deposition of the volumes issue: 4 runs, each a float32
//! tomogram of 256×512×512 at 13.48 Å, a float32 tilt series of 41×512×512, one small frame file
//! per tilt, and rawtlt / tlt / xf / mdoc / CTFFIND text (generated, seeded, by
//! `cryoet_ingest::demo`). Noise is uniform in [-1, 1), not N(0, 1): to Blosc-lz4 both are
//! incompressible floats.
//!
//! ```text
//! cargo bench --bench whole_build            # BENCH_DIR (default /tmp/cryoet-bench), BENCH_RUNS (4)
//! ```
//!
//! It runs the release `ingest` binary four times — cold build, unchanged re-run, re-run after
//! one config field changed, re-run after one point annotation block was added — and two floors: read the volumes, Blosc-lz4 them, write them; and
//! the same plus writing the uncompressed level 0 again, as the `.mrc` outputs do. It prints wall
//! time, MB/s over the input, peak RSS of the ingest process, and ratios.

#[path = "common/floor.rs"]
mod floor;

use cryoet_ingest::demo::{write_source_tree, DemoSpec};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

fn dir_bytes(root: &Path) -> u64 {
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

/// Peak RSS (MiB) of the children waited for so far (`getrusage(RUSAGE_CHILDREN)`).
fn children_peak_rss_mib() -> f64 {
    let mut usage = std::mem::MaybeUninit::<libc::rusage>::zeroed();
    // SAFETY: getrusage fills the struct it is given; RUSAGE_CHILDREN is a valid target.
    let usage = unsafe {
        libc::getrusage(libc::RUSAGE_CHILDREN, usage.as_mut_ptr());
        usage.assume_init()
    };
    usage.ru_maxrss as f64 / 1024.0
}

struct Timed {
    seconds: f64,
    summary: String,
}

fn ingest(config: &Path, input: &Path, output: &Path, cache: &Path) -> Timed {
    let start = Instant::now();
    let out = Command::new(env!("CARGO_BIN_EXE_ingest"))
        .arg("build")
        .args([config, input, output])
        .arg("--cache")
        .arg(cache)
        .output()
        .expect("ingest runs");
    let seconds = start.elapsed().as_secs_f64();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    Timed {
        seconds,
        summary: String::from_utf8_lossy(&out.stdout).trim().to_string(),
    }
}

/// The config text without the annotation block whose `annotation_ingest_id` is `id`.
fn drop_annotation_block(text: &str, id: &str) -> String {
    let start = text
        .find(&format!("- metadata:\n    annotation_ingest_id: {id}\n"))
        .expect("the block is in the demo config");
    let end = text[start + 1..]
        .find("\n- metadata:")
        .map_or(text.len(), |i| start + 1 + i + 1);
    format!("{}{}", &text[..start], &text[end..])
}

fn main() {
    // `cargo bench` passes `--bench`; any filter argument is ignored here.
    let root = PathBuf::from(std::env::var("BENCH_DIR").unwrap_or("/tmp/cryoet-bench".into()));
    let runs: usize = std::env::var("BENCH_RUNS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(4);
    let input = root.join("input");
    let source = input.join("demo_source");
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
        write_source_tree(&source, &spec, 42).unwrap();
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
    .replace("min: -6.0", "min: -60.0");
    // The issue's bench has one mask per run: keep the membrane mask, drop the demo's two
    // vesicle blocks over the same label file.
    let config_text = ["vesicle-1", "vesicle-instances-1"]
        .iter()
        .fold(config_text, |text, id| drop_annotation_block(&text, id));
    let config = root.join("bench.yaml");
    std::fs::write(&config, &config_text).unwrap();
    let output = root.join("output");
    let cache = root.join("cache");
    let _ = std::fs::remove_dir_all(&output);
    let _ = std::fs::remove_dir_all(&cache);
    let in_mb = dir_bytes(&input) as f64 / 1e6;

    let cold = ingest(&config, &input, &output, &cache);
    let rss = children_peak_rss_mib();
    let out_mb = dir_bytes(&output) as f64 / 1e6;
    let fresh = ingest(&config, &input, &output, &cache);
    std::fs::write(
        &config,
        config_text.replace("dose_rate: 1.5", "dose_rate: 1.6"),
    )
    .unwrap();
    let edit = ingest(&config, &input, &output, &cache);
    // One more point annotation block over the existing picks, in every run.
    let added_block = "annotations:\n- metadata:\n    annotation_ingest_id: ribosome-2\n    annotation_object:\n      id: GO:0022626\n      name: ribosome picks, second pass\n    authors: *authors\n    dates: *dates\n    ground_truth_status: false\n    method_type: manual\n    version: 2.0\n  sources:\n  - Point:\n      file_format: csv\n      glob_string: particles/{run_name}_ribosomes.csv\n      is_visualization_default: false\n";
    std::fs::write(
        &config,
        config_text
            .replace("dose_rate: 1.5", "dose_rate: 1.6")
            .replacen("annotations:\n", added_block, 1),
    )
    .unwrap();
    let added = ingest(&config, &input, &output, &cache);

    let floor_dir = root.join("floor");
    let _ = std::fs::remove_dir_all(&floor_dir);
    std::fs::create_dir_all(&floor_dir).unwrap();
    let t = Instant::now();
    for kind in ["tomograms", "tiltseries"] {
        for run in &spec.runs {
            let src = source.join(format!("{kind}/{run}.mrc"));
            let dir = floor_dir.join(format!("{kind}-{run}"));
            std::fs::create_dir_all(&dir).unwrap();
            floor::floor(&src, &dir);
        }
    }
    let floor_s = t.elapsed().as_secs_f64();
    // The same, plus writing the level-0 data once more uncompressed, as the `.mrc` output does:
    // the floor for the bytes this output set writes (pyramid levels 1-2 aside, 1/7 more).
    let t = Instant::now();
    for kind in ["tomograms", "tiltseries"] {
        for run in &spec.runs {
            let src = source.join(format!("{kind}/{run}.mrc"));
            let dir = floor_dir.join(format!("{kind}-{run}"));
            floor::floor(&src, &dir);
            std::fs::copy(&src, dir.join("copy.mrc")).unwrap();
        }
    }
    let floor_mrc_s = t.elapsed().as_secs_f64();

    println!("bench deposition: {runs} runs, {in_mb:.0} MB in, {out_mb:.0} MB out");
    println!(
        "cold build:        {:>7.2} s  {:>6.0} MB/s in   peak RSS {rss:.0} MiB   ({})",
        cold.seconds,
        in_mb / cold.seconds,
        cold.summary
    );
    println!(
        "floor, read + lz4 + write the volumes:            {floor_s:>6.2} s   build/floor = {:.2}",
        cold.seconds / floor_s
    );
    println!(
        "floor, the same + write the level-0 MRC copy too: {floor_mrc_s:>6.2} s   build/floor = {:.2}",
        cold.seconds / floor_mrc_s
    );
    println!(
        "unchanged re-run:  {:>7.3} s  = {:.3} of the cold build   ({})",
        fresh.seconds,
        fresh.seconds / cold.seconds,
        fresh.summary
    );
    println!(
        "one field edited:  {:>7.3} s  = {:.3} of the cold build   ({})",
        edit.seconds,
        edit.seconds / cold.seconds,
        edit.summary
    );
    println!(
        "one point annotation added: {:>7.3} s  = {:.3} of the cold build   ({})",
        added.seconds,
        added.seconds / cold.seconds,
        added.summary
    );
}
