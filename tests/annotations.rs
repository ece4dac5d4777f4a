//! Annotations: masks through the volume code, metadata JSONs with their file lists, stable
//! IDs, and incremental rebuilds (a new block, a metadata edit).

use crate::common::{ids_with, read_json, Deposition};

const ANN1: &str = "19999/TS_01/Reconstructions/VoxelSpacing13.480/Annotations";

#[test]
fn masks_and_their_metadata_are_written_per_block() {
    let d = Deposition::new();
    let (run, _) = d.build(&[]);
    assert_eq!(run.code, 0, "{run:?}");
    let out = d.output();
    let membrane = read_json(&out.join(format!("{ANN1}/100/membrane-1.0.json")));
    assert_eq!(membrane["object_count"], 0);
    assert_eq!(membrane["annotation_object"]["name"], "membrane");
    assert_eq!(
        membrane["alignment_metadata_path"],
        "19999/TS_01/Alignments/100/alignment_metadata.json"
    );
    let files = membrane["files"].as_array().unwrap();
    assert_eq!(files.len(), 2);
    assert_eq!(files[0]["format"], "zarr");
    assert_eq!(files[0]["shape"], "SegmentationMask");
    assert_eq!(
        files[0]["path"],
        format!("{ANN1}/100/membrane-1.0_segmentationmask.zarr")
    );
    assert_eq!(files[1]["format"], "mrc");
    assert_eq!(files[0]["is_visualization_default"], true);
    let instances = read_json(&out.join(format!("{ANN1}/102/vesicle-1.0.json")));
    assert_eq!(instances["object_count"], 2);
    assert_eq!(instances["files"][0]["shape"], "InstanceSegmentationMask");
    assert!(out
        .join(format!("{ANN1}/101/vesicle-1.0_segmentationmask.mrc"))
        .exists());
}

#[test]
fn an_annotation_metadata_edit_rewrites_only_its_json() {
    let d = Deposition::new();
    assert_eq!(d.build(&[]).0.code, 0);
    d.edit_config("name: membrane\n", "name: plasma membrane\n");
    let (run, report) = d.build(&[]);
    assert_eq!(run.code, 0, "{run:?}");
    // The object name is in the prefix: the JSON moves to a new name, the mask is converted
    // again under the new prefix (its outputs are new files), nothing else rebuilds.
    let built = ids_with(&report, "built");
    assert!(
        built.iter().all(|id| id.contains("/Annotations/100/")),
        "{built:?}"
    );
    // A field outside the prefix rewrites the JSON only.
    d.edit_config("is_curator_recommended: false\n    method_type: automated\n    version: 1.0\n  sources:\n  - SemanticSegmentationMask:\n      file_format: mrc\n      glob_string: labels/{run_name}_labels.mrc\n      is_visualization_default: false",
                  "is_curator_recommended: true\n    method_type: automated\n    version: 1.0\n  sources:\n  - SemanticSegmentationMask:\n      file_format: mrc\n      glob_string: labels/{run_name}_labels.mrc\n      is_visualization_default: false");
    let (_, report) = d.build(&[]);
    assert_eq!(
        ids_with(&report, "built"),
        vec![
            "19999/TS_01/Reconstructions/VoxelSpacing13.480/Annotations/101/vesicle-1.0",
            "19999/TS_02/Reconstructions/VoxelSpacing13.480/Annotations/101/vesicle-1.0"
        ]
    );
}

#[test]
fn adding_one_annotation_block_builds_only_it() {
    let d = Deposition::new();
    assert_eq!(d.build(&[]).0.code, 0);
    let block = "annotations:\n- metadata:\n    annotation_ingest_id: lumen-1\n    annotation_method: threshold\n    annotation_object:\n      id: GO:0031974\n      name: lumen\n    authors: *authors\n    dates: *dates\n    ground_truth_status: false\n    method_type: automated\n    version: 1.0\n  sources:\n  - SemanticSegmentationMask:\n      file_format: mrc\n      glob_string: labels/{run_name}_labels.mrc\n      is_visualization_default: false\n      threshold: 0.5\n";
    d.edit_config("annotations:\n", block);
    let explain = d.ingest("explain", &[&format!("{ANN1}/104/lumen-1.0")]);
    assert!(
        explain
            .stdout
            .contains("lumen-1.0 (annotation): stale\n  - never built"),
        "{}",
        explain.stdout
    );
    let (run, report) = d.build(&[]);
    assert_eq!(run.code, 0, "{run:?}");
    let vs = |r: &str| format!("19999/{r}/Reconstructions/VoxelSpacing13.480/Annotations/104");
    assert_eq!(
        ids_with(&report, "built"),
        vec![
            format!("{}/lumen-1.0", vs("TS_01")),
            format!("{}/lumen-1.0_segmentationmask", vs("TS_01")),
            format!("{}/lumen-1.0", vs("TS_02")),
            format!("{}/lumen-1.0_segmentationmask", vs("TS_02")),
        ]
    );
    // IDs of the existing annotations did not move.
    assert!(d
        .output()
        .join(format!("{ANN1}/100/membrane-1.0.json"))
        .exists());
}

#[test]
fn a_mask_label_absent_from_the_source_writes_nothing() {
    let d = Deposition::new();
    d.edit_config("mask_label: 2\n", "mask_label: 7\n");
    let (run, _) = d.build(&[]);
    assert_eq!(run.code, 0, "{run:?}");
    assert!(!d.output().join(format!("{ANN1}/101")).exists());
}

#[test]
fn point_picks_become_ndjson_and_a_pick_file_edit_rebuilds_that_run_only() {
    let d = Deposition::new();
    assert_eq!(d.build(&[]).0.code, 0);
    let ndjson = d
        .output()
        .join(format!("{ANN1}/103/cytosolic_ribosome-1.0_point.ndjson"));
    let text = std::fs::read_to_string(&ndjson).unwrap();
    assert_eq!(text.lines().count(), 12);
    let first: serde_json::Value = serde_json::from_str(text.lines().next().unwrap()).unwrap();
    assert_eq!(first["type"], "point");
    let csv = std::fs::read_to_string(d.input().join("demo_source/particles/TS_01_ribosomes.csv"))
        .unwrap();
    let x: f64 = csv.split(',').next().unwrap().parse().unwrap();
    assert_eq!(first["location"]["x"].as_f64().unwrap(), x);
    let md = read_json(
        &d.output()
            .join(format!("{ANN1}/103/cytosolic_ribosome-1.0.json")),
    );
    assert_eq!(md["object_count"], 12);
    assert_eq!(md["files"][0]["format"], "ndjson");

    std::fs::write(
        d.input().join("demo_source/particles/TS_01_ribosomes.csv"),
        format!("{csv}1.0,2.0,3.0\n"),
    )
    .unwrap();
    let (_, report) = d.build(&[]);
    assert_eq!(
        ids_with(&report, "built"),
        vec![
            format!("{ANN1}/103/cytosolic_ribosome-1.0"),
            format!("{ANN1}/103/cytosolic_ribosome-1.0_point.ndjson"),
        ]
    );
    let md = read_json(
        &d.output()
            .join(format!("{ANN1}/103/cytosolic_ribosome-1.0.json")),
    );
    assert_eq!(md["object_count"], 13);
}

#[test]
fn a_malformed_pick_file_fails_its_annotation_naming_the_file_and_line() {
    let d = Deposition::new();
    std::fs::write(
        d.input().join("demo_source/particles/TS_02_ribosomes.csv"),
        "1.0,2.0,3.0\n4.0,oops,6.0\n",
    )
    .unwrap();
    let (run, report) = d.build(&[]);
    assert_eq!(run.code, 1, "{run:?}");
    let failed = ids_with(&report, "failed");
    assert!(
        failed
            .iter()
            .all(|id| id.contains("TS_02") && id.contains("cytosolic_ribosome")),
        "{failed:?}"
    );
    assert!(
        run.stderr.contains("TS_02_ribosomes.csv:2"),
        "{}",
        run.stderr
    );
}

#[test]
fn identified_objects_keep_the_run_s_rows() {
    let d = Deposition::new();
    std::fs::create_dir_all(d.input().join("demo_source/objects")).unwrap();
    std::fs::write(
        d.input().join("demo_source/objects/identified.csv"),
        "run_name,object_id,name\nTS_01,GO:0022626,ribosome\nTS_02,GO:0005739,mitochondrion\nTS_01,GO:0005874,microtubule\n",
    )
    .unwrap();
    d.edit_config(
        "runs:\n- sources:",
        "identified_objects:\n- metadata:\n    object_count: 0\n  sources:\n  - source_glob:\n      list_glob: objects/identified.csv\nruns:\n- sources:",
    );
    let (run, report) = d.build(&[]);
    assert_eq!(run.code, 0, "{run:?}");
    assert!(ids_with(&report, "built").contains(&"19999/TS_01/IdentifiedObjects".to_string()));
    let dir = d.output().join("19999/TS_01/IdentifiedObjects");
    let objects = read_json(&dir.join("identified_objects.json"));
    assert_eq!(
        objects,
        serde_json::json!([
            {"object_id": "GO:0022626", "name": "ribosome"},
            {"object_id": "GO:0005874", "name": "microtubule"}
        ])
    );
    let md = read_json(&dir.join("identified_objects_metadata.json"));
    assert_eq!(md["object_count"], 2);
    assert_eq!(md["columns"], serde_json::json!(["object_id", "name"]));
    assert_eq!(md["file_format"], "json");
    assert_eq!(md["identifier"], 100);
    assert!(md["source_file"]
        .as_str()
        .unwrap()
        .ends_with("demo_source/objects/identified.csv"));
}

#[test]
fn an_ome_zarr_mask_source_is_converted_too() {
    let d = Deposition::new();
    assert_eq!(d.build(&[]).0.code, 0);
    // Use the membrane mask we wrote as an OME-Zarr source for a new block.
    for run in ["TS_01", "TS_02"] {
        let from = d.output().join(format!(
            "19999/{run}/Reconstructions/VoxelSpacing13.480/Annotations/100/membrane-1.0_segmentationmask.zarr"
        ));
        let to = d
            .input()
            .join(format!("demo_source/labels/{run}_membrane.zarr"));
        copy_dir(&from, &to);
    }
    let block = "annotations:\n- metadata:\n    annotation_ingest_id: membrane-copy-1\n    annotation_object:\n      id: GO:0016020\n      name: membrane copy\n    authors: *authors\n    dates: *dates\n    ground_truth_status: false\n    method_type: automated\n    version: 1.0\n  sources:\n  - SemanticSegmentationMask:\n      file_format: zarr\n      glob_string: labels/{run_name}_membrane.zarr\n      is_visualization_default: false\n";
    d.edit_config("annotations:\n", block);
    let (run, _) = d.build(&[]);
    assert_eq!(run.code, 0, "{run:?}");
    let dir = d.output().join(format!("{ANN1}/104"));
    for name in ["0/0/0/0", "1/0/0/0", "2/0/0/0"] {
        let original = std::fs::read(d.output().join(format!(
            "{ANN1}/100/membrane-1.0_segmentationmask.zarr/{name}"
        )))
        .unwrap();
        let copy =
            std::fs::read(dir.join(format!("membrane_copy-1.0_segmentationmask.zarr/{name}")))
                .unwrap();
        // Blosc is run single-threaded, so the same data gives the same chunk bytes.
        assert!(original == copy, "chunk {name} differs");
    }
}

fn copy_dir(from: &std::path::Path, to: &std::path::Path) {
    std::fs::create_dir_all(to).unwrap();
    for e in std::fs::read_dir(from).unwrap() {
        let e = e.unwrap();
        let dest = to.join(e.file_name());
        if e.path().is_dir() {
            copy_dir(&e.path(), &dest);
        } else {
            std::fs::copy(e.path(), dest).unwrap();
        }
    }
}
