//! Layers by class name: how a saved model's layers are rebuilt from their configs.
//!
//! Every built-in layer is registered under its Keras class name; a custom layer is
//! registered once by its author, as Keras's `register_keras_serializable`. Rebuilding
//! reads only a class name and a JSON config — a model file never carries code.
//!
//! ```
//! use kiln::registry::{layer_from_config, register_layer};
//! # use kiln::prelude::*;
//! # use kiln::{EmitContext, Layer};
//! # use kiln::ir::{TensorType, ValueId};
//! #[derive(Clone, Debug, serde::Serialize, serde::Deserialize)]
//! struct Double { name: String }
//!
//! impl Layer for Double {
//!     fn name(&self) -> &str { &self.name }
//!     fn class_name(&self) -> &'static str { "my_package>Double" }
//!     fn compute_output_shape(&self, inputs: &[TensorType]) -> kiln::Result<Vec<TensorType>> {
//!         Ok(inputs.to_vec())
//!     }
//!     fn emit(&self, ctx: &mut EmitContext, inputs: &[ValueId]) -> kiln::Result<Vec<ValueId>> {
//!         Ok(vec![ctx.scale(inputs[0], 2.0)?])
//!     }
//!     fn config(&self) -> serde_json::Value { serde_json::to_value(self).unwrap() }
//! }
//!
//! register_layer::<Double>("my_package>Double")?;
//! let layer = Double { name: "double".into() };
//! let rebuilt = layer_from_config(layer.class_name(), &layer.config())?;
//! assert_eq!(rebuilt.name(), "double");
//! # Ok::<(), kiln::KilnError>(())
//! ```

use crate::error::{KilnError, Result};
use crate::layer::Layer;
use serde::de::DeserializeOwned;
use serde_json::Value;
use std::collections::BTreeMap;
use std::sync::{Mutex, OnceLock};

/// Builds a layer from its Kiln config.
pub(crate) type Factory = fn(&Value) -> Result<Box<dyn Layer>>;

fn make<L: Layer + DeserializeOwned>(config: &Value) -> Result<Box<dyn Layer>> {
    let layer: L = serde_json::from_value(config.clone()).map_err(|e| KilnError::Data(format!("{e}")))?;
    refuse_unknown_fields(&layer.config(), config)?;
    Ok(Box::new(layer))
}

/// A field of a saved config that the rebuilt layer does not keep is refused, not silently
/// dropped (a typo, or a file from a newer Kiln): `config` must name only fields of
/// `known` (the rebuilt layer's config), or carry `null` for one it leaves out.
fn refuse_unknown_fields(known: &Value, config: &Value) -> Result<()> {
    let (Some(known), Some(given)) = (known.as_object(), config.as_object()) else {
        return Ok(());
    };
    match given.iter().find(|(k, v)| !known.contains_key(*k) && !v.is_null()) {
        Some((field, _)) => Err(KilnError::Data(format!(
            "unknown config field '{field}'; the fields are: {}",
            known.keys().map(String::as_str).collect::<Vec<_>>().join(", ")
        ))),
        None => Ok(()),
    }
}

fn registry() -> &'static Mutex<BTreeMap<String, Factory>> {
    static REGISTRY: OnceLock<Mutex<BTreeMap<String, Factory>>> = OnceLock::new();
    REGISTRY.get_or_init(|| Mutex::new(crate::layers::builtin_factories()))
}

/// Registers a custom layer type under `class_name` (what its `class_name()` returns;
/// Keras's convention is `"package>Name"`). Registering a name twice for the same program
/// is allowed; a built-in class name is refused.
pub fn register_layer<L: Layer + DeserializeOwned>(class_name: &str) -> Result<()> {
    if crate::layers::catalogue().contains(&class_name) {
        return Err(KilnError::Data(format!(
            "cannot register a custom layer as '{class_name}': a built-in layer has that name"
        )));
    }
    registry()
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .insert(class_name.to_string(), make::<L>);
    Ok(())
}

/// Rebuilds a layer from its class name and its Kiln config (`Layer::config`).
pub fn layer_from_config(class_name: &str, config: &Value) -> Result<Box<dyn Layer>> {
    let factory = registry()
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .get(class_name)
        .copied()
        .ok_or_else(|| {
            KilnError::Data(format!(
                "unknown layer class '{class_name}': a custom layer must be registered with kiln::registry::register_layer before a model using it is loaded"
            ))
        })?;
    factory(config).map_err(|e| KilnError::Data(format!("layer class '{class_name}': invalid config: {e}")))
}

/// Every registered class name, built-in and custom.
pub fn registered_layers() -> Vec<String> {
    registry()
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .keys()
        .cloned()
        .collect()
}

/// The registry entry of a built-in layer type.
pub(crate) fn factory<L: Layer + DeserializeOwned>() -> Factory {
    make::<L>
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_catalogue_layer_is_registered_and_round_trips_its_config() {
        let registered = registered_layers();
        let missing: Vec<&str> = crate::layers::catalogue()
            .into_iter()
            .filter(|c| !registered.iter().any(|r| r == c))
            .collect();
        assert!(missing.is_empty(), "not in the registry: {missing:?}");
        let catalogue = crate::layers::catalogue();
        assert!(
            catalogue.windows(2).all(|w| w[0] < w[1]),
            "the catalogue is sorted, without repeats"
        );
        let dense = crate::layers::Dense::new(3).activation("relu").name("d");
        let back = layer_from_config("Dense", &dense.config()).unwrap();
        assert_eq!(back.config(), dense.config());
    }

    #[test]
    fn unknown_classes_say_how_to_register_them() {
        let err = layer_from_config("Mystery", &Value::Null).unwrap_err().to_string();
        assert!(err.contains("register_layer"), "{err}");
        let err = register_layer::<crate::layers::Dense>("Dense").unwrap_err().to_string();
        assert!(err.contains("built-in"), "{err}");
    }
}
