//! `Flatten`: flattens each sample to a vector.

use crate::error::Result;
use crate::layer::{EmitContext, Layer, incompatible};
use crate::names::unique_name;
use kiln_ir::{Op, Shape, TensorType, ValueId};
use serde::{Deserialize, Serialize};

/// Flattens every sample: `(batch, d1, d2, …)` becomes `(batch, d1 * d2 * …)`.
///
/// # Shapes
/// Input of rank ≥ 1 with fixed non-batch dimensions. No weights.
///
/// ```
/// use kiln::prelude::*;
/// let y = Flatten::new().apply(&Input::new([28, 28]))?;
/// assert_eq!(y.shape().keras_string(), "(None, 784)");
/// # Ok::<(), kiln::KilnError>(())
/// ```
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Flatten {
    /// Layer name.
    pub name: String,
}

impl Flatten {
    /// A flatten layer.
    #[allow(clippy::new_without_default)]
    pub fn new() -> Self {
        Flatten {
            name: unique_name("flatten"),
        }
    }

    /// Names the layer.
    pub fn name(mut self, name: &str) -> Self {
        self.name = name.to_string();
        self
    }
}

impl Layer for Flatten {
    fn name(&self) -> &str {
        &self.name
    }

    fn class_name(&self) -> &'static str {
        "Flatten"
    }

    fn compute_output_shape(&self, inputs: &[TensorType]) -> Result<Vec<TensorType>> {
        let x = super::single(self, inputs)?;
        if x.shape.dims().iter().skip(1).any(Option::is_none) {
            return Err(incompatible(
                self,
                format!(
                    "expected fixed non-batch dimensions, received shape {}",
                    x.shape.keras_string()
                ),
            ));
        }
        let size: usize = x.shape.dims().iter().skip(1).map(|d| d.unwrap_or(1)).product();
        Ok(vec![TensorType::new(x.dtype, Shape::batched([size]))])
    }

    fn emit(&self, ctx: &mut EmitContext, inputs: &[ValueId]) -> Result<Vec<ValueId>> {
        let ty = ctx.value_type(inputs[0])?;
        let out = self.compute_output_shape(&[ty])?.remove(0);
        Ok(vec![ctx.push(Op::Reshape { shape: out.shape }, inputs)?])
    }

    fn config(&self) -> serde_json::Value {
        serde_json::to_value(self).unwrap_or_default()
    }
}

impl crate::keras::FromKeras for Flatten {
    fn from_keras(c: &crate::keras::KerasConfig) -> Result<Self> {
        match c.string("data_format")?.as_deref() {
            None | Some("channels_last") => {}
            Some(other) => {
                return Err(c.error(
                    "data_format",
                    format!("only 'channels_last' is supported, received '{other}'"),
                ));
            }
        }
        let mut layer = Flatten::new();
        if let (Some(name), _) = crate::keras::common(c)? {
            layer.name = name;
        }
        Ok(layer)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::layers::testing::check_layer;

    #[test]
    fn shapes_and_config() {
        check_layer(&Flatten::new(), &[Shape::batched([4, 6])], Shape::batched([24]), 0);
        check_layer(&Flatten::new(), &[Shape::batched([2, 3, 4])], Shape::batched([24]), 0);
    }
}
