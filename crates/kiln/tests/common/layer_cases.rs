//! The layer golden cases (`tests/keras/goldens/layers/<Class>.json`) as Kiln models: shared
//! by `layer_goldens.rs` (Keras's numbers) and `onnx_export.rs` (the ONNX export).

use super::{f32_tensor, goldens_dir, i32_tensor};
use kiln::ir::{TensorType, ValueId};
use kiln::keras::layer_from_config;
use kiln::prelude::*;
use kiln::{DType, Layer, SymbolicTensor};
use serde_json::Value;

pub fn golden_files() -> Vec<(String, Value)> {
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

pub fn tensor(v: &Value) -> Tensor {
    let ints = v["data"]
        .as_array()
        .is_some_and(|d| d.iter().all(|x| x.is_i64() || x.is_u64()))
        && !v["data"].as_array().is_some_and(|d| d.is_empty());
    if ints { i32_tensor(v) } else { f32_tensor(v) }
}

/// Builds the case's model; returns it with its layers.
pub fn build(case: &Value, inputs: &[Tensor]) -> Result<(Model, Vec<Box<dyn Layer>>), String> {
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
pub const CALL_KWARGS_AS_OPTIONS: &[&str] = &["AdditiveAttention", "Attention", "MultiHeadAttention"];

pub fn with_call_kwargs(class: &str, config: &Value, case: &Value) -> Value {
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
pub fn attention_inputs<'a>(case: &Value, symbolic: &'a [SymbolicTensor]) -> Option<Vec<&'a SymbolicTensor>> {
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
pub fn carried_mask_input(case: &Value, symbolic: &[SymbolicTensor]) -> Result<Option<SymbolicTensor>, String> {
    let (Some(m), false) = (case["mask_inputs"].as_u64(), case["attention"].as_bool() == Some(true)) else {
        return Ok(None);
    };
    let x = case["call_inputs"][0].as_u64().unwrap_or(0) as usize;
    let out = CarryMask.apply_list(&[&symbolic[x], &symbolic[m as usize]]);
    out.map(Some).map_err(|e| e.to_string())
}

/// `[x, mask]` → `x` carrying `mask` (as f32).
#[derive(Clone, Debug)]
pub struct CarryMask;

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

/// The case's inputs, as the dtypes it declares.
pub fn case_inputs(case: &Value) -> Result<Vec<Tensor>, String> {
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
    Ok(inputs)
}

/// Keras's weights in the model's weight order, and for each Keras weight (case order)
/// the index of the model weight it sets.
pub fn case_weights(
    case: &Value,
    model: &Model,
    layers: &[Box<dyn Layer>],
) -> Result<(Vec<Tensor>, Vec<usize>), String> {
    let graph = model.graph().map_err(|e| e.to_string())?;
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

    Ok((values, index_of))
}
