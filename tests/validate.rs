//! `ingest validate` over the portal's real configs, read in place from `../shared`.

use crate::common::{repo, run};
use std::path::PathBuf;
use std::process::Command;

fn real_configs() -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut stack = vec![repo().join("../shared/real_configs")];
    while let Some(dir) = stack.pop() {
        for e in std::fs::read_dir(&dir).expect("../shared/real_configs is beside the repo") {
            let p = e.unwrap().path();
            if p.is_dir() {
                stack.push(p);
            } else if p.extension().is_some_and(|x| x == "yaml") {
                out.push(p);
            }
        }
    }
    out.sort();
    out
}

#[test]
fn every_non_draft_real_config_validates_and_the_draft_is_rejected() {
    let all = real_configs();
    assert!(all.len() >= 300, "{} configs", all.len());
    let (drafts, good): (Vec<_>, Vec<_>) = all
        .into_iter()
        .partition(|p| p.to_string_lossy().ends_with("_draft.yaml"));
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_ingest"));
    cmd.arg("validate").args(&good);
    let r = run(cmd);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(
        r.stdout
            .ends_with(&format!("{} valid, 0 invalid\n", good.len())),
        "{}",
        r.stdout
    );

    assert_eq!(drafts.len(), 1);
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_ingest"));
    cmd.arg("validate").args(&drafts);
    let r = run(cmd);
    assert_eq!(r.code, 2, "{r:?}");
    assert!(r.stderr.contains("10011_draft.yaml:"), "{}", r.stderr);
    assert!(
        r.stderr.contains("annotations[0].metadata."),
        "{}",
        r.stderr
    );
}

/// A real config whose `match_regex` is the portal's look-behind pattern (deposition 10303 of the
/// reference's configs, which are not beside the repo) validates; the same config with a pattern
/// Python's `re` rejects does not, so the pattern is really compiled.
#[test]
fn a_real_config_with_a_python_look_behind_regex_validates() {
    let original = std::fs::read_to_string(repo().join("../shared/real_configs/10000.yaml"))
        .expect("../shared/real_configs/10000.yaml is beside the repo");
    let with_regex = |pattern: &str| {
        let (head, tail) = original
            .split_once("match_regex: ")
            .expect("10000.yaml has a match_regex");
        let rest = tail.split_once('\n').map_or("", |(_, r)| r);
        format!("{head}match_regex: '{pattern}'\n{rest}")
    };
    let dir = tempfile::tempdir().unwrap();
    let good = dir.path().join("10000.yaml");
    std::fs::write(
        &good,
        with_regex(".*$(?<!(10014|10015|10016|10017|10018|10019|10020))"),
    )
    .unwrap();
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_ingest"));
    cmd.arg("validate").arg(&good);
    let r = run(cmd);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(r.stdout.ends_with("1 valid, 0 invalid\n"), "{}", r.stdout);

    let bad = dir.path().join("bad.yaml");
    std::fs::write(&bad, with_regex("TS_(\\d+")).unwrap();
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_ingest"));
    cmd.arg("validate").arg(&bad);
    let r = run(cmd);
    assert_eq!(r.code, 2, "{r:?}");
    assert!(
        r.stderr.contains("match_regex") && r.stderr.contains("Python `re`"),
        "{}",
        r.stderr
    );
}
