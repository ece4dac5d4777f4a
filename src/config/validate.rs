//! Metadata typing: a subset of the portal schema (`schema/core`) that the tool relies on later.
//!
//! We check types, not completeness: the fields the ingester reads or hashes (booleans, numbers
//! that feed IDs and paths, `authors`, `dates`, the annotation object and version), so that a
//! template left half filled in (`REQUIRED`, `2023-XX-XX`, `OPTIONAL (float)`) fails at load time
//! with a position instead of producing wrong output later. Free-text fields are not checked: a
//! real config may well say `data_acquisition_software: REQUIRED`.
//!
//! Numbers in tomogram, tilt series, frame and alignment metadata may be run-data-map templates
//! (`float {ts-tilt_range-min}`, `int {quality}`, `{tomo-voxel_spacing}`): they are accepted when
//! they contain a `{`, or when an `int `/`float ` prefix is followed by a parsable number.

use super::error::Errors;
use super::load::{index, join, Ctx};
use super::yaml::{Node, Value as Y};
use super::ConfigError;
use crate::EntityKind;

/// What a metadata field must hold.
#[derive(Debug, Clone, Copy)]
enum Check {
    Bool,
    Int,
    Number,
    Str,
    StrList,
    /// A number or a run-data-map template.
    NumberOrTemplate,
    /// An integer or a template.
    IntOrTemplate,
}

impl Check {
    fn expected(self) -> &'static str {
        match self {
            Check::Bool => "a boolean (true/false, yes/no)",
            Check::Int => "an integer",
            Check::Number => "a number",
            Check::Str => "a string",
            Check::StrList => "a list of strings",
            Check::NumberOrTemplate => "a number or a template such as \"float {column}\"",
            Check::IntOrTemplate => "an integer or a template such as \"int {column}\"",
        }
    }

    fn accepts(self, node: &Node) -> bool {
        match (self, &node.value) {
            (Check::Bool, Y::Bool(_)) => true,
            (Check::Int, Y::Int(_)) => true,
            (Check::Number, Y::Int(_) | Y::Float(_)) => true,
            (Check::Str, Y::Str(_)) => true,
            (Check::StrList, Y::Seq(items)) => items.iter().all(|n| matches!(n.value, Y::Str(_))),
            (Check::NumberOrTemplate, Y::Int(_) | Y::Float(_)) => true,
            (Check::IntOrTemplate, Y::Int(_)) => true,
            (Check::NumberOrTemplate | Check::IntOrTemplate, Y::Str(s)) => is_template(s),
            _ => false,
        }
    }
}

/// A string that `expand_metadata` can turn into a value: it has a `{field}`, or it is an
/// `int `/`float ` prefix followed by a number.
fn is_template(s: &str) -> bool {
    if s.contains('{') {
        return true;
    }
    if let Some(rest) = s.strip_prefix("int ") {
        return rest.trim().parse::<i64>().is_ok();
    }
    if let Some(rest) = s.strip_prefix("float ") {
        return rest.trim().parse::<f64>().is_ok();
    }
    false
}

/// (dotted field path inside the metadata, check, null allowed)
type Rule = (&'static str, Check, bool);

fn rules(kind: EntityKind) -> &'static [Rule] {
    use Check::*;
    match kind {
        EntityKind::Deposition => &[
            ("deposition_identifier", Int, false),
            ("deposition_types", StrList, false),
        ],
        EntityKind::Dataset => &[
            ("dataset_identifier", Int, false),
            ("organism.taxonomy_id", Int, true),
        ],
        EntityKind::Tomogram => &[
            ("is_visualization_default", Bool, false),
            ("ctf_corrected", Bool, true),
            ("offset.x", IntOrTemplate, false),
            ("offset.y", IntOrTemplate, false),
            ("offset.z", IntOrTemplate, false),
            ("size.x", IntOrTemplate, false),
            ("size.y", IntOrTemplate, false),
            ("size.z", IntOrTemplate, false),
            ("tomogram_version", Number, false),
            ("voxel_spacing", NumberOrTemplate, true),
        ],
        EntityKind::Tiltseries => &[
            ("acceleration_voltage", NumberOrTemplate, false),
            ("is_aligned", Bool, false),
            ("frames_count", IntOrTemplate, true),
            ("pixel_spacing", NumberOrTemplate, false),
            ("tilt_series_quality", IntOrTemplate, false),
            ("tilt_range.min", NumberOrTemplate, false),
            ("tilt_range.max", NumberOrTemplate, false),
            ("total_flux", NumberOrTemplate, false),
            ("tilt_axis", NumberOrTemplate, false),
            ("tilt_step", NumberOrTemplate, false),
            ("spherical_aberration_constant", NumberOrTemplate, false),
            ("binning_from_frames", NumberOrTemplate, true),
            ("aligned_tiltseries_binning", NumberOrTemplate, true),
        ],
        EntityKind::Annotation => &[
            ("annotation_object.name", Str, false),
            ("ground_truth_status", Bool, true),
            ("is_curator_recommended", Bool, true),
            ("version", Number, true),
            ("object_count", Int, true),
            ("confidence.precision", Number, true),
            ("confidence.recall", Number, true),
            ("annotation_method", Str, false),
            ("method_type", Str, false),
        ],
        EntityKind::Frame => &[
            ("is_gain_corrected", Bool, false),
            ("dose_rate", NumberOrTemplate, false),
        ],
        EntityKind::Alignment => &[
            ("format", Str, false),
            ("is_portal_standard", Bool, true),
            ("tilt_offset", Number, true),
            ("volume_dimension.x", NumberOrTemplate, false),
            ("volume_dimension.y", NumberOrTemplate, false),
            ("volume_dimension.z", NumberOrTemplate, false),
            ("x_rotation_offset", IntOrTemplate, true),
        ],
        EntityKind::Ctf => &[("format", Str, false)],
        _ => &[],
    }
}

/// Validates one block's `metadata` mapping (`node`, at `path`).
pub(super) fn validate_metadata(
    cx: &Ctx,
    kind: EntityKind,
    node: &Node,
    path: &str,
) -> Result<(), ConfigError> {
    // Every field is checked: one error per field that breaks its rule.
    let mut errors = Errors::default();
    if kind == EntityKind::Annotation && node.get("annotation_object").is_none() {
        errors.push(cx.missing(
            node,
            path,
            "annotation_object",
            "a mapping with `name` (it names the annotation files)",
        ));
    }
    'fields: for (field, check, nullable) in rules(kind) {
        // Walk the dotted path; a missing step means "not given", which the schema checks elsewhere.
        let mut cur = node;
        let mut cur_path = path.to_string();
        let mut found = true;
        let parts: Vec<&str> = field.split('.').collect();
        for (k, part) in parts.iter().enumerate() {
            let Some(e) = cur.get(part) else {
                found = false;
                break;
            };
            cur_path = join(&cur_path, part);
            cur = &e.value;
            let intermediate = k + 1 < parts.len();
            if intermediate && cur.value == Y::Null {
                found = false;
                break;
            }
            if intermediate && !matches!(cur.value, Y::Map(_)) {
                errors.push(cx.wrong_type(cur, &cur_path, "a mapping"));
                continue 'fields;
            }
        }
        if !found || (*nullable && cur.value == Y::Null) {
            continue;
        }
        if !check.accepts(cur) {
            errors.push(cx.wrong_type(cur, &cur_path, check.expected()));
        }
    }
    if let Some(e) = node.get("authors") {
        errors.take(authors(cx, &e.value, &join(path, "authors")));
    }
    if let Some(e) = node.get("dates") {
        errors.take(dates(cx, &e.value, &join(path, "dates")));
    }
    errors.finish(|| ())
}

/// `authors`: a list of mappings, each with a string `name`; ORCID a string; `*_status` booleans.
fn authors(cx: &Ctx, node: &Node, path: &str) -> Result<(), ConfigError> {
    let Y::Seq(items) = &node.value else {
        return Err(cx.wrong_type(node, path, "a list of authors (mappings with a `name`)"));
    };
    for (i, a) in items.iter().enumerate() {
        let ap = index(path, i);
        let entries = cx.entries(a, &ap)?;
        match a.get("name") {
            None => return Err(cx.missing(a, &ap, "name", "a string")),
            Some(e) => {
                cx.string(&e.value, &join(&ap, "name"))?;
            }
        }
        for e in entries {
            let p = join(&ap, &e.key);
            let ok = match e.key.as_str() {
                k if k.ends_with("_status") => matches!(e.value.value, Y::Bool(_) | Y::Null),
                "ORCID"
                | "email"
                | "affiliation_name"
                | "affiliation_address"
                | "affiliation_identifier"
                | "kaggle_id" => matches!(e.value.value, Y::Str(_) | Y::Null),
                _ => true,
            };
            if !ok {
                let expected = if e.key.ends_with("_status") {
                    "a boolean"
                } else {
                    "a string"
                };
                return Err(cx.wrong_type(&e.value, &p, expected));
            }
        }
    }
    Ok(())
}

/// `dates`: the three dates of the schema's `DateStamp`, each `YYYY-MM-DD` (a YAML date or string).
fn dates(cx: &Ctx, node: &Node, path: &str) -> Result<(), ConfigError> {
    cx.entries(node, path)?;
    for field in ["deposition_date", "last_modified_date", "release_date"] {
        let Some(e) = node.get(field) else {
            return Err(cx.missing(node, path, field, "a date YYYY-MM-DD"));
        };
        let p = join(path, field);
        let ok = match &e.value.value {
            Y::Str(s) => chrono::NaiveDate::parse_from_str(s, "%Y-%m-%d").is_ok() && s.len() == 10,
            _ => false,
        };
        if !ok {
            return Err(cx.wrong_type(&e.value, &p, "a date YYYY-MM-DD"));
        }
    }
    Ok(())
}
