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

#[path = "common/deposition.rs"]
mod deposition;
#[path = "common/floor.rs"]
mod floor;

use deposition::{bench_deposition, dir_bytes, BenchDeposition};
use std::path::Path;
use std::process::Command;
use std::time::Instant;

/// Peak RSS (MiB) of the children waited for so far (`getrusage(RUSAGE_CHILDREN)`).
#[allow(unsafe_code)] // the one FFI call of the crate: std has no getrusage
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
    ingest_with(config, input, output, cache, &[])
}

fn ingest_with(config: &Path, input: &Path, output: &Path, cache: &Path, extra: &[&str]) -> Timed {
    let start = Instant::now();
    let out = Command::new(env!("CARGO_BIN_EXE_ingest"))
        .arg("build")
        .args([config, input, output])
        .arg("--cache")
        .arg(cache)
        .args(extra)
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

fn main() {
    // `cargo bench` passes `--bench`; any filter argument is ignored here.
    let BenchDeposition {
        root,
        input,
        spec,
        config_text,
    } = bench_deposition();
    let source = input.join("demo_source");
    let runs = spec.runs.len();
    let config = root.join("bench.yaml");
    std::fs::write(&config, &config_text).unwrap();
    let output = root.join("output");
    let cache = root.join("cache");
    let _ = std::fs::remove_dir_all(&output);
    let _ = std::fs::remove_dir_all(&cache);
    let in_mb = dir_bytes(&input) as f64 / 1e6;

    // The cold build without the Neuroglancer outputs (what a build did before they existed):
    // every kind but annotation_viz and viz_config, into a folder of its own.
    let without_viz: Vec<&str> = cryoet_ingest::EntityKind::ALL
        .iter()
        .filter(|k| {
            !matches!(
                k,
                cryoet_ingest::EntityKind::AnnotationViz | cryoet_ingest::EntityKind::VizConfig
            )
        })
        .map(|k| k.type_key())
        .collect();
    let (plain_out, plain_cache) = (root.join("output-no-viz"), root.join("cache-no-viz"));
    let _ = std::fs::remove_dir_all(&plain_out);
    let _ = std::fs::remove_dir_all(&plain_cache);
    let mut only = vec!["--only"];
    only.extend(&without_viz);
    let plain = ingest_with(&config, &input, &plain_out, &plain_cache, &only);
    let _ = std::fs::remove_dir_all(&plain_out);
    let _ = std::fs::remove_dir_all(&plain_cache);

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
        "cold build without Neuroglancer outputs: {:>7.2} s   with/without = {:.2}   ({})",
        plain.seconds,
        cold.seconds / plain.seconds,
        plain.summary
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
