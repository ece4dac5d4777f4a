//! Point-annotation readers: deposited picks (CSV, RELION/STOPGAP STAR, IMOD models, copick
//! JSON, TARDIS CSV) in, portal point records out, and the NDJSON the portal publishes.
//!
//! These are pure functions over bytes so the engine can cache and re-run them freely; the
//! caller finds the file, expands `filter_value` templates and writes the output. Behaviour
//! follows the reference ingester (spec §7.2–§7.3): every coordinate is divided by `binning`,
//! `zyx` ordering swaps x and z (and flips the 3×3 rotation on both axes), rotations use
//! scipy's Euler conventions (see [`rotation`]), and the oriented formats drop the rotation when
//! read as `Point`.
//!
//! Empty results instead of errors, mirroring the reference (which prints a `ValueError` and
//! writes an empty NDJSON): `stopgap_star` when no row has the requested `tomo_num`. Filters
//! that match nothing in the RELION readers, a copick file without `points`, and an IMOD model
//! without slicer angles (read as `OrientedPoint`) are simply empty.
//!
//! Errors where the reference would crash or silently print: a bad number, a short row, a
//! missing column, a wrong IMOD magic or a truncated chunk, an unsupported `file_format` for the
//! shape. Each error names the file and the 1-based line (or, for binary IMOD models, the byte
//! offset). Note the reference turns `float()` failures into an empty result; here they are
//! errors, since an empty annotation published from a corrupt file is worse than a stopped run.

/// The version of the reader of `file_format`, when it has changed since version 1. It joins
/// the key of annotations read with that format only, so a reader fix rebuilds exactly the
/// annotations it may change (rather than every annotation, as a kind version bump would).
///
/// - STAR readers, 2: a name column is typed the way starfile types it, and `nan`/`<NA>`
///   values never match a filter.
pub fn reader_version(file_format: &str) -> Option<u32> {
    match file_format {
        "relion3_star" | "relion4_star" | "tomoman_relion_star" | "stopgap_star" => Some(2),
        _ => None,
    }
}

mod copick;
mod csv;
mod imod;
pub mod rotation;
mod star;

use crate::formats::FormatError;
use crate::pycompat::json::py_float_repr;
use serde_json::{Map, Value};

/// The annotation shapes with point-like output (spec §7.2).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum PointShape {
    /// `{prefix}_point.ndjson`, records `{"type": "point", ...}`.
    Point,
    /// `{prefix}_orientedpoint.ndjson`, records with `xyz_rotation_matrix`.
    OrientedPoint,
    /// `{prefix}_instancesegmentation.ndjson`, records with `instance_id`.
    InstanceSegmentation,
}

impl PointShape {
    /// The `file_format` values the reference accepts for this shape.
    pub fn file_formats(self) -> &'static [&'static str] {
        match self {
            PointShape::Point => &[
                "csv",
                "csv_with_header",
                "mod",
                "relion3_star",
                "relion4_star",
                "tomoman_relion_star",
                "copick",
            ],
            PointShape::OrientedPoint => &[
                "relion3_star",
                "relion4_star",
                "tomoman_relion_star",
                "stopgap_star",
                "mod",
                "copick",
            ],
            PointShape::InstanceSegmentation => &["tardis", "copick"],
        }
    }
}

/// Reader parameters of one annotation source.
#[derive(Debug, Clone, PartialEq)]
pub struct PointParams {
    /// `"xyz"` (default) or `"zyx"`: `columns` for Point, `order` for the other shapes.
    pub order: String,
    /// One character; `","` by default. Only the CSV formats use it (TARDIS is always `,`).
    pub delimiter: String,
    /// Every coordinate is divided by it; `1.0` by default (also when given as 0 or null, as
    /// the reference's `if not binning` does).
    pub binning: f64,
    /// Already template-expanded; an empty string is stored as `None` (the reference's
    /// `if filter_value:`).
    pub filter_value: Option<String>,
}

impl Default for PointParams {
    fn default() -> Self {
        PointParams {
            order: "xyz".into(),
            delimiter: ",".into(),
            binning: 1.0,
            filter_value: None,
        }
    }
}

/// The config key naming the axis order of a shape: Point uses `columns`, the others `order`;
/// the reference ignores the other key.
fn order_key(shape: PointShape) -> &'static str {
    match shape {
        PointShape::Point => "columns",
        _ => "order",
    }
}

impl PointParams {
    /// Reads `columns`/`order`, `delimiter`, `binning` and `filter_value` with the defaults of
    /// [`PointParams`], without knowing the shape: the order comes from `columns`, else from
    /// `order`, else `"xyz"`. A missing `order` is therefore not reported here; prefer
    /// [`PointParams::for_source`], which reads only the key the shape uses and rejects an
    /// `OrientedPoint` source that needs an order and has none.
    pub fn from_params(params: &Map<String, Value>) -> Result<Self, FormatError> {
        let order = opt_string(params, "columns")?.or(opt_string(params, "order")?);
        Self::build(params, order)
    }

    /// Reads the parameters exactly as the reference's importer for `shape` does: Point reads
    /// `columns`, the other shapes `order`. An `OrientedPoint` source in a STAR or IMOD format
    /// without `order` is an error (the reference fails with `KeyError: None`); copick ignores
    /// the order, and TARDIS always reads columns 1..3.
    pub fn for_source(
        shape: PointShape,
        file_format: &str,
        params: &Map<String, Value>,
    ) -> Result<Self, FormatError> {
        let key = order_key(shape);
        let order = opt_string(params, key)?;
        if order.is_none() && shape == PointShape::OrientedPoint && file_format != "copick" {
            return Err(FormatError::value(
                "order",
                format!("OrientedPoint sources in {file_format} format need `order` (xyz or zyx)"),
            ));
        }
        Self::build(params, order)
    }

    fn build(params: &Map<String, Value>, order: Option<String>) -> Result<Self, FormatError> {
        let order = order.unwrap_or_else(|| "xyz".into());
        axis_columns(&order).ok_or_else(|| {
            FormatError::value("order", format!("expected xyz or zyx, found {order:?}"))
        })?;
        let delimiter = opt_string(params, "delimiter")?.unwrap_or_else(|| ",".into());
        if delimiter.chars().count() != 1 {
            return Err(FormatError::value(
                "delimiter",
                format!("expected one character, found {delimiter:?}"),
            ));
        }
        let binning = match params.get("binning") {
            None | Some(Value::Null) | Some(Value::Bool(false)) => 1.0,
            Some(Value::Number(n)) => match n.as_f64() {
                Some(0.0) => 1.0,
                Some(b) if b.is_finite() => b,
                _ => return Err(FormatError::value("binning", format!("not a number: {n}"))),
            },
            Some(other) => {
                return Err(FormatError::value(
                    "binning",
                    format!("expected a number, found {other}"),
                ))
            }
        };
        let filter_value = match params.get("filter_value") {
            None | Some(Value::Null) => None,
            Some(Value::String(s)) => Some(s.clone()),
            // Lenience: a bare YAML number (e.g. a STOPGAP tomo_num) is taken as its text.
            Some(Value::Number(n)) => Some(n.to_string()),
            Some(other) => {
                return Err(FormatError::value(
                    "filter_value",
                    format!("expected a string, found {other}"),
                ))
            }
        }
        .filter(|s| !s.is_empty());
        Ok(PointParams {
            order,
            delimiter,
            binning,
            filter_value,
        })
    }
}

/// A string parameter; empty strings and null count as absent (the reference's `if not x`).
fn opt_string(params: &Map<String, Value>, key: &str) -> Result<Option<String>, FormatError> {
    match params.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) if s.is_empty() => Ok(None),
        Some(Value::String(s)) => Ok(Some(s.clone())),
        Some(other) => Err(FormatError::value(
            key,
            format!("expected a string, found {other}"),
        )),
    }
}

/// One portal point: location in (binned) voxels, optional rotation and instance id.
#[derive(Debug, Clone, PartialEq)]
pub struct PointRecord {
    /// x, y, z (after ordering and binning).
    pub location: [f64; 3],
    /// Row-major 3×3 matrix for oriented points.
    pub rotation: Option<[[f64; 3]; 3]>,
    /// Instance id for instance segmentations.
    pub instance_id: Option<i64>,
}

impl PointRecord {
    fn point(location: [f64; 3]) -> Self {
        PointRecord {
            location,
            rotation: None,
            instance_id: None,
        }
    }
}

/// Column indices for an axis order: `xyz` → (0, 1, 2), `zyx` → (2, 1, 0).
pub(crate) fn axis_columns(order: &str) -> Option<[usize; 3]> {
    match order {
        "xyz" => Some([0, 1, 2]),
        "zyx" => Some([2, 1, 0]),
        _ => None,
    }
}

/// How an oriented reader hands its raw values to the shared ordering step.
struct Oriented {
    /// Already divided by binning, in the file's x, y, z.
    position: [f64; 3],
    rotation: [[f64; 3]; 3],
}

/// Applies the axis order (and the matching matrix flip) to oriented readings; the rotation
/// is dropped for Point output.
fn finish_oriented(shape: PointShape, order: [usize; 3], raw: Vec<Oriented>) -> Vec<PointRecord> {
    let flip = order != [0, 1, 2];
    raw.into_iter()
        .map(|o| {
            let location = [
                o.position[order[0]],
                o.position[order[1]],
                o.position[order[2]],
            ];
            let rotation = (shape == PointShape::OrientedPoint).then(|| {
                if flip {
                    rotation::flip(&o.rotation)
                } else {
                    o.rotation
                }
            });
            PointRecord {
                location,
                rotation,
                instance_id: None,
            }
        })
        .collect()
}

/// Reads one deposited point file. `file` is only used in error messages.
pub fn read_points(
    file_format: &str,
    shape: PointShape,
    params: &PointParams,
    bytes: &[u8],
    file: &str,
) -> Result<Vec<PointRecord>, FormatError> {
    if !shape.file_formats().contains(&file_format) {
        return Err(FormatError::invalid(
            file,
            None,
            format!(
                "file_format {file_format:?} is not supported for {shape:?} (expected one of {})",
                shape.file_formats().join(", ")
            ),
        ));
    }
    let order = axis_columns(&params.order).ok_or_else(|| {
        FormatError::invalid(
            file,
            None,
            format!("order must be xyz or zyx, found {:?}", params.order),
        )
    })?;
    let binning = params.binning;
    let filter = params.filter_value.as_deref();
    match file_format {
        "csv" | "csv_with_header" => {
            let text = utf8(bytes, file)?;
            let delim = single_char(&params.delimiter, file)?;
            csv::read_csv(
                text,
                file,
                delim,
                file_format == "csv_with_header",
                order,
                binning,
            )
        }
        "tardis" => csv::read_tardis(utf8(bytes, file)?, file, binning),
        "copick" => copick::read(bytes, file, shape, binning),
        "mod" => match shape {
            PointShape::OrientedPoint => {
                let raw = imod::read_slicer_points(bytes, file, binning)?;
                Ok(finish_oriented(shape, order, raw))
            }
            _ => Ok(imod::read_points(bytes, file)?
                .into_iter()
                .map(|p| {
                    let p = p.map(|v| v / binning);
                    PointRecord::point([p[order[0]], p[order[1]], p[order[2]]])
                })
                .collect()),
        },
        "relion3_star" | "tomoman_relion_star" | "relion4_star" | "stopgap_star" => {
            let text = utf8(bytes, file)?;
            let raw = match file_format {
                "relion3_star" => star::relion3(text, file, "rlnMicrographName", filter, binning)?,
                "tomoman_relion_star" => star::relion3(text, file, "rlnTomoName", filter, binning)?,
                "relion4_star" => star::relion4(text, file, filter, binning)?,
                _ => star::stopgap(text, file, filter, binning)?,
            };
            Ok(finish_oriented(shape, order, raw))
        }
        _ => unreachable!("file_formats() lists only handled formats"),
    }
}

fn utf8<'a>(bytes: &'a [u8], file: &str) -> Result<&'a str, FormatError> {
    let bytes = bytes
        .strip_prefix(b"\xEF\xBB\xBF".as_slice())
        .unwrap_or(bytes);
    std::str::from_utf8(bytes).map_err(|e| {
        let line = bytes[..e.valid_up_to()]
            .iter()
            .filter(|b| **b == b'\n')
            .count()
            + 1;
        FormatError::malformed(file, Some(line), "UTF-8 text", "invalid bytes")
    })
}

fn single_char(delimiter: &str, file: &str) -> Result<char, FormatError> {
    let mut chars = delimiter.chars();
    match (chars.next(), chars.next()) {
        (Some(c), None) => Ok(c),
        _ => Err(FormatError::invalid(
            file,
            None,
            format!("delimiter must be one character, found {delimiter:?}"),
        )),
    }
}

fn write_location(out: &mut String, l: &[f64; 3]) {
    out.push_str("\"location\": {\"x\": ");
    out.push_str(&py_float_repr(l[0]));
    out.push_str(", \"y\": ");
    out.push_str(&py_float_repr(l[1]));
    out.push_str(", \"z\": ");
    out.push_str(&py_float_repr(l[2]));
    out.push('}');
}

const IDENTITY: [[f64; 3]; 3] = [[1.0, 0.0, 0.0], [0.0, 1.0, 0.0], [0.0, 0.0, 1.0]];

/// The NDJSON the reference writes with `ndjson.dump`: one `json.dumps` object per record
/// (`", "` and `": "` separators, Python float reprs), joined by `\n`, no trailing newline; no
/// records give an empty file. Records lacking a rotation or id (which [`read_points`] never
/// returns for these shapes) are written with the identity matrix or id 0.
pub fn to_ndjson(shape: PointShape, records: &[PointRecord]) -> Vec<u8> {
    let mut out = String::new();
    for (i, r) in records.iter().enumerate() {
        if i > 0 {
            out.push('\n');
        }
        match shape {
            PointShape::Point => {
                out.push_str("{\"type\": \"point\", ");
                write_location(&mut out, &r.location);
            }
            PointShape::OrientedPoint => {
                out.push_str("{\"type\": \"orientedPoint\", ");
                write_location(&mut out, &r.location);
                out.push_str(", \"xyz_rotation_matrix\": [");
                let m = r.rotation.as_ref().unwrap_or(&IDENTITY);
                for (ri, row) in m.iter().enumerate() {
                    if ri > 0 {
                        out.push_str(", ");
                    }
                    out.push('[');
                    for (ci, v) in row.iter().enumerate() {
                        if ci > 0 {
                            out.push_str(", ");
                        }
                        out.push_str(&py_float_repr(*v));
                    }
                    out.push(']');
                }
                out.push(']');
            }
            PointShape::InstanceSegmentation => {
                out.push_str("{\"type\": \"instancePoint\", ");
                write_location(&mut out, &r.location);
                out.push_str(", \"instance_id\": ");
                out.push_str(&r.instance_id.unwrap_or(0).to_string());
            }
        }
        out.push('}');
    }
    out.into_bytes()
}

/// The annotation's `object_count`: the number of records, or of distinct instance ids for
/// InstanceSegmentation.
pub fn object_count(shape: PointShape, records: &[PointRecord]) -> usize {
    match shape {
        PointShape::InstanceSegmentation => records
            .iter()
            .map(|r| r.instance_id)
            .collect::<std::collections::HashSet<_>>()
            .len(),
        _ => records.len(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn map(v: Value) -> Map<String, Value> {
        v.as_object().unwrap().clone()
    }

    #[test]
    fn params_defaults_and_reference_falsy_rules() {
        let p = PointParams::from_params(&map(json!({}))).unwrap();
        assert_eq!(p, PointParams::default());
        let p = PointParams::from_params(&map(
            json!({"columns": "zyx", "delimiter": "\t", "binning": 4, "filter_value": ""}),
        ))
        .unwrap();
        assert_eq!(p.order, "zyx");
        assert_eq!(p.delimiter, "\t");
        assert_eq!(p.binning, 4.0);
        assert_eq!(p.filter_value, None);
        let p = PointParams::from_params(&map(json!({"binning": 0, "delimiter": null}))).unwrap();
        assert_eq!((p.binning, p.delimiter.as_str()), (1.0, ","));
        let p = PointParams::from_params(&map(json!({"filter_value": 3}))).unwrap();
        assert_eq!(p.filter_value.as_deref(), Some("3"));
        assert!(PointParams::from_params(&map(json!({"order": "yxz"}))).is_err());
        assert!(PointParams::from_params(&map(json!({"delimiter": "::"}))).is_err());
        assert!(PointParams::from_params(&map(json!({"binning": "2"}))).is_err());
    }

    #[test]
    fn for_source_reads_the_shape_key_and_requires_order_where_the_reference_does() {
        let cfg = map(json!({"columns": "zyx", "order": "xyz"}));
        let p = PointParams::for_source(PointShape::Point, "csv", &cfg).unwrap();
        assert_eq!(p.order, "zyx");
        let p = PointParams::for_source(PointShape::OrientedPoint, "mod", &cfg).unwrap();
        assert_eq!(p.order, "xyz");
        let none = map(json!({"binning": 2}));
        let e =
            PointParams::for_source(PointShape::OrientedPoint, "relion3_star", &none).unwrap_err();
        assert!(e.to_string().contains("need `order`"), "{e}");
        assert!(PointParams::for_source(PointShape::OrientedPoint, "copick", &none).is_ok());
        assert!(PointParams::for_source(PointShape::InstanceSegmentation, "tardis", &none).is_ok());
    }

    #[test]
    fn unsupported_format_for_shape_is_an_error() {
        let e = read_points(
            "stopgap_star",
            PointShape::Point,
            &PointParams::default(),
            b"",
            "a.star",
        )
        .unwrap_err();
        assert!(
            e.to_string()
                .starts_with("a.star: file_format \"stopgap_star\""),
            "{e}"
        );
        assert!(read_points(
            "csv",
            PointShape::OrientedPoint,
            &PointParams::default(),
            b"",
            "a"
        )
        .is_err());
    }

    #[test]
    fn ndjson_for_each_shape_matches_python_json_dumps() {
        let h = 0.7071067811865475;
        let pts = vec![
            PointRecord::point([0.5, 1.0, 1.5]),
            PointRecord::point([1e-5, -0.0, 1e16]),
        ];
        assert_eq!(
            String::from_utf8(to_ndjson(PointShape::Point, &pts)).unwrap(),
            "{\"type\": \"point\", \"location\": {\"x\": 0.5, \"y\": 1.0, \"z\": 1.5}}\n\
             {\"type\": \"point\", \"location\": {\"x\": 1e-05, \"y\": -0.0, \"z\": 1e+16}}"
        );
        let o = vec![PointRecord {
            location: [1.3, 2.6, 3.8],
            rotation: Some([[-0.0, -h, h], [1.0, -0.0, 0.0], [0.0, h, h]]),
            instance_id: None,
        }];
        assert_eq!(
            String::from_utf8(to_ndjson(PointShape::OrientedPoint, &o)).unwrap(),
            "{\"type\": \"orientedPoint\", \"location\": {\"x\": 1.3, \"y\": 2.6, \"z\": 3.8}, \
             \"xyz_rotation_matrix\": [[-0.0, -0.7071067811865475, 0.7071067811865475], \
             [1.0, -0.0, 0.0], [0.0, 0.7071067811865475, 0.7071067811865475]]}"
        );
        let i = vec![
            PointRecord {
                location: [2.0, 4.0, 6.0],
                rotation: None,
                instance_id: Some(0),
            },
            PointRecord {
                location: [1.5, 1.0, 0.5],
                rotation: None,
                instance_id: Some(2),
            },
        ];
        assert_eq!(
            String::from_utf8(to_ndjson(PointShape::InstanceSegmentation, &i)).unwrap(),
            "{\"type\": \"instancePoint\", \"location\": {\"x\": 2.0, \"y\": 4.0, \"z\": 6.0}, \"instance_id\": 0}\n\
             {\"type\": \"instancePoint\", \"location\": {\"x\": 1.5, \"y\": 1.0, \"z\": 0.5}, \"instance_id\": 2}"
        );
        assert!(to_ndjson(PointShape::Point, &[]).is_empty());
        assert_eq!(object_count(PointShape::InstanceSegmentation, &i), 2);
        assert_eq!(object_count(PointShape::Point, &pts), 2);
        let same_id = vec![i[0].clone(), i[0].clone()];
        assert_eq!(object_count(PointShape::InstanceSegmentation, &same_id), 1);
        assert_eq!(object_count(PointShape::OrientedPoint, &same_id), 2);
    }
}
