//! `Normalization`: standardises features with a mean and variance, given or adapted.

use crate::Tensor;
use crate::error::{KilnError, Result};
use crate::layer::{EmitContext, Layer, bad_argument, incompatible};
use crate::names::unique_name;
use kiln_ir::{BinaryOp, Initializer, Shape, TensorType, UnaryOp, ValueId};
use serde::{Deserialize, Serialize};

/// Keras's `backend.epsilon()`, the smallest standard deviation divided by.
const EPSILON: f32 = 1e-7;

/// A preprocessing layer that standardises its input feature-wise:
/// `(input - mean) / max(sqrt(variance), 1e-7)`, or with `invert` the reverse,
/// `mean + input * max(sqrt(variance), 1e-7)`.
///
/// `axis` names the axes that keep their own statistics (default `-1`: one mean and
/// variance per feature of the last axis); the statistics are taken over all the other
/// axes. An empty `axis` (Keras's `axis=None`) uses one mean and variance for everything.
///
/// The statistics come from one of:
/// - [`mean_variance`](Normalization::mean_variance): given values, as Keras's `mean` and
///   `variance` arguments (no weights);
/// - [`adapt`](Normalization::adapt): computed from data on the host, as Keras's
///   `adapt()`, and held, as in Keras, in the non-trainable weights `mean`, `variance`
///   and `count` (`2n + 1` parameters);
/// - neither: the layer has Keras's non-trainable weights `mean` (zeros), `variance`
///   (ones) and `count`, to be set with `Model::set_weights` (a Keras model's adapted
///   layer imports this way).
///
/// # Shapes
/// Output shape = input shape; the sizes on `axis` must be known.
///
/// ```
/// use kiln::prelude::*;
/// let data = Tensor::from_f32(vec![1.0, 10.0, 3.0, 30.0], vec![2, 2]).unwrap();
/// let mut norm = Normalization::new();
/// norm.adapt(&data)?; // mean [2, 20], variance [1, 100]
/// let x = Input::new([2]);
/// let model = Model::new(&[&x], &[&norm.apply(&x)?])?;
/// assert_eq!(model.predict(data)?.to_f32(), vec![-1.0, -1.0, 1.0, 1.0]);
/// # Ok::<(), kiln::KilnError>(())
/// ```
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Normalization {
    /// Layer name.
    pub name: String,
    /// Axes with their own statistics (negative counts from the end); empty for one.
    pub axis: Vec<i64>,
    /// The mean, row-major, of shape `stats_shape`; `None` for weights.
    pub mean: Option<Vec<f32>>,
    /// The variance, of the same shape as the mean.
    pub variance: Option<Vec<f32>>,
    /// The shape of `mean` and `variance` (`[]` for a scalar).
    #[serde(default)]
    pub stats_shape: Vec<usize>,
    /// Undo the normalization instead.
    pub invert: bool,
    /// The statistics come from `adapt` (kept in weights, as Keras) rather than from the
    /// constructor (kept as constants, as Keras).
    #[serde(default)]
    pub adapted: bool,
}

impl Normalization {
    /// A normalization per feature of the last axis, to be adapted or given statistics.
    #[allow(clippy::new_without_default)]
    pub fn new() -> Self {
        Normalization {
            name: unique_name("normalization"),
            axis: vec![-1],
            mean: None,
            variance: None,
            stats_shape: Vec::new(),
            invert: false,
            adapted: false,
        }
    }

    /// Keeps statistics per position of one axis.
    pub fn axis(mut self, axis: i64) -> Self {
        self.axis = vec![axis];
        self
    }

    /// Keeps statistics per position of several axes (none: one mean and variance).
    pub fn axes(mut self, axes: impl IntoIterator<Item = i64>) -> Self {
        self.axis = axes.into_iter().collect();
        self
    }

    /// Uses the given mean and variance: one value each, or one per position of the last
    /// kept axis.
    pub fn mean_variance(mut self, mean: impl Into<Vec<f32>>, variance: impl Into<Vec<f32>>) -> Self {
        let mean = mean.into();
        // One value is a scalar, which broadcasts whatever the axes.
        self.stats_shape = if mean.len() == 1 { vec![] } else { vec![mean.len()] };
        self.mean = Some(mean);
        self.variance = Some(variance.into());
        self
    }

    /// Undoes the normalization instead (`mean + x * std`).
    pub fn invert(mut self, invert: bool) -> Self {
        self.invert = invert;
        self
    }

    /// Names the layer.
    pub fn name(mut self, name: &str) -> Self {
        self.name = name.to_string();
        self
    }

    /// Computes the mean and variance of `data` (samples first) over every axis but
    /// `axis`, as Keras's `adapt` does with an array, and keeps them.
    pub fn adapt(&mut self, data: &Tensor) -> Result<()> {
        let dims = data.shape().to_vec();
        let keep = self
            .keep_axes(dims.len())
            .map_err(|m| KilnError::Data(format!("Normalization.adapt: {m}")))?;
        if data.is_empty() {
            return Err(KilnError::Data("Normalization.adapt: the data is empty".into()));
        }
        let values = data.to_f32();
        let stats_shape: Vec<usize> = keep.iter().map(|&a| dims[a]).collect();
        let groups: usize = stats_shape.iter().product();
        let per_group = values.len() / groups;
        // The position of each element among the kept axes (row-major).
        let strides: Vec<usize> = (0..dims.len()).map(|a| dims[a + 1..].iter().product()).collect();
        let group_of = |i: usize| keep.iter().fold(0, |g, &a| g * dims[a] + (i / strides[a]) % dims[a]);
        let mut sums = vec![0.0f64; groups];
        for (i, &v) in values.iter().enumerate() {
            sums[group_of(i)] += f64::from(v);
        }
        let means: Vec<f64> = sums.iter().map(|s| s / per_group as f64).collect();
        let mut squares = vec![0.0f64; groups];
        for (i, &v) in values.iter().enumerate() {
            let g = group_of(i);
            squares[g] += (f64::from(v) - means[g]).powi(2);
        }
        self.mean = Some(means.iter().map(|&m| m as f32).collect());
        self.variance = Some(squares.iter().map(|s| (s / per_group as f64) as f32).collect());
        self.stats_shape = stats_shape;
        self.adapted = true;
        Ok(())
    }

    /// The sorted kept axes for inputs of `rank`, or Keras's message.
    fn keep_axes(&self, rank: usize) -> std::result::Result<Vec<usize>, String> {
        let r = rank as i64;
        if self.axis.iter().any(|&a| a < -r || a >= r) {
            return Err(format!(
                "All `axis` values must be in the range [-ndim, ndim). Received inputs with ndim={rank}, while axis={:?}",
                self.axis
            ));
        }
        let mut keep: Vec<usize> = self
            .axis
            .iter()
            .map(|&a| if a < 0 { (a + r) as usize } else { a as usize })
            .collect();
        keep.sort_unstable();
        keep.dedup();
        Ok(keep)
    }

    /// The kept axes, the sizes on them, and the shape the given statistics take against
    /// an input of `shape` (Keras's expanded shape), checked.
    fn plan(&self, shape: &Shape) -> Result<Plan> {
        let keep = self.keep_axes(shape.rank()).map_err(|m| incompatible(self, m))?;
        let mut sizes = Vec::with_capacity(keep.len());
        for &d in &keep {
            match shape.dims()[d] {
                Some(n) => sizes.push(n),
                None => {
                    return Err(incompatible(
                        self,
                        format!(
                            "All `axis` values to be kept must have a known shape. Received axis={:?}, inputs.shape={}, with unknown axis at index {d}",
                            self.axis,
                            shape.keras_string()
                        ),
                    ));
                }
            }
        }
        if self.mean.is_none() {
            return Ok((keep, sizes, None));
        }
        if self.stats_shape.len() > keep.len() {
            return Err(incompatible(
                self,
                format!(
                    "The rank of `mean` must be less than or equal to the number of axes ({}). Received: mean shape {:?} for axis {:?}",
                    keep.len(),
                    self.stats_shape,
                    self.axis
                ),
            ));
        }
        let mut expanded = vec![1; shape.rank()];
        for (i, &n) in self.stats_shape.iter().rev().enumerate() {
            let axis = keep[keep.len() - 1 - i];
            let size = sizes[keep.len() - 1 - i];
            if n != 1 && n != size {
                return Err(incompatible(
                    self,
                    format!(
                        "the mean and variance of shape {:?} do not fit the input shape {} on axis {axis}",
                        self.stats_shape,
                        shape.keras_string()
                    ),
                ));
            }
            expanded[axis] = n;
        }
        Ok((keep, sizes, Some(expanded)))
    }
}

impl Layer for Normalization {
    fn name(&self) -> &str {
        &self.name
    }

    fn class_name(&self) -> &'static str {
        "Normalization"
    }

    fn validate(&self) -> Result<()> {
        match (&self.mean, &self.variance) {
            (None, None) => Ok(()),
            (Some(m), Some(v)) => {
                let n: usize = self.stats_shape.iter().product();
                if m.len() != v.len() || m.len() != n {
                    return Err(bad_argument(
                        self,
                        format!(
                            "When setting values directly, `mean` and `variance` must have the same shape. Received: mean of {} values and variance of {} values (shape {:?})",
                            m.len(),
                            v.len(),
                            self.stats_shape
                        ),
                    ));
                }
                if self.stats_shape.len() > self.axis.len() {
                    return Err(bad_argument(
                        self,
                        format!(
                            "The rank of `mean` must be less than or equal to the number of axes ({}). Received: mean shape {:?} for axis {:?}",
                            self.axis.len(),
                            self.stats_shape,
                            self.axis
                        ),
                    ));
                }
                Ok(())
            }
            _ => Err(bad_argument(
                self,
                format!(
                    "When setting values directly, both `mean` and `variance` must be set. Received: mean={:?} and variance={:?}",
                    self.mean, self.variance
                ),
            )),
        }
    }

    fn compute_output_shape(&self, inputs: &[TensorType]) -> Result<Vec<TensorType>> {
        let x = super::single(self, inputs)?;
        self.plan(&x.shape)?;
        Ok(vec![x.clone()])
    }

    fn emit(&self, ctx: &mut EmitContext, inputs: &[ValueId]) -> Result<Vec<ValueId>> {
        let x = inputs[0];
        let shape = ctx.shape(x)?;
        let (keep, sizes, expanded) = self.plan(&shape)?;
        let (mean, std) = match (expanded, &self.mean, &self.variance) {
            (Some(expanded), Some(mean), Some(variance)) if !self.adapted => {
                // Given statistics: constants, the standard deviation computed here in f32.
                let std: Vec<f32> = variance.iter().map(|v| v.sqrt().max(EPSILON)).collect();
                let expanded = Shape::fixed(expanded);
                (
                    constant_tensor(ctx, mean, expanded.clone())?,
                    constant_tensor(ctx, &std, expanded)?,
                )
            }
            _ => {
                // Weights, as Keras: zeros and ones until adapted, then the adapted values.
                let wshape = Shape::fixed(sizes);
                let (mean_init, variance_init) = match (&self.mean, &self.variance) {
                    (Some(m), Some(v)) => (
                        Initializer::Values { values: m.clone() },
                        Initializer::Values { values: v.clone() },
                    ),
                    _ => (Initializer::Zeros, Initializer::Ones),
                };
                let mean = ctx.non_trainable_weight("mean", wshape.clone(), mean_init)?;
                let variance = ctx.non_trainable_weight("variance", wshape, variance_init)?;
                ctx.non_trainable_weight("count", Shape::scalar(), Initializer::Zeros)?;
                let bshape = super::layer_normalization::broadcast_shape(&shape, &keep);
                let mean = ctx.reshape(mean, bshape.clone())?;
                let variance = ctx.reshape(variance, bshape)?;
                let root = ctx.unary(UnaryOp::Sqrt, variance)?;
                let eps = ctx.constant(EPSILON)?;
                (mean, ctx.binary(BinaryOp::Maximum, root, eps)?)
            }
        };
        let y = if self.invert {
            let scaled = ctx.mul(x, std)?;
            ctx.add(mean, scaled)?
        } else {
            let centered = ctx.sub(x, mean)?;
            ctx.div(centered, std)?
        };
        Ok(vec![y])
    }

    fn config(&self) -> serde_json::Value {
        serde_json::to_value(self).unwrap_or_default()
    }
}

/// What [`Normalization::plan`] finds: the kept axes, their sizes, and the shape of the
/// given statistics against the input (`None` without them).
type Plan = (Vec<usize>, Vec<usize>, Option<Vec<usize>>);

/// A constant tensor of `shape` holding `values` (row-major); a scalar when all are equal.
fn constant_tensor(ctx: &mut EmitContext, values: &[f32], shape: Shape) -> Result<ValueId> {
    let first = values.first().copied().unwrap_or(0.0);
    if values.iter().all(|v| v.to_bits() == first.to_bits()) {
        return ctx.constant(first);
    }
    let mut parts = Vec::with_capacity(values.len());
    for &v in values {
        let c = ctx.constant(v)?;
        parts.push(ctx.reshape(c, Shape::fixed([1]))?);
    }
    let flat = ctx.concat(&parts, 0)?;
    ctx.reshape(flat, shape)
}

/// A number or a nested list of numbers as (shape, row-major values).
fn nested(v: &serde_json::Value) -> Option<(Vec<usize>, Vec<f32>)> {
    if let Some(x) = v.as_f64() {
        return Some((vec![], vec![x as f32]));
    }
    let items = v.as_array()?;
    let parts: Vec<(Vec<usize>, Vec<f32>)> = items.iter().map(nested).collect::<Option<_>>()?;
    let inner = parts.first().map(|p| p.0.clone()).unwrap_or_default();
    if parts.iter().any(|p| p.0 != inner) {
        return None;
    }
    let mut shape = vec![items.len()];
    shape.extend(inner);
    Some((shape, parts.into_iter().flat_map(|p| p.1).collect()))
}

impl crate::keras::FromKeras for Normalization {
    fn from_keras(c: &crate::keras::KerasConfig) -> Result<Self> {
        let mut layer = Normalization::new();
        if let (Some(name), _) = crate::keras::common(c)? {
            layer.name = name;
        }
        // `axis: null` keeps no axis (one mean and variance for everything); an absent key
        // is Keras's default, -1.
        let present = c.unread().iter().any(|k| k == "axis");
        layer.axis = match c.i64s("axis")? {
            Some(a) => a,
            None if present => vec![],
            None => vec![-1],
        };
        let stats = |key: &str| -> Result<Option<(Vec<usize>, Vec<f32>)>> {
            c.get(key)
                .map(|v| {
                    nested(v)
                        .ok_or_else(|| c.error(key, format!("expected a number or a list of numbers, received {v}")))
                })
                .transpose()
        };
        let mean = stats("mean")?;
        let variance = stats("variance")?;
        if let Some((shape, values)) = mean {
            layer.stats_shape = shape;
            layer.mean = Some(values);
        }
        if let Some((shape, values)) = variance {
            if layer.mean.is_some() && shape != layer.stats_shape {
                return Err(c.error(
                    "variance",
                    format!(
                        "When setting values directly, `mean` and `variance` must have the same shape. Received: mean shape {:?} and variance shape {shape:?}",
                        layer.stats_shape
                    ),
                ));
            }
            layer.stats_shape = shape;
            layer.variance = Some(values);
        }
        if let Some(b) = c.bool("invert")? {
            layer.invert = b;
        }
        Ok(layer)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::layers::spatial_dropout1d::run_layer;
    use crate::layers::testing::check_layer;

    #[test]
    fn shapes_params_and_config() {
        check_layer(&Normalization::new(), &[Shape::batched([3])], Shape::batched([3]), 7);
        check_layer(
            &Normalization::new().mean_variance([0.5, -1.0], [4.0, 0.25]),
            &[Shape::batched([3, 2])],
            Shape::batched([3, 2]),
            0,
        );
        check_layer(
            &Normalization::new().axes([]).mean_variance([1.0], [4.0]).invert(true),
            &[Shape::batched([2])],
            Shape::batched([2]),
            0,
        );
        check_layer(
            &Normalization::new().axes([1, 2]),
            &[Shape::batched([2, 3])],
            Shape::batched([2, 3]),
            13,
        );
    }

    #[test]
    fn adapt_matches_keras() {
        // The golden cases with `adapt` data: statistics and outputs as Keras computes them.
        let file = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../../tests/keras/goldens/layers/Normalization.json");
        let golden: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(file).unwrap()).unwrap();
        for case in golden["cases"].as_array().unwrap() {
            let Some(adapt) = case.get("adapt") else { continue };
            let floats = |v: &serde_json::Value| -> Vec<f32> {
                v["data"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|x| x.as_f64().unwrap() as f32)
                    .collect()
            };
            let shape: Vec<usize> = adapt["shape"]
                .as_array()
                .unwrap()
                .iter()
                .map(|d| d.as_u64().unwrap() as usize)
                .collect();
            let data = Tensor::from_f32(floats(adapt), shape).unwrap();
            let mut layer = Normalization::new();
            layer.adapt(&data).unwrap();
            for (got, w) in [
                (layer.mean.as_ref().unwrap(), &case["weights"][0]),
                (layer.variance.as_ref().unwrap(), &case["weights"][1]),
            ] {
                for (a, b) in got.iter().zip(floats(&w["value"])) {
                    assert!((a - b).abs() < 1e-6, "{a} vs {b}");
                }
            }
            let dims = |v: &serde_json::Value| -> Vec<usize> {
                v["shape"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|d| d.as_u64().unwrap() as usize)
                    .collect()
            };
            let input = Tensor::from_f32(floats(&case["inputs"][0]), dims(&case["inputs"][0])).unwrap();
            let out = run_layer(&layer, &input, false);
            for (a, b) in out.iter().zip(floats(&case["outputs"][0])) {
                assert!((a - b).abs() < 1e-5, "{a} vs {b}");
            }
        }
    }

    #[test]
    fn adapt_over_several_and_no_axes() {
        let data = Tensor::from_f32((0..12).map(|i| i as f32).collect(), vec![2, 2, 3]).unwrap();
        let mut layer = Normalization::new().axes([1, 2]);
        layer.adapt(&data).unwrap();
        assert_eq!(layer.stats_shape, vec![2, 3]);
        assert_eq!(layer.mean.as_deref().unwrap(), &[3.0, 4.0, 5.0, 6.0, 7.0, 8.0]);
        assert_eq!(layer.variance.as_deref().unwrap(), &[9.0; 6]);
        let mut layer = Normalization::new().axes([]);
        layer.adapt(&data).unwrap();
        assert_eq!(layer.mean.as_deref().unwrap(), &[5.5]);
        assert_eq!(layer.stats_shape, Vec::<usize>::new());
        let mut layer = Normalization::new().axis(3);
        let err = layer.adapt(&data).unwrap_err().to_string();
        assert!(
            err.contains(
                "All `axis` values must be in the range [-ndim, ndim). Received inputs with ndim=3, while axis=[3]"
            ),
            "{err}"
        );
    }

    #[test]
    fn invert_undoes_the_normalization() {
        let x = Tensor::from_f32(vec![1.0, 2.0, 3.0, 4.0], vec![2, 2]).unwrap();
        let forward = Normalization::new().mean_variance([1.0, 2.0], [4.0, 9.0]);
        let y = run_layer(&forward, &x, false);
        assert_eq!(y, vec![0.0, 0.0, 1.0, 2.0 / 3.0]);
        let back = Normalization::new().mean_variance([1.0, 2.0], [4.0, 9.0]).invert(true);
        let z = run_layer(&back, &Tensor::from_f32(y, vec![2, 2]).unwrap(), false);
        assert_eq!(z, x.to_f32());
    }

    #[test]
    fn bad_arguments_and_inputs_are_named() {
        let mut layer = Normalization::new().name("n");
        layer.mean = Some(vec![1.0]);
        let err = layer.validate().unwrap_err().to_string();
        assert!(
            err.starts_with(
                "layer 'n' (Normalization): When setting values directly, both `mean` and `variance` must be set."
            ),
            "{err}"
        );
        let err = Normalization::new()
            .name("n")
            .mean_variance([1.0, 2.0, 3.0], [1.0, 1.0, 1.0])
            .compute_output_shape(&[TensorType::f32(Shape::batched([2]))])
            .unwrap_err()
            .to_string();
        assert_eq!(
            err,
            "layer 'n' (Normalization) is incompatible with its input: the mean and variance of shape [3] do not fit the input shape (None, 2) on axis 1"
        );
        let err = Normalization::new()
            .name("n")
            .axis(0)
            .compute_output_shape(&[TensorType::f32(Shape::batched([2]))])
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("All `axis` values to be kept must have a known shape."),
            "{err}"
        );
    }

    #[test]
    fn reads_full_keras_configs() {
        // `get_config()` of Keras 3.15.1.
        let config: serde_json::Value = serde_json::from_str(r#"{"name": "normalization", "trainable": true, "dtype": {"module": "keras", "class_name": "DTypePolicy", "config": {"name": "float32"}, "registered_name": null}, "axis": [-1], "invert": false, "mean": null, "variance": null}"#).unwrap();
        let layer = crate::keras::layer_from_config("Normalization", &config).unwrap();
        assert_eq!(layer.config()["name"], config["name"]);
        let config: serde_json::Value = serde_json::from_str(r#"{"name": "normalization_1", "trainable": true, "dtype": {"module": "keras", "class_name": "DTypePolicy", "config": {"name": "float32"}, "registered_name": null}, "axis": [], "invert": false, "mean": 1.0, "variance": 4.0}"#).unwrap();
        let layer = crate::keras::layer_from_config("Normalization", &config).unwrap();
        assert_eq!(layer.config()["name"], config["name"]);
    }
}
