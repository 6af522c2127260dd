//! Checking and adapting the arrays given to `fit`, `evaluate` and `predict`.

use crate::error::{KilnError, Result};
use kiln_ir::{DType, HostTensor, Shape, TensorType};

/// The arrays for a model's inputs or targets: one tensor, or one per input/output.
#[derive(Clone, Debug, PartialEq)]
pub struct Data(pub Vec<HostTensor>);

impl From<HostTensor> for Data {
    fn from(t: HostTensor) -> Self {
        Data(vec![t])
    }
}

impl From<&HostTensor> for Data {
    fn from(t: &HostTensor) -> Self {
        Data(vec![t.clone()])
    }
}

impl From<Vec<HostTensor>> for Data {
    fn from(v: Vec<HostTensor>) -> Self {
        Data(v)
    }
}

impl From<&[HostTensor]> for Data {
    fn from(v: &[HostTensor]) -> Self {
        Data(v.to_vec())
    }
}

impl<const N: usize> From<[&HostTensor; N]> for Data {
    fn from(v: [&HostTensor; N]) -> Self {
        Data(v.iter().map(|t| (*t).clone()).collect())
    }
}

impl Data {
    /// Number of samples (rows of the first array; 0 when there is none).
    pub fn len(&self) -> usize {
        self.0.first().map_or(0, HostTensor::rows_len)
    }

    /// Whether there are no samples.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    pub(crate) fn rows(&self, idx: &[usize]) -> Vec<HostTensor> {
        self.0.iter().map(|t| t.rows(idx)).collect()
    }
}

fn shape_text(dims: &[usize]) -> String {
    Shape::fixed(dims.iter().copied()).keras_string()
}

/// Checks `data` against the expected `types` (`what` is "input" or "target"; `names`
/// the model's input or output names) and adapts it: casts element types and, for
/// targets, adds or drops a trailing axis of size 1 as Keras does.
pub(crate) fn conform(model: &str, what: &str, names: &[String], types: &[TensorType], data: Data) -> Result<Data> {
    if data.0.len() != types.len() {
        return Err(KilnError::Data(format!(
            "model '{model}' expects {} {what} array(s) ({}), received {}",
            types.len(),
            names.join(", "),
            data.0.len()
        )));
    }
    let mut out = Vec::with_capacity(types.len());
    for (i, (t, ty)) in data.0.into_iter().zip(types).enumerate() {
        let want = &ty.shape;
        let mut t = t;
        if what == "target" {
            let (r, wr) = (t.shape().len(), want.rank());
            if r + 1 == wr && want.last() == Some(Some(1)) {
                let mut s = t.shape().to_vec();
                s.push(1);
                t = t.reshape(s).map_err(|e| KilnError::Data(e.to_string()))?;
            } else if r == wr + 1 && t.shape().last() == Some(&1) {
                let s = t.shape()[..r - 1].to_vec();
                t = t.reshape(s).map_err(|e| KilnError::Data(e.to_string()))?;
            }
        }
        if !want.accepts(t.shape()) {
            return Err(KilnError::Data(format!(
                "model '{model}': {what} {i} ('{}') expected shape {}, received data of shape {}",
                names.get(i).map(String::as_str).unwrap_or("?"),
                want.keras_string(),
                shape_text(t.shape())
            )));
        }
        if t.dtype() != ty.dtype {
            if ty.dtype == DType::I32
                && let Some((at, bad)) = t
                    .as_f32()
                    .and_then(|v| v.iter().enumerate().find(|(_, x)| x.fract() != 0.0))
            {
                return Err(KilnError::Data(format!(
                    "model '{model}': {what} {i} ('{}') expects integer class labels, received {bad} at index {at}",
                    names.get(i).map(String::as_str).unwrap_or("?"),
                )));
            }
            t = t.cast(ty.dtype);
        }
        out.push(t);
    }
    let data = Data(out);
    let n = data.len();
    for (i, t) in data.0.iter().enumerate() {
        if t.rows_len() != n {
            return Err(KilnError::Data(format!(
                "model '{model}': {what} arrays must have the same number of samples; {what} 0 has {n}, {what} {i} has {}",
                t.rows_len()
            )));
        }
    }
    Ok(data)
}

/// Checks that integer labels lie in `0..classes` for sparse losses.
pub(crate) fn check_labels(model: &str, name: &str, t: &HostTensor, classes: usize) -> Result<()> {
    if let Some(v) = t.as_i32()
        && let Some((i, &bad)) = v.iter().enumerate().find(|(_, x)| **x < 0 || **x as usize >= classes)
    {
        return Err(KilnError::Data(format!(
            "model '{model}': target for '{name}' holds class label {bad} at index {i}; expected labels in 0..{classes}"
        )));
    }
    Ok(())
}

/// Batches of `batch_size` indices covering `0..n` in the given order.
pub(crate) fn batches(order: &[usize], batch_size: usize) -> impl Iterator<Item = &[usize]> {
    order.chunks(batch_size.max(1))
}
