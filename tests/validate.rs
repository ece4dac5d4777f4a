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
