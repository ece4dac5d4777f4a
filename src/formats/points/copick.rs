//! copick pick files: JSON with `points: [{location: {x, y, z}, transformation_: 4×4}]`.
//!
//! Locations are in the file's units and only divided by `binning`; copick has no axis-order
//! option (the reference ignores `order`). The rotation is the top-left 3×3 of
//! `transformation_`. A file without `points` (or with `points: null`) has no picks. For
//! InstanceSegmentation every point is its own instance, numbered 0..n−1 in file order (the
//! file's own `instance_id` is not used, as in the reference).

use super::{PointRecord, PointShape};
use crate::formats::FormatError;
use serde_json::Value;

fn bad(file: &str, what: String, found: &Value) -> FormatError {
    let mut shown = found.to_string();
    if shown.len() > 60 {
        shown.truncate(60);
        shown.push('…');
    }
    FormatError::malformed(file, None, what, shown)
}

pub(super) fn read(
    bytes: &[u8],
    file: &str,
    shape: PointShape,
    binning: f64,
) -> Result<Vec<PointRecord>, FormatError> {
    let doc: Value = serde_json::from_slice(bytes).map_err(|e| {
        FormatError::malformed(
            file,
            Some(e.line()),
            "a copick JSON document",
            e.to_string(),
        )
    })?;
    let points = match doc.get("points") {
        None | Some(Value::Null) => return Ok(Vec::new()),
        Some(Value::Array(a)) => a,
        Some(other) => return Err(bad(file, "`points` to be a list".into(), other)),
    };
    let mut out = Vec::with_capacity(points.len());
    for (i, p) in points.iter().enumerate() {
        let mut location = [0.0; 3];
        for (axis, key) in ["x", "y", "z"].iter().enumerate() {
            let v = &p["location"][key];
            location[axis] = v
                .as_f64()
                .ok_or_else(|| bad(file, format!("a number at points[{i}].location.{key}"), v))?
                / binning;
        }
        let rotation = if shape == PointShape::OrientedPoint {
            let t = &p["transformation_"];
            let mut m = [[0.0; 3]; 3];
            for (r, row) in m.iter_mut().enumerate() {
                for (c, v) in row.iter_mut().enumerate() {
                    let x = &t[r][c];
                    *v = x.as_f64().ok_or_else(|| {
                        bad(
                            file,
                            format!("a number at points[{i}].transformation_[{r}][{c}]"),
                            x,
                        )
                    })?;
                }
            }
            Some(m)
        } else {
            None
        };
        out.push(PointRecord {
            location,
            rotation,
            instance_id: (shape == PointShape::InstanceSegmentation).then_some(i as i64),
        });
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::super::{read_points, to_ndjson, PointParams};
    use super::*;

    /// Written the way copick's `CopickPicks` serialises (pydantic, indent 4).
    fn pick(x: &str, y: &str, z: &str, m: [[&str; 3]; 3]) -> String {
        let row =
            |r: [&str; 3], last: &str| format!("[\n {}, {}, {}, {last}\n ]", r[0], r[1], r[2]);
        format!(
            "{{\n \"location\": {{\"x\": {x}, \"y\": {y}, \"z\": {z}}},\n \
             \"transformation_\": [{}, {}, {}, [0.0, 0.0, 0.0, 1.0]],\n \
             \"instance_id\": 0,\n \"score\": 1.0\n}}",
            row(m[0], "0.0"),
            row(m[1], "0.0"),
            row(m[2], "0.0")
        )
    }

    fn sample() -> String {
        let h = "0.7071067811865475";
        let points = [
            pick(
                "40.0",
                "20.0",
                "30.0",
                [
                    ["-0.0", "-0.7071067811865475", h],
                    ["1.0", "-0.0", "0.0"],
                    ["0.0", h, h],
                ],
            ),
            pick(
                "0.0",
                "50.0",
                "10.0",
                [
                    [
                        "0.6123724356957945",
                        "0.6123724356957947",
                        "0.4999999999999998",
                    ],
                    [
                        "-0.3535533905932737",
                        "-0.35355339059327356",
                        "0.8660254037844386",
                    ],
                    [h, "-0.7071067811865475", "0.0"],
                ],
            ),
            pick(
                "30",
                "15",
                "92",
                [
                    ["1.0", "0.0", "0.0"],
                    ["0.0", "1.0", "0.0"],
                    ["0.0", "0.0", "1.0"],
                ],
            ),
            pick(
                "30.0",
                "10.0",
                "50.0",
                [
                    ["0", "0.0", "-1.0"],
                    ["0.0", "1.0", "0.0"],
                    ["1.0", "0.0", "0"],
                ],
            ),
        ];
        format!(
            "{{\n \"pickable_object_name\": \"ribosome\",\n \"user_id\": \"0\",\n \"session_id\": \"0\",\n \
             \"run_name\": null,\n \"voxel_spacing\": null,\n \"unit\": \"angstrom\",\n \"points\": [{}],\n \
             \"trust_orientation\": true\n}}",
            points.join(", ")
        )
    }

    fn params(binning: f64) -> PointParams {
        PointParams {
            binning,
            // copick ignores the order.
            order: "zyx".into(),
            ..PointParams::default()
        }
    }

    #[test]
    fn oriented_copick_binning_10_as_in_the_reference_test() {
        let r = read_points(
            "copick",
            PointShape::OrientedPoint,
            &params(10.0),
            sample().as_bytes(),
            "copick.json",
        )
        .unwrap();
        let locs: Vec<_> = r.iter().map(|p| p.location).collect();
        assert_eq!(
            locs,
            vec![
                [4.0, 2.0, 3.0],
                [0.0, 5.0, 1.0],
                [3.0, 1.5, 9.2],
                [3.0, 1.0, 5.0]
            ]
        );
        assert_eq!(
            r[3].rotation,
            Some([[0.0, 0.0, -1.0], [0.0, 1.0, 0.0], [1.0, 0.0, 0.0]])
        );
        assert_eq!(
            String::from_utf8(to_ndjson(PointShape::OrientedPoint, &r[..1])).unwrap(),
            "{\"type\": \"orientedPoint\", \"location\": {\"x\": 4.0, \"y\": 2.0, \"z\": 3.0}, \
             \"xyz_rotation_matrix\": [[-0.0, -0.7071067811865475, 0.7071067811865475], \
             [1.0, -0.0, 0.0], [0.0, 0.7071067811865475, 0.7071067811865475]]}"
        );
    }

    #[test]
    fn point_and_instance_copick() {
        let r = read_points(
            "copick",
            PointShape::Point,
            &params(10.0),
            sample().as_bytes(),
            "c.json",
        )
        .unwrap();
        assert_eq!(r.len(), 4);
        assert!(r
            .iter()
            .all(|p| p.rotation.is_none() && p.instance_id.is_none()));
        let r = read_points(
            "copick",
            PointShape::InstanceSegmentation,
            &params(1.0),
            sample().as_bytes(),
            "c.json",
        )
        .unwrap();
        let ids: Vec<_> = r.iter().map(|p| p.instance_id.unwrap()).collect();
        assert_eq!(ids, vec![0, 1, 2, 3]);
        assert_eq!(r[2].location, [30.0, 15.0, 92.0]);
        assert_eq!(
            String::from_utf8(to_ndjson(PointShape::InstanceSegmentation, &r[2..3])).unwrap(),
            "{\"type\": \"instancePoint\", \"location\": {\"x\": 30.0, \"y\": 15.0, \"z\": 92.0}, \"instance_id\": 2}"
        );
    }

    #[test]
    fn missing_points_is_empty_and_broken_files_are_errors() {
        let p = params(1.0);
        for doc in [
            "{\"pickable_object_name\": \"x\"}",
            "{\"points\": null}",
            "{\"points\": []}",
        ] {
            assert!(read_points(
                "copick",
                PointShape::OrientedPoint,
                &p,
                doc.as_bytes(),
                "c.json"
            )
            .unwrap()
            .is_empty());
        }
        let e = read_points(
            "copick",
            PointShape::Point,
            &p,
            b"{\n\"points\": [\n",
            "c.json",
        )
        .unwrap_err();
        assert!(
            e.to_string()
                .starts_with("c.json:3: expected a copick JSON document"),
            "{e}"
        );
        let e = read_points(
            "copick",
            PointShape::Point,
            &p,
            br#"{"points": [{"location": {"x": 1, "y": "2", "z": 3}}]}"#,
            "c.json",
        )
        .unwrap_err();
        assert_eq!(
            e.to_string(),
            "c.json: expected a number at points[0].location.y, found \"2\""
        );
        let e = read_points(
            "copick",
            PointShape::OrientedPoint,
            &p,
            br#"{"points": [{"location": {"x": 1, "y": 2, "z": 3}, "transformation_": [[1, 0], [0, 1]]}]}"#,
            "c.json",
        )
        .unwrap_err();
        assert!(
            e.to_string().contains("points[0].transformation_[0][2]"),
            "{e}"
        );
    }
}
