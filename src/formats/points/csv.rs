//! Delimiter-separated point lists (`csv`, `csv_with_header`) and TARDIS instance CSVs.
//!
//! Fields are split the way Python's `csv.reader` does with default dialect settings: a field
//! that starts with `"` runs to the closing quote (`""` inside is a literal quote), other
//! fields run to the next delimiter, and surrounding spaces are kept (Python's `float()`
//! ignores them, `int()` too). Every row must have the needed columns, including blank rows,
//! which `csv.reader` yields as empty rows and the reference cannot index.

use super::PointRecord;
use crate::formats::error::{numbered_lines, parse_f64, parse_i64};
use crate::formats::FormatError;

/// Splits one line into fields like `csv.reader` (no multi-line quoted fields).
fn split_fields(line: &str, delim: char) -> Vec<String> {
    let mut fields = Vec::new();
    if line.is_empty() {
        return fields;
    }
    let mut chars = line.chars().peekable();
    loop {
        let mut field = String::new();
        if chars.peek() == Some(&'"') {
            chars.next();
            while let Some(c) = chars.next() {
                if c == '"' {
                    if chars.peek() == Some(&'"') {
                        chars.next();
                        field.push('"');
                    } else {
                        break;
                    }
                } else {
                    field.push(c);
                }
            }
        }
        // Unquoted part (or text after a closing quote, which csv keeps verbatim).
        let mut ended = true;
        for c in chars.by_ref() {
            if c == delim {
                ended = false;
                break;
            }
            field.push(c);
        }
        fields.push(field);
        if ended {
            return fields;
        }
    }
}

fn field<'a>(
    row: &'a [String],
    col: usize,
    file: &str,
    line: usize,
) -> Result<&'a str, FormatError> {
    row.get(col).map(String::as_str).ok_or_else(|| {
        FormatError::malformed(
            file,
            Some(line),
            format!("at least {} columns", col + 1),
            format!("{} columns", row.len()),
        )
    })
}

const AXES: [&str; 3] = ["x", "y", "z"];

/// `csv` and `csv_with_header`: x, y, z from the columns given by `order`.
pub(super) fn read_csv(
    text: &str,
    file: &str,
    delim: char,
    skip_header: bool,
    order: [usize; 3],
    binning: f64,
) -> Result<Vec<PointRecord>, FormatError> {
    let mut out = Vec::new();
    for (n, line) in numbered_lines(text).skip(usize::from(skip_header)) {
        let row = split_fields(line, delim);
        let mut loc = [0.0; 3];
        for (axis, col) in order.iter().enumerate() {
            let v = parse_f64(field(&row, *col, file, n)?, file, Some(n), AXES[axis])?;
            loc[axis] = v / binning;
        }
        out.push(PointRecord::point(loc));
    }
    Ok(out)
}

/// TARDIS: a header row, then `instance id, x, y, z` (comma-separated, order ignored).
pub(super) fn read_tardis(
    text: &str,
    file: &str,
    binning: f64,
) -> Result<Vec<PointRecord>, FormatError> {
    let mut out = Vec::new();
    for (n, line) in numbered_lines(text).skip(1) {
        let row = split_fields(line, ',');
        let mut loc = [0.0; 3];
        for (axis, v) in loc.iter_mut().enumerate() {
            *v = parse_f64(field(&row, axis + 1, file, n)?, file, Some(n), AXES[axis])? / binning;
        }
        let id = parse_i64(field(&row, 0, file, n)?, file, Some(n), "the instance id")?;
        out.push(PointRecord {
            location: loc,
            rotation: None,
            instance_id: Some(id),
        });
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::super::{read_points, to_ndjson, PointParams, PointShape};
    use super::*;

    fn params(order: &str, delimiter: &str, binning: f64) -> PointParams {
        PointParams {
            order: order.into(),
            delimiter: delimiter.into(),
            binning,
            filter_value: None,
        }
    }

    fn locs(r: &[PointRecord]) -> Vec<[f64; 3]> {
        r.iter().map(|p| p.location).collect()
    }

    #[test]
    fn csv_comma_binning_1_as_in_the_reference_test() {
        let r = read_points(
            "csv",
            PointShape::Point,
            &params("xyz", ",", 1.0),
            b"1,2,3\n2,2,2\n0,3,0\n",
            "points.csv",
        )
        .unwrap();
        assert_eq!(
            locs(&r),
            vec![[1.0, 2.0, 3.0], [2.0, 2.0, 2.0], [0.0, 3.0, 0.0]]
        );
        assert!(r
            .iter()
            .all(|p| p.rotation.is_none() && p.instance_id.is_none()));
        assert_eq!(
            String::from_utf8(to_ndjson(PointShape::Point, &r[..1])).unwrap(),
            "{\"type\": \"point\", \"location\": {\"x\": 1.0, \"y\": 2.0, \"z\": 3.0}}"
        );
    }

    #[test]
    fn csv_tab_delimiter_binning_2() {
        let r = read_points(
            "csv",
            PointShape::Point,
            &params("xyz", "\t", 2.0),
            b"1\t2\t3\r\n2\t2\t2\r\n0\t3\t0",
            "points_tab_delim.csv",
        )
        .unwrap();
        assert_eq!(
            locs(&r),
            vec![[0.5, 1.0, 1.5], [1.0, 1.0, 1.0], [0.0, 1.5, 0.0]]
        );
    }

    #[test]
    fn csv_with_header_comma_and_pipe() {
        let r = read_points(
            "csv_with_header",
            PointShape::Point,
            &params("xyz", ",", 1.0),
            b"x,y,z\n1,2,3\n2,2,2\n0,3,0\n",
            "points_with_header.csv",
        )
        .unwrap();
        assert_eq!(
            locs(&r),
            vec![[1.0, 2.0, 3.0], [2.0, 2.0, 2.0], [0.0, 3.0, 0.0]]
        );
        let r = read_points(
            "csv_with_header",
            PointShape::Point,
            &params("xyz", "|", 2.0),
            b"x|y|z\n1|2|3\n2|2|2\n0|3|0\n",
            "points_with_header_pipe_delim.csv",
        )
        .unwrap();
        assert_eq!(
            locs(&r),
            vec![[0.5, 1.0, 1.5], [1.0, 1.0, 1.0], [0.0, 1.5, 0.0]]
        );
    }

    #[test]
    fn csv_zyx_quotes_spaces_and_extra_columns() {
        let r = read_points(
            "csv",
            PointShape::Point,
            &params("zyx", ",", 1.0),
            b"\"10.5\", 20 ,30,extra\n1e1,2,3\n",
            "p.csv",
        )
        .unwrap();
        assert_eq!(locs(&r), vec![[30.0, 20.0, 10.5], [3.0, 2.0, 10.0]]);
    }

    #[test]
    fn csv_bad_number_short_row_and_blank_row_name_file_and_line() {
        let p = params("xyz", ",", 1.0);
        let e = read_points("csv", PointShape::Point, &p, b"1,2,3\n1,x,3\n", "p.csv").unwrap_err();
        assert_eq!(
            e.to_string(),
            "p.csv:2: expected a number for y, found \"x\""
        );
        let e = read_points("csv", PointShape::Point, &p, b"1,2,3\n4,5\n", "p.csv").unwrap_err();
        assert_eq!(
            e.to_string(),
            "p.csv:2: expected at least 3 columns, found 2 columns"
        );
        let e =
            read_points("csv", PointShape::Point, &p, b"1,2,3\n\n4,5,6\n", "p.csv").unwrap_err();
        assert_eq!(
            e.to_string(),
            "p.csv:2: expected at least 1 columns, found 0 columns"
        );
        // A header-less file read as csv_with_header silently loses its first row, as in the
        // reference; a header read as data is an error.
        let e = read_points("csv", PointShape::Point, &p, b"x,y,z\n1,2,3\n", "h.csv").unwrap_err();
        assert!(
            e.to_string()
                .starts_with("h.csv:1: expected a number for x"),
            "{e}"
        );
        assert!(read_points("csv", PointShape::Point, &p, b"", "e.csv")
            .unwrap()
            .is_empty());
    }

    #[test]
    fn tardis_as_in_the_reference_test() {
        let text = "IDs,X [A],Y [A],Z [A]\n0,4,8,12\n0,4,4,4\n1,6,4,2\n1,0,6,0\n1,8,4,2\n2,3,2,1\n";
        // order is ignored: columns 1..3 are always x, y, z.
        let r = read_points(
            "tardis",
            PointShape::InstanceSegmentation,
            &params("zyx", ";", 2.0),
            text.as_bytes(),
            "tardis.csv",
        )
        .unwrap();
        assert_eq!(
            locs(&r),
            vec![
                [2.0, 4.0, 6.0],
                [2.0, 2.0, 2.0],
                [3.0, 2.0, 1.0],
                [0.0, 3.0, 0.0],
                [4.0, 2.0, 1.0],
                [1.5, 1.0, 0.5]
            ]
        );
        let ids: Vec<_> = r.iter().map(|p| p.instance_id.unwrap()).collect();
        assert_eq!(ids, vec![0, 0, 1, 1, 1, 2]);
        assert_eq!(
            super::super::object_count(PointShape::InstanceSegmentation, &r),
            3
        );
        let e = read_points(
            "tardis",
            PointShape::InstanceSegmentation,
            &params("xyz", ",", 1.0),
            b"IDs,X,Y,Z\n0,1,2,3\n1.5,1,2,3\n",
            "tardis.csv",
        )
        .unwrap_err();
        assert_eq!(
            e.to_string(),
            "tardis.csv:3: expected an integer for the instance id, found \"1.5\""
        );
    }

    #[test]
    fn field_splitting_follows_python_csv() {
        assert_eq!(split_fields("a,\"b,c\",d", ','), vec!["a", "b,c", "d"]);
        assert_eq!(split_fields("\"x\"\"y\"", ','), vec!["x\"y"]);
        assert_eq!(split_fields("a,", ','), vec!["a", ""]);
        assert!(split_fields("", ',').is_empty());
    }
}
