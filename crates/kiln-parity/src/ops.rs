//! The op registry: sample cases for every IR op.
//!
//! [`prototypes`] lists one op per variant and kind; [`samples`] turns each into cases
//! with a `match` that has no wildcard arm, so a new [`Op`] variant does not compile
//! until it has samples here. The test `registry_covers_every_op_variant` checks
//! `prototypes` against the variants serde knows, so a new kind (a `BinaryOp`, an
//! `Activation`) fails a test until it is listed.

use crate::case::{Case, Suite, Values, seed_of};
use crate::spec::{Gradient, op_spec};
use kiln_burn::RunMode;
use kiln_ir::{
    Activation, BinaryOp, CompareOp, DType, Graph, HostTensor, NoiseKind, Op, PoolKind, ReduceOp, Shape, TensorType,
    UnaryOp,
};

/// One op of every variant and kind, with the attributes its samples use.
pub fn prototypes() -> Vec<Op> {
    use Activation as A;
    let mut ops = vec![Op::Matmul, Op::BiasAdd];
    for kind in [
        BinaryOp::Add,
        BinaryOp::Sub,
        BinaryOp::Mul,
        BinaryOp::Div,
        BinaryOp::Maximum,
        BinaryOp::Minimum,
        BinaryOp::Pow,
    ] {
        ops.push(Op::Binary { kind });
    }
    for kind in [
        UnaryOp::Neg,
        UnaryOp::Abs,
        UnaryOp::Exp,
        UnaryOp::Log,
        UnaryOp::Log1p,
        UnaryOp::Sqrt,
        UnaryOp::Square,
        UnaryOp::Sign,
        UnaryOp::StopGradient,
    ] {
        ops.push(Op::Unary { kind });
    }
    for kind in [
        A::Linear,
        A::Relu,
        A::Sigmoid,
        A::Tanh,
        A::Softmax { axis: 0 },
        A::LogSoftmax { axis: 0 },
        A::Gelu { approximate: false },
        A::Gelu { approximate: true },
        A::Elu { alpha: 1.0 },
        A::Elu { alpha: 0.5 },
        A::Selu,
        A::Softplus,
        A::Softsign,
        A::Silu,
        A::LeakyRelu { negative_slope: 0.2 },
        A::HardSigmoid,
        A::Exponential,
        A::Relu6,
        // The leaky, clipped, relu6 and thresholded paths of keras.activations.relu.
        A::ReluExt {
            negative_slope: 0.2,
            max_value: None,
            threshold: 0.0,
        },
        A::ReluExt {
            negative_slope: 0.1,
            max_value: Some(1.5),
            threshold: 0.5,
        },
        A::ReluExt {
            negative_slope: 0.0,
            max_value: Some(6.0),
            threshold: 0.0,
        },
        A::ReluExt {
            negative_slope: 0.0,
            max_value: None,
            threshold: 1.0,
        },
        A::Celu { alpha: 1.0 },
        A::Celu { alpha: 0.5 },
        A::Glu { axis: 0 },
        A::HardSilu,
        A::HardTanh,
        A::HardShrink { threshold: 0.5 },
        A::SoftShrink { threshold: 0.5 },
        A::LogSigmoid,
        A::Mish,
        A::SparsePlus,
        A::SparseSigmoid,
        A::Sparsemax { axis: 0 },
        A::Squareplus { b: 4.0 },
        A::TanhShrink,
        A::Threshold {
            threshold: 0.5,
            default_value: -1.0,
        },
    ] {
        ops.push(Op::Activation { kind });
    }
    ops.push(Op::Clip { min: -0.5, max: 0.5 });
    for kind in [
        CompareOp::Equal,
        CompareOp::Greater,
        CompareOp::GreaterEqual,
        CompareOp::Less,
    ] {
        ops.push(Op::Compare { kind });
    }
    ops.push(Op::Constant { value: 1.5 });
    ops.push(Op::Reshape { shape: Shape::scalar() });
    ops.push(Op::Concat { axis: 0 });
    for kind in [ReduceOp::Sum, ReduceOp::Mean, ReduceOp::Max, ReduceOp::Min] {
        ops.push(Op::Reduce {
            kind,
            axes: vec![],
            keepdims: false,
        });
    }
    ops.push(Op::Argmax { axis: 0 });
    ops.push(Op::OneHot { depth: 3 });
    ops.push(Op::Cast { to: DType::F32 });
    ops.push(Op::Cast { to: DType::I32 });
    ops.push(Op::Dropout {
        rate: 0.5,
        shared_axes: vec![],
    });
    ops.push(Op::Dropout {
        rate: 0.5,
        shared_axes: vec![1],
    });
    for kind in [NoiseKind::Additive, NoiseKind::Multiplicative] {
        ops.push(Op::Noise { kind, stddev: 0.3 });
    }
    ops.push(Op::Conv {
        strides: vec![],
        padding: vec![],
        dilation: vec![],
        groups: 1,
    });
    ops.push(Op::ConvTranspose {
        strides: vec![],
        dilation: vec![],
        groups: 1,
    });
    for kind in [PoolKind::Max, PoolKind::Avg] {
        ops.push(Op::Pool {
            kind,
            window: vec![],
            strides: vec![],
            padding: vec![],
        });
    }
    ops.push(Op::Transpose { perm: vec![] });
    ops.push(Op::Slice {
        axis: 0,
        start: 0,
        end: 1,
    });
    ops.push(Op::Pad {
        pads: vec![],
        value: 0.0,
    });
    ops.push(Op::Repeat { axis: 0, times: 2 });
    ops.push(Op::Gather);
    ops.push(Op::IfTraining);
    ops.push(Op::ReplicaMean);
    ops
}

/// An operand: its IR type (with a symbolic batch dimension or not) and its value.
type Operand = (TensorType, HostTensor);

/// One sample: an op applied to operands, in inference or training mode.
struct Sample {
    op: Op,
    operands: Vec<Operand>,
    training: bool,
}

fn fixed(t: HostTensor) -> Operand {
    (TensorType::new(t.dtype(), Shape::fixed(t.shape().iter().copied())), t)
}

fn batched(t: HostTensor) -> Operand {
    let mut dims: Vec<Option<usize>> = t.shape().iter().map(|&d| Some(d)).collect();
    dims[0] = None;
    (TensorType::new(t.dtype(), Shape(dims)), t)
}

fn sample(op: Op, operands: Vec<Operand>) -> Sample {
    Sample {
        op,
        operands,
        training: false,
    }
}

/// The samples of one prototype. Attributes that depend on the operands (axes, reshape
/// targets) are chosen here; the others (clip bounds, activation parameters, cast target,
/// dropout rate) come from the prototype.
fn samples(proto: &Op, v: &mut Values) -> Vec<Sample> {
    let op = proto.clone();
    match proto {
        Op::Matmul => vec![
            sample(
                op.clone(),
                vec![fixed(v.signed(&[2, 3], 2.0)), fixed(v.signed(&[3, 4], 2.0))],
            ),
            sample(
                op.clone(),
                vec![batched(v.signed(&[2, 2, 3], 2.0)), fixed(v.signed(&[3, 4], 2.0))],
            ),
            sample(
                op,
                vec![fixed(v.signed(&[2, 2, 3], 2.0)), fixed(v.signed(&[2, 3, 4], 2.0))],
            ),
        ],
        Op::Binary { kind } => {
            let mut pair = |a: &[usize], b: &[usize]| -> Vec<Operand> {
                let (x, y) = match kind {
                    BinaryOp::Add | BinaryOp::Sub | BinaryOp::Mul | BinaryOp::Maximum | BinaryOp::Minimum => {
                        (v.signed(a, 2.0), v.signed(b, 2.0))
                    }
                    // Denominators of magnitude ≥ 0.5.
                    BinaryOp::Div => (v.signed(a, 2.0), v.signed(b, 2.0).map(|x| x.signum() * (0.4 + x.abs()))),
                    // A positive base: a negative one with a real exponent is NaN.
                    BinaryOp::Pow => (v.uniform(a, 0.5, 2.0), v.uniform(b, -2.0, 2.0)),
                };
                vec![fixed(x), fixed(y)]
            };
            vec![
                sample(op.clone(), pair(&[2, 3], &[2, 3])),
                sample(op.clone(), pair(&[2, 3], &[3])),
                sample(op, pair(&[2, 1], &[1, 3])),
            ]
        }
        Op::BiasAdd => vec![
            sample(
                op.clone(),
                vec![fixed(v.signed(&[2, 3], 2.0)), fixed(v.signed(&[3], 2.0))],
            ),
            sample(op, vec![batched(v.signed(&[2, 2, 3], 2.0)), fixed(v.signed(&[3], 2.0))]),
        ],
        Op::Unary { kind } => {
            let mut x = |dims: &[usize]| match kind {
                UnaryOp::Log | UnaryOp::Sqrt => v.uniform(dims, 0.1, 3.0),
                UnaryOp::Log1p => v.uniform(dims, -0.5, 3.0),
                UnaryOp::Neg
                | UnaryOp::Abs
                | UnaryOp::Exp
                | UnaryOp::Square
                | UnaryOp::Sign
                | UnaryOp::StopGradient => v.signed(dims, 2.0),
            };
            vec![
                sample(op.clone(), vec![fixed(x(&[2, 3]))]),
                sample(op, vec![batched(x(&[3, 4]))]),
            ]
        }
        Op::Activation { kind } => match kind {
            Activation::Softmax { .. } | Activation::LogSoftmax { .. } | Activation::Sparsemax { .. } => {
                let with_axis = |axis| Op::Activation {
                    kind: match kind {
                        Activation::Softmax { .. } => Activation::Softmax { axis },
                        Activation::Sparsemax { .. } => Activation::Sparsemax { axis },
                        _ => Activation::LogSoftmax { axis },
                    },
                };
                // Sparsemax keeps the entries within about 1 of the largest: values of
                // magnitude below 1 put two or more of them in its support.
                let max = if matches!(kind, Activation::Sparsemax { .. }) {
                    1.0
                } else {
                    2.0
                };
                vec![
                    sample(with_axis(1), vec![fixed(v.signed(&[2, 3], max))]),
                    sample(with_axis(0), vec![fixed(v.signed(&[2, 3], max))]),
                    sample(with_axis(2), vec![batched(v.signed(&[2, 3, 4], max))]),
                ]
            }
            // Halves its axis, which must be even.
            Activation::Glu { .. } => {
                let glu = |axis| Op::Activation {
                    kind: Activation::Glu { axis },
                };
                vec![
                    sample(glu(1), vec![fixed(v.signed(&[2, 4], 2.0))]),
                    sample(glu(0), vec![fixed(v.signed(&[2, 3], 2.0))]),
                    sample(glu(1), vec![batched(v.signed(&[3, 4], 2.0))]),
                ]
            }
            _ => {
                // Cover both sides of the kinks: ±3 for hard sigmoid and hard silu, 0 and 6
                // for relu6 (and relu capped at 6).
                let max = match kind {
                    Activation::HardSigmoid | Activation::HardSilu => 4.0,
                    Activation::Relu6
                    | Activation::ReluExt {
                        max_value: Some(6.0), ..
                    } => 7.0,
                    _ => 2.0,
                };
                vec![
                    sample(op.clone(), vec![fixed(v.signed(&[2, 3], max))]),
                    sample(op, vec![batched(v.signed(&[3, 4], max))]),
                ]
            }
        },
        Op::Clip { .. } => vec![sample(op, vec![fixed(v.signed(&[3, 4], 2.0))])],
        Op::Compare { .. } => {
            // Half the elements of `b` equal those of `a`, so equality is exercised.
            let a = v.signed(&[2, 3], 2.0);
            let other = v.signed(&[2, 3], 2.0);
            let b: Vec<f32> = a
                .to_f32()
                .iter()
                .zip(other.to_f32())
                .enumerate()
                .map(|(i, (x, y))| if i % 2 == 0 { *x } else { y })
                .collect();
            let b = HostTensor::from_f32(b, [2, 3]).expect("sizes match");
            let ai = v.below(&[2, 3], 3);
            let bi = v.below(&[2, 3], 3);
            vec![
                sample(op.clone(), vec![fixed(a.clone()), fixed(b)]),
                sample(op.clone(), vec![fixed(a), fixed(v.signed(&[3], 2.0))]),
                sample(op, vec![fixed(ai), fixed(bi)]),
            ]
        }
        Op::Constant { .. } => vec![sample(op, vec![])],
        Op::Reshape { .. } => {
            let to = |dims: Vec<Option<usize>>| Op::Reshape { shape: Shape(dims) };
            vec![
                sample(to(vec![Some(3), Some(2)]), vec![fixed(v.signed(&[2, 3], 2.0))]),
                sample(to(vec![None, Some(6)]), vec![batched(v.signed(&[2, 2, 3], 2.0))]),
                sample(to(vec![Some(2), Some(1), Some(3)]), vec![fixed(v.signed(&[6], 2.0))]),
                sample(to(vec![Some(6)]), vec![fixed(v.below(&[2, 3], 5))]),
            ]
        }
        Op::Concat { .. } => vec![
            sample(
                Op::Concat { axis: 0 },
                vec![fixed(v.signed(&[2, 3], 2.0)), fixed(v.signed(&[1, 3], 2.0))],
            ),
            sample(
                Op::Concat { axis: 1 },
                vec![
                    fixed(v.signed(&[2, 3], 2.0)),
                    fixed(v.signed(&[2, 2], 2.0)),
                    fixed(v.signed(&[2, 1], 2.0)),
                ],
            ),
            sample(
                Op::Concat { axis: 1 },
                vec![batched(v.signed(&[2, 2], 2.0)), batched(v.signed(&[2, 3], 2.0))],
            ),
            sample(
                Op::Concat { axis: 0 },
                vec![fixed(v.below(&[2, 3], 5)), fixed(v.below(&[1, 3], 5))],
            ),
        ],
        Op::Reduce { kind, .. } => {
            let reduce = |axes: Vec<usize>, keepdims| Op::Reduce {
                kind: *kind,
                axes,
                keepdims,
            };
            vec![
                sample(reduce(vec![1], false), vec![fixed(v.signed(&[2, 3], 2.0))]),
                sample(reduce(vec![0], true), vec![fixed(v.signed(&[2, 3], 2.0))]),
                sample(reduce(vec![], false), vec![fixed(v.signed(&[2, 3], 2.0))]),
                sample(reduce(vec![0, 2], false), vec![batched(v.signed(&[2, 3, 4], 2.0))]),
            ]
        }
        Op::Argmax { .. } => vec![
            sample(Op::Argmax { axis: 1 }, vec![fixed(v.signed(&[2, 3], 2.0))]),
            sample(Op::Argmax { axis: 0 }, vec![fixed(v.signed(&[2, 3], 2.0))]),
            sample(Op::Argmax { axis: 1 }, vec![batched(v.signed(&[3, 4], 2.0))]),
        ],
        Op::OneHot { depth } => vec![
            sample(op.clone(), vec![fixed(v.below(&[4], *depth))]),
            sample(op, vec![batched(v.below(&[2, 2], *depth))]),
        ],
        // Floats with fractions of both signs: f32 → i32 truncates toward zero.
        Op::Cast { .. } => vec![
            sample(op.clone(), vec![fixed(v.signed(&[2, 3], 3.0))]),
            sample(op, vec![fixed(v.below(&[2, 3], 7))]),
        ],
        Op::Dropout { shared_axes, .. } if !shared_axes.is_empty() => vec![Sample {
            op: op.clone(),
            operands: vec![batched(v.signed(&[2, 4, 3], 2.0))],
            training: true,
        }],
        Op::Dropout { .. } | Op::Noise { .. } => vec![
            Sample {
                op: op.clone(),
                operands: vec![fixed(v.signed(&[4, 5], 2.0))],
                training: true,
            },
            sample(op, vec![fixed(v.signed(&[4, 5], 2.0))]),
        ],
        Op::Conv { .. } => {
            let conv = |strides: Vec<usize>, padding: Vec<(usize, usize)>, dilation: Vec<usize>, groups| Op::Conv {
                strides,
                padding,
                dilation,
                groups,
            };
            vec![
                sample(
                    conv(vec![2], vec![(1, 0)], vec![1], 1),
                    vec![batched(v.signed(&[2, 3, 7], 1.0)), fixed(v.signed(&[4, 3, 3], 1.0))],
                ),
                sample(
                    conv(vec![2, 1], vec![(0, 1), (1, 1)], vec![1, 1], 2),
                    vec![
                        batched(v.signed(&[2, 4, 6, 5], 1.0)),
                        fixed(v.signed(&[4, 2, 3, 3], 1.0)),
                    ],
                ),
                sample(
                    conv(vec![1, 1], vec![(0, 0), (0, 0)], vec![2, 1], 1),
                    vec![
                        batched(v.signed(&[2, 2, 7, 4], 1.0)),
                        fixed(v.signed(&[3, 2, 2, 3], 1.0)),
                    ],
                ),
                // Depthwise: one group per channel.
                sample(
                    conv(vec![1, 1], vec![(1, 1), (1, 1)], vec![1, 1], 3),
                    vec![
                        batched(v.signed(&[2, 3, 5, 5], 1.0)),
                        fixed(v.signed(&[6, 1, 3, 3], 1.0)),
                    ],
                ),
                // With the bias operand the graph passes fuse in, over 1 and 2 axes and grouped.
                sample(
                    conv(vec![2], vec![(1, 0)], vec![1], 1),
                    vec![
                        batched(v.signed(&[2, 3, 7], 1.0)),
                        fixed(v.signed(&[4, 3, 3], 1.0)),
                        fixed(v.signed(&[4], 1.0)),
                    ],
                ),
                sample(
                    conv(vec![1, 1], vec![(1, 1), (0, 1)], vec![1, 1], 1),
                    vec![
                        batched(v.signed(&[2, 2, 5, 4], 1.0)),
                        fixed(v.signed(&[3, 2, 3, 3], 1.0)),
                        fixed(v.signed(&[3], 1.0)),
                    ],
                ),
                sample(
                    conv(vec![1, 1], vec![(1, 1), (1, 1)], vec![1, 1], 3),
                    vec![
                        batched(v.signed(&[2, 3, 5, 5], 1.0)),
                        fixed(v.signed(&[6, 1, 3, 3], 1.0)),
                        fixed(v.signed(&[6], 1.0)),
                    ],
                ),
            ]
        }
        Op::ConvTranspose { .. } => {
            let op = |strides: Vec<usize>, dilation: Vec<usize>, groups| Op::ConvTranspose {
                strides,
                dilation,
                groups,
            };
            vec![
                sample(
                    op(vec![2], vec![1], 1),
                    vec![batched(v.signed(&[2, 3, 5], 1.0)), fixed(v.signed(&[3, 2, 3], 1.0))],
                ),
                sample(
                    op(vec![2, 2], vec![1, 1], 1),
                    vec![
                        batched(v.signed(&[2, 3, 4, 3], 1.0)),
                        fixed(v.signed(&[3, 2, 3, 3], 1.0)),
                    ],
                ),
                sample(
                    op(vec![1, 2], vec![2, 1], 1),
                    vec![
                        batched(v.signed(&[2, 2, 3, 4], 1.0)),
                        fixed(v.signed(&[2, 3, 2, 2], 1.0)),
                    ],
                ),
            ]
        }
        Op::Pool { kind, .. } => {
            let pool = |window: Vec<usize>, strides: Vec<usize>, padding: Vec<(usize, usize)>| Op::Pool {
                kind: *kind,
                window,
                strides,
                padding,
            };
            vec![
                sample(
                    pool(vec![2], vec![2], vec![(0, 0)]),
                    vec![batched(v.signed(&[2, 3, 8], 2.0))],
                ),
                sample(
                    pool(vec![3, 3], vec![2, 2], vec![(0, 1), (1, 1)]),
                    vec![batched(v.signed(&[2, 2, 6, 7], 2.0))],
                ),
                sample(
                    pool(vec![2, 2], vec![1, 1], vec![(0, 1), (0, 1)]),
                    vec![batched(v.signed(&[2, 2, 4, 4], 2.0))],
                ),
            ]
        }
        Op::Transpose { .. } => vec![
            sample(
                Op::Transpose { perm: vec![0, 2, 1] },
                vec![batched(v.signed(&[2, 3, 4], 2.0))],
            ),
            sample(
                Op::Transpose { perm: vec![0, 3, 1, 2] },
                vec![batched(v.signed(&[2, 3, 4, 5], 2.0))],
            ),
            sample(Op::Transpose { perm: vec![1, 0] }, vec![fixed(v.below(&[2, 3], 9))]),
        ],
        Op::Slice { .. } => vec![
            sample(
                Op::Slice {
                    axis: 1,
                    start: 1,
                    end: 3,
                },
                vec![batched(v.signed(&[2, 4, 3], 2.0))],
            ),
            sample(
                Op::Slice {
                    axis: 2,
                    start: 0,
                    end: 1,
                },
                vec![batched(v.signed(&[2, 4, 3], 2.0))],
            ),
        ],
        Op::Pad { .. } => vec![
            sample(
                Op::Pad {
                    pads: vec![(0, 0), (1, 2), (0, 1)],
                    value: 0.0,
                },
                vec![batched(v.signed(&[2, 3, 4], 2.0))],
            ),
            sample(
                Op::Pad {
                    pads: vec![(1, 0), (0, 0)],
                    value: -1.5,
                },
                vec![fixed(v.signed(&[2, 3], 2.0))],
            ),
        ],
        Op::Repeat { .. } => vec![
            sample(
                Op::Repeat { axis: 1, times: 3 },
                vec![batched(v.signed(&[2, 2, 3], 2.0))],
            ),
            sample(
                Op::Repeat { axis: 2, times: 2 },
                vec![batched(v.signed(&[2, 2, 3], 2.0))],
            ),
        ],
        Op::Gather => vec![
            sample(
                Op::Gather,
                vec![fixed(v.signed(&[5, 3], 2.0)), batched(v.below(&[2, 4], 5))],
            ),
            sample(
                Op::Gather,
                vec![fixed(v.signed(&[4, 2, 2], 2.0)), batched(v.below(&[3], 4))],
            ),
        ],
        Op::IfTraining => {
            let operands = |v: &mut Values| vec![fixed(v.signed(&[2, 3], 2.0)), fixed(v.signed(&[2, 3], 2.0))];
            vec![
                Sample {
                    op: Op::IfTraining,
                    operands: operands(v),
                    training: true,
                },
                sample(Op::IfTraining, operands(v)),
            ]
        }
        // On one device, in either mode, the value itself.
        Op::ReplicaMean => vec![
            Sample {
                op: Op::ReplicaMean,
                operands: vec![batched(v.signed(&[2, 3], 2.0))],
                training: true,
            },
            sample(Op::ReplicaMean, vec![fixed(v.signed(&[1, 4], 2.0))]),
        ],
    }
}

trait MapF32 {
    fn map(self, f: impl Fn(f32) -> f32) -> HostTensor;
}

impl MapF32 for HostTensor {
    fn map(self, f: impl Fn(f32) -> f32) -> HostTensor {
        HostTensor::from_f32(self.to_f32().into_iter().map(f).collect(), self.shape()).expect("sizes match")
    }
}

impl Sample {
    fn into_case(self) -> Result<Case, String> {
        let mut graph = Graph::new();
        let args: Vec<_> = self
            .operands
            .iter()
            .enumerate()
            .map(|(i, (ty, _))| graph.add_input(format!("x{i}"), ty.clone()))
            .collect();
        let label = self.op.name();
        let out = graph.push(self.op.clone(), &args, &label).map_err(|e| e.to_string())?;
        graph.set_outputs(vec![out]);
        let types: Vec<String> = self.operands.iter().map(|(t, _)| t.to_string()).collect();
        let mut name = format!("{} {}", self.op, types.join(", "));
        if self.training {
            name.push_str(" training");
        }
        let spec = op_spec(&self.op);
        let float_operand = self.operands.iter().any(|(t, _)| t.dtype == DType::F32);
        let float_result = graph.value_type(out).map_err(|e| e.to_string())?.dtype == DType::F32;
        let gradient = match spec.gradient {
            Gradient::Check(_) if !float_operand || !float_result => {
                Gradient::Skip("integer operands or result: no gradient")
            }
            g => g,
        };
        Ok(Case {
            name: name.trim_end().to_string(),
            group: label,
            suite: Suite::Ops,
            graph,
            inputs: self.operands.into_iter().map(|(_, t)| t).collect(),
            params: Vec::new(),
            mode: RunMode {
                training: self.training,
                seed: 7,
            },
            forward: spec.forward,
            gradient,
        })
    }
}

/// Every op case: the samples of every prototype.
///
/// # Panics
/// If a sample does not type-check (a mistake in this registry).
pub fn op_cases() -> Vec<Case> {
    prototypes()
        .iter()
        .flat_map(|proto| {
            let mut values = Values::new(seed_of(&proto.to_string()));
            samples(proto, &mut values)
        })
        .map(|s| {
            s.into_case()
                .unwrap_or_else(|e| panic!("a sample of the op registry is invalid: {e}"))
        })
        .collect()
}
