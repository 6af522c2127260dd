//! `Concatenate`: joins inputs along an axis.

use crate::error::Result;
use crate::layer::{EmitContext, Layer, incompatible};
use crate::names::unique_name;
use kiln_ir::{Op, TensorType, ValueId};
use serde::{Deserialize, Serialize};

/// Concatenates a list of inputs along `axis` (default `-1`); all other dimensions must
/// match.
///
/// ```
/// use kiln::prelude::*;
/// let (a, b) = (Input::new([3]), Input::new([4]));
/// let c = Concatenate::new().apply_list(&[&a, &b])?;
/// assert_eq!(c.shape().keras_string(), "(None, 7)");
/// # Ok::<(), kiln::KilnError>(())
/// ```
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Concatenate {
    /// Layer name.
    pub name: String,
    /// Concatenation axis (negative counts from the end).
    pub axis: i64,
}

impl Concatenate {
    /// Concatenation along the last axis.
    #[allow(clippy::new_without_default)]
    pub fn new() -> Self {
        Concatenate {
            name: unique_name("concatenate"),
            axis: -1,
        }
    }

    /// Sets the axis.
    pub fn axis(mut self, axis: i64) -> Self {
        self.axis = axis;
        self
    }

    /// Names the layer.
    pub fn name(mut self, name: &str) -> Self {
        self.name = name.to_string();
        self
    }
}

fn shapes(inputs: &[TensorType]) -> String {
    let s: Vec<String> = inputs.iter().map(|t| t.shape.keras_string()).collect();
    format!("[{}]", s.join(", "))
}

impl Layer for Concatenate {
    fn name(&self) -> &str {
        &self.name
    }

    fn class_name(&self) -> &'static str {
        "Concatenate"
    }

    fn takes_list(&self) -> bool {
        true
    }

    fn compute_output_shape(&self, inputs: &[TensorType]) -> Result<Vec<TensorType>> {
        if inputs.len() < 2 {
            return Err(incompatible(
                self,
                format!("expected a list of at least 2 inputs, received {}", inputs.len()),
            ));
        }
        let axis = super::resolve_axis(self, self.axis, inputs[0].shape.rank())?;
        let refs: Vec<&TensorType> = inputs.iter().collect();
        Op::Concat { axis }.infer(&refs).map(|t| vec![t]).map_err(|_| {
            incompatible(
                self,
                format!(
                    "a Concatenate layer requires inputs with matching shapes except for the concatenation axis {}. Received: input_shape={}",
                    self.axis,
                    shapes(inputs)
                ),
            )
        })
    }

    fn emit(&self, ctx: &mut EmitContext, inputs: &[ValueId]) -> Result<Vec<ValueId>> {
        let rank = ctx.value_type(inputs[0])?.shape.rank();
        let axis = super::resolve_axis(self, self.axis, rank)?;
        Ok(vec![ctx.push(Op::Concat { axis }, inputs)?])
    }

    fn config(&self) -> serde_json::Value {
        serde_json::to_value(self).unwrap_or_default()
    }
}

impl crate::keras::FromKeras for Concatenate {
    fn from_keras(c: &crate::keras::KerasConfig) -> Result<Self> {
        let mut layer = Concatenate::new();
        if let Some(axis) = c.i64("axis")? {
            layer.axis = axis;
        }
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
    use kiln_ir::Shape;

    #[test]
    fn shapes_and_config() {
        check_layer(
            &Concatenate::new(),
            &[Shape::batched([3]), Shape::batched([4])],
            Shape::batched([7]),
            0,
        );
        check_layer(
            &Concatenate::new().axis(1),
            &[Shape::batched([2, 5]), Shape::batched([3, 5])],
            Shape::batched([5, 5]),
            0,
        );
    }

    #[test]
    fn mismatched_shapes_are_named() {
        let t = |d: &[usize]| TensorType::f32(Shape::batched(d.iter().copied()));
        let err = Concatenate::new()
            .name("c")
            .compute_output_shape(&[t(&[3]), t(&[4, 5])])
            .unwrap_err()
            .to_string();
        assert_eq!(
            err,
            "layer 'c' (Concatenate) is incompatible with its input: a Concatenate layer requires inputs with matching shapes except for the concatenation axis -1. Received: input_shape=[(None, 3), (None, 4, 5)]"
        );
    }

    #[test]
    fn from_keras() {
        let layer =
            crate::keras::layer_from_config("Concatenate", &serde_json::json!({"axis": 1, "name": "cat"})).unwrap();
        assert_eq!(layer.config(), Concatenate::new().axis(1).name("cat").config());
    }
}
