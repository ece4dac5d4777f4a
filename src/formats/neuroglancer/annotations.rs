//! Precomputed annotation directories for point-like annotations (spec §10.1): `info`, the
//! sharded `by_id` index and the one-cell spatial index `spatial0/0_0_0`, as the reference's
//! `points.encode_annotation` writes them through neuroglancer 2.41.2's `AnnotationWriter` and
//! cloud-volume's `synthesize_shards`.
//!
//! | shape | annotation type | properties (info order) |
//! |---|---|---|
//! | Point | `point` | `name` (enum), `diameter`, `point_index`, `color` |
//! | OrientedPoint | `line`, 3 per point along the rotated x, y, z axes | `name`, `diameter`, `point_index`, `point_color`, `line_color` |
//! | InstanceSegmentation | `point`, `name` = the instance (`"{object} {id}"`), coloured per instance | as Point |
//!
//! Encodings are little endian: the geometry as float32, then the properties by decreasing
//! alignment (float32, then uint16, then uint8/rgb, stable in the writer's order), zero padding
//! to 4 bytes. The reference's quirks are kept: bounds are float64 of the inputs, but a line's
//! lower bound only sees start points and its upper bound only end points; an empty file gives
//! `Infinity` bounds; the `name` value wraps to the enum's width; instance ids are in the
//! iteration order of the Python `set` the reference collects them in, which decides which
//! colour each instance gets.

use super::sharding::{ShardEncoding, ShardHash, ShardingSpec};
use super::NeuroglancerError;
use crate::palette::{portal_colors, to_byte};
use crate::pycompat::json::py_float_repr;
use serde_json::Value;
use std::path::Path;

/// The point-like shapes that have a precomputed annotation directory.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PointLayer {
    /// `point` annotations.
    Point,
    /// Three `line` annotations per oriented point.
    OrientedPoint,
    /// `point` annotations labelled and coloured by `instance_id`.
    InstanceSegmentation,
}

impl PointLayer {
    /// The layer of an annotation output shape (`Point`, `OrientedPoint`, `InstanceSegmentation`).
    pub fn from_shape(shape: &str) -> Option<PointLayer> {
        match shape {
            "Point" => Some(PointLayer::Point),
            "OrientedPoint" => Some(PointLayer::OrientedPoint),
            "InstanceSegmentation" => Some(PointLayer::InstanceSegmentation),
            _ => None,
        }
    }
}

/// One record of an annotation's NDJSON, as the encoder reads it.
#[derive(Debug, Clone, PartialEq)]
pub struct PointRecord {
    /// `location` x, y, z (voxels).
    pub location: [f64; 3],
    /// `xyz_rotation_matrix` (oriented points).
    pub rotation: Option<[[f64; 3]; 3]>,
    /// `instance_id` (instance segmentations).
    pub instance_id: Option<i64>,
}

/// Parses an annotation NDJSON (one JSON object a line; blank lines skipped), reading what the
/// encoder of `layer` needs: every record's location, plus the rotation of oriented points and
/// the instance id of instance segmentations.
///
/// # Errors
/// A line that is not JSON or lacks a needed field, named by `path` and line number.
pub fn parse_ndjson(
    bytes: &[u8],
    path: &Path,
    layer: PointLayer,
) -> Result<Vec<PointRecord>, NeuroglancerError> {
    let text = std::str::from_utf8(bytes)
        .map_err(|e| NeuroglancerError::invalid(path, format!("not UTF-8 text: {e}")))?;
    let mut out = Vec::new();
    for (i, line) in text.lines().enumerate() {
        if line.trim().is_empty() {
            continue;
        }
        let bad = |m: String| NeuroglancerError::invalid(path, format!("line {}: {m}", i + 1));
        let v: Value = serde_json::from_str(line).map_err(|e| bad(format!("not JSON: {e}")))?;
        let loc = v
            .get("location")
            .ok_or_else(|| bad("no `location`".into()))?;
        let mut location = [0.0; 3];
        for (slot, axis) in location.iter_mut().zip(["x", "y", "z"]) {
            *slot = loc
                .get(axis)
                .and_then(Value::as_f64)
                .ok_or_else(|| bad(format!("`location.{axis}` is not a number")))?;
        }
        let rotation = match layer {
            PointLayer::OrientedPoint => {
                let m = v
                    .get("xyz_rotation_matrix")
                    .and_then(Value::as_array)
                    .filter(|rows| rows.len() == 3)
                    .ok_or_else(|| bad("`xyz_rotation_matrix` is not a 3×3 matrix".into()))?;
                let mut r = [[0.0; 3]; 3];
                for (row, src) in r.iter_mut().zip(m) {
                    let src = src
                        .as_array()
                        .filter(|c| c.len() == 3)
                        .ok_or_else(|| bad("`xyz_rotation_matrix` is not a 3×3 matrix".into()))?;
                    for (cell, x) in row.iter_mut().zip(src) {
                        *cell = x.as_f64().ok_or_else(|| {
                            bad("`xyz_rotation_matrix` has a value that is not a number".into())
                        })?;
                    }
                }
                Some(r)
            }
            _ => None,
        };
        let instance_id = match layer {
            PointLayer::InstanceSegmentation => Some(
                v.get("instance_id")
                    .and_then(Value::as_i64)
                    .ok_or_else(|| bad("`instance_id` is not an integer".into()))?,
            ),
            _ => None,
        };
        out.push(PointRecord {
            location,
            rotation,
            instance_id,
        });
    }
    Ok(out)
}

/// What the encoder takes from the annotation's metadata and voxel spacing.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct AnnotationSettings {
    /// Metres per voxel on every axis (`voxel spacing × 1e-10`).
    pub resolution_m: f64,
    /// `annotation_object.diameter` (default 100) / 10.
    pub diameter: f64,
    /// `annotation_object.name` (default empty): the enum label, or the instance labels' prefix.
    pub object_name: String,
    /// Seed of the per-instance palette (instance segmentations only; see
    /// [`crate::palette::color_seed`]).
    pub color_seed: u64,
}

/// How far an oriented point's axis lines reach: 1.5 × the diameter.
const LINE_LENGTH_PER_DIAMETER: f64 = 1.5;

/// The enum value every non-instance annotation carries.
const DEFAULT_LABEL: i64 = 0;

const WHITE: [u8; 3] = [255, 255, 255];

/// The x, y, z axis line colours of an oriented point.
const AXIS_COLORS: [[u8; 3]; 3] = [[255, 0, 0], [0, 255, 0], [0, 0, 255]];

/// Property value types of the reference's annotations.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum PropType {
    U8,
    U16,
    F32,
    Rgb,
}

impl PropType {
    fn name(self) -> &'static str {
        match self {
            PropType::U8 => "uint8",
            PropType::U16 => "uint16",
            PropType::F32 => "float32",
            PropType::Rgb => "rgb",
        }
    }

    /// Alignment that orders properties in an encoding (the precomputed format's groups).
    fn alignment(self) -> usize {
        match self {
            PropType::F32 => 4,
            PropType::U16 => 2,
            PropType::U8 | PropType::Rgb => 1,
        }
    }

    fn size(self) -> usize {
        match self {
            PropType::F32 => 4,
            PropType::U16 => 2,
            PropType::U8 => 1,
            PropType::Rgb => 3,
        }
    }
}

#[derive(Debug, Clone, Copy)]
enum PropValue {
    Int(i64),
    Float(f64),
    Rgb([u8; 3]),
}

struct PropSpec {
    id: &'static str,
    ty: PropType,
    /// `enum_values` and `enum_labels`.
    enumeration: Option<(Vec<i64>, Vec<String>)>,
}

/// The annotations of one directory, encoded, with the bounds the writer tracks.
struct Encoded {
    annotation_type: &'static str,
    props: Vec<PropSpec>,
    records: Vec<Vec<u8>>,
    lower: [f64; 3],
    upper: [f64; 3],
}

/// Byte offsets of properties (by declaration index) in an encoding, after the geometry, and
/// the padded size of the property block.
fn property_layout(props: &[PropSpec]) -> (Vec<usize>, usize) {
    let mut order: Vec<usize> = (0..props.len()).collect();
    order.sort_by_key(|&i| std::cmp::Reverse(props[i].ty.alignment()));
    let mut offsets = vec![0; props.len()];
    let mut offset = 0usize;
    for i in order {
        let a = props[i].ty.alignment();
        offset = offset.div_ceil(a) * a;
        offsets[i] = offset;
        offset += props[i].ty.size();
    }
    (offsets, offset.div_ceil(4) * 4)
}

impl Encoded {
    fn new(annotation_type: &'static str, props: Vec<PropSpec>) -> Encoded {
        Encoded {
            annotation_type,
            props,
            records: Vec::new(),
            // The writer starts from float32 ±inf; the first annotation makes them float64.
            lower: [f64::INFINITY; 3],
            upper: [f64::NEG_INFINITY; 3],
        }
    }

    /// Appends one annotation: `geometry` (3 or 6 coordinates) and one value per property.
    fn add(&mut self, lower: [f64; 3], upper: [f64; 3], geometry: &[f64], values: &[PropValue]) {
        for a in 0..3 {
            self.lower[a] = np_minimum(self.lower[a], lower[a]);
            self.upper[a] = np_maximum(self.upper[a], upper[a]);
        }
        let (offsets, props_size) = property_layout(&self.props);
        let mut bytes = vec![0u8; geometry.len() * 4 + props_size];
        for (i, g) in geometry.iter().enumerate() {
            bytes[i * 4..i * 4 + 4].copy_from_slice(&(*g as f32).to_le_bytes());
        }
        let base = geometry.len() * 4;
        for ((spec, value), off) in self.props.iter().zip(values).zip(offsets) {
            let at = base + off;
            match (spec.ty, value) {
                // numpy (1.26, the reference's) wraps an out-of-range Python int.
                (PropType::U8, PropValue::Int(v)) => bytes[at] = *v as u8,
                (PropType::U16, PropValue::Int(v)) => {
                    bytes[at..at + 2].copy_from_slice(&(*v as u16).to_le_bytes())
                }
                (PropType::F32, PropValue::Float(v)) => {
                    bytes[at..at + 4].copy_from_slice(&(*v as f32).to_le_bytes())
                }
                (PropType::Rgb, PropValue::Rgb(c)) => bytes[at..at + 3].copy_from_slice(c),
                _ => unreachable!("property values follow their specs"),
            }
        }
        self.records.push(bytes);
    }
}

/// `np.minimum` / `np.maximum` on float64: NaN propagates.
fn np_minimum(a: f64, b: f64) -> f64 {
    if a.is_nan() || b.is_nan() {
        f64::NAN
    } else {
        a.min(b)
    }
}

fn np_maximum(a: f64, b: f64) -> f64 {
    if a.is_nan() || b.is_nan() {
        f64::NAN
    } else {
        a.max(b)
    }
}

/// The `name` property: uint8 for fewer than 256 labels, else uint16.
fn name_property(values: Vec<i64>, labels: Vec<String>) -> PropSpec {
    PropSpec {
        id: "name",
        ty: if values.len() < 256 {
            PropType::U8
        } else {
            PropType::U16
        },
        enumeration: Some((values, labels)),
    }
}

fn plain(id: &'static str, ty: PropType) -> PropSpec {
    PropSpec {
        id,
        ty,
        enumeration: None,
    }
}

/// Python's `hash()` of an int.
fn py_int_hash(n: i64) -> i64 {
    const MODULUS: i128 = (1 << 61) - 1;
    let n = i128::from(n);
    let h = (n.abs() % MODULUS) * n.signum();
    if h == -1 {
        -2
    } else {
        h as i64
    }
}

/// The iteration order of a CPython 3.11 `set` of ints built by adding `items` in order
/// (`{d["instance_id"] for d in data}`): open addressing over `hash & mask` with 9 linear
/// probes then perturbation, a table starting at 8 slots and growing to the smallest power of
/// two above 4 × used (2 × past 50 000) once 3/5 full, re-inserted in slot order.
pub fn python_int_set_order(items: &[i64]) -> Vec<i64> {
    const LINEAR_PROBES: usize = 9;
    const PERTURB_SHIFT: u32 = 5;
    /// The empty slot `key` lands in on its probe path, or `None` when it is already there.
    /// Without deletions the set has no dummies: a key is either found on its probe path or
    /// the first empty slot there takes it.
    fn probe(table: &[Option<(i64, i64)>], key: i64, hash: i64) -> Option<usize> {
        let mask = table.len() - 1;
        let mut perturb = hash as u64;
        let mut i = (hash as u64 as usize) & mask;
        loop {
            let last = if i + LINEAR_PROBES <= mask {
                i + LINEAR_PROBES
            } else {
                i
            };
            for (j, entry) in table.iter().enumerate().take(last + 1).skip(i) {
                match entry {
                    None => return Some(j),
                    Some((k, _)) if *k == key => return None,
                    Some(_) => {}
                }
            }
            perturb >>= PERTURB_SHIFT;
            i = (i
                .wrapping_mul(5)
                .wrapping_add(1)
                .wrapping_add(perturb as usize))
                & mask;
        }
    }
    let mut table: Vec<Option<(i64, i64)>> = vec![None; 8];
    let mut used = 0usize;
    for &key in items {
        let hash = py_int_hash(key);
        let mask = table.len() - 1;
        let Some(slot) = probe(&table, key, hash) else {
            continue;
        };
        table[slot] = Some((key, hash));
        used += 1;
        if used * 5 >= mask * 3 {
            let min_used = if used > 50_000 { used * 2 } else { used * 4 };
            let mut size = 8;
            while size <= min_used {
                size <<= 1;
            }
            let mut grown = vec![None; size];
            for (k, h) in table.iter().flatten() {
                let slot = probe(&grown, *k, *h).expect("keys of a set are distinct");
                grown[slot] = Some((*k, *h));
            }
            table = grown;
        }
    }
    table.into_iter().flatten().map(|(k, _)| k).collect()
}

/// `np.isclose(a, b)`: |a − b| ≤ 1e-8 + 1e-5 |b|.
fn is_close(a: f64, b: f64) -> bool {
    (a - b).abs() <= 1e-8 + 1e-5 * b.abs()
}

/// Row `axis` of `np.dot(m, np.eye(3)).T`, i.e. column `axis` of `m` as the product gives it
/// (a zero's sign comes from adding the other terms' zero products).
fn rotated_axis(m: &[[f64; 3]; 3], axis: usize) -> [f64; 3] {
    let mut out = [0.0; 3];
    for (r, row) in m.iter().enumerate() {
        let mut v = row[axis];
        for (k, x) in row.iter().enumerate() {
            if k != axis {
                v += x * 0.0;
            }
        }
        out[r] = v;
    }
    out
}

fn encode_records(
    layer: PointLayer,
    records: &[PointRecord],
    settings: &AnnotationSettings,
    path: &Path,
) -> Result<Encoded, NeuroglancerError> {
    let d = settings.diameter;
    match layer {
        PointLayer::Point | PointLayer::InstanceSegmentation => {
            let (names, colors) = if layer == PointLayer::InstanceSegmentation {
                let ids: Vec<i64> = records.iter().filter_map(|r| r.instance_id).collect();
                let order = python_int_set_order(&ids);
                let palette = portal_colors(order.len(), &[], settings.color_seed);
                let colors: std::collections::HashMap<i64, [u8; 3]> = order
                    .iter()
                    .zip(&palette)
                    .map(|(&id, c)| (id, [to_byte(c[0]), to_byte(c[1]), to_byte(c[2])]))
                    .collect();
                let labels = order
                    .iter()
                    .map(|id| format!("{} {id}", settings.object_name))
                    .collect();
                ((order, labels), Some(colors))
            } else {
                (
                    (vec![DEFAULT_LABEL], vec![settings.object_name.clone()]),
                    None,
                )
            };
            let props = vec![
                name_property(names.0, names.1),
                plain("diameter", PropType::F32),
                plain("point_index", PropType::F32),
                plain("color", PropType::Rgb),
            ];
            let mut enc = Encoded::new("point", props);
            for (index, r) in records.iter().enumerate() {
                let (label, color) = match (&colors, r.instance_id) {
                    (Some(map), Some(id)) => (id, map.get(&id).copied().unwrap_or(WHITE)),
                    _ => (DEFAULT_LABEL, WHITE),
                };
                enc.add(
                    r.location,
                    r.location,
                    &r.location,
                    &[
                        PropValue::Int(label),
                        PropValue::Float(d),
                        PropValue::Float(index as f64),
                        PropValue::Rgb(color),
                    ],
                );
            }
            Ok(enc)
        }
        PointLayer::OrientedPoint => {
            let props = vec![
                name_property(vec![DEFAULT_LABEL], vec![settings.object_name.clone()]),
                plain("diameter", PropType::F32),
                plain("point_index", PropType::F32),
                plain("point_color", PropType::Rgb),
                plain("line_color", PropType::Rgb),
            ];
            let length = d * LINE_LENGTH_PER_DIAMETER;
            let mut enc = Encoded::new("line", props);
            for (index, r) in records.iter().enumerate() {
                let m = r.rotation.ok_or_else(|| {
                    NeuroglancerError::invalid(path, format!("record {index} has no rotation"))
                })?;
                let start = r.location;
                for (axis, line_color) in AXIS_COLORS.iter().enumerate() {
                    let dir = rotated_axis(&m, axis);
                    let end = [
                        start[0] + length * dir[0],
                        start[1] + length * dir[1],
                        start[2] + length * dir[2],
                    ];
                    let delta = [end[0] - start[0], end[1] - start[1], end[2] - start[2]];
                    let norm =
                        (delta[0] * delta[0] + delta[1] * delta[1] + delta[2] * delta[2]).sqrt();
                    // The reference refuses a matrix whose axes are not unit length.
                    if !is_close(norm, length) {
                        return Err(NeuroglancerError::invalid(
                            path,
                            format!(
                                "line {}: `xyz_rotation_matrix` is not a rotation: its axis {} \
                                 has length {} (a {length}-long line came out {norm} long)",
                                index + 1,
                                ["x", "y", "z"][axis],
                                norm / length,
                            ),
                        ));
                    }
                    enc.add(
                        start,
                        end,
                        &[start[0], start[1], start[2], end[0], end[1], end[2]],
                        &[
                            PropValue::Int(DEFAULT_LABEL),
                            PropValue::Float(d),
                            PropValue::Float(index as f64),
                            PropValue::Rgb(WHITE),
                            PropValue::Rgb(*line_color),
                        ],
                    );
                }
            }
            Ok(enc)
        }
    }
}

/// A JSON value as the `info` file holds it: integers and floats kept apart (Python writes
/// `1` and `1.0` differently) and non-finite floats allowed (`Infinity`, as Python writes them).
#[derive(Clone)]
enum Json {
    Int(i64),
    Float(f64),
    Str(String),
    Arr(Vec<Json>),
    Obj(Vec<(String, Json)>),
}

fn obj(fields: Vec<(&str, Json)>) -> Json {
    Json::Obj(
        fields
            .into_iter()
            .map(|(k, v)| (k.to_string(), v))
            .collect(),
    )
}

/// `json.dumps(value, indent=2)`.
fn render(value: &Json, level: usize, out: &mut String) {
    let pad = |out: &mut String, level: usize| {
        out.push('\n');
        out.push_str(&"  ".repeat(level));
    };
    match value {
        Json::Int(i) => out.push_str(&i.to_string()),
        Json::Float(f) => out.push_str(&py_float_repr(*f)),
        Json::Str(s) => crate::pycompat::json::py_json_string(out, s),
        Json::Arr(items) if items.is_empty() => out.push_str("[]"),
        Json::Arr(items) => {
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                pad(out, level + 1);
                render(item, level + 1, out);
            }
            pad(out, level);
            out.push(']');
        }
        Json::Obj(fields) if fields.is_empty() => out.push_str("{}"),
        Json::Obj(fields) => {
            out.push('{');
            for (i, (k, item)) in fields.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                pad(out, level + 1);
                crate::pycompat::json::py_json_string(out, k);
                out.push_str(": ");
                render(item, level + 1, out);
            }
            pad(out, level);
            out.push('}');
        }
    }
}

/// The sharding of the `by_id` index: identity hash, gzip, 2¹⁰ minishards in one shard.
fn by_id_sharding() -> ShardingSpec {
    ShardingSpec {
        preshift_bits: 0,
        hash: ShardHash::Identity,
        minishard_bits: 10,
        shard_bits: 0,
        minishard_index_encoding: ShardEncoding::Gzip,
        data_encoding: ShardEncoding::Gzip,
    }
}

/// A JSON value of the sharding object (strings and integers) in the `info` writer's form.
fn from_value(v: &Value) -> Json {
    match v {
        Value::String(s) => Json::Str(s.clone()),
        Value::Number(n) => n
            .as_i64()
            .map_or_else(|| Json::Float(n.as_f64().unwrap_or(0.0)), Json::Int),
        Value::Object(m) => Json::Obj(m.iter().map(|(k, v)| (k.clone(), from_value(v))).collect()),
        Value::Array(a) => Json::Arr(a.iter().map(from_value).collect()),
        Value::Bool(b) => Json::Int(i64::from(*b)),
        Value::Null => Json::Str(String::new()),
    }
}

/// The `info` document, as the reference leaves it: the writer's metadata with `by_id.sharding`
/// added, re-serialised with two-space indentation.
fn info_json(enc: &Encoded, resolution_m: f64) -> String {
    let dims = ["x", "y", "z"]
        .into_iter()
        .map(|d| {
            (
                d,
                Json::Arr(vec![Json::Float(resolution_m), Json::Str("m".into())]),
            )
        })
        .collect::<Vec<_>>();
    let properties = enc
        .props
        .iter()
        .map(|p| {
            let mut fields = vec![
                ("id", Json::Str(p.id.into())),
                ("type", Json::Str(p.ty.name().into())),
            ];
            if let Some((values, labels)) = &p.enumeration {
                fields.push((
                    "enum_values",
                    Json::Arr(values.iter().map(|v| Json::Int(*v)).collect()),
                ));
                fields.push((
                    "enum_labels",
                    Json::Arr(labels.iter().map(|l| Json::Str(l.clone())).collect()),
                ));
            }
            obj(fields)
        })
        .collect();
    // `max(1, float(x))`: the int 1 wins ties and non-positive (and NaN) extents.
    let chunk_size = (0..3)
        .map(|a| {
            let extent = enc.upper[a] - enc.lower[a];
            if extent > 1.0 {
                Json::Float(extent)
            } else {
                Json::Int(1)
            }
        })
        .collect();
    let floats = |v: &[f64; 3]| Json::Arr(v.iter().map(|x| Json::Float(*x)).collect());
    let doc = obj(vec![
        ("@type", Json::Str("neuroglancer_annotations_v1".into())),
        ("dimensions", obj(dims)),
        ("lower_bound", floats(&enc.lower)),
        ("upper_bound", floats(&enc.upper)),
        ("annotation_type", Json::Str(enc.annotation_type.into())),
        ("properties", Json::Arr(properties)),
        ("relationships", Json::Arr(Vec::new())),
        (
            "by_id",
            obj(vec![
                ("key", Json::Str("by_id".into())),
                ("sharding", from_value(&by_id_sharding().to_json())),
            ]),
        ),
        (
            "spatial",
            Json::Arr(vec![obj(vec![
                ("key", Json::Str("spatial0".into())),
                ("grid_shape", Json::Arr(vec![Json::Int(1); 3])),
                ("chunk_size", Json::Arr(chunk_size)),
                ("limit", Json::Int(enc.records.len() as i64)),
            ])]),
        ),
    ]);
    let mut out = String::new();
    render(&doc, 0, &mut out);
    out
}

/// The spatial index's single cell: the count, every encoding, then every id (uint64 LE).
fn spatial_cell(records: &[Vec<u8>]) -> Vec<u8> {
    let mut out = Vec::new();
    out.extend_from_slice(&(records.len() as u64).to_le_bytes());
    for r in records {
        out.extend_from_slice(r);
    }
    for id in 0..records.len() as u64 {
        out.extend_from_slice(&id.to_le_bytes());
    }
    out
}

fn write(path: &Path, bytes: &[u8]) -> Result<(), NeuroglancerError> {
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent).map_err(|e| NeuroglancerError::io(parent, e))?;
    }
    std::fs::write(path, bytes).map_err(|e| NeuroglancerError::io(path, e))
}

/// Encodes `records` (read from the NDJSON at `source`, which errors name) as the precomputed
/// annotation directory of `layer` into `out_dir`: `info`, `spatial0/0_0_0` and the sharded
/// `by_id/` index (annotation ids 0, 1, … in record order; three per oriented point).
///
/// # Errors
/// An oriented point whose matrix is not a rotation (named by its line), a failed write.
pub fn encode_annotations(
    layer: PointLayer,
    records: &[PointRecord],
    settings: &AnnotationSettings,
    source: &Path,
    out_dir: &Path,
) -> Result<(), NeuroglancerError> {
    let enc = encode_records(layer, records, settings, source)?;
    write(
        &out_dir.join("info"),
        info_json(&enc, settings.resolution_m).as_bytes(),
    )?;
    write(
        &out_dir.join("spatial0").join("0_0_0"),
        &spatial_cell(&enc.records),
    )?;
    let by_id_dir = out_dir.join("by_id");
    std::fs::create_dir_all(&by_id_dir).map_err(|e| NeuroglancerError::io(&by_id_dir, e))?;
    let by_id: std::collections::BTreeMap<u64, Vec<u8>> = enc
        .records
        .into_iter()
        .enumerate()
        .map(|(i, r)| (i as u64, r))
        .collect();
    write_sharded_by_id(&by_id_dir, by_id)
}

/// Writes the `by_id` index as the reference's post-processing leaves it: every record packed
/// into the shard files of [`by_id_sharding`] (none when there is no annotation).
fn write_sharded_by_id(
    dir: &Path,
    by_id: std::collections::BTreeMap<u64, Vec<u8>>,
) -> Result<(), NeuroglancerError> {
    for (name, bytes) in by_id_sharding().synthesize(by_id) {
        write(&dir.join(name), &bytes)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn small_int_sets_iterate_in_slot_order() {
        // CPython 3.11: list({5, 3, 9, 1}) == [9, 3, 5, 1] (9 takes slot 1, so 1 probes on to
        // slot 6); list({8, 1}) == [8, 1] (8 & 7 == 0); list({-1, 0}) == [0, -1].
        assert_eq!(python_int_set_order(&[5, 3, 9, 1]), vec![9, 3, 5, 1]);
        assert_eq!(python_int_set_order(&[8, 1]), vec![8, 1]);
        assert_eq!(python_int_set_order(&[2, 2, 2]), vec![2]);
        assert_eq!(python_int_set_order(&[-1, 0]), vec![0, -1]);
    }

    #[test]
    fn an_empty_file_keeps_the_writers_infinite_bounds_and_unit_chunks() {
        let dir = tempfile::tempdir().unwrap();
        let settings = AnnotationSettings {
            resolution_m: 13.48 * 1e-10,
            diameter: 10.0,
            object_name: "x".into(),
            color_seed: 0,
        };
        encode_annotations(
            PointLayer::Point,
            &[],
            &settings,
            Path::new("e.ndjson"),
            dir.path(),
        )
        .unwrap();
        let info = std::fs::read_to_string(dir.path().join("info")).unwrap();
        // json.dumps(indent=2) of the reference's float32 ±inf and `max(1, -inf)`.
        assert!(
            info.contains("\"lower_bound\": [\n    Infinity,\n    Infinity,\n    Infinity\n  ]")
        );
        assert!(info.contains("\"upper_bound\": [\n    -Infinity,"));
        assert!(info.contains("\"chunk_size\": [\n        1,\n        1,\n        1\n      ]"));
        assert!(info.contains("\"x\": [\n      1.348e-09,\n      \"m\"\n    ]"));
        assert_eq!(
            std::fs::read(dir.path().join("spatial0/0_0_0")).unwrap(),
            0u64.to_le_bytes()
        );
        // No annotation, no shard file.
        assert_eq!(
            std::fs::read_dir(dir.path().join("by_id")).unwrap().count(),
            0
        );
    }

    #[test]
    fn property_layout_groups_by_alignment() {
        let props = vec![
            name_property(vec![0], vec!["x".into()]),
            plain("diameter", PropType::F32),
            plain("point_index", PropType::F32),
            plain("color", PropType::Rgb),
        ];
        assert_eq!(property_layout(&props), (vec![8, 0, 4, 9], 12));
        let props = vec![
            name_property((0..300).collect(), vec![String::new(); 300]),
            plain("diameter", PropType::F32),
            plain("point_index", PropType::F32),
            plain("color", PropType::Rgb),
        ];
        assert_eq!(property_layout(&props), (vec![8, 0, 4, 10], 16));
    }
}
