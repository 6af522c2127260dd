//! A parity case: a small graph with fixed inputs and parameters, the tolerances it is held
//! to, and the training graph its gradient is read from.

use crate::spec::{Gradient, Tolerance};
use kiln_burn::RunMode;
use kiln_ir::{
    DType, Graph, HostTensor, Initializer, Op, OptimizerKind, ReduceOp, Rng, Shape, TensorType, ValueDef, ValueId,
};

/// Which part of the suite a case belongs to.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Suite {
    /// One IR op.
    Ops,
    /// One layer of the catalogue.
    Layers,
    /// A Keras training golden.
    Goldens,
}

impl Suite {
    /// Lower-case name.
    pub fn name(self) -> &'static str {
        match self {
            Suite::Ops => "ops",
            Suite::Layers => "layers",
            Suite::Goldens => "goldens",
        }
    }
}

/// One forward-and-gradient parity case.
#[derive(Clone, Debug)]
pub struct Case {
    /// Unique name, e.g. `relu f32[2,3]`.
    pub name: String,
    /// What the summary groups it under: the op name, or the layer's class.
    pub group: String,
    /// Ops or layers.
    pub suite: Suite,
    /// The graph; every output is compared.
    pub graph: Graph,
    /// Values of the graph inputs.
    pub inputs: Vec<HostTensor>,
    /// Values of the graph parameters.
    pub params: Vec<HostTensor>,
    /// Training (dropout active) or inference, and the seed.
    pub mode: RunMode,
    /// Tolerance of the outputs against the reference.
    pub forward: Tolerance,
    /// Gradient policy.
    pub gradient: Gradient,
}

/// The training graph a case's gradient is read from: the case's float inputs become
/// trainable parameters and `loss = Σ_k reduce_sum(output_k * weights_k)` with fixed
/// random `weights_k`.
#[derive(Clone, Debug)]
pub struct GradientProblem {
    /// The training graph; its only output is the loss.
    pub graph: Graph,
    /// Its inputs: the case's integer inputs, then the loss weights.
    pub inputs: Vec<HostTensor>,
    /// Initial parameter values: the case's float inputs, then the case's parameters.
    pub params: Vec<HostTensor>,
    /// Indices (into `params`) of the trainable parameters, whose gradients are compared.
    pub trainable: Vec<usize>,
}

/// The optimizer that turns a parameter update into its gradient: plain SGD at learning
/// rate 1 gives `gradient = before − after`.
pub const GRADIENT_OPTIMIZER: OptimizerKind = OptimizerKind::Sgd {
    momentum: 0.0,
    nesterov: false,
};

/// A 64-bit FNV-1a hash, to seed each case's random numbers from its name.
pub(crate) fn seed_of(name: &str) -> u64 {
    name.bytes().fold(0xcbf2_9ce4_8422_2325, |h, b| {
        (h ^ b as u64).wrapping_mul(0x0100_0000_01b3)
    })
}

/// Deterministic test values.
pub(crate) struct Values {
    rng: Rng,
}

impl Values {
    pub(crate) fn new(seed: u64) -> Values {
        Values { rng: Rng::new(seed) }
    }

    /// Uniform values in `[lo, hi)`.
    pub(crate) fn uniform(&mut self, dims: &[usize], lo: f32, hi: f32) -> HostTensor {
        let n = dims.iter().product();
        let v = (0..n).map(|_| lo + (hi - lo) * self.rng.uniform() as f32).collect();
        HostTensor::from_f32(v, dims).expect("sizes match")
    }

    /// Values of magnitude in `[0.1, max)` with random signs: away from zero, where
    /// relu, abs and sign have kinks.
    pub(crate) fn signed(&mut self, dims: &[usize], max: f32) -> HostTensor {
        let n = dims.iter().product();
        let v = (0..n)
            .map(|_| {
                let m = 0.1 + (max - 0.1) * self.rng.uniform() as f32;
                if self.rng.uniform() < 0.5 { -m } else { m }
            })
            .collect();
        HostTensor::from_f32(v, dims).expect("sizes match")
    }

    /// Integers in `0..n`.
    pub(crate) fn below(&mut self, dims: &[usize], n: usize) -> HostTensor {
        let count = dims.iter().product();
        let v = (0..count).map(|_| self.rng.below(n) as i32).collect();
        HostTensor::from_i32(v, dims).expect("sizes match")
    }
}

impl Case {
    /// The training graph for this case's gradient, or why there is none (an integer
    /// result, or nothing float to differentiate).
    pub fn gradient_problem(&self) -> Result<GradientProblem, String> {
        let src = &self.graph;
        let batch = src
            .inputs()
            .iter()
            .zip(&self.inputs)
            .find(|(i, _)| src.values()[i.value.index()].ty.shape.dims().first() == Some(&None))
            .map(|(_, t)| t.rows_len());
        let mut g = Graph::new();
        let mut map: Vec<Option<ValueId>> = vec![None; src.values().len()];
        let mut inputs = Vec::new();
        let mut params = Vec::new();
        let mut trainable = Vec::new();
        // Float inputs become trainable parameters, integer ones stay inputs.
        for (input, value) in src.inputs().iter().zip(&self.inputs) {
            let v = if value.dtype() == DType::F32 {
                trainable.push(params.len());
                params.push(value.clone());
                g.add_param(
                    format!("input/{}", input.name),
                    Shape::fixed(value.shape().iter().copied()),
                    Initializer::Zeros,
                    true,
                )
                .map_err(|e| e.to_string())?
            } else {
                inputs.push(value.clone());
                g.add_input(
                    input.name.clone(),
                    TensorType::new(value.dtype(), Shape::fixed(value.shape().iter().copied())),
                )
            };
            map[input.value.index()] = Some(v);
        }
        for (p, value) in src.params().iter().zip(&self.params) {
            if p.trainable {
                trainable.push(params.len());
            }
            params.push(value.clone());
            let v = g
                .add_param(p.name.clone(), p.ty.shape.clone(), p.init.clone(), p.trainable)
                .map_err(|e| e.to_string())?;
            map[p.value.index()] = Some(v);
        }
        if trainable.is_empty() {
            return Err("no float operand or trainable weight to differentiate".into());
        }
        for &id in src.order() {
            let node = src.node(id);
            let args = node
                .inputs
                .iter()
                .map(|v| map[v.index()].ok_or_else(|| format!("value {v} is used before it is defined")))
                .collect::<Result<Vec<_>, _>>()?;
            // The batch dimension is now fixed: a reshape keeping it names its size.
            let op = match &node.op {
                Op::Reshape { shape } if shape.dims().first() == Some(&None) => {
                    let mut dims = shape.dims().to_vec();
                    dims[0] = batch;
                    Op::Reshape { shape: Shape(dims) }
                }
                op => op.clone(),
            };
            let out = g.push(op, &args, &node.label).map_err(|e| e.to_string())?;
            map[node.output.index()] = Some(out);
        }
        let mut values = Values::new(seed_of(&self.name) ^ 0x5EED);
        let mut loss = None;
        for (k, &out) in src.outputs().iter().enumerate() {
            let y = map[out.index()].ok_or("an output is not computed")?;
            let ty = g.value_type(y).map_err(|e| e.to_string())?.clone();
            if ty.dtype != DType::F32 {
                return Err(format!("the result is {ty}: integers carry no gradient"));
            }
            let dims = ty.shape.to_fixed().ok_or("a result shape is not fixed")?;
            let w = g.add_input(format!("loss_weights_{k}"), TensorType::f32(ty.shape.clone()));
            inputs.push(values.signed(&dims, 1.0));
            let weighted = g
                .push(
                    Op::Binary {
                        kind: kiln_ir::BinaryOp::Mul,
                    },
                    &[y, w],
                    "parity_loss",
                )
                .map_err(|e| e.to_string())?;
            let sum = g
                .push(
                    Op::Reduce {
                        kind: ReduceOp::Sum,
                        axes: vec![],
                        keepdims: false,
                    },
                    &[weighted],
                    "parity_loss",
                )
                .map_err(|e| e.to_string())?;
            loss = Some(match loss {
                None => sum,
                Some(l) => g
                    .push(
                        Op::Binary {
                            kind: kiln_ir::BinaryOp::Add,
                        },
                        &[l, sum],
                        "parity_loss",
                    )
                    .map_err(|e| e.to_string())?,
            });
        }
        g.set_outputs(vec![loss.ok_or("the case has no output")?]);
        debug_assert!(
            g.values()
                .iter()
                .all(|v| !matches!(v.def, ValueDef::Input(i) if i >= inputs.len()))
        );
        Ok(GradientProblem {
            graph: g,
            inputs,
            params,
            trainable,
        })
    }
}
