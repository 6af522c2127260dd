//! One Kiln layer's Keras config, by one general translation of its Kiln config (which
//! uses Keras's argument names): initializers, regularizers and constraints become
//! serialized Keras objects, wrapped layers serialized layers, numbers their shortest
//! float32 form; Keras call arguments that Kiln keeps as layer options move to the call.
//! Every result is read back through [`crate::keras::layer_from_config`] and must give
//! the same layer.

use super::entry::layer_error;
use super::import::CALL_OPTIONS;
use crate::error::Result;
use crate::initializers::InitializerArg;
use crate::layer::Layer;
use serde_json::{Map, Value, json};

/// Keras 3's float32 dtype policy object.
pub(crate) fn float32_policy() -> Value {
    json!({"module": "keras", "class_name": "DTypePolicy", "config": {"name": "float32"}, "registered_name": null})
}

fn keras_object(module: &str, class: &str, config: Value) -> Value {
    json!({"module": module, "class_name": class, "config": config, "registered_name": null})
}

/// `glorot_uniform` → `GlorotUniform`.
fn camel(name: &str) -> String {
    name.split('_')
        .map(|p| {
            let mut c = p.chars();
            c.next()
                .map(|f| f.to_ascii_uppercase().to_string() + c.as_str())
                .unwrap_or_default()
        })
        .collect()
}

/// A number as the shortest decimal that reads back as the same float32 (Kiln stores
/// float32 arguments; `0.01f32` would otherwise be written `0.009999999776482582`).
fn number(v: &Value) -> Value {
    if let Some(x) = v.as_f64()
        && !(v.is_i64() || v.is_u64())
    {
        let f = x as f32;
        if f as f64 == x
            && f.is_finite()
            && let Ok(short) = format!("{f}").parse::<f64>()
        {
            return json!(short);
        }
    }
    v.clone()
}

fn numbers(v: &Value) -> Value {
    match v {
        Value::Number(_) => number(v),
        Value::Array(a) => Value::Array(a.iter().map(numbers).collect()),
        Value::Object(m) => Value::Object(m.iter().map(|(k, v)| (k.clone(), numbers(v))).collect()),
        other => other.clone(),
    }
}

fn initializer(v: &Value) -> std::result::Result<Value, String> {
    let arg: InitializerArg = serde_json::from_value(v.clone()).map_err(|e| format!("{e}"))?;
    match arg {
        InitializerArg::Name(n) => Ok(keras_object("keras.initializers", &camel(&n), json!({}))),
        InitializerArg::Spec(spec) => {
            let mut fields = match serde_json::to_value(&spec).map_err(|e| e.to_string())? {
                Value::Object(m) => m,
                other => return Err(format!("unexpected initializer {other}")),
            };
            let class = fields
                .remove("class")
                .and_then(|c| c.as_str().map(str::to_string))
                .ok_or("an initializer without a class")?;
            if matches!(class.as_str(), "segments" | "values") {
                return Err(format!("the initializer '{class}' has no Keras counterpart"));
            }
            fields.insert("seed".into(), Value::Null);
            Ok(keras_object(
                "keras.initializers",
                &camel(&class),
                numbers(&Value::Object(fields)),
            ))
        }
    }
}

/// `{"class_name": "L2", "l2": 0.01}` → Keras's `{"class_name": "L2", "config": {"l2": 0.01}}`;
/// a constraint's one-axis list becomes an integer, as Keras writes it.
fn tagged_object(module: &str, v: &Value) -> std::result::Result<Value, String> {
    let mut fields = v
        .as_object()
        .cloned()
        .ok_or_else(|| format!("expected an object, received {v}"))?;
    let class = fields
        .remove("class_name")
        .and_then(|c| c.as_str().map(str::to_string))
        .ok_or_else(|| format!("no class_name in {v}"))?;
    if let Some(Value::Array(axes)) = fields.get("axis")
        && axes.len() == 1
    {
        let one = axes[0].clone();
        fields.insert("axis".into(), one);
    }
    Ok(keras_object(module, &class, numbers(&Value::Object(fields))))
}

/// The Keras value of argument `key` with Kiln value `v`.
fn value(key: &str, v: &Value) -> std::result::Result<Value, String> {
    if v.is_null() {
        return Ok(Value::Null);
    }
    if key.ends_with("_initializer") {
        return initializer(v);
    }
    if key.ends_with("_regularizer") {
        return tagged_object("keras.regularizers", v);
    }
    if key.ends_with("_constraint") {
        return tagged_object("keras.constraints", v);
    }
    // A wrapped layer (Bidirectional, TimeDistributed): {"class_name", "config": Kiln config}.
    if let (Some(class), Some(config)) = (v.get("class_name").and_then(Value::as_str), v.get("config"))
        && crate::layers::catalogue().contains(&class)
    {
        let inner = crate::registry::layer_from_config(class, config).map_err(|e| e.to_string())?;
        let (config, _) = keras_config(inner.as_ref()).map_err(|e| e.to_string())?;
        return Ok(keras_object("keras.layers", class, Value::Object(config)));
    }
    Ok(numbers(v))
}

/// The Keras config of `layer` and the Keras call arguments it implies
/// (`use_causal_mask`, `return_attention_scores`), checked by reading it back.
pub(crate) fn keras_config(layer: &dyn Layer) -> Result<(Map<String, Value>, Map<String, Value>)> {
    let class = layer.class_name();
    let fail = |m: String| layer_error(class, layer.name(), m);
    if !crate::layers::catalogue().contains(&class) {
        return Err(fail(
            "a custom layer has no Keras counterpart: Kiln cannot write it to a Keras file".into(),
        ));
    }
    let mut kiln = layer.config();
    if class == "Normalization" {
        normalization(&mut kiln);
    }
    let fields = kiln
        .as_object()
        .ok_or_else(|| fail(format!("the layer's config is not an object: {kiln}")))?;
    let mut config = Map::new();
    let mut call = Map::new();
    for (k, v) in fields {
        if CALL_OPTIONS.contains(&k.as_str()) {
            if v.as_bool() == Some(true) {
                call.insert(k.clone(), Value::Bool(true));
            }
            continue;
        }
        if class == "Normalization" && matches!(k.as_str(), "stats_shape" | "adapted") {
            continue;
        }
        let keras = if class == "Normalization" && matches!(k.as_str(), "mean" | "variance") {
            nest(v, fields.get("stats_shape"))
        } else {
            value(k, v).map_err(|m| fail(format!("argument `{k}`: {m}")))?
        };
        config.insert(k.clone(), keras);
        if k == "name" {
            config.insert("trainable".into(), Value::Bool(layer.trainable()));
            config.insert("dtype".into(), float32_policy());
        }
    }
    // Arguments Keras's constructor of this class does not take; the read-back check
    // below refuses a layer whose value of one differs from the default.
    for key in keras_rejects(class) {
        config.remove(*key);
    }
    // Safe by construction: the Keras config must give back this very layer.
    let mut merged = config.clone();
    merged.extend(call.clone());
    let back = crate::keras::layer_from_config(class, &Value::Object(merged))
        .map_err(|e| fail(format!("its Keras config does not read back: {e}")))?;
    let (want, got) = (normalized(&kiln), normalized(&back.config()));
    if want != got {
        return Err(fail(format!(
            "its Keras config reads back as a different layer: {}",
            difference(&want, &got)
        )));
    }
    Ok((config, call))
}

/// The config keys Kiln writes for `class` that Keras 3's constructor refuses
/// (`Conv2DTranspose` has no `groups`; the spatial dropouts take no `trainable`).
fn keras_rejects(class: &str) -> &'static [&'static str] {
    match class {
        "Conv2DTranspose" => &["groups"],
        "SpatialDropout1D" | "SpatialDropout2D" => &["trainable"],
        _ => &[],
    }
}

/// Normalization's per-class fix-up: statistics from `adapt` live in the weights (Keras
/// writes `mean: null` then), others are written as nested lists of `stats_shape`.
fn normalization(kiln: &mut Value) {
    if kiln.get("adapted").and_then(Value::as_bool) == Some(true) {
        kiln["mean"] = Value::Null;
        kiln["variance"] = Value::Null;
        kiln["stats_shape"] = json!([]);
        kiln["adapted"] = json!(false);
    }
}

/// Flat row-major values as nested lists of `shape` (a scalar for `[]`).
fn nest(values: &Value, shape: Option<&Value>) -> Value {
    let Some(flat) = values.as_array() else {
        return Value::Null;
    };
    let dims: Vec<usize> = shape
        .and_then(Value::as_array)
        .map(|a| a.iter().filter_map(|d| d.as_u64().map(|n| n as usize)).collect())
        .unwrap_or_default();
    fn build(flat: &[Value], dims: &[usize]) -> Value {
        match dims.split_first() {
            None => flat.first().map(number).unwrap_or(Value::Null),
            Some((&n, rest)) => {
                let step = rest.iter().product::<usize>().max(1);
                Value::Array(
                    (0..n)
                        .map(|i| build(flat.get(i * step..).unwrap_or(&[]), rest))
                        .collect(),
                )
            }
        }
    }
    build(flat, &dims)
}

/// A Kiln config with every initializer resolved (a name and its spelled-out form are the
/// same initializer).
fn normalized(v: &Value) -> Value {
    match v {
        Value::Object(m) => Value::Object(
            m.iter()
                .map(|(k, v)| {
                    let resolved = k
                        .ends_with("_initializer")
                        .then(|| serde_json::from_value::<InitializerArg>(v.clone()).ok())
                        .flatten()
                        .and_then(|a| a.resolve().ok())
                        .and_then(|i| serde_json::to_value(i).ok());
                    (k.clone(), resolved.unwrap_or_else(|| normalized(v)))
                })
                .collect(),
        ),
        Value::Array(a) => Value::Array(a.iter().map(normalized).collect()),
        other => other.clone(),
    }
}

/// The keys whose values differ, with both values.
fn difference(want: &Value, got: &Value) -> String {
    match (want.as_object(), got.as_object()) {
        (Some(w), Some(g)) => {
            let mut keys: Vec<&String> = w.keys().chain(g.keys()).collect();
            keys.sort();
            keys.dedup();
            keys.into_iter()
                .filter(|k| w.get(*k) != g.get(*k))
                .map(|k| {
                    format!(
                        "`{k}` is {} in Kiln but {} after reading back",
                        w.get(k).unwrap_or(&Value::Null),
                        g.get(k).unwrap_or(&Value::Null)
                    )
                })
                .collect::<Vec<_>>()
                .join("; ")
        }
        _ => format!("{want} against {got}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::PathBuf;

    #[test]
    fn names_and_numbers_become_keras_forms() {
        assert_eq!(camel("glorot_uniform"), "GlorotUniform");
        assert_eq!(number(&json!(0.01f32 as f64)), json!(0.01));
        assert_eq!(number(&json!(3)), json!(3));
        let init = initializer(&json!({"class": "random_normal", "mean": 0.0, "stddev": 0.05f32 as f64})).unwrap();
        assert_eq!(init["class_name"], "RandomNormal");
        assert_eq!(init["config"]["stddev"], json!(0.05));
        let c = tagged_object(
            "keras.constraints",
            &json!({"class_name": "MaxNorm", "max_value": 2.0, "axis": [0]}),
        )
        .unwrap();
        assert_eq!(c["config"]["axis"], json!(0));
    }

    /// Every layer of every layer-golden case (the whole catalogue, with Keras's own
    /// argument variety) exports to a Keras config that reads back as the same layer.
    #[test]
    fn every_golden_layer_config_exports_and_reads_back() {
        let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../tests/keras/goldens/layers");
        let mut classes = std::collections::BTreeSet::new();
        let mut failures = Vec::new();
        for entry in std::fs::read_dir(&dir).expect("layer goldens") {
            let path = entry.expect("entry").path();
            let golden: Value = serde_json::from_str(&std::fs::read_to_string(&path).expect("read")).expect("json");
            for case in golden["cases"].as_array().into_iter().flatten() {
                for l in case["layers"].as_array().into_iter().flatten() {
                    let class = l["class"].as_str().expect("class");
                    let Ok(layer) = crate::keras::layer_from_config(class, &l["config"]) else {
                        continue; // cases of refused arguments
                    };
                    classes.insert(class.to_string());
                    if let Err(e) = keras_config(layer.as_ref()) {
                        failures.push(format!("{}: {e}", case["name"]));
                    }
                }
            }
        }
        assert!(failures.is_empty(), "{}", failures.join("\n"));
        assert!(classes.len() >= 60, "only {} classes seen", classes.len());
    }
}
