//! The layer catalogue, one layer per file.

mod activation;
mod add;
mod concatenate;
pub(crate) mod conv;
mod conv1d;
mod conv2d;
mod conv2d_transpose;
mod dense;
mod dropout;
mod elu;
mod flatten;
mod leaky_relu;
mod prelu;
mod relu;
mod reshape;
mod softmax;
mod spatial;

pub use activation::Activation;
pub use add::Add;
pub use concatenate::Concatenate;
pub use conv::ConvArgs;
pub use conv1d::Conv1D;
pub use conv2d::Conv2D;
pub use conv2d_transpose::Conv2DTranspose;
pub use dense::Dense;
pub use dropout::Dropout;
pub use elu::ELU;
pub use flatten::Flatten;
pub use leaky_relu::LeakyReLU;
pub use prelu::PReLU;
pub use relu::ReLU;
pub use reshape::Reshape;
pub use softmax::Softmax;
pub use spatial::{DataFormat, Padding, Sizes};

use crate::error::Result;
use crate::layer::{Layer, incompatible};
use kiln_ir::TensorType;

/// The Keras class names of every layer in this catalogue, alphabetically.
///
/// A new layer is added here too: `kiln-parity` checks that this list names every layer
/// under `layers/` and that its registry has parity cases for each one.
///
/// ```
/// assert!(kiln::layers::catalogue().contains(&"Dense"));
/// ```
pub fn catalogue() -> Vec<&'static str> {
    vec![
        "Activation",
        "Add",
        "Concatenate",
        "Conv1D",
        "Conv2D",
        "Conv2DTranspose",
        "Dense",
        "Dropout",
        "ELU",
        "Flatten",
        "LeakyReLU",
        "PReLU",
        "ReLU",
        "Reshape",
        "Softmax",
    ]
}

/// The registry entries of the built-in layers: every class of [`catalogue`], rebuilt
/// from its Kiln config by serde.
pub(crate) fn builtin_factories() -> std::collections::BTreeMap<String, fn(&serde_json::Value) -> Result<Box<dyn Layer>>> {
    use crate::registry::factory;
    let entries: Vec<(&str, fn(&serde_json::Value) -> Result<Box<dyn Layer>>)> = vec![
        ("Activation", factory::<Activation>()),
        ("Add", factory::<Add>()),
        ("Concatenate", factory::<Concatenate>()),
        ("Conv1D", factory::<Conv1D>()),
        ("Conv2D", factory::<Conv2D>()),
        ("Conv2DTranspose", factory::<Conv2DTranspose>()),
        ("Dense", factory::<Dense>()),
        ("Dropout", factory::<Dropout>()),
        ("Flatten", factory::<Flatten>()),
        ("Reshape", factory::<Reshape>()),
    ];
    entries.into_iter().map(|(k, f)| (k.to_string(), f)).collect()
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
