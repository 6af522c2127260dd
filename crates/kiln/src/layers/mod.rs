//! The layer catalogue, one layer per file.

mod activation;
mod add;
mod concatenate;
mod dense;
mod dropout;
mod flatten;
mod reshape;

pub use activation::Activation;
pub use add::Add;
pub use concatenate::Concatenate;
pub use dense::Dense;
pub use dropout::Dropout;
pub use flatten::Flatten;
pub use reshape::Reshape;

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
        "Dense",
        "Dropout",
        "Flatten",
        "Reshape",
    ]
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
