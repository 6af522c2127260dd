//! The layer catalogue, one layer per file.

mod activation;
mod activity_regularization;
mod add;
mod additive_attention;
mod alpha_dropout;
mod attention;
mod average;
mod average_pooling1d;
mod average_pooling2d;
mod batch_normalization;
mod bidirectional;
mod concatenate;
pub(crate) mod conv;
mod conv1d;
mod conv2d;
mod conv2d_transpose;
mod cropping1d;
mod cropping2d;
mod dense;
mod depthwise_conv2d;
mod dot;
mod dropout;
mod elu;
mod embedding;
mod flatten;
mod gaussian_dropout;
mod gaussian_noise;
mod global_average_pooling1d;
mod global_average_pooling2d;
mod global_max_pooling1d;
mod global_max_pooling2d;
mod group_normalization;
mod gru;
mod layer_normalization;
mod leaky_relu;
mod lstm;
mod masking;
mod max_pooling1d;
mod max_pooling2d;
mod maximum;
mod merging;
mod minimum;
mod multi_head_attention;
mod multiply;
mod normalization;
mod permute;
pub(crate) mod pooling;
mod prelu;
mod relu;
mod repeat_vector;
mod rescaling;
mod reshape;
mod rms_normalization;
pub(crate) mod rnn;
mod separable_conv2d;
mod simple_rnn;
mod softmax;
mod spatial;
mod spatial_dropout1d;
mod spatial_dropout2d;
mod subtract;
mod time_distributed;
mod up_sampling1d;
mod up_sampling2d;
mod zero_padding1d;
mod zero_padding2d;

pub use activation::Activation;
pub use activity_regularization::ActivityRegularization;
pub use add::Add;
pub use additive_attention::AdditiveAttention;
pub use alpha_dropout::AlphaDropout;
pub use attention::Attention;
pub use average::Average;
pub use average_pooling1d::AveragePooling1D;
pub use average_pooling2d::AveragePooling2D;
pub use batch_normalization::BatchNormalization;
pub use bidirectional::{Bidirectional, RecurrentLayer};
pub use concatenate::Concatenate;
pub use conv::ConvArgs;
pub use conv1d::Conv1D;
pub use conv2d::Conv2D;
pub use conv2d_transpose::Conv2DTranspose;
pub use cropping1d::Cropping1D;
pub use cropping2d::Cropping2D;
pub use dense::Dense;
pub use depthwise_conv2d::DepthwiseConv2D;
pub use dot::{Dot, DotAxes};
pub use dropout::Dropout;
pub use elu::ELU;
pub use embedding::Embedding;
pub use flatten::Flatten;
pub use gaussian_dropout::GaussianDropout;
pub use gaussian_noise::GaussianNoise;
pub use global_average_pooling1d::GlobalAveragePooling1D;
pub use global_average_pooling2d::GlobalAveragePooling2D;
pub use global_max_pooling1d::GlobalMaxPooling1D;
pub use global_max_pooling2d::GlobalMaxPooling2D;
pub use group_normalization::GroupNormalization;
pub use gru::GRU;
pub use layer_normalization::LayerNormalization;
pub use leaky_relu::LeakyReLU;
pub use lstm::LSTM;
pub use masking::Masking;
pub use max_pooling1d::MaxPooling1D;
pub use max_pooling2d::MaxPooling2D;
pub use maximum::Maximum;
pub use minimum::Minimum;
pub use multi_head_attention::MultiHeadAttention;
pub use multiply::Multiply;
pub use normalization::Normalization;
pub use permute::Permute;
pub use pooling::{GlobalPoolArgs, PoolArgs};
pub use prelu::PReLU;
pub use relu::ReLU;
pub use repeat_vector::RepeatVector;
pub use rescaling::Rescaling;
pub use reshape::Reshape;
pub use rms_normalization::RMSNormalization;
pub use rnn::RnnArgs;
pub use separable_conv2d::SeparableConv2D;
pub use simple_rnn::SimpleRNN;
pub use softmax::Softmax;
pub use spatial::{DataFormat, Padding, Sizes};
pub use spatial_dropout1d::SpatialDropout1D;
pub use spatial_dropout2d::SpatialDropout2D;
pub use subtract::Subtract;
pub use time_distributed::TimeDistributed;
pub use up_sampling1d::UpSampling1D;
pub use up_sampling2d::UpSampling2D;
pub use zero_padding1d::{Sides, ZeroPadding1D};
pub use zero_padding2d::{Sides2D, ZeroPadding2D};

use crate::error::Result;
use crate::layer::{Layer, incompatible};
use kiln_ir::TensorType;

/// Every built-in layer: its Keras class name and how to rebuild it from its Kiln config.
/// A new layer is added here, alphabetically; `kiln-parity` checks that this list names
/// every layer under `layers/` and that its registry has parity cases for each one.
fn builtin() -> Vec<(&'static str, crate::registry::Factory)> {
    use crate::registry::factory;
    vec![
        ("Activation", factory::<Activation>()),
        ("ActivityRegularization", factory::<ActivityRegularization>()),
        ("Add", factory::<Add>()),
        ("AdditiveAttention", factory::<AdditiveAttention>()),
        ("AlphaDropout", factory::<AlphaDropout>()),
        ("Attention", factory::<Attention>()),
        ("Average", factory::<Average>()),
        ("AveragePooling1D", factory::<AveragePooling1D>()),
        ("AveragePooling2D", factory::<AveragePooling2D>()),
        ("BatchNormalization", factory::<BatchNormalization>()),
        ("Bidirectional", factory::<Bidirectional>()),
        ("Concatenate", factory::<Concatenate>()),
        ("Conv1D", factory::<Conv1D>()),
        ("Conv2D", factory::<Conv2D>()),
        ("Conv2DTranspose", factory::<Conv2DTranspose>()),
        ("Cropping1D", factory::<Cropping1D>()),
        ("Cropping2D", factory::<Cropping2D>()),
        ("Dense", factory::<Dense>()),
        ("DepthwiseConv2D", factory::<DepthwiseConv2D>()),
        ("Dot", factory::<Dot>()),
        ("Dropout", factory::<Dropout>()),
        ("ELU", factory::<ELU>()),
        ("Embedding", factory::<Embedding>()),
        ("Flatten", factory::<Flatten>()),
        ("GRU", factory::<GRU>()),
        ("GaussianDropout", factory::<GaussianDropout>()),
        ("GaussianNoise", factory::<GaussianNoise>()),
        ("GlobalAveragePooling1D", factory::<GlobalAveragePooling1D>()),
        ("GlobalAveragePooling2D", factory::<GlobalAveragePooling2D>()),
        ("GlobalMaxPooling1D", factory::<GlobalMaxPooling1D>()),
        ("GlobalMaxPooling2D", factory::<GlobalMaxPooling2D>()),
        ("GroupNormalization", factory::<GroupNormalization>()),
        ("LSTM", factory::<LSTM>()),
        ("LayerNormalization", factory::<LayerNormalization>()),
        ("LeakyReLU", factory::<LeakyReLU>()),
        ("Masking", factory::<Masking>()),
        ("MaxPooling1D", factory::<MaxPooling1D>()),
        ("MaxPooling2D", factory::<MaxPooling2D>()),
        ("Maximum", factory::<Maximum>()),
        ("Minimum", factory::<Minimum>()),
        ("MultiHeadAttention", factory::<MultiHeadAttention>()),
        ("Multiply", factory::<Multiply>()),
        ("Normalization", factory::<Normalization>()),
        ("PReLU", factory::<PReLU>()),
        ("Permute", factory::<Permute>()),
        ("RMSNormalization", factory::<RMSNormalization>()),
        ("ReLU", factory::<ReLU>()),
        ("RepeatVector", factory::<RepeatVector>()),
        ("Rescaling", factory::<Rescaling>()),
        ("Reshape", factory::<Reshape>()),
        ("SeparableConv2D", factory::<SeparableConv2D>()),
        ("SimpleRNN", factory::<SimpleRNN>()),
        ("Softmax", factory::<Softmax>()),
        ("SpatialDropout1D", factory::<SpatialDropout1D>()),
        ("SpatialDropout2D", factory::<SpatialDropout2D>()),
        ("Subtract", factory::<Subtract>()),
        ("TimeDistributed", factory::<TimeDistributed>()),
        ("UpSampling1D", factory::<UpSampling1D>()),
        ("UpSampling2D", factory::<UpSampling2D>()),
        ("ZeroPadding1D", factory::<ZeroPadding1D>()),
        ("ZeroPadding2D", factory::<ZeroPadding2D>()),
    ]
}

/// The Keras class names of every layer in this catalogue, alphabetically.
///
/// ```
/// assert!(kiln::layers::catalogue().contains(&"Dense"));
/// ```
pub fn catalogue() -> Vec<&'static str> {
    builtin().into_iter().map(|(name, _)| name).collect()
}

/// The registry entries of the built-in layers.
pub(crate) fn builtin_factories() -> std::collections::BTreeMap<String, crate::registry::Factory> {
    builtin().into_iter().map(|(k, f)| (k.to_string(), f)).collect()
}

/// The single input of a one-input layer.
pub(crate) fn single<'a>(layer: &dyn Layer, inputs: &'a [TensorType]) -> Result<&'a TensorType> {
    match inputs {
        [one] => Ok(one),
        _ => Err(incompatible(
            layer,
            format!("expected 1 input, received {}", inputs.len()),
        )),
    }
}

/// A non-negative axis for `axis` (negative counts from the end) on a rank-`rank` input.
pub(crate) fn resolve_axis(layer: &dyn Layer, axis: i64, rank: usize) -> Result<usize> {
    let r = rank as i64;
    if axis >= r || axis < -r {
        return Err(incompatible(
            layer,
            format!("axis {axis} is out of range for inputs of rank {rank}"),
        ));
    }
    Ok(if axis < 0 { (axis + r) as usize } else { axis as usize })
}

#[cfg(test)]
pub(crate) mod testing;
