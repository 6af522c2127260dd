//! The training state of a model file: `training.json` (the compile configuration, the
//! optimizer's step count and `fit`'s random streams) and `optimizer.safetensors` (the
//! optimizer's slots per weight). Both are written only for a compiled model; a file
//! without them loads uncompiled.

use super::Archive;
use super::weights::{self, io_error};
use crate::error::Result;
use crate::fit::LossArg;
use crate::losses::Loss;
use crate::model::Model;
use crate::optimizers::Optimizer;
use kiln_burn::OptimizerSnapshot;
use kiln_ir::HostTensor;
use serde::{Deserialize, Serialize};
use std::collections::HashSet;
use std::path::Path;

/// The member holding the compile configuration.
pub(super) const TRAINING_JSON: &str = "training.json";
/// The member holding the optimizer's slots.
pub(super) const OPTIMIZER_SAFETENSORS: &str = "optimizer.safetensors";

/// `training.json`.
#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct TrainingSpec {
    /// The optimizer's class, hyper-parameters and current learning rate.
    optimizer: Optimizer,
    /// The loss of each output, in output order.
    losses: Vec<OutputLoss>,
    /// The metrics as given to `compile`.
    metrics: Vec<String>,
    /// Optimizer steps taken (Keras's `optimizer.iterations`).
    iterations: u64,
    /// The seed of the latest `fit`'s shuffling and dropout streams.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    fit_seed: Option<u64>,
}

#[derive(Serialize, Deserialize)]
struct OutputLoss {
    /// The output layer's name.
    output: String,
    #[serde(flatten)]
    loss: Loss,
}

/// The name of `slot` of weight `weight` in `optimizer.safetensors`.
fn slot_name(weight: &str, slot: &str) -> String {
    format!("{weight}/{slot}")
}

/// The training members of a compiled model's file (`training.json`, and
/// `optimizer.safetensors` once a training step has run); none for an uncompiled model.
pub(super) fn encode(model: &Model, path: &Path) -> Result<Vec<(&'static str, Vec<u8>, bool)>> {
    let Some(compiled) = model.compiled.as_ref() else {
        return Ok(Vec::new());
    };
    let built = model.built()?;
    let snapshot = built.session.optimizer_state_to_host()?;
    let spec = TrainingSpec {
        optimizer: compiled.optimizer.clone(),
        losses: model
            .output_names()
            .into_iter()
            .zip(&compiled.losses)
            .map(|(output, loss)| OutputLoss {
                output,
                loss: loss.clone(),
            })
            .collect(),
        metrics: compiled.metrics.clone(),
        iterations: snapshot.as_ref().map_or(0, |s| s.iterations),
        fit_seed: compiled.fit_seed,
    };
    let mut members = vec![(TRAINING_JSON, super::to_json(&spec, path)?, true)];
    if let Some(snapshot) = snapshot {
        let slots = compiled.optimizer.kind.slots();
        let mut names = Vec::new();
        let mut tensors = Vec::new();
        let mut seen = HashSet::new();
        for (param, values) in built.graph.params().iter().zip(snapshot.slots) {
            for (slot, value) in slots.iter().zip(values) {
                let name = slot_name(&param.name, slot);
                if !seen.insert(name.clone()) {
                    return Err(io_error(
                        path,
                        format!("cannot save the optimizer state: two weights give the slot name '{name}'"),
                    ));
                }
                names.push(name);
                tensors.push(value);
            }
        }
        members.push((OPTIMIZER_SAFETENSORS, weights::encode(&names, &tensors, path)?, false));
    }
    Ok(members)
}

/// Compiles `model` as `training.json` says and restores the optimizer's state from
/// `optimizer.safetensors`; does nothing for a file without `training.json`.
pub(super) fn restore(model: &mut Model, archive: &mut Archive, path: &Path) -> Result<()> {
    if archive.zip.index_for_name(TRAINING_JSON).is_none() {
        return Ok(());
    }
    let bad = |message: String| io_error(path, format!("{TRAINING_JSON}: {message}"));
    let spec: TrainingSpec = super::read_json(archive, TRAINING_JSON, path)?;
    let outputs = model.output_names();
    if spec.losses.len() != outputs.len() {
        return Err(bad(format!(
            "{} losses for a model with {} outputs",
            spec.losses.len(),
            outputs.len()
        )));
    }
    for (saved, output) in spec.losses.iter().zip(&outputs) {
        if &saved.output != output {
            return Err(bad(format!(
                "a loss for output '{}' where the model has output '{output}'",
                saved.output
            )));
        }
    }
    let losses: Vec<Loss> = spec.losses.into_iter().map(|l| l.loss).collect();
    let metrics: Vec<&str> = spec.metrics.iter().map(String::as_str).collect();
    let optimizer = spec.optimizer;
    model
        .compile(optimizer.clone(), LossArg::from(losses), &metrics)
        .map_err(|e| bad(format!("cannot compile the model as saved: {e}")))?;
    if let Some(compiled) = model.compiled.as_mut() {
        compiled.fit_seed = spec.fit_seed;
    }
    let has_state = archive.zip.index_for_name(OPTIMIZER_SAFETENSORS).is_some();
    if !has_state {
        if spec.iterations > 0 {
            return Err(bad(format!(
                "the optimizer has taken {} steps but the archive has no '{OPTIMIZER_SAFETENSORS}'",
                spec.iterations
            )));
        }
        return Ok(());
    }
    let bytes = super::read_member(archive, OPTIMIZER_SAFETENSORS, u64::MAX, path)?;
    let mut found = weights::decode(&bytes, path, OPTIMIZER_SAFETENSORS)?;
    let slot_names = optimizer.kind.slots();
    let built = model.built()?;
    let mut slots: Vec<Vec<HostTensor>> = Vec::new();
    for param in built.graph.params() {
        let mut these = Vec::new();
        if param.trainable {
            for slot in &slot_names {
                let name = slot_name(&param.name, slot);
                let tensor = found.remove(&name).ok_or_else(|| {
                    io_error(
                        path,
                        format!(
                            "{OPTIMIZER_SAFETENSORS} has no '{name}' ({} keeps {} for every trainable weight)",
                            optimizer.name(),
                            slot_names.join(", ")
                        ),
                    )
                })?;
                if tensor.shape() != param.dims().as_slice() {
                    return Err(io_error(
                        path,
                        format!(
                            "{OPTIMIZER_SAFETENSORS}: '{name}' has shape {:?}; the weight has {:?}",
                            tensor.shape(),
                            param.dims()
                        ),
                    ));
                }
                these.push(tensor);
            }
        }
        slots.push(these);
    }
    if !found.is_empty() {
        let names: Vec<&str> = found.keys().map(String::as_str).collect();
        return Err(io_error(
            path,
            format!(
                "{OPTIMIZER_SAFETENSORS} holds state the model has no place for: {}",
                names.join(", ")
            ),
        ));
    }
    let snapshot = OptimizerSnapshot {
        iterations: spec.iterations,
        slots,
    };
    model
        .built_mut()?
        .session
        .set_optimizer_state(&optimizer.kind, &snapshot)
        .map_err(|e| io_error(path, format!("{OPTIMIZER_SAFETENSORS}: {e}")))
}
