//! Keras model configs to Kiln models: Sequential, and Functional graphs with their
//! `inbound_nodes` in Keras 3's or Keras 2's format.

use super::entry::{Entry, batch_shape, build_layer, input_layer, input_tensor, layer_error, read_entry};
use super::nodes::{Arg, Call, TensorRef, history, parse_node};
use crate::error::Result;
use crate::layer::Layer;
use crate::model::{Apply, Model, Sequential, SequentialEntry, SymbolicTensor};
use kiln_ir::DType;
use serde_json::{Map, Value};
use std::collections::HashMap;

/// Keras call arguments that Kiln takes as layer options (they are read from the layer's
/// config by its `FromKeras`).
pub(crate) const CALL_OPTIONS: &[&str] = &["use_causal_mask", "return_attention_scores"];

/// Layers whose Keras call takes separate query, value and key arguments.
const ATTENTION_SLOTS: &[&str] = &["query", "value", "key", "attention_mask"];

pub(crate) fn import(config: &Value) -> Result<Model> {
    let class = config
        .get("class_name")
        .and_then(Value::as_str)
        .ok_or_else(|| layer_error("Model", "", "the model config has no class_name"))?;
    let inner = config
        .get("config")
        .and_then(Value::as_object)
        .ok_or_else(|| layer_error(class, "", "the model config has no `config` object"))?;
    let name = inner.get("name").and_then(Value::as_str).unwrap_or("").to_string();
    if let Some(r) = config.get("registered_name").and_then(Value::as_str)
        && r != class
    {
        return Err(layer_error(
            class,
            &name,
            format!("a custom model class registered as '{r}' is not supported"),
        ));
    }
    if let Some(m) = config.get("module").and_then(Value::as_str)
        && m != "keras"
        && !m.starts_with("keras.")
    {
        return Err(layer_error(
            class,
            &name,
            format!("the model class comes from module '{m}', not from Keras"),
        ));
    }
    super::entry::check_dtype_policy(class, &name, inner.get("dtype"))?;
    if inner.get("trainable").and_then(Value::as_bool) == Some(false) {
        return Err(layer_error(
            class,
            &name,
            "a model-wide trainable=false is not supported; set trainable on its layers",
        ));
    }
    let layers = inner
        .get("layers")
        .and_then(Value::as_array)
        .ok_or_else(|| layer_error(class, &name, "the model config has no `layers` list"))?;
    let entries = layers
        .iter()
        .enumerate()
        .map(|(i, l)| read_entry(l, i))
        .collect::<Result<Vec<_>>>()?;
    let model = match class {
        "Sequential" => sequential(inner, &entries)?,
        "Functional" | "Model" => functional(inner, &name, &entries)?,
        other => {
            return Err(layer_error(
                other,
                &name,
                "not a Sequential or Functional model: a subclassed model's config cannot be rebuilt without its code",
            ));
        }
    };
    Ok(if name.is_empty() { model } else { model.with_name(&name) })
}

/// A Sequential model: an optional `InputLayer` first, then one layer after the other.
fn sequential(inner: &Map<String, Value>, entries: &[Entry]) -> Result<Model> {
    let mut model = Sequential::new();
    let (input, rest) = match entries.split_first() {
        Some((first, rest)) if first.class == "InputLayer" => (Some(input_layer(first)?), rest),
        _ => (None, entries),
    };
    let input = match input {
        Some(i) => Some(i),
        None => implied_input(inner, rest)?,
    };
    if let Some((name, dims, dtype)) = input {
        model.add(SequentialEntry::Input(input_tensor(&name, &dims, dtype)))?;
    }
    for e in rest {
        if e.class == "InputLayer" || e.op {
            return Err(layer_error(
                &e.class,
                &e.name,
                "a Sequential model's layers after the first cannot be inputs or operations",
            ));
        }
        model.add(SequentialEntry::Layer(build_layer(e)?))?;
    }
    Ok(model)
}

/// The input of a Sequential model without an `InputLayer` entry: from the model's
/// `build_input_shape`, or the first layer's `batch_input_shape` / `batch_shape` /
/// `build_config.input_shape`. An `Embedding` first takes int32 indices.
fn implied_input(inner: &Map<String, Value>, rest: &[Entry]) -> Result<Option<(String, Vec<kiln_ir::Dim>, DType)>> {
    let Some(first) = rest.first() else { return Ok(None) };
    let candidates = [
        ("build_input_shape", inner.get("build_input_shape")),
        ("batch_input_shape", first.config.get("batch_input_shape")),
        ("batch_shape", first.config.get("batch_shape")),
        (
            "build_config.input_shape",
            first.raw.get("build_config").and_then(|b| b.get("input_shape")),
        ),
    ];
    let Some((key, shape)) = candidates
        .into_iter()
        .find_map(|(k, v)| v.filter(|v| v.is_array()).map(|v| (k, v)))
    else {
        return Ok(None);
    };
    let dims = batch_shape(&first.class, &first.name, key, shape)?;
    let dtype = if first.class == "Embedding" {
        DType::I32
    } else {
        DType::F32
    };
    Ok(Some((crate::names::unique_name("input_layer"), dims, dtype)))
}

/// What a layer call (or input) produced: a tensor, or the output of a Keras operation
/// (entry, call) that only computes a mask.
#[derive(Clone)]
enum Made {
    Tensor(SymbolicTensor),
    Op { entry: usize, call: usize },
}

/// A Functional graph: every layer's calls, made once their inputs are made (Keras's
/// order: layer by layer, a shared layer's calls in their order, re-tried until done).
fn functional(inner: &Map<String, Value>, model_name: &str, entries: &[Entry]) -> Result<Model> {
    let mut index: HashMap<&str, usize> = HashMap::new();
    for (i, e) in entries.iter().enumerate() {
        if index.insert(e.name.as_str(), i).is_some() {
            return Err(layer_error(&e.class, &e.name, "two layers of the model have this name"));
        }
    }
    let calls: Vec<Vec<Call>> = entries
        .iter()
        .map(|e| {
            let nodes = match e.raw.get("inbound_nodes") {
                None | Some(Value::Null) => return Ok(Vec::new()),
                Some(Value::Array(n)) => n,
                Some(other) => {
                    return Err(layer_error(
                        &e.class,
                        &e.name,
                        format!("`inbound_nodes` must be a list, received {other}"),
                    ));
                }
            };
            nodes
                .iter()
                .map(|n| parse_node(n).map_err(|m| layer_error(&e.class, &e.name, format!("inbound node: {m}"))))
                .collect()
        })
        .collect::<Result<_>>()?;
    let mut layers: Vec<Option<Box<dyn Layer>>> = Vec::new();
    let mut made: HashMap<(usize, usize), Vec<Made>> = HashMap::new();
    let mut done = vec![0usize; entries.len()];
    for (i, e) in entries.iter().enumerate() {
        if e.class == "InputLayer" {
            let (name, dims, dtype) = input_layer(e)?;
            made.insert((i, 0), vec![Made::Tensor(input_tensor(&name, &dims, dtype))]);
            done[i] = calls[i].len();
            layers.push(None);
        } else if e.op {
            layers.push(None);
        } else {
            let mut e = e.clone();
            merge_call_options(&mut e, &calls[i])?;
            layers.push(Some(build_layer(&e)?));
        }
    }
    // Every reference must name a layer of the model.
    for (i, e) in entries.iter().enumerate() {
        for t in calls[i].iter().flat_map(Call::refs) {
            if !index.contains_key(t.layer.as_str()) {
                return Err(layer_error(
                    &e.class,
                    &e.name,
                    format!(
                        "an inbound node refers to layer '{}', which the model does not have",
                        t.layer
                    ),
                ));
            }
        }
    }
    let ready = |made: &HashMap<(usize, usize), Vec<Made>>, t: &TensorRef| {
        made.get(&(index[t.layer.as_str()], t.node))
            .is_some_and(|outs| t.index < outs.len())
    };
    loop {
        let mut progress = false;
        for (i, e) in entries.iter().enumerate() {
            while done[i] < calls[i].len() {
                let call = &calls[i][done[i]];
                if !call.refs().iter().all(|t| ready(&made, t)) {
                    break;
                }
                let resolve = |t: &TensorRef| made[&(index[t.layer.as_str()], t.node)][t.index].clone();
                let outs = if e.op {
                    vec![Made::Op {
                        entry: i,
                        call: done[i],
                    }]
                } else {
                    let layer = layers[i].as_ref().expect("layers are built for non-op entries");
                    let ctx = CallContext {
                        entries,
                        calls: &calls,
                        index: &index,
                        made: &made,
                    };
                    ctx.apply(e, layer, call, &resolve)?
                        .into_iter()
                        .map(Made::Tensor)
                        .collect()
                };
                made.insert((i, done[i]), outs);
                done[i] += 1;
                progress = true;
            }
        }
        if done.iter().zip(&calls).all(|(d, c)| *d == c.len()) {
            break;
        }
        if !progress {
            let (i, e) = entries
                .iter()
                .enumerate()
                .find(|(i, _)| done[*i] < calls[*i].len())
                .expect("some call is not done");
            let missing: Vec<String> = calls[i][done[i]]
                .refs()
                .into_iter()
                .filter(|t| !ready(&made, t))
                .map(|t| format!("['{}', {}, {}]", t.layer, t.node, t.index))
                .collect();
            return Err(layer_error(
                &e.class,
                &e.name,
                format!(
                    "call {} needs {} which no layer call makes (the graph has a loop or refers to a missing call)",
                    done[i],
                    missing.join(", ")
                ),
            ));
        }
    }
    let ends = |key: &str| -> Result<Vec<SymbolicTensor>> {
        let v = inner
            .get(key)
            .ok_or_else(|| layer_error("Functional", model_name, format!("the model config has no `{key}`")))?;
        let refs: Vec<TensorRef> = match history(v) {
            Some((t, _)) => vec![t],
            None => v
                .as_array()
                .and_then(|a| a.iter().map(|x| history(x).map(|h| h.0)).collect::<Option<Vec<_>>>())
                .ok_or_else(|| {
                    layer_error(
                        "Functional",
                        model_name,
                        format!("`{key}` must be a list of [layer, node, tensor] (dicts of inputs or outputs are not supported), received {v}"),
                    )
                })?,
        };
        refs.iter()
            .map(|t| {
                let made_it = index
                    .get(t.layer.as_str())
                    .and_then(|i| made.get(&(*i, t.node)))
                    .and_then(|outs| outs.get(t.index));
                match made_it {
                    Some(Made::Tensor(s)) => Ok(s.clone()),
                    Some(Made::Op { .. }) => Err(layer_error(
                        "Functional",
                        model_name,
                        format!(
                            "`{key}` names the Keras operation '{}'; Kiln reads only layers",
                            t.layer
                        ),
                    )),
                    None => Err(layer_error(
                        "Functional",
                        model_name,
                        format!(
                            "`{key}` names ['{}', {}, {}], which no layer call makes",
                            t.layer, t.node, t.index
                        ),
                    )),
                }
            })
            .collect()
    };
    let inputs = ends("input_layers")?;
    let outputs = ends("output_layers")?;
    Model::new(&inputs.iter().collect::<Vec<_>>(), &outputs.iter().collect::<Vec<_>>())
}

/// Moves Keras call arguments that Kiln takes as layer options (`use_causal_mask`,
/// `return_attention_scores`) into the layer's config; every call must agree.
fn merge_call_options(e: &mut Entry, calls: &[Call]) -> Result<()> {
    for key in CALL_OPTIONS {
        let mut seen: Option<bool> = None;
        for call in calls {
            let Some((_, arg)) = call.kwargs.iter().find(|(k, _)| k == key) else {
                if seen == Some(true) {
                    return Err(layer_error(&e.class, &e.name, format!("calls differ in `{key}`")));
                }
                seen = Some(false);
                continue;
            };
            let v = match arg {
                Arg::Const(Value::Bool(b)) => *b,
                Arg::Const(Value::Null) => false,
                other => {
                    return Err(layer_error(
                        &e.class,
                        &e.name,
                        format!("call argument `{key}` must be true or false, received {other:?}"),
                    ));
                }
            };
            if seen.is_some_and(|s| s != v) {
                return Err(layer_error(
                    &e.class,
                    &e.name,
                    format!("calls differ in `{key}`; Kiln takes it as a layer option"),
                ));
            }
            seen = Some(v);
        }
        if seen == Some(true) {
            e.config.insert((*key).to_string(), Value::Bool(true));
        }
    }
    Ok(())
}

struct CallContext<'a> {
    entries: &'a [Entry],
    calls: &'a [Vec<Call>],
    index: &'a HashMap<&'a str, usize>,
    made: &'a HashMap<(usize, usize), Vec<Made>>,
}

impl CallContext<'_> {
    /// Applies `layer` as `call` says; returns every output.
    // `Apply` is implemented for `Box<dyn Layer>` (a sized, cloneable layer), not `dyn Layer`.
    #[allow(clippy::borrowed_box)]
    fn apply(
        &self,
        e: &Entry,
        layer: &Box<dyn Layer>,
        call: &Call,
        resolve: &dyn Fn(&TensorRef) -> Made,
    ) -> Result<Vec<SymbolicTensor>> {
        let fail = |m: String| layer_error(&e.class, &e.name, m);
        let tensor = |a: &Arg, what: &str| -> Result<SymbolicTensor> {
            match a {
                Arg::Tensor(t) => match resolve(t) {
                    Made::Tensor(s) => Ok(s),
                    Made::Op { entry, .. } => Err(fail(format!(
                        "its {what} is the Keras operation '{}' ({}); Kiln reads only layers, not operations written in Python",
                        self.entries[entry].name, self.entries[entry].class
                    ))),
                },
                other => Err(fail(format!("its {what} must be a tensor, received {other:?}"))),
            }
        };
        let mut kwargs: Vec<(String, Arg)> = call.kwargs.clone();
        let mut take = |key: &str| kwargs.iter().position(|(k, _)| k == key).map(|p| kwargs.remove(p).1);
        // Flags that Kiln sets elsewhere.
        for key in CALL_OPTIONS {
            take(key);
        }
        match take("training") {
            None | Some(Arg::Const(Value::Null | Value::Bool(false))) => {}
            Some(other) => {
                return Err(fail(format!(
                    "call argument `training` = {other:?} is not supported: Kiln runs layers in training mode in fit and in inference mode otherwise"
                )));
            }
        }
        // The tensors the layer takes, and masks given beside them.
        let mut inputs = Vec::new();
        let mut masks: Vec<(usize, Arg)> = Vec::new();
        if e.class == "MultiHeadAttention" {
            let mut slots: Vec<Option<Arg>> = vec![None; ATTENTION_SLOTS.len()];
            if call.args.len() > ATTENTION_SLOTS.len() {
                return Err(fail(format!(
                    "{} positional arguments; expected at most 4",
                    call.args.len()
                )));
            }
            for (slot, a) in slots.iter_mut().zip(&call.args) {
                *slot = Some(a.clone());
            }
            for (slot, key) in slots.iter_mut().zip(ATTENTION_SLOTS) {
                if let Some(a) = take(key) {
                    *slot = Some(a);
                }
            }
            let is_tensor = |a: &Option<Arg>| matches!(a, Some(Arg::Tensor(_)));
            let [q, v, k, m] = [0, 1, 2, 3].map(|i| slots[i].clone());
            let q = q.ok_or_else(|| fail("no query".into()))?;
            let v = v.ok_or_else(|| fail("no value".into()))?;
            inputs.push(tensor(&q, "query")?);
            inputs.push(tensor(&v, "value")?);
            if is_tensor(&k) || is_tensor(&m) {
                let key = if is_tensor(&k) { k.as_ref() } else { Some(&v) };
                inputs.push(tensor(key.expect("checked"), "key")?);
            }
            if let Some(m) = m.filter(|m| matches!(m, Arg::Tensor(_))) {
                inputs.push(tensor(&m, "attention_mask")?);
            }
            for (i, key) in ["query_mask", "value_mask", "key_mask"].into_iter().enumerate() {
                if let Some(a) = take(key) {
                    masks.push((i.min(inputs.len() - 1), a));
                }
            }
        } else if layer.takes_list() {
            match call.args.as_slice() {
                [Arg::List(items)] => {
                    for (i, a) in items.iter().enumerate() {
                        inputs.push(tensor(a, &format!("input {i}"))?);
                    }
                }
                [a @ Arg::Tensor(_)] => inputs.push(tensor(a, "input")?),
                other => {
                    return Err(fail(format!(
                        "expected one list of input tensors, received {} arguments",
                        other.len()
                    )));
                }
            }
            if let Some(m) = take("mask") {
                match m {
                    Arg::List(items) => masks.extend(items.into_iter().enumerate()),
                    other => masks.push((0, other)),
                }
            }
        } else {
            match call.args.as_slice() {
                [a] => inputs.push(tensor(a, "input")?),
                other => {
                    return Err(fail(format!(
                        "expected one input tensor, received {} positional arguments",
                        other.len()
                    )));
                }
            }
            if let Some(m) = take("mask") {
                masks.push((0, m));
            }
        }
        if !kwargs.is_empty() {
            let names: Vec<&str> = kwargs.iter().map(|(k, _)| k.as_str()).collect();
            return Err(fail(format!("unsupported call argument(s): {}", names.join(", "))));
        }
        // Masks: one Kiln computes itself (the input carries it) is dropped; an explicit one
        // is given to a one-input layer.
        let mut explicit = None;
        for (i, m) in masks {
            let input = inputs
                .get(i)
                .ok_or_else(|| fail(format!("a mask for input {i}, which the call does not have")))?;
            if let Some(mask) = self.mask(e, input, &m, resolve)? {
                if inputs.len() != 1 {
                    return Err(fail(
                        "an explicit mask on a layer with several inputs is not supported".into(),
                    ));
                }
                explicit = Some(mask);
            }
        }
        match explicit {
            Some(mask) => Apply::apply_with_mask(layer, &inputs[0], &mask),
            None => Apply::apply_all(layer, &inputs.iter().collect::<Vec<_>>()),
        }
    }

    /// The explicit mask `m` gives `input`, or `None` where Kiln makes the same mask itself.
    fn mask(
        &self,
        e: &Entry,
        input: &SymbolicTensor,
        m: &Arg,
        resolve: &dyn Fn(&TensorRef) -> Made,
    ) -> Result<Option<SymbolicTensor>> {
        let fail = |msg: String| layer_error(&e.class, &e.name, msg);
        let t = match m {
            Arg::Const(Value::Null) => return Ok(None),
            Arg::Tensor(t) => t,
            other => {
                return Err(fail(format!(
                    "call argument `mask` must be a tensor, received {other:?}"
                )));
            }
        };
        match resolve(t) {
            Made::Tensor(s) => Ok(Some(s)),
            Made::Op { entry, call } => {
                // Keras 3 records the masks it propagates as operations (`NotEqual` for
                // `Embedding(mask_zero=True)`, …); Kiln propagates the same masks itself.
                if input.mask_shape().is_some() {
                    return Ok(None);
                }
                let op = &self.entries[entry];
                let c = &self.calls[entry][call];
                if op.class == "NotEqual"
                    && let [Arg::Tensor(src), Arg::Const(zero)] = c.args.as_slice()
                    && zero.as_f64() == Some(0.0)
                    && let Some(Made::Tensor(s)) = self
                        .index
                        .get(src.layer.as_str())
                        .and_then(|i| self.made.get(&(*i, src.node)))
                        .and_then(|outs| outs.get(src.index))
                {
                    // Nonzero where a step is kept: what `apply_with_mask` reads.
                    return Ok(Some(s.clone()));
                }
                Err(fail(format!(
                    "its mask comes from the Keras operation '{}' ({}), which Kiln cannot rebuild",
                    op.name, op.class
                )))
            }
        }
    }
}
