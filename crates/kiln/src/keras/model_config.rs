//! Whole Keras model configs to Kiln models and back: the `config.json` of a Keras 3
//! `.keras` file, and the `model_config` attribute of a legacy `.h5` file (Keras 3's legacy
//! writer, Keras 2 and tf.keras).
//!
//! # How Kiln layers map to Keras layers
//!
//! One Kiln layer is one Keras layer, with the same class name and the same layer name; a
//! Kiln model input is a Keras `InputLayer` of the input's name. Exported configs list the
//! layers in Kiln's execution order (each layer where it is first called), which is the
//! order of Kiln's weights ([`Model::weight_names`]: `<layer name>/<weight>`), so weights
//! map layer by layer, by name. A layer applied several times (a shared layer) is one
//! entry with several `inbound_nodes`, and one set of weights.
//!
//! # Reading
//!
//! - `Sequential`, with or without an `InputLayer` entry; without one the input shape comes
//!   from the model's `build_input_shape`, or the first layer's `batch_input_shape`,
//!   `batch_shape` or `build_config.input_shape` (an `Embedding` first takes int32
//!   indices). Without any, the model is left unbuilt, as in Keras.
//! - `Functional` (and Keras 2's `Model`): `input_layers`, `output_layers` and every
//!   layer's `inbound_nodes`, in Keras 3's format (`{"args": […], "kwargs": {…}}` with
//!   `__keras_tensor__` objects, lists of them for merging layers) or Keras 2's
//!   (`[["dense", 0, 0, {}]]`). Layers with several calls share their weights; layers with
//!   several outputs (`LSTM(return_state=True)`) give each of them.
//! - Call arguments: a `mask` that Kiln propagates itself (Keras 3 records the mask of
//!   `Embedding(mask_zero=True)` as a `NotEqual` operation) is dropped, another is given
//!   with `apply_with_mask`; `MultiHeadAttention`'s `query`, `value`, `key` and
//!   `attention_mask`; `use_causal_mask` and `return_attention_scores` become layer
//!   options; `training` may be `null` or `false` (Kiln runs layers in training mode in
//!   `fit` and in inference mode otherwise). Any other call argument is refused by name.
//! - Layer configs go through [`crate::keras::layer_from_config`]: an argument Kiln does
//!   not support is refused by name.
//! - Refused, naming the layer: `Lambda` (and TensorFlow op layers) — Kiln never runs code
//!   from a file —, classes Kiln does not have, custom objects (a `registered_name` that is
//!   not the class, a module outside Keras), nested models, dtype policies other than
//!   float32 (mixed precision), Keras operations used as layer inputs, sparse, ragged or
//!   optional inputs. A fixed batch size in an input shape is read as a free one.
//!
//! # Writing
//!
//! The config Keras 3 writes (`module`, `class_name`, `config`, `registered_name`,
//! `build_config`): a Sequential model with its `InputLayer` first, or a Functional one with
//! `inbound_nodes` in Keras 3's format and `input_layers` / `output_layers`. Each layer's
//! Keras config is made from its Kiln config by one general translation (initializers,
//! regularizers and constraints become serialized Keras objects, numbers their shortest
//! float32 form) plus a few per-class fix-ups, and is checked by reading it back through
//! [`crate::keras::layer_from_config`]: a config that does not give back the same layer
//! is an error naming the layer and the difference, so an exported file never holds a
//! different model. A custom layer without a Keras counterpart is an error naming it.

mod entry;
mod export;
mod import;
mod layer_export;
mod nodes;

use crate::error::Result;
use crate::model::Model;
use serde_json::Value;

/// The Kiln model (freshly initialised weights, default device) that the Keras model config
/// `config` (`{"class_name": "Sequential" | "Functional", "config": {…}}`) describes.
///
/// ```
/// use kiln::keras::model_from_keras_config;
/// let config = serde_json::json!({
///     "class_name": "Sequential",
///     "config": {"name": "mlp", "layers": [
///         {"class_name": "InputLayer", "config": {"batch_shape": [null, 4], "name": "x"}},
///         {"class_name": "Dense", "config": {"name": "hidden", "units": 8, "activation": "relu"}},
///         {"class_name": "Dense", "config": {"name": "out", "units": 2}}
///     ]}
/// });
/// let model = model_from_keras_config(&config)?;
/// assert_eq!(model.name(), "mlp");
/// assert_eq!(model.count_params(), 4 * 8 + 8 + 8 * 2 + 2);
/// assert_eq!(model.weight_names()[0], "hidden/kernel");
/// # Ok::<(), kiln::KilnError>(())
/// ```
pub fn model_from_keras_config(config: &Value) -> Result<Model> {
    import::import(config)
}

/// The Keras model config of `model`, as Keras 3 writes it in `config.json`: what
/// `keras.models.model_from_json` reads.
///
/// ```
/// use kiln::keras::{model_from_keras_config, model_to_keras_config};
/// use kiln::prelude::*;
/// let mut model = Sequential::new();
/// model.add(Dense::new(8).activation("relu").input_shape([4]))?;
/// model.add(Dense::new(2))?;
/// let config = model_to_keras_config(&model)?;
/// assert_eq!(config["class_name"], "Sequential");
/// assert_eq!(config["config"]["layers"][1]["config"]["units"], 8);
/// let again = model_from_keras_config(&config)?;
/// assert_eq!(again.count_params(), model.count_params());
/// # Ok::<(), kiln::KilnError>(())
/// ```
pub fn model_to_keras_config(model: &Model) -> Result<Value> {
    export::export(model)
}
