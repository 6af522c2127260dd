//! The operations of the IR and their shape inference.

use crate::shape::{DType, Shape, TensorType, broadcast_shapes};
use serde::{Deserialize, Serialize};
use std::fmt;

/// Element-wise activation functions (and the axis-wise softmax family).
///
/// Formulas follow `keras.activations`; parameters carry Keras's defaults where the
/// API crate builds them.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "fn", rename_all = "snake_case")]
pub enum Activation {
    /// `x`.
    Linear,
    /// `max(x, 0)`.
    Relu,
    /// `1 / (1 + exp(-x))`.
    Sigmoid,
    /// `tanh(x)`.
    Tanh,
    /// `exp(x_i) / sum_j exp(x_j)` along `axis`.
    Softmax {
        /// Axis (non-negative).
        axis: usize,
    },
    /// `x_i - log(sum_j exp(x_j))` along `axis`.
    LogSoftmax {
        /// Axis (non-negative).
        axis: usize,
    },
    /// `x * Φ(x)`; the tanh approximation when `approximate`.
    Gelu {
        /// Use the tanh approximation.
        approximate: bool,
    },
    /// `x` for `x > 0`, else `alpha * (exp(x) - 1)`.
    Elu {
        /// Scale of the negative part.
        alpha: f32,
    },
    /// `scale * elu(x, alpha)` with the self-normalising constants.
    Selu,
    /// `log(1 + exp(x))`.
    Softplus,
    /// `x / (1 + |x|)`.
    Softsign,
    /// `x * sigmoid(x)` (also called swish).
    Silu,
    /// `x` for `x >= 0`, else `negative_slope * x`.
    LeakyRelu {
        /// Slope of the negative part.
        negative_slope: f32,
    },
    /// `relu6(x + 3) / 6`, as Keras 3 defines it.
    HardSigmoid,
    /// `exp(x)`.
    Exponential,
}

impl Activation {
    /// The snake_case name used in the text IR.
    pub fn name(&self) -> &'static str {
        match self {
            Activation::Linear => "linear",
            Activation::Relu => "relu",
            Activation::Sigmoid => "sigmoid",
            Activation::Tanh => "tanh",
            Activation::Softmax { .. } => "softmax",
            Activation::LogSoftmax { .. } => "log_softmax",
            Activation::Gelu { .. } => "gelu",
            Activation::Elu { .. } => "elu",
            Activation::Selu => "selu",
            Activation::Softplus => "softplus",
            Activation::Softsign => "softsign",
            Activation::Silu => "silu",
            Activation::LeakyRelu { .. } => "leaky_relu",
            Activation::HardSigmoid => "hard_sigmoid",
            Activation::Exponential => "exponential",
        }
    }

    /// The axis an axis-wise activation works on.
    pub fn axis(&self) -> Option<usize> {
        match self {
            Activation::Softmax { axis } | Activation::LogSoftmax { axis } => Some(*axis),
            _ => None,
        }
    }
}

/// Element-wise binary operations; shapes broadcast as numpy does.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum BinaryOp {
    /// `a + b`.
    Add,
    /// `a - b`.
    Sub,
    /// `a * b`.
    Mul,
    /// `a / b`.
    Div,
    /// `max(a, b)`.
    Maximum,
    /// `min(a, b)`.
    Minimum,
    /// `a ^ b`.
    Pow,
}

/// Element-wise unary operations.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum UnaryOp {
    /// `-x`.
    Neg,
    /// `|x|`.
    Abs,
    /// `exp(x)`.
    Exp,
    /// `ln(x)`.
    Log,
    /// `ln(1 + x)`.
    Log1p,
    /// `sqrt(x)`.
    Sqrt,
    /// `x * x`.
    Square,
    /// `-1`, `0` or `1`.
    Sign,
    /// Stops gradients flowing through: the identity in the forward pass.
    StopGradient,
}

/// Element-wise comparisons; the result is an f32 tensor of `0.0` and `1.0`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CompareOp {
    /// `a == b`.
    Equal,
    /// `a > b`.
    Greater,
    /// `a >= b`.
    GreaterEqual,
    /// `a < b`.
    Less,
}

/// Reductions over axes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ReduceOp {
    /// Sum.
    Sum,
    /// Arithmetic mean.
    Mean,
    /// Maximum.
    Max,
    /// Minimum.
    Min,
}

/// One IR operation. Every op has exactly one result value.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "op", rename_all = "snake_case")]
pub enum Op {
    /// Matrix product over the last two axes, leading axes broadcast.
    Matmul,
    /// Element-wise binary op with broadcasting.
    Binary {
        /// Which op.
        kind: BinaryOp,
    },
    /// `x + b` where `b` has the size of `x`'s last axis.
    BiasAdd,
    /// Element-wise unary op.
    Unary {
        /// Which op.
        kind: UnaryOp,
    },
    /// An activation function.
    Activation {
        /// Which function.
        kind: Activation,
    },
    /// Clamp to `[min, max]`.
    Clip {
        /// Lower bound.
        min: f32,
        /// Upper bound.
        max: f32,
    },
    /// Element-wise comparison giving `0.0`/`1.0`.
    Compare {
        /// Which comparison.
        kind: CompareOp,
    },
    /// A scalar f32 constant (rank 0); broadcasts against anything.
    Constant {
        /// The value.
        value: f32,
    },
    /// Reshape to `shape`; a `None` dimension (first axis only) keeps the batch size.
    Reshape {
        /// Target shape.
        shape: Shape,
    },
    /// Concatenate along `axis`.
    Concat {
        /// Axis (non-negative).
        axis: usize,
    },
    /// Reduce along `axes`.
    Reduce {
        /// Which reduction.
        kind: ReduceOp,
        /// Axes (non-negative, increasing). Empty means all axes.
        axes: Vec<usize>,
        /// Keep reduced axes with size 1.
        keepdims: bool,
    },
    /// Index of the maximum along `axis` (axis removed), as i32.
    Argmax {
        /// Axis (non-negative).
        axis: usize,
    },
    /// i32 class indices to f32 one-hot vectors along a new last axis of size `depth`.
    OneHot {
        /// Number of classes.
        depth: usize,
    },
    /// Convert the element type.
    Cast {
        /// Target type.
        to: DType,
    },
    /// Inverted dropout in training (`x * mask / (1 - rate)`), the identity otherwise.
    Dropout {
        /// Fraction of units dropped.
        rate: f32,
    },
}

impl Op {
    /// The snake_case op name used in the text IR.
    pub fn name(&self) -> String {
        fn snake<T: Serialize>(t: &T) -> String {
            serde_json::to_value(t)
                .ok()
                .and_then(|v| v.as_str().map(str::to_string))
                .unwrap_or_default()
        }
        match self {
            Op::Matmul => "matmul".into(),
            Op::Binary { kind } => snake(kind),
            Op::BiasAdd => "bias_add".into(),
            Op::Unary { kind } => snake(kind),
            Op::Activation { kind } => kind.name().into(),
            Op::Clip { .. } => "clip".into(),
            Op::Compare { kind } => snake(kind),
            Op::Constant { .. } => "constant".into(),
            Op::Reshape { .. } => "reshape".into(),
            Op::Concat { .. } => "concat".into(),
            Op::Reduce { kind, .. } => format!("reduce_{}", snake(kind)),
            Op::Argmax { .. } => "argmax".into(),
            Op::OneHot { .. } => "one_hot".into(),
            Op::Cast { .. } => "cast".into(),
            Op::Dropout { .. } => "dropout".into(),
        }
    }

    /// The op's attributes as they appear in the text IR (`[axis=1]`), or empty.
    pub fn attributes(&self) -> String {
        let attrs = match self {
            Op::Activation { kind } => match kind {
                Activation::Softmax { axis } | Activation::LogSoftmax { axis } => {
                    format!("axis={axis}")
                }
                Activation::Gelu { approximate } => format!("approximate={approximate}"),
                Activation::Elu { alpha } => format!("alpha={alpha}"),
                Activation::LeakyRelu { negative_slope } => {
                    format!("negative_slope={negative_slope}")
                }
                _ => String::new(),
            },
            Op::Clip { min, max } => format!("min={min},max={max}"),
            Op::Constant { value } => format!("value={value}"),
            Op::Reshape { shape } => format!("shape={shape}"),
            Op::Concat { axis } | Op::Argmax { axis } => format!("axis={axis}"),
            Op::Reduce { axes, keepdims, .. } => {
                let axes: Vec<String> = axes.iter().map(usize::to_string).collect();
                format!("axes=[{}],keepdims={keepdims}", axes.join(","))
            }
            Op::OneHot { depth } => format!("depth={depth}"),
            Op::Cast { to } => format!("to={to}"),
            Op::Dropout { rate } => format!("rate={rate}"),
            _ => String::new(),
        };
        if attrs.is_empty() { attrs } else { format!("[{attrs}]") }
    }

    /// How many operands the op takes; `None` for any number ≥ 1.
    pub fn arity(&self) -> Option<usize> {
        match self {
            Op::Constant { .. } => Some(0),
            Op::Matmul | Op::Binary { .. } | Op::BiasAdd | Op::Compare { .. } => Some(2),
            Op::Concat { .. } => None,
            _ => Some(1),
        }
    }

    /// Infers the result type from the operand types, or says what is wrong.
    pub fn infer(&self, inputs: &[&TensorType]) -> Result<TensorType, String> {
        match self.arity() {
            Some(n) if inputs.len() != n => {
                return Err(format!("expected {n} operand(s), received {}", inputs.len()));
            }
            None if inputs.is_empty() => return Err("expected at least 1 operand".into()),
            _ => {}
        }
        let float_only = |t: &TensorType| -> Result<(), String> {
            if t.dtype == DType::F32 {
                Ok(())
            } else {
                Err(format!("expected an f32 operand, received {t}"))
            }
        };
        let axis_ok = |axis: usize, t: &TensorType| -> Result<(), String> {
            if axis < t.shape.rank() {
                Ok(())
            } else {
                Err(format!(
                    "axis {axis} is out of range for an operand of rank {} ({t})",
                    t.shape.rank()
                ))
            }
        };
        match self {
            Op::Matmul => {
                let (a, b) = (inputs[0], inputs[1]);
                float_only(a)?;
                float_only(b)?;
                if a.shape.rank() < 2 || b.shape.rank() < 2 {
                    return Err(format!("matmul needs operands of rank ≥ 2, received {a} and {b}"));
                }
                let (ra, rb) = (a.shape.rank(), b.shape.rank());
                let (m, k1) = (a.shape.0[ra - 2], a.shape.0[ra - 1]);
                let (k2, n) = (b.shape.0[rb - 2], b.shape.0[rb - 1]);
                if let (Some(x), Some(y)) = (k1, k2)
                    && x != y
                {
                    return Err(format!("inner dimensions differ: {a} @ {b} (expected {x} == {y})"));
                }
                let batch = broadcast_shapes(
                    &Shape(a.shape.0[..ra - 2].to_vec()),
                    &Shape(b.shape.0[..rb - 2].to_vec()),
                )
                .ok_or_else(|| format!("batch dimensions do not broadcast: {a} @ {b}"))?;
                let mut dims = batch.0;
                dims.extend([m, n]);
                Ok(TensorType::f32(Shape(dims)))
            }
            Op::Binary { .. } | Op::Compare { .. } => {
                let (a, b) = (inputs[0], inputs[1]);
                if a.dtype != b.dtype {
                    return Err(format!("operand types differ: {a} and {b}"));
                }
                let shape = broadcast_shapes(&a.shape, &b.shape)
                    .ok_or_else(|| format!("shapes do not broadcast: {a} and {b}"))?;
                let dtype = if matches!(self, Op::Compare { .. }) {
                    DType::F32
                } else {
                    a.dtype
                };
                Ok(TensorType::new(dtype, shape))
            }
            Op::BiasAdd => {
                let (x, b) = (inputs[0], inputs[1]);
                float_only(x)?;
                float_only(b)?;
                if b.shape.rank() != 1 || x.shape.rank() == 0 || b.shape.0[0] != x.shape.last().flatten() {
                    return Err(format!(
                        "the bias must be a vector of the input's last dimension, received {x} and {b}"
                    ));
                }
                Ok(x.clone())
            }
            Op::Unary { .. } | Op::Clip { .. } | Op::Dropout { .. } => {
                float_only(inputs[0])?;
                Ok(inputs[0].clone())
            }
            Op::Activation { kind } => {
                float_only(inputs[0])?;
                if let Some(axis) = kind.axis() {
                    axis_ok(axis, inputs[0])?;
                }
                Ok(inputs[0].clone())
            }
            Op::Constant { .. } => Ok(TensorType::f32(Shape::scalar())),
            Op::Reshape { shape } => {
                let x = inputs[0];
                if shape.0.iter().skip(1).any(Option::is_none) {
                    return Err(format!(
                        "only the first dimension of a reshape target may be symbolic, received {shape}"
                    ));
                }
                let target_batch = shape.0.first().is_some_and(Option::is_none);
                let source_batch = x.shape.0.first().is_some_and(Option::is_none);
                if x.shape.0.iter().skip(1).any(Option::is_none) || target_batch != source_batch {
                    return Err(format!(
                        "cannot reshape {x} to {shape}: the batch dimension must stay first"
                    ));
                }
                if x.shape.fixed_product() != shape.fixed_product() {
                    return Err(format!(
                        "cannot reshape {x} to {shape}: {} elements per sample against {}",
                        x.shape.fixed_product(),
                        shape.fixed_product()
                    ));
                }
                Ok(TensorType::new(x.dtype, shape.clone()))
            }
            Op::Concat { axis } => {
                let first = inputs[0];
                axis_ok(*axis, first)?;
                let mut dims = first.shape.0.clone();
                for other in &inputs[1..] {
                    let compatible = other.dtype == first.dtype
                        && other.shape.rank() == first.shape.rank()
                        && other
                            .shape
                            .0
                            .iter()
                            .zip(&first.shape.0)
                            .enumerate()
                            .all(|(i, (a, b))| i == *axis || a == b);
                    if !compatible {
                        return Err(format!(
                            "operands must match except on axis {axis}, received {first} and {other}"
                        ));
                    }
                    dims[*axis] = match (dims[*axis], other.shape.0[*axis]) {
                        (Some(a), Some(b)) => Some(a + b),
                        _ => None,
                    };
                }
                Ok(TensorType::new(first.dtype, Shape(dims)))
            }
            Op::Reduce { axes, keepdims, .. } => {
                let x = inputs[0];
                float_only(x)?;
                for &a in axes {
                    axis_ok(a, x)?;
                }
                if axes.windows(2).any(|w| w[0] >= w[1]) {
                    return Err(format!("axes must be increasing, received {axes:?}"));
                }
                let all = axes.is_empty();
                let dims = x
                    .shape
                    .0
                    .iter()
                    .enumerate()
                    .filter_map(|(i, d)| {
                        let reduced = all || axes.contains(&i);
                        match (reduced, keepdims) {
                            (false, _) => Some(*d),
                            (true, true) => Some(Some(1)),
                            (true, false) => None,
                        }
                    })
                    .collect();
                Ok(TensorType::f32(Shape(dims)))
            }
            Op::Argmax { axis } => {
                let x = inputs[0];
                float_only(x)?;
                axis_ok(*axis, x)?;
                let mut dims = x.shape.0.clone();
                dims.remove(*axis);
                Ok(TensorType::new(DType::I32, Shape(dims)))
            }
            Op::OneHot { depth } => {
                let x = inputs[0];
                if x.dtype != DType::I32 {
                    return Err(format!("expected i32 class indices, received {x}"));
                }
                if *depth == 0 {
                    return Err("depth must be positive".into());
                }
                let mut dims = x.shape.0.clone();
                dims.push(Some(*depth));
                Ok(TensorType::f32(Shape(dims)))
            }
            Op::Cast { to } => Ok(TensorType::new(*to, inputs[0].shape.clone())),
        }
    }
}

impl fmt::Display for Op {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}{}", self.name(), self.attributes())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(shape: Shape) -> TensorType {
        TensorType::f32(shape)
    }

    #[test]
    fn matmul_infers_and_checks_inner_dims() {
        let x = t(Shape::batched([4]));
        let w = t(Shape::fixed([4, 3]));
        assert_eq!(Op::Matmul.infer(&[&x, &w]).unwrap(), t(Shape::batched([3])));
        let bad = t(Shape::fixed([5, 3]));
        let err = Op::Matmul.infer(&[&x, &bad]).unwrap_err();
        assert!(err.contains("inner dimensions differ"), "{err}");
    }

    #[test]
    fn reduce_and_reshape_shapes() {
        let x = t(Shape::batched([2, 3]));
        let r = Op::Reduce {
            kind: ReduceOp::Mean,
            axes: vec![2],
            keepdims: false,
        };
        assert_eq!(r.infer(&[&x]).unwrap(), t(Shape::batched([2])));
        let all = Op::Reduce {
            kind: ReduceOp::Sum,
            axes: vec![],
            keepdims: false,
        };
        assert_eq!(all.infer(&[&x]).unwrap(), t(Shape::scalar()));
        let flat = Op::Reshape {
            shape: Shape::batched([6]),
        };
        assert_eq!(flat.infer(&[&x]).unwrap(), t(Shape::batched([6])));
        let bad = Op::Reshape {
            shape: Shape::batched([7]),
        };
        assert!(bad.infer(&[&x]).unwrap_err().contains("6 elements"));
    }

    #[test]
    fn names_are_snake_case() {
        assert_eq!(
            Op::Binary {
                kind: BinaryOp::Maximum
            }
            .name(),
            "maximum"
        );
        assert_eq!(
            Op::Reduce {
                kind: ReduceOp::Mean,
                axes: vec![1],
                keepdims: true
            }
            .to_string(),
            "reduce_mean[axes=[1],keepdims=true]"
        );
    }
}
