//! Identified objects (spec §8.5): the rows of a CSV whose `run_name` is the run's, as
//! `IdentifiedObjects/identified_objects.json` (records, the `run_name` column dropped, values
//! typed per column as pandas would: a column of numbers is numeric), and
//! `identified_objects_metadata.json` with `object_count`, `columns`, `file_format`,
//! `source_file` and `identifier`.

use super::files::run_name;
use super::ids::deposition_part;
use super::{PlanKind, TargetContext};
use crate::storage::StoreKey;
use crate::target::{invalid, BuildError, BuildIo, Kind, Planned, TargetId, TargetSpec};
use crate::EntityKind;
use serde_json::{json, Map, Value};

/// A CSV cell as pandas types its column: integers, then floats, else strings; empty → null.
fn typed_column(cells: &[&str]) -> Vec<Value> {
    let filled = || cells.iter().filter(|c| !c.is_empty());
    let as_int = filled().all(|c| c.parse::<i64>().is_ok());
    let as_float = filled().all(|c| c.parse::<f64>().is_ok());
    cells
        .iter()
        .map(|c| match () {
            _ if c.is_empty() => Value::Null,
            _ if as_int => json!(c.parse::<i64>().unwrap_or(0)),
            _ if as_float => json!(c.parse::<f64>().unwrap_or(0.0)),
            _ => json!(c),
        })
        .collect()
}

/// The records of `run` in an identified-objects CSV (the `run_name` column dropped).
///
/// # Errors
/// A CSV that does not parse, or has no `run_name` column; each names the file.
pub fn records_for_run(
    bytes: &[u8],
    run: &str,
    file: &str,
) -> Result<Vec<Map<String, Value>>, BuildError> {
    let mut reader = csv::Reader::from_reader(bytes);
    let headers: Vec<String> = reader
        .headers()
        .map_err(|e| invalid(format!("{file}: {e}")))?
        .iter()
        .map(String::from)
        .collect();
    let run_col = headers
        .iter()
        .position(|h| h == "run_name")
        .ok_or_else(|| {
            invalid(format!(
                "{file}: no `run_name` column (columns: {})",
                headers.join(", ")
            ))
        })?;
    let rows: Vec<csv::StringRecord> = reader
        .records()
        .collect::<Result<_, _>>()
        .map_err(|e| invalid(format!("{file}: {e}")))?;
    // Types come from the whole column, as pandas reads the whole file.
    let columns: Vec<Vec<Value>> = (0..headers.len())
        .map(|c| {
            typed_column(
                &rows
                    .iter()
                    .map(|r| r.get(c).unwrap_or(""))
                    .collect::<Vec<_>>(),
            )
        })
        .collect();
    let runs = &columns[run_col];
    let wanted = typed_column(&[run])[0].clone();
    Ok((0..rows.len())
        .filter(|&i| runs[i] == wanted || runs[i].as_str() == Some(run))
        .map(|i| {
            headers
                .iter()
                .enumerate()
                .filter(|(c, _)| *c != run_col)
                .map(|(c, h)| (h.clone(), columns[c][i].clone()))
                .collect()
        })
        .collect())
}

/// A run's identified objects: their JSON and its metadata.
pub struct IdentifiedObjects;

/// What an identified-objects target reads.
#[derive(serde::Serialize)]
pub struct IdentifiedObjectsParams {
    run: String,
    metadata: Map<String, Value>,
    finder: Value,
    /// The CSV (among the target's sources).
    source: String,
    /// The data JSON and the metadata JSON written.
    outputs: [StoreKey; 2],
    /// The CSV as named in messages and in `source_file`.
    source_file: String,
    identifier: u64,
    deposition_id_default: Value,
}

impl Kind for IdentifiedObjects {
    type Params = IdentifiedObjectsParams;

    fn build(p: &IdentifiedObjectsParams, io: &mut BuildIo<'_>) -> Result<(), BuildError> {
        let source_file = &p.source_file;
        let object = io
            .source(&p.source)
            .map_err(|_| invalid(format!("{source_file}: expected a CSV file")))?;
        let records = records_for_run(&io.read_source(object)?, &p.run, source_file)?;
        let columns: Vec<String> = records
            .first()
            .map(|r| r.keys().cloned().collect())
            .unwrap_or_default();
        let data = Value::Array(records.iter().cloned().map(Value::Object).collect());
        let [data_key, meta_key] = &p.outputs;
        io.write_bytes(data_key, &crate::pycompat::json::render_json(&data))?;
        let extracted = json!({
            "object_count": records.len(),
            "columns": columns,
            "file_format": "json",
            "source_file": source_file,
            "identifier": p.identifier,
        });
        io.write_metadata(meta_key, &p.metadata, extracted, &p.deposition_id_default)
    }
}

impl PlanKind for IdentifiedObjects {
    fn plan(
        ctx: &TargetContext<'_>,
        _earlier: &[TargetSpec],
    ) -> Result<Vec<(usize, Planned<IdentifiedObjects>)>, BuildError> {
        ctx.each_instance(&[EntityKind::IdentifiedObject], |idx| {
            Ok(plan_one(ctx, idx)?.into_iter().collect())
        })
    }
}

/// The target of an identified-objects instance.
///
/// # Errors
/// Listing errors while fingerprinting the source.
fn plan_one(
    ctx: &TargetContext<'_>,
    idx: usize,
) -> Result<Option<Planned<IdentifiedObjects>>, BuildError> {
    let d = ctx.discovery;
    let inst = &d.instances[idx];
    let Some(src_key) = inst.path.clone().filter(|p| !p.is_empty()) else {
        return Ok(None);
    };
    let run = run_name(ctx, idx);
    let dir = inst.output_dir.clone();
    let data_key = dir.child("identified_objects.json")?;
    let meta_key = dir.child("identified_objects_metadata.json")?;
    let sources = ctx.input.list_files(&src_key)?;
    let dep_name = d
        .ancestor(idx, EntityKind::Deposition)
        .map(|dep| dep.name.clone())
        .unwrap_or_default();
    // The identifier (spec §5.3): kept from the existing metadata when it is the same
    // deposition and run, else the next number.
    let identity = deposition_part(&Value::Object(inst.metadata.clone()), &dep_name);
    let identifier = match ctx.output.read(&meta_key) {
        Ok(bytes) => {
            let existing: Value = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
            let id = existing
                .get("identifier")
                .and_then(Value::as_u64)
                .unwrap_or(100);
            if deposition_part(&existing, &dep_name) == identity {
                id
            } else {
                id + 1
            }
        }
        Err(_) => 100,
    };
    let params = IdentifiedObjectsParams {
        run,
        metadata: inst.metadata.clone(),
        finder: inst.finder.clone(),
        source_file: ctx.input.describe(&src_key),
        source: src_key,
        outputs: [data_key, meta_key],
        identifier,
        deposition_id_default: super::containers::deposition_name_value(ctx, idx),
    };
    Ok(Some(
        Planned::new(
            TargetId::from_key(dir)?,
            EntityKind::IdentifiedObject,
            params,
        )
        .sources(sources),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rows_of_the_run_are_typed_by_column_and_lose_run_name() {
        let csv =
            b"run_name,object_id,x,label\nTS_01,1,10.5,ribosome\nTS_02,2,11,ribosome\nTS_01,3,,\n";
        let rows = records_for_run(csv, "TS_01", "objs.csv").unwrap();
        assert_eq!(rows.len(), 2);
        assert_eq!(
            Value::Object(rows[0].clone()),
            json!({"object_id": 1, "x": 10.5, "label": "ribosome"})
        );
        assert_eq!(
            Value::Object(rows[1].clone()),
            json!({"object_id": 3, "x": null, "label": null})
        );
    }

    #[test]
    fn numeric_run_names_match_as_numbers() {
        let rows = records_for_run(b"run_name,v\n7,a\n07,b\n8,c\n", "7", "o.csv").unwrap();
        assert_eq!(rows.len(), 2);
    }

    #[test]
    fn a_csv_without_run_name_is_an_error_naming_the_file() {
        let err = records_for_run(b"run,v\nTS_01,a\n", "TS_01", "objs.csv").unwrap_err();
        assert!(
            err.to_string().contains("objs.csv: no `run_name` column"),
            "{err}"
        );
    }
}
