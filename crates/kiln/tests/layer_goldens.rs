//! Every layer of the catalogue against real Keras 3 (see `tests/keras/README.md`,
//! `make_layer_goldens.py`): for each golden case the layer (or short stack of layers) is
//! built from the Keras config, given Keras's weights, and its outputs, output shapes,
//! parameter counts, gradients of `sum(outputs * upstream) + added losses` with respect to
//! inputs and weights, regularization losses and updated state must match.

mod common;

use common::*;
use kiln::ir::{Graph, OptimizerKind, ReduceOp, TensorType, ValueId};
use kiln::keras::layer_from_config;
use kiln::prelude::*;
use kiln::{DType, Layer, SymbolicTensor};
use kiln_burn::{Plan, RunMode, Session};
use serde_json::Value;
use std::collections::BTreeSet;

/// Absolute tolerance for outputs and gradients.
const TOL: f32 = 1e-5;
/// Recurrent layers over ≥ 10 steps.
const RECURRENT_TOL: f32 = 1e-4;
const RECURRENT: &[&str] = &["SimpleRNN", "LSTM", "GRU", "Bidirectional"];

fn golden_files() -> Vec<(String, Value)> {
    let dir = goldens_dir().join("layers");
    let mut files: Vec<_> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .filter_map(|e| e.ok())
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|x| x == "json"))
        .collect();
    files.sort();
    files
        .into_iter()
        .filter_map(|p| {
            let class = p.file_stem()?.to_str()?.to_string();
            let v: Value = serde_json::from_str(&std::fs::read_to_string(&p).ok()?).ok()?;
            v.get("cases")?;
            Some((class, v))
        })
        .collect()
}

fn tensor(v: &Value) -> Tensor {
    let ints = v["data"]
        .as_array()
        .is_some_and(|d| d.iter().all(|x| x.is_i64() || x.is_u64()))
        && !v["data"].as_array().is_some_and(|d| d.is_empty());
    if ints { i32_tensor(v) } else { f32_tensor(v) }
}

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

/// Builds the case's model; returns it with its layers.
fn build(case: &Value, inputs: &[Tensor]) -> Result<(Model, Vec<Box<dyn Layer>>), String> {
    let symbolic: Vec<SymbolicTensor> = inputs
        .iter()
        .map(|t| Input::with_dtype(t.shape()[1..].iter().copied(), t.dtype()))
        .collect();
    let mut layers = Vec::new();
    for l in case["layers"].as_array().ok_or("no layers")? {
        let class = l["class"].as_str().ok_or("no class")?;
        let config = with_call_kwargs(class, &l["config"], case);
        layers.push(layer_from_config(class, &config).map_err(|e| e.to_string())?);
    }
    let refs: Vec<&SymbolicTensor> = symbolic.iter().collect();
    let carried = carried_mask_input(case, &symbolic)?;
    let first_args = match &carried {
        Some(x) => vec![x],
        None => attention_inputs(case, &symbolic).unwrap_or_else(|| refs.clone()),
    };
    let mut current: Vec<SymbolicTensor> = layers[0].apply_all(&first_args).map_err(|e| e.to_string())?;
    for layer in &layers[1..] {
        current = layer.apply_all(&[&current[0]]).map_err(|e| e.to_string())?;
    }
    let outs: Vec<&SymbolicTensor> = current.iter().collect();
    let model = Model::new(&refs, &outs).map_err(|e| e.to_string())?;
    Ok((model, layers))
}

// --- Attention layers (MultiHeadAttention, Attention, AdditiveAttention) ---------------

/// Classes whose Keras call arguments (`use_causal_mask`, `return_attention_scores`) are
/// layer options in Kiln: the case's `call_kwargs` are merged into the layer's config.
const CALL_KWARGS_AS_OPTIONS: &[&str] = &["AdditiveAttention", "Attention", "MultiHeadAttention"];

fn with_call_kwargs(class: &str, config: &Value, case: &Value) -> Value {
    let mut config = config.clone();
    if CALL_KWARGS_AS_OPTIONS.contains(&class)
        && let (Some(c), Some(kwargs)) = (config.as_object_mut(), case["call_kwargs"].as_object())
    {
        c.extend(kwargs.iter().map(|(k, v)| (k.clone(), v.clone())));
    }
    config
}

/// Keras calls an `"attention": true` layer as `layer(*[inputs[i] for i in call_inputs],
/// attention_mask=inputs[mask_inputs])`; Kiln's `MultiHeadAttention` takes one list
/// `[query, value, key, attention_mask]`, the value standing in for a missing key.
fn attention_inputs<'a>(case: &Value, symbolic: &'a [SymbolicTensor]) -> Option<Vec<&'a SymbolicTensor>> {
    if case["attention"].as_bool() != Some(true) {
        return None;
    }
    let input = |v: &Value| v.as_u64().and_then(|i| symbolic.get(i as usize));
    let mut list: Vec<&SymbolicTensor> = case["call_inputs"].as_array()?.iter().filter_map(input).collect();
    if let Some(mask) = input(&case["mask_inputs"]) {
        if list.len() == 2 {
            list.push(list[1]);
        }
        list.push(mask);
    }
    Some(list)
}

/// A golden's explicit `mask=` call argument (`"mask_inputs"` without `"attention"`):
/// Kiln layers take masks as Keras's `_keras_mask`, so input `mask_inputs` is attached to
/// input `call_inputs[0]` by the test-only [`CarryMask`] layer.
fn carried_mask_input(case: &Value, symbolic: &[SymbolicTensor]) -> Result<Option<SymbolicTensor>, String> {
    let (Some(m), false) = (case["mask_inputs"].as_u64(), case["attention"].as_bool() == Some(true)) else {
        return Ok(None);
    };
    let x = case["call_inputs"][0].as_u64().unwrap_or(0) as usize;
    let out = CarryMask.apply_list(&[&symbolic[x], &symbolic[m as usize]]);
    out.map(Some).map_err(|e| e.to_string())
}

/// `[x, mask]` → `x` carrying `mask` (as f32).
#[derive(Clone, Debug)]
struct CarryMask;

impl Layer for CarryMask {
    fn name(&self) -> &str {
        "carry_mask"
    }
    fn class_name(&self) -> &'static str {
        "CarryMask"
    }
    fn compute_output_shape(&self, inputs: &[TensorType]) -> kiln::Result<Vec<TensorType>> {
        Ok(vec![inputs[0].clone()])
    }
    fn emit(&self, _ctx: &mut kiln::EmitContext, inputs: &[ValueId]) -> kiln::Result<Vec<ValueId>> {
        Ok(vec![inputs[0]])
    }
    fn config(&self) -> Value {
        Value::Null
    }
    fn takes_list(&self) -> bool {
        true
    }
    fn compute_output_masks(
        &self,
        inputs: &[TensorType],
        _masks: &[Option<kiln::ir::Shape>],
    ) -> kiln::Result<Vec<Option<kiln::ir::Shape>>> {
        Ok(vec![Some(inputs[1].shape.clone())])
    }
    fn emit_masked(
        &self,
        ctx: &mut kiln::EmitContext,
        inputs: &[ValueId],
        _masks: &[Option<ValueId>],
    ) -> kiln::Result<(Vec<ValueId>, Vec<Option<ValueId>>)> {
        let mask = ctx.push(kiln::ir::Op::Cast { to: DType::F32 }, &[inputs[1]])?;
        Ok((vec![inputs[0]], vec![Some(mask)]))
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
    let dtypes = case["input_dtypes"].as_array().cloned().unwrap_or_default();
    let inputs: Vec<Tensor> = case["inputs"]
        .as_array()
        .ok_or("no inputs")?
        .iter()
        .enumerate()
        .map(|(i, v)| match dtypes.get(i).and_then(Value::as_str) {
            Some(d) if d.starts_with("int") => i32_tensor(v),
            Some(_) => f32_tensor(v),
            None => tensor(v),
        })
        .collect();
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
    let mut values = Vec::with_capacity(graph.params().len());
    let mut index_of = Vec::new();
    for w in &weights {
        let layer = &layers[w["layer"].as_u64().unwrap_or(0) as usize];
        let path = w["path"].as_str().unwrap_or("");
        let rest = path
            .split_once('/')
            .map_or(w["name"].as_str().unwrap_or(""), |(_, r)| r);
        let ours = format!("{}/{rest}", layer.name());
        let (i, _) = graph.param_by_name(&ours).ok_or_else(|| {
            format!(
                "no weight '{ours}' for Keras weight '{path}' (have {:?})",
                model.weight_names()
            )
        })?;
        index_of.push(i.index());
    }
    if index_of.len() != graph.params().len() {
        return Err(format!(
            "Keras has {} weights, Kiln {:?}",
            index_of.len(),
            model.weight_names()
        ));
    }
    values.resize(graph.params().len(), Tensor::from_f32(vec![], vec![0]).unwrap());
    for (w, &i) in weights.iter().zip(&index_of) {
        values[i] = f32_tensor(&w["value"]);
    }

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
