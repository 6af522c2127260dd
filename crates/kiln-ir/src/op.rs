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
    /// `min(max(x, 0), 6)`.
    Relu6,
    /// `keras.activations.relu` with arguments: `x` where `x > threshold` (else 0), clipped
    /// to `[0, max_value]`, minus `negative_slope * relu(threshold - x)` — and
    /// `leaky_relu(x, negative_slope)` when `max_value` is `None` and `threshold` is 0.
    /// Kiln emits [`Activation::Relu`] for the default arguments.
    ReluExt {
        /// Slope below the threshold.
        negative_slope: f32,
        /// Largest output, or no limit.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        max_value: Option<f32>,
        /// Values at or below it are damped.
        threshold: f32,
    },
    /// `x` for `x >= 0`, else `alpha * (exp(x / alpha) - 1)`.
    Celu {
        /// Scale of the negative part.
        alpha: f32,
    },
    /// `a * sigmoid(b)` where `a` and `b` are the two halves of `x` along `axis` (the
    /// axis is halved).
    Glu {
        /// Axis (non-negative), of even size.
        axis: usize,
    },
    /// `x * relu6(x + 3) / 6` (also called hard swish).
    HardSilu,
    /// `clip(x, -1, 1)`.
    HardTanh,
    /// `x` where `|x| > threshold`, else 0.
    HardShrink {
        /// Half-width of the zeroed band.
        threshold: f32,
    },
    /// `x - threshold` above `threshold`, `x + threshold` below `-threshold`, else 0.
    SoftShrink {
        /// Half-width of the zeroed band.
        threshold: f32,
    },
    /// `log(sigmoid(x)) = -softplus(-x)`.
    LogSigmoid,
    /// `x * tanh(softplus(x))`.
    Mish,
    /// 0 for `x <= -1`, `x` for `x >= 1`, else `(x + 1)² / 4`.
    SparsePlus,
    /// `clip((x + 1) / 2, 0, 1)`.
    SparseSigmoid,
    /// `max(x - τ, 0)` along `axis`, with `τ` the threshold that makes the result sum to 1
    /// (the Euclidean projection onto the simplex, Martins & Astudillo 2016).
    Sparsemax {
        /// Axis (non-negative).
        axis: usize,
    },
    /// `(x + sqrt(x² + b)) / 2`.
    Squareplus {
        /// Smoothness.
        b: f32,
    },
    /// `x - tanh(x)`.
    TanhShrink,
    /// `x` where `x > threshold`, else `default_value`.
    Threshold {
        /// Values at or below it are replaced.
        threshold: f32,
        /// What replaces them.
        default_value: f32,
    },
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
            Activation::Relu6 => "relu6",
            Activation::ReluExt { .. } => "relu",
            Activation::Celu { .. } => "celu",
            Activation::Glu { .. } => "glu",
            Activation::HardSilu => "hard_silu",
            Activation::HardTanh => "hard_tanh",
            Activation::HardShrink { .. } => "hard_shrink",
            Activation::SoftShrink { .. } => "soft_shrink",
            Activation::LogSigmoid => "log_sigmoid",
            Activation::Mish => "mish",
            Activation::SparsePlus => "sparse_plus",
            Activation::SparseSigmoid => "sparse_sigmoid",
            Activation::Sparsemax { .. } => "sparsemax",
            Activation::Squareplus { .. } => "squareplus",
            Activation::TanhShrink => "tanh_shrink",
            Activation::Threshold { .. } => "threshold",
        }
    }

    /// The axis an axis-wise activation works on.
    pub fn axis(&self) -> Option<usize> {
        match self {
            Activation::Softmax { axis }
            | Activation::LogSoftmax { axis }
            | Activation::Glu { axis }
            | Activation::Sparsemax { axis } => Some(*axis),
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

/// Pooling reductions.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PoolKind {
    /// Maximum over the window (padding never wins).
    Max,
    /// Mean over the window's elements inside the input (padding not counted, as Keras).
    Avg,
}

/// How training-time noise is applied.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum NoiseKind {
    /// `x + n`, `n ~ N(0, stddev²)` (GaussianNoise).
    Additive,
    /// `x * n`, `n ~ N(1, stddev²)` (GaussianDropout).
    Multiplicative,
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
        /// Axes along which one mask value is shared (SpatialDropout: the spatial axes).
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        shared_axes: Vec<usize>,
    },
    /// Gaussian noise in training, the identity otherwise.
    Noise {
        /// Added or multiplied.
        kind: NoiseKind,
        /// Standard deviation.
        stddev: f32,
    },
    /// Convolution over 1 or 2 spatial axes, channels first: input `[N, C, *spatial]`,
    /// kernel `[O, C / groups, *window]`, an optional third operand, a bias `[O]` added at
    /// every output position, and output `[N, O, *out]` with
    /// `out = (in + pad_begin + pad_end - dilation * (window - 1) - 1) / stride + 1`.
    /// Layers emit it without a bias; the graph passes fuse a following bias add into it
    /// ([`passes::fuse_conv_bias`](crate::passes::fuse_conv_bias)), as the engines' own
    /// convolutions take one.
    Conv {
        /// Stride per spatial axis.
        strides: Vec<usize>,
        /// Zero padding `(begin, end)` per spatial axis.
        padding: Vec<(usize, usize)>,
        /// Dilation per spatial axis.
        dilation: Vec<usize>,
        /// Channel groups (`C` for a depthwise convolution).
        groups: usize,
    },
    /// The full transposed convolution (the gradient of [`Op::Conv`] without padding):
    /// input `[N, C, *spatial]`, kernel `[C, O / groups, *window]`, output `[N, O, *out]`
    /// with `out = (in - 1) * stride + dilation * (window - 1) + 1`. Layers crop or pad it.
    ConvTranspose {
        /// Stride per spatial axis.
        strides: Vec<usize>,
        /// Dilation per spatial axis.
        dilation: Vec<usize>,
        /// Channel groups.
        groups: usize,
    },
    /// Max or average pooling over 1 or 2 spatial axes, channels first `[N, C, *spatial]`.
    Pool {
        /// Max or average.
        kind: PoolKind,
        /// Window per spatial axis.
        window: Vec<usize>,
        /// Stride per spatial axis.
        strides: Vec<usize>,
        /// Padding `(begin, end)` per spatial axis, never counted in averages.
        padding: Vec<(usize, usize)>,
    },
    /// Permutes the axes: result axis `i` is operand axis `perm[i]`.
    Transpose {
        /// A permutation of the operand's axes.
        perm: Vec<usize>,
    },
    /// `x[start..end]` along `axis`.
    Slice {
        /// Axis (non-negative).
        axis: usize,
        /// First index kept.
        start: usize,
        /// One past the last index kept.
        end: usize,
    },
    /// Pads every axis with `value`: `pads[i] = (before, after)`.
    Pad {
        /// Padding per axis.
        pads: Vec<(usize, usize)>,
        /// The padding value.
        value: f32,
    },
    /// Repeats each element `times` times along `axis` (numpy's `repeat`).
    Repeat {
        /// Axis (non-negative).
        axis: usize,
        /// Copies of each element.
        times: usize,
    },
    /// Rows of a table: `table [V, *row]` indexed by i32 `indices [*idx]` gives
    /// `[*idx, *row]` (embedding lookup).
    Gather,
    /// The first operand in training, the second otherwise (both have one type).
    IfTraining,
    /// In a training run whose batch is split across devices (data parallelism), the mean
    /// of this per-device value over the devices, each weighted by its share of the
    /// batch's rows; otherwise the value itself. A mean over the batch axis followed by
    /// this op is the mean over the whole batch, so batch statistics do not depend on how
    /// the batch is split (`jax.lax.pmean` under Keras's `DataParallel`).
    ReplicaMean,
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
            Op::Noise { kind, .. } => format!("{}_noise", snake(kind)),
            Op::Conv { .. } => "conv".into(),
            Op::ConvTranspose { .. } => "conv_transpose".into(),
            Op::Pool { kind, .. } => format!("{}_pool", snake(kind)),
            Op::Transpose { .. } => "transpose".into(),
            Op::Slice { .. } => "slice".into(),
            Op::Pad { .. } => "pad".into(),
            Op::Repeat { .. } => "repeat".into(),
            Op::Gather => "gather".into(),
            Op::IfTraining => "if_training".into(),
            Op::ReplicaMean => "replica_mean".into(),
        }
    }

    /// The op's attributes as they appear in the text IR (`[axis=1]`), or empty.
    pub fn attributes(&self) -> String {
        let attrs = match self {
            Op::Activation { kind } => match kind {
                Activation::Softmax { axis }
                | Activation::LogSoftmax { axis }
                | Activation::Glu { axis }
                | Activation::Sparsemax { axis } => format!("axis={axis}"),
                Activation::Gelu { approximate } => format!("approximate={approximate}"),
                Activation::Elu { alpha } | Activation::Celu { alpha } => format!("alpha={alpha}"),
                Activation::LeakyRelu { negative_slope } => {
                    format!("negative_slope={negative_slope}")
                }
                Activation::ReluExt {
                    negative_slope,
                    max_value,
                    threshold,
                } => {
                    let max_value = max_value.map_or("none".to_string(), |m| m.to_string());
                    format!("negative_slope={negative_slope},max_value={max_value},threshold={threshold}")
                }
                Activation::HardShrink { threshold } | Activation::SoftShrink { threshold } => {
                    format!("threshold={threshold}")
                }
                Activation::Squareplus { b } => format!("b={b}"),
                Activation::Threshold {
                    threshold,
                    default_value,
                } => format!("threshold={threshold},default_value={default_value}"),
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
            Op::Dropout { rate, shared_axes } if shared_axes.is_empty() => format!("rate={rate}"),
            Op::Dropout { rate, shared_axes } => format!("rate={rate},shared_axes={shared_axes:?}"),
            Op::Noise { stddev, .. } => format!("stddev={stddev}"),
            Op::Conv {
                strides,
                padding,
                dilation,
                groups,
            } => format!("strides={strides:?},padding={padding:?},dilation={dilation:?},groups={groups}"),
            Op::ConvTranspose {
                strides,
                dilation,
                groups,
            } => format!("strides={strides:?},dilation={dilation:?},groups={groups}"),
            Op::Pool {
                window,
                strides,
                padding,
                ..
            } => format!("window={window:?},strides={strides:?},padding={padding:?}"),
            Op::Transpose { perm } => format!("perm={perm:?}"),
            Op::Slice { axis, start, end } => format!("axis={axis},start={start},end={end}"),
            Op::Pad { pads, value } => format!("pads={pads:?},value={value}"),
            Op::Repeat { axis, times } => format!("axis={axis},times={times}"),
            _ => String::new(),
        };
        if attrs.is_empty() { attrs } else { format!("[{attrs}]") }
    }

    /// How many operands the op takes; `None` where that varies: any number ≥ 1 for a
    /// concatenation, 2 or 3 for a convolution (its inference checks which).
    pub fn arity(&self) -> Option<usize> {
        match self {
            Op::Constant { .. } => Some(0),
            Op::Matmul
            | Op::Binary { .. }
            | Op::BiasAdd
            | Op::Compare { .. }
            | Op::ConvTranspose { .. }
            | Op::Gather
            | Op::IfTraining => Some(2),
            Op::Concat { .. } | Op::Conv { .. } => None,
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
            Op::Conv { .. }
            | Op::ConvTranspose { .. }
            | Op::Pool { .. }
            | Op::Transpose { .. }
            | Op::Slice { .. }
            | Op::Pad { .. }
            | Op::Repeat { .. }
            | Op::Gather
            | Op::IfTraining => crate::structural::infer(self, inputs),
            Op::Unary { .. } | Op::Clip { .. } | Op::Dropout { .. } | Op::Noise { .. } | Op::ReplicaMean => {
                float_only(inputs[0])?;
                Ok(inputs[0].clone())
            }
            Op::Activation { kind } => {
                float_only(inputs[0])?;
                if let Some(axis) = kind.axis() {
                    axis_ok(axis, inputs[0])?;
                }
                if let Activation::Glu { axis } = kind {
                    // glu splits the axis into two halves and returns one half's size.
                    let x = inputs[0];
                    let mut dims = x.shape.0.clone();
                    dims[*axis] = match dims[*axis] {
                        Some(n) if n % 2 != 0 => {
                            return Err(format!(
                                "glu splits axis {axis} into two halves: its size must be even, received {x}"
                            ));
                        }
                        d => d.map(|n| n / 2),
                    };
                    return Ok(TensorType::new(x.dtype, Shape(dims)));
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
