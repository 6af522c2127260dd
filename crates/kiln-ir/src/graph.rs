//! The graph: arenas of values, nodes and parameters, with op order kept apart.

use crate::constraint::Constraint;
use crate::entities::{NodeId, ParamId, ValueId};
use crate::error::IrError;
use crate::init::Initializer;
use crate::op::Op;
use crate::shape::{Shape, TensorType};
use serde::{Deserialize, Serialize};

/// Where a value comes from.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ValueDef {
    /// The graph's `n`-th input.
    Input(usize),
    /// A parameter.
    Param(ParamId),
    /// The result of a node.
    Node(NodeId),
}

/// A value's type and origin.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ValueData {
    /// Type of the value.
    pub ty: TensorType,
    /// Origin of the value.
    pub def: ValueDef,
}

/// One op application.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Node {
    /// The op.
    pub op: Op,
    /// Operands.
    pub inputs: Vec<ValueId>,
    /// The result.
    pub output: ValueId,
    /// The layer (or loss, metric) that emitted the node, for messages and `summary`.
    pub label: String,
}

/// A graph input.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Input {
    /// Name (a Keras input name such as `input_layer`).
    pub name: String,
    /// The value it defines.
    pub value: ValueId,
}

/// A parameter: a named weight with an initializer.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Param {
    /// Keras-style path, e.g. `dense_1/kernel`.
    pub name: String,
    /// Its fixed type.
    pub ty: TensorType,
    /// How it is initialised.
    pub init: Initializer,
    /// Whether optimizers update it.
    pub trainable: bool,
    /// The value it defines.
    pub value: ValueId,
    /// Applied to the parameter after every optimizer step (Keras's `kernel_constraint`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub constraint: Option<Constraint>,
}

/// A state update: after a training step, parameter `param` takes the value `value`
/// computed in that step (BatchNormalization's moving statistics).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Update {
    /// The parameter updated.
    pub param: ParamId,
    /// Its new value.
    pub value: ValueId,
}

impl Param {
    /// The fixed shape (parameters never have symbolic dims).
    pub fn dims(&self) -> Vec<usize> {
        self.ty.shape.to_fixed().unwrap_or_default()
    }

    /// Number of elements.
    pub fn size(&self) -> usize {
        self.dims().iter().product()
    }
}

/// A graph of ops over values. Nodes reference values by id; nothing points back.
///
/// ```
/// use kiln_ir::{Graph, Initializer, Op, Shape, TensorType};
/// let mut g = Graph::new();
/// let x = g.add_input("x", TensorType::f32(Shape::batched([4])));
/// let w = g.add_param("dense/kernel", Shape::fixed([4, 2]), Initializer::GlorotUniform, true).unwrap();
/// let y = g.push(Op::Matmul, &[x, w], "dense").unwrap();
/// g.set_outputs(vec![y]);
/// assert_eq!(g.value_type(y).unwrap().to_string(), "f32[?,2]");
/// ```
#[derive(Clone, Debug, PartialEq, Default, Serialize, Deserialize)]
pub struct Graph {
    values: Vec<ValueData>,
    nodes: Vec<Node>,
    order: Vec<NodeId>,
    params: Vec<Param>,
    inputs: Vec<Input>,
    outputs: Vec<ValueId>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    updates: Vec<Update>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    losses: Vec<ValueId>,
}

impl Graph {
    /// An empty graph.
    pub fn new() -> Self {
        Self::default()
    }

    fn new_value(&mut self, ty: TensorType, def: ValueDef) -> ValueId {
        let id = ValueId(self.values.len() as u32);
        self.values.push(ValueData { ty, def });
        id
    }

    /// Adds a graph input.
    pub fn add_input(&mut self, name: impl Into<String>, ty: TensorType) -> ValueId {
        let index = self.inputs.len();
        let value = self.new_value(ty, ValueDef::Input(index));
        self.inputs.push(Input {
            name: name.into(),
            value,
        });
        value
    }

    /// Adds a parameter of a fixed shape.
    pub fn add_param(
        &mut self,
        name: impl Into<String>,
        shape: Shape,
        init: Initializer,
        trainable: bool,
    ) -> Result<ValueId, IrError> {
        let name = name.into();
        if shape.has_symbolic() {
            return Err(IrError::Param {
                name,
                message: format!("a parameter needs a fixed shape, received {shape}"),
            });
        }
        let id = ParamId(self.params.len() as u32);
        let ty = TensorType::f32(shape);
        let value = self.new_value(ty.clone(), ValueDef::Param(id));
        self.params.push(Param {
            name,
            ty,
            init,
            trainable,
            value,
            constraint: None,
        });
        Ok(value)
    }

    /// Sets the constraint of the parameter whose value is `param`.
    pub fn set_constraint(&mut self, param: ValueId, constraint: Constraint) -> Result<(), IrError> {
        let id = self.param_of(param)?;
        self.params[id.index()].constraint = Some(constraint);
        Ok(())
    }

    /// The parameter a value stands for.
    fn param_of(&self, v: ValueId) -> Result<ParamId, IrError> {
        match self.values.get(v.index()).map(|d| d.def) {
            Some(ValueDef::Param(id)) => Ok(id),
            Some(_) => Err(IrError::Param {
                name: v.to_string(),
                message: "the value is not a parameter".into(),
            }),
            None => Err(IrError::UnknownValue(v)),
        }
    }

    /// Records that after each training step the parameter whose value is `param` takes
    /// `value`, which must have the parameter's type.
    pub fn add_update(&mut self, param: ValueId, value: ValueId) -> Result<(), IrError> {
        let id = self.param_of(param)?;
        let (want, got) = (self.value_type(param)?, self.value_type(value)?);
        if want != got {
            return Err(IrError::Param {
                name: self.params[id.index()].name.clone(),
                message: format!("an update of type {got} does not fit the parameter's type {want}"),
            });
        }
        self.updates.push(Update { param: id, value });
        Ok(())
    }

    /// The state updates, in the order they were added.
    pub fn updates(&self) -> &[Update] {
        &self.updates
    }

    /// Adds a scalar term to the training loss (a weight or activity regularizer).
    pub fn add_loss(&mut self, value: ValueId) -> Result<(), IrError> {
        let ty = self.value_type(value)?;
        if ty.shape.rank() != 0 {
            return Err(IrError::Param {
                name: value.to_string(),
                message: format!("an added loss must be a scalar, received {ty}"),
            });
        }
        self.losses.push(value);
        Ok(())
    }

    /// The scalar terms added to the training loss.
    pub fn losses(&self) -> &[ValueId] {
        &self.losses
    }

    /// Appends a node applying `op` to `inputs`, checking the operands and inferring
    /// the result type. `label` names the layer (or loss, metric) that emits it.
    pub fn push(&mut self, op: Op, inputs: &[ValueId], label: &str) -> Result<ValueId, IrError> {
        let mut types = Vec::with_capacity(inputs.len());
        for &v in inputs {
            types.push(self.value_type(v)?);
        }
        let ty = op.infer(&types).map_err(|message| IrError::Op {
            label: label.to_string(),
            op: op.to_string(),
            message,
        })?;
        let node = NodeId(self.nodes.len() as u32);
        let output = self.new_value(ty, ValueDef::Node(node));
        self.nodes.push(Node {
            op,
            inputs: inputs.to_vec(),
            output,
            label: label.to_string(),
        });
        self.order.push(node);
        Ok(output)
    }

    /// Sets the graph's outputs.
    pub fn set_outputs(&mut self, outputs: Vec<ValueId>) {
        self.outputs = outputs;
    }

    /// The type of a value.
    pub fn value_type(&self, v: ValueId) -> Result<&TensorType, IrError> {
        self.values
            .get(v.index())
            .map(|d| &d.ty)
            .ok_or(IrError::UnknownValue(v))
    }

    /// All values.
    pub fn values(&self) -> &[ValueData] {
        &self.values
    }

    /// All nodes, by id.
    pub fn nodes(&self) -> &[Node] {
        &self.nodes
    }

    /// The node with this id.
    pub fn node(&self, id: NodeId) -> &Node {
        &self.nodes[id.index()]
    }

    /// Node ids in execution order.
    pub fn order(&self) -> &[NodeId] {
        &self.order
    }

    /// Replaces the execution order (for passes).
    pub fn set_order(&mut self, order: Vec<NodeId>) {
        self.order = order;
    }

    /// Makes every use of `old` (node operands, outputs, state updates, added losses) use
    /// `new` instead (for passes). The two values must have the same type.
    pub fn replace_uses(&mut self, old: ValueId, new: ValueId) -> Result<(), IrError> {
        let (a, b) = (self.value_type(old)?, self.value_type(new)?);
        if a != b {
            return Err(IrError::Param {
                name: old.to_string(),
                message: format!("cannot replace a value of type {a} by {new} of type {b}"),
            });
        }
        let swap = |v: &mut ValueId| {
            if *v == old {
                *v = new;
            }
        };
        self.nodes.iter_mut().flat_map(|n| n.inputs.iter_mut()).for_each(swap);
        self.outputs.iter_mut().for_each(swap);
        self.updates.iter_mut().map(|u| &mut u.value).for_each(swap);
        self.losses.iter_mut().for_each(swap);
        Ok(())
    }

    /// All parameters.
    pub fn params(&self) -> &[Param] {
        &self.params
    }

    /// Graph inputs.
    pub fn inputs(&self) -> &[Input] {
        &self.inputs
    }

    /// Graph outputs.
    pub fn outputs(&self) -> &[ValueId] {
        &self.outputs
    }

    /// The parameter named `name`.
    pub fn param_by_name(&self, name: &str) -> Option<(ParamId, &Param)> {
        self.params
            .iter()
            .enumerate()
            .find(|(_, p)| p.name == name)
            .map(|(i, p)| (ParamId(i as u32), p))
    }
}
