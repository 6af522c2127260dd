//! Kiln models to Keras 3 model configs: Sequential with its `InputLayer`, Functional with
//! `inbound_nodes` in Keras 3's format.

use super::entry::layer_error;
use super::layer_export::{float32_policy, keras_config};
use crate::error::Result;
use crate::layer::Layer;
use crate::model::{Kind, Model, Producer, SymbolicTensor};
use kiln_ir::{DType, Shape};
use serde_json::{Map, Value, json};
use std::collections::HashMap;

fn shape_json(shape: &Shape) -> Value {
    Value::Array(
        shape
            .dims()
            .iter()
            .map(|d| d.map_or(Value::Null, |n| json!(n)))
            .collect(),
    )
}

fn dtype_name(dtype: DType) -> &'static str {
    match dtype {
        DType::F32 => "float32",
        DType::I32 => "int32",
    }
}

fn input_layer(name: &str, t: &SymbolicTensor) -> Value {
    json!({
        "module": "keras.layers",
        "class_name": "InputLayer",
        "config": {
            "batch_shape": shape_json(t.shape()),
            "dtype": dtype_name(t.dtype()),
            "sparse": false,
            "ragged": false,
            "name": name,
            "optional": false,
        },
        "registered_name": null,
    })
}

fn layer_entry(class: &str, config: Map<String, Value>) -> Map<String, Value> {
    let mut m = Map::new();
    m.insert("module".into(), json!("keras.layers"));
    m.insert("class_name".into(), json!(class));
    m.insert("config".into(), Value::Object(config));
    m.insert("registered_name".into(), Value::Null);
    m
}

pub(crate) fn export(model: &Model) -> Result<Value> {
    match &model.kind {
        Kind::Sequential { pending, .. } => sequential(model, pending),
        Kind::Functional => functional(model),
    }
}

fn sequential(model: &Model, pending: &[Box<dyn Layer>]) -> Result<Value> {
    let mut layers = Vec::new();
    let mut top_build = Value::Null;
    let mut build_input_shape = None;
    match model.built.as_ref() {
        Some(built) => {
            let input = built
                .inputs
                .first()
                .ok_or_else(|| layer_error("Sequential", &model.name, "the model has no input"))?;
            layers.push(input_layer(input.producer_name(), input));
            top_build = json!({"input_shape": shape_json(input.shape())});
            build_input_shape = Some(shape_json(input.shape()));
            for node in &built.nodes {
                let Producer::Layer(layer) = &node.producer else {
                    continue;
                };
                let (config, call) = keras_config(layer.as_ref())?;
                refuse_call_options(layer.as_ref(), &call)?;
                if node.explicit_mask.is_some() {
                    return Err(layer_error(
                        layer.class_name(),
                        layer.name(),
                        "an explicit mask in a Sequential model",
                    ));
                }
                let mut entry = layer_entry(layer.class_name(), config);
                if let Some(first) = node.inputs.first() {
                    entry.insert("build_config".into(), json!({"input_shape": shape_json(first.shape())}));
                }
                layers.push(Value::Object(entry));
            }
        }
        None => {
            for layer in pending {
                let (config, call) = keras_config(layer.as_ref())?;
                refuse_call_options(layer.as_ref(), &call)?;
                layers.push(Value::Object(layer_entry(layer.class_name(), config)));
            }
        }
    }
    let mut config = json!({
        "name": model.name,
        "trainable": true,
        "dtype": float32_policy(),
        "layers": layers,
    });
    if let Some(s) = build_input_shape {
        config["build_input_shape"] = s;
    }
    Ok(json!({
        "module": "keras",
        "class_name": "Sequential",
        "config": config,
        "registered_name": null,
        "build_config": top_build,
    }))
}

/// Sequential layers are called without arguments: a call option cannot be written.
fn refuse_call_options(layer: &dyn Layer, call: &Map<String, Value>) -> Result<()> {
    if call.is_empty() {
        return Ok(());
    }
    let keys: Vec<&str> = call.keys().map(String::as_str).collect();
    Err(layer_error(
        layer.class_name(),
        layer.name(),
        format!(
            "{} is a call argument in Keras, which a Sequential model cannot pass; export it as a Functional model",
            keys.join(", ")
        ),
    ))
}

fn functional(model: &Model) -> Result<Value> {
    let built = model.built()?;
    // Each layer call's (layer name, call index); inputs are call 0 of their InputLayer.
    let mut calls_of: HashMap<String, usize> = HashMap::new();
    let mut node_ref: HashMap<u64, (String, usize)> = HashMap::new();
    let mut order: Vec<String> = Vec::new();
    let mut entries: HashMap<String, Map<String, Value>> = HashMap::new();
    let mut first_config: HashMap<String, Value> = HashMap::new();
    let tensor = |node_ref: &HashMap<u64, (String, usize)>, t: &SymbolicTensor| -> Result<Value> {
        let (name, call) = node_ref.get(&t.node.id).ok_or_else(|| {
            layer_error(
                "Functional",
                &model.name,
                format!("the tensor from '{}' is used before it is made", t.producer_name()),
            )
        })?;
        Ok(json!({
            "class_name": "__keras_tensor__",
            "config": {
                "shape": shape_json(t.shape()),
                "dtype": dtype_name(t.dtype()),
                "keras_history": [name, call, t.index],
            }
        }))
    };
    for t in &built.inputs {
        let name = t.producer_name().to_string();
        node_ref.insert(t.node.id, (name.clone(), 0));
        let mut entry = input_layer(&name, t).as_object().cloned().unwrap_or_default();
        entry.insert("name".into(), json!(name));
        entry.insert("inbound_nodes".into(), json!([]));
        entries.insert(name.clone(), entry);
        order.push(name);
    }
    for node in &built.nodes {
        let Producer::Layer(layer) = &node.producer else {
            continue;
        };
        let name = layer.name().to_string();
        let (config, call_options) = keras_config(layer.as_ref())?;
        let config_value = Value::Object(config.clone());
        match first_config.get(&name) {
            Some(first) if *first != config_value => {
                return Err(layer_error(
                    layer.class_name(),
                    &name,
                    "two different layers of the model have this name; Keras needs unique layer names",
                ));
            }
            Some(_) => {}
            None => {
                first_config.insert(name.clone(), config_value);
                let mut entry = layer_entry(layer.class_name(), config);
                entry.insert("build_config".into(), build_config(layer.as_ref(), &node.inputs));
                entry.insert("name".into(), json!(name));
                entry.insert("inbound_nodes".into(), json!([]));
                entries.insert(name.clone(), entry);
                order.push(name.clone());
            }
        }
        let inputs = node
            .inputs
            .iter()
            .map(|t| tensor(&node_ref, t))
            .collect::<Result<Vec<_>>>()?;
        let mut kwargs = Map::new();
        let args = if layer.class_name() == "MultiHeadAttention" {
            let mut it = inputs.into_iter();
            let args: Vec<Value> = it.by_ref().take(2).collect();
            if let Some(k) = it.next() {
                kwargs.insert("key".into(), k);
            }
            if let Some(m) = it.next() {
                kwargs.insert("attention_mask".into(), m);
            }
            args
        } else if layer.takes_list() {
            vec![Value::Array(inputs)]
        } else {
            inputs
        };
        if let Some(m) = &node.explicit_mask {
            kwargs.insert("mask".into(), tensor(&node_ref, m)?);
        }
        kwargs.extend(call_options);
        let call_index = calls_of.entry(name.clone()).or_insert(0);
        node_ref.insert(node.id, (name.clone(), *call_index));
        *call_index += 1;
        if let Some(Value::Array(nodes)) = entries.get_mut(&name).and_then(|e| e.get_mut("inbound_nodes")) {
            nodes.push(json!({"args": args, "kwargs": kwargs}));
        }
    }
    let ends = |ts: &[SymbolicTensor]| -> Result<Value> {
        ts.iter()
            .map(|t| {
                let (name, call) = node_ref.get(&t.node.id).ok_or_else(|| {
                    layer_error(
                        "Functional",
                        &model.name,
                        format!("'{}' is not part of the model", t.producer_name()),
                    )
                })?;
                Ok(json!([name, call, t.index]))
            })
            .collect::<Result<Vec<_>>>()
            .map(Value::Array)
    };
    let layers: Vec<Value> = order
        .iter()
        .filter_map(|n| entries.remove(n))
        .map(Value::Object)
        .collect();
    Ok(json!({
        "module": "keras.src.models.functional",
        "class_name": "Functional",
        "config": {
            "name": model.name,
            "trainable": true,
            "layers": layers,
            "input_layers": ends(&built.inputs)?,
            "output_layers": ends(&built.outputs)?,
        },
        "registered_name": "Functional",
        "build_config": {"input_shape": null},
    }))
}

/// Keras's `build_config` for a layer first called on `inputs`.
fn build_config(layer: &dyn Layer, inputs: &[SymbolicTensor]) -> Value {
    if layer.class_name() == "MultiHeadAttention" {
        let mut shapes = Map::new();
        for (key, t) in ["query_shape", "value_shape", "key_shape"].iter().zip(inputs) {
            shapes.insert((*key).into(), shape_json(t.shape()));
        }
        return json!({"shapes_dict": shapes});
    }
    if layer.takes_list() {
        return json!({"input_shape": inputs.iter().map(|t| shape_json(t.shape())).collect::<Vec<_>>()});
    }
    match inputs.first() {
        Some(t) => json!({"input_shape": shape_json(t.shape())}),
        None => Value::Null,
    }
}
