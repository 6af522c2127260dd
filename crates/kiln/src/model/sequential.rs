//! `Sequential`: a model made of layers added one after the other.

use super::symbolic::call_layer;
use super::{Kind, Model, SymbolicTensor};
use crate::devices::Device;
use crate::error::{KilnError, Result};
use crate::layer::Layer;
use crate::model::Input;

/// Builds a Sequential model: `Sequential::new()` returns a [`Model`] to which layers
/// are [`add`](Model::add)ed in order.
///
/// ```
/// use kiln::prelude::*;
/// let mut model = Sequential::new();
/// model.add(Dense::new(64).activation("relu").input_shape([100]))?;
/// model.add(Dense::new(32).activation("relu"))?;
/// model.add(Dense::new(10).activation("softmax"))?;
/// assert_eq!(model.count_params(), 8874);
/// # Ok::<(), kiln::KilnError>(())
/// ```
pub struct Sequential;

impl Sequential {
    /// An empty Sequential model named `sequential`, `sequential_1`, …
    #[allow(clippy::new_ret_no_self)]
    pub fn new() -> Model {
        Model {
            name: crate::names::unique_name("sequential"),
            kind: Kind::Sequential {
                input: None,
                tail: None,
                pending: Vec::new(),
            },
            built: None,
            device: Device::default_device().unwrap_or(Device::Flex),
            compiled: None,
            stop_training: false,
            replicas: None,
            dtype_policy: None,
            layer_policies: Default::default(),
        }
    }
}

/// What [`Model::add`] takes: an `Input`, a layer, or a layer with its input shape.
pub enum SequentialEntry {
    /// The model's input.
    Input(SymbolicTensor),
    /// A layer.
    Layer(Box<dyn Layer>),
    /// A first layer with the input shape it expects (without the batch dimension).
    Shaped(Box<dyn Layer>, Vec<usize>),
}

impl From<SymbolicTensor> for SequentialEntry {
    fn from(t: SymbolicTensor) -> Self {
        SequentialEntry::Input(t)
    }
}

impl<L: Layer + Clone> From<L> for SequentialEntry {
    fn from(l: L) -> Self {
        SequentialEntry::Layer(Box::new(l))
    }
}

/// Gives a layer the input shape of a Sequential model (Keras's `input_shape=`).
pub trait WithInputShape {
    /// This layer, expecting samples of `shape`.
    fn input_shape(self, shape: impl IntoIterator<Item = usize>) -> SequentialEntry;
}

impl<L: Layer + Clone> WithInputShape for L {
    fn input_shape(self, shape: impl IntoIterator<Item = usize>) -> SequentialEntry {
        SequentialEntry::Shaped(Box::new(self), shape.into_iter().collect())
    }
}

impl Model {
    /// Adds a layer (or the input) to a Sequential model. Shapes are checked now: a
    /// layer that cannot take the previous layer's output is refused with an error, and
    /// the model is left as it was.
    pub fn add(&mut self, entry: impl Into<SequentialEntry>) -> Result<()> {
        let name = self.name.clone();
        let Kind::Sequential { input, tail, pending } = &self.kind else {
            return Err(KilnError::Model {
                model: name,
                message: "add() is for Sequential models; this one is Functional".into(),
            });
        };
        let started = input.is_some() || !pending.is_empty();
        let model_error = |message: String| KilnError::Model {
            model: name.clone(),
            message,
        };
        // Work out the new input and tail first; the model changes only once all checks pass.
        let (model_input, previous, layer) = match entry.into() {
            SequentialEntry::Input(t) => {
                if started {
                    return Err(model_error(
                        "an Input can only be the first entry of a Sequential model".into(),
                    ));
                }
                self.kind = Kind::Sequential {
                    input: Some(t.clone()),
                    tail: Some(t),
                    pending: Vec::new(),
                };
                return Ok(());
            }
            SequentialEntry::Shaped(layer, shape) => {
                if started {
                    return Err(model_error(format!(
                        "only the first layer can set the input shape; '{}' is not first",
                        layer.name()
                    )));
                }
                let t = Input::new(shape);
                (Some(t.clone()), Some(t), layer)
            }
            SequentialEntry::Layer(layer) => (input.clone(), tail.clone(), layer),
        };
        if layer.takes_list() {
            return Err(model_error(format!(
                "'{}' merges several inputs and cannot be used in a Sequential model",
                layer.name()
            )));
        }
        let (Some(model_input), Some(previous)) = (model_input, previous) else {
            layer.validate()?;
            if let Kind::Sequential { pending, .. } = &mut self.kind {
                pending.push(layer);
            }
            return Ok(());
        };
        let next = call_layer(layer, vec![previous])?;
        let built = super::build::build(&name, &self.device, vec![model_input.clone()], vec![next.clone()])?;
        self.kind = Kind::Sequential {
            input: Some(model_input),
            tail: Some(next),
            pending: Vec::new(),
        };
        self.compiled = None;
        self.built = Some(built);
        Ok(())
    }
}
