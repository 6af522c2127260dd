//! Reshape, concatenation, casts and one-hot encoding.

use crate::slot::{FloatT, IntT, MAX_RANK, Slot, burn_axis, logical, padded};
use kiln_ir::{DType, Shape};

pub(crate) fn reshape(x: Slot, rank: usize, target: &Shape) -> Result<Slot, String> {
    let dims = logical(x.dims(), rank);
    let to: Vec<usize> = target
        .dims()
        .iter()
        .enumerate()
        .map(|(i, d)| d.unwrap_or(if i == 0 { dims.first().copied().unwrap_or(1) } else { 1 }))
        .collect();
    if to.iter().product::<usize>() != dims.iter().product::<usize>() {
        return Err(format!("cannot reshape {dims:?} to {to:?}"));
    }
    let to = padded(&to);
    Ok(match x {
        Slot::F(t) => Slot::F(t.reshape(to)),
        Slot::I(t) => Slot::I(t.reshape(to)),
    })
}

pub(crate) fn concat(args: Vec<Slot>, axis: usize, rank: usize) -> Result<Slot, String> {
    let b = burn_axis(axis, rank);
    if args.iter().all(|s| matches!(s, Slot::F(_))) {
        let ts: Vec<FloatT> = args
            .into_iter()
            .filter_map(|s| if let Slot::F(t) = s { Some(t) } else { None })
            .collect();
        Ok(Slot::F(FloatT::cat(ts, b)))
    } else if args.iter().all(|s| matches!(s, Slot::I(_))) {
        let ts: Vec<IntT> = args
            .into_iter()
            .filter_map(|s| if let Slot::I(t) = s { Some(t) } else { None })
            .collect();
        Ok(Slot::I(IntT::cat(ts, b)))
    } else {
        Err("operands have different element types".into())
    }
}

pub(crate) fn cast(x: Slot, to: DType) -> Slot {
    match (x, to) {
        (Slot::F(t), DType::I32) => Slot::I(t.int()),
        (Slot::I(t), DType::F32) => Slot::F(t.float()),
        (s, _) => s,
    }
}

pub(crate) fn one_hot(x: Slot, rank: usize, depth: usize) -> Result<Slot, String> {
    let Slot::I(x) = x else {
        return Err("expected integer class indices".into());
    };
    if rank + 1 > MAX_RANK {
        return Err(format!("one_hot output would exceed rank {MAX_RANK}"));
    }
    let mut dims = logical(x.dims(), rank);
    dims.push(1);
    let column = x.reshape(padded(&dims));
    let last = dims.len() - 1;
    dims[last] = depth;
    let out = padded(&dims);
    let classes = burn::tensor::Tensor::<1, burn::tensor::Int>::arange(0..depth as i64, &column.device())
        .reshape(padded(&[depth]));
    Ok(Slot::F(column.expand(out).equal(classes.expand(out)).float()))
}
