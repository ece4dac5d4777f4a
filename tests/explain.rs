//! `ingest explain` names exactly what changed.

use crate::common::Deposition;

#[test]
fn explain_names_the_changed_file_the_changed_field_and_fresh_targets() {
    let d = Deposition::new();
    let never = d.ingest("explain", &["19999/TS_01/Frames"]);
    assert_eq!(never.code, 0, "{never:?}");
    assert!(
        never
            .stdout
            .contains("19999/TS_01/Frames (frame): stale\n  - never built"),
        "{}",
        never.stdout
    );

    assert_eq!(d.build(&[]).0.code, 0);
    let fresh = d.ingest("explain", &["19999/*/Alignments/*"]);
    assert_eq!(
        fresh.stdout,
        "19999/TS_01/Alignments/100 (alignment): fresh\n19999/TS_02/Alignments/100 (alignment): fresh\n"
    );

    std::fs::write(d.input().join("demo_source/metadata/TS_01.tlt"), "0.0\n").unwrap();
    d.edit_config("dose_rate: 1.5", "dose_rate: 2.5");
    let run = d.ingest("explain", &["19999/TS_01/*"]);
    assert_eq!(run.code, 0, "{run:?}");
    let out = run.stdout;
    assert!(out.contains("19999/TS_01/Alignments/100 (alignment): stale\n  - source changed: demo_source/metadata/TS_01.tlt (ETag b3:"), "{out}");
    assert!(
        out.contains(
            "19999/TS_01/Frames (frame): stale\n  - config field `metadata.dose_rate`: 1.5 → 2.5"
        ),
        "{out}"
    );
    assert!(
        out.contains("19999/TS_01/Gains/gain_ref.gain (gain): fresh"),
        "{out}"
    );
}

#[test]
fn explain_reports_a_parent_that_will_rebuild() {
    let d = Deposition::new();
    assert_eq!(d.build(&[]).0.code, 0);
    std::fs::write(
        d.input().join("demo_source/metadata/TS_01.mdoc"),
        "[ZValue = 0]\nTiltAngle = 0.0\nExposureTime = 1.0\n",
    )
    .unwrap();
    let run = d.ingest("explain", &["19999/TS_01/Frames"]);
    assert!(
        run.stdout
            .contains("parent 19999/TS_01/Frames/TS_01.mdoc will rebuild"),
        "{}",
        run.stdout
    );
}

#[test]
fn explain_rejects_a_pattern_that_matches_nothing() {
    let d = Deposition::new();
    let run = d.ingest("explain", &["no/such/target"]);
    assert_eq!(run.code, 2);
    assert!(
        run.stderr.contains("no target matches `no/such/target`"),
        "{}",
        run.stderr
    );
}
