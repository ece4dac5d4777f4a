//! Run data maps (spec §3.3): per-run template variables from a CSV/TSV with a `run_name` column,
//! and the legacy header-less two-column maps (`run_to_tomo_map_csv` and friends).
//!
//! The reference reads them with Python's `csv.DictReader` / `csv.reader`; the `csv` crate's
//! defaults (double quotes, doubled-quote escapes, CRLF or LF line ends) read the same files.
//! A row with fewer fields than the header is refused (Python would fill `None` and print it as
//! "None" in paths); a later row for the same run replaces the earlier one, as in the reference.
//! A UTF-8 byte-order mark is skipped.

use super::error::{ConfigError, Location, Site};
use indexmap::IndexMap;
use std::collections::BTreeMap;
use std::path::PathBuf;

/// `run_name` → the run's row (column → value, in header order; includes `run_name` itself).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct RunDataMap {
    rows: BTreeMap<String, IndexMap<String, String>>,
    columns: Vec<String>,
}

fn site(file: &str, line: Option<usize>, path: String) -> Box<Site> {
    Box::new(Site {
        file: PathBuf::from(file),
        location: line.map(|line| Location { line, column: 1 }),
        path,
    })
}

fn decode<'a>(bytes: &'a [u8], file: &str) -> Result<&'a str, ConfigError> {
    let bytes = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
    std::str::from_utf8(bytes).map_err(|e| ConfigError::InvalidValue {
        site: site(file, None, format!("byte {}", e.valid_up_to())),
        field: "<text>".into(),
        expected: "UTF-8 text".into(),
        found: "bytes that are not UTF-8".into(),
    })
}

fn csv_error(e: csv::Error, file: &str) -> ConfigError {
    let line = e.position().map(|p| p.line() as usize);
    ConfigError::InvalidValue {
        site: site(file, line, "<row>".into()),
        field: "<row>".into(),
        expected: "well-formed CSV".into(),
        found: e.to_string(),
    }
}

impl RunDataMap {
    /// Parses a run data map; `tsv` selects the tab delimiter (the reference's rule: the file
    /// name ends in `tsv`). `file` names the map in errors.
    pub fn parse(bytes: &[u8], tsv: bool, file: &str) -> Result<Self, ConfigError> {
        let text = decode(bytes, file)?;
        let mut reader = csv::ReaderBuilder::new()
            .delimiter(if tsv { b'\t' } else { b',' })
            .has_headers(true)
            .flexible(true)
            .from_reader(text.as_bytes());
        let columns: Vec<String> = reader
            .headers()
            .map_err(|e| csv_error(e, file))?
            .iter()
            .map(str::to_string)
            .collect();
        if !columns.iter().any(|c| c == "run_name") {
            return Err(ConfigError::MissingField {
                site: site(file, Some(1), "header.run_name".into()),
                field: "run_name".into(),
                expected: format!(
                    "a header row with a `run_name` column (found columns: {})",
                    columns.join(", ")
                ),
            });
        }
        let mut rows = BTreeMap::new();
        for record in reader.records() {
            let record = record.map_err(|e| csv_error(e, file))?;
            let line = record.position().map(|p| p.line() as usize);
            if record.len() == 1 && record.get(0) == Some("") {
                continue; // an empty line
            }
            if record.len() < columns.len() {
                return Err(ConfigError::InvalidValue {
                    site: site(file, line, format!("row {}", line.unwrap_or(0))),
                    field: columns[record.len()].clone(),
                    expected: format!("{} fields, one per header column", columns.len()),
                    found: format!("{} fields", record.len()),
                });
            }
            let row: IndexMap<String, String> = columns
                .iter()
                .zip(record.iter())
                .map(|(c, v)| (c.clone(), v.to_string()))
                .collect();
            rows.insert(row["run_name"].clone(), row);
        }
        Ok(RunDataMap { rows, columns })
    }

    /// The row of a run, if the map has one.
    pub fn row(&self, run: &str) -> Option<&IndexMap<String, String>> {
        self.rows.get(run)
    }

    /// The header columns, in file order.
    pub fn columns(&self) -> &[String] {
        &self.columns
    }

    /// Number of runs.
    pub fn len(&self) -> usize {
        self.rows.len()
    }

    /// True when the map has no run rows.
    pub fn is_empty(&self) -> bool {
        self.rows.is_empty()
    }

    /// Run names, sorted.
    pub fn runs(&self) -> impl Iterator<Item = &str> {
        self.rows.keys().map(String::as_str)
    }
}

/// Parses a legacy header-less `run,value` map (`run_to_tomo_map_csv`, `run_to_frame_map_csv`,
/// `run_to_ts_map_csv`). Extra fields are ignored and empty lines skipped; a later row for the
/// same run wins.
pub fn parse_two_column_map(
    bytes: &[u8],
    file: &str,
) -> Result<BTreeMap<String, String>, ConfigError> {
    let text = decode(bytes, file)?;
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .from_reader(text.as_bytes());
    let mut out = BTreeMap::new();
    for record in reader.records() {
        let record = record.map_err(|e| csv_error(e, file))?;
        if record.len() == 1 && record.get(0) == Some("") {
            continue;
        }
        if record.len() < 2 {
            let line = record.position().map(|p| p.line() as usize);
            return Err(ConfigError::InvalidValue {
                site: site(file, line, format!("row {}", line.unwrap_or(0))),
                field: "<value>".into(),
                expected: "two fields: run name, value".into(),
                found: format!("{} field", record.len()),
            });
        }
        out.insert(record[0].to_string(), record[1].to_string());
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn csv_and_tsv_rows_by_run() {
        let m = RunDataMap::parse(
            b"run_name,q,vs\r\nTS_1,4,13.48\r\nTS_2,5,\r\n",
            false,
            "m.csv",
        )
        .unwrap();
        assert_eq!(m.len(), 2);
        assert_eq!(m.columns(), ["run_name", "q", "vs"]);
        let row = m.row("TS_1").unwrap();
        assert_eq!(row.keys().collect::<Vec<_>>(), ["run_name", "q", "vs"]);
        assert_eq!(row["vs"], "13.48");
        assert_eq!(m.row("TS_2").unwrap()["vs"], "");
        assert!(m.row("TS_3").is_none());

        let t = RunDataMap::parse(
            "\u{feff}q\trun_name\n1\ta b\n2\ta b\n".as_bytes(),
            true,
            "m.tsv",
        )
        .unwrap();
        assert_eq!(t.len(), 1);
        assert_eq!(t.row("a b").unwrap()["q"], "2");
    }

    #[test]
    fn missing_run_name_column_is_an_error() {
        let e = RunDataMap::parse(b"name,q\nTS_1,4\n", false, "maps/m.csv").unwrap_err();
        let msg = e.to_string();
        assert!(
            msg.starts_with("maps/m.csv:1:1: header.run_name: missing required field `run_name`"),
            "{msg}"
        );
        assert!(msg.contains("found columns: name, q"), "{msg}");
    }

    #[test]
    fn short_row_is_an_error() {
        let e = RunDataMap::parse(b"run_name,q,vs\nTS_1,4\n", false, "m.csv").unwrap_err();
        let msg = e.to_string();
        assert!(msg.starts_with("m.csv:2:1: row 2: field `vs`"), "{msg}");
        assert!(msg.contains("expected 3 fields"), "{msg}");
    }

    #[test]
    fn two_column_map() {
        let m = parse_two_column_map(b"TS_1,3dimage_1\r\nTS_2,3dimage_2,extra\r\n\r\n", "t.csv")
            .unwrap();
        assert_eq!(m.len(), 2);
        assert_eq!(m["TS_1"], "3dimage_1");
        assert_eq!(m["TS_2"], "3dimage_2");
        let e = parse_two_column_map(b"TS_1\n", "t.csv").unwrap_err();
        assert!(e.to_string().starts_with("t.csv:1:1: row 1:"), "{e}");
    }
}
