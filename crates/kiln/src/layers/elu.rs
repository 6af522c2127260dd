//! `ELU`: the exponential linear unit.

use crate::error::Result;
use crate::layer::{EmitContext, Layer};
use crate::names::unique_name;
use kiln_ir::{Activation, Op, TensorType, ValueId};
use serde::{Deserialize, Serialize};

/// Exponential linear unit: `x` for `x > 0`, else `alpha * (exp(x) - 1)`.
///
/// # Arguments
/// - `alpha`: scale of the negative part; default `1.0`.
///
/// # Shapes
/// Output shape = input shape. No weights.
///
/// ```
/// use kiln::prelude::*;
/// let y = ELU::new().alpha(0.5).apply(&Input::new([3]))?;
/// assert_eq!(y.shape().keras_string(), "(None, 3)");
/// # Ok::<(), kiln::KilnError>(())
/// ```
#[allow(clippy::upper_case_acronyms)]
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ELU {
    /// Layer name.
    pub name: String,
    /// Scale of the negative part.
    pub alpha: f32,
}

impl ELU {
    /// An ELU layer with Keras's default `alpha`, 1.0.
    #[allow(clippy::new_without_default)]
    pub fn new() -> Self {
        ELU {
            name: unique_name("elu"),
            alpha: 1.0,
        }
    }

    /// Sets the scale of the negative part.
    pub fn alpha(mut self, alpha: f32) -> Self {
        self.alpha = alpha;
        self
    }

    /// Names the layer.
    pub fn name(mut self, name: &str) -> Self {
        self.name = name.to_string();
        self
    }
}

impl Layer for ELU {
    fn name(&self) -> &str {
        &self.name
    }

    fn class_name(&self) -> &'static str {
        "ELU"
    }

    fn compute_output_shape(&self, inputs: &[TensorType]) -> Result<Vec<TensorType>> {
        Ok(vec![super::single(self, inputs)?.clone()])
    }

    fn emit(&self, ctx: &mut EmitContext, inputs: &[ValueId]) -> Result<Vec<ValueId>> {
        let kind = Activation::Elu { alpha: self.alpha };
        Ok(vec![ctx.push(Op::Activation { kind }, inputs)?])
    }

    fn config(&self) -> serde_json::Value {
        serde_json::to_value(self).unwrap_or_default()
    }
}

impl crate::keras::FromKeras for ELU {
    fn from_keras(c: &crate::keras::KerasConfig) -> Result<Self> {
        let mut layer = ELU::new();
        let (name, _) = crate::keras::common(c)?;
        if let Some(name) = name {
            layer.name = name;
        }
        if let Some(a) = c.f32("alpha")? {
            layer.alpha = a;
        }
        Ok(layer)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::layers::testing::check_layer;
    use kiln_ir::Shape;

    #[test]
    fn builds_from_a_keras_config() {
        let config = serde_json::json!({"name": "elu", "alpha": 0.5, "trainable": true});
        let layer = crate::keras::layer_from_config("ELU", &config).unwrap();
        assert_eq!(
            layer.config(),
            serde_json::to_value(ELU::new().name("elu").alpha(0.5)).unwrap()
        );
    }

    #[test]
    fn shapes_and_config() {
        check_layer(&ELU::new(), &[Shape::batched([2, 5])], Shape::batched([2, 5]), 0);
        check_layer(&ELU::new().alpha(0.5), &[Shape::batched([3])], Shape::batched([3]), 0);
    }
}
