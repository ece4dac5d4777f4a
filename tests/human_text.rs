//! Pinned human text: what `explain`, the build log and `validate` print, compared with the
//! snapshots in `tests/snapshots/` after redacting what changes from run to run (temporary
//! roots, content hashes, timings). `UPDATE_SNAPSHOTS=1 cargo test human_text` rewrites them;
//! review the diff before committing it.

use crate::common::{repo, Deposition, Run};
use regex::Regex;

/// `text` with the deposition's root, BLAKE3 ETags and keys, and timings replaced by
/// placeholders.
fn redact(d: &Deposition, text: &str) -> String {
    let root = d.dir.path().to_str().unwrap();
    let text = text.replace(root, "[ROOT]");
    let rules = [
        (r"b3:[0-9a-f]{64}", "b3:[ETAG]"),
        (r"\b[0-9a-f]{64}\b", "[KEY]"),
        (r"\b\d+\.\d+s\b", "[TIME]"),
    ];
    rules.iter().fold(text, |t, (pattern, with)| {
        Regex::new(pattern)
            .unwrap()
            .replace_all(&t, *with)
            .into_owned()
    })
}

/// Compares `actual` with `tests/snapshots/{name}.txt`, or writes it when `UPDATE_SNAPSHOTS`
/// is set. A mismatch names the first differing line.
fn assert_snapshot(name: &str, actual: &str) {
    let path = repo().join("tests/snapshots").join(format!("{name}.txt"));
    if std::env::var_os("UPDATE_SNAPSHOTS").is_some() {
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(&path, actual).unwrap();
        return;
    }
    let expected = std::fs::read_to_string(&path).unwrap_or_else(|e| {
        panic!(
            "{}: {e} (UPDATE_SNAPSHOTS=1 writes it); actual:\n{actual}",
            path.display()
        )
    });
    if expected != actual {
        let first = expected
            .lines()
            .zip(actual.lines())
            .position(|(e, a)| e != a)
            .unwrap_or_else(|| expected.lines().count().min(actual.lines().count()));
        panic!(
            "{} differs from line {}:\n  expected: {:?}\n  actual:   {:?}\nwhole actual text:\n{actual}",
            path.display(),
            first + 1,
            expected.lines().nth(first),
            actual.lines().nth(first),
        );
    }
}

/// Exit code, stdout and stderr of a run, as one text.
fn transcript(d: &Deposition, run: &Run) -> String {
    redact(
        d,
        &format!(
            "exit code: {}\n--- stdout\n{}--- stderr\n{}",
            run.code, run.stdout, run.stderr
        ),
    )
}

#[test]
fn build_log_of_an_edit_and_of_a_failure() {
    let d = Deposition::new();
    // One worker: the log's order is the plan's.
    let (first, _) = d.build(&["--jobs", "1"]);
    assert_eq!(first.code, 0, "{first:?}");
    assert!(first.stderr.contains("never built"), "{}", first.stderr);

    std::fs::write(d.input().join("demo_source/metadata/TS_01.tlt"), "0.0\n").unwrap();
    d.edit_config("dose_rate: 1.5", "dose_rate: 2.5");
    let (edited, _) = d.build(&["--jobs", "1"]);
    assert_snapshot("build_log_after_an_edit", &transcript(&d, &edited));

    d.edit_config("dose_rate: 2.5", "dose_rate: 0");
    let (failed, _) = d.build(&["--jobs", "1"]);
    assert_snapshot("build_log_of_a_failure", &transcript(&d, &failed));
}

#[test]
fn explain_after_an_edit() {
    let d = Deposition::new();
    assert_eq!(d.build(&[]).0.code, 0);
    std::fs::write(d.input().join("demo_source/metadata/TS_01.tlt"), "0.0\n").unwrap();
    d.edit_config("dose_rate: 1.5", "dose_rate: 2.5");
    let run = d.ingest("explain", &["19999/TS_01/*"]);
    assert_snapshot("explain_after_an_edit", &transcript(&d, &run));
}

/// `ingest validate` of the test config after replacing `from` by `to` in it.
fn validate_after(from: &str, to: &str) -> String {
    let d = Deposition::new();
    d.edit_config(from, to);
    let mut cmd = std::process::Command::new(env!("CARGO_BIN_EXE_ingest"));
    cmd.arg("validate").arg(d.config());
    transcript(&d, &crate::common::run(cmd))
}

#[test]
fn validate_errors() {
    let cases = [
        ("dose_rate: 1.5", "dose_rate: fast"),
        ("  - source_multi_glob:", "  - source_multi_globz:"),
        (r"name_regex: (.*)\.mrc", r"name_regex: (.*\.mrc"),
        // Independent faults are all reported, in file order.
        (
            "    dose_rate: 1.5\n    is_gain_corrected: false\n  sources:\n  - source_glob:",
            "    dose_rate: fast\n    is_gain_corrected: maybe\n  sources:\n  - source_globz:",
        ),
    ];
    let text: String = cases
        .iter()
        .map(|(from, to)| format!("=== `{from}` → `{to}`\n{}", validate_after(from, to)))
        .collect();
    assert_snapshot("validate_errors", &text);
}

/// Line and column (1-based) that an error message claims, as `config.yaml:LINE:COL:`.
fn claimed_position(stderr: &str) -> (usize, usize) {
    let caps = Regex::new(r"config\.yaml:(\d+):(\d+):")
        .unwrap()
        .captures(stderr)
        .unwrap_or_else(|| panic!("no position in {stderr}"));
    (caps[1].parse().unwrap(), caps[2].parse().unwrap())
}

#[test]
fn malformed_yaml_points_at_the_line_and_column_of_the_fault() {
    let d = Deposition::new();
    // A second `: ` inside a plain scalar: the fault is that colon.
    d.edit_config("dose_rate: 1.5", "dose_rate: 1.5: x");
    let text = std::fs::read_to_string(d.config()).unwrap();
    let (line_no, line) = text
        .lines()
        .enumerate()
        .find(|(_, l)| l.contains("dose_rate: 1.5: x"))
        .unwrap();
    let column = line.find("1.5: x").unwrap() + "1.5".len() + 1;
    let run = d.ingest("build", &[]);
    assert_eq!(run.code, 2, "{run:?}");
    assert_eq!(
        claimed_position(&run.stderr),
        (line_no + 1, column),
        "{}",
        run.stderr
    );
    assert!(
        run.stderr.contains("mapping values are not allowed"),
        "{}",
        run.stderr
    );
    assert!(!d.output().join("19999").exists());
}
