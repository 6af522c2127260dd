//! MobileNetV3 Small and Large (Howard et al., 2019), layer for layer as
//! `keras.applications.MobileNetV3Small`/`MobileNetV3Large` (`minimalistic=False`,
//! `include_preprocessing=True`): the same layer names, shapes and parameter counts, so
//! Keras's weights map onto them.

use crate::error::{KilnError, Result};
use crate::layer::{EmitContext, Layer};
use crate::layers::{
    Activation, Add, BatchNormalization, Conv2D, DepthwiseConv2D, Dropout, Flatten, GlobalAveragePooling2D,
    GlobalPoolArgs, Multiply, ReLU, Rescaling, ZeroPadding2D,
};
use crate::model::{Apply, Input, Model, SymbolicTensor};
use crate::names::unique_name;
use kiln_ir::{TensorType, ValueId};
use serde::Serialize;

/// Keras's `_depth`: `v` rounded to a multiple of 8, at least 8, never more than 10% below
/// `v`.
fn depth(v: f64) -> usize {
    let mut new_v = (((v + 4.0) as usize) / 8 * 8).max(8);
    if (new_v as f64) < 0.9 * v {
        new_v += 8;
    }
    new_v
}

/// `alpha` as the Python float a Keras user would have written (`0.75`, not
/// `0.75000000…` widened from f32), so `_depth(d * alpha)` rounds as in Keras.
fn python_float(alpha: f32) -> f64 {
    alpha.to_string().parse().unwrap_or(f64::from(alpha))
}

/// An arithmetic operation on a symbolic tensor, `x + value` or `x * value`: what Keras's
/// functional API records as an operation node (`keras.src.ops.numpy.Add` /
/// `Multiply`, auto-named `add`, `multiply`, …, no weights, shown in `summary` but not
/// among `model.layers`). Kiln's functional API has no operations on symbolic tensors,
/// so MobileNetV3's `hard_sigmoid(x) = ReLU(6.0)(x + 3.0) * (1.0 / 6.0)` writes its two
/// operations with this private node.
#[derive(Clone, Debug, PartialEq, Serialize)]
struct ScalarOp {
    name: String,
    /// Multiply rather than add.
    multiply: bool,
    value: f32,
}

impl ScalarOp {
    fn add(value: f32) -> Self {
        ScalarOp {
            name: unique_name("add"),
            multiply: false,
            value,
        }
    }

    fn multiply(value: f32) -> Self {
        ScalarOp {
            name: unique_name("multiply"),
            multiply: true,
            value,
        }
    }
}

impl Layer for ScalarOp {
    fn name(&self) -> &str {
        &self.name
    }

    fn class_name(&self) -> &'static str {
        if self.multiply { "Multiply" } else { "Add" }
    }

    fn compute_output_shape(&self, inputs: &[TensorType]) -> Result<Vec<TensorType>> {
        Ok(vec![crate::layers::single(self, inputs)?.clone()])
    }

    fn emit(&self, ctx: &mut EmitContext, inputs: &[ValueId]) -> Result<Vec<ValueId>> {
        Ok(vec![if self.multiply {
            ctx.scale(inputs[0], self.value)?
        } else {
            ctx.add_scalar(inputs[0], self.value)?
        }])
    }

    fn config(&self) -> serde_json::Value {
        serde_json::to_value(self).unwrap_or_default()
    }

    fn passes_mask(&self) -> bool {
        false
    }
}

/// The activations MobileNetV3 uses: `ReLU()` layers and `Activation("hard_swish")`.
#[derive(Clone, Copy)]
enum Act {
    Relu,
    HardSwish,
}

impl Act {
    fn apply(self, x: &SymbolicTensor) -> Result<SymbolicTensor> {
        match self {
            Act::Relu => ReLU::new().apply(x),
            Act::HardSwish => Activation::new("hard_swish").apply(x),
        }
    }
}

/// Keras's `hard_sigmoid` of this file: `ReLU(6.0)(x + 3.0) * (1.0 / 6.0)`.
fn hard_sigmoid(x: &SymbolicTensor) -> Result<SymbolicTensor> {
    let x = ScalarOp::add(3.0).apply(x)?;
    let x = ReLU::new().max_value(6.0).apply(&x)?;
    ScalarOp::multiply((1.0f64 / 6.0) as f32).apply(&x)
}

// Layers Keras names explicitly take no automatic name from the counters (`re_lu_3`,
// `add_1`, …), so the automatically named ones that follow are numbered as in Keras.
// `X::new().name(..)` would use one up: these four classes are both named and automatically
// named in MobileNetV3, so their named instances are written out.

fn named_relu(name: &str) -> ReLU {
    ReLU {
        name: name.to_string(),
        max_value: None,
        negative_slope: 0.0,
        threshold: 0.0,
    }
}

fn named_add(name: &str) -> Add {
    Add { name: name.to_string() }
}

fn named_multiply(name: &str) -> Multiply {
    Multiply { name: name.to_string() }
}

fn named_global_average_pooling(name: &str) -> GlobalAveragePooling2D {
    GlobalAveragePooling2D {
        args: GlobalPoolArgs::new(name.to_string()),
    }
}

fn bn(name: &str) -> BatchNormalization {
    BatchNormalization::new().epsilon(1e-3).momentum(0.999).name(name)
}

fn channels(x: &SymbolicTensor) -> usize {
    x.shape().dims().last().copied().flatten().unwrap_or(0)
}

/// Keras's `imagenet_utils.correct_pad`: the zero padding before a stride-2 `kernel`×`kernel`
/// convolution with valid padding.
fn correct_pad(x: &SymbolicTensor, kernel: usize) -> ((usize, usize), (usize, usize)) {
    let dims = x.shape().dims();
    let adjust = |d: Option<usize>| d.map_or(1, |d| 1 - d % 2);
    let c = kernel / 2;
    ((c - adjust(dims[1]), c), (c - adjust(dims[2]), c))
}

/// Keras's `_se_block`: squeeze (average pool), excite (two 1×1 convolutions, ReLU then
/// hard sigmoid) and rescale the channels of `inputs`.
fn se_block(inputs: &SymbolicTensor, filters: usize, se_ratio: f64, prefix: &str) -> Result<SymbolicTensor> {
    let mut x = named_global_average_pooling(&format!("{prefix}squeeze_excite_avg_pool"))
        .keepdims(true)
        .apply(inputs)?;
    x = Conv2D::new(depth(filters as f64 * se_ratio), 1)
        .padding("same")
        .name(&format!("{prefix}squeeze_excite_conv"))
        .apply(&x)?;
    x = named_relu(&format!("{prefix}squeeze_excite_relu")).apply(&x)?;
    x = Conv2D::new(filters, 1)
        .padding("same")
        .name(&format!("{prefix}squeeze_excite_conv_1"))
        .apply(&x)?;
    x = hard_sigmoid(&x)?;
    named_multiply(&format!("{prefix}squeeze_excite_mul")).apply_list(&[inputs, &x])
}

/// Keras's `_inverted_res_block`: 1×1 expansion (not for block 0), depthwise convolution,
/// optional squeeze-and-excite, 1×1 projection, and a skip connection when shapes allow.
#[allow(clippy::too_many_arguments)]
fn inverted_res_block(
    x: &SymbolicTensor,
    expansion: f64,
    filters: usize,
    kernel_size: usize,
    stride: usize,
    se_ratio: Option<f64>,
    activation: Act,
    block_id: usize,
) -> Result<SymbolicTensor> {
    let shortcut = x;
    let infilters = channels(x);
    let mut x = x.clone();
    let prefix = if block_id > 0 {
        let prefix = format!("expanded_conv_{block_id}_");
        x = Conv2D::new(depth(infilters as f64 * expansion), 1)
            .padding("same")
            .use_bias(false)
            .name(&format!("{prefix}expand"))
            .apply(&x)?;
        x = bn(&format!("{prefix}expand_bn")).apply(&x)?;
        x = activation.apply(&x)?;
        prefix
    } else {
        "expanded_conv_".to_string()
    };
    if stride == 2 {
        x = ZeroPadding2D::new()
            .padding(correct_pad(&x, kernel_size))
            .name(&format!("{prefix}depthwise_pad"))
            .apply(&x)?;
    }
    x = DepthwiseConv2D::new(kernel_size)
        .strides(stride)
        .padding(if stride == 1 { "same" } else { "valid" })
        .use_bias(false)
        .name(&format!("{prefix}depthwise"))
        .apply(&x)?;
    x = bn(&format!("{prefix}depthwise_bn")).apply(&x)?;
    x = activation.apply(&x)?;
    if let Some(se_ratio) = se_ratio {
        x = se_block(&x, depth(infilters as f64 * expansion), se_ratio, &prefix)?;
    }
    x = Conv2D::new(filters, 1)
        .padding("same")
        .use_bias(false)
        .name(&format!("{prefix}project"))
        .apply(&x)?;
    x = bn(&format!("{prefix}project_bn")).apply(&x)?;
    if stride == 1 && infilters == filters {
        x = named_add(&format!("{prefix}add")).apply_list(&[shortcut, &x])?;
    }
    Ok(x)
}

/// One row of a stack: expansion, output filters (before `alpha`), kernel size (`None`:
/// the model's kernel, 5), stride, squeeze-and-excite, hard swish (else ReLU).
type BlockSpec = (f64, f64, Option<usize>, usize, bool, bool);

const SMALL: [BlockSpec; 11] = [
    (1.0, 16.0, Some(3), 2, true, false),
    (72.0 / 16.0, 24.0, Some(3), 2, false, false),
    (88.0 / 24.0, 24.0, Some(3), 1, false, false),
    (4.0, 40.0, None, 2, true, true),
    (6.0, 40.0, None, 1, true, true),
    (6.0, 40.0, None, 1, true, true),
    (3.0, 48.0, None, 1, true, true),
    (3.0, 48.0, None, 1, true, true),
    (6.0, 96.0, None, 2, true, true),
    (6.0, 96.0, None, 1, true, true),
    (6.0, 96.0, None, 1, true, true),
];

const LARGE: [BlockSpec; 15] = [
    (1.0, 16.0, Some(3), 1, false, false),
    (4.0, 24.0, Some(3), 2, false, false),
    (3.0, 24.0, Some(3), 1, false, false),
    (3.0, 40.0, None, 2, true, false),
    (3.0, 40.0, None, 1, true, false),
    (3.0, 40.0, None, 1, true, false),
    (6.0, 80.0, Some(3), 2, false, true),
    (2.5, 80.0, Some(3), 1, false, true),
    (2.3, 80.0, Some(3), 1, false, true),
    (2.3, 80.0, Some(3), 1, false, true),
    (6.0, 112.0, Some(3), 1, true, true),
    (6.0, 112.0, Some(3), 1, true, true),
    (6.0, 160.0, None, 2, true, true),
    (6.0, 160.0, None, 1, true, true),
    (6.0, 160.0, None, 1, true, true),
];

/// Keras's `MobileNetV3` with `minimalistic=False`, `include_top=True`,
/// `include_preprocessing=True`, `dropout_rate=0.2` and a softmax classifier.
fn mobilenet_v3(
    blocks: &[BlockSpec],
    last_point_ch: usize,
    input_shape: [usize; 3],
    alpha: f32,
    classes: usize,
    name: &str,
) -> Result<Model> {
    if input_shape[0] < 32 || input_shape[1] < 32 || alpha <= 0.0 || classes == 0 {
        return Err(KilnError::Model {
            model: name.into(),
            message: format!(
                "expected an input of at least 32×32, alpha > 0 and classes > 0; received input_shape={input_shape:?}, alpha={alpha}, classes={classes}"
            ),
        });
    }
    let alpha = python_float(alpha);
    let (kernel, activation, se_ratio) = (5, Act::HardSwish, 0.25);
    let input = Input::named("input_layer", input_shape);
    let mut x = Rescaling::new(1.0 / 127.5).offset(-1.0).apply(&input)?;
    x = Conv2D::new(16, 3)
        .strides(2)
        .padding("same")
        .use_bias(false)
        .name("conv")
        .apply(&x)?;
    x = bn("conv_bn").apply(&x)?;
    x = activation.apply(&x)?;
    for (block_id, &(expansion, filters, k, stride, se, hard_swish)) in blocks.iter().enumerate() {
        x = inverted_res_block(
            &x,
            expansion,
            depth(filters * alpha),
            k.unwrap_or(kernel),
            stride,
            se.then_some(se_ratio),
            if hard_swish { activation } else { Act::Relu },
            block_id,
        )?;
    }
    let last_conv_ch = depth((channels(&x) * 6) as f64);
    let last_point_ch = if alpha > 1.0 {
        depth(last_point_ch as f64 * alpha)
    } else {
        last_point_ch
    };
    x = Conv2D::new(last_conv_ch, 1)
        .padding("same")
        .use_bias(false)
        .name("conv_1")
        .apply(&x)?;
    x = bn("conv_1_bn").apply(&x)?;
    x = activation.apply(&x)?;
    x = GlobalAveragePooling2D::new().keepdims(true).apply(&x)?;
    x = Conv2D::new(last_point_ch, 1).padding("same").name("conv_2").apply(&x)?;
    x = activation.apply(&x)?;
    x = Dropout::new(0.2).apply(&x)?;
    x = Conv2D::new(classes, 1).padding("same").name("logits").apply(&x)?;
    x = Flatten::new().apply(&x)?;
    let output = Activation::new("softmax").name("predictions").apply(&x)?;
    Ok(Model::new(&[&input], &[&output])?.with_name(name))
}

/// MobileNetV3Small for images of `input_shape` (height, width, channels; at least
/// 32×32), width multiplier `alpha` and `classes` softmax outputs, with freshly
/// initialised weights: Keras's `MobileNetV3Small(weights=None, input_shape=…, alpha=…,
/// classes=…)` (`minimalistic=False`, `include_preprocessing=True`: the input is scaled
/// from `[0, 255]` to `[-1, 1]` by a `Rescaling` layer), layer for layer. With the
/// defaults (`[224, 224, 3]`, 1.0, 1000) it has 2,554,968 parameters, as Keras's.
///
/// Keras's hard sigmoid in the squeeze-and-excite blocks, `ReLU(6.0)(x + 3.0) * (1/6)`,
/// has two operations on symbolic tensors besides its `ReLU` layer; they appear in
/// `summary` as Keras shows them (`add (Add)`, `multiply (Multiply)`).
///
/// ```no_run
/// let model = kiln::applications::mobilenet_v3_small([224, 224, 3], 1.0, 1000)?;
/// assert_eq!(model.count_params(), 2_554_968);
/// # Ok::<(), kiln::KilnError>(())
/// ```
pub fn mobilenet_v3_small(input_shape: [usize; 3], alpha: f32, classes: usize) -> Result<Model> {
    mobilenet_v3(&SMALL, 1024, input_shape, alpha, classes, "MobileNetV3Small")
}

/// MobileNetV3Large for images of `input_shape` (height, width, channels; at least
/// 32×32), width multiplier `alpha` and `classes` softmax outputs, with freshly
/// initialised weights: Keras's `MobileNetV3Large(weights=None, input_shape=…, alpha=…,
/// classes=…)` (`minimalistic=False`, `include_preprocessing=True`), layer for layer.
/// With the defaults (`[224, 224, 3]`, 1.0, 1000) it has 5,507,432 parameters, as
/// Keras's.
///
/// ```no_run
/// let model = kiln::applications::mobilenet_v3_large([224, 224, 3], 1.0, 1000)?;
/// assert_eq!(model.count_params(), 5_507_432);
/// # Ok::<(), kiln::KilnError>(())
/// ```
pub fn mobilenet_v3_large(input_shape: [usize; 3], alpha: f32, classes: usize) -> Result<Model> {
    mobilenet_v3(&LARGE, 1280, input_shape, alpha, classes, "MobileNetV3Large")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn depth_matches_keras() {
        assert_eq!(depth(16.0), 16);
        assert_eq!(depth(4.0), 8);
        assert_eq!(depth(16.0 * 0.25), 8);
        assert_eq!(depth(72.0 * 0.25), 24);
        assert_eq!(depth(96.0 * 6.0), 576);
        assert_eq!(depth(24.0 * (88.0 / 24.0)), 88);
        assert_eq!(depth(80.0 * 2.3), 184);
        assert_eq!(depth(1280.0 * 1.25), 1600);
        assert_eq!(python_float(0.75), 0.75);
    }

    #[test]
    fn hard_sigmoid_is_relu6_of_x_plus_3_over_6() {
        let x = Input::new([5]);
        let y = hard_sigmoid(&x).unwrap();
        let model = Model::new(&[&x], &[&y]).unwrap();
        let data = crate::Tensor::from_f32(vec![-4.0, -3.0, 0.0, 1.5, 4.0], vec![1, 5]).unwrap();
        let out = model.predict(data).unwrap().to_f32();
        let expected: Vec<f32> = [0.0f32, 0.0, 3.0, 4.5, 6.0].iter().map(|v| v * (1.0 / 6.0)).collect();
        assert_eq!(out, expected);
        assert!(model.summary_string().contains("(Add)"));
    }
}
