//! Deposition, dataset and run: container entities whose only output is their metadata JSON
//! (spec §11). Voxel spacings write nothing and are not targets.

use super::{PlanKind, TargetContext};
use crate::storage::StoreKey;
use crate::target::{BuildError, BuildIo, Kind, Planned, TargetId, TargetSpec};
use crate::EntityKind;
use serde_json::{json, Map, Value};

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

/// Deposition, dataset and run metadata targets.
pub struct Container;

/// What a container's metadata build reads.
#[derive(serde::Serialize)]
pub struct ContainerParams {
    name: String,
    /// The block's metadata, as configured.
    metadata: Map<String, Value>,
    finder: Value,
    /// The metadata JSON written.
    output: StoreKey,
    deposition_id_default: Value,
    /// The document before extraction: `metadata`, formatted for datasets, with `run_name`
    /// for runs.
    document: Map<String, Value>,
    /// The folder whose `Images/` gives `key_photos` (depositions and datasets).
    key_photos_of: Option<StoreKey>,
}

impl Kind for Container {
    type Params = ContainerParams;

    fn build(p: &ContainerParams, io: &mut BuildIo<'_>) -> Result<(), BuildError> {
        let extracted = match &p.key_photos_of {
            Some(dir) => json!({"key_photos": key_photos_in(io.output, dir)?}),
            None => json!({}),
        };
        io.write_metadata(&p.output, &p.document, extracted, &p.deposition_id_default)
    }
}

impl PlanKind for Container {
    fn plan(
        ctx: &TargetContext<'_>,
        earlier: &[TargetSpec],
    ) -> Result<Vec<(usize, Planned<Container>)>, BuildError> {
        use EntityKind::{Dataset, Deposition, Run};
        ctx.each_instance(&[Deposition, Dataset, Run], |idx| {
            Ok(plan_one(ctx, idx, earlier)?.into_iter().collect())
        })
    }
}

fn plan_one(
    ctx: &TargetContext<'_>,
    idx: usize,
    earlier: &[TargetSpec],
) -> Result<Option<Planned<Container>>, BuildError> {
    let inst = &ctx.discovery.instances[idx];
    let (file, document): (&str, Map<String, Value>) = match inst.kind {
        EntityKind::Deposition => {
            if inst.metadata.is_empty() {
                // The reference writes no deposition metadata for an empty block.
                return Ok(None);
            }
            ("deposition_metadata.json", inst.metadata.clone())
        }
        EntityKind::Dataset => (
            "dataset_metadata.json",
            crate::metadata::format_dataset_metadata(&inst.metadata)
                .map_err(|e| BuildError::Invalid(format!("dataset {}: {e}", inst.name)))?,
        ),
        EntityKind::Run => {
            let mut doc = inst.metadata.clone();
            doc.insert("run_name".into(), Value::String(inst.name.clone()));
            ("run_metadata.json", doc)
        }
        _ => return Ok(None),
    };
    let dir = inst.output_dir.clone();
    let with_photos = matches!(inst.kind, EntityKind::Deposition | EntityKind::Dataset);
    // Dataset and deposition metadata list their `Images/` folder: they read the targets that
    // write into it.
    let images = format!("{dir}/Images/");
    let deps = if with_photos {
        earlier
            .iter()
            .filter(|t| t.id.starts_with(&images))
            .map(|t| t.id.clone())
            .collect()
    } else {
        Vec::new()
    };
    let params = ContainerParams {
        name: inst.name.clone(),
        metadata: inst.metadata.clone(),
        finder: inst.finder.clone(),
        output: dir.child(file)?,
        deposition_id_default: deposition_name_value(ctx, idx),
        document,
        key_photos_of: with_photos.then(|| dir.clone()),
    };
    Ok(Some(
        Planned::new(TargetId::from_key(dir)?, inst.kind, params)
            .deps(deps)
            .metadata_only(),
    ))
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
