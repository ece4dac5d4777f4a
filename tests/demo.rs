//! The bundled demo: its committed source tree is exactly what the generator writes, and the
//! README's command builds it. Regenerate with `UPDATE_DEMO=1 cargo test --test tests demo`.

use crate::common::{repo, run, snapshot};
use std::process::Command;

#[test]
fn committed_demo_source_matches_the_generator() {
    let committed = repo().join("dataset_configs/demo_source");
    if std::env::var_os("UPDATE_DEMO").is_some() {
        let _ = std::fs::remove_dir_all(&committed);
        cryoet_ingest::demo::write_source_tree(&committed, &Default::default(), 1).unwrap();
    }
    let fresh = tempfile::tempdir().unwrap();
    cryoet_ingest::demo::write_source_tree(fresh.path(), &Default::default(), 1).unwrap();
    let a: Vec<_> = snapshot(&committed)
        .into_iter()
        .map(|(p, (_, b))| (p, b))
        .collect();
    let b: Vec<_> = snapshot(fresh.path())
        .into_iter()
        .map(|(p, (_, b))| (p, b))
        .collect();
    assert_eq!(a.len(), b.len());
    assert!(
        a == b,
        "dataset_configs/demo_source differs from the generator"
    );
}

#[test]
fn the_readme_demo_command_builds_the_bundled_deposition() {
    let out = tempfile::tempdir().unwrap();
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_ingest"));
    cmd.arg("build")
        .arg(repo().join("dataset_configs/demo.yaml"))
        .arg(repo().join("dataset_configs"))
        .arg(out.path().join("demo-output"))
        .arg("--cache")
        .arg(out.path().join("cache"));
    let r = run(cmd);
    assert_eq!(r.code, 0, "{r:?}");
    assert!(
        r.stdout.starts_with("built 56, fresh 0, failed 0"),
        "{}",
        r.stdout
    );
    assert!(out
        .path()
        .join("demo-output/19999/TS_02/Frames/frames_metadata.json")
        .exists());
}
