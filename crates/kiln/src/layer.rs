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

    /// Keras's `supports_masking` with the default `compute_mask`: the first output carries
    /// the first input's mask unchanged (merging layers: the union of their inputs' masks).
    /// By default true for the Keras classes that do so (`Dense`, `Activation`, `Dropout`,
    /// the normalizations, …; `Add`, `Multiply`, … merge); a layer that makes or consumes masks overrides
    /// [`compute_output_masks`](Layer::compute_output_masks) and
    /// [`emit_masked`](Layer::emit_masked) instead.
    fn passes_mask(&self) -> bool {
        MASK_PASSING_CLASSES.contains(&self.class_name()) || MASK_MERGING_CLASSES.contains(&self.class_name())
    }

    /// Whether the layer checks an explicit mask's shape itself (in
    /// [`compute_output_masks`](Layer::compute_output_masks)) and so takes any mask it can
    /// broadcast, such as one of the input's own shape (`Softmax`). Otherwise an explicit
    /// mask must have the input's shape without its last axis.
    fn checks_mask_shape(&self) -> bool {
        false
    }

    /// The masks of the outputs (Keras's `compute_mask`) for inputs of types `inputs` whose
    /// masks have the shapes `masks` (`None`: no mask), one entry per output; missing
    /// entries mean no mask. A mask is an f32 value, 1.0 where a step is kept, usually of
    /// shape `(batch, timesteps)`. A mask the layer cannot take is an error naming it.
    fn compute_output_masks(&self, inputs: &[TensorType], masks: &[Option<Shape>]) -> Result<Vec<Option<Shape>>> {
        let _ = inputs;
        Ok(vec![default_output_mask(self, masks)])
    }

    /// Emits the layer for inputs carrying `masks` (`None`: no mask) and returns its
    /// outputs and their masks, as [`compute_output_masks`](Layer::compute_output_masks)
    /// promised. By default [`emit`](Layer::emit), with the mask passed on when
    /// [`passes_mask`](Layer::passes_mask).
    fn emit_masked(
        &self,
        ctx: &mut EmitContext,
        inputs: &[ValueId],
        masks: &[Option<ValueId>],
    ) -> Result<(Vec<ValueId>, Vec<Option<ValueId>>)> {
        let outputs = self.emit(ctx, inputs)?;
        let shapes = masks
            .iter()
            .map(|m| m.map(|m| ctx.shape(m)).transpose())
            .collect::<Result<Vec<_>>>()?;
        let mut mask = None;
        if default_output_mask(self, &shapes).is_some() {
            for &m in masks.iter().flatten() {
                mask = Some(match mask {
                    Some(acc) => ctx.binary(kiln_ir::BinaryOp::Maximum, acc, m)?,
                    None => m,
                });
            }
            if !MASK_MERGING_CLASSES.contains(&self.class_name()) {
                mask = masks[0];
            }
        }
        Ok((outputs, vec![mask]))
    }
}

/// Keras classes whose first output carries the first input's mask unchanged (they set
/// `supports_masking` and keep the default `compute_mask`).
pub(crate) const MASK_PASSING_CLASSES: &[&str] = &[
    "Activation",
    "ActivityRegularization",
    "AlphaDropout",
    "BatchNormalization",
    "Dense",
    "Dropout",
    "ELU",
    "GaussianDropout",
    "GaussianNoise",
    "GroupNormalization",
    "GroupedQueryAttention",
    "Identity",
    "LayerNormalization",
    "LeakyReLU",
    "MultiHeadAttention",
    "Normalization",
    "PReLU",
    "ReLU",
    "Rescaling",
    "Softmax",
    "TimeDistributed",
    "UnitNormalization",
];

/// Keras merging classes whose output mask is the union (logical or) of their inputs'
/// masks when every input has one, and no mask otherwise.
pub(crate) const MASK_MERGING_CLASSES: &[&str] = &["Add", "Average", "Maximum", "Minimum", "Multiply", "Subtract"];

/// The shape of the default output mask: input 0's mask for a mask-passing layer; for a
/// merging class, the union when every input has a mask of one shape.
fn default_output_mask<L: Layer + ?Sized>(layer: &L, masks: &[Option<Shape>]) -> Option<Shape> {
    if !layer.passes_mask() {
        return None;
    }
    let first = masks.first()?.clone()?;
    if MASK_MERGING_CLASSES.contains(&layer.class_name()) {
        return masks.iter().all(|m| m.as_ref() == Some(&first)).then_some(first);
    }
    Some(first)
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
    fn passes_mask(&self) -> bool {
        (**self).passes_mask()
    }
    fn checks_mask_shape(&self) -> bool {
        (**self).checks_mask_shape()
    }
    fn compute_output_masks(&self, inputs: &[TensorType], masks: &[Option<Shape>]) -> Result<Vec<Option<Shape>>> {
        (**self).compute_output_masks(inputs, masks)
    }
    fn emit_masked(
        &self,
        ctx: &mut EmitContext,
        inputs: &[ValueId],
        masks: &[Option<ValueId>],
    ) -> Result<(Vec<ValueId>, Vec<Option<ValueId>>)> {
        (**self).emit_masked(ctx, inputs, masks)
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
    /// Inside a repeated call of a sub-layer ([`EmitContext::emit_sublayer_again`]).
    repeat: bool,
    /// Weights whose regularization penalty is already in the loss.
    penalized: std::collections::HashSet<ValueId>,
}

impl<'g> EmitContext<'g> {
    pub(crate) fn new(graph: &'g mut Graph) -> Self {
        let weights = graph.params().iter().map(|p| (p.name.clone(), p.value)).collect();
        EmitContext {
            graph,
            weights,
            layer: String::new(),
            trainable: true,
            repeat: false,
            penalized: std::collections::HashSet::new(),
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

    /// `true` the first time it is asked about `weight`: a shared layer's weight penalty
    /// enters the loss once however often the layer is called, as in Keras.
    pub(crate) fn first_penalty(&mut self, weight: ValueId) -> bool {
        self.penalized.insert(weight)
    }

    /// After each training step, the weight `weight` takes `value` (computed in that step).
    pub fn add_update(&mut self, weight: ValueId, value: ValueId) -> Result<()> {
        if self.repeat {
            return Err(KilnError::Incompatible {
                layer: self.layer.clone(),
                class: "repeated sub-layer".into(),
                message: "a layer with state updates cannot be called more than once inside another layer (its updates would not chain from call to call)".into(),
            });
        }
        Ok(self.graph.add_update(weight, value)?)
    }

    /// Adds a scalar term to the training loss (regularization penalties). Inside a
    /// repeated sub-layer call ([`emit_sublayer_again`](EmitContext::emit_sublayer_again))
    /// the term is dropped: Keras counts a layer's weight penalties once.
    pub fn add_loss(&mut self, value: ValueId) -> Result<()> {
        if self.repeat {
            return Ok(());
        }
        Ok(self.graph.add_loss(value)?)
    }

    /// Emits `layer` as a part of the current layer (the layer a wrapper such as
    /// `TimeDistributed` or `Bidirectional` holds): its weights are named
    /// `<current layer>/<its name>/<weight>`, Keras's variable paths; its ops are labelled
    /// `<current layer>/<its name>`; its weights are trainable when both layers are.
    pub fn emit_sublayer(&mut self, layer: &dyn Layer, inputs: &[ValueId]) -> Result<Vec<ValueId>> {
        self.sublayer(layer, inputs, false)
    }

    /// [`emit_sublayer`](EmitContext::emit_sublayer) for a further call of a sub-layer
    /// already emitted in the current layer (`TimeDistributed`'s later time steps): the
    /// weights are shared, the losses it adds are dropped, and state updates are refused.
    pub fn emit_sublayer_again(&mut self, layer: &dyn Layer, inputs: &[ValueId]) -> Result<Vec<ValueId>> {
        self.sublayer(layer, inputs, true)
    }

    fn sublayer(&mut self, layer: &dyn Layer, inputs: &[ValueId], repeat: bool) -> Result<Vec<ValueId>> {
        let outer = (self.layer.clone(), self.trainable, self.repeat);
        self.layer = format!("{}/{}", outer.0, layer.name());
        self.trainable = outer.1 && layer.trainable();
        self.repeat = outer.2 || repeat;
        let out = layer.emit(self, inputs);
        (self.layer, self.trainable, self.repeat) = outer;
        out
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
