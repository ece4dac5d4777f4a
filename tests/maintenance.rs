//! `ingest plan` (work units and shards) and `ingest cache verify|gc` on the sled cache; the S3
//! cache's superseded records are collected in `s3.rs`.

use crate::common::{ids_with, repo, Deposition};
use serde_json::Value;

/// An extra annotation block (a mask of label 1 under another ingest id).
pub const EXTRA_BLOCK: &str = "annotations:\n- metadata:\n    annotation_ingest_id: lumen-1\n    annotation_method: threshold\n    annotation_object:\n      id: GO:0031974\n      name: lumen\n    authors: *authors\n    dates: *dates\n    ground_truth_status: false\n    method_type: automated\n    version: 1.0\n  sources:\n  - SemanticSegmentationMask:\n      file_format: mrc\n      glob_string: labels/{run_name}_labels.mrc\n      is_visualization_default: false\n      threshold: 0.5\n";

fn plan_json(d: &Deposition) -> Value {
    let run = d.ingest("plan", &["--json", "--shards", "2"]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    serde_json::from_str(&run.stdout).unwrap()
}

#[test]
fn plan_lists_the_deposition_level_and_one_unit_per_run() {
    let d = Deposition::new();
    let before = plan_json(&d);
    let units = before["units"].as_array().unwrap();
    let names: Vec<&str> = units
        .iter()
        .map(|u| u["run"].as_str().unwrap_or("deposition"))
        .collect();
    assert_eq!(names, ["deposition", "19999/TS_01", "19999/TS_02"]);
    for u in units {
        assert!(u["targets"].as_u64().unwrap() > 0, "{u}");
        assert_eq!(u["stale"], u["targets"], "nothing built yet: {u}");
    }
    let shards = before["shards"].as_array().unwrap();
    assert_eq!(shards[0]["runs"], serde_json::json!(["19999/TS_01"]));
    assert_eq!(shards[1]["runs"], serde_json::json!(["19999/TS_02"]));
    // The dataset key photo falls back to TS_01's key image: shard 1 reads it too.
    let total: u64 = units.iter().map(|u| u["targets"].as_u64().unwrap()).sum();
    assert!(shards[1]["targets"].as_u64().unwrap() < total);

    assert_eq!(d.build(&[]).0.code, 0);
    let after = plan_json(&d);
    for u in after["units"].as_array().unwrap() {
        assert_eq!(u["stale"], 0, "{u}");
    }
}

#[test]
fn cache_verify_reports_missing_and_resized_outputs_and_fix_forgets_them() {
    let d = Deposition::new();
    assert_eq!(d.build(&[]).0.code, 0);
    let output = d.output();
    let out = output.to_str().unwrap();
    let cache = d.path("cache");
    let verify = |extra: &[&str]| {
        let mut args = vec!["verify", out, "--cache", cache.to_str().unwrap()];
        args.extend_from_slice(extra);
        let mut cmd = std::process::Command::new(env!("CARGO_BIN_EXE_ingest"));
        cmd.arg("cache").args(args);
        crate::common::run(cmd)
    };
    let clean = verify(&[]);
    assert_eq!(clean.code, 0, "{clean:?}");
    assert!(clean.stdout.contains(", 0 bad"), "{}", clean.stdout);

    let gain = "19999/TS_01/Gains/gain_ref.gain";
    std::fs::remove_file(output.join(gain)).unwrap();
    let run_json = output.join("19999/TS_02/run_metadata.json");
    let mut bytes = std::fs::read(&run_json).unwrap();
    bytes.extend_from_slice(b"\n");
    std::fs::write(&run_json, bytes).unwrap();

    let bad = verify(&[]);
    assert_eq!(bad.code, 1, "{bad:?}");
    assert!(
        bad.stdout.contains(&format!("{gain}: {gain} is missing")),
        "{}",
        bad.stdout
    );
    assert!(
        bad.stdout
            .contains("19999/TS_02: 19999/TS_02/run_metadata.json has"),
        "{}",
        bad.stdout
    );
    assert!(bad.stdout.contains(", 2 bad"), "{}", bad.stdout);

    assert_eq!(verify(&["--fix"]).code, 0);
    let (run, report) = d.build(&[]);
    assert_eq!(run.code, 0, "{run:?}");
    assert_eq!(
        crate::common::without_states(ids_with(&report, "built")),
        vec![gain.to_string(), "19999/TS_02".to_string()]
    );
}

#[test]
fn cache_gc_forgets_records_the_config_no_longer_plans() {
    let d = Deposition::new();
    d.edit_config("annotations:\n", EXTRA_BLOCK);
    assert_eq!(d.build(&[]).0.code, 0);
    // The block is dropped from the config: its four targets are no longer planned.
    std::fs::copy(repo().join("dataset_configs/demo.yaml"), d.config()).unwrap();
    let gc = |age: &str| {
        let mut cmd = std::process::Command::new(env!("CARGO_BIN_EXE_ingest"));
        cmd.args(["cache", "gc", "--config"])
            .arg(d.config())
            .arg(d.input())
            .arg(d.output())
            .args([
                "--cache",
                d.path("cache").to_str().unwrap(),
                "--older-than",
                age,
            ]);
        crate::common::run(cmd)
    };
    let young = gc("1");
    assert_eq!(young.code, 0, "{young:?}");
    assert!(
        young.stdout.contains("forgot 0 records"),
        "{}",
        young.stdout
    );
    let old = gc("0");
    assert_eq!(old.code, 0, "{old:?}");
    assert!(old.stdout.contains("forgot 6 records"), "{}", old.stdout);
    // The block's JSON, mask and mask precompute in each run.
    assert_eq!(old.stdout.matches("lumen-1.0").count(), 6, "{}", old.stdout);

    // Everything still planned stays fresh but the key images (the dropped mask no longer
    // takes a colour of the run's palette, spec §10.2) and what copies them; the block, added
    // back, builds again.
    let images = |id: &String| id.contains("/Images/") || id == "19999";
    let (_, report) = d.build(&[]);
    assert!(
        crate::common::without_states(ids_with(&report, "built"))
            .iter()
            .all(images),
        "{report}"
    );
    d.edit_config("annotations:\n", EXTRA_BLOCK);
    let (_, report) = d.build(&[]);
    let built = crate::common::without_states(ids_with(&report, "built"));
    assert_eq!(built.iter().filter(|id| !images(id)).count(), 6, "{report}");
}
