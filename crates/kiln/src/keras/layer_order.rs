//! The order of a Functional model's `model.layers` as Keras computes it when it builds the
//! model from its config (`ops/function.py`'s `map_graph`): by depth from the outputs,
//! deepest first, ties broken by the order a depth-first walk from the outputs meets the
//! layers. Keras names each layer's group in the weights file by its rank among the layers
//! of its class in this order, so a file Kiln writes must follow it whatever order the
//! config lists the layers in.

use serde_json::Value;
use std::collections::HashMap;

/// Output `.2` of call `.1` of layer `.0` (an index into the config's layer list).
type TensorRef = (usize, usize);
/// Call `.1` of layer `.0`.
type NodeKey = (usize, usize);

/// The indices of `config["config"]["layers"]` in Keras's `model.layers` order, or `None`
/// when the config is not a Functional config this can follow (the caller then keeps the
/// config's order, which is the one Keras writes).
pub(crate) fn keras_order(config: &Value) -> Option<Vec<usize>> {
    if config["class_name"].as_str() == Some("Sequential") {
        return None;
    }
    let layers = config["config"]["layers"].as_array()?;
    let index: HashMap<&str, usize> = layers
        .iter()
        .enumerate()
        .filter_map(|(i, l)| Some((l["name"].as_str().or_else(|| l["config"]["name"].as_str())?, i)))
        .collect();
    // Each layer's calls, each a list of the tensors it reads.
    let mut calls: Vec<Vec<Vec<TensorRef>>> = Vec::with_capacity(layers.len());
    for l in layers {
        let nodes = l["inbound_nodes"].as_array().map(Vec::as_slice).unwrap_or_default();
        let mut parsed = Vec::with_capacity(nodes.len());
        for node in nodes {
            let mut refs = Vec::new();
            tensors(node, &index, &mut refs)?;
            parsed.push(refs);
        }
        calls.push(parsed);
    }
    let is_input = |l: usize| layers[l]["class_name"].as_str() == Some("InputLayer");
    let endpoints = |v: &Value| -> Option<Vec<TensorRef>> {
        let a = v.as_array()?;
        let list: Vec<&Value> = if a.first().is_some_and(Value::is_string) {
            vec![v]
        } else {
            a.iter().collect()
        };
        list.into_iter().map(|h| history(h, &index)).collect()
    };
    let inputs = endpoints(&config["config"]["input_layers"])?;
    let outputs = endpoints(&config["config"]["output_layers"])?;

    // _build_map: nodes from inputs to outputs, and each layer's first traversal index.
    let mut walk = Walk {
        calls: &calls,
        is_input: &is_input,
        finished: Vec::new(),
        in_progress: Vec::new(),
        order: Vec::new(),
        layer_index: HashMap::new(),
    };
    for &out in &outputs {
        walk.visit(out, &inputs, 0)?;
    }
    let Walk {
        order, mut layer_index, ..
    } = walk;
    // map_graph: depths, from the outputs back.
    let mut node_depth: HashMap<NodeKey, usize> = HashMap::new();
    let mut layer_depth: HashMap<usize, usize> = HashMap::new();
    for &node in order.iter().rev() {
        let depth = *node_depth.entry(node).or_insert(0);
        let depth = depth.max(layer_depth.get(&node.0).copied().unwrap_or(0));
        layer_depth.insert(node.0, depth);
        node_depth.insert(node, depth);
        if !is_input(node.0) {
            for &(parent, call) in calls[node.0].get(node.1)? {
                let key = (parent, call);
                if order.contains(&key) {
                    let previous = node_depth.get(&key).copied().unwrap_or(0);
                    node_depth.insert(key, previous.max(depth + 1));
                }
            }
        }
    }
    // Inputs that no output depends on.
    for &(layer, _) in &inputs {
        if is_input(layer) && !layer_depth.contains_key(&layer) {
            layer_depth.insert(layer, 0);
            layer_index.insert(layer, -1);
        }
    }
    let mut ranked: Vec<(usize, i64, usize)> = layer_depth
        .iter()
        .map(|(&layer, &depth)| (depth, layer_index.get(&layer).copied().unwrap_or(i64::MAX), layer))
        .collect();
    ranked.sort_by(|a, b| b.0.cmp(&a.0).then(a.1.cmp(&b.1)));
    let result: Vec<usize> = ranked.into_iter().map(|r| r.2).collect();
    // Layers the outputs do not reach are not in Keras's model either; keep the config's
    // order rather than guess.
    (result.len() == layers.len()).then_some(result)
}

struct Walk<'a> {
    calls: &'a [Vec<Vec<TensorRef>>],
    is_input: &'a dyn Fn(usize) -> bool,
    finished: Vec<NodeKey>,
    in_progress: Vec<NodeKey>,
    order: Vec<NodeKey>,
    layer_index: HashMap<usize, i64>,
}

impl Walk<'_> {
    fn visit(&mut self, tensor: TensorRef, inputs: &[TensorRef], depth: usize) -> Option<()> {
        if depth > self.calls.len() * 4 + 16 {
            return None;
        }
        let node = tensor;
        if self.finished.contains(&node) {
            return Some(());
        }
        let input = (self.is_input)(node.0);
        if !input && inputs.contains(&tensor) {
            self.finished.push(node);
            return Some(());
        }
        if self.in_progress.contains(&node) {
            return None; // a cycle
        }
        let next = self.layer_index.len() as i64;
        self.layer_index.entry(node.0).or_insert(next);
        self.in_progress.push(node);
        if !input {
            let parents = self.calls.get(node.0)?.get(node.1)?.clone();
            for parent in parents {
                self.visit(parent, inputs, depth + 1)?;
            }
        }
        self.finished.push(node);
        self.in_progress.retain(|n| *n != node);
        self.order.push(node);
        Some(())
    }
}

/// `[name, node, index, …]` as (layer, node); the output index does not matter here.
fn history(v: &Value, index: &HashMap<&str, usize>) -> Option<TensorRef> {
    let a = v.as_array()?;
    let layer = *index.get(a.first()?.as_str()?)?;
    Some((layer, usize::try_from(a.get(1)?.as_u64()?).ok()?))
}

/// Every tensor a call reads, in Keras's flattening order (positional arguments, then
/// keyword arguments by name). Handles Keras 3's `{"args", "kwargs"}` with
/// `__keras_tensor__` objects and Keras 2's `[["dense", 0, 0, {…}], …]`.
fn tensors(v: &Value, index: &HashMap<&str, usize>, out: &mut Vec<TensorRef>) -> Option<()> {
    match v {
        Value::Object(map) if map.get("class_name").and_then(Value::as_str) == Some("__keras_tensor__") => {
            out.push(history(&map.get("config")?["keras_history"], index)?);
        }
        Value::Object(map) => {
            if let Some(args) = map.get("args") {
                tensors(args, index, out)?;
            }
            if let Some(Value::Object(kwargs)) = map.get("kwargs") {
                let mut keys: Vec<&String> = kwargs.keys().collect();
                keys.sort();
                for k in keys {
                    tensors(&kwargs[k], index, out)?;
                }
            }
        }
        Value::Array(items) if items.first().is_some_and(Value::is_string) => {
            out.push(history(v, index)?);
        }
        Value::Array(items) => {
            for item in items {
                tensors(item, index, out)?;
            }
        }
        _ => {}
    }
    Some(())
}

#[cfg(test)]
mod tests {
    use super::keras_order;
    use serde_json::{Value, json};

    fn layer(class: &str, name: &str, inputs: &[&str]) -> Value {
        let t = |n: &&str| json!({"class_name": "__keras_tensor__", "config": {"keras_history": [n, 0, 0]}});
        let args = match inputs {
            [] => return json!({"class_name": class, "name": name, "config": {"name": name}, "inbound_nodes": []}),
            [one] => json!([t(one)]),
            many => json!([many.iter().map(t).collect::<Vec<_>>()]),
        };
        json!({"class_name": class, "name": name, "config": {"name": name}, "inbound_nodes": [{"args": args, "kwargs": {}}]})
    }

    #[test]
    fn functional_layers_in_the_order_keras_builds_them() {
        // tests/keras/make_keras_files.py's functional_two_io, listed in Kiln's execution
        // order; Keras 3.15.1 lists the same model's layers as `expected` in its config.json.
        let layers = vec![
            layer("InputLayer", "a", &[]),
            layer("InputLayer", "b", &[]),
            layer("Dense", "dense", &["a"]),
            layer("Flatten", "flatten", &["b"]),
            layer("Dense", "dense_1", &["flatten"]),
            layer("Add", "add", &["dense", "dense_1"]),
            layer("Concatenate", "concatenate", &["add", "a"]),
            layer("Dense", "cls", &["concatenate"]),
            layer("LayerNormalization", "layer_normalization", &["add"]),
            layer("Dense", "reg", &["layer_normalization"]),
        ];
        let names: Vec<String> = layers.iter().map(|l| l["name"].as_str().unwrap().to_string()).collect();
        let config = json!({"class_name": "Functional", "config": {
            "layers": layers,
            "input_layers": [["a", 0, 0], ["b", 0, 0]],
            "output_layers": [["cls", 0, 0], ["reg", 0, 0]],
        }});
        let order: Vec<&str> = keras_order(&config)
            .unwrap()
            .iter()
            .map(|&i| names[i].as_str())
            .collect();
        let expected = [
            "b",
            "a",
            "flatten",
            "dense",
            "dense_1",
            "add",
            "concatenate",
            "layer_normalization",
            "cls",
            "reg",
        ];
        assert_eq!(order, expected);
    }
}
