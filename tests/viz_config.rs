//! Neuroglancer states (spec §10.2): the state JSON of the demo's tomograms, the ratio rule
//! across voxel spacings, which additions rebuild them, the GMM contrast limits against
//! scikit-learn itself, and one state opened in Neuroglancer in headless Chromium.
//!
//! The annotation precompute folders are written by `annotation_viz` targets; the states only
//! check that they exist. Until those targets are merged, these tests create the folders in
//! OUTPUT (with an `info` file) as a previous ingestion would have left them, which is the
//! "already in OUTPUT" path of the states.

use crate::common::{ids_with, python_script, read_json, Deposition};
use cryoet_ingest::formats::neuroglancer::contrast::gmm_contrast_limits;
use cryoet_ingest::formats::neuroglancer::precompute_dir_name;
use cryoet_ingest::palette::{to_hex, Palette};
use serde_json::{json, Value};
use std::path::Path;

const RUN1: &str = "19999/TS_01/Reconstructions";
const PREFIX: &str = "https://files.cryoetdataportal.cziscience.com";

fn state(out: &Path, run: &str) -> Value {
    read_json(&out.join(format!(
        "19999/{run}/Reconstructions/VoxelSpacing13.480/NeuroglancerPrecompute/100-neuroglancer_config.json"
    )))
}

/// An annotation JSON: its path, its document, its layer files (path, shape).
type AnnotationJson = (String, Value, Vec<(String, String)>);

/// The annotation JSONs of a run, sorted by path.
fn annotation_files(out: &Path, run_rel: &str) -> Vec<AnnotationJson> {
    let mut jsons = Vec::new();
    let ann = out.join(run_rel).join("VoxelSpacing13.480/Annotations");
    for id in std::fs::read_dir(&ann).unwrap() {
        for f in std::fs::read_dir(id.unwrap().path()).unwrap() {
            let p = f.unwrap().path();
            if p.extension().is_some_and(|e| e == "json") {
                let rel = p.strip_prefix(out).unwrap().display().to_string();
                let doc = read_json(&p);
                let files = doc["files"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .filter(|f| ["zarr", "ndjson", "glb"].contains(&f["format"].as_str().unwrap()))
                    .map(|f| {
                        (
                            f["path"].as_str().unwrap().to_string(),
                            f["shape"].as_str().unwrap().to_string(),
                        )
                    })
                    .collect();
                jsons.push((rel, doc, files));
            }
        }
    }
    jsons.sort_by(|a, b| a.0.cmp(&b.0));
    jsons
}

/// The precompute folder name of an annotation file, from its JSON path.
fn dir_name(json: &str, shape: &str) -> String {
    let parts: Vec<&str> = json.rsplit('/').collect();
    let id: u32 = parts[1].parse().unwrap();
    precompute_dir_name(id, parts[0].trim_end_matches(".json"), shape)
}

/// Moves the precompute folder of every layer of `run_rel` whose folder name contains
/// `pattern` from VoxelSpacing13.480 to VoxelSpacing`vs` (as if its annotation were at that
/// spacing).
fn move_precompute_dirs(out: &Path, run_rel: &str, pattern: &str, vs: &str) {
    for (json, _, files) in annotation_files(out, run_rel) {
        for (_, shape) in files {
            let name = dir_name(&json, &shape);
            if !name.contains(pattern) {
                continue;
            }
            let at = |vs: &str| {
                out.join(format!(
                    "{run_rel}/VoxelSpacing{vs}/NeuroglancerPrecompute/{name}"
                ))
            };
            std::fs::create_dir_all(at(vs).parent().unwrap()).unwrap();
            std::fs::rename(at("13.480"), at(vs)).unwrap();
        }
    }
}

#[test]
fn viz_state_has_the_image_and_one_layer_per_annotation_file() {
    let d = Deposition::new();
    let (run, _) = d.build(&[]);
    assert_eq!(run.code, 0, "{run:?}");
    let out = d.output();
    // The image layer, then one layer per annotation file.
    let s = state(&out, "TS_01");
    assert_eq!(s["layers"].as_array().unwrap().len(), 5);
    let image = &s["layers"][0];
    assert_eq!(image["name"], "TS_01");
    assert_eq!(
        image["source"]["url"],
        format!("zarr://{PREFIX}/{RUN1}/VoxelSpacing13.480/Tomograms/100/TS_01.zarr")
    );
    assert_eq!(
        image["source"]["transform"]["inputDimensions"]["x"],
        json!([1.348e-9, "m"])
    );
    assert_eq!(s["dimensions"]["z"], json!([1.348e-9, "m"]));
    assert_eq!(s["position"], json!([16.0, 16.0, 8.0]));
    assert_eq!(s["deposition_id"], json!(10999));
    assert!(s["last_updated_at"].is_i64());
    let range = image["shaderControls"]["contrast_3D"]["range"]
        .as_array()
        .unwrap();
    assert!(range[0].as_f64().unwrap() < range[1].as_f64().unwrap());

    // The ribosome points' folder is at another voxel spacing (twice this one): ratio 2.
    move_precompute_dirs(&out, RUN1, "ribosome", "26.960");
    let only_states = ["--only", "viz_config"];
    let (run, report) = d.build(&only_states);
    assert_eq!(run.code, 0, "{run:?}");
    let built = ids_with(&report, "built");
    assert_eq!(
        built,
        vec![format!(
            "{RUN1}/VoxelSpacing13.480/NeuroglancerPrecompute/100-neuroglancer_config.json"
        )],
        "only the run whose OUTPUT's folders moved"
    );
    let s = state(&out, "TS_01");
    let layers = s["layers"].as_array().unwrap();
    let names: Vec<&str> = layers.iter().map(|l| l["name"].as_str().unwrap()).collect();
    assert_eq!(
        names,
        [
            "TS_01",
            "100 membrane segmentation",
            "101 vesicle segmentation",
            "102 vesicle instancesegmentation",
            "103 cytosolic ribosome point"
        ]
    );
    // Colours: the accumulating palette over the JSONs in path order; instance masks get one
    // colour per label and do not add to the exclusions.
    let mut palette = Palette::default();
    let mut li = 1;
    for (json, doc, files) in annotation_files(&out, RUN1) {
        for (path, shape) in files {
            let layer = &layers[li];
            li += 1;
            let name = dir_name(&json, &shape);
            let vs = if name.contains("ribosome") {
                "26.960"
            } else {
                "13.480"
            };
            assert_eq!(
                layer["source"]["url"],
                format!(
                    "precomputed://{PREFIX}/{RUN1}/VoxelSpacing{vs}/NeuroglancerPrecompute/{name}"
                )
            );
            let want_vis = doc["files"]
                .as_array()
                .unwrap()
                .iter()
                .find(|f| f["path"] == path.as_str())
                .unwrap()["is_visualization_default"]
                .clone();
            assert_eq!(layer["visible"], want_vis, "{name}");
            if shape == "InstanceSegmentationMask" {
                let attrs = read_json(&out.join(format!("{path}/.zattrs")));
                let labels: Vec<u64> = attrs["multiscales"][0]["metadata"]["image-label"]["colors"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|c| c["label-value"].as_u64().unwrap())
                    .collect();
                let colors = palette.next(&doc, &shape, labels.len());
                assert_eq!(layer["segments"], json!(labels));
                for (l, c) in labels.iter().zip(colors) {
                    assert_eq!(layer["segmentColors"][l.to_string()], to_hex(c));
                }
            } else {
                let c = to_hex(palette.next(&doc, &shape, 1)[0]);
                let key = if shape == "Point" {
                    "annotationColor"
                } else {
                    "segmentDefaultColor"
                };
                assert_eq!(layer[key], c, "{name}");
            }
            let scale = if vs == "26.960" { 2.696e-9 } else { 1.348e-9 };
            assert_eq!(
                layer["source"]["transform"]["inputDimensions"]["x"][0],
                json!(scale)
            );
            assert_eq!(
                layer["source"]["transform"]["outputDimensions"]["x"][0],
                json!(1.348e-9)
            );
        }
    }
    assert_eq!(li, layers.len());
    // The ratio rule: the view is scaled by the largest ratio (26.96 / 13.48 = 2).
    assert_eq!(s["position"], json!([32.0, 32.0, 16.0]));
    assert_eq!(s["crossSectionScale"], json!(2.0));
    // Another https prefix rebuilds the states (part of their key), with the new sources.
    let (run, report) = d.build(&[
        "--only",
        "viz_config",
        "--https-prefix",
        "http://127.0.0.1:9/data/",
    ]);
    assert_eq!(run.code, 0, "{run:?}");
    assert_eq!(ids_with(&report, "built").len(), 2, "{report}");
    assert_eq!(
        state(&out, "TS_01")["layers"][0]["source"]["url"],
        format!(
            "zarr://http://127.0.0.1:9/data/{RUN1}/VoxelSpacing13.480/Tomograms/100/TS_01.zarr"
        )
    );
}

#[test]
fn viz_state_an_added_annotation_rebuilds_only_its_tomogram_and_keeps_colours() {
    let d = Deposition::new();
    assert_eq!(d.build(&[]).0.code, 0);
    let out = d.output();
    let before = state(&out, "TS_01")["layers"].clone();
    let ts2 = state(&out, "TS_02");
    // A point annotation of TS_01 only.
    std::fs::write(
        d.input().join("demo_source/particles/TS_01_extra.csv"),
        "4.0,5.0,6.0\n10.0,11.0,3.0\n",
    )
    .unwrap();
    let block = "annotations:\n- metadata:\n    annotation_ingest_id: extra-1\n    annotation_method: picking\n    annotation_object:\n      id: GO:0005840\n      name: ribosome\n    authors: *authors\n    dates: *dates\n    ground_truth_status: false\n    method_type: manual\n    version: 1.0\n  sources:\n  - Point:\n      columns: xyz\n      file_format: csv\n      glob_string: particles/{run_name}_extra.csv\n      is_visualization_default: true\n";
    d.edit_config("annotations:\n", block);
    let (run, report) = d.build(&[]);
    assert_eq!(run.code, 0, "{run:?}");
    let states: Vec<String> = ids_with(&report, "built")
        .into_iter()
        .filter(|id| id.ends_with("neuroglancer_config.json"))
        .collect();
    assert_eq!(
        states,
        vec![format!(
            "{RUN1}/VoxelSpacing13.480/NeuroglancerPrecompute/100-neuroglancer_config.json"
        )]
    );
    assert_eq!(state(&out, "TS_02"), ts2);
    // Its precompute is built in the same build: the layer is added last, the others are
    // unchanged.
    let after = state(&out, "TS_01")["layers"].clone();
    let (before, after) = (before.as_array().unwrap(), after.as_array().unwrap());
    assert_eq!(after.len(), before.len() + 1);
    assert_eq!(&after[..before.len()], &before[..]);
    assert_eq!(after[before.len()]["name"], "104 ribosome point");
    assert_ne!(
        after[before.len()]["annotationColor"],
        after[4]["annotationColor"]
    );
}

#[test]
fn viz_state_of_an_annotation_only_deposition_finds_the_tomogram_in_output() {
    let d = Deposition::new();
    assert_eq!(d.build(&[]).0.code, 0);
    let out = d.output();
    // A second deposition adds points to the existing runs; its tomograms, voxel spacings and
    // alignments are the destination's.
    std::fs::write(
        d.input().join("demo_source/particles/TS_01_late.csv"),
        "4.0,5.0,6.0\n",
    )
    .unwrap();
    let config = d.path("late.yaml");
    std::fs::write(
        &config,
        "version: 1.3.0\nstandardization_config:\n  deposition_id: 10998\n  source_prefix: demo_source\n\
depositions:\n- sources:\n  - literal:\n      value:\n      - 10998\n\
datasets:\n- sources:\n  - literal:\n      value:\n      - '19999'\n\
runs:\n- sources:\n  - source_glob:\n      list_glob: particles/*_late.csv\n      name_regex: (.*)_late\\.csv\n\
voxel_spacings:\n- sources:\n  - destination_glob:\n      list_glob: '{run_output_path}/Reconstructions/VoxelSpacing*'\n      name_regex: VoxelSpacing(.*)\n\
alignments:\n- sources:\n  - destination_glob:\n      list_glob: '{run_output_path}/Alignments/100/alignment_metadata.json'\n\
annotations:\n- metadata:\n    annotation_ingest_id: late-1\n    annotation_method: picking\n    annotation_object:\n      id: GO:0005840\n      name: late ribosome\n    ground_truth_status: false\n    method_type: manual\n    version: 1.0\n  sources:\n  - Point:\n      columns: xyz\n      file_format: csv\n      glob_string: particles/{run_name}_late.csv\n      is_visualization_default: true\n",
    )
    .unwrap();
    let ingest = |args: &[&str]| {
        let mut cmd = std::process::Command::new(env!("CARGO_BIN_EXE_ingest"));
        cmd.arg("build")
            .arg(&config)
            .arg(d.input())
            .arg(&out)
            .args(args)
            .arg("--cache")
            .arg(d.path("cache-late"));
        crate::common::run(cmd)
    };
    // Only what this deposition adds (its dataset has no key photo of its own to copy).
    let only = ["--only", "annotation", "annotation_viz", "viz_config"];
    let run = ingest(&only);
    assert_eq!(run.code, 0, "{run:?}");
    let s = state(&out, "TS_01");
    let names: Vec<&str> = s["layers"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| l["name"].as_str().unwrap())
        .collect();
    assert_eq!(names[0], "TS_01");
    assert_eq!(names.last(), Some(&"104 late ribosome point"), "{names:?}");
    assert_eq!(
        names.len(),
        6,
        "the first deposition's layers are kept: {names:?}"
    );
    assert_eq!(s["deposition_id"], json!(10998));
}

#[test]
fn viz_contrast_limits_match_scikit_learn() {
    let dir = tempfile::tempdir().unwrap();
    // (shape, sampled path): 4×8×8 Floyd's sampling, 20×48×48 the tail shuffle, 120×16×16 no
    // sampling (30 central sections are fewer than 30 % of the level).
    let mut worst: f64 = 0.0;
    for (i, shape) in [[4, 8, 8], [20, 48, 48], [120, 16, 16]]
        .into_iter()
        .enumerate()
    {
        let n: usize = shape.iter().product();
        let mut rng = cryoet_ingest::demo::Rng::new(7 + i as u64);
        // Two populations (background and denser material) so several components compete.
        let data: Vec<f32> = (0..n)
            .map(|k| {
                let u = rng.next_f32() + rng.next_f32() + rng.next_f32() - 1.5;
                if k % 5 == 0 {
                    2.0 + 0.3 * u
                } else {
                    u
                }
            })
            .collect();
        let raw = dir.path().join(format!("v{i}.raw"));
        let bytes: Vec<u8> = data.iter().flat_map(|v| v.to_le_bytes()).collect();
        std::fs::write(&raw, bytes).unwrap();
        let ours = gmm_contrast_limits(&data, shape, "test").unwrap();
        let args = [raw.display().to_string()]
            .into_iter()
            .chain(shape.iter().map(|s| s.to_string()));
        let theirs: Value = serde_json::from_str(&python_script("gmm_contrast.py", args)).unwrap();
        let (lo, hi) = (
            theirs["limits"][0].as_f64().unwrap(),
            theirs["limits"][1].as_f64().unwrap(),
        );
        let width = hi - lo;
        let err = ((ours.0 - lo).abs()).max((ours.1 - hi).abs()) / width;
        worst = worst.max(err);
        assert!(
            err < 1e-4,
            "{shape:?}: ours {ours:?}, scikit-learn ({lo}, {hi})"
        );
    }
    eprintln!("largest contrast-limit difference: {worst:e} of the range");
}

/// The demo's state, with `--https-prefix` pointing at a local server of OUTPUT, opened in
/// headless Chromium with the viewer client of the `neuroglancer` wheel: the tomogram's slices
/// are drawn (many grey levels in the 3-D panel). Bounded by the script's 60 s browser timeout.
#[test]
fn viz_state_renders_in_neuroglancer_headless() {
    let d = Deposition::new();
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let prefix = format!("http://127.0.0.1:{port}");
    let (run, _) = d.build(&["--https-prefix", &prefix]);
    assert_eq!(run.code, 0, "{run:?}");
    let out = d.output();
    let state_file = out.join(format!(
        "{RUN1}/VoxelSpacing13.480/NeuroglancerPrecompute/100-neuroglancer_config.json"
    ));
    let shot = d.path("screenshot.png");
    let printed = python_script(
        "ng_screenshot.py",
        [
            out.display().to_string(),
            state_file.display().to_string(),
            port.to_string(),
            shot.display().to_string(),
        ],
    );
    let v: Value = serde_json::from_str(&printed).unwrap();
    assert_eq!(v["size"], json!([1000, 800]));
    assert!(
        v["grey_levels"].as_u64().unwrap() > 20,
        "the tomogram is not drawn: {printed}"
    );
    let _ = std::fs::copy(&shot, "/tmp/ng_screenshot.png");
}
