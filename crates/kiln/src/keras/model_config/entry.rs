//! One entry of a Keras model config's `layers` list: its class, name and config, checked
//! for what Kiln refuses (code, custom objects, nested models, mixed precision).

use crate::error::{KilnError, Result};
use crate::model::{Input, Producer, SymNode, SymbolicTensor};
use kiln_ir::{DType, Dim, Shape, TensorType};
use serde_json::{Map, Value};
use std::rc::Rc;

/// An error about the layer `name` of class `class`: `Keras layer Dense 'dense_1': …`.
pub(crate) fn layer_error(class: &str, name: &str, message: impl Into<String>) -> KilnError {
    KilnError::Keras {
        class: if name.is_empty() {
            class.to_string()
        } else {
            format!("{class} '{name}'")
        },
        message: message.into(),
    }
}

/// Classes that carry Python code (or TensorFlow ops) in the file.
const CODE_CLASSES: &[&str] = &["Lambda", "TFOpLambda", "SlicingOpLambda", "TFOpLayer"];

/// Classes that are whole models.
pub(crate) const MODEL_CLASSES: &[&str] = &["Sequential", "Functional", "Model"];

/// A checked entry of `layers`.
#[derive(Clone, Debug)]
pub(crate) struct Entry {
    pub class: String,
    pub name: String,
    /// The layer's Keras config (an object), its name filled in.
    pub config: Map<String, Value>,
    /// The whole entry (`build_config`, `inbound_nodes`, …).
    pub raw: Value,
    /// A Keras 3 operation (`keras.src.ops.*`, such as the `NotEqual` an `Embedding` with
    /// `mask_zero` records for its mask) rather than a layer.
    pub op: bool,
}

/// Reads entry `position` of a `layers` list.
pub(crate) fn read_entry(raw: &Value, position: usize) -> Result<Entry> {
    let class = raw
        .get("class_name")
        .and_then(Value::as_str)
        .ok_or_else(|| layer_error("layer", "", format!("entry {position} of `layers` has no class_name")))?
        .to_string();
    let mut config = match raw.get("config") {
        Some(Value::Object(m)) => m.clone(),
        None | Some(Value::Null) => Map::new(),
        Some(other) => {
            return Err(layer_error(
                &class,
                "",
                format!("the config must be an object, received {other}"),
            ));
        }
    };
    let name = raw
        .get("name")
        .or_else(|| config.get("name"))
        .and_then(Value::as_str)
        .ok_or_else(|| layer_error(&class, "", format!("entry {position} of `layers` has no name")))?
        .to_string();
    config.entry("name").or_insert_with(|| Value::String(name.clone()));
    let module = raw.get("module").and_then(Value::as_str);
    let registered = raw.get("registered_name").and_then(Value::as_str);
    // Keras 3's legacy .h5 writer drops the module of operations: `NotEqual` (the mask of
    // `Embedding(mask_zero=True)`) is known by its class.
    let op = module.is_some_and(|m| m.starts_with("keras.src.ops") || m.starts_with("keras.ops"))
        || (module.is_none() && class == "NotEqual");
    if CODE_CLASSES.contains(&class.as_str()) {
        return Err(layer_error(
            &class,
            &name,
            format!(
                "{class} layers hold Python code; Kiln never runs code from a file — rewrite it as a custom layer and register it"
            ),
        ));
    }
    if let Some(r) = registered
        && r != class
    {
        return Err(layer_error(
            &class,
            &name,
            format!(
                "a custom object registered as '{r}' is not a Keras layer Kiln knows; write it as a Kiln layer and register it"
            ),
        ));
    }
    if let Some(m) = module
        && m != "keras"
        && !m.starts_with("keras.")
    {
        return Err(layer_error(
            &class,
            &name,
            format!("the class comes from module '{m}', not from Keras; custom layers are not read from Keras files"),
        ));
    }
    if MODEL_CLASSES.contains(&class.as_str()) {
        return Err(layer_error(
            &class,
            &name,
            "a nested model (a Sequential or Functional model used as a layer) is not supported: flatten its layers into the outer model",
        ));
    }
    if !op && class != "InputLayer" {
        check_dtype_policy(&class, &name, config.get("dtype"))?;
    }
    Ok(Entry {
        class,
        name,
        config,
        raw: raw.clone(),
        op,
    })
}

/// The dtype name of a `dtype` value: `"float32"` or a serialized `DTypePolicy`.
fn dtype_name(v: &Value) -> Option<&str> {
    v.as_str()
        .or_else(|| v.get("config").and_then(|c| c.get("name")).and_then(Value::as_str))
}

/// Refuses a dtype policy other than float32 (mixed precision, float64, …).
pub(crate) fn check_dtype_policy(class: &str, name: &str, dtype: Option<&Value>) -> Result<()> {
    let Some(v) = dtype.filter(|v| !v.is_null()) else {
        return Ok(());
    };
    match dtype_name(v) {
        Some("float32") => Ok(()),
        Some(other) => Err(layer_error(
            class,
            name,
            format!("dtype policy '{other}' is not supported: Kiln computes in float32"),
        )),
        None => Err(layer_error(class, name, format!("cannot read the dtype policy {v}"))),
    }
}

/// A model input's element type from its Keras dtype name.
pub(crate) fn input_dtype(class: &str, name: &str, v: Option<&Value>) -> Result<Option<DType>> {
    let Some(v) = v.filter(|v| !v.is_null()) else {
        return Ok(None);
    };
    match dtype_name(v) {
        Some("float32") => Ok(Some(DType::F32)),
        Some("int8" | "int16" | "int32" | "int64" | "uint8" | "uint16" | "uint32" | "bool") => Ok(Some(DType::I32)),
        Some(other) => Err(layer_error(
            class,
            name,
            format!("input dtype '{other}' is not supported: Kiln's inputs are float32 or integers (read as int32)"),
        )),
        None => Err(layer_error(class, name, format!("cannot read the dtype {v}"))),
    }
}

/// A Keras shape with its batch dimension (`[null, 28, 28, 1]`): the dimensions after it.
pub(crate) fn batch_shape(class: &str, name: &str, key: &str, v: &Value) -> Result<Vec<Dim>> {
    let bad = || {
        layer_error(
            class,
            name,
            format!("`{key}` must be a list of sizes or nulls with the batch first, received {v}"),
        )
    };
    let items = v.as_array().filter(|a| !a.is_empty()).ok_or_else(bad)?;
    items[1..]
        .iter()
        .map(|d| match d {
            Value::Null => Ok(None),
            d => d.as_u64().map(|n| Some(n as usize)).ok_or_else(bad),
        })
        .collect()
}

/// The input `(name, shape, dtype)` an `InputLayer` entry describes.
pub(crate) fn input_layer(entry: &Entry) -> Result<(String, Vec<Dim>, DType)> {
    let c = &entry.config;
    let fail = |m: String| layer_error("InputLayer", &entry.name, m);
    const KNOWN: &[&str] = &[
        "name",
        "batch_shape",
        "batch_input_shape",
        "dtype",
        "sparse",
        "ragged",
        "optional",
        "input_tensor",
    ];
    let unknown: Vec<&str> = c
        .iter()
        .filter(|(k, v)| !v.is_null() && !KNOWN.contains(&k.as_str()))
        .map(|(k, _)| k.as_str())
        .collect();
    if !unknown.is_empty() {
        return Err(fail(format!("unsupported argument(s): {}", unknown.join(", "))));
    }
    for flag in ["sparse", "ragged", "optional"] {
        if c.get(flag).and_then(Value::as_bool) == Some(true) {
            return Err(fail(format!("{flag} inputs are not supported")));
        }
    }
    let (key, shape) = ["batch_shape", "batch_input_shape"]
        .into_iter()
        .find_map(|k| c.get(k).filter(|v| !v.is_null()).map(|v| (k, v)))
        .ok_or_else(|| fail("the input has no batch_shape".into()))?;
    let dims = batch_shape("InputLayer", &entry.name, key, shape)?;
    let dtype = input_dtype("InputLayer", &entry.name, c.get("dtype"))?.unwrap_or(DType::F32);
    Ok((entry.name.clone(), dims, dtype))
}

/// A model input with this name, shape (without the batch) and dtype.
pub(crate) fn input_tensor(name: &str, dims: &[Dim], dtype: DType) -> SymbolicTensor {
    // `Input` hands out a fresh node id; the node is remade with the wanted type.
    let fresh = Input::named(name, []);
    let mut all = vec![None];
    all.extend_from_slice(dims);
    let node = SymNode {
        id: fresh.node.id,
        producer: Producer::Input { name: name.to_string() },
        inputs: Vec::new(),
        outputs: vec![TensorType::new(dtype, Shape(all))],
        masks: vec![None],
        explicit_mask: None,
    };
    SymbolicTensor {
        node: Rc::new(node),
        index: 0,
    }
}

/// The Kiln layer an entry describes, through [`crate::keras::layer_from_config`].
pub(crate) fn build_layer(entry: &Entry) -> Result<Box<dyn crate::layer::Layer>> {
    crate::keras::layer_from_config(&entry.class, &Value::Object(entry.config.clone())).map_err(|e| match e {
        KilnError::Keras { class, message } => layer_error(&class, &entry.name, message),
        other => layer_error(&entry.class, &entry.name, other.to_string()),
    })
}
