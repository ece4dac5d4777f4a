//! The portal's metadata JSON writing rules (spec §11), as pure functions.
//!
//! Every metadata file is `deep_merge(config metadata, extracted values)`, then `deposition_id`
//! when missing or falsy, then `last_updated_at`, serialised as Python's
//! `json.dumps(indent=4)`. The timestamp is kept separate ([`with_last_updated_at`]) so the
//! engine can digest the stable document and stamp it only when it writes.

use serde_json::{Map, Value};

use crate::formats::FormatError;

/// Recursive merge: where both sides hold objects they merge key by key; otherwise the
/// extracted value replaces the base one. Keys keep the base order, new keys follow in the
/// extracted order. Neither input is modified.
pub fn deep_merge(base: &Value, extracted: &Value) -> Value {
    match (base, extracted) {
        (Value::Object(b), Value::Object(e)) => Value::Object(merge_maps(b, e)),
        _ => extracted.clone(),
    }
}

fn merge_maps(base: &Map<String, Value>, extracted: &Map<String, Value>) -> Map<String, Value> {
    let mut out = base.clone();
    for (k, ev) in extracted {
        let merged = match (out.get(k), ev) {
            (Some(Value::Object(bv)), Value::Object(em)) => Value::Object(merge_maps(bv, em)),
            _ => ev.clone(),
        };
        // Replacing an existing key keeps its position, as a Python dict does.
        out.insert(k.clone(), merged);
    }
    out
}

/// Python truthiness of a JSON value (`None`, `False`, `0`, `0.0`, `""`, `[]`, `{}` are false).
pub fn is_truthy(v: &Value) -> bool {
    match v {
        Value::Null => false,
        Value::Bool(b) => *b,
        Value::Number(n) => n.as_f64().is_some_and(|f| f != 0.0),
        Value::String(s) => !s.is_empty(),
        Value::Array(a) => !a.is_empty(),
        Value::Object(m) => !m.is_empty(),
    }
}

/// Sets `deposition_id` to the deposition instance name (a string such as `"10301"`, or an int
/// when the config literal was an int) when it is missing or falsy. A falsy existing key keeps
/// its position; a missing one is appended.
pub fn finalize(doc: &mut Map<String, Value>, deposition_name: &Value) {
    if !doc.get("deposition_id").is_some_and(is_truthy) {
        doc.insert("deposition_id".into(), deposition_name.clone());
    }
}

/// `deep_merge` then [`finalize`]: the whole document except the volatile `last_updated_at`.
pub fn merged_document(
    config_metadata: &Value,
    extracted: &Value,
    deposition_name: &Value,
) -> Value {
    let mut doc = deep_merge(config_metadata, extracted);
    if let Value::Object(m) = &mut doc {
        finalize(m, deposition_name);
    }
    doc
}

/// A copy of `doc` with `last_updated_at = unix_secs` (set in place when the key exists,
/// appended otherwise). Non-objects are returned unchanged.
pub fn with_last_updated_at(doc: &Value, unix_secs: i64) -> Value {
    let mut out = doc.clone();
    if let Value::Object(m) = &mut out {
        m.insert("last_updated_at".into(), Value::from(unix_secs));
    }
    out
}

/// The ontology-term fields `DatasetImporter.format_data` fills, in its order.
const DATASET_TERMS: [&str; 8] = [
    "assay",
    "cell_component",
    "cell_strain",
    "cell_type",
    "development_stage",
    "disease",
    "organism",
    "tissue",
];

/// Dataset metadata defaults (`format_data`): each term becomes an object; a falsy `name`
/// becomes `"not_reported"` (`"unknown"` for development_stage), a falsy `id` likewise, and the
/// organism gets `taxonomy_id: null` when it is falsy instead of an id. Missing terms are
/// appended in the order above. A term that is present but not an object is an error (the
/// reference fails on it too).
pub fn format_dataset_metadata(md: &Map<String, Value>) -> Result<Map<String, Value>, FormatError> {
    let mut out = md.clone();
    for key in DATASET_TERMS {
        let entry = out
            .entry(key.to_string())
            .or_insert_with(|| Value::Object(Map::new()));
        let Value::Object(term) = entry else {
            return Err(FormatError::value(
                key,
                format!("expected an object with name/id, found {entry}"),
            ));
        };
        let unknown = if key == "development_stage" {
            "unknown"
        } else {
            "not_reported"
        };
        if !term.get("name").is_some_and(is_truthy) {
            term.insert("name".into(), Value::from(unknown));
        }
        if key == "organism" {
            if !term.get("taxonomy_id").is_some_and(is_truthy) {
                term.insert("taxonomy_id".into(), Value::Null);
            }
        } else if !term.get("id").is_some_and(is_truthy) {
            term.insert("id".into(), Value::from(unknown));
        }
    }
    Ok(out)
}

/// A tomogram's `fiducial_alignment_status`: `true`/`"True"` → `FIDUCIAL`, `false`/`"False"` →
/// `NON_FIDUCIAL`, a string that upper-cases to one of those → that; anything else (including
/// a missing value, passed as `null`) is an error.
pub fn normalize_fiducial_alignment_status(v: &Value) -> Result<Value, FormatError> {
    const FIELD: &str = "fiducial_alignment_status";
    match v {
        Value::Bool(true) => Ok(Value::from("FIDUCIAL")),
        Value::Bool(false) => Ok(Value::from("NON_FIDUCIAL")),
        Value::String(s) if s == "True" => Ok(Value::from("FIDUCIAL")),
        Value::String(s) if s == "False" => Ok(Value::from("NON_FIDUCIAL")),
        Value::String(s) => {
            let up = s.to_uppercase();
            if up == "FIDUCIAL" || up == "NON_FIDUCIAL" {
                Ok(Value::from(up))
            } else {
                Err(FormatError::value(
                    FIELD,
                    format!("must be FIDUCIAL or NON_FIDUCIAL, found {s:?}"),
                ))
            }
        }
        other => Err(FormatError::value(
            FIELD,
            format!("must be FIDUCIAL or NON_FIDUCIAL, found {other}"),
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn keys(v: &Value) -> Vec<String> {
        v.as_object().unwrap().keys().cloned().collect()
    }

    #[test]
    fn deep_merge_recurses_and_orders_keys() {
        let base = json!({"b": 1, "nested": {"x": 1, "y": {"p": 1}}, "list": [1, 2], "a": "keep"});
        let extracted = json!({"new": true, "nested": {"y": {"q": 2}, "z": 3}, "list": [3], "b": {"now": "dict"}});
        let merged = deep_merge(&base, &extracted);
        assert_eq!(
            merged,
            json!({"b": {"now": "dict"}, "nested": {"x": 1, "y": {"p": 1, "q": 2}, "z": 3}, "list": [3], "a": "keep", "new": true})
        );
        assert_eq!(keys(&merged), ["b", "nested", "list", "a", "new"]);
        assert_eq!(keys(&merged["nested"]), ["x", "y", "z"]);
        // Extracted scalars and nulls replace config objects.
        assert_eq!(
            deep_merge(&json!({"k": {"a": 1}}), &json!({"k": null})),
            json!({"k": null})
        );
        // Inputs are untouched.
        assert_eq!(base["nested"]["y"], json!({"p": 1}));
    }

    #[test]
    fn finalize_sets_falsy_deposition_id() {
        let name = json!("10301");
        let mut m = json!({"a": 1}).as_object().unwrap().clone();
        finalize(&mut m, &name);
        assert_eq!(
            Value::Object(m.clone()),
            json!({"a": 1, "deposition_id": "10301"})
        );
        assert_eq!(keys(&Value::Object(m)), ["a", "deposition_id"]);

        for falsy in [
            json!(null),
            json!(0),
            json!(""),
            json!(false),
            json!(0.0),
            json!([]),
            json!({}),
        ] {
            let mut m = json!({"deposition_id": falsy, "z": 1})
                .as_object()
                .unwrap()
                .clone();
            finalize(&mut m, &name);
            assert_eq!(keys(&Value::Object(m.clone())), ["deposition_id", "z"]);
            assert_eq!(m["deposition_id"], name);
        }
        let mut m = json!({"deposition_id": 10000}).as_object().unwrap().clone();
        finalize(&mut m, &name);
        assert_eq!(m["deposition_id"], json!(10000));
    }

    #[test]
    fn merged_document_then_timestamp_then_render() {
        let config = json!({"dataset_title": "Dataset 1", "organism": {"name": "Organism 1"}});
        let extracted =
            json!({"key_photos": {"snapshot": "10001/Images/snapshot.gif", "thumbnail": null}});
        let doc = merged_document(&config, &extracted, &json!("10301"));
        let stamped = with_last_updated_at(&doc, 1_700_000_000);
        assert!(doc.get("last_updated_at").is_none());
        assert_eq!(
            keys(&stamped),
            [
                "dataset_title",
                "organism",
                "key_photos",
                "deposition_id",
                "last_updated_at"
            ]
        );
        let text = String::from_utf8(crate::pycompat::json::render_json(&stamped)).unwrap();
        let want = "{\n    \"dataset_title\": \"Dataset 1\",\n    \"organism\": {\n        \"name\": \"Organism 1\"\n    },\n    \"key_photos\": {\n        \"snapshot\": \"10001/Images/snapshot.gif\",\n        \"thumbnail\": null\n    },\n    \"deposition_id\": \"10301\",\n    \"last_updated_at\": 1700000000\n}";
        assert_eq!(text, want);
        // An existing last_updated_at keeps its position.
        let again = with_last_updated_at(&json!({"last_updated_at": 1, "x": 2}), 5);
        assert_eq!(keys(&again), ["last_updated_at", "x"]);
        assert_eq!(again["last_updated_at"], json!(5));
    }

    #[test]
    fn dataset_defaults_for_empty_input() {
        let out = format_dataset_metadata(&Map::new()).unwrap();
        let want = json!({
            "assay": {"name": "not_reported", "id": "not_reported"},
            "cell_component": {"name": "not_reported", "id": "not_reported"},
            "cell_strain": {"name": "not_reported", "id": "not_reported"},
            "cell_type": {"name": "not_reported", "id": "not_reported"},
            "development_stage": {"name": "unknown", "id": "unknown"},
            "disease": {"name": "not_reported", "id": "not_reported"},
            "organism": {"name": "not_reported", "taxonomy_id": null},
            "tissue": {"name": "not_reported", "id": "not_reported"},
        });
        let out = Value::Object(out);
        assert_eq!(out, want);
        assert_eq!(keys(&out), keys(&want));
        assert_eq!(keys(&out["organism"]), ["name", "taxonomy_id"]);
    }

    #[test]
    fn dataset_defaults_keep_given_values() {
        let complete = json!({
            "assay": {"name": "assay_name", "id": "assay_id"},
            "cell_component": {"name": "component_name", "id": "component_id"},
            "cell_strain": {"name": "strain_name", "id": "strain_id"},
            "cell_type": {"name": "type_name", "id": "type_id"},
            "development_stage": {"name": "stage_name", "id": "stage_id"},
            "disease": {"name": "disease_name", "id": "disease_id"},
            "organism": {"name": "organism_name", "taxonomy_id": "12345"},
            "tissue": {"name": "tissue_name", "id": "tissue_id"},
        });
        let out = format_dataset_metadata(complete.as_object().unwrap()).unwrap();
        assert_eq!(Value::Object(out), complete);

        // Partial, as in test_datasets.py's dataset1.yaml.
        let partial = json!({
            "dataset_title": "Dataset 1",
            "cell_strain": {"name": "Strain 1", "id": "CVCL_88888"},
            "organism": {"name": "Organism 1"},
            "cell_type": {"id": "CL:0000000", "name": ""},
        });
        let out = Value::Object(format_dataset_metadata(partial.as_object().unwrap()).unwrap());
        assert_eq!(
            out["cell_strain"],
            json!({"name": "Strain 1", "id": "CVCL_88888"})
        );
        assert_eq!(
            out["organism"],
            json!({"name": "Organism 1", "taxonomy_id": null})
        );
        assert_eq!(keys(&out["cell_type"]), ["id", "name"]);
        assert_eq!(out["cell_type"]["name"], json!("not_reported"));
        assert_eq!(
            out["development_stage"],
            json!({"name": "unknown", "id": "unknown"})
        );
        assert_eq!(
            keys(&out),
            [
                "dataset_title",
                "cell_strain",
                "organism",
                "cell_type",
                "assay",
                "cell_component",
                "development_stage",
                "disease",
                "tissue"
            ]
        );

        let bad = json!({"tissue": "liver"});
        let e = format_dataset_metadata(bad.as_object().unwrap()).unwrap_err();
        assert_eq!(
            e.to_string(),
            "metadata field `tissue`: expected an object with name/id, found \"liver\""
        );
    }

    #[test]
    fn fiducial_alignment_status() {
        for (input, want) in [
            (json!(true), "FIDUCIAL"),
            (json!("True"), "FIDUCIAL"),
            (json!(false), "NON_FIDUCIAL"),
            (json!("False"), "NON_FIDUCIAL"),
            (json!("fiducial"), "FIDUCIAL"),
            (json!("Non_Fiducial"), "NON_FIDUCIAL"),
            (json!("NON_FIDUCIAL"), "NON_FIDUCIAL"),
        ] {
            assert_eq!(
                normalize_fiducial_alignment_status(&input).unwrap(),
                json!(want),
                "{input}"
            );
        }
        let e = normalize_fiducial_alignment_status(&json!("true")).unwrap_err();
        assert_eq!(
            e.to_string(),
            "metadata field `fiducial_alignment_status`: must be FIDUCIAL or NON_FIDUCIAL, found \"true\""
        );
        assert!(normalize_fiducial_alignment_status(&json!(null)).is_err());
        assert!(normalize_fiducial_alignment_status(&json!(1)).is_err());
    }
}
