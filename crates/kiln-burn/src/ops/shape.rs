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

/// Permutes the axes of a rank-`rank` value: result axis `i` is axis `perm[i]`.
pub(crate) fn transpose(x: Slot, rank: usize, perm: &[usize]) -> Slot {
    let offset = MAX_RANK - rank;
    let mut axes = [0usize; MAX_RANK];
    for (i, a) in axes.iter_mut().enumerate() {
        *a = if i < offset { i } else { offset + perm[i - offset] };
    }
    match x {
        Slot::F(t) => Slot::F(t.permute(axes)),
        Slot::I(t) => Slot::I(t.permute(axes)),
    }
}

/// `x[start..end]` along `axis`.
pub(crate) fn slice(x: Slot, rank: usize, axis: usize, start: usize, end: usize) -> Slot {
    let b = burn_axis(axis, rank);
    match x {
        Slot::F(t) => Slot::F(t.narrow(b, start, end - start)),
        Slot::I(t) => Slot::I(t.narrow(b, start, end - start)),
    }
}

/// Pads every logical axis with `value`.
pub(crate) fn pad(x: FloatT, pads: &[(usize, usize)], value: f32) -> FloatT {
    if pads.iter().all(|&(b, e)| b == 0 && e == 0) {
        return x;
    }
    x.pad(pads.to_vec(), burn::tensor::ops::PadMode::Constant(value))
}

/// numpy's `repeat`: each element `times` times along `axis`.
pub(crate) fn repeat(x: Slot, rank: usize, axis: usize, times: usize) -> Result<Slot, String> {
    if rank + 1 > MAX_RANK {
        return Err(format!(
            "repeat needs a spare axis; rank {rank} values are not supported"
        ));
    }
    let dims = logical(x.dims(), rank);
    let mut split = dims.clone();
    split.insert(axis + 1, 1);
    let mut wide = split.clone();
    wide[axis + 1] = times;
    let mut out = dims;
    out[axis] *= times;
    let (split, wide, out) = (padded(&split), padded(&wide), padded(&out));
    Ok(match x {
        Slot::F(t) => Slot::F(t.reshape(split).expand(wide).reshape(out)),
        Slot::I(t) => Slot::I(t.reshape(split).expand(wide).reshape(out)),
    })
}

/// Rows of `table` (rank `table_rank`) at i32 `indices` (rank `index_rank`); indices
/// outside the table are clamped to its first or last row.
pub(crate) fn gather(table: FloatT, indices: Slot, table_rank: usize, index_rank: usize) -> Result<FloatT, String> {
    let Slot::I(indices) = indices else {
        return Err("expected integer indices".into());
    };
    if index_rank + table_rank - 1 > MAX_RANK {
        return Err(format!(
            "a gather result of rank {} exceeds {MAX_RANK}",
            index_rank + table_rank - 1
        ));
    }
    let table_dims = logical(table.dims(), table_rank);
    let index_dims = logical(indices.dims(), index_rank);
    let n: usize = index_dims.iter().product();
    let flat = indices
        .reshape::<1, _>([n])
        .clamp(0, table_dims[0].saturating_sub(1) as i64);
    let rows = table.select(MAX_RANK - table_rank, flat);
    let mut out = index_dims;
    out.extend_from_slice(&table_dims[1..]);
    Ok(rows.reshape(padded(&out)))
}
