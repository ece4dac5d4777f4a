//! Neuroglancer precomputed annotations (`annotation_viz`, spec §10.1): the demo's points plus
//! an oriented-point (copick) and an instance-segmentation (tardis) block, built, then read
//! back by `tests/python/read_ng_annotations.py` (a decoder written from neuroglancer's format
//! description, cloud-volume's ShardReader for the sharded `by_id`, neuroglancer's
//! CoordinateSpace for the dimensions) and checked against the NDJSON they come from.
//!
//! The demo's mask annotations are excluded by name (`--exclude annotation=.*_labels`): their
//! precomputes belong to the segmentation encoder and are tested with it.

use crate::common::{ids_with, python_script, venv_python, Deposition};
use cryoet_ingest::formats::neuroglancer::annotations::python_int_set_order;
use cryoet_ingest::palette::{color_seed, portal_colors, seed_input, to_byte};
use serde_json::{json, Value};
use std::path::{Path, PathBuf};

const VS: &str = "Reconstructions/VoxelSpacing13.480";
const NO_MASKS: [&str; 2] = ["--exclude", "annotation=.*_labels"];

/// Instance ids of the tardis files: repeats, ids colliding in an 8-slot Python set, and 1000
/// (beyond uint8, which the `name` property wraps as the reference's numpy does).
const INSTANCE_IDS: [i64; 13] = [3, 1, 3, 9, 17, 2, 1, 25, 33, 8, 0, 1000, 41];

const BLOCKS: &str = "annotations:
- metadata:
    annotation_ingest_id: picks-oriented-1
    annotation_method: subtomogram averaging
    annotation_object:
      id: GO:0022626
      name: ribosome
      diameter: 250
    authors: *authors
    dates: *dates
    ground_truth_status: false
    method_type: automated
    version: 1.0
  sources:
  - OrientedPoint:
      file_format: copick
      glob_string: oriented/{run_name}_picks.json
      is_visualization_default: false
- metadata:
    annotation_ingest_id: microtubules-1
    annotation_method: tardis
    annotation_object:
      id: GO:0005874
      name: microtubule
    authors: *authors
    dates: *dates
    ground_truth_status: true
    method_type: automated
    version: 1.0
  sources:
  - InstanceSegmentation:
      file_format: tardis
      glob_string: instances/{run_name}_mt.csv
      is_visualization_default: false
";

/// Rotation about z by `deg` degrees, then about x by 30°, as a row-major 3×3.
fn rotation(deg: f64) -> [[f64; 3]; 3] {
    let (s, c) = deg.to_radians().sin_cos();
    let (sx, cx) = 30f64.to_radians().sin_cos();
    let rz = [[c, -s, 0.0], [s, c, 0.0], [0.0, 0.0, 1.0]];
    let rx = [[1.0, 0.0, 0.0], [0.0, cx, -sx], [0.0, sx, cx]];
    let mut m = [[0.0; 3]; 3];
    for (i, row) in m.iter_mut().enumerate() {
        for (j, v) in row.iter_mut().enumerate() {
            *v = (0..3).map(|k| rx[i][k] * rz[k][j]).sum();
        }
    }
    m
}

/// Writes the copick and tardis files of both runs; `scale` multiplies TS_02's matrices.
fn write_sources(d: &Deposition, ts02_scale: f64) {
    let src = d.input().join("demo_source");
    std::fs::create_dir_all(src.join("oriented")).unwrap();
    std::fs::create_dir_all(src.join("instances")).unwrap();
    for (r, run) in ["TS_01", "TS_02"].iter().enumerate() {
        let scale = if r == 1 { ts02_scale } else { 1.0 };
        let points: Vec<Value> = (0..7)
            .map(|i| {
                let m = rotation(i as f64 * 47.0 + r as f64);
                let t: Vec<Vec<f64>> = (0..4)
                    .map(|row| {
                        (0..4)
                            .map(|col| match (row, col) {
                                (3, 3) => 1.0,
                                (3, _) | (_, 3) => 0.0,
                                _ => m[row][col] * scale,
                            })
                            .collect()
                    })
                    .collect();
                json!({
                    "location": {"x": 10.5 + i as f64 * 11.25, "y": 40.0 - i as f64 * 3.5, "z": 7.125 * i as f64},
                    "transformation_": t,
                })
            })
            .collect();
        std::fs::write(
            src.join(format!("oriented/{run}_picks.json")),
            serde_json::to_vec(&json!({"points": points})).unwrap(),
        )
        .unwrap();
        let mut csv = String::from("id,x,y,z\n");
        for (k, id) in INSTANCE_IDS.iter().enumerate() {
            csv.push_str(&format!(
                "{id},{},{},{}\n",
                k as f64 * 2.5 + 1.0,
                30.0 - k as f64,
                4.0
            ));
        }
        std::fs::write(src.join(format!("instances/{run}_mt.csv")), csv).unwrap();
    }
}

fn deposition() -> Deposition {
    let d = Deposition::new();
    d.edit_config("annotations:\n", BLOCKS);
    write_sources(&d, 1.0);
    d
}

/// The precompute folder of `run` whose name ends with `suffix`, and the NDJSON it came from.
fn precompute(d: &Deposition, run: &str, suffix: &str) -> (PathBuf, PathBuf) {
    let root = d.output().join(format!("19999/{run}/{VS}"));
    let dir = std::fs::read_dir(root.join("NeuroglancerPrecompute"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .find(|p| p.to_string_lossy().ends_with(suffix))
        .unwrap_or_else(|| panic!("no *{suffix} under {}", root.display()));
    let name = dir.file_name().unwrap().to_string_lossy().into_owned();
    let (id, stem) = name.split_once('-').unwrap();
    let ndjson = root.join(format!("Annotations/{id}/{stem}.ndjson"));
    assert!(ndjson.exists(), "{}", ndjson.display());
    (dir, ndjson)
}

fn read_precompute(dir: &Path, ndjson: &Path) -> Value {
    let out = python_script(
        "read_ng_annotations.py",
        [dir.as_os_str(), "--ndjson".as_ref(), ndjson.as_os_str()],
    );
    serde_json::from_str(&out).unwrap()
}

fn records(ndjson: &Path) -> Vec<Value> {
    std::fs::read_to_string(ndjson)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

fn location(r: &Value) -> [f64; 3] {
    ["x", "y", "z"].map(|k| r["location"][k].as_f64().unwrap())
}

fn f32s(v: &[f64]) -> Vec<f64> {
    v.iter().map(|x| f64::from(*x as f32)).collect()
}

fn as_f64s(v: &Value) -> Vec<f64> {
    v.as_array()
        .unwrap()
        .iter()
        .map(|x| x.as_f64().unwrap())
        .collect()
}

/// What every precompute shares: the info's fixed parts, one spatial cell holding every
/// annotation with ids 0..n, by_id holding the same records, sharded as the reference shards.
fn check_common(p: &Value, annotation_type: &str, n: usize) {
    let info = &p["info"];
    assert_eq!(info["@type"], "neuroglancer_annotations_v1");
    assert_eq!(info["annotation_type"], annotation_type);
    assert_eq!(p["rank"], 3);
    assert_eq!(p["scales"], json!([1.348e-9, 1.348e-9, 1.348e-9]));
    assert_eq!(p["units"], json!(["m", "m", "m"]));
    assert_eq!(info["relationships"], json!([]));
    assert_eq!(
        info["by_id"],
        json!({"key": "by_id", "sharding": {
            "@type": "neuroglancer_uint64_sharded_v1", "preshift_bits": 0, "hash": "identity",
            "minishard_bits": 10, "shard_bits": 0,
            "minishard_index_encoding": "gzip", "data_encoding": "gzip"}})
    );
    assert_eq!(info["spatial"][0]["key"], "spatial0");
    assert_eq!(info["spatial"][0]["grid_shape"], json!([1, 1, 1]));
    assert_eq!(info["spatial"][0]["limit"], n);
    assert_eq!(
        p["files"],
        json!(["by_id/0.shard", "info", "spatial0/0_0_0"])
    );
    let cell = &p["spatial"][0];
    assert_eq!(cell["cell"], "0_0_0");
    assert_eq!(cell["ids"], json!((0..n).collect::<Vec<_>>()));
    let by_id = p["by_id"].as_object().unwrap();
    assert_eq!(by_id.len(), n);
    for (i, r) in cell["records"].as_array().unwrap().iter().enumerate() {
        assert_eq!(
            &by_id[&i.to_string()],
            r,
            "by_id {i} equals its spatial copy"
        );
    }
    // chunk_size is upper − lower, at least 1.
    let (lo, hi) = (as_f64s(&info["lower_bound"]), as_f64s(&info["upper_bound"]));
    let chunk = as_f64s(&info["spatial"][0]["chunk_size"]);
    for a in 0..3 {
        assert_eq!(chunk[a], (hi[a] - lo[a]).max(1.0));
    }
}

#[test]
fn point_like_annotations_become_precomputed_annotations_that_independent_readers_decode() {
    let d = deposition();
    let (run, report) = d.build(&NO_MASKS);
    assert_eq!(run.code, 0, "{run:?}");
    let viz = crate::common::without_states(ids_with(&report, "built"))
        .into_iter()
        .filter(|id| id.contains("/NeuroglancerPrecompute/"))
        .count();
    assert_eq!(viz, 6, "three precomputes per run");

    // Points: the demo's ribosome picks, diameter defaulting to 100 / 10.
    let (dir, ndjson) = precompute(&d, "TS_01", "-cytosolic_ribosome-1.0_point");
    let p = read_precompute(&dir, &ndjson);
    let recs = records(&ndjson);
    check_common(&p, "point", recs.len());
    assert_eq!(p["record_size"], 24);
    let props = &p["info"]["properties"];
    assert_eq!(
        props,
        &json!([
            {"id": "name", "type": "uint8", "enum_values": [0], "enum_labels": ["cytosolic ribosome"]},
            {"id": "diameter", "type": "float32"},
            {"id": "point_index", "type": "float32"},
            {"id": "color", "type": "rgb"}
        ])
    );
    let locs: Vec<[f64; 3]> = recs.iter().map(location).collect();
    for a in 0..3 {
        let lo = locs.iter().map(|l| l[a]).fold(f64::INFINITY, f64::min);
        let hi = locs.iter().map(|l| l[a]).fold(f64::NEG_INFINITY, f64::max);
        assert_eq!(p["info"]["lower_bound"][a].as_f64().unwrap(), lo);
        assert_eq!(p["info"]["upper_bound"][a].as_f64().unwrap(), hi);
    }
    for (i, l) in locs.iter().enumerate() {
        let got = &p["by_id"][i.to_string()];
        assert_eq!(as_f64s(&got["geometry"]), f32s(l));
        assert_eq!(
            got["props"],
            json!({"diameter": 10.0, "point_index": i as f64, "name": 0, "color": [255, 255, 255]})
        );
    }

    // Oriented points: three lines each, 1.5 × diameter (250 / 10) along the rotated axes.
    let (dir, ndjson) = precompute(&d, "TS_02", "_orientedpoint");
    let p = read_precompute(&dir, &ndjson);
    let recs = records(&ndjson);
    assert_eq!(recs.len(), 7);
    check_common(&p, "line", 3 * recs.len());
    assert_eq!(p["record_size"], 40);
    assert_eq!(
        p["info"]["properties"][0]["enum_labels"],
        json!(["ribosome"])
    );
    assert_eq!(
        p["info"]["properties"]
            .as_array()
            .unwrap()
            .iter()
            .map(|x| x["id"].as_str().unwrap())
            .collect::<Vec<_>>(),
        [
            "name",
            "diameter",
            "point_index",
            "point_color",
            "line_color"
        ]
    );
    let mut lo = [f64::INFINITY; 3];
    let mut hi = [f64::NEG_INFINITY; 3];
    for (i, r) in recs.iter().enumerate() {
        let start = location(r);
        let m = &r["xyz_rotation_matrix"];
        for (axis, color) in [[255, 0, 0], [0, 255, 0], [0, 0, 255]].iter().enumerate() {
            let end: Vec<f64> = (0..3)
                .map(|k| start[k] + 37.5 * m[k][axis].as_f64().unwrap())
                .collect();
            let got = &p["by_id"][(3 * i + axis).to_string()];
            let mut want = f32s(&start);
            want.extend(f32s(&end));
            assert_eq!(as_f64s(&got["geometry"]), want, "line {i}.{axis}");
            assert_eq!(
                got["props"],
                json!({"diameter": 25.0, "point_index": i as f64, "name": 0,
                       "point_color": [255, 255, 255], "line_color": color})
            );
            for k in 0..3 {
                lo[k] = lo[k].min(start[k]);
                hi[k] = hi[k].max(end[k]);
            }
        }
    }
    // As the reference: the lower bound sees start points only, the upper bound end points.
    assert_eq!(as_f64s(&p["info"]["lower_bound"]), lo);
    assert_eq!(as_f64s(&p["info"]["upper_bound"]), hi);

    // Instance segmentation: labels and colours per instance, in Python's set order.
    let (dir, ndjson) = precompute(&d, "TS_01", "_instancesegmentation");
    let p = read_precompute(&dir, &ndjson);
    let recs = records(&ndjson);
    check_common(&p, "point", INSTANCE_IDS.len());
    let order: Vec<i64> = p["instance_set_order"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_i64().unwrap())
        .collect();
    assert_eq!(order.len(), 11);
    let name = &p["info"]["properties"][0];
    assert_eq!(name["type"], "uint8");
    assert_eq!(name["enum_values"], json!(order));
    assert_eq!(
        name["enum_labels"],
        json!(order
            .iter()
            .map(|i| format!("microtubule {i}"))
            .collect::<Vec<_>>())
    );
    let metadata = json!({
        "annotation_method": "tardis",
        "annotation_object": {"id": "GO:0005874", "name": "microtubule"},
        "ground_truth_status": true,
    });
    let palette = portal_colors(
        order.len(),
        &[],
        color_seed(&seed_input(&metadata, "InstanceSegmentation")),
    );
    for (i, r) in recs.iter().enumerate() {
        let id = r["instance_id"].as_i64().unwrap();
        assert_eq!(id, INSTANCE_IDS[i]);
        let c = palette[order.iter().position(|&x| x == id).unwrap()];
        let got = &p["by_id"][i.to_string()];
        assert_eq!(as_f64s(&got["geometry"]), f32s(&location(r)));
        assert_eq!(
            got["props"],
            json!({"diameter": 10.0, "point_index": i as f64, "name": id as u8,
                   "color": [to_byte(c[0]), to_byte(c[1]), to_byte(c[2])]})
        );
    }
}

#[test]
fn python_set_order_matches_cpython() {
    // Sizes across several table growths, small ids (slot order), large and negative ones
    // (probing and perturbation), repeats.
    let mut cases: Vec<Vec<i64>> = vec![vec![], vec![-1, -2, 0], INSTANCE_IDS.to_vec()];
    let mut x: u64 = 0x9E37_79B9_7F4A_7C15;
    for n in [5usize, 9, 40, 300, 3000] {
        let mut v = Vec::new();
        for k in 0..n {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            v.push(match k % 3 {
                0 => (x % 5000) as i64,
                1 => (x as i64) >> 20,
                _ => (x % 64) as i64 * 1024,
            });
        }
        cases.push(v);
    }
    let script =
        "import json,sys\nfor c in json.load(sys.stdin): print(json.dumps(list({x for x in c})))";
    let mut child = std::process::Command::new(venv_python())
        .args(["-c", script])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    use std::io::Write;
    child
        .stdin
        .take()
        .unwrap()
        .write_all(serde_json::to_string(&cases).unwrap().as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success());
    let lines: Vec<Vec<i64>> = String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines.len(), cases.len());
    for (case, want) in cases.iter().zip(lines) {
        assert_eq!(python_int_set_order(case), want, "{} ids", case.len());
    }
}

#[test]
fn adding_an_annotation_builds_only_its_precompute_and_an_unchanged_rerun_builds_nothing() {
    let d = deposition();
    assert_eq!(d.build(&NO_MASKS).0.code, 0);
    let (run, report) = d.build(&NO_MASKS);
    assert_eq!(run.code, 0, "{run:?}");
    assert_eq!(ids_with(&report, "built"), Vec::<String>::new());

    let block = "annotations:
- metadata:
    annotation_ingest_id: ribosome-copy-1
    annotation_method: template matching
    annotation_object:
      id: GO:0022626
      name: ribosome copy
    authors: *authors
    dates: *dates
    ground_truth_status: false
    method_type: automated
    version: 1.0
  sources:
  - Point:
      columns: xyz
      file_format: csv
      glob_string: particles/{run_name}_ribosomes.csv
      is_visualization_default: false
";
    d.edit_config("annotations:\n", block);
    let (run, report) = d.build(&NO_MASKS);
    assert_eq!(run.code, 0, "{run:?}");
    let built = ids_with(&report, "built");
    // Per run: the annotation, its ndjson, its precompute, and the state of the run's tomogram.
    assert_eq!(built.len(), 8, "{built:?}");
    for r in ["TS_01", "TS_02"] {
        let vs = format!("19999/{r}/{VS}");
        let states: Vec<&String> = built
            .iter()
            .filter(|b| b.starts_with(&vs) && b.ends_with("-neuroglancer_config.json"))
            .collect();
        assert_eq!(states.len(), 1, "one state rebuilt in {vs}: {built:?}");
        let id = built
            .iter()
            .find(|b| {
                b.starts_with(&format!("{vs}/Annotations/")) && b.ends_with("/ribosome_copy-1.0")
            })
            .unwrap_or_else(|| panic!("{built:?}"));
        let ann = id.split('/').nth_back(1).unwrap();
        for want in [
            format!("{vs}/Annotations/{ann}/ribosome_copy-1.0"),
            format!("{vs}/Annotations/{ann}/ribosome_copy-1.0_point.ndjson"),
            format!("{vs}/NeuroglancerPrecompute/{ann}-ribosome_copy-1.0_point"),
        ] {
            assert!(built.contains(&want), "{want} not in {built:?}");
        }
    }
}

#[test]
fn a_bad_rotation_fails_only_its_precompute_and_leaves_no_folder() {
    let d = deposition();
    write_sources(&d, 2.0);
    let (run, report) = d.build(&NO_MASKS);
    assert_eq!(run.code, 1, "{run:?}");
    let failed = crate::common::without_states(ids_with(&report, "failed"));
    assert_eq!(failed.len(), 1, "{failed:?}");
    assert!(
        failed[0].starts_with(&format!("19999/TS_02/{VS}/NeuroglancerPrecompute/"))
            && failed[0].ends_with("_orientedpoint"),
        "{failed:?}"
    );
    assert!(!d.output().join(&failed[0]).exists());
    // The error names the NDJSON read and what is wrong with it.
    assert!(
        run.stderr
            .contains("_orientedpoint.ndjson: line 1: `xyz_rotation_matrix` is not a rotation"),
        "{}",
        run.stderr
    );
    // The other run's oriented points, and everything else, were built.
    precompute(&d, "TS_01", "_orientedpoint");
    precompute(&d, "TS_02", "_instancesegmentation");
}

#[test]
fn only_annotation_viz_selects_the_precomputes() {
    let d = deposition();
    assert_eq!(d.build(&NO_MASKS).0.code, 0);
    let mut args = NO_MASKS.to_vec();
    args.extend(["--force", "--only", "annotation_viz"]);
    let (run, report) = d.build(&args);
    assert_eq!(run.code, 0, "{run:?}");
    let built = ids_with(&report, "built");
    assert_eq!(built.len(), 6, "{built:?}");
    assert!(
        built
            .iter()
            .all(|id| id.contains("/NeuroglancerPrecompute/")),
        "{built:?}"
    );
}

#[test]
fn an_oriented_mesh_file_that_is_missing_is_noted_and_the_points_still_build() {
    let d = deposition();
    d.edit_config(
        "      glob_string: oriented/{run_name}_picks.json\n",
        "      glob_string: oriented/{run_name}_picks.json\n      mesh_source_path: meshes/{run_name}_ribosome.glb\n",
    );
    let (run, _) = d.build(&NO_MASKS);
    assert_eq!(run.code, 0, "{run:?}");
    // As the reference: a warning naming the file, the points without a mesh folder.
    assert!(
        run.stderr.contains("oriented mesh file")
            && run
                .stderr
                .contains("demo_source/meshes/TS_01_ribosome.glb does not exist"),
        "{}",
        run.stderr
    );
    let (dir, _) = precompute(&d, "TS_01", "_orientedpoint");
    assert!(dir.join("info").exists());
    let mesh = dir
        .to_string_lossy()
        .replace("_orientedpoint", "_orientedmesh");
    assert!(!Path::new(&mesh).exists(), "{mesh}");
}

#[test]
fn an_oriented_mesh_is_the_glb_at_every_point_and_cloud_volume_reads_it() {
    let d = deposition();
    // A cube of 50 Å (3.7 voxels of 13.48 Å), its corner at the origin.
    let side = 50.0;
    let meshes = d.input().join("demo_source/meshes");
    std::fs::create_dir_all(&meshes).unwrap();
    for run in ["TS_01", "TS_02"] {
        std::fs::write(
            meshes.join(format!("{run}_ribosome.glb")),
            crate::annotations::glb_trimesh(side, [0.0; 3]),
        )
        .unwrap();
    }
    d.edit_config(
        "      glob_string: oriented/{run_name}_picks.json\n",
        "      glob_string: oriented/{run_name}_picks.json\n      mesh_source_path: meshes/{run_name}_ribosome.glb\n",
    );
    let (run, report) = d.build(&NO_MASKS);
    assert_eq!(run.code, 0, "{run:?}");
    let (points_dir, ndjson) = precompute(&d, "TS_01", "_orientedpoint");
    let mesh_dir = PathBuf::from(
        points_dir
            .to_string_lossy()
            .replace("_orientedpoint", "_orientedmesh"),
    );
    // The mesh folder is published by the points' target, beside the points.
    assert!(ids_with(&report, "built")
        .iter()
        .any(|id| points_dir.ends_with(id)));

    // Where the reference puts the cube: each corner in voxels (Å / voxel spacing), rotated
    // by the point's matrix, then moved to its location.
    let vs = 13.48;
    let mut lo = [f64::INFINITY; 3];
    let mut hi = [f64::NEG_INFINITY; 3];
    let mut n_points = 0;
    for line in std::fs::read_to_string(&ndjson).unwrap().lines() {
        let r: Value = serde_json::from_str(line).unwrap();
        let m = &r["xyz_rotation_matrix"];
        let t = ["x", "y", "z"].map(|k| r["location"][k].as_f64().unwrap());
        for c in 0..8 {
            let v = [c & 1, (c >> 1) & 1, (c >> 2) & 1].map(|b| b as f64 * side / vs);
            for i in 0..3 {
                let p = (0..3)
                    .map(|j| m[i][j].as_f64().unwrap() * v[j])
                    .sum::<f64>()
                    + t[i];
                lo[i] = lo[i].min(p);
                hi[i] = hi[i].max(p);
            }
        }
        n_points += 1;
    }
    assert_eq!(n_points, 7);

    let out: Value = serde_json::from_str(&python_script(
        "check_segmentation.py",
        [mesh_dir.as_os_str(), "--segments".as_ref(), "1".as_ref()],
    ))
    .unwrap();
    // No string label: no segment properties, as the reference's generate_mesh_from_lods.
    assert_eq!(out["info"]["type"], "segmentation");
    assert!(out["info"].get("segment_properties").is_none(), "{out}");
    let mesh = &out["meshes"]["1"];
    let fragments: u64 = mesh["fragments_per_lod"]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| n.as_u64().unwrap())
        .sum();
    assert_eq!(mesh["fragments_decoded"].as_u64().unwrap(), fragments);
    let lods = mesh["lods"].as_array().unwrap();
    assert!(!lods.is_empty() && lods.len() <= 3, "{mesh}");
    // LOD 0 is the cube at every point: 12 triangles each, more where the octree cuts them;
    // its bounds are the corners' (16-bit quantization of a chunk of a few tens of voxels).
    assert!(lods[0]["faces"].as_u64().unwrap() >= 12 * 7, "{mesh}");
    for a in 0..3 {
        let (min, max) = (
            lods[0]["min"][a].as_f64().unwrap(),
            lods[0]["max"][a].as_f64().unwrap(),
        );
        assert!((min - lo[a]).abs() < 0.01, "axis {a}: {min} vs {}", lo[a]);
        assert!((max - hi[a]).abs() < 0.01, "axis {a}: {max} vs {}", hi[a]);
    }
    // The size in the info is LOD 0's upper bound, rounded up.
    assert_eq!(
        out["info"]["scales"][0]["size"],
        json!(hi.map(|h| h.ceil().max(1.0)))
    );
}
