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
        Ok((0..first.node.outputs.len())
            .map(|index| SymbolicTensor {
                node: first.node.clone(),
                index,
            })
            .collect())
    }
}

/// Connects `layer` to `inputs`: checks its arguments and input shapes now, so errors
/// appear where the model is written.
pub(crate) fn call_layer(layer: Box<dyn Layer>, inputs: Vec<SymbolicTensor>) -> Result<SymbolicTensor> {
    layer.validate()?;
    let types: Vec<TensorType> = inputs.iter().map(|t| t.tensor_type().clone()).collect();
    let outputs = layer.compute_output_shape(&types)?;
    if outputs.is_empty() {
        return Err(KilnError::Model {
            model: layer.name().into(),
            message: "layer produced no output".into(),
        });
    }
    let node = SymNode {
        id: next_node_id(),
        producer: Producer::Layer(layer),
        inputs,
        outputs,
    };
    Ok(SymbolicTensor {
        node: Rc::new(node),
        index: 0,
    })
}
