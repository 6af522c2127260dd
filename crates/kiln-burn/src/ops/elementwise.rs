//! Element-wise ops, comparisons and constants.

use crate::slot::{FloatT, IntT, MAX_RANK, Slot};
use burn::tensor::Device;
use kiln_ir::{BinaryOp, CompareOp, UnaryOp};

/// The numpy broadcast of two same-rank dims.
fn target(a: [usize; MAX_RANK], b: [usize; MAX_RANK]) -> [usize; MAX_RANK] {
    let mut t = a;
    for i in 0..MAX_RANK {
        t[i] = if a[i] == 1 { b[i] } else { a[i] };
    }
    t
}

macro_rules! broadcast_fn {
    ($name:ident, $t:ty) => {
        /// Expands both operands to their common shape when they differ.
        pub(crate) fn $name(a: $t, b: $t) -> ($t, $t) {
            let (da, db) = (a.dims(), b.dims());
            if da == db {
                return (a, b);
            }
            let t = target(da, db);
            let a = if da == t { a } else { a.expand(t) };
            let b = if db == t { b } else { b.expand(t) };
            (a, b)
        }
    };
}
broadcast_fn!(broadcast, FloatT);
broadcast_fn!(broadcast_int, IntT);

pub(crate) fn binary(kind: BinaryOp, a: FloatT, b: FloatT) -> FloatT {
    let (a, b) = broadcast(a, b);
    match kind {
        BinaryOp::Add => a + b,
        BinaryOp::Sub => a - b,
        BinaryOp::Mul => a * b,
        BinaryOp::Div => a / b,
        BinaryOp::Maximum => a.max_pair(b),
        BinaryOp::Minimum => a.min_pair(b),
        BinaryOp::Pow => a.powf(b),
    }
}

pub(crate) fn unary(kind: UnaryOp, x: FloatT) -> FloatT {
    match kind {
        UnaryOp::Neg => x.neg(),
        UnaryOp::Abs => x.abs(),
        UnaryOp::Exp => x.exp(),
        UnaryOp::Log => x.log(),
        UnaryOp::Log1p => x.log1p(),
        UnaryOp::Sqrt => x.sqrt(),
        UnaryOp::Square => x.square(),
        UnaryOp::Sign => x.sign(),
        UnaryOp::StopGradient => x.detach(),
    }
}

pub(crate) fn compare(kind: CompareOp, a: Slot, b: Slot) -> Result<Slot, String> {
    macro_rules! cmp {
        ($a:expr, $b:expr) => {
            match kind {
                CompareOp::Equal => $a.equal($b).float(),
                CompareOp::Greater => $a.greater($b).float(),
                CompareOp::GreaterEqual => $a.greater_equal($b).float(),
                CompareOp::Less => $a.lower($b).float(),
            }
        };
    }
    Ok(Slot::F(match (a, b) {
        (Slot::F(a), Slot::F(b)) => {
            let (a, b) = broadcast(a, b);
            cmp!(a, b)
        }
        (Slot::I(a), Slot::I(b)) => {
            let (a, b) = broadcast_int(a, b);
            cmp!(a, b)
        }
        _ => return Err("operands have different element types".into()),
    }))
}

pub(crate) fn constant(value: f32, device: &Device) -> FloatT {
    FloatT::full([1; MAX_RANK], value, device)
}
