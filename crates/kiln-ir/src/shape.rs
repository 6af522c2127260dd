//! Element types and shapes with a symbolic batch dimension.

use serde::{Deserialize, Serialize};
use std::fmt;

/// The element type of a value.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DType {
    /// 32-bit float.
    F32,
    /// 32-bit signed integer (class labels, indices).
    I32,
}

impl DType {
    /// Size of one element in bytes.
    pub fn size_bytes(self) -> usize {
        4
    }

    /// The short name used in the text IR (`f32`, `i32`).
    pub fn name(self) -> &'static str {
        match self {
            DType::F32 => "f32",
            DType::I32 => "i32",
        }
    }
}

impl fmt::Display for DType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// One dimension: `Some(n)` is fixed, `None` is symbolic (the batch dimension).
pub type Dim = Option<usize>;

/// A shape whose dimensions are fixed or symbolic (`None`, printed `?`).
///
/// ```
/// use kiln_ir::Shape;
/// let s = Shape::batched([28, 28]);
/// assert_eq!(s.to_string(), "[?,28,28]");
/// assert_eq!(s.keras_string(), "(None, 28, 28)");
/// ```
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize, Default)]
#[serde(transparent)]
pub struct Shape(pub Vec<Dim>);

impl Shape {
    /// A fully fixed shape.
    pub fn fixed(dims: impl IntoIterator<Item = usize>) -> Self {
        Shape(dims.into_iter().map(Some).collect())
    }

    /// A shape with a symbolic batch dimension in front of `dims`.
    pub fn batched(dims: impl IntoIterator<Item = usize>) -> Self {
        let mut v = vec![None];
        v.extend(dims.into_iter().map(Some));
        Shape(v)
    }

    /// A rank-0 shape (a scalar).
    pub fn scalar() -> Self {
        Shape(Vec::new())
    }

    /// Number of dimensions.
    pub fn rank(&self) -> usize {
        self.0.len()
    }

    /// The dimensions.
    pub fn dims(&self) -> &[Dim] {
        &self.0
    }

    /// The last dimension, if any.
    pub fn last(&self) -> Option<Dim> {
        self.0.last().copied()
    }

    /// The fixed dimensions when no dimension is symbolic.
    pub fn to_fixed(&self) -> Option<Vec<usize>> {
        self.0.iter().copied().collect()
    }

    /// Product of the fixed dimensions (symbolic ones count as 1).
    pub fn fixed_product(&self) -> usize {
        self.0.iter().map(|d| d.unwrap_or(1)).product()
    }

    /// Whether any dimension is symbolic.
    pub fn has_symbolic(&self) -> bool {
        self.0.iter().any(Option::is_none)
    }

    /// Whether a concrete shape fits this one (same rank, fixed dims equal).
    pub fn accepts(&self, concrete: &[usize]) -> bool {
        self.0.len() == concrete.len() && self.0.iter().zip(concrete).all(|(d, c)| d.is_none_or(|d| d == *c))
    }

    /// The shape as Keras prints it: `(None, 10)`.
    pub fn keras_string(&self) -> String {
        let parts: Vec<String> = self
            .0
            .iter()
            .map(|d| d.map_or_else(|| "None".to_string(), |n| n.to_string()))
            .collect();
        if parts.len() == 1 {
            format!("({},)", parts[0])
        } else {
            format!("({})", parts.join(", "))
        }
    }
}

impl fmt::Display for Shape {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("[")?;
        for (i, d) in self.0.iter().enumerate() {
            if i > 0 {
                f.write_str(",")?;
            }
            match d {
                Some(n) => write!(f, "{n}")?,
                None => f.write_str("?")?,
            }
        }
        f.write_str("]")
    }
}

impl<const N: usize> From<[Dim; N]> for Shape {
    fn from(d: [Dim; N]) -> Self {
        Shape(d.to_vec())
    }
}

/// The type of a value: element type and shape. Prints as `f32[?,10]`.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct TensorType {
    /// Element type.
    pub dtype: DType,
    /// Shape.
    pub shape: Shape,
}

impl TensorType {
    /// A new tensor type.
    pub fn new(dtype: DType, shape: Shape) -> Self {
        TensorType { dtype, shape }
    }

    /// An f32 tensor type.
    pub fn f32(shape: Shape) -> Self {
        TensorType::new(DType::F32, shape)
    }
}

impl fmt::Display for TensorType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}{}", self.dtype, self.shape)
    }
}

/// Broadcast two dims as numpy does; `None` when they are incompatible.
fn broadcast_dim(a: Dim, b: Dim) -> Option<Dim> {
    match (a, b) {
        (Some(1), d) | (d, Some(1)) => Some(d),
        (None, None) => Some(None),
        (None, Some(n)) | (Some(n), None) => Some(Some(n)),
        (Some(x), Some(y)) if x == y => Some(Some(x)),
        _ => None,
    }
}

/// Broadcast two shapes as numpy does (aligned from the right).
pub fn broadcast_shapes(a: &Shape, b: &Shape) -> Option<Shape> {
    let rank = a.rank().max(b.rank());
    let mut out = vec![None; rank];
    for (i, slot) in out.iter_mut().enumerate() {
        let da = (i + a.rank()).checked_sub(rank).map_or(Some(1), |j| a.0[j]);
        let db = (i + b.rank()).checked_sub(rank).map_or(Some(1), |j| b.0[j]);
        *slot = broadcast_dim(da, db)?;
    }
    Some(Shape(out))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn broadcasting_follows_numpy() {
        let a = Shape::batched([3]);
        let b = Shape::fixed([3]);
        assert_eq!(broadcast_shapes(&a, &b), Some(Shape::batched([3])));
        assert_eq!(broadcast_shapes(&a, &Shape::fixed([4])), None);
        assert_eq!(broadcast_shapes(&a, &Shape::scalar()), Some(a.clone()));
    }

    #[test]
    fn keras_strings() {
        assert_eq!(Shape::batched([]).keras_string(), "(None,)");
        assert_eq!(Shape::batched([64]).keras_string(), "(None, 64)");
    }
}
