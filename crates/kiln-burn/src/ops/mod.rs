//! The lowering of each op family onto Burn tensors. One `match` picks the family.

mod activation;
mod conv;
mod elementwise;
pub(crate) mod im2col;
mod linalg;
mod random;
mod reduce;
mod shape;

use crate::plan::{Ctx, Step};
use crate::slot::{FloatT, Slot};
use kiln_ir::Op;

/// Runs one step on its operands.
pub(crate) fn lower(step: &Step, mut args: Vec<Slot>, ctx: &Ctx) -> Result<Slot, String> {
    let ranks = &step.arg_ranks;
    match &step.op {
        Op::Matmul => {
            let (a, b) = two_floats(args)?;
            Ok(Slot::F(linalg::matmul(a, b)))
        }
        Op::Binary { kind } => {
            let (a, b) = two_floats(args)?;
            Ok(Slot::F(elementwise::binary(*kind, a, b)))
        }
        Op::BiasAdd => {
            let (a, b) = two_floats(args)?;
            Ok(Slot::F(elementwise::binary(kiln_ir::BinaryOp::Add, a, b)))
        }
        Op::Unary { kind } => Ok(Slot::F(elementwise::unary(*kind, float(args.remove(0))?))),
        Op::Clip { min, max } => Ok(Slot::F(float(args.remove(0))?.clamp(*min, *max))),
        Op::Compare { kind } => {
            let b = args.pop().ok_or("missing operand")?;
            let a = args.pop().ok_or("missing operand")?;
            elementwise::compare(*kind, a, b)
        }
        Op::Constant { value } => Ok(Slot::F(elementwise::constant(*value, ctx.device))),
        Op::Activation { kind } => Ok(Slot::F(activation::activation(*kind, float(args.remove(0))?, ranks[0]))),
        Op::Reshape { shape } => shape::reshape(args.remove(0), ranks[0], shape),
        Op::Concat { axis } => shape::concat(args, *axis, ranks[0]),
        Op::Cast { to } => Ok(shape::cast(args.remove(0), *to)),
        Op::OneHot { depth } => shape::one_hot(args.remove(0), ranks[0], *depth),
        Op::Reduce { kind, axes, keepdims } => Ok(Slot::F(reduce::reduce(
            *kind,
            float(args.remove(0))?,
            ranks[0],
            axes,
            *keepdims,
        ))),
        Op::Argmax { axis } => Ok(Slot::I(reduce::argmax(float(args.remove(0))?, ranks[0], *axis))),
        Op::Dropout { rate, shared_axes } => {
            let x = float(args.remove(0))?;
            Ok(Slot::F(if ctx.training {
                random::dropout(x, *rate, ranks[0], shared_axes, ctx)
            } else {
                x
            }))
        }
        Op::Noise { kind, stddev } => {
            let x = float(args.remove(0))?;
            Ok(Slot::F(if ctx.training {
                random::noise(x, *kind, *stddev, ranks[0], ctx)
            } else {
                x
            }))
        }
        Op::Conv {
            strides,
            padding,
            dilation,
            groups,
        } => {
            let bias = if args.len() == 3 {
                Some(float(args.remove(2))?)
            } else {
                None
            };
            let (x, k) = two_floats(args)?;
            let geometry = conv::ConvGeometry {
                strides,
                padding,
                dilation,
                groups: *groups,
            };
            Ok(Slot::F(conv::conv(x, k, bias, ranks[0], &geometry)?))
        }
        Op::ConvTranspose {
            strides,
            dilation,
            groups,
        } => {
            let (x, k) = two_floats(args)?;
            Ok(Slot::F(conv::conv_transpose(
                x, k, ranks[0], strides, dilation, *groups,
            )?))
        }
        Op::Pool {
            kind,
            window,
            strides,
            padding,
        } => Ok(Slot::F(conv::pool(
            *kind,
            float(args.remove(0))?,
            ranks[0],
            window,
            strides,
            padding,
        )?)),
        Op::Transpose { perm } => Ok(shape::transpose(args.remove(0), ranks[0], perm)),
        Op::Slice { axis, start, end } => Ok(shape::slice(args.remove(0), ranks[0], *axis, *start, *end)),
        Op::Pad { pads, value } => Ok(Slot::F(shape::pad(float(args.remove(0))?, pads, *value))),
        Op::Repeat { axis, times } => shape::repeat(args.remove(0), ranks[0], *axis, *times),
        Op::Gather => {
            let indices = args.pop().ok_or("missing operand")?;
            let table = float(args.pop().ok_or("missing operand")?)?;
            Ok(Slot::F(shape::gather(table, indices, ranks[0], ranks[1])?))
        }
        Op::IfTraining => {
            let infer = args.pop().ok_or("missing operand")?;
            let train = args.pop().ok_or("missing operand")?;
            Ok(if ctx.training { train } else { infer })
        }
        // On one device the mean over the devices is the value itself; a data-parallel run
        // averages these steps across its devices before they get here (`parallel.rs`).
        Op::ReplicaMean => Ok(args.remove(0)),
    }
}

fn float(s: Slot) -> Result<FloatT, String> {
    match s {
        Slot::F(t) => Ok(t),
        Slot::I(_) => Err("expected a float operand, received an integer one".into()),
    }
}

fn two_floats(mut args: Vec<Slot>) -> Result<(FloatT, FloatT), String> {
    let b = float(args.pop().ok_or("missing operand")?)?;
    let a = float(args.pop().ok_or("missing operand")?)?;
    Ok((a, b))
}
