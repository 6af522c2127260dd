//! Host tensors: data in main memory, as users hand it to Kiln and get it back.

use crate::shape::DType;
use serde::{Deserialize, Serialize};
use std::fmt;

/// The elements of a host tensor.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum HostData {
    /// 32-bit floats.
    F32(Vec<f32>),
    /// 32-bit integers.
    I32(Vec<i32>),
}

/// A dense row-major tensor in host memory.
///
/// ```
/// use kiln_ir::HostTensor;
/// let x = HostTensor::from_f32(vec![1.0, 2.0, 3.0, 4.0], [2, 2]).unwrap();
/// assert_eq!(x.shape(), &[2, 2]);
/// assert_eq!(x.rows(&[1]).to_f32(), vec![3.0, 4.0]);
/// ```
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct HostTensor {
    shape: Vec<usize>,
    data: HostData,
}

/// The element count does not match the shape.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("tensor data has {len} elements but shape {shape:?} needs {expected}")]
pub struct SizeMismatch {
    /// Elements given.
    pub len: usize,
    /// Shape given.
    pub shape: Vec<usize>,
    /// Elements the shape needs.
    pub expected: usize,
}

impl HostTensor {
    fn checked(shape: Vec<usize>, data: HostData, len: usize) -> Result<Self, SizeMismatch> {
        let expected = shape.iter().product();
        if len != expected {
            return Err(SizeMismatch { len, shape, expected });
        }
        Ok(HostTensor { shape, data })
    }

    /// An f32 tensor; fails when `data.len()` is not the product of `shape`.
    pub fn from_f32(data: Vec<f32>, shape: impl Into<Vec<usize>>) -> Result<Self, SizeMismatch> {
        let len = data.len();
        Self::checked(shape.into(), HostData::F32(data), len)
    }

    /// An i32 tensor; fails when `data.len()` is not the product of `shape`.
    pub fn from_i32(data: Vec<i32>, shape: impl Into<Vec<usize>>) -> Result<Self, SizeMismatch> {
        let len = data.len();
        Self::checked(shape.into(), HostData::I32(data), len)
    }

    /// An f32 tensor of zeros.
    pub fn zeros(shape: impl Into<Vec<usize>>) -> Self {
        let shape = shape.into();
        let n = shape.iter().product();
        HostTensor {
            shape,
            data: HostData::F32(vec![0.0; n]),
        }
    }

    /// A rank-0 f32 tensor.
    pub fn scalar(value: f32) -> Self {
        HostTensor {
            shape: Vec::new(),
            data: HostData::F32(vec![value]),
        }
    }

    /// The shape.
    pub fn shape(&self) -> &[usize] {
        &self.shape
    }

    /// The element type.
    pub fn dtype(&self) -> DType {
        match self.data {
            HostData::F32(_) => DType::F32,
            HostData::I32(_) => DType::I32,
        }
    }

    /// The elements.
    pub fn data(&self) -> &HostData {
        &self.data
    }

    /// The shape and the elements, taken apart without copying.
    pub fn into_parts(self) -> (Vec<usize>, HostData) {
        (self.shape, self.data)
    }

    /// Number of elements.
    pub fn len(&self) -> usize {
        match &self.data {
            HostData::F32(v) => v.len(),
            HostData::I32(v) => v.len(),
        }
    }

    /// Whether the tensor has no elements.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The f32 elements, if the tensor is f32.
    pub fn as_f32(&self) -> Option<&[f32]> {
        match &self.data {
            HostData::F32(v) => Some(v),
            HostData::I32(_) => None,
        }
    }

    /// The i32 elements, if the tensor is i32.
    pub fn as_i32(&self) -> Option<&[i32]> {
        match &self.data {
            HostData::I32(v) => Some(v),
            HostData::F32(_) => None,
        }
    }

    /// The elements converted to f32.
    pub fn to_f32(&self) -> Vec<f32> {
        match &self.data {
            HostData::F32(v) => v.clone(),
            HostData::I32(v) => v.iter().map(|&x| x as f32).collect(),
        }
    }

    /// This tensor converted to `dtype` (floats truncate toward zero into i32).
    pub fn cast(&self, dtype: DType) -> HostTensor {
        let data = match (&self.data, dtype) {
            (HostData::F32(v), DType::I32) => HostData::I32(v.iter().map(|&x| x as i32).collect()),
            (HostData::I32(v), DType::F32) => HostData::F32(v.iter().map(|&x| x as f32).collect()),
            (d, _) => d.clone(),
        };
        HostTensor {
            shape: self.shape.clone(),
            data,
        }
    }

    /// The same elements with another shape of the same size.
    pub fn reshape(&self, shape: impl Into<Vec<usize>>) -> Result<HostTensor, SizeMismatch> {
        Self::checked(shape.into(), self.data.clone(), self.len())
    }

    /// Number of rows (the first dimension; 1 for a scalar).
    pub fn rows_len(&self) -> usize {
        self.shape.first().copied().unwrap_or(1)
    }

    /// Elements per row.
    pub fn row_size(&self) -> usize {
        self.shape.iter().skip(1).product()
    }

    /// A new tensor made of the rows at `indices`, in that order.
    pub fn rows(&self, indices: &[usize]) -> HostTensor {
        let size = self.row_size();
        let mut shape = self.shape.clone();
        if let Some(first) = shape.first_mut() {
            *first = indices.len();
        }
        fn pick<T: Copy>(v: &[T], indices: &[usize], size: usize) -> Vec<T> {
            let mut out = Vec::with_capacity(indices.len() * size);
            for &i in indices {
                out.extend_from_slice(&v[i * size..(i + 1) * size]);
            }
            out
        }
        let data = match &self.data {
            HostData::F32(v) => HostData::F32(pick(v, indices, size)),
            HostData::I32(v) => HostData::I32(pick(v, indices, size)),
        };
        HostTensor { shape, data }
    }

    /// The rows `start..end`.
    pub fn row_range(&self, start: usize, end: usize) -> HostTensor {
        let idx: Vec<usize> = (start..end).collect();
        self.rows(&idx)
    }

    /// Stacks tensors of equal row shape along the first axis.
    pub fn concat_rows(parts: &[HostTensor]) -> Option<HostTensor> {
        let first = parts.first()?;
        let mut shape = first.shape.clone();
        let mut rows = 0;
        for p in parts {
            if p.shape.get(1..) != first.shape.get(1..) || p.dtype() != first.dtype() {
                return None;
            }
            rows += p.rows_len();
        }
        if let Some(s) = shape.first_mut() {
            *s = rows;
        }
        let data = match first.dtype() {
            DType::F32 => HostData::F32(parts.iter().flat_map(|p| p.to_f32()).collect()),
            DType::I32 => HostData::I32(
                parts
                    .iter()
                    .flat_map(|p| p.as_i32().unwrap_or_default().to_vec())
                    .collect(),
            ),
        };
        Some(HostTensor { shape, data })
    }

    /// Whether any element is NaN or infinite.
    pub fn has_non_finite(&self) -> bool {
        self.as_f32().is_some_and(|v| v.iter().any(|x| !x.is_finite()))
    }
}

impl fmt::Display for HostTensor {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}{:?}", self.dtype(), self.shape)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn size_is_checked() {
        let err = HostTensor::from_f32(vec![1.0; 5], [2, 3]).unwrap_err();
        assert_eq!(err.to_string(), "tensor data has 5 elements but shape [2, 3] needs 6");
    }

    #[test]
    fn rows_and_concat() {
        let x = HostTensor::from_i32((0..6).collect(), [3, 2]).unwrap();
        let picked = x.rows(&[2, 0]);
        assert_eq!(picked.as_i32().unwrap(), &[4, 5, 0, 1]);
        let joined = HostTensor::concat_rows(&[picked, x.row_range(1, 2)]).unwrap();
        assert_eq!(joined.shape(), &[3, 2]);
        assert_eq!(joined.as_i32().unwrap(), &[4, 5, 0, 1, 2, 3]);
    }
}
