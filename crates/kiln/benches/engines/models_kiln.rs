//! The three benchmark models in Kiln, as a Keras user writes them, with their host inputs.

use super::data::{Batch, CLASSES, SIDE};
use super::model_kind::ModelKind;
use kiln::prelude::*;

/// `kind` in Kiln on `device`, compiled with Adam (learning rate 1e-3, epsilon 1e-7: Keras's
/// defaults) and sparse categorical cross-entropy.
pub fn model(kind: ModelKind, device: &Device) -> kiln::Result<Model> {
    kiln::set_random_seed(0);
    let mut model = Sequential::new();
    match kind {
        ModelKind::Mlp => {
            model.add(Input::new([SIDE * SIDE]))?;
            model.add(Dense::new(128).activation("relu"))?;
            model.add(Dense::new(64).activation("relu"))?;
        }
        ModelKind::Cnn => {
            model.add(Input::new([SIDE, SIDE, 1]))?;
            model.add(Conv2D::new(32, 3).activation("relu"))?;
            model.add(MaxPooling2D::new())?;
            model.add(Conv2D::new(64, 3).activation("relu"))?;
            model.add(MaxPooling2D::new())?;
            model.add(Flatten::new())?;
        }
        ModelKind::Lstm => {
            model.add(Input::new([SIDE, SIDE]))?;
            model.add(LSTM::new(128))?;
        }
    }
    model.add(Dense::new(CLASSES).activation("softmax"))?;
    model.to_device(device)?;
    let adam = Adam::new().learning_rate(1e-3).epsilon(1e-7);
    model.compile(adam, "sparse_categorical_crossentropy", &[])?;
    Ok(model)
}

/// The batch as Kiln's host tensors: the images in `kind`'s input shape (channels-last
/// `(n, 28, 28, 1)` for the CNN) and the labels.
pub fn inputs(kind: ModelKind, batch: &Batch) -> kiln::Result<(Tensor, Tensor)> {
    let shape = match kind {
        ModelKind::Mlp => vec![batch.size, SIDE * SIDE],
        ModelKind::Cnn => vec![batch.size, SIDE, SIDE, 1],
        ModelKind::Lstm => vec![batch.size, SIDE, SIDE],
    };
    let x = Tensor::from_f32(batch.pixels.clone(), shape).map_err(|e| KilnError::Data(e.to_string()))?;
    let y = Tensor::from_i32(batch.labels.clone(), [batch.size]).map_err(|e| KilnError::Data(e.to_string()))?;
    Ok((x, y))
}
