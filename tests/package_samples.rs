//! Sample files shipped by well-known packages, read in place and compared with the packages'
//! own readings. `tests/python/setup_venv.sh` installs `starfile` 0.5.13 and `imodmodel` 0.1.0
//! into the test venv and unpacks their sdists (the wheels carry no samples) into
//! `$venv/sample-data/`; `tests/python/dump_samples.py`, run with the venv's Python, prints what
//! the packages read from every sample as JSON. A missing venv or sample folder fails these
//! tests (run tests/python/setup_venv.sh); nothing is skipped, and every `.star` and `.mod` file
//! of the two folders must be named in one of the lists below, so a sample added by a later sdist
//! fails `every_sample_file_is_listed` until it is classified.
//!
//! starfile 0.5.13, `tests/data/`:
//! - **Coordinate table, compared**: `one_loop.star` (one `data_particles` loop, 16 rows with
//!   `rlnCoordinateX/Y/Z`, `rlnMicrographName` and the RELION angles, no origin columns). Read
//!   as `relion3_star` and `tomoman_relion_star`, as Point and OrientedPoint: the row count
//!   exactly, every location within 1e-9 (relative) of starfile's coordinates (starfile parses
//!   numbers through pandas, we parse them correctly rounded), also with `zyx` and binning 2
//!   applied to starfile's values; a `rlnMicrographName` filter keeps exactly the rows pandas'
//!   `==` keeps. `relion4_star` rejects it (no `data_optics`), `stopgap_star` too (no
//!   `_tomo_num`), and `tomoman_relion_star` with a filter (no `_rlnTomoName`).
//! - **Coordinate columns in a layout no reader takes, rejected**: `rln3.1_data_style.star`,
//!   `single_line_end_of_multiblock.star` and `single_line_middle_of_multiblock.star` (two or
//!   three `data_block_N` loops with `rlnCoordinateX/Y/Z` but no angle columns and no
//!   `data_optics`/`data_particles`), and `empty_loop.star` (a lone `_rlnCoordinateX` column, no
//!   rows). The reference converters cannot read them either: starfile hands a multi-block file
//!   over as a dict of blocks, which the RELION 3 column selection cannot index and which has no
//!   `optics` block for RELION 4, and every RELION converter, the Point ones included, selects
//!   the three angle columns. Ours reject them with errors naming the file: several blocks
//!   (listed) for `relion3_star`/`tomoman_relion_star`/`stopgap_star`, no `data_optics` for
//!   `relion4_star`, a missing `_rlnCoordinateY` for `empty_loop.star`. The test checks from
//!   starfile's reading that these files do hold the coordinate columns said here.
//! - **Not coordinate tables, rejected**: the quoting and block demos `basic_double_quote.star`,
//!   `basic_single_quote.star`, `loop_double_quote.star`, `loop_single_quote.star`,
//!   `two_basic_blocks.star`, `two_single_line_loop_blocks.star`; the RELION job files
//!   `default_pipeline.star`, `postprocess.star` and
//!   `relion_tutorial/run_it025_{optimiser,sampling}_{2D,3D}.star`. Our STAR readers are not
//!   generic table readers: each of the four STAR formats must fail with an error that starts
//!   with the file's name and gives the layout reason (a missing `_rlnCoordinateX` or
//!   `_tomo_num`, several blocks, no `data_optics`), never a syntax error, since starfile parses
//!   every one of them.
//!
//! imodmodel 0.1.0, `tests/test_data/`, **all six models compared**: `meshed_contour_example`,
//! `meshed_curvature_example` (meshes, `COST`/`MEST`/`OBST` storage chunks),
//! `multiple_objects_example` (an object without contours), `point_sizes_example` (`SIZE`
//! chunks), `slicer_angle_example`, `two_contour_example`.
//! - Point (`mod`): every contour point of every object, in file order; the count exactly and
//!   the values bit for bit (both sides widen the big-endian `f32` exactly), also with `zyx`
//!   and binning 2.
//! - OrientedPoint (`mod`): one point per slicer angle at its center, bit for bit, for the two
//!   models with `SLAN` chunks (4 each). For the four without, imodmodel raises "Model has no
//!   slicer angles." and our reader returns no points: that is the reference's deliberate
//!   behaviour (its loader prints a converter's `ValueError` and publishes an empty file).
//!   One divergence from the reference, not followed: it pins imodmodel 0.0.12, which hung
//!   slicer angles on objects and raised as soon as one object had none, so for
//!   `multiple_objects_example` (slicer angles after the last of three objects) it would publish
//!   nothing; that is an artifact of the old library, not a choice, so we follow imodmodel 0.1.0
//!   and read all four.
//!
//! Every coordinate and count matched. One disagreement with starfile, in how it types a column
//! (which decides whether a RELION name filter can match): `loop_double_quote.star` and
//! `loop_single_quote.star` have a column `number_and_empty` (`5.0`, then an empty quoted
//! string) that starfile reads as numbers, where our STAR reader took it for text. The reader
//! now types columns as starfile does (unit test
//! `name_column_typing_follows_starfile_for_empty_and_missing_values` in
//! `src/formats/points/star.rs`); `starfile_column_typing_premise` checks here that starfile
//! still reads those samples that way.

use crate::common::{venv_python, venv_sample_data};
use cryoet_ingest::formats::points::{read_points, PointParams, PointRecord, PointShape};
use serde_json::Value;
use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

const STARFILE: &str = "starfile-0.5.13/tests/data";
const IMODMODEL: &str = "imodmodel-0.1.0/tests/test_data";

/// STAR samples that are coordinate tables our readers accept.
const STAR_COORDINATE_TABLES: &[&str] = &["one_loop.star"];

/// STAR samples with `rlnCoordinate*` columns in a layout no reader (ours, the reference's)
/// takes: (file, blocks holding all three coordinate columns).
const STAR_OTHER_COORDINATE_LAYOUTS: &[(&str, &[&str])] = &[
    ("empty_loop.star", &[]),
    ("rln3.1_data_style.star", &["block_2", "block_3"]),
    (
        "single_line_end_of_multiblock.star",
        &["block_1", "block_2"],
    ),
    (
        "single_line_middle_of_multiblock.star",
        &["block_1", "block_2"],
    ),
];

/// STAR samples that are not coordinate tables.
const STAR_NOT_COORDINATES: &[&str] = &[
    "basic_double_quote.star",
    "basic_single_quote.star",
    "default_pipeline.star",
    "loop_double_quote.star",
    "loop_single_quote.star",
    "postprocess.star",
    "relion_tutorial/run_it025_optimiser_2D.star",
    "relion_tutorial/run_it025_optimiser_3D.star",
    "relion_tutorial/run_it025_sampling_2D.star",
    "relion_tutorial/run_it025_sampling_3D.star",
    "two_basic_blocks.star",
    "two_single_line_loop_blocks.star",
];

/// IMOD samples: (file, slicer angles it holds).
const MOD_FILES: &[(&str, usize)] = &[
    ("meshed_contour_example.mod", 0),
    ("meshed_curvature_example.mod", 0),
    ("multiple_objects_example.mod", 4),
    ("point_sizes_example.mod", 0),
    ("slicer_angle_example.mod", 4),
    ("two_contour_example.mod", 0),
];

const STAR_FORMATS: [&str; 4] = [
    "relion3_star",
    "tomoman_relion_star",
    "relion4_star",
    "stopgap_star",
];

/// What the packages read, from `dump_samples.py` (run once per test binary).
fn packages() -> &'static Value {
    static DUMP: OnceLock<Value> = OnceLock::new();
    DUMP.get_or_init(|| {
        // Both folders checked first, so a missing one names setup_venv.sh.
        venv_sample_data(STARFILE);
        venv_sample_data(IMODMODEL);
        let script = crate::common::repo().join("tests/python/dump_samples.py");
        let out = Command::new(venv_python())
            .arg(&script)
            .arg(venv_sample_data(""))
            .output()
            .expect("the venv python runs");
        let stdout = String::from_utf8_lossy(&out.stdout);
        assert!(
            out.status.success(),
            "dump_samples.py failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        serde_json::from_str(stdout.trim())
            .unwrap_or_else(|e| panic!("dump_samples.py printed no JSON ({e}): {stdout}"))
    })
}

/// Files under `root` ending in `.ext`, as `/`-separated paths relative to `root`.
fn sample_names(root: &Path, ext: &str) -> BTreeSet<String> {
    fn walk(dir: &Path, out: &mut Vec<PathBuf>) {
        for e in std::fs::read_dir(dir).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                walk(&p, out);
            } else {
                out.push(p);
            }
        }
    }
    let mut files = Vec::new();
    walk(root, &mut files);
    files
        .into_iter()
        .filter(|p| p.extension().is_some_and(|e| e == ext))
        .map(|p| {
            p.strip_prefix(root)
                .unwrap()
                .components()
                .map(|c| c.as_os_str().to_string_lossy().into_owned())
                .collect::<Vec<_>>()
                .join("/")
        })
        .collect()
}

fn params(order: &str, binning: f64, filter: Option<&str>) -> PointParams {
    PointParams {
        order: order.into(),
        binning,
        filter_value: filter.map(str::to_string),
        ..PointParams::default()
    }
}

fn read_sample(
    folder: &str,
    name: &str,
    fmt: &str,
    shape: PointShape,
    p: &PointParams,
) -> Result<Vec<PointRecord>, String> {
    let bytes = std::fs::read(venv_sample_data(folder).join(name)).unwrap();
    read_points(fmt, shape, p, &bytes, name).map_err(|e| e.to_string())
}

fn triples(v: &Value) -> Vec<[f64; 3]> {
    v.as_array()
        .unwrap_or_else(|| panic!("a list of triples, found {v}"))
        .iter()
        .map(|t| {
            let t = t.as_array().unwrap();
            assert_eq!(t.len(), 3);
            [0, 1, 2].map(|k| t[k].as_f64().unwrap())
        })
        .collect()
}

/// `v` with the axis order and binning of `p` applied, as the readers apply them.
fn transformed(v: &[[f64; 3]], order: &str, binning: f64) -> Vec<[f64; 3]> {
    v.iter()
        .map(|t| match order {
            "xyz" => t.map(|c| c / binning),
            "zyx" => [t[2] / binning, t[1] / binning, t[0] / binning],
            _ => unreachable!(),
        })
        .collect()
}

fn assert_close(name: &str, what: &str, ours: &[PointRecord], want: &[[f64; 3]]) {
    assert_eq!(
        ours.len(),
        want.len(),
        "{name} ({what}): {} points, the package reads {}",
        ours.len(),
        want.len()
    );
    for (i, (r, w)) in ours.iter().zip(want).enumerate() {
        for k in 0..3 {
            let (a, b) = (r.location[k], w[k]);
            assert!(
                (a - b).abs() <= 1e-9 * b.abs().max(1.0),
                "{name} ({what}) row {i}: {:?}, the package reads {w:?}",
                r.location
            );
        }
    }
}

fn assert_exact(name: &str, what: &str, ours: &[PointRecord], want: &[[f64; 3]]) {
    let ours: Vec<[f64; 3]> = ours.iter().map(|r| r.location).collect();
    assert_eq!(
        ours.len(),
        want.len(),
        "{name} ({what}): {} points, imodmodel reads {}",
        ours.len(),
        want.len()
    );
    for (i, (a, b)) in ours.iter().zip(want).enumerate() {
        assert_eq!(a, b, "{name} ({what}) point {i}");
    }
}

/// The blocks starfile reads from `name`.
fn star_blocks(name: &str) -> &'static [Value] {
    let entry = &packages()["star"][name];
    assert!(
        entry.get("error").is_none(),
        "starfile fails on {name}: {}",
        entry["error"]
    );
    entry["blocks"].as_array().unwrap()
}

#[test]
fn every_sample_file_is_listed() {
    let star = sample_names(&venv_sample_data(STARFILE), "star");
    let listed: BTreeSet<String> = STAR_COORDINATE_TABLES
        .iter()
        .chain(STAR_NOT_COORDINATES)
        .copied()
        .chain(STAR_OTHER_COORDINATE_LAYOUTS.iter().map(|(f, _)| *f))
        .map(str::to_string)
        .collect();
    assert_eq!(
        star, listed,
        "starfile's samples vs the lists of this module"
    );
    let mods = sample_names(&venv_sample_data(IMODMODEL), "mod");
    let listed: BTreeSet<String> = MOD_FILES.iter().map(|(f, _)| f.to_string()).collect();
    assert_eq!(mods, listed, "imodmodel's samples vs MOD_FILES");
    // The packages read every one of them.
    let read: BTreeSet<String> = packages()["star"]
        .as_object()
        .unwrap()
        .keys()
        .cloned()
        .collect();
    assert_eq!(read, star);
    let read: BTreeSet<String> = packages()["mod"]
        .as_object()
        .unwrap()
        .keys()
        .cloned()
        .collect();
    assert_eq!(read, mods);
}

#[test]
fn star_coordinate_tables_match_starfile() {
    for &name in STAR_COORDINATE_TABLES {
        let blocks = star_blocks(name);
        assert_eq!(blocks.len(), 1, "{name}: one block");
        let block = &blocks[0];
        let coords = triples(&block["coordinates"]);
        assert_eq!(coords.len() as u64, block["rows"].as_u64().unwrap());
        assert!(!coords.is_empty(), "{name}: starfile reads rows");
        for fmt in ["relion3_star", "tomoman_relion_star"] {
            for shape in [PointShape::Point, PointShape::OrientedPoint] {
                for (order, binning) in [("xyz", 1.0), ("zyx", 2.0)] {
                    let what = format!("{fmt}, {shape:?}, {order}, binning {binning}");
                    let ours =
                        read_sample(STARFILE, name, fmt, shape, &params(order, binning, None))
                            .unwrap_or_else(|e| panic!("{what}: {e}"));
                    assert_close(name, &what, &ours, &transformed(&coords, order, binning));
                    assert_eq!(
                        ours.iter().all(|r| r.rotation.is_some()),
                        shape == PointShape::OrientedPoint,
                        "{name} ({what}): rotations"
                    );
                }
            }
        }
        // A relion3_star filter on rlnMicrographName keeps the rows pandas' `==` keeps.
        let names: Vec<&str> = block["strings"]["rlnMicrographName"]
            .as_array()
            .unwrap_or_else(|| panic!("{name}: starfile reads rlnMicrographName as text"))
            .iter()
            .map(|v| v.as_str().unwrap())
            .collect();
        let distinct: BTreeSet<&str> = names.iter().copied().collect();
        for value in distinct.iter().copied().chain(["not_a_micrograph.mrc"]) {
            let want: Vec<[f64; 3]> = coords
                .iter()
                .zip(&names)
                .filter(|(_, n)| **n == value)
                .map(|(c, _)| *c)
                .collect();
            let ours = read_sample(
                STARFILE,
                name,
                "relion3_star",
                PointShape::Point,
                &params("xyz", 1.0, Some(value)),
            )
            .unwrap();
            assert_close(name, &format!("filter {value}"), &ours, &want);
        }
        // The layouts it is not.
        let e = read_sample(
            STARFILE,
            name,
            "relion4_star",
            PointShape::Point,
            &params("xyz", 1.0, None),
        )
        .unwrap_err();
        assert_eq!(
            e,
            format!("{name}: a RELION 4 file needs a data_optics block")
        );
        let e = read_sample(
            STARFILE,
            name,
            "stopgap_star",
            PointShape::OrientedPoint,
            &params("xyz", 1.0, Some("1")),
        )
        .unwrap_err();
        assert!(
            e.starts_with(&format!("{name}:"))
                && e.contains("expected a column _tomo_num in block data_particles"),
            "{e}"
        );
        let e = read_sample(
            STARFILE,
            name,
            "tomoman_relion_star",
            PointShape::Point,
            &params("xyz", 1.0, Some("tomo_1")),
        )
        .unwrap_err();
        assert!(
            e.starts_with(&format!("{name}:")) && e.contains("expected a column _rlnTomoName"),
            "{e}"
        );
    }
}

#[test]
fn star_coordinates_in_other_layouts_are_rejected_naming_the_file() {
    for &(name, coordinate_blocks) in STAR_OTHER_COORDINATE_LAYOUTS {
        let blocks = star_blocks(name);
        // What starfile reads: the coordinate columns are there (all three, or for
        // empty_loop.star a lone rlnCoordinateX with no rows).
        let with_coords: Vec<&str> = blocks
            .iter()
            .filter(|b| !b["coordinates"].is_null())
            .map(|b| b["name"].as_str().unwrap())
            .collect();
        assert_eq!(with_coords, coordinate_blocks, "{name}");
        let has = |b: &Value, col: &str| b["columns"].as_array().unwrap().iter().any(|c| c == col);
        assert!(
            blocks.iter().any(|b| has(b, "rlnCoordinateX")),
            "{name}: a block with rlnCoordinateX"
        );
        assert!(
            !blocks.iter().any(|b| has(b, "rlnAngleRot")),
            "{name}: no angles"
        );
        for fmt in STAR_FORMATS {
            let shape = match fmt {
                "stopgap_star" => PointShape::OrientedPoint,
                _ => PointShape::Point,
            };
            let e = read_sample(STARFILE, name, fmt, shape, &params("xyz", 1.0, Some("1")))
                .map(|r| format!("{} points", r.len()))
                .expect_err(&format!("{name} read as {fmt}"));
            let reason = if fmt == "relion4_star" {
                "a RELION 4 file needs a data_optics block".to_string()
            } else if blocks.len() > 1 {
                let names: Vec<String> = blocks
                    .iter()
                    .map(|b| format!("data_{}", b["name"].as_str().unwrap()))
                    .collect();
                format!("found {}: {}", blocks.len(), names.join(", "))
            } else if fmt == "stopgap_star" {
                "expected a column _tomo_num".to_string()
            } else if fmt == "tomoman_relion_star" {
                "expected a column _rlnTomoName".to_string()
            } else {
                "expected a column _rlnMicrographName".to_string()
            };
            assert!(
                e.starts_with(&format!("{name}:")) && e.contains(&reason),
                "{name} as {fmt}: {e}"
            );
        }
        if blocks.len() == 1 {
            // Without a filter the reason is the coordinates themselves.
            let e = read_sample(
                STARFILE,
                name,
                "relion3_star",
                PointShape::Point,
                &params("xyz", 1.0, None),
            )
            .unwrap_err();
            assert!(
                e.starts_with(&format!("{name}:"))
                    && e.contains("expected a column _rlnCoordinateY"),
                "{e}"
            );
        }
    }
}

#[test]
fn star_files_that_are_not_coordinate_tables_are_rejected_naming_the_file() {
    for &name in STAR_NOT_COORDINATES {
        let blocks = star_blocks(name);
        assert!(
            blocks.iter().all(|b| b["coordinates"].is_null()),
            "{name}: starfile finds no coordinate table"
        );
        for fmt in STAR_FORMATS {
            let shape = match fmt {
                "stopgap_star" => PointShape::OrientedPoint,
                _ => PointShape::Point,
            };
            let filter = (fmt == "stopgap_star").then_some("1");
            let e = read_sample(STARFILE, name, fmt, shape, &params("xyz", 1.0, filter))
                .map(|r| format!("{} points", r.len()))
                .expect_err(&format!("{name} read as {fmt}"));
            let reason = if fmt == "relion4_star" {
                "a RELION 4 file needs a data_optics block".to_string()
            } else if blocks.len() > 1 {
                "expected a single data block".to_string()
            } else if fmt == "stopgap_star" {
                "expected a column _tomo_num".to_string()
            } else {
                "expected a column _rlnCoordinateX".to_string()
            };
            assert!(
                e.starts_with(&format!("{name}:")) && e.contains(&reason),
                "{name} as {fmt}: {e}"
            );
        }
    }
}

#[test]
fn imod_models_match_imodmodel() {
    for &(name, slicer_angles) in MOD_FILES {
        let entry = &packages()["mod"][name];
        assert!(
            entry.get("error").is_none(),
            "imodmodel fails on {name}: {}",
            entry["error"]
        );
        let points = triples(&entry["points"]);
        assert!(!points.is_empty(), "{name}: imodmodel reads points");
        for (order, binning) in [("xyz", 1.0), ("zyx", 2.0)] {
            let what = format!("Point, {order}, binning {binning}");
            let ours = read_sample(
                IMODMODEL,
                name,
                "mod",
                PointShape::Point,
                &params(order, binning, None),
            )
            .unwrap_or_else(|e| panic!("{what}: {e}"));
            assert_exact(name, &what, &ours, &transformed(&points, order, binning));
        }
        let ours = read_sample(
            IMODMODEL,
            name,
            "mod",
            PointShape::OrientedPoint,
            &params("xyz", 1.0, None),
        )
        .unwrap_or_else(|e| panic!("{name}: {e}"));
        assert!(ours.iter().all(|r| r.rotation.is_some()));
        if slicer_angles == 0 {
            assert_eq!(
                entry["slicer_error"], "Model has no slicer angles.",
                "{name}: imodmodel finds no slicer angles"
            );
            assert!(
                ours.is_empty(),
                "{name}: no slicer angles, no oriented points"
            );
        } else {
            let centers = triples(&entry["slicer_centers"]);
            assert_eq!(centers.len(), slicer_angles, "{name}");
            assert_exact(name, "OrientedPoint", &ours, &centers);
        }
    }
}

#[test]
fn starfile_column_typing_premise() {
    for name in ["loop_double_quote.star", "loop_single_quote.star"] {
        let blocks = star_blocks(name);
        let strings = blocks[0]["strings"].as_object().unwrap();
        // `5.0` and `""`: numbers (the empty string becomes NaN).
        assert!(blocks[0]["columns"]
            .as_array()
            .unwrap()
            .iter()
            .any(|c| c == "number_and_empty"));
        assert!(
            !strings.contains_key("number_and_empty"),
            "{name}: {strings:?}"
        );
        // `4.0` and `noquote`: text.
        assert_eq!(
            strings["number_and_string"],
            serde_json::json!(["4.0", "noquote"]),
            "{name}"
        );
    }
}
