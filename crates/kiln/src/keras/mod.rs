//! Kiln layers from Keras layer configurations (`{"class_name": "Conv2D", "config": {…}}`),
//! the basis of importing Keras models. An argument Kiln does not support is an error
//! that names it; nothing is silently ignored.
//!
//! ```
//! use kiln::keras::layer_from_config;
//! let layer = layer_from_config("Dense", &serde_json::json!({"units": 4, "activation": "relu"}))?;
//! assert_eq!(layer.class_name(), "Dense");
//! let err = layer_from_config("Dense", &serde_json::json!({"units": 4, "colour": "red"})).unwrap_err();
//! assert_eq!(err.to_string(), "Keras layer Dense: unsupported argument(s): colour");
//! # Ok::<(), kiln::KilnError>(())
//! ```

mod archive;
mod config;
pub(crate) mod export;
mod h5_data;
pub(crate) mod import;
mod layer_order;
mod legacy_h5;
mod model_config;
mod objects;
mod weights_h5;

pub use config::KerasConfig;
pub use model_config::{model_from_keras_config, model_to_keras_config};

use crate::error::{KilnError, Result};
use crate::layer::Layer;
use crate::layers::*;
use serde_json::Value;

/// A layer that can be built from its Keras config.
pub trait FromKeras: Sized {
    /// Reads the arguments this layer supports from `config`.
    fn from_keras(config: &KerasConfig) -> Result<Self>;
}

/// Config keys every layer accepts whatever its class: they describe the layer's place
/// and numeric type, which Kiln sets itself (float32).
const COMMON_KEYS: &[&str] = &[
    "name",
    "trainable",
    "dtype",
    "batch_input_shape",
    "input_shape",
    "build_config",
];

fn build<L: FromKeras + Layer + Clone>(config: &KerasConfig) -> Result<Box<dyn Layer>> {
    Ok(Box::new(L::from_keras(config)?))
}

/// The layer of Keras class `class` with Keras config `config`.
pub fn layer_from_config(class: &str, config: &Value) -> Result<Box<dyn Layer>> {
    let c = KerasConfig::new(class, config)?;
    let layer = match class {
        "Activation" => build::<Activation>(&c)?,
        "ActivityRegularization" => build::<ActivityRegularization>(&c)?,
        "Add" => build::<Add>(&c)?,
        "AdditiveAttention" => build::<AdditiveAttention>(&c)?,
        "AlphaDropout" => build::<AlphaDropout>(&c)?,
        "Attention" => build::<Attention>(&c)?,
        "Average" => build::<Average>(&c)?,
        "AveragePooling1D" => build::<AveragePooling1D>(&c)?,
        "AveragePooling2D" => build::<AveragePooling2D>(&c)?,
        "BatchNormalization" => build::<BatchNormalization>(&c)?,
        "Bidirectional" => Box::new(Bidirectional::from_keras_config(&c, config)?),
        "Concatenate" => build::<Concatenate>(&c)?,
        "Conv1D" => build::<Conv1D>(&c)?,
        "Conv2D" => build::<Conv2D>(&c)?,
        "Conv2DTranspose" => build::<Conv2DTranspose>(&c)?,
        "Cropping1D" => build::<Cropping1D>(&c)?,
        "Cropping2D" => build::<Cropping2D>(&c)?,
        "Dense" => build::<Dense>(&c)?,
        "DepthwiseConv2D" => build::<DepthwiseConv2D>(&c)?,
        "Dot" => build::<Dot>(&c)?,
        "Dropout" => build::<Dropout>(&c)?,
        "ELU" => build::<ELU>(&c)?,
        "Embedding" => build::<Embedding>(&c)?,
        "Flatten" => build::<Flatten>(&c)?,
        "GaussianDropout" => build::<GaussianDropout>(&c)?,
        "GaussianNoise" => build::<GaussianNoise>(&c)?,
        "GlobalAveragePooling1D" => build::<GlobalAveragePooling1D>(&c)?,
        "GlobalAveragePooling2D" => build::<GlobalAveragePooling2D>(&c)?,
        "GlobalMaxPooling1D" => build::<GlobalMaxPooling1D>(&c)?,
        "GlobalMaxPooling2D" => build::<GlobalMaxPooling2D>(&c)?,
        "GroupNormalization" => build::<GroupNormalization>(&c)?,
        "GRU" => build::<GRU>(&c)?,
        "LayerNormalization" => build::<LayerNormalization>(&c)?,
        "LeakyReLU" => build::<LeakyReLU>(&c)?,
        "LSTM" => build::<LSTM>(&c)?,
        "Masking" => build::<Masking>(&c)?,
        "MaxPooling1D" => build::<MaxPooling1D>(&c)?,
        "MaxPooling2D" => build::<MaxPooling2D>(&c)?,
        "Maximum" => build::<Maximum>(&c)?,
        "Minimum" => build::<Minimum>(&c)?,
        "MultiHeadAttention" => build::<MultiHeadAttention>(&c)?,
        "Multiply" => build::<Multiply>(&c)?,
        "Normalization" => build::<Normalization>(&c)?,
        "PReLU" => build::<PReLU>(&c)?,
        "Permute" => build::<Permute>(&c)?,
        "ReLU" => build::<ReLU>(&c)?,
        "RepeatVector" => build::<RepeatVector>(&c)?,
        "Rescaling" => build::<Rescaling>(&c)?,
        "Reshape" => build::<Reshape>(&c)?,
        "RMSNormalization" => build::<RMSNormalization>(&c)?,
        "SeparableConv2D" => build::<SeparableConv2D>(&c)?,
        "SimpleRNN" => build::<SimpleRNN>(&c)?,
        "Softmax" => build::<Softmax>(&c)?,
        "SpatialDropout1D" => build::<SpatialDropout1D>(&c)?,
        "SpatialDropout2D" => build::<SpatialDropout2D>(&c)?,
        "Subtract" => build::<Subtract>(&c)?,
        "TimeDistributed" => build::<TimeDistributed>(&c)?,
        "UpSampling1D" => build::<UpSampling1D>(&c)?,
        "UpSampling2D" => build::<UpSampling2D>(&c)?,
        "ZeroPadding1D" => build::<ZeroPadding1D>(&c)?,
        "ZeroPadding2D" => build::<ZeroPadding2D>(&c)?,
        // Further classes are added here, one line each, alphabetically.
        _ => {
            return Err(KilnError::Keras {
                class: class.to_string(),
                message: "this layer class is not supported".into(),
            });
        }
    };
    let unread: Vec<String> = c
        .unread()
        .into_iter()
        .filter(|k| !COMMON_KEYS.contains(&k.as_str()))
        .collect();
    if !unread.is_empty() {
        return Err(KilnError::Keras {
            class: class.to_string(),
            message: format!("unsupported argument(s): {}", unread.join(", ")),
        });
    }
    layer.validate()?;
    Ok(layer)
}

/// The name and trainable flag every layer config may carry.
pub(crate) fn common(c: &KerasConfig) -> Result<(Option<String>, Option<bool>)> {
    Ok((c.string("name")?, c.bool("trainable")?))
}
