//! `ActivityRegularization`: the identity, adding a penalty on its input to the loss.

use crate::error::Result;
use crate::layer::{EmitContext, Layer, bad_argument};
use crate::names::unique_name;
use crate::regularizers::Regularizer;
use kiln_ir::{TensorType, ValueId};
use serde::{Deserialize, Serialize};

/// Passes its input through unchanged and adds
/// `(l1 * sum(|x|) + l2 * sum(x²)) / batch_size` to the training loss, as Keras's
/// activity regularizers do.
///
/// # Shapes
/// Output shape = input shape. No weights.
///
/// ```
/// use kiln::prelude::*;
/// let x = Input::new([5]);
/// let y = ActivityRegularization::new().l1(0.01).apply(&x)?;
/// assert_eq!(y.shape().keras_string(), "(None, 5)");
/// # Ok::<(), kiln::KilnError>(())
/// ```
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ActivityRegularization {
    /// Layer name.
    pub name: String,
    /// L1 factor.
    pub l1: f32,
    /// L2 factor.
    pub l2: f32,
}

impl ActivityRegularization {
    /// An activity regularization layer with both factors 0 (Keras's defaults).
    #[allow(clippy::new_without_default)]
    pub fn new() -> Self {
        ActivityRegularization {
            name: unique_name("activity_regularization"),
            l1: 0.0,
            l2: 0.0,
        }
    }

    /// Sets the L1 factor.
    pub fn l1(mut self, l1: f32) -> Self {
        self.l1 = l1;
        self
    }

    /// Sets the L2 factor.
    pub fn l2(mut self, l2: f32) -> Self {
        self.l2 = l2;
        self
    }

    /// Names the layer.
    pub fn name(mut self, name: &str) -> Self {
        self.name = name.to_string();
        self
    }
}

impl Layer for ActivityRegularization {
    fn name(&self) -> &str {
        &self.name
    }

    fn class_name(&self) -> &'static str {
        "ActivityRegularization"
    }

    fn validate(&self) -> Result<()> {
        for (name, v) in [("l1", self.l1), ("l2", self.l2)] {
            if !v.is_finite() {
                return Err(bad_argument(
                    self,
                    format!("expected a finite number. Received: {name}={v}"),
                ));
            }
        }
        Ok(())
    }

    fn compute_output_shape(&self, inputs: &[TensorType]) -> Result<Vec<TensorType>> {
        Ok(vec![super::single(self, inputs)?.clone()])
    }

    fn emit(&self, ctx: &mut EmitContext, inputs: &[ValueId]) -> Result<Vec<ValueId>> {
        let x = inputs[0];
        Regularizer::L1L2 {
            l1: self.l1,
            l2: self.l2,
        }
        .emit_activity(ctx, x)?;
        Ok(vec![x])
    }

    fn config(&self) -> serde_json::Value {
        serde_json::to_value(self).unwrap_or_default()
    }
}

impl crate::keras::FromKeras for ActivityRegularization {
    fn from_keras(c: &crate::keras::KerasConfig) -> Result<Self> {
        let mut layer = ActivityRegularization::new();
        if let (Some(name), _) = crate::keras::common(c)? {
            layer.name = name;
        }
        if let Some(v) = c.f32("l1")? {
            layer.l1 = v;
        }
        if let Some(v) = c.f32("l2")? {
            layer.l2 = v;
        }
        Ok(layer)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::layers::testing::check_layer;
    use crate::model::{Apply, Input, Model};
    use kiln_ir::Shape;

    #[test]
    fn shapes_config_and_one_loss() {
        check_layer(
            &ActivityRegularization::new().l1(0.1).l2(0.2),
            &[Shape::batched([2, 3])],
            Shape::batched([2, 3]),
            0,
        );
        for (layer, losses) in [
            (ActivityRegularization::new(), 0),
            (ActivityRegularization::new().l2(0.5), 1),
        ] {
            let x = Input::new([3]);
            let y = layer.apply(&x).unwrap();
            let model = Model::new(&[&x], &[&y]).unwrap();
            assert_eq!(model.graph().unwrap().losses().len(), losses);
        }
        let err = ActivityRegularization::new()
            .name("ar")
            .l1(f32::NAN)
            .validate()
            .unwrap_err()
            .to_string();
        assert_eq!(
            err,
            "layer 'ar' (ActivityRegularization): expected a finite number. Received: l1=NaN"
        );
    }

    #[test]
    fn reads_full_keras_configs() {
        // `get_config()` of Keras 3.15.1.
        let config: serde_json::Value = serde_json::from_str(r#"{"name": "activity_regularization", "trainable": true, "dtype": {"module": "keras", "class_name": "DTypePolicy", "config": {"name": "float32"}, "registered_name": null}, "l1": 0.1, "l2": 0.0}"#).unwrap();
        let layer = crate::keras::layer_from_config("ActivityRegularization", &config).unwrap();
        assert_eq!(layer.config()["name"], config["name"]);
    }
}
