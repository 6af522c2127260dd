//! Every layer of the catalogue against real Keras 3 (see `tests/keras/README.md`,
//! `make_layer_goldens.py`): for each golden case the layer (or short stack of layers) is
//! built from the Keras config, given Keras's weights, and its outputs, output shapes,
//! parameter counts, gradients of `sum(outputs * upstream) + added losses` with respect to
//! inputs and weights, regularization losses and updated state must match.

use crate::common;

use common::layer_cases::*;
use common::*;
use kiln::ir::{Graph, OptimizerKind, ReduceOp, TensorType, ValueId};
use kiln::prelude::*;
use kiln_burn::{Plan, RunMode, Session};
use serde_json::Value;
use std::collections::BTreeSet;

/// Absolute tolerance for outputs and gradients.
const TOL: f32 = 1e-5;
/// Recurrent layers over ≥ 10 steps.
const RECURRENT_TOL: f32 = 1e-4;
const RECURRENT: &[&str] = &["SimpleRNN", "LSTM", "GRU", "Bidirectional"];

struct Outcome {
    worst: f32,
    failures: Vec<String>,
}

impl Outcome {
    fn compare(&mut self, what: &str, got: &Tensor, want: &Tensor, tol: f32) {
        if got.shape() != want.shape() {
            self.failures
                .push(format!("{what}: shape {:?}, Keras {:?}", got.shape(), want.shape()));
            return;
        }
        let d = max_abs_diff(got, want);
        self.worst = self.worst.max(d);
        if d > tol || d.is_nan() {
            self.failures
                .push(format!("{what}: max |Kiln − Keras| = {d:e} > {tol:e}"));
        }
    }
}

/// Keras 3.15 declares `MultiHeadAttention`'s attention scores `(batch, heads, T, T)` (its
/// `compute_output_spec` uses the query length twice) but returns `(batch, heads, T, S)`;
/// Kiln declares what is returned, so that output's shape is read from the returned array.
fn returned_scores_shape(class: &str, case: &Value, mut want: Vec<String>) -> Vec<String> {
    if class == "MultiHeadAttention"
        && want.len() == 2
        && let Some(dims) = case["outputs"][1]["shape"].as_array()
    {
        let rest: Vec<String> = dims.iter().skip(1).map(|d| d.to_string()).collect();
        want[1] = format!("(None, {})", rest.join(", "));
    }
    want
}

/// The model graph plus `loss = Σ sum(out_i * r_i) + Σ added losses`, as the first output,
/// then each added loss.
fn loss_graph(model_graph: &Graph) -> Graph {
    let mut g = model_graph.clone();
    let outs = g.outputs().to_vec();
    let mut total: Option<ValueId> = None;
    let sum = |g: &mut Graph, v: ValueId| {
        g.push(
            kiln::ir::Op::Reduce {
                kind: ReduceOp::Sum,
                axes: vec![],
                keepdims: false,
            },
            &[v],
            "loss",
        )
        .unwrap()
    };
    let add = |g: &mut Graph, a: Option<ValueId>, b: ValueId| match a {
        Some(a) => g
            .push(
                kiln::ir::Op::Binary {
                    kind: kiln::ir::BinaryOp::Add,
                },
                &[a, b],
                "loss",
            )
            .unwrap(),
        None => b,
    };
    for (i, &o) in outs.iter().enumerate() {
        let ty = g.value_type(o).unwrap().clone();
        let r = g.add_input(format!("upstream_{i}"), TensorType::f32(ty.shape));
        let p = g
            .push(
                kiln::ir::Op::Binary {
                    kind: kiln::ir::BinaryOp::Mul,
                },
                &[o, r],
                "loss",
            )
            .unwrap();
        let s = sum(&mut g, p);
        total = Some(add(&mut g, total, s));
    }
    let losses = g.losses().to_vec();
    for &l in &losses {
        total = Some(add(&mut g, total, l));
    }
    let mut outputs = vec![total.expect("at least one output")];
    outputs.extend(losses);
    g.set_outputs(outputs);
    g
}

fn check_case(class: &str, case: &Value) -> Result<Outcome, String> {
    let tol = if RECURRENT
        .iter()
        .any(|r| case["layers"].to_string().contains(&format!("\"{r}\"")))
    {
        RECURRENT_TOL
    } else {
        TOL
    };
    let mut o = Outcome {
        worst: 0.0,
        failures: Vec::new(),
    };
    let inputs = case_inputs(case)?;
    let (model, layers) = build(case, &inputs)?;

    // Shapes and parameter counts, as `summary` shows them.
    let shapes: Vec<String> = model
        .graph()
        .map_err(|e| e.to_string())?
        .outputs()
        .iter()
        .map(|&v| model.graph().unwrap().value_type(v).unwrap().shape.keras_string())
        .collect();
    let want_shapes: Vec<String> = case["output_shapes"]
        .as_array()
        .map(|a| a.iter().filter_map(|s| s.as_str().map(str::to_string)).collect())
        .unwrap_or_default();
    let want_shapes = returned_scores_shape(class, case, want_shapes);
    if !want_shapes.is_empty() && shapes != want_shapes {
        o.failures
            .push(format!("output shapes {shapes:?}, Keras {want_shapes:?}"));
    }
    let graph = model.graph().map_err(|e| e.to_string())?.clone();
    let trainable: usize = graph.params().iter().filter(|p| p.trainable).map(|p| p.size()).sum();
    let total: usize = graph.params().iter().map(|p| p.size()).sum();
    let want_t = case["params"]["trainable"].as_u64().unwrap_or(0) as usize;
    let want_n = case["params"]["non_trainable"].as_u64().unwrap_or(0) as usize;
    if (trainable, total - trainable) != (want_t, want_n) {
        o.failures.push(format!(
            "params trainable/non-trainable {trainable}/{}, Keras {want_t}/{want_n}",
            total - trainable
        ));
    }

    // Keras's weights, matched by path: `<layer>/<rest>` in Keras is `<our layer name>/<rest>`.
    let weights = case["weights"].as_array().cloned().unwrap_or_default();
    let (values, index_of) = case_weights(case, &model, &layers)?;

    let device = Device::default_device().map_err(|e| e.to_string())?;
    let engine = device.engine().map_err(|e| e.to_string())?;
    let lg = loss_graph(&graph);
    let plan = Plan::compile(&lg).map_err(|e| e.to_string())?;
    let session = Session::new(&engine, &lg, &values).map_err(|e| e.to_string())?;
    let training = case["training"].as_bool().unwrap_or(false);
    let mode = RunMode { training, seed: 1 };

    // Outputs (the model's plan) and gradients (the loss graph).
    let model_plan = Plan::compile(&graph).map_err(|e| e.to_string())?;
    let outs = session.run(&model_plan, &inputs, mode).map_err(|e| e.to_string())?;
    for (i, (got, want)) in outs
        .iter()
        .zip(case["outputs"].as_array().ok_or("no outputs")?)
        .enumerate()
    {
        o.compare(&format!("output {i}"), got, &f32_tensor(want), tol);
    }
    let mut feed = inputs.clone();
    feed.extend(case["upstream"].as_array().ok_or("no upstream")?.iter().map(f32_tensor));
    let (loss_outs, input_grads, param_grads) = session.gradients(&plan, &feed, mode).map_err(|e| e.to_string())?;
    if let Some(losses) = case["losses"].as_array() {
        let want: Vec<f32> = losses.iter().filter_map(|l| l.as_f64().map(|x| x as f32)).collect();
        let got: Vec<f32> = loss_outs[1..].iter().map(|t| t.to_f32()[0]).collect();
        let (gs, ws): (f32, f32) = (got.iter().sum(), want.iter().sum());
        if (gs - ws).abs() > tol * ws.abs().max(1.0) {
            o.failures.push(format!("added losses {got:?}, Keras {want:?}"));
        }
    }
    for (i, want) in case["grad_inputs"]
        .as_array()
        .cloned()
        .unwrap_or_default()
        .iter()
        .enumerate()
    {
        if want.is_null() {
            continue;
        }
        match input_grads.get(i).cloned().flatten() {
            Some(got) => o.compare(&format!("d/d input {i}"), &got, &f32_tensor(want), tol),
            None => o.failures.push(format!("no gradient for input {i}")),
        }
    }
    for (k, want) in case["grad_weights"]
        .as_array()
        .cloned()
        .unwrap_or_default()
        .iter()
        .enumerate()
    {
        if want.is_null() {
            continue;
        }
        let what = format!("d/d {}", weights[k]["path"].as_str().unwrap_or("?"));
        match param_grads.get(index_of[k]).cloned().flatten() {
            Some(got) => o.compare(&what, &got, &f32_tensor(want), tol),
            None => o.failures.push(format!("{what}: no gradient")),
        }
    }
    // State after a training-mode forward pass: one training step at learning rate 0
    // applies the state updates and leaves trainable weights alone.
    if let Some(after) = case["weights_after"].as_array() {
        let train_plan = Plan::compile_training(&lg).map_err(|e| e.to_string())?;
        let mut s = Session::new(&engine, &lg, &values).map_err(|e| e.to_string())?;
        let sgd = OptimizerKind::Sgd {
            momentum: 0.0,
            nesterov: false,
        };
        s.train_step(&train_plan, &feed, &sgd, 0.0, mode)
            .map_err(|e| e.to_string())?;
        let now = s.params_to_host().map_err(|e| e.to_string())?;
        for (k, want) in after.iter().enumerate() {
            if !want.is_null() {
                let what = format!("{} after training", weights[k]["path"].as_str().unwrap_or("?"));
                o.compare(&what, &now[index_of[k]], &f32_tensor(want), tol);
            }
        }
    }
    Ok(o)
}

#[test]
fn every_catalogue_layer_matches_keras() {
    let catalogue: BTreeSet<&str> = kiln::layers::catalogue().into_iter().collect();
    let mut failures = Vec::new();
    let mut checked = 0;
    let mut report = Vec::new();
    for (class, file) in golden_files() {
        if !catalogue.contains(class.as_str()) {
            failures.push(format!(
                "{class}: Keras goldens exist but the catalogue has no such layer"
            ));
            continue;
        }
        let mut worst = 0.0f32;
        for case in file["cases"].as_array().unwrap() {
            let name = case["name"].as_str().unwrap_or("?").to_string();
            kiln::clear_session();
            match check_case(&class, case) {
                Ok(o) => {
                    worst = worst.max(o.worst);
                    failures.extend(o.failures.into_iter().map(|f| format!("{class} {name}: {f}")));
                }
                Err(e) => failures.push(format!("{class} {name}: {e}")),
            }
            checked += 1;
        }
        report.push(format!("{class}: worst {worst:.1e}"));
    }
    println!("{}", report.join("\n"));
    assert!(checked > 0, "no golden case was checked");
    assert!(
        failures.is_empty(),
        "{} failure(s):\n{}",
        failures.len(),
        failures.join("\n")
    );
}
