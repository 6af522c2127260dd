//! The Keras training goldens (`tests/keras/goldens/training.json`) on every backend.
//!
//! Each run trains `Sequential([Input((4,)), Dense(8, relu), Dense(3, softmax)])` from
//! Keras's initial weights for five `train_on_batch` steps through Kiln's Keras API on one
//! device, then compares the losses and final weights with Keras's and with ndarray's.

use crate::backends::{Backend, Backends};
use crate::case::Suite;
use crate::run::{Outcome, Phase, Record, apply_known_failures, guard, judge};
use crate::spec::Tolerance;
use kiln::layers::Dense;
use kiln::optimizers::{Adam, Optimizer, RmsProp, Sgd};
use kiln::{Input, Sequential, Tensor};
use serde_json::Value;
use std::time::{Duration, Instant};

/// The golden file, compiled in so the `parity` binary runs from anywhere.
const TRAINING_JSON: &str = include_str!("../../../tests/keras/goldens/training.json");

/// The model's weight names, in `get_weights` order.
const KEYS: [&str; 4] = ["dense/kernel", "dense/bias", "dense_1/kernel", "dense_1/bias"];

fn shape(v: &Value) -> Vec<usize> {
    v["shape"]
        .as_array()
        .map(|a| a.iter().filter_map(Value::as_u64).map(|d| d as usize).collect())
        .unwrap_or_default()
}

/// A `{"shape", "data"}` array as an f32 tensor.
fn f32_tensor(v: &Value) -> Result<Tensor, String> {
    let data = v["data"]
        .as_array()
        .ok_or("a golden array has no data")?
        .iter()
        .map(|x| x.as_f64().map(|x| x as f32).ok_or("a golden value is not a number"))
        .collect::<Result<Vec<f32>, _>>()?;
    Tensor::from_f32(data, shape(v)).map_err(|e| e.to_string())
}

fn optimizer_from_run(run: &Value) -> Result<Optimizer, String> {
    let c = &run["config"];
    let f = |k: &str, d: f64| c[k].as_f64().unwrap_or(d) as f32;
    let b = |k: &str| c[k].as_bool().unwrap_or(false);
    Ok(match run["optimizer"].as_str() {
        Some("sgd") => Sgd::new()
            .learning_rate(f("learning_rate", 0.01))
            .momentum(f("momentum", 0.0))
            .nesterov(b("nesterov"))
            .into(),
        Some("adam") => Adam::new()
            .learning_rate(f("learning_rate", 0.001))
            .beta_1(f("beta_1", 0.9))
            .beta_2(f("beta_2", 0.999))
            .amsgrad(b("amsgrad"))
            .into(),
        Some("rmsprop") => RmsProp::new()
            .learning_rate(f("learning_rate", 0.001))
            .momentum(f("momentum", 0.0))
            .centered(b("centered"))
            .into(),
        other => return Err(format!("unknown optimizer {other:?} in the goldens")),
    })
}

/// A run's label: `adam lr=0.01 amsgrad, mean_squared_error`.
fn label(run: &Value) -> String {
    let mut parts = vec![run["optimizer"].as_str().unwrap_or("?").to_string()];
    if let Some(config) = run["config"].as_object() {
        parts.extend(config.iter().map(|(k, v)| match (k.as_str(), v) {
            ("learning_rate", v) => format!("lr={v}"),
            (k, Value::Bool(true)) => k.to_string(),
            (k, v) => format!("{k}={v}"),
        }));
    }
    format!("{}, {}", parts.join(" "), run["loss"].as_str().unwrap_or("?"))
}

/// The losses of five steps and the final weights, as tensors: `[losses, weights…]`.
type Trained = Result<Vec<Tensor>, String>;

/// Trains one golden run on `backend`.
fn train(golden: &Value, run: &Value, backend: &Backend) -> Trained {
    guard(|| {
        let e = |e: kiln::KilnError| e.to_string();
        let x = f32_tensor(&golden["x"])?;
        let y = f32_tensor(&golden["y"])?;
        let initial = KEYS
            .iter()
            .map(|k| f32_tensor(&golden["initial_weights"][k]))
            .collect::<Result<Vec<_>, _>>()?;
        let mut model = Sequential::new();
        model.add(Input::new([4])).map_err(e)?;
        model.add(Dense::new(8).activation("relu").name("dense")).map_err(e)?;
        model
            .add(Dense::new(3).activation("softmax").name("dense_1"))
            .map_err(e)?;
        model.set_weights(&initial).map_err(e)?;
        model.to_device(&backend.device).map_err(e)?;
        model
            .compile(optimizer_from_run(run)?, run["loss"].as_str().unwrap_or("?"), &[])
            .map_err(e)?;
        let steps = run["losses"].as_array().map_or(0, Vec::len);
        let mut losses = Vec::with_capacity(steps);
        for _ in 0..steps {
            let logs = model.train_on_batch(&x, &y).map_err(e)?;
            losses.push(*logs.get("loss").ok_or("no loss in the logs")? as f32);
        }
        let mut out = vec![Tensor::from_f32(losses, [steps]).map_err(|e| e.to_string())?];
        out.extend(model.get_weights().map_err(e)?);
        Ok(out)
    })
}

/// Keras's losses and final weights of a run, in the order [`train`] returns them.
fn keras(run: &Value) -> Trained {
    let losses = run["losses"]
        .as_array()
        .ok_or("a run has no losses")?
        .iter()
        .map(|v| v.as_f64().map(|x| x as f32).ok_or("a loss is not a number"))
        .collect::<Result<Vec<f32>, _>>()?;
    let n = losses.len();
    let mut out = vec![Tensor::from_f32(losses, [n]).map_err(|e| e.to_string())?];
    for k in KEYS {
        out.push(f32_tensor(&run["final_weights"][k])?);
    }
    Ok(out)
}

/// The golden runs and their labels; an error if the file cannot be read.
pub fn golden_runs() -> Result<(Value, Vec<(String, Value)>), String> {
    let golden: Value = serde_json::from_str(TRAINING_JSON).map_err(|e| format!("training.json: {e}"))?;
    let runs = golden["runs"]
        .as_array()
        .ok_or("training.json has no runs")?
        .iter()
        .map(|r| (label(r), r.clone()))
        .collect();
    Ok((golden, runs))
}

fn record(group: &str, phase: Phase, backend: &Backend, outcome: Outcome) -> Record {
    let mut rec = Record {
        suite: Suite::Goldens,
        group: group.to_string(),
        case: format!("training {group}"),
        phase,
        backend: backend.name(),
        outcome,
        detail: String::new(),
        note: None,
    };
    apply_known_failures(&mut rec, backend.backend());
    rec
}

/// Every golden run on every backend: against Keras, and against ndarray.
pub fn run_goldens(backends: &Backends) -> (Vec<Record>, Vec<(String, Duration)>) {
    run_goldens_matching(backends, |_| true)
}

/// The golden runs whose case name (`training adam lr=0.01, …`) `keep` accepts.
pub fn run_goldens_matching(
    backends: &Backends,
    keep: impl Fn(&str) -> bool,
) -> (Vec<Record>, Vec<(String, Duration)>) {
    let tol = Tolerance::TRAINING;
    let (golden, runs) = match golden_runs() {
        Ok(g) => g,
        Err(message) => {
            let records = backends
                .available
                .iter()
                .map(|b| {
                    let failed = Outcome::Failed {
                        diff: None,
                        message: message.clone(),
                    };
                    record("training.json", Phase::Keras, b, failed)
                })
                .collect();
            return (records, Vec::new());
        }
    };
    let runs: Vec<_> = runs
        .into_iter()
        .filter(|(l, _)| keep(&format!("training {l}")))
        .collect();
    let mut records = Vec::new();
    let mut times = Vec::new();
    let mut reference: Vec<Trained> = Vec::new();
    for backend in &backends.available {
        let start = Instant::now();
        let trained: Vec<Trained> = runs.iter().map(|(_, run)| train(&golden, run, backend)).collect();
        for ((group, run), got) in runs.iter().zip(&trained) {
            let outcome = judge(got.clone(), &keras(run), tol, "Keras");
            records.push(record(group, Phase::Keras, backend, outcome));
        }
        if backend.is_reference() {
            reference = trained;
        } else {
            for ((group, _), (got, want)) in runs.iter().zip(trained.into_iter().zip(&reference)) {
                records.push(record(
                    group,
                    Phase::Training,
                    backend,
                    judge(got, want, tol, "ndarray"),
                ));
            }
        }
        times.push((backend.name(), start.elapsed()));
    }
    (records, times)
}
