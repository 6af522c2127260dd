//! Whole Keras model configs (`config.json` of a `.keras` file, `model_config` of a
//! legacy `.h5` file) to Kiln models and back.

use crate::error::{KilnError, Result};
use crate::model::Model;
use serde_json::Value;

/// The Kiln model (uninitialised weights, default device) that the Keras model config
/// `config` (`{"class_name": "Sequential" | "Functional", "config": {…}}`) describes.
pub fn model_from_keras_config(config: &Value) -> Result<Model> {
    let _ = config;
    Err(KilnError::Keras {
        class: "Model".into(),
        message: "importing Keras model configs is not implemented yet".into(),
    })
}

/// The Keras model config of `model`, as Keras 3 writes it in `config.json`.
pub fn model_to_keras_config(model: &Model) -> Result<Value> {
    let _ = model;
    Err(KilnError::Keras {
        class: "Model".into(),
        message: "exporting Keras model configs is not implemented yet".into(),
    })
}
