//! Activations: ONNX's own operator where it computes the same function (opset 17), else
//! the lowering's formula (`kiln-burn/src/ops/activation.rs`) from primitives.

use super::builder::Builder;
use super::proto::{AttributeProto as A, FLOAT};
use kiln_ir::{Activation, TensorType};

/// SELU's constants, as Keras defines them.
const SELU_ALPHA: f32 = 1.673_263_2;
const SELU_SCALE: f32 = 1.050_701;

/// `clip(x + 3, 0, 6) / 6` (relu6(x + 3) / 6).
fn hard_sigmoid(b: &mut Builder, x: &str) -> String {
    let s = b.with_scalar("Add", x, 3.0);
    let c = b.clip(&s, 0.0, 6.0);
    b.with_scalar("Div", &c, 6.0)
}

fn axis_len(ty: &TensorType, axis: usize) -> Result<usize, String> {
    ty.shape
        .dims()
        .get(axis)
        .copied()
        .flatten()
        .ok_or_else(|| format!("axis {axis} of {ty} needs a fixed size"))
}

/// Translates an activation of `x` (type `ty`); returns the result's name.
pub(crate) fn activation(b: &mut Builder, kind: Activation, x: &str, ty: &TensorType) -> Result<String, String> {
    Ok(match kind {
        Activation::Linear => x.to_string(),
        Activation::Relu => b.un("Relu", x),
        Activation::Sigmoid => b.un("Sigmoid", x),
        Activation::Tanh => b.un("Tanh", x),
        Activation::Softmax { axis } => b.op("Softmax", &[x], vec![A::int("axis", axis as i64)]),
        Activation::LogSoftmax { axis } => b.op("LogSoftmax", &[x], vec![A::int("axis", axis as i64)]),
        Activation::Gelu { approximate: false } => {
            // x * (erf(x / √2) + 1) * 0.5
            let s = b.with_scalar("Mul", x, std::f32::consts::FRAC_1_SQRT_2);
            let e = b.un("Erf", &s);
            let e1 = b.with_scalar("Add", &e, 1.0);
            let h = b.with_scalar("Mul", &e1, 0.5);
            b.bin("Mul", x, &h)
        }
        Activation::Gelu { approximate: true } => {
            // 0.5 x (1 + tanh(√(2/π) (x + 0.044715 x³)))
            let x2 = b.bin("Mul", x, x);
            let x3 = b.bin("Mul", &x2, x);
            let c = b.with_scalar("Mul", &x3, 0.044_715);
            let inner = b.bin("Add", x, &c);
            let scaled = b.with_scalar("Mul", &inner, (2.0 / std::f32::consts::PI).sqrt());
            let t = b.un("Tanh", &scaled);
            let t1 = b.with_scalar("Add", &t, 1.0);
            let y = b.bin("Mul", x, &t1);
            b.with_scalar("Mul", &y, 0.5)
        }
        Activation::Elu { alpha } => b.op("Elu", &[x], vec![A::float("alpha", alpha)]),
        Activation::Selu => b.op(
            "Selu",
            &[x],
            vec![A::float("alpha", SELU_ALPHA), A::float("gamma", SELU_SCALE)],
        ),
        Activation::Softplus => b.un("Softplus", x),
        Activation::Softsign => b.un("Softsign", x),
        Activation::Silu => {
            let s = b.un("Sigmoid", x);
            b.bin("Mul", x, &s)
        }
        Activation::LeakyRelu { negative_slope } => b.op("LeakyRelu", &[x], vec![A::float("alpha", negative_slope)]),
        Activation::HardSigmoid => hard_sigmoid(b, x),
        Activation::Exponential => b.un("Exp", x),
        Activation::Relu6 => b.clip(x, 0.0, 6.0),
        Activation::ReluExt {
            negative_slope,
            max_value,
            threshold,
        } => relu_ext(b, x, negative_slope, max_value, threshold),
        Activation::Celu { alpha } => b.op("Celu", &[x], vec![A::float("alpha", alpha)]),
        Activation::Glu { axis } => {
            // a * sigmoid(b), a and b the halves of the axis.
            let n = axis_len(ty, axis)? as i64;
            let ax = b.i64s(&[axis as i64]);
            let (s0, s1, s2) = (b.i64s(&[0]), b.i64s(&[n / 2]), b.i64s(&[n]));
            let first = b.op("Slice", &[x, &s0, &s1, &ax], Vec::new());
            let second = b.op("Slice", &[x, &s1, &s2, &ax], Vec::new());
            let g = b.un("Sigmoid", &second);
            b.bin("Mul", &first, &g)
        }
        Activation::HardSilu => {
            let h = hard_sigmoid(b, x);
            b.bin("Mul", x, &h)
        }
        Activation::HardTanh => b.clip(x, -1.0, 1.0),
        // Shrink: x + bias below -lambd, x - bias above lambd, else 0.
        Activation::HardShrink { threshold } => b.op(
            "Shrink",
            &[x],
            vec![A::float("lambd", threshold), A::float("bias", 0.0)],
        ),
        Activation::SoftShrink { threshold } => b.op(
            "Shrink",
            &[x],
            vec![A::float("lambd", threshold), A::float("bias", threshold)],
        ),
        Activation::LogSigmoid => {
            let n = b.un("Neg", x);
            let s = b.un("Softplus", &n);
            b.un("Neg", &s)
        }
        Activation::Mish => {
            let s = b.un("Softplus", x);
            let t = b.un("Tanh", &s);
            b.bin("Mul", x, &t)
        }
        Activation::SparsePlus => {
            // where(x >= 1, x, where(x <= -1, 0, (x + 1)² / 4))
            let u = b.with_scalar("Add", x, 1.0);
            let sq = b.bin("Mul", &u, &u);
            let mid = b.with_scalar("Div", &sq, 4.0);
            let low = b.with_scalar("LessOrEqual", x, -1.0);
            let zero = b.scalar(0.0);
            let lower = b.op("Where", &[&low, &zero, &mid], Vec::new());
            let high = b.with_scalar("GreaterOrEqual", x, 1.0);
            b.op("Where", &[&high, x, &lower], Vec::new())
        }
        Activation::SparseSigmoid => {
            let u = b.with_scalar("Add", x, 1.0);
            let c = b.clip(&u, 0.0, 2.0);
            b.with_scalar("Mul", &c, 0.5)
        }
        Activation::Sparsemax { axis } => sparsemax(b, x, ty, axis)?,
        Activation::Squareplus { b: smooth } => {
            let sq = b.bin("Mul", x, x);
            let s = b.with_scalar("Add", &sq, smooth);
            let r = b.un("Sqrt", &s);
            let sum = b.bin("Add", x, &r);
            b.with_scalar("Div", &sum, 2.0)
        }
        Activation::TanhShrink => {
            let t = b.un("Tanh", x);
            b.bin("Sub", x, &t)
        }
        Activation::Threshold {
            threshold,
            default_value,
        } => {
            let keep = b.with_scalar("Greater", x, threshold);
            let d = b.scalar(default_value);
            b.op("Where", &[&keep, x, &d], Vec::new())
        }
    })
}

/// `keras.activations.relu(x, negative_slope, max_value, threshold)`, step by step as the
/// lowering computes it.
fn relu_ext(b: &mut Builder, x: &str, slope: f32, max_value: Option<f32>, threshold: f32) -> String {
    if slope != 0.0 && max_value.is_none() && threshold == 0.0 {
        return b.op("LeakyRelu", &[x], vec![A::float("alpha", slope)]);
    }
    let negative = (slope != 0.0).then(|| {
        let t = b.scalar(threshold);
        let d = b.bin("Sub", &t, x);
        b.un("Relu", &d)
    });
    let mut clip_max = max_value.is_some();
    let mut y = if threshold != 0.0 {
        let keep = b.with_scalar("Greater", x, threshold);
        let zero = b.scalar(0.0);
        b.op("Where", &[&keep, x, &zero], Vec::new())
    } else if max_value == Some(6.0) {
        clip_max = false;
        b.clip(x, 0.0, 6.0)
    } else {
        b.un("Relu", x)
    };
    if let (true, Some(m)) = (clip_max, max_value) {
        y = b.clip(&y, 0.0, m);
    }
    match negative {
        Some(n) => {
            let s = b.with_scalar("Mul", &n, slope);
            b.bin("Sub", &y, &s)
        }
        None => y,
    }
}

/// Sparsemax along `axis` with the lowering's threshold: sort decreasingly (TopK), find the
/// support from the cumulative sums, `τ = (Σ_support x − 1) / |support|`, `max(x − τ, 0)`.
fn sparsemax(b: &mut Builder, x: &str, ty: &TensorType, axis: usize) -> Result<String, String> {
    let n = axis_len(ty, axis)?;
    let a = axis as i64;
    let k = b.i64s(&[n as i64]);
    let attrs = vec![A::int("axis", a), A::int("largest", 1), A::int("sorted", 1)];
    let sorted = b.op_n("TopK", &[x, &k], attrs, 2).remove(0);
    let ax = b.i64_scalar(a);
    let cumsum = b.op("CumSum", &[&sorted, &ax], Vec::new());
    // r = 1, 2, …, n along the axis.
    let mut dims = vec![1; ty.shape.rank()];
    dims[axis] = n;
    let r = b.f32s(&dims, &(1..=n).map(|i| i as f32).collect::<Vec<_>>());
    let c1 = b.with_scalar("Sub", &cumsum, 1.0);
    let bound = b.bin("Div", &c1, &r);
    let gap = b.bin("Sub", &sorted, &bound);
    let support = b.with_scalar("Greater", &gap, 0.0);
    let support_f = b.cast(&support, FLOAT);
    let count = b.reduce("ReduceSum", &support_f, Some(&[a]), true);
    let inf = b.scalar(f32::INFINITY);
    let masked = b.op("Where", &[&support, &sorted, &inf], Vec::new());
    let kth = b.reduce("ReduceMin", &masked, Some(&[a]), true);
    let inside = b.bin("GreaterOrEqual", x, &kth);
    let inside = b.cast(&inside, FLOAT);
    let kept = b.bin("Mul", x, &inside);
    let total = b.reduce("ReduceSum", &kept, Some(&[a]), true);
    let t1 = b.with_scalar("Sub", &total, 1.0);
    let tau = b.bin("Div", &t1, &count);
    let shifted = b.bin("Sub", x, &tau);
    Ok(b.with_scalar("Max", &shifted, 0.0))
}
