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
    let built = crate::common::without_states(ids_with(&report, "built"));
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
    // A new last digit that still rounds to the mdoc's angle: the copy and the tilt-series
    // metadata that reads it rebuild, nothing else.
    let text = std::fs::read_to_string(&rawtlt)
        .unwrap()
        .replace("-6.00", "-6.001");
    std::fs::write(&rawtlt, text).unwrap();
    let (run, report) = d.build(&[]);
    assert_eq!(run.code, 0, "{run:?}");
    assert_eq!(
        crate::common::without_states(ids_with(&report, "built")),
        vec![
            "19999/TS_01/TiltSeries/100",
            "19999/TS_01/TiltSeries/100/TS_01.rawtlt"
        ]
    );

    // The mdoc feeds the copied mdoc and, through its output digest, the frames metadata.
    let mdoc = d.input().join("demo_source/metadata/TS_02.mdoc");
    let text = std::fs::read_to_string(&mdoc)
        .unwrap()
        .replace("ExposureTime = 1.00", "ExposureTime = 1.50");
    std::fs::write(&mdoc, text).unwrap();
    let (_, report) = d.build(&[]);
    assert_eq!(
        crate::common::without_states(ids_with(&report, "built")),
        vec![
            "19999/TS_02/Frames",
            "19999/TS_02/Frames/TS_02.mdoc",
            "19999/TS_02/TiltSeries/100"
        ]
    );
}

#[test]
fn changing_one_metadata_field_rebuilds_only_that_entity() {
    let d = Deposition::new();
    assert_eq!(d.build(&[]).0.code, 0);
    d.edit_config("method_type: fiducial_based", "method_type: patch_tracking");
    let (_, report) = d.build(&[]);
    assert_eq!(
        crate::common::without_states(ids_with(&report, "built")),
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
    let built = crate::common::without_states(ids_with(&report, "built"));
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
    let built = crate::common::without_states(ids_with(&report, "built"));
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
        crate::common::without_states(ids_with(&report, "built")),
        vec!["19999/TS_01/TiltSeries/100/TS_01.rawtlt"]
    );
}

const TOMO1: &str = "19999/TS_01/Reconstructions/VoxelSpacing13.480/Tomograms/100";

#[test]
fn volumes_are_converted_with_their_metadata_and_key_images() {
    let d = Deposition::new();
    let (run, report) = d.build(&[]);
    assert_eq!(run.code, 0, "{run:?}");
    let built = crate::common::without_states(ids_with(&report, "built"));
    for id in [
        format!("{TOMO1}/TS_01"),
        TOMO1.to_string(),
        "19999/TS_01/Reconstructions/VoxelSpacing13.480/Images/100".to_string(),
        "19999/TS_01/TiltSeries/100/TS_01".to_string(),
        "19999/TS_01/TiltSeries/100".to_string(),
    ] {
        assert!(built.contains(&id), "{id} not in {built:?}");
    }
    let out = d.output();
    let tomo = read_json(&out.join(format!("{TOMO1}/tomogram_metadata.json")));
    assert_eq!(tomo["size"], serde_json::json!({"z": 16, "y": 32, "x": 32}));
    assert_eq!(
        tomo["scales"][2],
        serde_json::json!({"z": 4, "y": 8, "x": 8})
    );
    assert_eq!(tomo["omezarr_dir"], format!("{TOMO1}/TS_01.zarr"));
    assert_eq!(tomo["voxel_spacing"], 13.48);
    assert_eq!(
        tomo["alignment_metadata_path"],
        format!("{RUN1}/Alignments/100/alignment_metadata.json")
    );
    assert_eq!(tomo["fiducial_alignment_status"], "FIDUCIAL");
    for name in ["original", "snapshot", "thumbnail", "expanded"] {
        let png = out.join(format!(
            "19999/TS_01/Reconstructions/VoxelSpacing13.480/Images/100/key-photo-{name}.png"
        ));
        assert!(
            std::fs::read(&png).unwrap().starts_with(b"\x89PNG"),
            "{}",
            png.display()
        );
    }
    let ts = read_json(&out.join(format!("{RUN1}/TiltSeries/100/tiltseries_metadata.json")));
    assert_eq!(ts["size"], serde_json::json!({"z": 5, "y": 32, "x": 32}));
    assert_eq!(ts["pixel_spacing"], 3.37);
    assert_eq!(ts["frames_count"], 5);
    assert_eq!(
        ts["raw_tlt_path"],
        format!("{RUN1}/TiltSeries/100/TS_01.rawtlt")
    );
    assert_eq!(
        ts["ctf_path"],
        format!("{RUN1}/TiltSeries/100/TS_01_CTFFIND_ctf.txt")
    );
    let psp = ts["per_section_parameter"].as_array().unwrap();
    assert_eq!(psp.len(), 5);
    // Acquisition order is dose-symmetric from 0°: -6° was acquired fourth (ZValue 3).
    assert_eq!(psp[0]["frame_acquisition_order"], 3);
    assert_eq!(psp[0]["major_defocus"], 30000.0);
}

#[test]
fn a_tomogram_metadata_edit_does_not_reconvert_the_volume() {
    let d = Deposition::new();
    assert_eq!(d.build(&[]).0.code, 0);
    d.edit_config(
        "reconstruction_software: IMOD",
        "reconstruction_software: AreTomo",
    );
    let (_, report) = d.build(&[]);
    assert_eq!(
        crate::common::without_states(ids_with(&report, "built")),
        vec![
            "19999/TS_01/Reconstructions/VoxelSpacing13.480/Tomograms/100",
            "19999/TS_02/Reconstructions/VoxelSpacing13.480/Tomograms/100"
        ]
    );
}

#[test]
fn a_new_tomogram_source_rebuilds_that_run_s_volume_and_dependents_only() {
    let d = Deposition::new();
    assert_eq!(d.build(&[]).0.code, 0);
    let src = d.input().join("demo_source/tomograms/TS_02.mrc");
    let mut bytes = std::fs::read(&src).unwrap();
    let last = bytes.len() - 1;
    bytes[last] ^= 0x40; // one voxel changes
    std::fs::write(&src, bytes).unwrap();
    let (run, report) = d.build(&[]);
    assert_eq!(run.code, 0, "{run:?}");
    let vs2 = "19999/TS_02/Reconstructions/VoxelSpacing13.480";
    assert_eq!(
        crate::common::without_states(ids_with(&report, "built")),
        vec![
            // The alignment reads the tomogram's source header (volume_dimension).
            "19999/TS_02/Alignments/100".to_string(),
            format!("{vs2}/Images/100"),
            format!("{vs2}/Tomograms/100"),
            format!("{vs2}/Tomograms/100/TS_02"),
        ]
    );
}

#[test]
fn tomogram_header_finds_voxel_spacings_from_headers_only() {
    let d = Deposition::new();
    d.edit_config(
        "voxel_spacings:\n- sources:\n  - literal:\n      value:\n      - 13.48",
        "voxel_spacings:\n- sources:\n  - tomogram_header:\n      list_glob: tomograms/{run_name}.mrc\n      header_key: voxel_size",
    );
    let (run, report) = d.build(&[]);
    assert_eq!(run.code, 0, "{run:?}");
    // cella.y / my of the generated MRCs is 13.48 Å: the same folder as the literal gives.
    assert!(crate::common::without_states(ids_with(&report, "built")).contains(&TOMO1.to_string()));
}

/// The reference names a rawtilt copy `{run}.rawtlt` whatever the source's extension; when
/// several rawtilt sources exist they all write that file and the last one's bytes remain, and
/// the tilt series' per-section parameters read that copy.
#[test]
fn rawtilt_copies_are_named_run_rawtlt_whatever_the_source_extension() {
    let d = Deposition::new();
    let meta = d.input().join("demo_source/metadata");
    for run in ["TS_01", "TS_02"] {
        // The same angles, spelled differently, so the copy shows which source it came from.
        let text = std::fs::read_to_string(meta.join(format!("{run}.rawtlt"))).unwrap();
        let tlt: String = text.lines().map(|l| format!("  {l}\n")).collect();
        std::fs::write(meta.join(format!("{run}_angles.tlt")), tlt).unwrap();
    }
    d.edit_config(
        "      list_glob: metadata/{run_name}.rawtlt\n",
        "      list_glob: metadata/{run_name}.rawtlt\n  - source_glob:\n      \
         list_glob: metadata/{run_name}_angles.tlt\n",
    );
    let (run, report) = d.build(&[]);
    assert_eq!(run.code, 0, "{run:?}");
    let built = ids_with(&report, "built");
    let copy = format!("{RUN1}/TiltSeries/100/TS_01.rawtlt");
    assert!(built.contains(&copy), "{copy} not in {built:?}");
    assert!(
        !built.iter().any(|id| id.ends_with(".tlt")),
        "no copy keeps the .tlt extension: {built:?}"
    );
    let out = d.output();
    assert_eq!(
        std::fs::read(out.join(&copy)).unwrap(),
        std::fs::read(meta.join("TS_01_angles.tlt")).unwrap()
    );
    let entries: Vec<_> = std::fs::read_dir(out.join(format!("{RUN1}/TiltSeries/100")))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.contains("tlt"))
        .collect();
    assert_eq!(entries, vec!["TS_01.rawtlt".to_string()]);
    let ts = read_json(&out.join(format!("{RUN1}/TiltSeries/100/tiltseries_metadata.json")));
    assert_eq!(ts["raw_tlt_path"], copy);
    assert!(!ts["per_section_parameter"].as_array().unwrap().is_empty());
}
