//! Shape inference for the structural ops: convolution, pooling, transposes, slices,
//! padding, repeats, gathers and the training switch.

use crate::op::Op;
use crate::shape::{DType, Dim, Shape, TensorType};

/// Infers the result type of a structural op (the caller has checked the arity).
pub(crate) fn infer(op: &Op, inputs: &[&TensorType]) -> Result<TensorType, String> {
    match op {
        Op::Conv {
            strides,
            padding,
            dilation,
            groups,
        } => {
            let out = match inputs {
                [x, k] | [x, k, _] => conv(x, k, strides, padding, dilation, *groups)?,
                _ => return Err(format!("expected 2 or 3 operands, received {}", inputs.len())),
            };
            if let [_, _, bias] = inputs {
                conv_bias(bias, &out)?;
            }
            Ok(out)
        }
        Op::ConvTranspose {
            strides,
            dilation,
            groups,
        } => conv_transpose(inputs[0], inputs[1], strides, dilation, *groups),
        Op::Pool {
            window,
            strides,
            padding,
            ..
        } => pool(inputs[0], window, strides, padding),
        Op::Transpose { perm } => transpose(inputs[0], perm),
        Op::Slice { axis, start, end } => slice(inputs[0], *axis, *start, *end),
        Op::Pad { pads, .. } => pad(inputs[0], pads),
        Op::Repeat { axis, times } => repeat(inputs[0], *axis, *times),
        Op::Gather => gather(inputs[0], inputs[1]),
        Op::IfTraining => {
            if inputs[0] != inputs[1] {
                return Err(format!(
                    "both branches need one type, received {} and {}",
                    inputs[0], inputs[1]
                ));
            }
            Ok(inputs[0].clone())
        }
        other => Err(format!("{other} is not a structural op")),
    }
}

fn f32_operand(t: &TensorType) -> Result<(), String> {
    if t.dtype == DType::F32 {
        Ok(())
    } else {
        Err(format!("expected an f32 operand, received {t}"))
    }
}

/// Checks that per-axis settings cover every spatial axis of a channels-first operand
/// and returns the number of spatial axes.
fn spatial_axes(x: &TensorType, lens: &[(&str, usize)]) -> Result<usize, String> {
    f32_operand(x)?;
    let rank = x.shape.rank();
    if !(3..=4).contains(&rank) {
        return Err(format!(
            "expected a channels-first input with 1 or 2 spatial axes (rank 3 or 4), received {x}"
        ));
    }
    let spatial = rank - 2;
    for (name, len) in lens {
        if *len != spatial {
            return Err(format!("{name} has {len} entries for {spatial} spatial axes"));
        }
    }
    Ok(spatial)
}

fn positive(name: &str, values: &[usize]) -> Result<(), String> {
    if values.contains(&0) {
        return Err(format!("{name} must be positive, received {values:?}"));
    }
    Ok(())
}

/// Output length of a window sliding over `len` (padded) elements, or an error when the
/// window does not fit.
fn window_output(len: Dim, pad: (usize, usize), window: usize, stride: usize) -> Result<Dim, String> {
    let Some(len) = len else { return Ok(None) };
    let padded = len + pad.0 + pad.1;
    if padded < window {
        return Err(format!(
            "the window ({window}) is larger than the padded input ({padded} = {len} + {} + {})",
            pad.0, pad.1
        ));
    }
    Ok(Some((padded - window) / stride + 1))
}

/// A convolution's bias: an f32 vector of its output channels.
fn conv_bias(bias: &TensorType, out: &TensorType) -> Result<(), String> {
    f32_operand(bias)?;
    let channels = out.shape.0[1];
    let fits =
        bias.shape.rank() == 1 && (bias.shape.0[0] == channels || bias.shape.0[0].is_none() || channels.is_none());
    if !fits {
        let expected = channels.map_or("?".to_string(), |c| c.to_string());
        return Err(format!(
            "the bias must be a vector of the {expected} output channels, received {bias}"
        ));
    }
    Ok(())
}

fn conv(
    x: &TensorType,
    k: &TensorType,
    strides: &[usize],
    padding: &[(usize, usize)],
    dilation: &[usize],
    groups: usize,
) -> Result<TensorType, String> {
    let n = spatial_axes(
        x,
        &[
            ("strides", strides.len()),
            ("padding", padding.len()),
            ("dilation", dilation.len()),
        ],
    )?;
    f32_operand(k)?;
    positive("strides", strides)?;
    positive("dilation", dilation)?;
    let kd = k.shape.to_fixed().filter(|d| d.len() == n + 2).ok_or_else(|| {
        format!(
            "expected a kernel [out, in / groups, *window] of rank {}, received {k}",
            n + 2
        )
    })?;
    let channels = x.shape.0[1].ok_or_else(|| format!("the channel axis of {x} must be known"))?;
    if groups == 0 || channels % groups != 0 || kd[0] % groups != 0 || kd[1] * groups != channels {
        return Err(format!(
            "{channels} input channels in {groups} groups do not match a kernel {k} (expected [out, {}, …] with out divisible by {groups})",
            channels / groups.max(1)
        ));
    }
    let mut dims = vec![x.shape.0[0], Some(kd[0])];
    for i in 0..n {
        let window = dilation[i] * (kd[2 + i] - 1) + 1;
        dims.push(window_output(x.shape.0[2 + i], padding[i], window, strides[i])?);
    }
    Ok(TensorType::f32(Shape(dims)))
}

fn conv_transpose(
    x: &TensorType,
    k: &TensorType,
    strides: &[usize],
    dilation: &[usize],
    groups: usize,
) -> Result<TensorType, String> {
    let n = spatial_axes(x, &[("strides", strides.len()), ("dilation", dilation.len())])?;
    f32_operand(k)?;
    positive("strides", strides)?;
    positive("dilation", dilation)?;
    let kd = k.shape.to_fixed().filter(|d| d.len() == n + 2).ok_or_else(|| {
        format!(
            "expected a kernel [in, out / groups, *window] of rank {}, received {k}",
            n + 2
        )
    })?;
    let channels = x.shape.0[1].ok_or_else(|| format!("the channel axis of {x} must be known"))?;
    if groups == 0 || kd[0] != channels || channels % groups != 0 {
        return Err(format!(
            "{channels} input channels in {groups} groups do not match a kernel {k} (expected [{channels}, out / groups, …])"
        ));
    }
    let mut dims = vec![x.shape.0[0], Some(kd[1] * groups)];
    for i in 0..n {
        dims.push(x.shape.0[2 + i].map(|len| (len.max(1) - 1) * strides[i] + dilation[i] * (kd[2 + i] - 1) + 1));
    }
    Ok(TensorType::f32(Shape(dims)))
}

fn pool(x: &TensorType, window: &[usize], strides: &[usize], padding: &[(usize, usize)]) -> Result<TensorType, String> {
    let n = spatial_axes(
        x,
        &[
            ("window", window.len()),
            ("strides", strides.len()),
            ("padding", padding.len()),
        ],
    )?;
    positive("window", window)?;
    positive("strides", strides)?;
    for (i, &(b, e)) in padding.iter().enumerate() {
        if b >= window[i] || e >= window[i] {
            return Err(format!(
                "padding {:?} must be smaller than the window {window:?} on every side",
                padding
            ));
        }
    }
    let mut dims = x.shape.0[..2].to_vec();
    for i in 0..n {
        dims.push(window_output(x.shape.0[2 + i], padding[i], window[i], strides[i])?);
    }
    Ok(TensorType::f32(Shape(dims)))
}

fn transpose(x: &TensorType, perm: &[usize]) -> Result<TensorType, String> {
    let rank = x.shape.rank();
    let mut sorted = perm.to_vec();
    sorted.sort_unstable();
    if sorted != (0..rank).collect::<Vec<_>>() {
        return Err(format!("perm {perm:?} is not a permutation of the {rank} axes of {x}"));
    }
    Ok(TensorType::new(
        x.dtype,
        Shape(perm.iter().map(|&a| x.shape.0[a]).collect()),
    ))
}

fn slice(x: &TensorType, axis: usize, start: usize, end: usize) -> Result<TensorType, String> {
    let dim = x
        .shape
        .0
        .get(axis)
        .ok_or_else(|| format!("axis {axis} is out of range for {x}"))?
        .ok_or_else(|| format!("axis {axis} of {x} must have a known size to be sliced"))?;
    if start >= end || end > dim {
        return Err(format!(
            "slice {start}..{end} is empty or outside axis {axis} of size {dim}"
        ));
    }
    let mut dims = x.shape.0.clone();
    dims[axis] = Some(end - start);
    Ok(TensorType::new(x.dtype, Shape(dims)))
}

fn pad(x: &TensorType, pads: &[(usize, usize)]) -> Result<TensorType, String> {
    f32_operand(x)?;
    if pads.len() != x.shape.rank() {
        return Err(format!(
            "{} padding pairs for an operand of rank {} ({x})",
            pads.len(),
            x.shape.rank()
        ));
    }
    let dims = x
        .shape
        .0
        .iter()
        .zip(pads)
        .map(|(d, (b, e))| d.map(|d| d + b + e))
        .collect();
    Ok(TensorType::f32(Shape(dims)))
}

fn repeat(x: &TensorType, axis: usize, times: usize) -> Result<TensorType, String> {
    if times == 0 {
        return Err("times must be positive".into());
    }
    let mut dims = x.shape.0.clone();
    let d = dims
        .get_mut(axis)
        .ok_or_else(|| format!("axis {axis} is out of range for {x}"))?;
    *d = d.map(|d| d * times);
    Ok(TensorType::new(x.dtype, Shape(dims)))
}

fn gather(table: &TensorType, indices: &TensorType) -> Result<TensorType, String> {
    f32_operand(table)?;
    if table.shape.rank() < 1 || table.shape.has_symbolic() {
        return Err(format!("expected a table with fixed dimensions, received {table}"));
    }
    if indices.dtype != DType::I32 {
        return Err(format!("expected i32 indices, received {indices}"));
    }
    let mut dims = indices.shape.0.clone();
    dims.extend(table.shape.0[1..].iter().copied());
    Ok(TensorType::f32(Shape(dims)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::op::PoolKind;

    fn t(shape: Shape) -> TensorType {
        TensorType::f32(shape)
    }

    #[test]
    fn a_conv_bias_is_a_vector_of_the_output_channels() {
        let (x, k) = (t(Shape::batched([3, 8, 7])), t(Shape::fixed([4, 3, 3, 3])));
        let op = Op::Conv {
            strides: vec![1, 1],
            padding: vec![(0, 0), (0, 0)],
            dilation: vec![1, 1],
            groups: 1,
        };
        let out = t(Shape::batched([4, 6, 5]));
        assert_eq!(op.infer(&[&x, &k, &t(Shape::fixed([4]))]).unwrap(), out);
        let wrong = op.infer(&[&x, &k, &t(Shape::fixed([3]))]).unwrap_err();
        assert_eq!(
            wrong,
            "the bias must be a vector of the 4 output channels, received f32[3]"
        );
        let four = op.infer(&[&x, &k, &t(Shape::fixed([4])), &t(Shape::fixed([4]))]);
        assert_eq!(four.unwrap_err(), "expected 2 or 3 operands, received 4");
        assert_eq!(op.infer(&[&x]).unwrap_err(), "expected 2 or 3 operands, received 1");
    }

    #[test]
    fn conv_output_sizes_follow_the_padded_window_formula() {
        let x = t(Shape::batched([3, 8, 7]));
        let k = t(Shape::fixed([4, 3, 3, 3]));
        let op = Op::Conv {
            strides: vec![2, 2],
            padding: vec![(0, 1), (1, 1)],
            dilation: vec![1, 1],
            groups: 1,
        };
        assert_eq!(op.infer(&[&x, &k]).unwrap(), t(Shape::batched([4, 4, 4])));
        let dilated = Op::Conv {
            strides: vec![1, 1],
            padding: vec![(0, 0), (0, 0)],
            dilation: vec![2, 3],
            groups: 1,
        };
        assert_eq!(dilated.infer(&[&x, &k]).unwrap(), t(Shape::batched([4, 4, 1])));
        let grouped = Op::Conv {
            strides: vec![1],
            padding: vec![(0, 0)],
            dilation: vec![1],
            groups: 2,
        };
        let x1 = t(Shape::batched([4, 5]));
        assert_eq!(
            grouped.infer(&[&x1, &t(Shape::fixed([6, 2, 2]))]).unwrap(),
            t(Shape::batched([6, 4]))
        );
        let err = grouped.infer(&[&x1, &t(Shape::fixed([6, 4, 2]))]).unwrap_err();
        assert!(err.contains("groups"), "{err}");
    }

    #[test]
    fn windows_larger_than_the_input_are_refused() {
        let x = t(Shape::batched([1, 2, 2]));
        let op = Op::Pool {
            kind: PoolKind::Max,
            window: vec![3, 3],
            strides: vec![1, 1],
            padding: vec![(0, 0), (0, 0)],
        };
        let err = op.infer(&[&x]).unwrap_err();
        assert!(err.contains("window (3) is larger than the padded input (2"), "{err}");
    }

    #[test]
    fn conv_transpose_gives_the_full_output() {
        let x = t(Shape::batched([3, 4, 4]));
        let k = t(Shape::fixed([3, 2, 3, 3]));
        let op = Op::ConvTranspose {
            strides: vec![2, 2],
            dilation: vec![1, 1],
            groups: 1,
        };
        assert_eq!(op.infer(&[&x, &k]).unwrap(), t(Shape::batched([2, 9, 9])));
    }

    #[test]
    fn transpose_slice_pad_repeat_and_gather() {
        let x = t(Shape::batched([2, 5]));
        let perm = Op::Transpose { perm: vec![0, 2, 1] };
        assert_eq!(perm.infer(&[&x]).unwrap(), t(Shape::batched([5, 2])));
        assert!(Op::Transpose { perm: vec![0, 0, 1] }.infer(&[&x]).is_err());
        let s = Op::Slice {
            axis: 2,
            start: 1,
            end: 4,
        };
        assert_eq!(s.infer(&[&x]).unwrap(), t(Shape::batched([2, 3])));
        assert!(
            Op::Slice {
                axis: 0,
                start: 0,
                end: 1
            }
            .infer(&[&x])
            .is_err()
        );
        let p = Op::Pad {
            pads: vec![(0, 0), (1, 2), (0, 1)],
            value: 0.0,
        };
        assert_eq!(p.infer(&[&x]).unwrap(), t(Shape::batched([5, 6])));
        let r = Op::Repeat { axis: 1, times: 3 };
        assert_eq!(r.infer(&[&x]).unwrap(), t(Shape::batched([6, 5])));
        let table = t(Shape::fixed([10, 4]));
        let idx = TensorType::new(DType::I32, Shape::batched([7]));
        assert_eq!(Op::Gather.infer(&[&table, &idx]).unwrap(), t(Shape::batched([7, 4])));
    }
}
