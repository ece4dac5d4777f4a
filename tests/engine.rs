//! Incremental builds over the generated demo deposition.

use crate::common::{ids_with, read_json, snapshot, Deposition};

const RUN1: &str = "19999/TS_01";

#[test]
fn first_build_writes_the_portal_layout() {
    let d = Deposition::new();
    let (run, report) = d.build(&[]);
    assert_eq!(run.code, 0, "{run:?}");
    assert!(run.stdout.contains("built "), "{}", run.stdout);
    assert_eq!(report["summary"]["failed"], 0);
    let built = ids_with(&report, "built");
    for id in [
        "depositions_metadata/10999",
        "19999",
        "19999/TS_01",
        "19999/TS_01/Alignments/100",
        "19999/TS_01/Frames",
        "19999/TS_01/Frames/TS_01.mdoc",
        "19999/TS_01/Gains/gain_ref.gain",
        "19999/TS_01/TiltSeries/100/TS_01.rawtlt",
        "19999/TS_01/TiltSeries/100/TS_01_CTFFIND_ctf.txt",
        "19999/TS_02",
    ] {
        assert!(built.contains(&id.to_string()), "{id} not in {built:?}");
    }
    let out = d.output();
    // Plain copies keep their bytes.
    assert_eq!(
        std::fs::read(out.join(format!("{RUN1}/TiltSeries/100/TS_01.rawtlt"))).unwrap(),
        std::fs::read(d.input().join("demo_source/metadata/TS_01.rawtlt")).unwrap()
    );
    // Metadata JSONs carry the deposition id and the extracted fields.
    let run_md = read_json(&out.join(format!("{RUN1}/run_metadata.json")));
    assert_eq!(run_md["run_name"], "TS_01");
    assert_eq!(run_md["deposition_id"], 10999);
    assert!(run_md["last_updated_at"].as_u64().unwrap() > 1_700_000_000);
    let frames = read_json(&out.join(format!("{RUN1}/Frames/frames_metadata.json")));
    assert_eq!(frames["frames"].as_array().unwrap().len(), 5);
    assert_eq!(
        frames["frames_acquisition_file"],
        format!("{RUN1}/Frames/TS_01.mdoc")
    );
    assert_eq!(frames["frames"][0]["acquisition_order"], 0);
    assert_eq!(frames["frames"][0]["accumulated_dose"], 0);
    assert_eq!(
        frames["frames"][0]["path"],
        format!("{RUN1}/Frames/TS_01_002.mrc")
    );
    let align = read_json(&out.join(format!("{RUN1}/Alignments/100/alignment_metadata.json")));
    assert_eq!(align["alignment_type"], "GLOBAL");
    assert_eq!(align["files"].as_array().unwrap().len(), 2);
    assert_eq!(
        align["per_section_alignment_parameters"]
            .as_array()
            .unwrap()
            .len(),
        5
    );
    assert_eq!(
        align["tiltseries_path"],
        format!("{RUN1}/TiltSeries/100/tiltseries_metadata.json")
    );
    let vd = &align["volume_dimension"];
    assert!(
        (vd["x"].as_f64().unwrap() - 13.48 * 32.0).abs() < 1e-9,
        "{vd}"
    );
    assert!(
        (vd["z"].as_f64().unwrap() - 13.48 * 16.0).abs() < 1e-9,
        "{vd}"
    );
    let ds = read_json(&out.join("19999/dataset_metadata.json"));
    assert_eq!(ds["dataset_title"], "Demo dataset");
    assert_eq!(ds["deposition_id"], 10999);
    let dep = read_json(&out.join("depositions_metadata/10999/deposition_metadata.json"));
    assert_eq!(dep["deposition_title"], "cryoet-ingest demo deposition");
    // Staging leaves nothing visible.
    assert!(!out.join(".ingest-staging").exists());
}

#[test]
fn unchanged_rerun_builds_and_writes_nothing() {
    let d = Deposition::new();
    let (first, _) = d.build(&[]);
    assert_eq!(first.code, 0, "{first:?}");
    let before = snapshot(&d.output());
    let (run, report) = d.build(&[]);
    assert_eq!(run.code, 0, "{run:?}");
    assert_eq!(report["summary"]["built"], 0, "{report}");
    assert!(report["summary"]["fresh"].as_u64().unwrap() > 10);
    assert!(run.stdout.contains("built 0, fresh"), "{}", run.stdout);
    let after = snapshot(&d.output());
    assert_eq!(before.len(), after.len());
    for (path, (mtime, bytes)) in &before {
        let (m2, b2) = &after[path];
        assert_eq!(mtime, m2, "{} was rewritten", path.display());
        assert_eq!(bytes, b2);
    }
}

#[test]
fn touched_but_unchanged_sources_stay_fresh() {
    let d = Deposition::new();
    assert_eq!(d.build(&[]).0.code, 0);
    // Rewrite every source with the same bytes: new mtimes, same content.
    let src = d.input().join("demo_source/metadata");
    for e in std::fs::read_dir(&src).unwrap() {
        let p = e.unwrap().path();
        let bytes = std::fs::read(&p).unwrap();
        std::fs::write(&p, bytes).unwrap();
    }
    let (_, report) = d.build(&[]);
    assert_eq!(report["summary"]["built"], 0, "{report}");
}

#[test]
fn changing_one_source_rebuilds_exactly_its_readers() {
    let d = Deposition::new();
    assert_eq!(d.build(&[]).0.code, 0);
    let rawtlt = d.input().join("demo_source/metadata/TS_01.rawtlt");
    let mut text = std::fs::read_to_string(&rawtlt).unwrap();
    text.push_str("9.00\n");
    std::fs::write(&rawtlt, text).unwrap();
    let (run, report) = d.build(&[]);
    assert_eq!(run.code, 0, "{run:?}");
    assert_eq!(
        ids_with(&report, "built"),
        vec!["19999/TS_01/TiltSeries/100/TS_01.rawtlt"]
    );

    // The mdoc feeds the copied mdoc and, through its output digest, the frames metadata.
    let mdoc = d.input().join("demo_source/metadata/TS_02.mdoc");
    let text = std::fs::read_to_string(&mdoc)
        .unwrap()
        .replace("ExposureTime = 1.00", "ExposureTime = 1.50");
    std::fs::write(&mdoc, text).unwrap();
    let (_, report) = d.build(&[]);
    assert_eq!(
        ids_with(&report, "built"),
        vec!["19999/TS_02/Frames", "19999/TS_02/Frames/TS_02.mdoc"]
    );
}

#[test]
fn changing_one_metadata_field_rebuilds_only_that_entity() {
    let d = Deposition::new();
    assert_eq!(d.build(&[]).0.code, 0);
    d.edit_config("method_type: fiducial_based", "method_type: patch_tracking");
    let (_, report) = d.build(&[]);
    assert_eq!(
        ids_with(&report, "built"),
        vec!["19999/TS_01/Alignments/100", "19999/TS_02/Alignments/100"]
    );
    let align = read_json(
        &d.output()
            .join("19999/TS_02/Alignments/100/alignment_metadata.json"),
    );
    assert_eq!(align["method_type"], "patch_tracking");
}

#[test]
fn early_cutoff_keeps_children_fresh_when_a_parent_output_is_identical() {
    let d = Deposition::new();
    assert_eq!(d.build(&[]).0.code, 0);
    // Forcing the mdoc copies rebuilds them with identical bytes: frames stay fresh.
    let (_, report) = d.build(&[
        "--only",
        "collection_metadata",
        "frame",
        "--force",
        "--filter",
        "run=TS_01",
    ]);
    let built = ids_with(&report, "built");
    assert!(
        built.contains(&"19999/TS_01/Frames/TS_01.mdoc".to_string()),
        "{built:?}"
    );
    let (_, report) = d.build(&[]);
    assert_eq!(report["summary"]["built"], 0, "{report}");
}

#[test]
fn ids_are_stable_and_new_depositions_get_the_next_number() {
    let d = Deposition::new();
    assert_eq!(d.build(&[]).0.code, 0);
    // Another deposition adding an alignment to the same runs gets folder 101; re-runs keep 100.
    d.edit_config(
        "    format: IMOD\n",
        "    format: IMOD\n    deposition_id: 20001\n",
    );
    let (run, report) = d.build(&[]);
    assert_eq!(run.code, 0, "{run:?}");
    let built = ids_with(&report, "built");
    assert!(
        built.contains(&"19999/TS_01/Alignments/101".to_string()),
        "{built:?}"
    );
    assert!(d
        .output()
        .join("19999/TS_01/Alignments/100/alignment_metadata.json")
        .exists());
    let (_, again) = d.build(&[]);
    assert_eq!(again["summary"]["built"], 0, "{again}");
}

#[test]
fn dry_run_plans_without_writing() {
    let d = Deposition::new();
    let run = d.ingest("build", &["--dry-run"]);
    assert_eq!(run.code, 0, "{run:?}");
    assert!(run.stdout.contains("would build"), "{}", run.stdout);
    assert!(run.stderr.contains("never built"), "{}", run.stderr);
    assert!(!d.output().exists());
}

#[test]
fn only_and_filters_select_targets() {
    let d = Deposition::new();
    let (run, report) = d.build(&["--only", "rawtilt", "--exclude", "run=TS_02"]);
    assert_eq!(run.code, 0, "{run:?}");
    assert_eq!(
        ids_with(&report, "built"),
        vec!["19999/TS_01/TiltSeries/100/TS_01.rawtlt"]
    );
}
