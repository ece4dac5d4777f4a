//! Bad input gets a clear error naming file, entity and source; nothing partial is left.

use crate::common::{ids_with, snapshot, Deposition};

#[test]
fn malformed_yaml_names_the_file_and_line() {
    let d = Deposition::new();
    d.edit_config("runs:\n- sources:", "runs:\n- sources: [\n");
    let run = d.ingest("build", &[]);
    assert_eq!(run.code, 2, "{run:?}");
    assert!(run.stderr.contains("config.yaml"), "{}", run.stderr);
    assert!(!d.output().join("19999").exists());
}

#[test]
fn unknown_finder_kind_is_a_config_error() {
    let d = Deposition::new();
    d.edit_config("  - source_multi_glob:", "  - source_multi_globz:");
    let run = d.ingest("build", &[]);
    assert_eq!(run.code, 2, "{run:?}");
    assert!(run.stderr.contains("source_multi_globz"), "{}", run.stderr);
    assert!(run.stderr.contains("alignments[0]"), "{}", run.stderr);
}

#[test]
fn a_run_glob_matching_nothing_is_an_error_naming_the_block() {
    let d = Deposition::new();
    d.edit_config("list_glob: tomograms/*.mrc", "list_glob: tomogramz/*.mrc");
    let run = d.ingest("build", &[]);
    assert_eq!(run.code, 2, "{run:?}");
    assert!(
        run.stderr.contains("config.yaml: runs: found no run"),
        "{}",
        run.stderr
    );
}

#[test]
fn a_missing_input_folder_is_an_error() {
    let d = Deposition::new();
    std::fs::rename(d.input(), d.path("elsewhere")).unwrap();
    let run = d.ingest("build", &[]);
    assert_eq!(run.code, 2, "{run:?}");
    assert!(
        run.stderr.contains("input") && run.stderr.contains("not found"),
        "{}",
        run.stderr
    );
}

#[test]
fn an_unreadable_source_names_the_file() {
    let d = Deposition::new();
    let gain = d.input().join("demo_source/frames/gain_ref.gain");
    std::fs::remove_file(&gain).unwrap();
    std::os::unix::fs::symlink(d.path("nowhere.gain"), &gain).unwrap();
    let run = d.ingest("build", &[]);
    assert_eq!(run.code, 2, "{run:?}");
    assert!(
        run.stderr.contains("gain_ref.gain: not found"),
        "{}",
        run.stderr
    );
    assert!(
        run.stderr
            .contains("gain `gain_ref.gain` (gains[0].sources[0])"),
        "{}",
        run.stderr
    );
}

#[test]
fn a_failing_target_leaves_no_record_and_keeps_previous_outputs() {
    let d = Deposition::new();
    assert_eq!(d.build(&[]).0.code, 0);
    let frames_md = d.output().join("19999/TS_01/Frames/frames_metadata.json");
    let before = std::fs::read(&frames_md).unwrap();
    d.edit_config("dose_rate: 1.5", "dose_rate: 0");
    let (run, report) = d.build(&[]);
    assert_eq!(run.code, 1, "{run:?}");
    assert_eq!(
        ids_with(&report, "failed"),
        vec!["19999/TS_01/Frames", "19999/TS_02/Frames"]
    );
    assert!(
        run.stderr.contains("metadata.dose_rate is 0"),
        "{}",
        run.stderr
    );
    assert!(run.stdout.contains("built 0, fresh"), "{}", run.stdout);
    assert_eq!(std::fs::read(&frames_md).unwrap(), before);
    let staging = snapshot(&d.output())
        .keys()
        .filter(|p| p.starts_with(".ingest-staging"))
        .count();
    assert_eq!(staging, 0);
    // Still failing (no record was written), and fixed by restoring the field.
    let (_, again) = d.build(&[]);
    assert_eq!(again["summary"]["failed"], 2);
    d.edit_config("dose_rate: 0", "dose_rate: 1.5");
    let (run, fixed) = d.build(&[]);
    assert_eq!(run.code, 0, "{run:?}");
    assert_eq!(
        fixed["summary"]["built"], 0,
        "records of the good build still match: {fixed}"
    );
}

#[test]
fn a_raw_tilt_angle_missing_from_the_mdoc_fails_only_the_tilt_series_metadata() {
    let d = Deposition::new();
    let rawtlt = d.input().join("demo_source/metadata/TS_01.rawtlt");
    let mut text = std::fs::read_to_string(&rawtlt).unwrap();
    text.push_str("9.00\n");
    std::fs::write(&rawtlt, text).unwrap();
    let (run, report) = d.build(&[]);
    assert_eq!(run.code, 1, "{run:?}");
    assert_eq!(
        ids_with(&report, "failed"),
        vec!["19999/TS_01/TiltSeries/100"]
    );
    assert!(run.stderr.contains("TS_01.mdoc"), "{}", run.stderr);
    assert!(!d
        .output()
        .join("19999/TS_01/TiltSeries/100/tiltseries_metadata.json")
        .exists());
    assert!(d
        .output()
        .join("19999/TS_01/TiltSeries/100/TS_01.zarr/.zattrs")
        .exists());
}

#[test]
fn a_truncated_tomogram_fails_its_volume_and_leaves_nothing_partial() {
    let d = Deposition::new();
    let src = d.input().join("demo_source/tomograms/TS_02.mrc");
    let bytes = std::fs::read(&src).unwrap();
    std::fs::write(&src, &bytes[..bytes.len() / 2]).unwrap();
    let (run, report) = d.build(&[]);
    assert_eq!(run.code, 1, "{run:?}");
    let vs2 = "19999/TS_02/Reconstructions/VoxelSpacing13.480";
    let failed = ids_with(&report, "failed");
    assert!(
        failed.contains(&format!("{vs2}/Tomograms/100/TS_02")),
        "{failed:?}"
    );
    assert!(run.stderr.contains("TS_02.mrc"), "{}", run.stderr);
    assert!(!d
        .output()
        .join(format!("{vs2}/Tomograms/100/TS_02.zarr"))
        .exists());
    assert!(!d
        .output()
        .join(format!("{vs2}/Tomograms/100/TS_02.mrc"))
        .exists());
    // The other run is complete.
    assert!(d
        .output()
        .join("19999/TS_01/Reconstructions/VoxelSpacing13.480/Tomograms/100/tomogram_metadata.json")
        .exists());
}

#[test]
fn a_zero_voxel_size_in_a_header_is_an_error_naming_the_file() {
    let d = Deposition::new();
    d.edit_config(
        "voxel_spacings:\n- sources:\n  - literal:\n      value:\n      - 13.48",
        "voxel_spacings:\n- sources:\n  - tomogram_header:\n      list_glob: tomograms/{run_name}.mrc\n      header_key: voxel_size",
    );
    let src = d.input().join("demo_source/tomograms/TS_02.mrc");
    let mut bytes = std::fs::read(&src).unwrap();
    bytes[44..48].copy_from_slice(&0f32.to_le_bytes()); // cella.y = 0
    std::fs::write(&src, bytes).unwrap();
    let run = d.ingest("build", &[]);
    assert_eq!(run.code, 2, "{run:?}");
    assert!(
        run.stderr
            .contains("voxel_spacings[0].sources[0] (tomogram_header)"),
        "{}",
        run.stderr
    );
    assert!(run.stderr.contains("TS_02.mrc"), "{}", run.stderr);
    assert!(!d.output().join("19999").exists());
}

/// Every file under `root` (none when it does not exist).
fn files_under(root: &std::path::Path) -> Vec<std::path::PathBuf> {
    if root.exists() {
        snapshot(root).into_keys().collect()
    } else {
        Vec::new()
    }
}

#[test]
fn a_run_name_that_is_not_one_folder_is_refused_naming_the_block() {
    for name in ["..", "TS_01/../../escape", "a\tb"] {
        let d = Deposition::new();
        d.edit_config(
            "  - source_glob:\n      list_glob: tomograms/*.mrc\n      name_regex: (.*)\\.mrc",
            &format!(
                "  - literal:\n      value:\n      - \"{}\"",
                name.escape_default()
            ),
        );
        let run = d.ingest("build", &[]);
        assert_eq!(run.code, 2, "{name:?}: {run:?}");
        for part in [
            "config.yaml: runs[0].sources[0]: run name cannot be an output folder",
            &format!("`{}` is not a valid path segment", name.escape_debug()),
        ] {
            assert!(run.stderr.contains(part), "{name:?}: {}", run.stderr);
        }
        assert_eq!(files_under(&d.output()), Vec::<std::path::PathBuf>::new());
        assert!(!d.path("escape").exists() && !d.path("../escape").exists());
    }
}

#[test]
fn a_ctf_format_that_cannot_be_a_file_name_fails_planning_naming_the_ctf() {
    let d = Deposition::new();
    d.edit_config("    format: CTFFIND", "    format: CTFFIND/../../../x");
    let run = d.ingest("build", &[]);
    assert_eq!(run.code, 2, "{run:?}");
    for part in [
        "config.yaml: ctf",
        "(ctfs[0].sources[0])",
        "is not a valid path segment: a name must not contain `/`",
    ] {
        assert!(run.stderr.contains(part), "{}", run.stderr);
    }
    assert_eq!(files_under(&d.output()), Vec::<std::path::PathBuf>::new());
}
