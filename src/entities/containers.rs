//! Deposition, dataset and run: container entities whose only output is their metadata JSON
//! (spec §11). Voxel spacings write nothing and are not targets.

use super::TargetContext;
use crate::target::BuildError;
use crate::target::TargetSpec;
use crate::EntityKind;
use serde_json::{json, Map, Value};
use std::sync::Arc;

/// The `deposition_id` default of every metadata file: the deposition's name, as an integer
/// when the config's literal was one (the reference keeps the YAML type).
pub fn deposition_name_value(ctx: &TargetContext<'_>, idx: usize) -> Value {
    let Some(dep) = ctx.discovery.ancestor(idx, EntityKind::Deposition) else {
        return Value::Null;
    };
    let literal_is_number = dep
        .finder
        .pointer("/finder/literal")
        .and_then(Value::as_array)
        .is_some_and(|vals| {
            vals.iter()
                .any(|v| v.as_i64().is_some_and(|n| dep.name == n.to_string()))
        });
    match dep.name.parse::<i64>() {
        Ok(n) if literal_is_number => json!(n),
        _ => Value::String(dep.name.clone()),
    }
}

/// The target of a deposition, dataset or run instance (`None` for voxel spacings).
///
/// # Errors
/// None today; kept fallible like every kind's constructor.
pub fn target(ctx: &TargetContext<'_>, idx: usize) -> Result<Option<TargetSpec>, BuildError> {
    let inst = &ctx.discovery.instances[idx];
    let dep_value = deposition_name_value(ctx, idx);
    let (file, doc): (String, Map<String, Value>) = match inst.kind {
        EntityKind::Deposition => {
            if inst.metadata.is_empty() {
                // The reference writes no deposition metadata for an empty block.
                return Ok(None);
            }
            ("deposition_metadata.json".into(), inst.metadata.clone())
        }
        EntityKind::Dataset => (
            "dataset_metadata.json".into(),
            crate::metadata::format_dataset_metadata(&inst.metadata)
                .map_err(|e| BuildError::Invalid(format!("dataset {}: {e}", inst.name)))?,
        ),
        EntityKind::Run => {
            let mut doc = inst.metadata.clone();
            doc.insert("run_name".into(), Value::String(inst.name.clone()));
            ("run_metadata.json".into(), doc)
        }
        _ => return Ok(None),
    };
    let dir = inst.output_dir.clone();
    let key = format!("{dir}/{file}");
    let with_photos = matches!(inst.kind, EntityKind::Deposition | EntityKind::Dataset);
    let config = json!({
        "name": inst.name,
        "metadata": inst.metadata,
        "finder": inst.finder,
        "output": key,
        "deposition_id_default": dep_value,
    });
    let output = ctx.output.clone();
    let action = Arc::new(move |io: &mut crate::target::BuildIo<'_>| {
        let extracted = if with_photos {
            json!({"key_photos": key_photos_in(&output, &dir)?})
        } else {
            json!({})
        };
        io.write_metadata(&key, &doc, extracted, &dep_value)
    });
    Ok(Some(TargetSpec {
        id: inst.output_dir.clone(),
        kind: inst.kind,
        config,
        sources: Vec::new(),
        deps: Vec::new(),
        metadata: true,
        action,
    }))
}

/// The `key_photos` block of dataset and deposition metadata: the first file under `Images/`
/// whose name starts with `snapshot` / `thumbnail`, or null.
fn key_photos_in(output: &crate::storage::Store, dir: &str) -> Result<Value, BuildError> {
    let images = format!("{dir}/Images");
    let files = if output.exists(&images) {
        output.list_files(&images)?
    } else {
        Vec::new()
    };
    let pick = |prefix: &str| {
        files
            .iter()
            .find(|f| f.key.starts_with(&format!("{images}/{prefix}")))
            .map_or(Value::Null, |f| Value::String(f.key.clone()))
    };
    Ok(json!({"snapshot": pick("snapshot"), "thumbnail": pick("thumbnail")}))
}
