//! Parity with the reference on what real configs and real layouts do: discovery that goes on
//! past an empty parent, IDs taken before name filters, `run_name_regex`, `destination_filter`
//! and read-only references, `--metadata-only`, `--no-write-mrc/--no-write-zarr`, and the
//! annotation `pre_import` cleanup of partial folders; copick layouts (`**` globs, OME-Zarr
//! tomograms whose shape gives the alignment's `volume_dimension` and masks' `rescale`).

use crate::common::{copy_dir, ids_with, read_json, snapshot as stamps, Deposition};
use std::collections::BTreeMap;

const VS1: &str = "19999/TS_01/Reconstructions/VoxelSpacing13.480";

fn built(report: &serde_json::Value) -> Vec<String> {
    ids_with(report, "built")
}

#[test]
fn a_dataset_whose_run_blocks_find_nothing_warns_and_the_others_build() {
    let d = Deposition::new();
    d.edit_config("      - '19999'\n", "      - '19999'\n      - '29999'\n");
    d.edit_config(
        "runs:\n- sources:\n  - source_glob:\n      list_glob: tomograms/*.mrc\n      name_regex: (.*)\\.mrc",
        "runs:\n- sources:\n  - source_glob:\n      list_glob: tomograms/*.mrc\n      name_regex: (.*)\\.mrc\n    parent_filters:\n      include:\n        dataset: ['^19999$']",
    );
    let (run, report) = d.build(&[]);
    // The empty dataset has no tomogram for its key photos to fall back on: those fail, the
    // rest builds.
    assert_eq!(run.code, 1, "{run:?}");
    assert_eq!(
        ids_with(&report, "failed"),
        vec![
            "29999",
            "29999/Images/snapshot.png",
            "29999/Images/thumbnail.png"
        ]
    );
    assert!(
        run.stderr.contains("warning: ")
            && run
                .stderr
                .contains("config.yaml: runs: found no run under dataset `29999`"),
        "{}",
        run.stderr
    );
    assert!(d.output().join("19999/TS_01/run_metadata.json").exists());
    // The dataset metadata lists its photos, so it waits for them (failed above).
    assert!(!d.output().join("29999/dataset_metadata.json").exists());
    assert!(built(&report).contains(&"19999/TS_02".to_string()));
}

#[test]
fn ids_are_taken_before_the_name_filters() {
    // A run that excludes the three mask annotations numbers the points as the full run does.
    let d = Deposition::new();
    let (run, _) = d.build(&["--exclude", "annotation=TS_0._labels"]);
    assert_eq!(run.code, 0, "{run:?}");
    let ann = d.output().join(format!("{VS1}/Annotations"));
    let folders: Vec<String> = std::fs::read_dir(&ann)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert_eq!(folders, vec!["103"], "{folders:?}");
    assert!(ann.join("103/cytosolic_ribosome-1.0.json").exists());
}

#[test]
fn run_name_regex_names_runs_that_their_finder_left_unnamed() {
    let d = Deposition::new();
    d.edit_config("name_regex: (.*)\\.mrc", "name_regex: ()");
    let run = d.ingest("build", &[]);
    assert_eq!(run.code, 2, "{run:?}");
    assert!(
        run.stderr.contains(
            "runs[0]: a run was found with an empty name (demo_source/tomograms/TS_02.mrc); set standardization_config.run_name_regex"
        ),
        "{}",
        run.stderr
    );
    d.edit_config(
        "  source_prefix: demo_source\n",
        "  source_prefix: demo_source\n  run_name_regex: (TS_\\d+)\\.mrc\n",
    );
    let (run, _) = d.build(&[]);
    assert_eq!(run.code, 0, "{run:?}");
    // Both runs had the name "" and the later one replaced the earlier (the finder's rule for
    // equal names, as in the reference); the regex then names it from its path.
    let md = read_json(&d.output().join("19999/TS_02/run_metadata.json"));
    assert_eq!(md["run_name"], "TS_02");
    assert!(!d.output().join("19999/TS_01").exists());
}

#[test]
fn tomograms_found_by_destination_filter_are_referenced_read_only() {
    let d = Deposition::new();
    let (run, _) = d.build(&[]);
    assert_eq!(run.code, 0, "{run:?}");
    let tomo_dir = d.output().join(format!("{VS1}/Tomograms"));
    let before = stamps(&tomo_dir);
    d.edit_config(
        "  - source_glob:\n      list_glob: tomograms/{run_name}.mrc\n",
        "  - destination_filter:\n      filters:\n      - key: [authors, name]\n        value: Ada Lovelace\n      - key: [reconstruction_method]\n        value: WBP\n",
    );
    let (run, report) = d.build(&[]);
    assert_eq!(run.code, 0, "{run:?}");
    // Nothing of the referenced tomograms is built; what reads them (the dataset photo that
    // falls back to the first tomogram's key image) reads them from the destination.
    assert!(
        !built(&report).iter().any(|id| id.contains("/Tomograms/")),
        "{report}"
    );
    assert!(
        !report["targets"]
            .as_array()
            .unwrap()
            .iter()
            .any(|t| t["kind"] == "tomogram" || t["kind"] == "key_image"),
        "{report}"
    );
    assert_eq!(stamps(&tomo_dir), before);
    assert!(d.output().join("19999/Images/snapshot.png").exists());

    // A filter that matches no metadata finds nothing (and there is no default tomogram), so
    // the dataset photos have no key image to fall back on.
    d.edit_config("value: WBP", "value: SART");
    let (run, report) = d.build(&[]);
    assert_eq!(run.code, 1, "{run:?}");
    assert_eq!(
        ids_with(&report, "failed"),
        vec![
            "19999",
            "19999/Images/snapshot.png",
            "19999/Images/thumbnail.png"
        ]
    );
    assert!(
        !report["targets"]
            .as_array()
            .unwrap()
            .iter()
            .any(|t| t["kind"] == "tomogram"),
        "{report}"
    );
}

#[test]
fn assets_added_to_a_referenced_dataset_leave_it_and_its_runs_untouched() {
    let d = Deposition::new();
    let (run, _) = d.build(&[]);
    assert_eq!(run.code, 0, "{run:?}");
    let out = d.output();
    let kept = [
        "19999/dataset_metadata.json",
        "19999/Images/snapshot.png",
        "19999/Images/thumbnail.png",
        "19999/TS_01/run_metadata.json",
    ];
    let before: Vec<_> = kept
        .iter()
        .map(|k| std::fs::metadata(out.join(k)).unwrap().modified().unwrap())
        .collect();
    // The real configs' way of adding annotations (deposition_10301.yaml): the dataset and
    // runs are references into the destination; here the dataset also changes its metadata,
    // which a reference must not write.
    d.edit_config(
        "  sources:\n  - literal:\n      value:\n      - '19999'\n",
        "  sources:\n  - destination_glob:\n      list_glob: '{output_path}/19999'\n",
    );
    d.edit_config(
        "dataset_title: Demo dataset",
        "dataset_title: Demo dataset, edited",
    );
    d.edit_config(
        "  - source_glob:\n      list_glob: tomograms/*.mrc\n      name_regex: (.*)\\.mrc",
        "  - destination_glob:\n      list_glob: '{dataset_output_path}/TS_*'",
    );
    d.edit_config("cytosolic ribosome", "cytosolic ribosome 80S");
    let (run, report) = d.build(&[]);
    assert_eq!(run.code, 0, "{run:?}");
    let after: Vec<_> = kept
        .iter()
        .map(|k| std::fs::metadata(out.join(k)).unwrap().modified().unwrap())
        .collect();
    assert_eq!(before, after, "{report}");
    let kinds: Vec<&str> = report["targets"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["kind"].as_str().unwrap())
        .collect();
    assert!(
        !kinds
            .iter()
            .any(|k| matches!(*k, "dataset" | "run" | "dataset_keyphoto")),
        "{kinds:?}"
    );
    // The new annotation (another object name, so another prefix) is built into the runs.
    assert!(out
        .join(format!(
            "{VS1}/Annotations/103/cytosolic_ribosome_80s-1.0.json"
        ))
        .exists());
}

#[test]
fn metadata_only_rewrites_metadata_and_leaves_data_for_later() {
    let d = Deposition::new();
    let (run, _) = d.build(&[]);
    assert_eq!(run.code, 0, "{run:?}");
    d.edit_config(
        "reconstruction_software: IMOD",
        "reconstruction_software: IMOD 4.11",
    );
    std::fs::write(
        d.input().join("demo_source/particles/TS_01_ribosomes.csv"),
        "1.0,2.0,3.0\n",
    )
    .unwrap();
    let (run, report) = d.build(&["--metadata-only"]);
    assert_eq!(run.code, 0, "{run:?}");
    let mut b = built(&report);
    b.sort();
    // The tomogram metadata only; the pick file's NDJSON waits for a data build.
    assert_eq!(
        b,
        vec![
            format!("{VS1}/Tomograms/100"),
            "19999/TS_02/Reconstructions/VoxelSpacing13.480/Tomograms/100".to_string(),
        ],
        "{report}"
    );
    let md = read_json(
        &d.output()
            .join(format!("{VS1}/Tomograms/100/tomogram_metadata.json")),
    );
    assert_eq!(md["reconstruction_software"], "IMOD 4.11");
    let (run, report) = d.build(&[]);
    assert_eq!(run.code, 0, "{run:?}");
    assert!(built(&report).contains(&format!(
        "{VS1}/Annotations/103/cytosolic_ribosome-1.0_point.ndjson"
    )));
}

#[test]
fn no_write_mrc_and_no_write_zarr_keep_the_metadata_and_are_keyed() {
    let d = Deposition::new();
    // A fresh OUTPUT without zarrs: the metadata has no zarr to read and says why.
    let (run, _) = d.build(&["--no-write-zarr", "--only", "tomogram"]);
    assert_eq!(run.code, 1, "{run:?}");
    assert!(
        run.stderr
            .contains("(with --no-write-zarr the metadata reads the zarr already in OUTPUT)"),
        "{}",
        run.stderr
    );
    let tomo = d.output().join(format!("{VS1}/Tomograms/100"));
    assert!(tomo.join("TS_01.mrc").exists());
    assert!(!tomo.join("TS_01.zarr").exists());

    let (run, _) = d.build(&[]);
    assert_eq!(run.code, 0, "{run:?}");
    let md_before = std::fs::read(tomo.join("tomogram_metadata.json")).unwrap();
    std::fs::remove_file(tomo.join("TS_01.mrc")).unwrap();
    let mask = d.output().join(format!(
        "{VS1}/Annotations/100/membrane-1.0_segmentationmask.mrc"
    ));
    std::fs::remove_file(&mask).unwrap();
    // --no-write-mrc: the volumes rebuild (their key names the files written) without MRCs;
    // the metadata still names the MRC; the key images read the MRC in OUTPUT, gone here.
    let (run, report) = d.build(&["--no-write-mrc"]);
    assert_eq!(run.code, 1, "{run:?}");
    assert!(built(&report).contains(&format!("{VS1}/Tomograms/100/TS_01")));
    assert!(!tomo.join("TS_01.mrc").exists());
    assert!(!mask.exists());
    assert!(tomo.join("TS_01.zarr/.zattrs").exists());
    let md = read_json(&tomo.join("tomogram_metadata.json"));
    assert_eq!(md["mrc_file"], format!("{VS1}/Tomograms/100/TS_01.mrc"));
    // (And the dataset photos that fall back to them.)
    assert_eq!(
        crate::common::without_states(ids_with(&report, "failed")),
        vec![
            "19999".to_string(),
            "19999/Images/snapshot.png".to_string(),
            "19999/Images/thumbnail.png".to_string(),
            format!("{VS1}/Images/100"),
        ],
        "{report}"
    );
    // The default build rewrites the MRCs (the keys differ again) and the same metadata.
    let (run, report) = d.build(&[]);
    assert_eq!(run.code, 0, "{run:?}");
    assert!(built(&report).contains(&format!("{VS1}/Tomograms/100/TS_01")));
    assert!(tomo.join("TS_01.mrc").exists() && mask.exists());
    let md_after = std::fs::read(tomo.join("tomogram_metadata.json")).unwrap();
    let strip = |b: &[u8]| {
        let mut v: serde_json::Value = serde_json::from_slice(b).unwrap();
        v.as_object_mut().unwrap().remove("last_updated_at");
        v
    };
    assert_eq!(strip(&md_before), strip(&md_after));
}

#[test]
fn partial_annotation_folders_are_removed_before_annotations_build() {
    let d = Deposition::new();
    let (run, _) = d.build(&[]);
    assert_eq!(run.code, 0, "{run:?}");
    let ann = d.output().join(format!("{VS1}/Annotations"));
    // What an interrupted run leaves: a numbered folder with data and no metadata JSON. Its
    // number is free (IDs are seeded from metadata JSONs), so the next new annotation takes it.
    std::fs::create_dir_all(ann.join("104/stale.zarr")).unwrap();
    std::fs::write(ann.join("104/stale.zarr/.zattrs"), b"{}").unwrap();
    std::fs::write(ann.join("104/other_point.ndjson"), b"").unwrap();
    std::fs::create_dir_all(ann.join("notes")).unwrap();
    std::fs::write(ann.join("notes/readme.json"), b"{}").unwrap();

    let (run, _) = d.build(&["--dry-run"]);
    assert!(
        run.stderr.contains(&format!(
            "would remove {VS1}/Annotations/104: an annotation folder with no metadata JSON"
        )),
        "{}",
        run.stderr
    );
    assert!(ann.join("104/stale.zarr").exists());
    // A build that does not build annotations leaves it.
    let (run, _) = d.build(&["--only", "tomogram"]);
    assert_eq!(run.code, 0, "{run:?}");
    assert!(ann.join("104").exists());

    d.edit_config(
        "annotations:\n",
        "annotations:\n- metadata:\n    annotation_ingest_id: ribosome-2\n    annotation_object:\n      id: GO:0022626\n      name: large ribosome\n    authors: *authors\n    dates: *dates\n    ground_truth_status: false\n    method_type: automated\n    version: 1.0\n  sources:\n  - Point:\n      columns: xyz\n      file_format: csv\n      glob_string: particles/{run_name}_ribosomes.csv\n      is_visualization_default: false\n",
    );
    let (run, _) = d.build(&[]);
    assert_eq!(run.code, 0, "{run:?}");
    assert!(
        run.stderr
            .contains(&format!("removed {VS1}/Annotations/104 (2 files)")),
        "{}",
        run.stderr
    );
    let mut left: Vec<String> = std::fs::read_dir(ann.join("104"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    left.sort();
    assert_eq!(
        left,
        vec!["large_ribosome-1.0.json", "large_ribosome-1.0_point.ndjson"]
    );
    assert!(ann.join("notes/readme.json").exists());
}

/// A half-resolution label mask (8 × 16 × 16 at 26.96 Å) that `rescale` brings to the grid of
/// the run's tomogram, in both runs, and its annotation block.
pub fn add_rescaled_mask(d: &Deposition) {
    let mut labels = vec![0i8; 8 * 16 * 16];
    for (i, v) in labels.iter_mut().enumerate() {
        *v = i8::from(i % 7 == 0);
    }
    for run in ["TS_01", "TS_02"] {
        std::fs::write(
            d.input().join(format!("demo_source/labels/{run}_half.mrc")),
            cryoet_ingest::demo::labels_mrc_bytes([8, 16, 16], 26.96, &labels),
        )
        .unwrap();
    }
    d.edit_config(
        "annotations:\n",
        "annotations:\n- metadata:\n    annotation_ingest_id: half-1\n    annotation_method: manual\n    annotation_object:\n      id: GO:0031982\n      name: half\n    authors: *authors\n    dates: *dates\n    ground_truth_status: false\n    method_type: manual\n    version: 1.0\n  sources:\n  - SemanticSegmentationMask:\n      file_format: mrc\n      glob_string: labels/{run_name}_half.mrc\n      is_visualization_default: false\n      mask_label: 1\n      rescale: true\n",
    );
}

/// Moves the tomograms of a built deposition into a copick layout as OME-Zarr sources:
/// `copick/ExperimentRuns/{run}/VoxelSpacing13.480/[sub/]wbp.zarr` (zero folders for TS_01,
/// one for TS_02) plus a decoy in a hidden folder, and points the tomogram block at them with
/// a `**` glob, as real copick configs do (the MRCs stay: the runs are named after them).
/// Clears OUTPUT and the cache.
pub fn move_tomograms_to_copick_zarrs(d: &Deposition) {
    for (run, below) in [("TS_01", ""), ("TS_02", "sub/")] {
        let built = d.output().join(format!(
            "19999/{run}/Reconstructions/VoxelSpacing13.480/Tomograms/100/{run}.zarr"
        ));
        let copick = d.input().join(format!(
            "demo_source/copick/ExperimentRuns/{run}/VoxelSpacing13.480"
        ));
        copy_dir(&built, &copick.join(format!("{below}wbp.zarr")));
        if run == "TS_01" {
            copy_dir(&built, &copick.join(".trash/wbp.zarr"));
        }
    }
    d.edit_config(
        "  - source_glob:\n      list_glob: tomograms/{run_name}.mrc\n",
        "  - source_glob:\n      list_glob: copick/ExperimentRuns/{run_name}/VoxelSpacing*/**/wbp.zarr\n",
    );
    std::fs::remove_dir_all(d.output()).unwrap();
    std::fs::remove_dir_all(d.path("cache")).unwrap();
}

/// The entries of a built tree that do not depend on whether the tomogram source was an MRC
/// or an OME-Zarr: alignment JSONs and rescaled masks (bytes), and each tomogram's level-0 zarr
/// chunks.
pub fn tomogram_dependent_outputs(root: &std::path::Path) -> BTreeMap<std::path::PathBuf, Vec<u8>> {
    stamps(root)
        .into_iter()
        .filter(|(p, _)| {
            let p = p.to_string_lossy();
            (p.contains("/Alignments/") && p.ends_with(".json"))
                || p.contains("half-1.0_segmentationmask")
                || (p.contains("/Tomograms/") && p.contains(".zarr/0/"))
        })
        .map(|(p, (_, bytes))| (p, bytes))
        .collect()
}

#[test]
fn copick_ome_zarr_tomograms_found_by_double_star_give_dimensions_and_rescale() {
    let d = Deposition::new();
    add_rescaled_mask(&d);
    let (run, _) = d.build(&[]);
    assert_eq!(run.code, 0, "{run:?}");
    let from_mrc = tomogram_dependent_outputs(&d.output());
    let alignment = read_json(
        &d.output()
            .join("19999/TS_02/Alignments/100/alignment_metadata.json"),
    );
    assert_eq!(
        alignment["volume_dimension"],
        serde_json::json!({"x": 431.36, "y": 431.36, "z": 215.68}),
        "32 × 32 × 16 voxels of 13.48 Å"
    );

    move_tomograms_to_copick_zarrs(&d);
    let (run, report) = d.build(&[]);
    assert_eq!(run.code, 0, "{run:?}");
    // One tomogram per run: the hidden folder's zarr is not found.
    let tomograms: Vec<String> = built(&report)
        .into_iter()
        .filter(|id| id.ends_with("/Tomograms/100"))
        .collect();
    assert_eq!(tomograms.len(), 2, "{tomograms:?}");
    let from_zarr = tomogram_dependent_outputs(&d.output());
    assert!(from_zarr
        .keys()
        .any(|p| p.to_string_lossy().contains("/Alignments/")));
    assert!(from_zarr
        .keys()
        .any(|p| p.to_string_lossy().contains("half-1.0")));
    assert_eq!(
        from_zarr.keys().collect::<Vec<_>>(),
        from_mrc.keys().collect::<Vec<_>>()
    );
    for (path, bytes) in &from_mrc {
        let other = &from_zarr[path];
        if path.extension().is_some_and(|e| e == "json") {
            let mut a: serde_json::Value = serde_json::from_slice(bytes).unwrap();
            let mut b: serde_json::Value = serde_json::from_slice(other).unwrap();
            a.as_object_mut().unwrap().remove("last_updated_at");
            b.as_object_mut().unwrap().remove("last_updated_at");
            assert_eq!(a, b, "{}", path.display());
        } else {
            // MRC headers carry the time they were written.
            let without_time = |b: &[u8]| {
                let mut b = b.to_vec();
                if path.extension().is_some_and(|e| e == "mrc") {
                    b[cryoet_ingest::formats::mrc::TIMESTAMP_RANGE].fill(b' ');
                }
                b
            };
            assert!(
                without_time(bytes) == without_time(other),
                "{} differs",
                path.display()
            );
        }
    }
}
