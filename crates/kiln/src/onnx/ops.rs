//! One ONNX translation per IR op (activations in [`super::activation`]), with the lowering's
//! exact semantics (`kiln-burn/src/ops`). The training-only ops never reach here: the graph
//! walk takes their inference branch.

use super::activation::activation;
use super::builder::Builder;
use super::proto::{AttributeProto as A, FLOAT, INT32};
use kiln_ir::{BinaryOp, CompareOp, DType, Op, PoolKind, ReduceOp, TensorType, UnaryOp};

fn ints(v: &[usize]) -> Vec<i64> {
    v.iter().map(|&x| x as i64).collect()
}

/// ONNX's `pads`: every begin, then every end.
fn pads(p: &[(usize, usize)]) -> Vec<i64> {
    p.iter()
        .map(|x| x.0 as i64)
        .chain(p.iter().map(|x| x.1 as i64))
        .collect()
}

/// The ONNX element type of an IR dtype.
pub(crate) fn elem_type(d: DType) -> i32 {
    match d {
        DType::F32 => FLOAT,
        DType::I32 => INT32,
    }
}

/// Translates `op` applied to the values `x` (of types `tys`) whose result has type `out`;
/// returns the result's name.
pub(crate) fn translate(
    b: &mut Builder,
    op: &Op,
    x: &[&str],
    tys: &[&TensorType],
    out: &TensorType,
) -> Result<String, String> {
    Ok(match op {
        Op::Matmul => b.bin("MatMul", x[0], x[1]),
        Op::Binary { kind } => {
            let name = match kind {
                BinaryOp::Add => "Add",
                BinaryOp::Sub => "Sub",
                BinaryOp::Mul => "Mul",
                BinaryOp::Div => "Div",
                BinaryOp::Maximum => "Max",
                BinaryOp::Minimum => "Min",
                BinaryOp::Pow => "Pow",
            };
            b.bin(name, x[0], x[1])
        }
        Op::BiasAdd => b.bin("Add", x[0], x[1]),
        Op::Unary { kind } => unary(b, *kind, x[0]),
        Op::Activation { kind } => activation(b, *kind, x[0], tys[0])?,
        Op::Clip { min, max } => b.clip(x[0], *min, *max),
        Op::Compare { kind } => {
            let name = match kind {
                CompareOp::Equal => "Equal",
                CompareOp::Greater => "Greater",
                CompareOp::GreaterEqual => "GreaterOrEqual",
                CompareOp::Less => "Less",
            };
            let c = b.bin(name, x[0], x[1]);
            b.cast(&c, FLOAT)
        }
        Op::Constant { value } => b.scalar(*value),
        Op::Reshape { shape } => {
            // A symbolic first dimension copies the operand's (ONNX's 0); the IR keeps the
            // batch first on both sides.
            let dims: Vec<i64> = shape.dims().iter().map(|d| d.map_or(0, |n| n as i64)).collect();
            let s = b.i64s(&dims);
            b.op("Reshape", &[x[0], &s], Vec::new())
        }
        Op::Concat { axis } => b.op("Concat", x, vec![A::int("axis", *axis as i64)]),
        Op::Reduce { kind, axes, keepdims } => {
            let name = match kind {
                ReduceOp::Sum => "ReduceSum",
                ReduceOp::Mean => "ReduceMean",
                ReduceOp::Max => "ReduceMax",
                ReduceOp::Min => "ReduceMin",
            };
            let axes = ints(axes);
            b.reduce(name, x[0], (!axes.is_empty()).then_some(axes.as_slice()), *keepdims)
        }
        Op::Argmax { axis } => {
            let attrs = vec![A::int("axis", *axis as i64), A::int("keepdims", 0)];
            let i = b.op("ArgMax", &[x[0]], attrs);
            b.cast(&i, INT32)
        }
        Op::OneHot { depth } => {
            // Equal to 0..depth: an index outside [0, depth) gives a row of zeros (ONNX's
            // OneHot would wrap negative indices).
            let depth = i32::try_from(*depth).map_err(|_| format!("depth {depth} exceeds i32"))?;
            let last = b.i64s(&[-1]);
            let column = b.op("Unsqueeze", &[x[0], &last], Vec::new());
            let classes = b.i32s(&(0..depth).collect::<Vec<_>>());
            let hit = b.bin("Equal", &column, &classes);
            b.cast(&hit, FLOAT)
        }
        Op::Cast { to } if *to == tys[0].dtype => x[0].to_string(),
        Op::Cast { to } => b.cast(x[0], elem_type(*to)),
        Op::Conv {
            strides,
            padding,
            dilation,
            groups,
        } => {
            let window = &tys[1].shape.to_fixed().ok_or("the kernel needs a fixed shape")?[2..];
            let attrs = vec![
                A::ints("kernel_shape", ints(window)),
                A::ints("strides", ints(strides)),
                A::ints("pads", pads(padding)),
                A::ints("dilations", ints(dilation)),
                A::int("group", *groups as i64),
            ];
            // ONNX's Conv takes the optional bias as its third input, as the IR does.
            b.op("Conv", x, attrs)
        }
        Op::ConvTranspose {
            strides,
            dilation,
            groups,
        } => {
            // No padding and no output padding: the full transposed convolution.
            let window = &tys[1].shape.to_fixed().ok_or("the kernel needs a fixed shape")?[2..];
            let attrs = vec![
                A::ints("kernel_shape", ints(window)),
                A::ints("strides", ints(strides)),
                A::ints("dilations", ints(dilation)),
                A::int("group", *groups as i64),
            ];
            b.op("ConvTranspose", &[x[0], x[1]], attrs)
        }
        Op::Pool {
            kind,
            window,
            strides,
            padding,
        } => {
            let mut attrs = vec![
                A::ints("kernel_shape", ints(window)),
                A::ints("strides", ints(strides)),
                A::ints("pads", pads(padding)),
            ];
            match kind {
                PoolKind::Max => b.op("MaxPool", &[x[0]], attrs),
                PoolKind::Avg => {
                    // Keras's averages leave the padding out.
                    attrs.push(A::int("count_include_pad", 0));
                    b.op("AveragePool", &[x[0]], attrs)
                }
            }
        }
        Op::Transpose { perm } => b.op("Transpose", &[x[0]], vec![A::ints("perm", ints(perm))]),
        Op::Slice { axis, start, end } => {
            let (s, e, a) = (
                b.i64s(&[*start as i64]),
                b.i64s(&[*end as i64]),
                b.i64s(&[*axis as i64]),
            );
            b.op("Slice", &[x[0], &s, &e, &a], Vec::new())
        }
        Op::Pad { pads: p, value } => {
            if p.iter().all(|&(s, e)| s == 0 && e == 0) {
                return Ok(x[0].to_string());
            }
            let (p, v) = (b.i64s(&pads(p)), b.scalar(*value));
            b.op("Pad", &[x[0], &p, &v], vec![])
        }
        Op::Repeat { axis, times } => repeat(b, x[0], tys[0], *axis, *times, out)?,
        Op::Gather => {
            // Indices outside the table take its first or last row, as the lowering clamps.
            let rows = tys[0]
                .shape
                .dims()
                .first()
                .copied()
                .flatten()
                .ok_or("the table needs a fixed size")?;
            let last = i32::try_from(rows.saturating_sub(1)).map_err(|_| format!("{rows} rows exceed i32"))?;
            let (lo, hi) = (b.i32_scalar(0), b.i32_scalar(last));
            let idx = b.op("Clip", &[x[1], &lo, &hi], Vec::new());
            b.op("Gather", &[x[0], &idx], vec![A::int("axis", 0)])
        }
        Op::Dropout { .. } | Op::Noise { .. } | Op::IfTraining | Op::ReplicaMean => {
            return Err(
                "a training-time op reached the translation (the graph walk takes its inference branch)".into(),
            );
        }
    })
}

fn unary(b: &mut Builder, kind: UnaryOp, x: &str) -> String {
    match kind {
        UnaryOp::Neg => b.un("Neg", x),
        UnaryOp::Abs => b.un("Abs", x),
        UnaryOp::Exp => b.un("Exp", x),
        UnaryOp::Log => b.un("Log", x),
        UnaryOp::Sqrt => b.un("Sqrt", x),
        UnaryOp::Sign => b.un("Sign", x),
        UnaryOp::Square => b.bin("Mul", x, x),
        UnaryOp::StopGradient => b.un("Identity", x),
        UnaryOp::Log1p => {
            // log1p without its rounding loss (Goldberg): u = 1 + x, then x where u == 1,
            // else x * log(u) / (u - 1).
            let u = b.with_scalar("Add", x, 1.0);
            let one = b.scalar(1.0);
            let exact = b.bin("Equal", &u, &one);
            let log = b.un("Log", &u);
            let d = b.bin("Sub", &u, &one);
            let ratio = b.bin("Div", &log, &d);
            let y = b.bin("Mul", x, &ratio);
            b.op("Where", &[&exact, x, &y], Vec::new())
        }
    }
}

/// numpy's `repeat` along `axis`: a new axis after it, broadcast to `times`, merged back.
fn repeat(
    b: &mut Builder,
    x: &str,
    ty: &TensorType,
    axis: usize,
    times: usize,
    out: &TensorType,
) -> Result<String, String> {
    let rank = ty.shape.rank();
    let after = b.i64s(&[axis as i64 + 1]);
    let split = b.op("Unsqueeze", &[x, &after], Vec::new());
    let mut wide = vec![1i64; rank + 1];
    wide[axis + 1] = times as i64;
    let wide = b.i64s(&wide);
    let expanded = b.op("Expand", &[&split, &wide], Vec::new());
    let symbolic = out.shape.dims().iter().filter(|d| d.is_none()).count();
    if symbolic > 1 {
        return Err(format!("cannot reshape to {out}: more than one symbolic dimension"));
    }
    let dims: Vec<i64> = out.shape.dims().iter().map(|d| d.map_or(-1, |n| n as i64)).collect();
    let s = b.i64s(&dims);
    Ok(b.op("Reshape", &[&expanded, &s], Vec::new()))
}
