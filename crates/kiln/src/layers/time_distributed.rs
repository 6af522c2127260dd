//! `TimeDistributed`: applies a layer to every time step.

use crate::error::{KilnError, Result};
use crate::layer::{EmitContext, Layer, bad_argument, incompatible};
use crate::names::unique_name;
use kiln_ir::{Shape, TensorType, ValueId};
use serde::{Deserialize, Serialize};

/// Applies `layer` to every time step of its input, with one set of weights, as Keras's
/// `TimeDistributed`. Like Keras with a known number of steps, the inner layer is called
/// once per step; its weights live under this layer (`time_distributed/dense/kernel`),
/// its weight penalties count once, and (as in Keras) its activity regularizer is not
/// applied, so Kiln refuses one.
///
/// # Shapes
/// Input `(batch, steps, …)` with a known number of steps; each step `(batch, …)` goes
/// through `layer`, and the output is `(batch, steps, …layer's output)`.
///
/// ```
/// use kiln::prelude::*;
/// let x = Input::new([10, 16]);
/// let y = TimeDistributed::new(Dense::new(8)).apply(&x)?;
/// assert_eq!(y.shape().keras_string(), "(None, 10, 8)");
/// let frames = Input::new([4, 8, 8, 3]);
/// let z = TimeDistributed::new(Conv2D::new(2, 3)).apply(&frames)?;
/// assert_eq!(z.shape().keras_string(), "(None, 4, 6, 6, 2)");
/// # Ok::<(), kiln::KilnError>(())
/// ```
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(try_from = "Stored", into = "Stored")]
pub struct TimeDistributed {
    /// Layer name.
    pub name: String,
    /// The layer applied to every step.
    pub layer: Box<dyn Layer>,
    /// Whether training updates the inner layer's weights.
    pub trainable: bool,
}

/// The config as stored: the inner layer as its class and Kiln config.
#[derive(Clone, Serialize, Deserialize)]
struct Stored {
    name: String,
    layer: StoredLayer,
    #[serde(default = "yes")]
    trainable: bool,
}

#[derive(Clone, Serialize, Deserialize)]
struct StoredLayer {
    class_name: String,
    config: serde_json::Value,
}

fn yes() -> bool {
    true
}

impl From<TimeDistributed> for Stored {
    fn from(t: TimeDistributed) -> Self {
        Stored {
            name: t.name,
            layer: StoredLayer {
                class_name: t.layer.class_name().to_string(),
                config: t.layer.config(),
            },
            trainable: t.trainable,
        }
    }
}

impl TryFrom<Stored> for TimeDistributed {
    type Error = KilnError;

    fn try_from(s: Stored) -> Result<Self> {
        Ok(TimeDistributed {
            name: s.name,
            layer: crate::registry::layer_from_config(&s.layer.class_name, &s.layer.config)?,
            trainable: s.trainable,
        })
    }
}

impl PartialEq for TimeDistributed {
    fn eq(&self, other: &Self) -> bool {
        self.name == other.name
            && self.trainable == other.trainable
            && self.layer.class_name() == other.layer.class_name()
            && self.layer.config() == other.layer.config()
    }
}

impl TimeDistributed {
    /// Applies `layer` to every time step.
    pub fn new(layer: impl Layer) -> Self {
        TimeDistributed {
            name: unique_name("time_distributed"),
            layer: Box::new(layer),
            trainable: true,
        }
    }

    /// Whether training updates the inner layer's weights (default `true`).
    pub fn trainable(mut self, trainable: bool) -> Self {
        self.trainable = trainable;
        self
    }

    /// Names the layer.
    pub fn name(mut self, name: &str) -> Self {
        self.name = name.to_string();
        self
    }

    /// The type of one time step.
    fn step_type(&self, x: &TensorType) -> Result<TensorType> {
        let dims = x.shape.dims();
        if dims.len() < 3 {
            return Err(incompatible(
                self,
                format!(
                    "`TimeDistributed` Layer should be passed an `input_shape` with at least 3 dimensions, received: {}",
                    x.shape.keras_string()
                ),
            ));
        }
        if dims[1].is_none() {
            return Err(incompatible(
                self,
                format!(
                    "the number of time steps (axis 1) must be known: Kiln calls the inner layer once per step. Received: input_shape={}",
                    x.shape.keras_string()
                ),
            ));
        }
        let mut step = vec![dims[0]];
        step.extend(&dims[2..]);
        Ok(TensorType::new(x.dtype, Shape(step)))
    }
}

impl Layer for TimeDistributed {
    fn name(&self) -> &str {
        &self.name
    }

    fn class_name(&self) -> &'static str {
        "TimeDistributed"
    }

    fn validate(&self) -> Result<()> {
        self.layer.validate()?;
        if self.layer.takes_list() {
            return Err(bad_argument(
                self,
                format!(
                    "the wrapped layer must take one input; '{}' ({}) takes a list",
                    self.layer.name(),
                    self.layer.class_name()
                ),
            ));
        }
        let config = self.layer.config();
        if config.get("activity_regularizer").is_some_and(|r| !r.is_null()) {
            return Err(bad_argument(
                self,
                format!(
                    "the wrapped layer '{}' has an activity_regularizer, which Keras's TimeDistributed never applies; remove it",
                    self.layer.name()
                ),
            ));
        }
        Ok(())
    }

    fn compute_output_shape(&self, inputs: &[TensorType]) -> Result<Vec<TensorType>> {
        let x = super::single(self, inputs)?;
        let step = self.step_type(x)?;
        let outs = self.layer.compute_output_shape(&[step])?;
        let [out] = outs.as_slice() else {
            return Err(incompatible(
                self,
                format!(
                    "the wrapped layer '{}' must give one output, it gives {}",
                    self.layer.name(),
                    outs.len()
                ),
            ));
        };
        if out.shape.rank() == 0 || out.shape.dims()[0].is_some() {
            return Err(incompatible(
                self,
                format!(
                    "the wrapped layer '{}' must keep the batch axis first, its output is {}",
                    self.layer.name(),
                    out.shape.keras_string()
                ),
            ));
        }
        let mut dims = vec![x.shape.dims()[0], x.shape.dims()[1]];
        dims.extend(&out.shape.dims()[1..]);
        Ok(vec![TensorType::new(out.dtype, Shape(dims))])
    }

    fn emit(&self, ctx: &mut EmitContext, inputs: &[ValueId]) -> Result<Vec<ValueId>> {
        let x = inputs[0];
        let step = self.step_type(&ctx.value_type(x)?)?;
        let steps = ctx.shape(x)?.dims()[1].unwrap_or(0);
        let mut outputs = Vec::with_capacity(steps);
        for t in 0..steps {
            let xt = ctx.slice(x, 1, t, t + 1)?;
            let xt = ctx.reshape(xt, step.shape.clone())?;
            let yt = if t == 0 {
                ctx.emit_sublayer(self.layer.as_ref(), &[xt])?
            } else {
                ctx.emit_sublayer_again(self.layer.as_ref(), &[xt])?
            };
            let yt = yt[0];
            let mut dims = ctx.shape(yt)?.dims().to_vec();
            dims.insert(1, Some(1));
            outputs.push(ctx.reshape(yt, Shape(dims))?);
        }
        Ok(vec![ctx.concat(&outputs, 1)?])
    }

    fn config(&self) -> serde_json::Value {
        serde_json::to_value(self).unwrap_or_default()
    }

    fn trainable(&self) -> bool {
        self.trainable
    }
}

impl crate::keras::FromKeras for TimeDistributed {
    fn from_keras(c: &crate::keras::KerasConfig) -> Result<Self> {
        let (class, config) = c.object("layer")?.ok_or_else(|| c.error("layer", "is required"))?;
        let inner = crate::keras::layer_from_config(&class, config).map_err(|e| c.error("layer", e))?;
        let mut layer = TimeDistributed {
            name: unique_name("time_distributed"),
            layer: inner,
            trainable: true,
        };
        let (name, trainable) = crate::keras::common(c)?;
        if let Some(name) = name {
            layer.name = name;
        }
        if let Some(t) = trainable {
            layer.trainable = t;
        }
        Ok(layer)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::layers::testing::check_layer;
    use crate::layers::{Conv2D, Dense, Dropout};
    use crate::model::{Apply, Input, Model};

    #[test]
    fn shapes_params_and_config() {
        check_layer(
            &TimeDistributed::new(Dense::new(3)),
            &[Shape::batched([4, 5])],
            Shape::batched([4, 3]),
            18,
        );
        check_layer(
            &TimeDistributed::new(Conv2D::new(2, 3)),
            &[Shape::batched([3, 5, 5, 2])],
            Shape::batched([3, 3, 3, 2]),
            38,
        );
        check_layer(
            &TimeDistributed::new(Dropout::new(0.5)),
            &[Shape::batched([2, 3, 4])],
            Shape::batched([2, 3, 4]),
            0,
        );
    }

    #[test]
    fn weights_live_under_the_wrapper_and_are_shared_by_the_steps() {
        crate::clear_session();
        let x = Input::new([3, 2]);
        let layer = TimeDistributed::new(Dense::new(1).use_bias(false)).name("td");
        let y = layer.apply(&x).unwrap();
        let mut model = Model::new(&[&x], &[&y]).unwrap();
        assert_eq!(model.weight_names(), vec!["td/dense/kernel".to_string()]);
        let mut weights = model.get_weights().unwrap();
        weights[0] = crate::Tensor::from_f32(vec![1.0, 10.0], vec![2, 1]).unwrap();
        model.set_weights(&weights).unwrap();
        let out = model
            .predict(crate::Tensor::from_f32(vec![1.0, 2.0, 3.0, 4.0, 5.0, 6.0], vec![1, 3, 2]).unwrap())
            .unwrap();
        assert_eq!(out.to_f32(), vec![21.0, 43.0, 65.0]);
    }

    #[test]
    fn weight_penalties_count_once() {
        let x = Input::new([4, 2]);
        let dense = Dense::new(2).kernel_regularizer(crate::regularizers::Regularizer::L2 { l2: 0.1 });
        let y = TimeDistributed::new(dense).apply(&x).unwrap();
        let model = Model::new(&[&x], &[&y]).unwrap();
        assert_eq!(model.graph().unwrap().losses().len(), 1);
    }

    #[test]
    fn unknown_steps_and_bad_inner_layers_are_refused() {
        let err = TimeDistributed::new(Dense::new(2))
            .name("t")
            .compute_output_shape(&[TensorType::f32(Shape(vec![None, None, Some(3)]))])
            .unwrap_err()
            .to_string();
        assert!(err.contains("the number of time steps (axis 1) must be known"), "{err}");
        let err = TimeDistributed::new(Dense::new(2))
            .name("t")
            .compute_output_shape(&[TensorType::f32(Shape::batched([3]))])
            .unwrap_err()
            .to_string();
        assert!(err.contains("at least 3 dimensions, received: (None, 3)"), "{err}");
        let err = TimeDistributed::new(crate::layers::Add::new())
            .name("t")
            .validate()
            .unwrap_err()
            .to_string();
        assert!(err.contains("takes a list"), "{err}");
        let dense = Dense::new(2).activity_regularizer(crate::regularizers::Regularizer::L1 { l1: 0.1 });
        let err = TimeDistributed::new(dense)
            .name("t")
            .validate()
            .unwrap_err()
            .to_string();
        assert!(err.contains("activity_regularizer"), "{err}");
    }

    #[test]
    fn from_keras_builds_the_inner_layer() {
        let config = serde_json::json!({
            "name": "td",
            "layer": {"module": "keras.layers", "class_name": "Dense", "config": {"name": "proj", "units": 3}, "registered_name": null},
        });
        let layer = crate::keras::layer_from_config("TimeDistributed", &config).unwrap();
        assert_eq!(layer.name(), "td");
        let back = crate::registry::layer_from_config("TimeDistributed", &layer.config()).unwrap();
        assert_eq!(back.config(), layer.config());
        assert_eq!(back.config()["layer"]["config"]["name"], "proj");
        let bad = serde_json::json!({"layer": {"class_name": "Dense", "config": {"units": 3, "colour": 1}}});
        let err = crate::keras::layer_from_config("TimeDistributed", &bad)
            .unwrap_err()
            .to_string();
        assert!(err.contains("argument `layer`") && err.contains("colour"), "{err}");
    }
}
