//! Keras 3's weights layout (`model.weights.h5` inside a `.keras` file), read and written.
//!
//! Keras saves each layer of `model.layers` under `layers/<key>/vars/<i>`, where `<key>` is
//! the snake-cased class name made unique by position (`dense`, `dense_1`, … — not the
//! layer's name) and `<i>` counts the layer's own variables in `layer.weights` order. A
//! layer's sublayers are saved under the attribute that holds them: `cell` of a recurrent
//! layer, `forward_layer`/`backward_layer` of `Bidirectional`, `layer` of
//! `TimeDistributed`, `query_dense`/`key_dense`/`value_dense`/`output_dense` of
//! `MultiHeadAttention`. Every `vars` group carries the layer's name as its `name`
//! attribute; the root `vars` group carries the model's.
//!
//! Kiln's weights are named like Keras's variable paths without the model's name
//! (`bidirectional/forward_lstm/lstm_cell/kernel`) and come in `layer.weights` order, so one
//! rule places them: the first component picks the layer (and its key), each further
//! component but the last a sublayer (and its attribute), and the weight's rank among the
//! weights of the same (sub)layer its index.

use super::archive::io_error;
use super::h5_data::{self, Expected};
use crate::error::{KilnError, Result};
use hdf5_pure::{AttrValue, FileBuilder, GroupBuilder};
use kiln_ir::{DType, HostData, HostTensor};
use serde_json::Value;
use std::collections::{BTreeMap, HashMap, HashSet};
use std::path::Path;

/// How deep the weights file's groups are walked (Keras nests three or four levels).
const MAX_DEPTH: usize = 32;

/// One layer of a Keras model as its weights file sees it.
#[derive(Debug, Clone)]
pub(crate) struct LayerEntry {
    /// Its group under `layers/`.
    pub key: String,
    /// The layer's name (the first component of its Kiln weight names).
    pub name: String,
    /// Its Keras class.
    pub class: String,
    /// The wrapped layer's class (`Bidirectional`, `TimeDistributed`).
    pub inner_class: Option<String>,
}

/// Keras's `naming.to_snake_case`: `Conv2D` → `conv2d`, `MultiHeadAttention` →
/// `multi_head_attention`, `PReLU` → `p_re_lu`.
pub(crate) fn snake_case(name: &str) -> String {
    // re.sub(r"\W+", "", name)
    let s: Vec<char> = name.chars().filter(|c| c.is_alphanumeric() || *c == '_').collect();
    // re.sub("(.)([A-Z][a-z]+)", r"\1_\2", name)
    let mut a = Vec::with_capacity(s.len() + 4);
    let mut i = 0;
    while i < s.len() {
        if i + 2 < s.len() && s[i] != '\n' && s[i + 1].is_ascii_uppercase() && s[i + 2].is_ascii_lowercase() {
            let mut j = i + 2;
            while j < s.len() && s[j].is_ascii_lowercase() {
                j += 1;
            }
            a.push(s[i]);
            a.push('_');
            a.extend_from_slice(&s[i + 1..j]);
            i = j;
        } else {
            a.push(s[i]);
            i += 1;
        }
    }
    // re.sub("([a-z])([A-Z])", r"\1_\2", name).lower()
    let mut out = String::with_capacity(a.len() + 4);
    let mut i = 0;
    while i < a.len() {
        if i + 1 < a.len() && a[i].is_ascii_lowercase() && a[i + 1].is_ascii_uppercase() {
            out.push(a[i]);
            out.push('_');
            out.push(a[i + 1]);
            i += 2;
        } else {
            out.push(a[i]);
            i += 1;
        }
    }
    out.to_lowercase()
}

/// The layers of the Keras model config `config` in `model.layers` order, with their keys:
/// a Sequential model's list without its `InputLayer`, a Functional model's with them, in
/// the order Keras gives them when it builds the model (see `layer_order`).
pub(crate) fn layer_entries(config: &Value) -> Result<Vec<LayerEntry>> {
    let bad = |message: String| KilnError::Keras {
        class: config["class_name"].as_str().unwrap_or("Model").to_string(),
        message,
    };
    let class = config["class_name"]
        .as_str()
        .ok_or_else(|| bad("the model config has no 'class_name'".into()))?;
    let layers = config["config"]["layers"]
        .as_array()
        .ok_or_else(|| bad("the model config has no 'layers' list".into()))?;
    let order: Vec<usize> = match super::layer_order::keras_order(config) {
        Some(order) => order,
        None => (0..layers.len())
            .filter(|&i| !(class == "Sequential" && i == 0 && layers[0]["class_name"] == "InputLayer"))
            .collect(),
    };
    let mut used: HashMap<String, usize> = HashMap::new();
    let mut entries = Vec::with_capacity(order.len());
    for i in order {
        let layer = &layers[i];
        let layer_class = layer["class_name"]
            .as_str()
            .ok_or_else(|| bad(format!("layer {i} has no 'class_name'")))?;
        let name = layer["config"]["name"]
            .as_str()
            .or_else(|| layer["name"].as_str())
            .ok_or_else(|| bad(format!("layer {i} ({layer_class}) has no name")))?;
        let inner_class = layer["config"]["layer"]["class_name"].as_str().map(str::to_string);
        // Keras's _get_unique_name: `dense`, `dense_1`, `dense_2`, …
        let base = snake_case(layer_class);
        let key = match used.get_mut(&base) {
            Some(n) => {
                *n += 1;
                format!("{base}_{n}")
            }
            None => {
                used.insert(base.clone(), 0);
                base
            }
        };
        entries.push(LayerEntry {
            key,
            name: name.to_string(),
            class: layer_class.to_string(),
            inner_class,
        });
    }
    Ok(entries)
}

/// Where one Kiln weight lives in Keras's layout.
struct Place {
    /// Index into the layer entries.
    entry: usize,
    /// Groups from the root to the (sub)layer: `layers`, key, attributes…
    groups: Vec<String>,
    /// The name of each (sub)layer on the way (the `vars` groups' `name` attributes).
    names: Vec<String>,
}

impl Place {
    fn vars(&self) -> String {
        format!("{}/vars", self.groups.join("/"))
    }
}

const RECURRENT: &[&str] = &["LSTM", "GRU", "SimpleRNN"];

/// The attribute under which Keras saves the sublayer `sub` of a layer of class `class`
/// (`inner` is the wrapped layer's class), and the sublayer's class where it matters.
fn sublayer(class: &str, inner: Option<&str>, sub: &str) -> Option<(&'static str, Option<String>)> {
    if RECURRENT.contains(&class) {
        return Some(("cell", None));
    }
    match class {
        "Bidirectional" if sub.starts_with("forward_") => Some(("forward_layer", inner.map(str::to_string))),
        "Bidirectional" if sub.starts_with("backward_") => Some(("backward_layer", inner.map(str::to_string))),
        "TimeDistributed" => Some(("layer", inner.map(str::to_string))),
        "MultiHeadAttention" => match sub {
            "query" => Some(("query_dense", None)),
            "key" => Some(("key_dense", None)),
            "value" => Some(("value_dense", None)),
            "attention_output" => Some(("output_dense", None)),
            _ => None,
        },
        _ => None,
    }
}

/// Places every weight of `weights` (Kiln names) in Keras's layout, with its index.
fn place_all(entries: &[LayerEntry], weights: &[&str]) -> Result<Vec<(Place, usize)>> {
    let by_name: HashMap<&str, usize> = entries.iter().enumerate().map(|(i, e)| (e.name.as_str(), i)).collect();
    let mut counts: HashMap<String, usize> = HashMap::new();
    let mut out = Vec::with_capacity(weights.len());
    for &weight in weights {
        let parts: Vec<&str> = weight.split('/').collect();
        let layer = parts[0];
        let &entry = by_name.get(layer).ok_or_else(|| KilnError::Keras {
            class: "Model".into(),
            message: format!("weight '{weight}' belongs to no layer of the Keras model config (no layer '{layer}')"),
        })?;
        let e = &entries[entry];
        let mut groups = vec!["layers".to_string(), e.key.clone()];
        let mut names = vec![e.name.clone()];
        let (mut class, mut inner) = (Some(e.class.clone()), e.inner_class.clone());
        for sub in &parts[1..parts.len().saturating_sub(1)] {
            let placed = class.as_deref().and_then(|c| sublayer(c, inner.as_deref(), sub));
            let Some((attr, next)) = placed else {
                return Err(KilnError::Keras {
                    class: e.class.clone(),
                    message: format!(
                        "layer '{}': Kiln does not know where Keras saves the weights of its part '{sub}' (weight '{weight}')",
                        e.name
                    ),
                });
            };
            groups.push(attr.to_string());
            names.push(sub.to_string());
            class = next;
            inner = None;
        }
        let place = Place { entry, groups, names };
        let n = counts.entry(place.vars()).or_insert(0);
        out.push((place, *n));
        *n += 1;
    }
    Ok(out)
}

/// A weight of the model: Kiln name, shape and type.
pub(crate) type Spec = (String, Vec<usize>, DType);

/// The model's weights in `specs` order, read from the `model.weights.h5` bytes of a
/// `.keras` file. Every weight must be there with its shape, and every variable the file
/// holds under `layers/` must be one of the model's; the `optimizer/` group is not read.
pub(crate) fn read(bytes: Vec<u8>, path: &Path, entries: &[LayerEntry], specs: &[Spec]) -> Result<Vec<HostTensor>> {
    const WHAT: &str = "model.weights.h5";
    let file_len = bytes.len() as u64;
    let names: Vec<&str> = specs.iter().map(|s| s.0.as_str()).collect();
    let placed = place_all(entries, &names).map_err(|e| io_error(path, format!("{WHAT}: {e}")))?;
    let file = h5_data::open(bytes, path, WHAT)?;
    h5_data::guarded(path, WHAT, || {
        let mut claimed = HashSet::new();
        let mut values = Vec::with_capacity(specs.len());
        for ((place, index), (name, shape, dtype)) in placed.iter().zip(specs) {
            let at = format!("{}/{index}", place.vars());
            let e = &entries[place.entry];
            let ds = file.dataset(&at).map_err(|_| {
                io_error(
                    path,
                    format!(
                        "{WHAT} has no '{at}' for layer '{}' ({}), weight '{name}': the file does not hold this model's weights",
                        e.name, e.class
                    ),
                )
            })?;
            let want = Expected {
                name,
                layer: &e.name,
                shape,
                dtype: *dtype,
            };
            values.push(h5_data::read_weight(&ds, &at, &want, file_len, path)?);
            claimed.insert(at);
        }
        // Variables the model has no place for: Keras would refuse the file too.
        let mut found = Vec::new();
        if let Ok(layers) = file.group("layers") {
            collect_vars(&layers, "layers", 0, &mut found).map_err(|m| io_error(path, format!("{WHAT}: {m}")))?;
        }
        if let Some(extra) = found.iter().find(|p| !claimed.contains(*p)) {
            let owner = extra.split('/').nth(1).unwrap_or("?");
            let layer = entries
                .iter()
                .find(|e| e.key == owner)
                .map_or("no layer of the model".to_string(), |e| {
                    format!("layer '{}' ({})", e.name, e.class)
                });
            return Err(io_error(
                path,
                format!("{WHAT} holds '{extra}' (under {layer}), which is not a weight of the model"),
            ));
        }
        Ok(values)
    })
}

/// Every dataset path under a `vars` group below `group` (at `at`).
fn collect_vars(
    group: &hdf5_pure::Group,
    at: &str,
    depth: usize,
    out: &mut Vec<String>,
) -> std::result::Result<(), String> {
    if depth > MAX_DEPTH {
        return Err(format!("groups nested more than {MAX_DEPTH} deep at '{at}'"));
    }
    let children = group.groups().map_err(|e| format!("cannot list '{at}': {e}"))?;
    for child in children {
        let child_at = format!("{at}/{child}");
        let g = group
            .group(&child)
            .map_err(|e| format!("cannot open '{child_at}': {e}"))?;
        if child == "vars" {
            for ds in g.datasets().map_err(|e| format!("cannot list '{child_at}': {e}"))? {
                out.push(format!("{child_at}/{ds}"));
            }
        }
        collect_vars(&g, &child_at, depth + 1, out)?;
    }
    Ok(())
}

/// A group being written: its `name` attribute, subgroups and datasets.
#[derive(Default)]
struct Node {
    name: Option<String>,
    groups: BTreeMap<String, Node>,
    datasets: Vec<(String, HostTensor, bool)>,
}

impl Node {
    fn at(&mut self, path: &[String]) -> &mut Node {
        path.iter().fold(self, |n, p| n.groups.entry(p.clone()).or_default())
    }

    fn fill(self, g: &mut GroupBuilder) {
        if let Some(name) = self.name {
            g.set_attr("name", AttrValue::VarLenString(name));
        }
        for (name, tensor, as_int) in &self.datasets {
            let shape: Vec<u64> = tensor.shape().iter().map(|&d| d as u64).collect();
            let ds = g.create_dataset(name);
            match tensor.data() {
                HostData::F32(v) if *as_int => ds.with_i32_data(&v.iter().map(|&x| x as i32).collect::<Vec<_>>()),
                HostData::F32(v) => ds.with_f32_data(v),
                HostData::I32(v) => ds.with_i32_data(v),
            };
            ds.with_shape(&shape);
        }
        for (name, node) in self.groups {
            let mut child = g.create_group(&name);
            node.fill(&mut child);
            g.add_group(child.finish());
        }
    }
}

/// Keras stores these Kiln float weights as integers.
fn keras_int(entry: &LayerEntry, weight: &str) -> bool {
    entry.class == "Normalization" && weight.rsplit('/').next() == Some("count")
}

/// The `model.weights.h5` bytes of a `.keras` file for the model named `model_name` with
/// the layers `entries` and weights `specs` (values `values`), in Keras's layout.
pub(crate) fn write(
    model_name: &str,
    entries: &[LayerEntry],
    specs: &[Spec],
    values: &[HostTensor],
    path: &Path,
) -> Result<Vec<u8>> {
    let names: Vec<&str> = specs.iter().map(|s| s.0.as_str()).collect();
    let placed = place_all(entries, &names)?;
    let mut root = Node::default();
    for e in entries {
        root.at(&["layers".into(), e.key.clone(), "vars".into()]).name = Some(e.name.clone());
    }
    for (((place, index), value), name) in placed.into_iter().zip(values).zip(&names) {
        for level in 2..place.groups.len() {
            let mut vars = place.groups[..=level].to_vec();
            vars.push("vars".into());
            root.at(&vars).name = Some(place.names[level - 1].clone());
        }
        let mut vars = place.groups.clone();
        vars.push("vars".into());
        let as_int = keras_int(&entries[place.entry], name);
        root.at(&vars).datasets.push((index.to_string(), value.clone(), as_int));
    }
    root.at(&["vars".into()]).name = Some(model_name.to_string());
    let mut builder = FileBuilder::new();
    for (name, node) in std::mem::take(&mut root.groups) {
        let mut g = builder.create_group(&name);
        node.fill(&mut g);
        builder.add_group(g.finish());
    }
    builder
        .finish()
        .map_err(|e| io_error(path, format!("cannot write model.weights.h5: {e}")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn snake_case_matches_keras() {
        // Values printed by keras.src.utils.naming.to_snake_case (Keras 3.15.1).
        for (class, key) in [
            ("Dense", "dense"),
            ("Conv2D", "conv2d"),
            ("Conv2DTranspose", "conv2d_transpose"),
            ("MultiHeadAttention", "multi_head_attention"),
            ("PReLU", "p_re_lu"),
            ("ReLU", "re_lu"),
            ("ELU", "elu"),
            ("LSTM", "lstm"),
            ("SimpleRNN", "simple_rnn"),
            ("GRU", "gru"),
            ("RMSNormalization", "rms_normalization"),
            ("UpSampling2D", "up_sampling2d"),
            ("GlobalAveragePooling1D", "global_average_pooling1d"),
            ("InputLayer", "input_layer"),
            ("BatchNormalization", "batch_normalization"),
            ("TimeDistributed", "time_distributed"),
        ] {
            assert_eq!(snake_case(class), key, "{class}");
        }
    }
}
