//! The `Layer` trait and the context a layer emits its IR into.

use crate::error::{KilnError, Result};
use kiln_ir::{Graph, Initializer, Op, Shape, TensorType, ValueId};
use std::collections::HashMap;
use std::fmt::Debug;

/// A Keras layer: a function from its configuration to an IR subgraph plus weights.
///
/// A layer's methods follow Keras's: [`validate`](Layer::validate) checks the arguments
/// (Keras's `__init__` checks), [`compute_output_shape`](Layer::compute_output_shape)
/// gives the output types for input types (and refuses inputs it cannot take, naming
/// the expected and received shapes), [`emit`](Layer::emit) builds the layer's weights
/// from its input shapes and writes its ops (`build` + `call`), and
/// [`config`](Layer::config) is `get_config`.
pub trait Layer: Debug + LayerClone + 'static {
    /// The layer's name (`dense_1`).
    fn name(&self) -> &str;

    /// The Keras class name (`Dense`).
    fn class_name(&self) -> &'static str;

    /// Checks the constructor arguments.
    fn validate(&self) -> Result<()> {
        Ok(())
    }

    /// Output types for the given input types.
    fn compute_output_shape(&self, inputs: &[TensorType]) -> Result<Vec<TensorType>>;

    /// Creates the layer's weights and emits its ops; returns the output values.
    fn emit(&self, ctx: &mut EmitContext, inputs: &[ValueId]) -> Result<Vec<ValueId>>;

    /// The constructor arguments, as `get_config` returns them.
    fn config(&self) -> serde_json::Value;

    /// Whether the layer takes a list of inputs (merging layers) rather than one.
    fn takes_list(&self) -> bool {
        false
    }

    /// Whether the layer's weights are updated by training.
    fn trainable(&self) -> bool {
        true
    }
}

/// Cloning boxed layers.
pub trait LayerClone {
    /// A boxed copy.
    fn clone_box(&self) -> Box<dyn Layer>;
}

impl<T: Layer + Clone> LayerClone for T {
    fn clone_box(&self) -> Box<dyn Layer> {
        Box::new(self.clone())
    }
}

impl Clone for Box<dyn Layer> {
    fn clone(&self) -> Self {
        (**self).clone_box()
    }
}

/// A boxed layer is a layer (layers built from configs are boxed).
impl Layer for Box<dyn Layer> {
    fn name(&self) -> &str {
        (**self).name()
    }
    fn class_name(&self) -> &'static str {
        (**self).class_name()
    }
    fn validate(&self) -> Result<()> {
        (**self).validate()
    }
    fn compute_output_shape(&self, inputs: &[TensorType]) -> Result<Vec<TensorType>> {
        (**self).compute_output_shape(inputs)
    }
    fn emit(&self, ctx: &mut EmitContext, inputs: &[ValueId]) -> Result<Vec<ValueId>> {
        (**self).emit(ctx, inputs)
    }
    fn config(&self) -> serde_json::Value {
        (**self).config()
    }
    fn takes_list(&self) -> bool {
        (**self).takes_list()
    }
    fn trainable(&self) -> bool {
        (**self).trainable()
    }
}

/// The errors a layer raises, with its name and class filled in.
pub(crate) fn incompatible(layer: &dyn Layer, message: impl Into<String>) -> KilnError {
    KilnError::Incompatible {
        layer: layer.name().to_string(),
        class: layer.class_name().to_string(),
        message: message.into(),
    }
}

/// An invalid constructor argument of `layer`.
pub(crate) fn bad_argument(layer: &dyn Layer, message: impl Into<String>) -> KilnError {
    KilnError::Argument {
        layer: layer.name().to_string(),
        class: layer.class_name().to_string(),
        message: message.into(),
    }
}

/// Where layers write their ops and weights. Weights are keyed by `layer/weight`, so a
/// layer applied twice shares its weights.
pub struct EmitContext<'g> {
    graph: &'g mut Graph,
    weights: HashMap<String, ValueId>,
    layer: String,
    trainable: bool,
}

impl<'g> EmitContext<'g> {
    pub(crate) fn new(graph: &'g mut Graph) -> Self {
        let weights = graph.params().iter().map(|p| (p.name.clone(), p.value)).collect();
        EmitContext {
            graph,
            weights,
            layer: String::new(),
            trainable: true,
        }
    }

    pub(crate) fn enter(&mut self, layer: &dyn Layer) {
        self.layer = layer.name().to_string();
        self.trainable = layer.trainable();
    }

    /// The layer being emitted.
    pub fn layer(&self) -> &str {
        &self.layer
    }

    /// Appends an op labelled with the current layer.
    pub fn push(&mut self, op: Op, inputs: &[ValueId]) -> Result<ValueId> {
        Ok(self.graph.push(op, inputs, &self.layer)?)
    }

    /// The type of a value.
    pub fn value_type(&self, v: ValueId) -> Result<TensorType> {
        Ok(self.graph.value_type(v)?.clone())
    }

    /// The weight `name` of the current layer, created on first use with `shape` and
    /// `init`; on later uses (a shared layer) its shape must match.
    pub fn weight(&mut self, name: &str, shape: Shape, init: Initializer) -> Result<ValueId> {
        let trainable = self.trainable;
        self.weight_with(name, shape, init, trainable)
    }

    /// A weight that optimizers never update (BatchNormalization's moving statistics),
    /// counted under "Non-trainable params" in `summary`.
    pub fn non_trainable_weight(&mut self, name: &str, shape: Shape, init: Initializer) -> Result<ValueId> {
        self.weight_with(name, shape, init, false)
    }

    /// After each training step, the weight `weight` takes `value` (computed in that step).
    pub fn add_update(&mut self, weight: ValueId, value: ValueId) -> Result<()> {
        Ok(self.graph.add_update(weight, value)?)
    }

    /// Adds a scalar term to the training loss (regularization penalties).
    pub fn add_loss(&mut self, value: ValueId) -> Result<()> {
        Ok(self.graph.add_loss(value)?)
    }

    /// Projects `weight` with `constraint` after every optimizer step.
    pub fn constrain(&mut self, weight: ValueId, constraint: kiln_ir::Constraint) -> Result<()> {
        Ok(self.graph.set_constraint(weight, constraint)?)
    }

    fn weight_with(&mut self, name: &str, shape: Shape, init: Initializer, trainable: bool) -> Result<ValueId> {
        let full = format!("{}/{name}", self.layer);
        if let Some(&v) = self.weights.get(&full) {
            let existing = self.graph.value_type(v)?.shape.clone();
            if existing != shape {
                return Err(KilnError::Incompatible {
                    layer: self.layer.clone(),
                    class: "shared layer".into(),
                    message: format!(
                        "weight '{full}' was built with shape {} but this call needs {}",
                        existing.keras_string(),
                        shape.keras_string()
                    ),
                });
            }
            return Ok(v);
        }
        let v = self.graph.add_param(full.clone(), shape, init, trainable)?;
        self.weights.insert(full, v);
        Ok(v)
    }
}
