//! Ready-made architectures in the spirit of `keras.applications`: built layer for layer
//! as Keras builds them (same layer names, shapes and parameter counts), with fresh weights
//! (Keras's `weights=None`, `include_top=True`).
//!
//! | function | Keras | parameters (224×224×3, 1000 classes) |
//! |---|---|---|
//! | [`mobilenet_v2`] | `MobileNetV2` | 3,538,984 |
//! | [`mobilenet_v3_small`] | `MobileNetV3Small` | 2,554,968 |
//! | [`mobilenet_v3_large`] | `MobileNetV3Large` | 5,507,432 |
//! | [`resnet50`] | `ResNet50` | 25,636,712 |
//! | [`efficientnet_b0`] | `EfficientNetB0` | 5,330,571 |
//!
//! ```no_run
//! use kiln::prelude::*;
//! let model = kiln::applications::efficientnet_b0([224, 224, 3], 1000)?;
//! model.summary();
//! let image = Tensor::from_f32(vec![128.0; 224 * 224 * 3], vec![1, 224, 224, 3]).unwrap();
//! let probabilities = model.predict(&image)?; // (1, 1000), each row sums to 1
//! # Ok::<(), kiln::KilnError>(())
//! ```

mod efficientnet;
mod mobilenet_v2;
mod mobilenet_v3;
mod resnet;

pub use efficientnet::efficientnet_b0;
pub use mobilenet_v2::mobilenet_v2;
pub use mobilenet_v3::{mobilenet_v3_large, mobilenet_v3_small};
pub use resnet::resnet50;
