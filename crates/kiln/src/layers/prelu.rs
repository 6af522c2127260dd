//! `PReLU`: a rectified linear unit whose negative slope is learned.

use crate::constraints::{self, ConstraintArg};
use crate::error::Result;
use crate::initializers::InitializerArg;
use crate::layer::{EmitContext, Layer, bad_argument, incompatible};
use crate::names::unique_name;
use crate::regularizers::{self, Regularizer};
use kiln_ir::{Activation, BinaryOp, Op, Shape, TensorType, UnaryOp, ValueId};
use serde::{Deserialize, Serialize};

/// Parametric rectified linear unit: `x` for `x >= 0`, else `alpha * x`, with `alpha` a
/// weight of the input's shape (batch axis left out). Computed as Keras does,
/// `relu(x) - alpha * relu(-x)`.
///
/// # Arguments
/// - `alpha_initializer`: default `"zeros"` (the layer starts as a plain ReLU).
/// - `alpha_regularizer`, `alpha_constraint`: default none.
/// - `shared_axes`: axes (counting the batch axis as 0) along which one `alpha` is
///   shared; default `None`. With inputs `(batch, height, width, channels)`,
///   `shared_axes = [1, 2]` learns one slope per channel.
///
/// # Shapes
/// Output shape = input shape, whose dimensions after the batch must be known. Weight
/// `alpha` has the input shape without the batch axis, with 1 on the shared axes.
///
/// ```
/// use kiln::prelude::*;
/// let x = Input::new([4, 3]);
/// let y = PReLU::new().shared_axes([1]).apply(&x)?;
/// assert_eq!(y.shape().keras_string(), "(None, 4, 3)");
/// assert_eq!(Model::new(&[&x], &[&y])?.count_params(), 3);
/// # Ok::<(), kiln::KilnError>(())
/// ```
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct PReLU {
    /// Layer name.
    pub name: String,
    /// Initializer of `alpha`.
    pub alpha_initializer: InitializerArg,
    /// Penalty on `alpha` added to the loss.
    pub alpha_regularizer: Option<Regularizer>,
    /// Projection of `alpha` after each optimizer step.
    pub alpha_constraint: Option<ConstraintArg>,
    /// Axes along which `alpha` is shared (the batch axis is 0).
    pub shared_axes: Option<Vec<usize>>,
    /// Whether training updates `alpha`.
    pub trainable: bool,
}

impl PReLU {
    /// A PReLU layer with Keras's defaults: `alpha` starts at zero, one per input element.
    #[allow(clippy::new_without_default)]
    pub fn new() -> Self {
        PReLU {
            name: unique_name("p_re_lu"),
            alpha_initializer: "zeros".into(),
            alpha_regularizer: None,
            alpha_constraint: None,
            shared_axes: None,
            trainable: true,
        }
    }

    /// Sets the initializer of `alpha` (a name or an [`Initializer`](crate::initializers::Initializer)).
    pub fn alpha_initializer(mut self, init: impl Into<InitializerArg>) -> Self {
        self.alpha_initializer = init.into();
        self
    }

    /// Adds a penalty on `alpha` to the loss.
    pub fn alpha_regularizer(mut self, r: Regularizer) -> Self {
        self.alpha_regularizer = Some(r);
        self
    }

    /// Projects `alpha` after each optimizer step.
    pub fn alpha_constraint(mut self, c: ConstraintArg) -> Self {
        self.alpha_constraint = Some(c);
        self
    }

    /// Shares `alpha` along these axes (the batch axis is 0).
    pub fn shared_axes(mut self, axes: impl IntoIterator<Item = usize>) -> Self {
        self.shared_axes = Some(axes.into_iter().collect());
        self
    }

    /// Names the layer.
    pub fn name(mut self, name: &str) -> Self {
        self.name = name.to_string();
        self
    }

    /// Freezes (`false`) or unfreezes `alpha`.
    pub fn trainable(mut self, trainable: bool) -> Self {
        self.trainable = trainable;
        self
    }

    /// The shape of `alpha` for an input of shape `input`, or why there is none.
    fn alpha_shape(&self, input: &Shape) -> std::result::Result<Shape, String> {
        let rank = input.rank();
        if rank < 2 {
            return Err(format!(
                "expected an input of rank ≥ 2, received shape {}",
                input.keras_string()
            ));
        }
        let mut dims = input.dims()[1..].to_vec();
        for &axis in self.shared_axes.iter().flatten() {
            if axis == 0 || axis >= rank {
                return Err(format!(
                    "shared_axes must be axes of the input after the batch axis (1 to {}). Received: shared_axes={:?} for an input of shape {}",
                    rank - 1,
                    self.shared_axes.as_deref().unwrap_or_default(),
                    input.keras_string()
                ));
            }
            dims[axis - 1] = Some(1);
        }
        let shape = Shape(dims);
        if shape.dims().iter().any(Option::is_none) {
            return Err(format!(
                "Shapes used to initialize variables must be fully-defined (no `None` dimensions). Received: shape={} for variable path='{}/alpha'",
                shape.keras_string(),
                self.name
            ));
        }
        Ok(shape)
    }
}

impl Layer for PReLU {
    fn name(&self) -> &str {
        &self.name
    }

    fn class_name(&self) -> &'static str {
        "PReLU"
    }

    fn validate(&self) -> Result<()> {
        self.alpha_initializer
            .resolve()
            .map_err(|e| bad_argument(self, e.to_string()))?;
        Ok(())
    }

    fn compute_output_shape(&self, inputs: &[TensorType]) -> Result<Vec<TensorType>> {
        let x = super::single(self, inputs)?;
        self.alpha_shape(&x.shape).map_err(|e| incompatible(self, e))?;
        Ok(vec![x.clone()])
    }

    fn emit(&self, ctx: &mut EmitContext, inputs: &[ValueId]) -> Result<Vec<ValueId>> {
        let x = inputs[0];
        let shape = self
            .alpha_shape(&ctx.value_type(x)?.shape)
            .map_err(|e| incompatible(self, e))?;
        let rank = shape.rank();
        let alpha = ctx.weight("alpha", shape, self.alpha_initializer.resolve()?)?;
        regularizers::apply(ctx, &self.alpha_regularizer, alpha)?;
        constraints::apply(ctx, &self.alpha_constraint, alpha, rank)?;
        let relu = Op::Activation { kind: Activation::Relu };
        let positive = ctx.push(relu.clone(), &[x])?;
        let negated = ctx.push(Op::Unary { kind: UnaryOp::Neg }, &[x])?;
        let negative = ctx.push(relu, &[negated])?;
        let scaled = ctx.push(Op::Binary { kind: BinaryOp::Mul }, &[alpha, negative])?;
        Ok(vec![ctx.push(Op::Binary { kind: BinaryOp::Sub }, &[positive, scaled])?])
    }

    fn config(&self) -> serde_json::Value {
        serde_json::to_value(self).unwrap_or_default()
    }

    fn trainable(&self) -> bool {
        self.trainable
    }
}

impl crate::keras::FromKeras for PReLU {
    fn from_keras(c: &crate::keras::KerasConfig) -> Result<Self> {
        let mut layer = PReLU::new();
        let (name, trainable) = crate::keras::common(c)?;
        if let Some(name) = name {
            layer.name = name;
        }
        if let Some(t) = trainable {
            layer.trainable = t;
        }
        if let Some(i) = c.initializer("alpha_initializer")? {
            layer.alpha_initializer = i;
        }
        layer.alpha_regularizer = c.regularizer("alpha_regularizer")?;
        layer.alpha_constraint = c.constraint("alpha_constraint")?;
        if let Some(axes) = c.i64s("shared_axes")? {
            let axes = axes
                .iter()
                .map(|&a| {
                    usize::try_from(a).map_err(|_| c.error("shared_axes", format!("expected axes ≥ 1, received {a}")))
                })
                .collect::<Result<Vec<usize>>>()?;
            layer.shared_axes = Some(axes);
        }
        Ok(layer)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::layers::testing::check_layer;
    use crate::model::{Apply, Input, Model};

    #[test]
    fn shapes_params_and_config() {
        check_layer(&PReLU::new(), &[Shape::batched([2, 5])], Shape::batched([2, 5]), 10);
        check_layer(
            &PReLU::new().shared_axes([1]),
            &[Shape::batched([2, 5])],
            Shape::batched([2, 5]),
            5,
        );
        check_layer(
            &PReLU::new().shared_axes([1, 2]).alpha_initializer("ones"),
            &[Shape::batched([2, 5])],
            Shape::batched([2, 5]),
            1,
        );
    }

    #[test]
    fn builds_from_a_keras_config() {
        let config = serde_json::json!({"name": "p_re_lu", "trainable": true,
            "alpha_initializer": {"module": "keras.initializers", "class_name": "Zeros", "config": {},
                "registered_name": null},
            "alpha_regularizer": null, "alpha_constraint": null, "shared_axes": [1]});
        let layer = crate::keras::layer_from_config("PReLU", &config).unwrap();
        let back: PReLU = serde_json::from_value(layer.config()).unwrap();
        assert_eq!((back.name.as_str(), back.shared_axes), ("p_re_lu", Some(vec![1])));
    }

    #[test]
    fn alpha_scales_the_negative_part() {
        let x = Input::new([2, 3]);
        let y = PReLU::new().shared_axes([1]).apply(&x).unwrap();
        let mut model = Model::new(&[&x], &[&y]).unwrap();
        let alpha = crate::Tensor::from_f32(vec![0.1, 0.2, 0.3], [1, 3]).unwrap();
        model.set_weights(&[alpha]).unwrap();
        let input = crate::Tensor::from_f32(vec![-1.0, -2.0, 3.0, 0.0, -4.0, -5.0], [1, 2, 3]).unwrap();
        let got = model.predict(&input).unwrap().to_f32();
        let want = [-0.1f32, -0.4, 3.0, 0.0, -0.8, -1.5];
        for (g, w) in got.iter().zip(want) {
            assert!((g - w).abs() < 1e-6, "{got:?}");
        }
    }

    #[test]
    fn bad_shared_axes_and_unknown_dimensions_are_named() {
        let err = |l: PReLU, shape: Shape| {
            l.name("p")
                .compute_output_shape(&[TensorType::f32(shape)])
                .unwrap_err()
                .to_string()
        };
        assert_eq!(
            err(PReLU::new().shared_axes([2]), Shape::batched([4])),
            "layer 'p' (PReLU) is incompatible with its input: shared_axes must be axes of the input after the batch axis (1 to 1). Received: shared_axes=[2] for an input of shape (None, 4)"
        );
        assert_eq!(
            err(PReLU::new(), Shape(vec![None, None, Some(2)])),
            "layer 'p' (PReLU) is incompatible with its input: Shapes used to initialize variables must be fully-defined (no `None` dimensions). Received: shape=(None, 2) for variable path='p/alpha'"
        );
        let bad = PReLU::new()
            .name("p")
            .alpha_initializer("zeroes")
            .validate()
            .unwrap_err();
        assert!(
            bad.to_string()
                .starts_with("layer 'p' (PReLU): unknown initializer 'zeroes'"),
            "{bad}"
        );
    }
}
