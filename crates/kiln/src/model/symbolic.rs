//! Symbolic tensors: what `Input` and applying a layer return (Keras's `KerasTensor`).

use crate::error::{KilnError, Result};
use crate::layer::{Layer, incompatible};
use crate::names::unique_name;
use kiln_ir::{DType, Shape, TensorType};
use std::cell::Cell;
use std::rc::Rc;

thread_local! {
    static NEXT_NODE: Cell<u64> = const { Cell::new(0) };
}

fn next_node_id() -> u64 {
    NEXT_NODE.with(|n| {
        let id = n.get();
        n.set(id + 1);
        id
    })
}

/// What produced a symbolic tensor.
#[derive(Debug)]
pub(crate) enum Producer {
    /// A model input.
    Input { name: String },
    /// A layer call.
    Layer(Box<dyn Layer>),
}

/// One call of a layer (or one input) in the graph of symbolic tensors.
#[derive(Debug)]
pub(crate) struct SymNode {
    pub id: u64,
    pub producer: Producer,
    pub inputs: Vec<SymbolicTensor>,
    pub outputs: Vec<TensorType>,
    /// The shape of each output's mask (Keras's `_keras_mask`), or `None`.
    pub masks: Vec<Option<Shape>>,
    /// A mask given explicitly for the first input (Keras's `layer(x, mask=m)`).
    pub explicit_mask: Option<SymbolicTensor>,
}

impl SymNode {
    /// The layer name (or input name).
    pub fn name(&self) -> &str {
        match &self.producer {
            Producer::Input { name } => name,
            Producer::Layer(l) => l.name(),
        }
    }
}

/// A placeholder for a tensor in a model under construction: it knows its type and the
/// layer call that makes it. Returned by [`Input::new`] and by applying a layer.
#[derive(Clone, Debug)]
pub struct SymbolicTensor {
    pub(crate) node: Rc<SymNode>,
    pub(crate) index: usize,
}

impl SymbolicTensor {
    /// Its type.
    pub fn tensor_type(&self) -> &TensorType {
        &self.node.outputs[self.index]
    }

    /// Its shape; the batch dimension is `None`.
    pub fn shape(&self) -> &Shape {
        &self.tensor_type().shape
    }

    /// Its element type.
    pub fn dtype(&self) -> DType {
        self.tensor_type().dtype
    }

    /// The name of the layer (or input) that produces it.
    pub fn producer_name(&self) -> &str {
        self.node.name()
    }

    /// The shape of the mask it carries (Keras's `_keras_mask`: 1.0 where a timestep is
    /// kept), or `None`. `Embedding(mask_zero)` and `Masking` make masks; recurrent layers
    /// use them; `Dense`, `Dropout`, activations … pass them on.
    ///
    /// ```
    /// use kiln::prelude::*;
    /// let x = Input::new([6, 3]);
    /// let m = Masking::new().apply(&x)?;
    /// assert_eq!(m.mask_shape().unwrap().keras_string(), "(None, 6)");
    /// assert!(x.mask_shape().is_none());
    /// # Ok::<(), kiln::KilnError>(())
    /// ```
    pub fn mask_shape(&self) -> Option<&Shape> {
        self.node.masks.get(self.index).and_then(Option::as_ref)
    }
}

/// Model inputs: `Input::new([784])` is a symbolic tensor of shape `(None, 784)`.
///
/// ```
/// use kiln::prelude::*;
/// let x = Input::new([784]);
/// assert_eq!(x.shape().keras_string(), "(None, 784)");
/// assert_eq!(x.producer_name(), "input_layer");
/// ```
pub struct Input;

impl Input {
    /// A float input of shape `(None, *shape)`, named `input_layer`, `input_layer_1`, …
    #[allow(clippy::new_ret_no_self)]
    pub fn new(shape: impl IntoIterator<Item = usize>) -> SymbolicTensor {
        Self::build(unique_name("input_layer"), shape, DType::F32)
    }

    /// A float input with a name of your choosing.
    pub fn named(name: &str, shape: impl IntoIterator<Item = usize>) -> SymbolicTensor {
        Self::build(name.to_string(), shape, DType::F32)
    }

    /// An input of another element type (`DType::I32` for indices).
    pub fn with_dtype(shape: impl IntoIterator<Item = usize>, dtype: DType) -> SymbolicTensor {
        Self::build(unique_name("input_layer"), shape, dtype)
    }

    fn build(name: String, shape: impl IntoIterator<Item = usize>, dtype: DType) -> SymbolicTensor {
        let node = SymNode {
            id: next_node_id(),
            producer: Producer::Input { name },
            inputs: Vec::new(),
            outputs: vec![TensorType::new(dtype, Shape::batched(shape))],
            masks: vec![None],
            explicit_mask: None,
        };
        SymbolicTensor {
            node: Rc::new(node),
            index: 0,
        }
    }
}

/// Calling a layer on symbolic tensors (Keras's `layer(x)`), for every layer.
pub trait Apply {
    /// Applies the layer to one tensor.
    fn apply(&self, input: &SymbolicTensor) -> Result<SymbolicTensor>;
    /// Applies a merging layer to a list of tensors.
    fn apply_list(&self, inputs: &[&SymbolicTensor]) -> Result<SymbolicTensor>;
    /// Applies the layer to its inputs (one, or a list for merging layers) and returns
    /// every output: a recurrent layer with `return_state` gives its sequence and states.
    fn apply_all(&self, inputs: &[&SymbolicTensor]) -> Result<Vec<SymbolicTensor>>;
    /// Applies a one-input layer with an explicit mask for its input (Keras's
    /// `layer(x, mask=mask)`), which replaces any mask `input` carries: a tensor of the
    /// input's shape without its last axis, nonzero where a step is kept (`i32` or `f32`).
    /// Returns every output.
    ///
    /// ```
    /// use kiln::prelude::*;
    /// use kiln::DType;
    /// let x = Input::new([5, 3]);
    /// let keep = Input::with_dtype([5], DType::I32);
    /// let y = LSTM::new(4).return_sequences(true).apply_with_mask(&x, &keep)?;
    /// assert_eq!(y[0].mask_shape().unwrap().keras_string(), "(None, 5)");
    /// let model = Model::new(&[&x, &keep], &[&y[0]])?;
    /// # Ok::<(), kiln::KilnError>(())
    /// ```
    fn apply_with_mask(&self, input: &SymbolicTensor, mask: &SymbolicTensor) -> Result<Vec<SymbolicTensor>>;
}

impl<L: Layer + Clone> Apply for L {
    fn apply(&self, input: &SymbolicTensor) -> Result<SymbolicTensor> {
        if self.takes_list() {
            return Err(incompatible(
                self,
                "this layer takes a list of inputs: use apply_list(&[&a, &b])",
            ));
        }
        call_layer(Box::new(self.clone()), vec![input.clone()])
    }

    fn apply_list(&self, inputs: &[&SymbolicTensor]) -> Result<SymbolicTensor> {
        if !self.takes_list() {
            return Err(incompatible(
                self,
                format!("this layer takes one input, received a list of {}", inputs.len()),
            ));
        }
        call_layer(Box::new(self.clone()), inputs.iter().map(|t| (*t).clone()).collect())
    }

    fn apply_all(&self, inputs: &[&SymbolicTensor]) -> Result<Vec<SymbolicTensor>> {
        if !self.takes_list() && inputs.len() != 1 {
            return Err(incompatible(
                self,
                format!("this layer takes one input, received a list of {}", inputs.len()),
            ));
        }
        let first = call_layer(Box::new(self.clone()), inputs.iter().map(|t| (*t).clone()).collect())?;
        Ok(every_output(&first))
    }

    fn apply_with_mask(&self, input: &SymbolicTensor, mask: &SymbolicTensor) -> Result<Vec<SymbolicTensor>> {
        if self.takes_list() {
            return Err(incompatible(
                self,
                "an explicit mask is for one-input layers; this layer takes a list of inputs",
            ));
        }
        let want = Shape(input.shape().dims()[..input.shape().rank().saturating_sub(1)].to_vec());
        let shape_ok = *mask.shape() == want || self.checks_mask_shape();
        if !shape_ok || !matches!(mask.dtype(), DType::F32 | DType::I32) {
            return Err(incompatible(
                self,
                format!(
                    "expected a mask of shape {} (the input's shape without its last axis) for an input of shape {}, received {}",
                    want.keras_string(),
                    input.shape().keras_string(),
                    mask.tensor_type()
                ),
            ));
        }
        let first = call_layer_masked(Box::new(self.clone()), vec![input.clone()], Some(mask.clone()))?;
        Ok(every_output(&first))
    }
}

fn every_output(first: &SymbolicTensor) -> Vec<SymbolicTensor> {
    (0..first.node.outputs.len())
        .map(|index| SymbolicTensor {
            node: first.node.clone(),
            index,
        })
        .collect()
}

/// Connects `layer` to `inputs`: checks its arguments and input shapes now, so errors
/// appear where the model is written.
pub(crate) fn call_layer(layer: Box<dyn Layer>, inputs: Vec<SymbolicTensor>) -> Result<SymbolicTensor> {
    call_layer_masked(layer, inputs, None)
}

/// [`call_layer`] with an explicit mask for the first input.
fn call_layer_masked(
    layer: Box<dyn Layer>,
    inputs: Vec<SymbolicTensor>,
    explicit_mask: Option<SymbolicTensor>,
) -> Result<SymbolicTensor> {
    layer.validate()?;
    let types: Vec<TensorType> = inputs.iter().map(|t| t.tensor_type().clone()).collect();
    let outputs = layer.compute_output_shape(&types)?;
    if outputs.is_empty() {
        return Err(KilnError::Model {
            model: layer.name().into(),
            message: "layer produced no output".into(),
        });
    }
    let mut input_masks: Vec<Option<Shape>> = inputs.iter().map(|t| t.mask_shape().cloned()).collect();
    if let (Some(m), Some(first)) = (&explicit_mask, input_masks.first_mut()) {
        *first = Some(m.shape().clone());
    }
    let mut masks = layer.compute_output_masks(&types, &input_masks)?;
    if masks.len() > outputs.len() {
        return Err(incompatible(
            layer.as_ref(),
            format!(
                "compute_output_masks gave {} masks for {} outputs",
                masks.len(),
                outputs.len()
            ),
        ));
    }
    masks.resize(outputs.len(), None);
    let node = SymNode {
        id: next_node_id(),
        producer: Producer::Layer(layer),
        inputs,
        outputs,
        masks,
        explicit_mask,
    };
    Ok(SymbolicTensor {
        node: Rc::new(node),
        index: 0,
    })
}
