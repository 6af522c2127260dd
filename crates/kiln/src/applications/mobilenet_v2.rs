//! MobileNetV2 (Sandler et al., 2018), layer for layer as `keras.applications.MobileNetV2`:
//! the same layer names, shapes and parameter counts, so Keras's weights map onto it.

use crate::error::{KilnError, Result};
use crate::layers::{
    Add, BatchNormalization, Conv2D, Dense, DepthwiseConv2D, GlobalAveragePooling2D, ReLU, ZeroPadding2D,
};
use crate::model::{Apply, Input, Model, SymbolicTensor};

/// `v` rounded to a multiple of `divisor`, never more than 10% below `v` (Keras's
/// `_make_divisible`).
fn make_divisible(v: f32, divisor: usize) -> usize {
    let d = divisor as f32;
    let mut new_v = (((v + d / 2.0) as usize) / divisor * divisor).max(divisor);
    if (new_v as f32) < 0.9 * v {
        new_v += divisor;
    }
    new_v
}

fn bn(name: &str) -> BatchNormalization {
    BatchNormalization::new().momentum(0.999).epsilon(1e-3).name(name)
}

fn relu6(name: &str) -> ReLU {
    ReLU::new().max_value(6.0).name(name)
}

/// One inverted residual block: 1×1 expansion, 3×3 depthwise, 1×1 projection, and a
/// skip connection when shapes allow.
fn inverted_res_block(
    inputs: &SymbolicTensor,
    expansion: usize,
    stride: usize,
    alpha: f32,
    filters: usize,
    block_id: usize,
) -> Result<SymbolicTensor> {
    let in_channels = inputs.shape().dims().last().copied().flatten().unwrap_or(0);
    let pointwise_filters = make_divisible((filters as f32 * alpha).trunc(), 8);
    let mut x = inputs.clone();
    let prefix = if block_id > 0 {
        let prefix = format!("block_{block_id}_");
        x = Conv2D::new(expansion * in_channels, 1)
            .padding("same")
            .use_bias(false)
            .name(&format!("{prefix}expand"))
            .apply(&x)?;
        x = bn(&format!("{prefix}expand_BN")).apply(&x)?;
        x = relu6(&format!("{prefix}expand_relu")).apply(&x)?;
        prefix
    } else {
        "expanded_conv_".to_string()
    };
    if stride == 2 {
        // Keras's `correct_pad` for a 3×3 kernel on an input of known size.
        let dims = x.shape().dims().to_vec();
        let adjust = |d: Option<usize>| d.map_or(1, |d| 1 - d % 2);
        let (ah, aw) = (adjust(dims[1]), adjust(dims[2]));
        x = ZeroPadding2D::new()
            .padding(((1 - ah, 1), (1 - aw, 1)))
            .name(&format!("{prefix}pad"))
            .apply(&x)?;
    }
    x = DepthwiseConv2D::new(3)
        .strides(stride)
        .use_bias(false)
        .padding(if stride == 1 { "same" } else { "valid" })
        .name(&format!("{prefix}depthwise"))
        .apply(&x)?;
    x = bn(&format!("{prefix}depthwise_BN")).apply(&x)?;
    x = relu6(&format!("{prefix}depthwise_relu")).apply(&x)?;
    x = Conv2D::new(pointwise_filters, 1)
        .padding("same")
        .use_bias(false)
        .name(&format!("{prefix}project"))
        .apply(&x)?;
    x = bn(&format!("{prefix}project_BN")).apply(&x)?;
    if in_channels == pointwise_filters && stride == 1 {
        return Add::new().name(&format!("{prefix}add")).apply_list(&[inputs, &x]);
    }
    Ok(x)
}

/// MobileNetV2 for images of `input_shape` (height, width, channels), width multiplier
/// `alpha` (Keras: 0.35, 0.5, 0.75, 1.0, 1.3 or 1.4) and `classes` softmax outputs, with
/// freshly initialised weights. With the defaults (`[224, 224, 3]`, 1.0, 1000) it has
/// 3,538,984 parameters, as Keras's.
///
/// ```no_run
/// let model = kiln::applications::mobilenet_v2([224, 224, 3], 1.0, 1000)?;
/// assert_eq!(model.count_params(), 3_538_984);
/// # Ok::<(), kiln::KilnError>(())
/// ```
pub fn mobilenet_v2(input_shape: [usize; 3], alpha: f32, classes: usize) -> Result<Model> {
    if input_shape[0] < 32 || input_shape[1] < 32 || alpha <= 0.0 || classes == 0 {
        return Err(KilnError::Model {
            model: "mobilenetv2".into(),
            message: format!(
                "expected an input of at least 32×32, alpha > 0 and classes > 0; received input_shape={input_shape:?}, alpha={alpha}, classes={classes}"
            ),
        });
    }
    let input = Input::named("input_layer", input_shape);
    let first = make_divisible(32.0 * alpha, 8);
    let mut x = Conv2D::new(first, 3)
        .strides(2)
        .padding("same")
        .use_bias(false)
        .name("Conv1")
        .apply(&input)?;
    x = bn("bn_Conv1").apply(&x)?;
    x = relu6("Conv1_relu").apply(&x)?;
    let blocks: [(usize, usize, usize); 17] = [
        (16, 1, 1),
        (24, 2, 6),
        (24, 1, 6),
        (32, 2, 6),
        (32, 1, 6),
        (32, 1, 6),
        (64, 2, 6),
        (64, 1, 6),
        (64, 1, 6),
        (64, 1, 6),
        (96, 1, 6),
        (96, 1, 6),
        (96, 1, 6),
        (160, 2, 6),
        (160, 1, 6),
        (160, 1, 6),
        (320, 1, 6),
    ];
    for (block_id, (filters, stride, expansion)) in blocks.into_iter().enumerate() {
        x = inverted_res_block(&x, expansion, stride, alpha, filters, block_id)?;
    }
    let last = if alpha > 1.0 {
        make_divisible(1280.0 * alpha, 8)
    } else {
        1280
    };
    x = Conv2D::new(last, 1).use_bias(false).name("Conv_1").apply(&x)?;
    x = bn("Conv_1_bn").apply(&x)?;
    x = relu6("out_relu").apply(&x)?;
    x = GlobalAveragePooling2D::new().apply(&x)?;
    let output = Dense::new(classes)
        .activation("softmax")
        .name("predictions")
        .apply(&x)?;
    Ok(Model::new(&[&input], &[&output])?.with_name(&format!("mobilenetv2_{alpha:.2}_{}", input_shape[0])))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn make_divisible_matches_keras() {
        assert_eq!(make_divisible(32.0, 8), 32);
        assert_eq!(make_divisible(11.2, 8), 16);
        assert_eq!(make_divisible(1280.0 * 1.4, 8), 1792);
        assert_eq!(make_divisible(16.0 * 0.35, 8), 8);
    }
}
