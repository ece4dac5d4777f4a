//! Annotation colours (spec §10.2): the seeded, visually distinct palette the portal's
//! neuroglancer states and key-image overlays use.
//!
//! Colours must equal the reference's bit for bit, so this reproduces its whole chain:
//! the seed (an md5 of the annotation's identity, rendered the way Python's
//! `json.dumps(…, sort_keys=True)` renders it), Python's `random.Random` (MT19937 seeded with
//! `init_by_array`, 53-bit `random()`), the distinctipy 1.3.4 search (points of interest
//! first, then 1000 random candidates, maximising the weighted RGB distance to the nearest
//! excluded colour), and the portal's filter (HSV s > 0.15 and v > 0.25, refilled
//! recursively, cycling 20 colours past 20). Checked against distinctipy itself in the tests.

use crate::pycompat::json::Dumps;
use crate::pycompat::random::PyRandom;
use serde_json::Value;

/// An RGB colour with components in `[0, 1]`.
pub type Rgb = [f64; 3];

/// Seeds are reduced modulo this (both by the portal and by distinctipy).
const SEED_MAX: u64 = (1 << 32) - 1;

/// Past this many colours the palette cycles (the search would not end for large instance masks).
const MAX_DISTINCT: usize = 20;

/// Random candidates tried per colour after the points of interest.
const N_ATTEMPTS: usize = 1000;

const WHITE: Rgb = [1.0, 1.0, 1.0];
const BLACK: Rgb = [0.0, 0.0, 0.0];

/// distinctipy's points of interest: cube corners, then face/edge midpoints, then interior points.
const POINTS_OF_INTEREST: [Rgb; 33] = [
    WHITE,
    BLACK,
    [1.0, 0.0, 0.0],
    [0.0, 1.0, 0.0],
    [0.0, 0.0, 1.0],
    [0.0, 1.0, 1.0],
    [1.0, 1.0, 0.0],
    [1.0, 0.0, 1.0],
    [0.0, 0.5, 0.0],
    [0.0, 0.0, 0.5],
    [0.0, 1.0, 0.5],
    [0.0, 0.5, 1.0],
    [0.0, 0.5, 0.5],
    [0.5, 0.0, 0.0],
    [0.5, 0.5, 0.0],
    [0.5, 1.0, 0.0],
    [0.5, 0.0, 0.5],
    [0.5, 0.0, 1.0],
    [0.5, 1.0, 0.5],
    [0.5, 1.0, 1.0],
    [0.5, 0.5, 1.0],
    [1.0, 0.5, 0.0],
    [1.0, 0.0, 0.5],
    [1.0, 0.5, 0.5],
    [1.0, 1.0, 0.5],
    [1.0, 0.5, 1.0],
    [0.5, 0.5, 0.5],
    [0.75, 0.5, 0.5],
    [0.25, 0.5, 0.5],
    [0.5, 0.75, 0.5],
    [0.5, 0.25, 0.5],
    [0.5, 0.5, 0.75],
    [0.5, 0.5, 0.25],
];

/// distinctipy's weighted RGB distance (squared, red-mean weighted), same operation order.
fn color_distance(c1: Rgb, c2: Rgb) -> f64 {
    let mean_r = (c1[0] + c2[0]) / 2.0;
    let dr = (c1[0] - c2[0]) * (c1[0] - c2[0]);
    let dg = (c1[1] - c2[1]) * (c1[1] - c2[1]);
    let db = (c1[2] - c2[2]) * (c1[2] - c2[2]);
    (2.0 + mean_r) * dr + 4.0 * dg + (3.0 - mean_r) * db
}

fn random_color(rng: &mut PyRandom) -> Rgb {
    [rng.random(), rng.random(), rng.random()]
}

fn nearest(color: Rgb, exclude: &[Rgb]) -> f64 {
    exclude
        .iter()
        .map(|&c| color_distance(color, c))
        .fold(f64::INFINITY, f64::min)
}

/// distinctipy `distinct_color` (pastel factor 0, no colour-blind filter).
fn distinct_color(exclude: &[Rgb], rng: &mut PyRandom) -> Rgb {
    if exclude.is_empty() {
        return random_color(rng);
    }
    let mut best: Option<(f64, Rgb)> = None;
    // distinctipy tests `not max_distance`, so a best distance of exactly 0 is replaced too.
    let consider = |color: Rgb, best: &mut Option<(f64, Rgb)>| {
        let d = nearest(color, exclude);
        match best {
            Some((m, _)) if *m != 0.0 && d <= *m => {}
            _ => *best = Some((d, color)),
        }
    };
    for &color in &POINTS_OF_INTEREST {
        if !exclude.contains(&color) {
            consider(color, &mut best);
        }
    }
    for _ in 0..N_ATTEMPTS {
        consider(random_color(rng), &mut best);
    }
    best.map_or(BLACK, |(_, c)| c)
}

/// `distinctipy.get_colors(n, exclude_colors=exclude, rng=seed)`; `None` excludes white and black.
pub fn distinctipy_colors(n: usize, exclude: Option<&[Rgb]>, seed: u64) -> Vec<Rgb> {
    let mut rng = PyRandom::new(u128::from(seed % SEED_MAX));
    let mut colors: Vec<Rgb> = exclude.map_or_else(|| vec![WHITE, BLACK], <[Rgb]>::to_vec);
    let skip = colors.len();
    for _ in 0..n {
        let c = distinct_color(&colors, &mut rng);
        colors.push(c);
    }
    colors.split_off(skip)
}

/// `colorsys.rgb_to_hsv` saturation and value.
fn saturation_value(c: Rgb) -> (f64, f64) {
    let maxc = c[0].max(c[1]).max(c[2]);
    let minc = c[0].min(c[1]).min(c[2]);
    if minc == maxc {
        return (0.0, maxc);
    }
    ((maxc - minc) / maxc, maxc)
}

fn is_valid(c: Rgb) -> bool {
    let (s, v) = saturation_value(c);
    s > 0.15 && v > 0.25
}

/// The portal's palette: `n` distinct colours avoiding `exclude`, too pale or too dark ones
/// dropped and refilled (with the dropped ones excluded too), cycling 20 past 20.
pub fn portal_colors(n: usize, exclude: &[Rgb], seed: u64) -> Vec<Rgb> {
    if n > MAX_DISTINCT {
        let base = portal_colors(MAX_DISTINCT, exclude, seed);
        return (0..n).map(|i| base[i % MAX_DISTINCT]).collect();
    }
    let colors = distinctipy_colors(n, Some(exclude), seed);
    let mut out: Vec<Rgb> = colors.iter().copied().filter(|&c| is_valid(c)).collect();
    if out.len() < n {
        let mut more_exclude = exclude.to_vec();
        more_exclude.extend_from_slice(&colors);
        out.extend(portal_colors(n - out.len(), &more_exclude, seed));
    }
    out
}

/// A component as a byte: Python's `round(c * 255)` (ties to even).
pub fn to_byte(c: f64) -> u8 {
    (c * 255.0).round_ties_even().clamp(0.0, 255.0) as u8
}

/// `#rrggbb`.
pub fn to_hex(c: Rgb) -> String {
    format!(
        "#{:02x}{:02x}{:02x}",
        to_byte(c[0]),
        to_byte(c[1]),
        to_byte(c[2])
    )
}

/// The seed input of an annotation file: `annotation_method`, `annotation_object` (`id`, `name`),
/// `deposition_id`, `ground_truth_status` from its metadata (missing → null), and the shape.
pub fn seed_input(metadata: &Value, shape: &str) -> Value {
    let get = |k: &str| metadata.get(k).cloned().unwrap_or(Value::Null);
    let object = match metadata.get("annotation_object") {
        Some(o) if !is_falsy(o) => serde_json::json!({
            "id": o.get("id").cloned().unwrap_or(Value::Null),
            "name": o.get("name").cloned().unwrap_or(Value::Null),
        }),
        Some(o) => o.clone(),
        None => Value::Null,
    };
    serde_json::json!({
        "annotation_method": get("annotation_method"),
        "annotation_object": object,
        "deposition_id": get("deposition_id"),
        "ground_truth_status": get("ground_truth_status"),
        "shape": shape,
    })
}

fn is_falsy(v: &Value) -> bool {
    match v {
        Value::Null => true,
        Value::Bool(b) => !b,
        Value::Object(m) => m.is_empty(),
        Value::Array(a) => a.is_empty(),
        Value::String(s) => s.is_empty(),
        Value::Number(n) => n.as_f64() == Some(0.0),
    }
}

/// `int(md5(json.dumps(input, sort_keys=True)).hexdigest(), 16) % (2**32 - 1)`.
pub fn color_seed(input: &Value) -> u64 {
    use md5::{Digest, Md5};
    let text = python_json(input);
    let digest = Md5::digest(text.as_bytes());
    let n = digest
        .iter()
        .fold(0u128, |acc, &b| (acc << 8) | u128::from(b));
    (n % u128::from(SEED_MAX)) as u64
}

/// Python's `json.dumps(v, sort_keys=True)` (default separators, `ensure_ascii`).
pub fn python_json(v: &Value) -> String {
    Dumps {
        indent: None,
        sort_keys: true,
    }
    .render(v)
}

/// The colours of a tomogram's annotation layers in order (spec §10.2): each file takes the
/// first colour of its seeded palette; non-instance shapes add theirs to the exclusion list.
#[derive(Debug, Default)]
pub struct Palette {
    used: Vec<Rgb>,
}

impl Palette {
    /// The `n` colours (1 unless an instance mask) of the next layer, in the reference's order.
    pub fn next(&mut self, metadata: &Value, shape: &str, n: usize) -> Vec<Rgb> {
        let seed = color_seed(&seed_input(metadata, shape));
        let colors = portal_colors(n.max(1), &self.used, seed);
        let instance = shape == "InstanceSegmentation" || shape == "InstanceSegmentationMask";
        if !instance {
            if let Some(&c) = colors.first() {
                self.used.push(c);
            }
        }
        colors
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn py_random_matches_cpython() {
        // random.Random(0).random(), random.Random(42).random() (CPython reference values).
        assert_eq!(PyRandom::new(0).random(), 0.8444218515250481);
        assert_eq!(PyRandom::new(42).random(), 0.6394267984578837);
        let mut r = PyRandom::new(1 << 40);
        let _ = r.random();
    }

    #[test]
    fn python_json_matches_dumps() {
        let v = serde_json::json!({"b": 1.5, "a": [1, 1.0, 1e20, 1e-5, "é\"\u{7f}"], "c": null});
        assert_eq!(
            python_json(&v),
            r#"{"a": [1, 1.0, 1e+20, 1e-05, "\u00e9\"\u007f"], "b": 1.5, "c": null}"#
        );
    }

    #[test]
    fn hex_rounds_half_to_even() {
        assert_eq!(to_hex([0.5, 1.0, 0.0]), "#80ff00");
    }
}
