//! EfficientNetB0 (Tan & Le, 2019), layer for layer as `keras.applications.EfficientNetB0`:
//! the same layer names, shapes and parameter counts, so Keras's weights map onto it.

use crate::error::{KilnError, Result};
use crate::initializers::Initializer;
use crate::layers::{
    Activation, Add, BatchNormalization, Conv2D, Dense, DepthwiseConv2D, Dropout, GlobalAveragePooling2D, Multiply,
    Normalization, Rescaling, Reshape, ZeroPadding2D,
};
use crate::model::{Apply, Input, Model, SymbolicTensor};

/// Keras's `CONV_KERNEL_INITIALIZER`, `VarianceScaling(scale=2.0, mode="fan_out",
/// distribution="truncated_normal")`, for a kernel of `fan_out` = window size × output
/// channels: a normal truncated at two standard deviations whose standard deviation,
/// after truncation, is `sqrt(2 / fan_out)`.
fn conv_init(fan_out: usize) -> Initializer {
    Initializer::TruncatedNormal {
        mean: 0.0,
        stddev: ((2.0 / fan_out as f64).sqrt() / 0.879_625_661_034_239_8) as f32,
    }
}

/// Keras's `DENSE_KERNEL_INITIALIZER`, `VarianceScaling(scale=1/3, mode="fan_out",
/// distribution="uniform")`: uniform in `±sqrt(3 · (1/3) / fan_out)`.
fn dense_init(fan_out: usize) -> Initializer {
    let limit = (3.0 * (1.0 / 3.0) / fan_out as f64).sqrt() as f32;
    Initializer::RandomUniform {
        minval: -limit,
        maxval: limit,
    }
}

/// A convolution as EfficientNet writes them: no bias unless said, its kernel initializer.
fn conv(filters: usize, kernel: usize, name: &str) -> Conv2D {
    Conv2D::new(filters, kernel)
        .kernel_initializer(conv_init(kernel * kernel * filters))
        .name(name)
}

/// Keras's `imagenet_utils.correct_pad`: the zero padding before a stride-2 `kernel`×`kernel`
/// convolution with valid padding.
fn correct_pad(x: &SymbolicTensor, kernel: usize) -> ((usize, usize), (usize, usize)) {
    let dims = x.shape().dims();
    let adjust = |d: Option<usize>| d.map_or(1, |d| 1 - d % 2);
    let c = kernel / 2;
    ((c - adjust(dims[1]), c), (c - adjust(dims[2]), c))
}

/// One row of Keras's `DEFAULT_BLOCKS_ARGS`.
struct BlockArgs {
    kernel_size: usize,
    repeats: usize,
    filters_in: usize,
    filters_out: usize,
    expand_ratio: usize,
    strides: usize,
    se_ratio: f64,
}

const fn args(
    kernel_size: usize,
    repeats: usize,
    filters_in: usize,
    filters_out: usize,
    expand_ratio: usize,
    strides: usize,
) -> BlockArgs {
    BlockArgs {
        kernel_size,
        repeats,
        filters_in,
        filters_out,
        expand_ratio,
        strides,
        se_ratio: 0.25,
    }
}

/// Keras's `DEFAULT_BLOCKS_ARGS` (every block with `id_skip=True`).
const DEFAULT_BLOCKS_ARGS: [BlockArgs; 7] = [
    args(3, 1, 32, 16, 1, 1),
    args(3, 2, 16, 24, 6, 2),
    args(5, 2, 24, 40, 6, 2),
    args(3, 3, 40, 80, 6, 2),
    args(5, 3, 80, 112, 6, 1),
    args(5, 4, 112, 192, 6, 2),
    args(3, 1, 192, 320, 6, 1),
];

/// Keras's `block`: 1×1 expansion (unless `expand_ratio` is 1), depthwise convolution,
/// squeeze-and-excite, 1×1 projection, and — when shapes allow — a skip connection
/// behind a per-sample dropout (`noise_shape=(None, 1, 1, 1)`, stochastic depth).
#[allow(clippy::too_many_arguments)]
fn block(
    inputs: &SymbolicTensor,
    drop_rate: f64,
    name: &str,
    filters_in: usize,
    filters_out: usize,
    kernel_size: usize,
    strides: usize,
    expand_ratio: usize,
    se_ratio: f64,
) -> Result<SymbolicTensor> {
    let activation = "swish";
    let filters = filters_in * expand_ratio;
    let mut x = inputs.clone();
    if expand_ratio != 1 {
        x = conv(filters, 1, &format!("{name}expand_conv"))
            .padding("same")
            .use_bias(false)
            .apply(&x)?;
        x = BatchNormalization::new().name(&format!("{name}expand_bn")).apply(&x)?;
        x = Activation::new(activation)
            .name(&format!("{name}expand_activation"))
            .apply(&x)?;
    }
    let conv_pad = if strides == 2 {
        x = ZeroPadding2D::new()
            .padding(correct_pad(&x, kernel_size))
            .name(&format!("{name}dwconv_pad"))
            .apply(&x)?;
        "valid"
    } else {
        "same"
    };
    x = DepthwiseConv2D::new(kernel_size)
        .strides(strides)
        .padding(conv_pad)
        .use_bias(false)
        .depthwise_initializer(conv_init(kernel_size * kernel_size))
        .name(&format!("{name}dwconv"))
        .apply(&x)?;
    x = BatchNormalization::new().name(&format!("{name}bn")).apply(&x)?;
    x = Activation::new(activation)
        .name(&format!("{name}activation"))
        .apply(&x)?;
    if 0.0 < se_ratio && se_ratio <= 1.0 {
        let filters_se = ((filters_in as f64 * se_ratio) as usize).max(1);
        let mut se = GlobalAveragePooling2D::new()
            .name(&format!("{name}se_squeeze"))
            .apply(&x)?;
        se = Reshape::new([1, 1, filters as i64])
            .name(&format!("{name}se_reshape"))
            .apply(&se)?;
        se = conv(filters_se, 1, &format!("{name}se_reduce"))
            .padding("same")
            .activation(activation)
            .apply(&se)?;
        se = conv(filters, 1, &format!("{name}se_expand"))
            .padding("same")
            .activation("sigmoid")
            .apply(&se)?;
        x = Multiply::new()
            .name(&format!("{name}se_excite"))
            .apply_list(&[&x, &se])?;
    }
    x = conv(filters_out, 1, &format!("{name}project_conv"))
        .padding("same")
        .use_bias(false)
        .apply(&x)?;
    x = BatchNormalization::new().name(&format!("{name}project_bn")).apply(&x)?;
    if strides == 1 && filters_in == filters_out {
        if drop_rate > 0.0 {
            x = Dropout::new(drop_rate as f32)
                .noise_shape([None, Some(1), Some(1), Some(1)])
                .name(&format!("{name}drop"))
                .apply(&x)?;
        }
        x = Add::new().name(&format!("{name}add")).apply_list(&[&x, inputs])?;
    }
    Ok(x)
}

/// Keras's `EfficientNet` with `include_top=True`, `weights=None`, swish activations,
/// `drop_connect_rate=0.2`, `depth_divisor=8` and a softmax classifier.
fn efficientnet(
    width_coefficient: f64,
    depth_coefficient: f64,
    dropout_rate: f64,
    input_shape: [usize; 3],
    classes: usize,
    name: &str,
) -> Result<Model> {
    if input_shape[0] < 32 || input_shape[1] < 32 || classes == 0 {
        return Err(KilnError::Model {
            model: name.into(),
            message: format!(
                "expected an input of at least 32×32 and classes > 0; received input_shape={input_shape:?}, classes={classes}"
            ),
        });
    }
    let divisor = 8usize;
    let round_filters = |filters: usize| {
        let filters = filters as f64 * width_coefficient;
        let mut new_filters = (((filters + divisor as f64 / 2.0) as usize) / divisor * divisor).max(divisor);
        if (new_filters as f64) < 0.9 * filters {
            new_filters += divisor;
        }
        new_filters
    };
    let round_repeats = |repeats: usize| (depth_coefficient * repeats as f64).ceil() as usize;

    let input = Input::named("input_layer", input_shape);
    let mut x = Rescaling::new(1.0 / 255.0).apply(&input)?;
    // Un-adapted, as Keras builds it: non-trainable `mean` (zeros), `variance` (ones) and
    // `count`. (Keras adds a second Rescaling only when it loads its ImageNet weights.)
    x = Normalization::new().axis(3).apply(&x)?;
    x = ZeroPadding2D::new()
        .padding(correct_pad(&x, 3))
        .name("stem_conv_pad")
        .apply(&x)?;
    x = conv(round_filters(32), 3, "stem_conv")
        .strides(2)
        .padding("valid")
        .use_bias(false)
        .apply(&x)?;
    x = BatchNormalization::new().name("stem_bn").apply(&x)?;
    x = Activation::new("swish").name("stem_activation").apply(&x)?;

    let drop_connect_rate = 0.2;
    let total = DEFAULT_BLOCKS_ARGS
        .iter()
        .map(|a| round_repeats(a.repeats))
        .sum::<usize>() as f64;
    let mut b = 0;
    for (i, a) in DEFAULT_BLOCKS_ARGS.iter().enumerate() {
        let (filters_in, filters_out) = (round_filters(a.filters_in), round_filters(a.filters_out));
        for j in 0..round_repeats(a.repeats) {
            // The first block of a stage changes the stride and the number of filters.
            let (strides, filters_in) = if j > 0 {
                (1, filters_out)
            } else {
                (a.strides, filters_in)
            };
            x = block(
                &x,
                drop_connect_rate * b as f64 / total,
                &format!("block{}{}_", i + 1, (b'a' + j as u8) as char),
                filters_in,
                filters_out,
                a.kernel_size,
                strides,
                a.expand_ratio,
                a.se_ratio,
            )?;
            b += 1;
        }
    }

    x = conv(round_filters(1280), 1, "top_conv")
        .padding("same")
        .use_bias(false)
        .apply(&x)?;
    x = BatchNormalization::new().name("top_bn").apply(&x)?;
    x = Activation::new("swish").name("top_activation").apply(&x)?;
    x = GlobalAveragePooling2D::new().name("avg_pool").apply(&x)?;
    if dropout_rate > 0.0 {
        x = Dropout::new(dropout_rate as f32).name("top_dropout").apply(&x)?;
    }
    let output = Dense::new(classes)
        .activation("softmax")
        .kernel_initializer(dense_init(classes))
        .name("predictions")
        .apply(&x)?;
    Ok(Model::new(&[&input], &[&output])?.with_name(name))
}

/// EfficientNetB0 for images of `input_shape` (height, width, channels; at least 32×32)
/// and `classes` softmax outputs, with freshly initialised weights: Keras's
/// `EfficientNetB0(weights=None, input_shape=…, classes=…)`, layer for layer. It takes
/// pixels in `[0, 255]`: a `Rescaling(1/255)` and an un-adapted `Normalization` (its
/// `mean`, `variance` and `count` are non-trainable weights, 7 parameters) come first.
/// With the defaults (`[224, 224, 3]`, 1000) it has 5,330,571 parameters, 42,023 of them
/// non-trainable, as Keras's.
///
/// Kernels are drawn as Keras's `VarianceScaling(mode="fan_out")` initializers draw them
/// (written as the equivalent truncated normal and uniform initializers for each layer's
/// shape). The blocks' skip connections drop whole samples in training
/// (`Dropout(noise_shape=(None, 1, 1, 1))`) at rates rising from 0 to 0.2 with depth.
///
/// ```no_run
/// let model = kiln::applications::efficientnet_b0([224, 224, 3], 1000)?;
/// assert_eq!(model.count_params(), 5_330_571);
/// # Ok::<(), kiln::KilnError>(())
/// ```
pub fn efficientnet_b0(input_shape: [usize; 3], classes: usize) -> Result<Model> {
    efficientnet(1.0, 1.0, 0.2, input_shape, classes, "efficientnetb0")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn initializers_match_keras_variance_scaling() {
        // VarianceScaling(2.0, "fan_out", "truncated_normal") for a 3×3×3×32 kernel.
        let Initializer::TruncatedNormal { stddev, .. } = conv_init(3 * 3 * 32) else {
            panic!()
        };
        // sqrt(2 / 288), divided by the standard deviation of a unit normal cut at ±2.
        assert!((stddev - 0.083_333_33 / 0.879_625_7).abs() < 1e-6, "{stddev}");
        let Initializer::RandomUniform { maxval, .. } = dense_init(1000) else {
            panic!()
        };
        assert!((maxval - 0.031_622_78).abs() < 1e-7, "{maxval}");
    }
}
