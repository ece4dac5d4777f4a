//! The annotation palette (spec §10.2) against distinctipy itself (test venv): exact equality of
//! every colour component, for fresh and excluded palettes, the portal's filter and refill, the
//! 20-colour cycle, and the md5 seed of the hash input.

use crate::common::venv_python;
use cryoet_ingest::palette::{color_seed, distinctipy_colors, portal_colors, Rgb};
use serde_json::{json, Value};
use std::io::Write;
use std::process::{Command, Stdio};

fn run_reference(cases: &Value) -> Value {
    let script = crate::common::repo().join("tests/python/distinctipy_colors.py");
    let mut child = Command::new(venv_python())
        .arg(script)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .expect("python");
    child
        .stdin
        .take()
        .unwrap()
        .write_all(cases.to_string().as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success(), "distinctipy_colors.py failed");
    serde_json::from_slice(&out.stdout).unwrap()
}

fn rgbs(v: &Value) -> Vec<Rgb> {
    v.as_array()
        .unwrap()
        .iter()
        .map(|c| {
            let c = c.as_array().unwrap();
            [
                c[0].as_f64().unwrap(),
                c[1].as_f64().unwrap(),
                c[2].as_f64().unwrap(),
            ]
        })
        .collect()
}

#[test]
fn palette_equals_distinctipy() {
    let used: Vec<Rgb> = vec![[0.1, 0.9, 0.3], [1.0, 0.0, 1.0]];
    let seeds = [0u64, 1, 42, 123_456_789, 4_294_967_294];
    let mut di = Vec::new();
    let mut portal = Vec::new();
    for &seed in &seeds {
        di.push(json!({"n": 3, "exclude": null, "seed": seed}));
        di.push(json!({"n": 2, "exclude": [], "seed": seed}));
        di.push(json!({"n": 4, "exclude": used, "seed": seed}));
        portal.push(json!({"n": 1, "exclude": [], "seed": seed}));
        portal.push(json!({"n": 5, "exclude": used, "seed": seed}));
    }
    portal.push(json!({"n": 23, "exclude": [], "seed": 7}));
    let hash_inputs = vec![
        json!({"annotation_method": "template matching", "annotation_object": {"id": "GO:0005840", "name": "ribosome"}, "deposition_id": 10301, "ground_truth_status": true, "shape": "Point"}),
        json!({"annotation_method": null, "annotation_object": null, "deposition_id": 1.5, "ground_truth_status": false, "shape": "SegmentationMask"}),
        json!({"annotation_method": "münchen \"x\"\n", "annotation_object": {"id": null, "name": "☃ 𝄞"}, "deposition_id": 1e20, "ground_truth_status": null, "shape": "OrientedPoint"}),
    ];
    let cases = json!({"distinctipy": di, "portal": portal, "seeds": hash_inputs});
    let reference = run_reference(&cases);

    for (case, expect) in cases["distinctipy"]
        .as_array()
        .unwrap()
        .iter()
        .zip(reference["distinctipy"].as_array().unwrap())
    {
        let exclude = case["exclude"].as_array().map(|_| rgbs(&case["exclude"]));
        let got = distinctipy_colors(
            case["n"].as_u64().unwrap() as usize,
            exclude.as_deref(),
            case["seed"].as_u64().unwrap(),
        );
        assert_eq!(got, rgbs(expect), "distinctipy case {case}");
    }
    for (case, expect) in cases["portal"]
        .as_array()
        .unwrap()
        .iter()
        .zip(reference["portal"].as_array().unwrap())
    {
        let got = portal_colors(
            case["n"].as_u64().unwrap() as usize,
            &rgbs(&case["exclude"]),
            case["seed"].as_u64().unwrap(),
        );
        assert_eq!(got, rgbs(expect), "portal case {case}");
    }
    for (input, expect) in hash_inputs_of(&cases)
        .iter()
        .zip(reference["seeds"].as_array().unwrap())
    {
        assert_eq!(
            color_seed(input),
            expect.as_u64().unwrap(),
            "seed of {input}"
        );
    }
}

fn hash_inputs_of(cases: &Value) -> Vec<Value> {
    cases["seeds"].as_array().unwrap().clone()
}
