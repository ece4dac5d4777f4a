//! Tests of loading: the real portal configs read in place, YAML 1.1 behaviour, and the exact
//! shape of every error message.

use super::*;
use serde_json::json;
use std::path::{Path, PathBuf};

const REAL: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../shared/real_configs");

fn yaml_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let p = entry.unwrap().path();
        if p.is_dir() {
            yaml_files(&p, out);
        } else if p.extension().is_some_and(|e| e == "yaml") {
            out.push(p);
        }
    }
}

fn real_configs() -> Vec<PathBuf> {
    let mut files = Vec::new();
    yaml_files(Path::new(REAL), &mut files);
    files.sort();
    files
}

/// A config is a draft when its own content says so: placeholder values. The loader decides;
/// this only picks which outcome the test expects.
fn is_draft(path: &Path) -> bool {
    path.file_name()
        .unwrap()
        .to_string_lossy()
        .contains("_draft")
}

#[test]
fn every_real_config_loads_and_the_draft_is_rejected() {
    let files = real_configs();
    assert!(
        files.len() >= 300,
        "expected the real configs beside the repo, found {}",
        files.len()
    );
    let mut loaded = 0;
    let mut drafts = 0;
    for f in &files {
        let result = load(f);
        if is_draft(f) {
            drafts += 1;
            let e = result.expect_err("the draft config must be rejected");
            for one in e.errors() {
                let msg = one.to_string();
                assert!(
                    msg.starts_with(&f.display().to_string()),
                    "error must name the file: {msg}"
                );
                let site = one.site().expect("a draft error has a site");
                assert!(site.location.is_some(), "error must have a position: {msg}");
                assert!(
                    site.path.contains('.'),
                    "error must name a field path: {msg}"
                );
                assert!(msg.contains("field `"), "error must name the field: {msg}");
            }
        } else {
            let cfg = result.unwrap_or_else(|e| panic!("{e}"));
            assert_eq!(cfg.file, *f);
            // Every real config has runs, datasets and voxel spacings (schema-required).
            for kind in [
                EntityKind::Dataset,
                EntityKind::Run,
                EntityKind::VoxelSpacing,
            ] {
                assert!(
                    !cfg.blocks(kind).is_empty(),
                    "{}: no {kind} blocks",
                    f.display()
                );
            }
            for b in cfg.all_blocks() {
                assert!(b.location.line >= 1 && b.location.column >= 1);
                assert!(!b.sources.is_empty());
                // Annotation blocks have shape finders; nothing else does.
                for s in &b.sources {
                    assert_eq!(
                        matches!(s.finder, Finder::Annotation(_)),
                        b.kind == EntityKind::Annotation
                    );
                }
            }
            loaded += 1;
        }
    }
    assert_eq!(drafts, 1);
    assert_eq!(loaded, files.len() - 1);
}

#[test]
fn draft_error_is_about_placeholder_content() {
    let f = Path::new(REAL).join("10011_draft.yaml");
    let text = std::fs::read_to_string(&f).unwrap();
    // Under any other name the content is still rejected.
    // Every placeholder is reported at once, each at its own line.
    let e = load_str(&text, Path::new("renamed.yaml")).unwrap_err();
    let all: Vec<String> = e.errors().iter().map(ToString::to_string).collect();
    assert_eq!(all.len(), 17, "{e}");
    assert!(all.iter().all(|m| m.starts_with("renamed.yaml:")), "{e}");
    assert!(all.contains(&String::from(
        "renamed.yaml:32:26: annotations[0].metadata.ground_truth_status: field `ground_truth_status` \
         has the wrong type: expected a boolean (true/false, yes/no), found a string (\"REQUIRED\")"
    )), "{e}");
    let placeholders = all
        .iter()
        .filter(|m| m.contains("REQUIRED") || m.contains("OPTIONAL"));
    assert!(placeholders.count() >= 12, "{e}");
}

#[test]
fn real_run_data_maps_parse() {
    let mut checked = 0;
    for f in real_configs().iter().filter(|f| !is_draft(f)) {
        let cfg = load(f).unwrap();
        let dir = f.parent().unwrap();
        let sc = &cfg.standardization;
        if let Some(name) = &sc.run_data_map_file {
            let p = dir.join(name);
            if p.exists() {
                let bytes = std::fs::read(&p).unwrap();
                let m =
                    RunDataMap::parse(&bytes, sc.run_data_map_is_tsv(), &p.display().to_string())
                        .unwrap_or_else(|e| panic!("{e}"));
                assert!(!m.is_empty(), "{}", p.display());
                let run = m.runs().next().unwrap().to_string();
                assert_eq!(m.row(&run).unwrap()["run_name"], run);
                checked += 1;
            }
        }
        for name in [
            &sc.run_to_tomo_map_csv,
            &sc.run_to_frame_map_csv,
            &sc.run_to_ts_map_csv,
        ]
        .into_iter()
        .flatten()
        {
            let p = dir.join(name);
            if p.exists() {
                let m = parse_two_column_map(&std::fs::read(&p).unwrap(), &p.display().to_string())
                    .unwrap_or_else(|e| panic!("{e}"));
                assert!(!m.is_empty(), "{}", p.display());
                checked += 1;
            }
        }
    }
    // The maps shipped beside configs that name other files.
    let dir = Path::new(REAL).join("run_data_map/10007");
    let m = RunDataMap::parse(
        &std::fs::read(dir.join("run_data_map.csv")).unwrap(),
        false,
        "run_data_map.csv",
    )
    .unwrap();
    assert_eq!(m.columns(), ["run_name", "ts_quality_score"]);
    let t = parse_two_column_map(
        &std::fs::read(dir.join("run_to_tomo_map.csv")).unwrap(),
        "run_to_tomo_map.csv",
    )
    .unwrap();
    assert!(!t.is_empty());
    assert!(
        checked >= 100,
        "only {checked} maps found beside the configs"
    );
}

/// A small valid config to which tests add or change lines.
const BASE: &str = "\
version: 1.0
standardization_config:
  deposition_id: 10001
  source_prefix: some/prefix
depositions:
- sources:
  - literal:
      value:
      - 10001
datasets:
- metadata:
    dataset_identifier: 10001
    dates: &dates
      deposition_date: 2023-04-01
      last_modified_date: 2023-04-02
      release_date: 2023-04-03
    authors:
    - name: A. Person
      corresponding_author_status: yes
  sources:
  - literal:
      value: ['10001']
runs:
- sources:
  - source_glob:
      list_glob: '*'
      match_regex: TS_\\d+$
voxel_spacings:
- sources:
  - literal:
      value: [13.48, 'float {vs}']
";

fn load_text(text: &str) -> Result<DatasetConfig, ConfigError> {
    load_str(text, Path::new("cfg.yaml"))
}

#[test]
fn base_config_types_and_defaults() {
    let cfg = load_text(BASE).unwrap();
    assert_eq!(cfg.version.as_deref(), Some("1.0"));
    assert_eq!(cfg.standardization.deposition_id, 10001);
    assert_eq!(cfg.standardization.source_prefix, "some/prefix");
    let ds = &cfg.blocks(EntityKind::Dataset)[0];
    assert_eq!(
        ds.location,
        Location {
            line: 11,
            column: 3
        }
    );
    // Unquoted dates come out as strings, YAML-1.1 `yes` as a boolean; key order is kept.
    assert_eq!(ds.metadata["dates"]["deposition_date"], json!("2023-04-01"));
    assert_eq!(
        ds.metadata["authors"][0]["corresponding_author_status"],
        json!(true)
    );
    assert_eq!(
        ds.metadata.keys().collect::<Vec<_>>(),
        ["dataset_identifier", "dates", "authors"]
    );
    let run = &cfg.blocks(EntityKind::Run)[0].sources[0];
    assert_eq!(
        run.finder,
        Finder::SourceGlob {
            list_glob: "*".into(),
            match_regex: r"TS_\d+$".into(),
            name_regex: "(.*)".into()
        }
    );
    assert_eq!(
        run.location,
        Location {
            line: 25,
            column: 5
        }
    );
    let dep = &cfg.blocks(EntityKind::Deposition)[0].sources[0];
    assert_eq!(
        dep.finder,
        Finder::Literal(LiteralValue::List(vec![json!(10001)]))
    );
    assert!(cfg.blocks(EntityKind::Tomogram).is_empty());
    let vs = &cfg.blocks(EntityKind::VoxelSpacing)[0].sources[0];
    assert_eq!(
        vs.finder,
        Finder::Literal(LiteralValue::List(vec![json!(13.48), json!("float {vs}")]))
    );
}

#[test]
fn anchors_and_aliases_are_expanded() {
    let text = format!(
        "{BASE}tomograms:\n- metadata:\n    dates: *dates\n    is_visualization_default: Off\n  sources:\n  - source_glob:\n      list_glob: '{{run_name}}.mrc'\n"
    );
    let cfg = load_text(&text).unwrap();
    let ds = &cfg.blocks(EntityKind::Dataset)[0];
    let tomo = &cfg.blocks(EntityKind::Tomogram)[0];
    assert_eq!(tomo.metadata["dates"], ds.metadata["dates"]);
    assert_eq!(tomo.metadata["dates"]["release_date"], json!("2023-04-03"));
    assert_eq!(tomo.metadata["is_visualization_default"], json!(false));
}

#[test]
fn yaml11_scalars_in_metadata() {
    let text = format!(
        "{BASE}frames:\n- metadata:\n    is_gain_corrected: NO\n    dose_rate: 1.0e+1\n    note: 1e3\n    other: 1.0e3\n    count: 017\n  sources:\n  - literal:\n      value: [default]\n"
    );
    let cfg = load_text(&text).unwrap();
    let m = &cfg.blocks(EntityKind::Frame)[0].metadata;
    assert_eq!(m["is_gain_corrected"], json!(false));
    assert_eq!(m["dose_rate"], json!(10.0));
    assert_eq!(m["note"], json!("1e3"));
    assert_eq!(m["other"], json!("1.0e3"));
    assert_eq!(m["count"], json!(15));
}

#[test]
fn annotation_sources() {
    let text = format!(
        "{BASE}annotations:
- metadata:
    annotation_object: {{name: ribosome}}
    annotation_method: picking
    method_type: manual
    version: 1.0
  sources:
  - OrientedPoint:
      file_format: relion3_star
      glob_string: 'picks/{{run_name}}.star'
      order: zyx
      binning: 2
      filter_value: '{{run_name}}'
    parent_filters:
      include:
        run: ['^TS_0']
  - SemanticSegmentationMask:
      file_format: mrc
      glob_strings: [a.mrc, b.mrc]
      mask_label: 2
      is_visualization_default: yes
"
    );
    let cfg = load_text(&text).unwrap();
    let b = &cfg.blocks(EntityKind::Annotation)[0];
    assert_eq!(b.metadata["version"], json!(1.0));
    let Finder::Annotation(a) = &b.sources[0].finder else {
        panic!("not an annotation")
    };
    assert_eq!(a.shape, AnnotationShape::OrientedPoint);
    assert_eq!(a.file_format, "relion3_star");
    assert_eq!(
        a.glob,
        AnnotationGlob::Single("picks/{run_name}.star".into())
    );
    assert!(!a.is_visualization_default);
    assert_eq!(
        a.params.keys().collect::<Vec<_>>(),
        ["order", "binning", "filter_value"]
    );
    assert_eq!(
        b.sources[0].parent_filters.include[&EntityKind::Run],
        vec!["^TS_0".to_string()]
    );
    let Finder::Annotation(m) = &b.sources[1].finder else {
        panic!("not an annotation")
    };
    assert_eq!(m.shape.output_shape(), "SegmentationMask");
    assert_eq!(
        m.glob,
        AnnotationGlob::Multi(vec!["a.mrc".into(), "b.mrc".into()])
    );
    assert!(m.is_visualization_default);
    assert_eq!(m.params["mask_label"], json!(2));
}

#[test]
fn serialization_is_deterministic_and_ignores_positions() {
    let a = load_text(BASE).unwrap();
    let shifted = BASE.replacen("depositions:", "# a comment\n\ndepositions:", 1);
    let b = load_text(&shifted).unwrap();
    let ja = serde_json::to_string(&a.blocks(EntityKind::Run)[0]).unwrap();
    let jb = serde_json::to_string(&b.blocks(EntityKind::Run)[0]).unwrap();
    assert_ne!(
        a.blocks(EntityKind::Run)[0].location,
        b.blocks(EntityKind::Run)[0].location
    );
    assert_eq!(ja, jb);
    assert_eq!(
        serde_json::to_value(&a.blocks(EntityKind::Run)[0]).unwrap(),
        json!({"kind": "run", "index": 0, "metadata": {}, "sources": [{
            "index": 0,
            "finder": {"source_glob": {"list_glob": "*", "match_regex": "TS_\\d+$", "name_regex": "(.*)"}},
            "exclude": [],
            "parent_filters": {"include": {}, "exclude": {}}
        }]})
    );
}

/// Loads `BASE` with `from` replaced by `to` and returns the error message.
fn error_of(from: &str, to: &str) -> String {
    assert!(BASE.contains(from), "test setup: {from:?} not in BASE");
    load_text(&BASE.replacen(from, to, 1))
        .unwrap_err()
        .to_string()
}

fn error_with(extra: &str) -> String {
    load_text(&format!("{BASE}{extra}"))
        .unwrap_err()
        .to_string()
}

#[test]
fn error_syntax() {
    let msg = error_of(
        "  source_prefix: some/prefix\n",
        "  source_prefix: [some/prefix\n",
    );
    assert!(msg.starts_with("cfg.yaml:"), "{msg}");
    assert_eq!(
        msg,
        "cfg.yaml:5:12: <document>: invalid YAML: illegal placement of ':' indicator \
         (expected a well-formed YAML document)"
    );
}

#[test]
fn error_unknown_top_level_key() {
    let msg = error_with("tomogramz: []\n");
    assert!(msg.starts_with("cfg.yaml:32:1: tomogramz: unknown field `tomogramz` (expected one of: version, standardization_config, overrides, overrides_by_run, depositions, "), "{msg}");
    // overrides are accepted and ignored
    assert!(load_text(&format!("{BASE}overrides: [1]\noverrides_by_run: {{}}\n")).is_ok());
}

#[test]
fn error_missing_standardization_and_fields() {
    let msg = load_text("version: 1.0\nruns: []\n")
        .unwrap_err()
        .to_string();
    assert_eq!(
        msg,
        "cfg.yaml:1:1: standardization_config: missing required field `standardization_config` (expected a mapping with `deposition_id` and `source_prefix`)"
    );
    let msg = error_of("  deposition_id: 10001\n", "");
    assert_eq!(msg, "cfg.yaml:3:3: standardization_config.deposition_id: missing required field `deposition_id` (expected an integer)");
    let msg = error_with("tomograms:\n- sources:\n  - source_glob:\n      match_regex: x\n");
    assert_eq!(msg, "cfg.yaml:35:7: tomograms[0].sources[0].source_glob.list_glob: missing required field `list_glob` (expected a string)");
    let msg = error_with("alignments:\n- sources:\n  - source_multi_glob: {}\n");
    assert_eq!(msg, "cfg.yaml:34:24: alignments[0].sources[0].source_multi_glob.list_globs: missing required field `list_globs` (expected a non-empty list of strings)");
    let msg = error_with("frames:\n- sources:\n  - literal: {}\n");
    assert_eq!(msg, "cfg.yaml:34:14: frames[0].sources[0].literal.value: missing required field `value` (expected a non-empty list, or a mapping of names to paths)");
    let msg = error_with("annotations:\n- metadata: {annotation_object: {name: x}}\n  sources:\n  - Point: {glob_string: a.csv}\n");
    assert_eq!(msg, "cfg.yaml:35:12: annotations[0].sources[0].Point.file_format: missing required field `file_format` (expected a string, one of: csv, csv_with_header, tsv, mod, relion3_star, relion4_star, tomoman_relion_star, copick)");
    let msg = error_with("annotations:\n- metadata: {annotation_object: {name: x}}\n  sources:\n  - Point: {file_format: csv}\n");
    assert_eq!(msg, "cfg.yaml:35:12: annotations[0].sources[0].Point.glob_string: missing required field `glob_string` (expected a string `glob_string` or a list `glob_strings`)");
}

#[test]
fn independent_errors_are_all_reported_in_file_order() {
    // Three blocks of two kinds and two metadata fields of one block, each wrong on its own;
    // the valid block between them loads.
    let text =
        BASE.replacen(
            "      corresponding_author_status: yes\n",
            "      corresponding_author_status: OPTIONAL\n",
            1,
        )
        .replacen(
            "      release_date: 2023-04-03\n",
            "      release_date: 2023-XX-XX\n",
            1,
        ) + "tomograms:\n- sources:\n  - source_glob:\n      match_regex: x\n\
           - sources:\n  - literal: {value: [a]}\n\
           - sources:\n  - source_globz: {list_glob: a}\n\
           gains:\n- sources: []\n";
    let err = load_text(&text).unwrap_err();
    let lines: Vec<String> = err.errors().iter().map(ToString::to_string).collect();
    let expected = [
        "cfg.yaml:16:21: datasets[0].metadata.dates.release_date: field `release_date` has the wrong type",
        "cfg.yaml:19:36: datasets[0].metadata.authors[0].corresponding_author_status: field `corresponding_author_status` has the wrong type",
        "cfg.yaml:35:7: tomograms[0].sources[0].source_glob.list_glob: missing required field `list_glob`",
        "cfg.yaml:39:5: tomograms[2].sources[0].source_globz: unknown field `source_globz`",
        "cfg.yaml:41:12: gains[0].sources: field `sources` has an invalid value",
    ];
    assert_eq!(lines.len(), expected.len(), "{err}");
    for (line, start) in lines.iter().zip(expected) {
        assert!(line.starts_with(start), "{line}\nexpected {start}");
    }
    assert!(
        err.to_string().starts_with("5 errors:\n  cfg.yaml:16:21: "),
        "{err}"
    );
    assert_eq!(
        err.site().unwrap().to_string(),
        "cfg.yaml:16:21: datasets[0].metadata.dates.release_date"
    );
    // One error stays one error, not a list of one.
    assert!(matches!(
        load_text(&BASE.replacen("  deposition_id: 10001\n", "", 1)),
        Err(ConfigError::MissingField { .. })
    ));
}

#[test]
fn error_source_without_finder_or_with_two() {
    let msg = error_with("tomograms:\n- sources:\n  - exclude: ['x']\n");
    assert_eq!(msg, "cfg.yaml:34:5: tomograms[0].sources[0]: missing required field `<finder key>` (expected exactly one finder key of: source_glob, source_multi_glob, destination_glob, destination_filter, literal)");
    let msg = error_with(
        "tomograms:\n- sources:\n  - literal: {value: [a]}\n    source_glob: {list_glob: a}\n",
    );
    assert_eq!(msg, "cfg.yaml:35:5: tomograms[0].sources[0].source_glob: field `source_glob` has an invalid value a second finder key `source_glob`: expected exactly one finder key per source (`literal` is already given)");
}

#[test]
fn error_finder_not_accepted_by_kind() {
    let msg = error_with("gains:\n- sources:\n  - tomogram_header: {list_glob: a}\n");
    assert_eq!(msg, "cfg.yaml:34:5: gains[0].sources[0].tomogram_header: unknown field `tomogram_header` (expected one of: source_glob, source_multi_glob, destination_glob, literal, exclude, parent_filters)");
    // An annotation source without a shape key (as in a draft template).
    let msg = error_with("annotations:\n- metadata: {annotation_object: {name: x}}\n  sources:\n  - file_format: csv\n    shape: REQUIRED\n");
    assert!(msg.starts_with("cfg.yaml:35:5: annotations[0].sources[0].file_format: unknown field `file_format` (expected one of: Point, OrientedPoint, "), "{msg}");
}

#[test]
fn error_wrong_types() {
    let msg = error_of("  deposition_id: 10001\n", "  deposition_id: '10001'\n");
    assert_eq!(msg, "cfg.yaml:3:18: standardization_config.deposition_id: field `deposition_id` has the wrong type: expected an integer, found a string (\"10001\")");
    let msg = error_of(
        "      corresponding_author_status: yes\n",
        "      corresponding_author_status: OPTIONAL\n",
    );
    assert_eq!(msg, "cfg.yaml:19:36: datasets[0].metadata.authors[0].corresponding_author_status: field `corresponding_author_status` has the wrong type: expected a boolean, found a string (\"OPTIONAL\")");
    let msg = error_of(
        "      release_date: 2023-04-03\n",
        "      release_date: 2023-XX-XX\n",
    );
    assert_eq!(msg, "cfg.yaml:16:21: datasets[0].metadata.dates.release_date: field `release_date` has the wrong type: expected a date YYYY-MM-DD, found a string (\"2023-XX-XX\")");
    let msg = error_with("tiltseries:\n- metadata:\n    pixel_spacing: REQUIRED\n  sources:\n  - source_glob: {list_glob: a}\n");
    assert_eq!(msg, "cfg.yaml:34:20: tiltseries[0].metadata.pixel_spacing: field `pixel_spacing` has the wrong type: expected a number or a template such as \"float {column}\", found a string (\"REQUIRED\")");
    let msg = error_of(
        "      value: [13.48, 'float {vs}']\n",
        "      value: [null]\n",
    );
    assert_eq!(msg, "cfg.yaml:31:15: voxel_spacings[0].sources[0].literal.value[0]: field `value[0]` has the wrong type: expected a number or a \"float {column}\" template, found null");
    // Templates and numbers are fine where expansion will type them.
    assert!(load_text(&format!("{BASE}tiltseries:\n- metadata:\n    pixel_spacing: float {{px}}\n    tilt_series_quality: int 4\n  sources:\n  - source_glob: {{list_glob: a}}\n")).is_ok());
}

#[test]
fn error_invalid_values() {
    let msg = error_with("annotations:\n- metadata: {annotation_object: {name: x}}\n  sources:\n  - Point: {file_format: xlsx, glob_string: a}\n");
    assert_eq!(msg, "cfg.yaml:35:26: annotations[0].sources[0].Point.file_format: field `file_format` has an invalid value a string (\"xlsx\"): expected one of: csv, csv_with_header, tsv, mod, relion3_star, relion4_star, tomoman_relion_star, copick");
    let msg = error_of("      value:\n      - 10001\n", "      value: []\n");
    assert_eq!(msg, "cfg.yaml:8:14: depositions[0].sources[0].literal.value: field `value` has an invalid value a list: expected a non-empty list");
    let msg = error_of(
        "- sources:\n  - source_glob:",
        "- sources: []\n  x:\n  - source_glob:",
    );
    assert_eq!(
        msg,
        "cfg.yaml:25:3: runs[0].x: unknown field `x` (expected one of: metadata, sources)"
    );
}

#[test]
fn error_regex_and_parent_filters() {
    let msg = error_of(
        "      match_regex: TS_\\d+$\n",
        "      match_regex: TS_(\\d+\n",
    );
    assert!(msg.starts_with("cfg.yaml:27:20: runs[0].sources[0].source_glob.match_regex: field `match_regex` is not a valid regular expression \"TS_(\\\\d+\": "), "{msg}");
    assert!(
        msg.ends_with("(expected a Python `re` regular expression)"),
        "{msg}"
    );
    let msg =
        error_with("tomograms:\n- sources:\n  - source_glob: {list_glob: a}\n    exclude: ['(']\n");
    assert!(msg.starts_with("cfg.yaml:35:15: tomograms[0].sources[0].exclude[0]: field `exclude[0]` is not a valid regular expression \"(\""), "{msg}");
    let msg = error_with("tomograms:\n- sources:\n  - source_glob: {list_glob: a}\n    parent_filters:\n      include:\n        tomogram: [x]\n");
    assert_eq!(msg, "cfg.yaml:37:9: tomograms[0].sources[0].parent_filters.include.tomogram: unknown field `tomogram` (expected one of: deposition, dataset, run, voxel_spacing)");
    let msg = error_with("tomograms:\n- sources:\n  - source_glob: {list_glob: a}\n    parent_filters:\n      require: {}\n");
    assert_eq!(msg, "cfg.yaml:36:7: tomograms[0].sources[0].parent_filters.require: unknown field `require` (expected one of: include, exclude)");
}

/// Python `re` syntax that the `regex` crate lacks loads: look-behind (as in the portal's
/// deposition 10303 config), look-ahead and backreferences, in every regex field.
#[test]
fn python_re_syntax_loads_in_every_regex_field() {
    let look_behind = r".*$(?<!(10014|10015|10016|10017|10018|10019|10020))";
    let text = BASE.replacen(
        "      match_regex: TS_\\d+$\n",
        &format!("      match_regex: '{look_behind}'\n      name_regex: '(?P<n>TS_\\d+)(?=\\.)'\n"),
        1,
    );
    assert_ne!(text, BASE, "test setup: match_regex not in BASE");
    let text = format!(
        "{text}tomograms:\n- sources:\n  - source_glob: {{list_glob: a}}\n    exclude: ['(?!TS_)']\n    \
         parent_filters:\n      include:\n        run: ['(?<!x)TS_(\\d)\\1']\n"
    );
    let cfg = load_text(&text).unwrap_or_else(|e| panic!("{e}"));
    let Finder::SourceGlob { match_regex, .. } = &cfg.blocks(EntityKind::Run)[0].sources[0].finder
    else {
        panic!("runs[0] has a source_glob")
    };
    assert_eq!(match_regex, look_behind);
    let t = &cfg.blocks(EntityKind::Tomogram)[0].sources[0];
    assert_eq!(t.exclude, vec!["(?!TS_)".to_string()]);
    assert_eq!(
        t.parent_filters.include[&EntityKind::Run],
        vec![r"(?<!x)TS_(\d)\1".to_string()]
    );
}

#[test]
fn error_io_names_the_file() {
    let msg = load(Path::new("/nonexistent/dir/c.yaml"))
        .unwrap_err()
        .to_string();
    assert!(
        msg.starts_with("/nonexistent/dir/c.yaml: cannot read the config file: "),
        "{msg}"
    );
    assert!(msg.ends_with("(expected a readable YAML file)"), "{msg}");
}

#[test]
fn destination_filter_tomogram_header_and_key_photo_literals() {
    let text = format!(
        "{BASE}tomograms:
- sources:
  - destination_filter:
      filters:
      - key: [authors, name]
        value: Bob
    parent_filters:
      exclude:
        run: ['^bad']
"
    )
    .replace(
        "      value: [13.48, 'float {vs}']\n",
        "      value: [13.48, 'float {vs}']\n  - tomogram_header:\n      list_glob: '{run_name}.rec'\n",
    )
        + "dataset_keyphotos:\n- sources:\n  - literal:\n      value: {snapshot: a.png, thumbnail: null}\n";
    let cfg = load_text(&text).unwrap();
    let t = &cfg.blocks(EntityKind::Tomogram)[0].sources[0];
    assert_eq!(
        t.finder,
        Finder::DestinationFilter {
            filters: vec![DestinationFilterRule {
                key: vec!["authors".into(), "name".into()],
                value: json!("Bob")
            }]
        }
    );
    assert!(!t.finder.allows_imports());
    assert_eq!(
        t.parent_filters.exclude[&EntityKind::Run],
        vec!["^bad".to_string()]
    );
    let vs = &cfg.blocks(EntityKind::VoxelSpacing)[0].sources[1];
    assert_eq!(
        vs.finder,
        Finder::TomogramHeader {
            list_glob: "{run_name}.rec".into(),
            match_regex: ".*".into(),
            header_key: "voxel_size".into()
        }
    );
    let kp = &cfg.blocks(EntityKind::DatasetKeyphoto)[0].sources[0];
    let Finder::Literal(LiteralValue::Map(m)) = &kp.finder else {
        panic!("not a map literal")
    };
    assert_eq!(m.get("snapshot"), Some(&Some("a.png".to_string())));
    assert_eq!(m.get("thumbnail"), Some(&None));
}
