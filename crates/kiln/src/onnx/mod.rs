//! ONNX export: [`Model::export_onnx`] writes a model's inference graph as an ONNX file
//! (opset 17) that ONNX Runtime and other ONNX tools run.
//!
//! The translation is op by op from Kiln's IR ([`kiln_ir::Op`]), with the semantics of
//! Kiln's own lowering: channels-first convolutions with explicit `(begin, end)` padding
//! (Keras's asymmetric `same` padding included), averages that leave padding out
//! (`count_include_pad=0`), embedding lookups whose indices are clamped to the table,
//! activations by ONNX's own operator where it computes the same function and composed
//! from primitives otherwise. Training-only behaviour exports as inference: dropout and
//! noise are the identity, BatchNormalization uses its moving statistics. The batch
//! dimension is the symbol `batch`; the weights are initializers named as Kiln names them
//! (`dense/kernel`, …); inputs keep the model's input names and outputs take the output
//! layers' names. An op that ONNX cannot express exactly is an error naming it — nothing is
//! approximated.

mod activation;
mod builder;
mod graph;
mod ops;
pub mod proto;

use crate::error::{KilnError, Result};
use crate::model::Model;
use prost::Message;
use std::path::Path;

/// The ONNX opset the export targets.
pub const OPSET: i64 = 17;
/// The ONNX IR version written (IR 8 goes with opset 17).
pub const IR_VERSION: i64 = 8;

impl Model {
    /// The model's inference graph as an ONNX model, encoded (the bytes of a `.onnx`
    /// file). See [`export_onnx`](Model::export_onnx).
    ///
    /// ```
    /// use kiln::prelude::*;
    /// use kiln::onnx::proto::ModelProto;
    /// let mut model = Sequential::new();
    /// model.add(Dense::new(3).activation("softmax").input_shape([4]))?;
    /// let onnx = ModelProto::from_bytes(&model.to_onnx_bytes()?)?;
    /// let graph = onnx.graph.unwrap();
    /// assert_eq!(graph.initializer.len(), 2); // kernel and bias
    /// assert_eq!(graph.output.len(), 1);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn to_onnx_bytes(&self) -> Result<Vec<u8>> {
        let built = self.built()?;
        let weights = self.get_weights()?;
        let proto =
            graph::model_proto(&built.graph, &weights, &self.output_names(), &self.name).map_err(|message| {
                KilnError::Model {
                    model: self.name.clone(),
                    message: format!("cannot export to ONNX: {message}"),
                }
            })?;
        Ok(proto.encode_to_vec())
    }

    /// Writes the model's inference graph to an ONNX file (opset 17, symbolic batch
    /// dimension, the weights as initializers, the model's input and output names). The
    /// write is atomic. An op ONNX cannot express is an error naming the op and its layer.
    ///
    /// ```no_run
    /// use kiln::prelude::*;
    /// let model = Model::load("model.keras", &Device::Flex)?;
    /// model.export_onnx("model.onnx")?;
    /// # Ok::<(), kiln::KilnError>(())
    /// ```
    pub fn export_onnx(&self, path: impl AsRef<Path>) -> Result<()> {
        let path = path.as_ref();
        let bytes = self.to_onnx_bytes()?;
        crate::io::write_atomic(path, &bytes).map_err(|e| KilnError::Io {
            path: path.display().to_string(),
            message: format!("cannot write the file: {e}"),
        })
    }
}
