//! ResNet50 (He et al., 2015), layer for layer as `keras.applications.ResNet50`: the same
//! layer names, shapes and parameter counts, so Keras's weights map onto it.

use crate::error::{KilnError, Result};
use crate::layers::{
    Activation, Add, BatchNormalization, Conv2D, Dense, GlobalAveragePooling2D, MaxPooling2D, ZeroPadding2D,
};
use crate::model::{Apply, Input, Model, SymbolicTensor};

fn bn(name: &str) -> BatchNormalization {
    BatchNormalization::new().epsilon(1.001e-5).name(name)
}

fn relu(name: &str) -> Activation {
    Activation::new("relu").name(name)
}

/// Keras's `residual_block_v1`: a 1×1, 3×3, 1×1 bottleneck with `4 * filters` outputs,
/// added to the input (or to its 1×1 projection when `conv_shortcut`).
fn residual_block_v1(
    x: &SymbolicTensor,
    filters: usize,
    stride: usize,
    conv_shortcut: bool,
    name: &str,
) -> Result<SymbolicTensor> {
    let shortcut = if conv_shortcut {
        let s = Conv2D::new(4 * filters, 1)
            .strides(stride)
            .name(&format!("{name}_0_conv"))
            .apply(x)?;
        bn(&format!("{name}_0_bn")).apply(&s)?
    } else {
        x.clone()
    };
    let mut y = Conv2D::new(filters, 1)
        .strides(stride)
        .name(&format!("{name}_1_conv"))
        .apply(x)?;
    y = bn(&format!("{name}_1_bn")).apply(&y)?;
    y = relu(&format!("{name}_1_relu")).apply(&y)?;
    y = Conv2D::new(filters, 3)
        .padding("same")
        .name(&format!("{name}_2_conv"))
        .apply(&y)?;
    y = bn(&format!("{name}_2_bn")).apply(&y)?;
    y = relu(&format!("{name}_2_relu")).apply(&y)?;
    y = Conv2D::new(4 * filters, 1).name(&format!("{name}_3_conv")).apply(&y)?;
    y = bn(&format!("{name}_3_bn")).apply(&y)?;
    y = Add::new().name(&format!("{name}_add")).apply_list(&[&shortcut, &y])?;
    relu(&format!("{name}_out")).apply(&y)
}

/// Keras's `stack_residual_blocks_v1`: `blocks` residual blocks, the first with a
/// projection shortcut and stride `stride1`.
fn stack_v1(x: &SymbolicTensor, filters: usize, blocks: usize, stride1: usize, name: &str) -> Result<SymbolicTensor> {
    let mut x = residual_block_v1(x, filters, stride1, true, &format!("{name}_block1"))?;
    for i in 2..=blocks {
        x = residual_block_v1(&x, filters, 1, false, &format!("{name}_block{i}"))?;
    }
    Ok(x)
}

/// ResNet50 for images of `input_shape` (height, width, channels; at least 32×32) and
/// `classes` softmax outputs, with freshly initialised weights: Keras's
/// `ResNet50(weights=None, input_shape=…, classes=…)` (`ResNet` with `preact=False`,
/// `use_bias=True`), layer for layer. With the defaults (`[224, 224, 3]`, 1000) it has
/// 25,636,712 parameters (53,120 of them the non-trainable BatchNormalization
/// statistics), as Keras's.
///
/// ```no_run
/// let model = kiln::applications::resnet50([224, 224, 3], 1000)?;
/// assert_eq!(model.count_params(), 25_636_712);
/// model.summary();
/// # Ok::<(), kiln::KilnError>(())
/// ```
pub fn resnet50(input_shape: [usize; 3], classes: usize) -> Result<Model> {
    if input_shape[0] < 32 || input_shape[1] < 32 || classes == 0 {
        return Err(KilnError::Model {
            model: "resnet50".into(),
            message: format!(
                "expected an input of at least 32×32 and classes > 0; received input_shape={input_shape:?}, classes={classes}"
            ),
        });
    }
    let input = Input::named("input_layer", input_shape);
    let mut x = ZeroPadding2D::new()
        .padding(((3, 3), (3, 3)))
        .name("conv1_pad")
        .apply(&input)?;
    x = Conv2D::new(64, 7).strides(2).name("conv1_conv").apply(&x)?;
    x = bn("conv1_bn").apply(&x)?;
    x = relu("conv1_relu").apply(&x)?;
    x = ZeroPadding2D::new()
        .padding(((1, 1), (1, 1)))
        .name("pool1_pad")
        .apply(&x)?;
    x = MaxPooling2D::new()
        .pool_size(3)
        .strides(2)
        .name("pool1_pool")
        .apply(&x)?;
    x = stack_v1(&x, 64, 3, 1, "conv2")?;
    x = stack_v1(&x, 128, 4, 2, "conv3")?;
    x = stack_v1(&x, 256, 6, 2, "conv4")?;
    x = stack_v1(&x, 512, 3, 2, "conv5")?;
    x = GlobalAveragePooling2D::new().name("avg_pool").apply(&x)?;
    let output = Dense::new(classes)
        .activation("softmax")
        .name("predictions")
        .apply(&x)?;
    Ok(Model::new(&[&input], &[&output])?.with_name("resnet50"))
}
