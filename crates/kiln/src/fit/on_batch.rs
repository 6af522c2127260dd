//! `predict_on_batch`: one forward pass over one batch, as Keras's `predict_on_batch`.
//! (`train_on_batch`, its training counterpart, lives with the `fit` loop in `train.rs`.)

use super::data::Data;
use crate::error::Result;
use crate::model::Model;
use kiln_burn::RunMode;
use kiln_ir::HostTensor;

impl Model {
    /// Every output of the model for one batch `x`, in output order, from a single
    /// inference run over the whole batch (Keras's `predict_on_batch`; unlike
    /// [`predict_multi`](Model::predict_multi) it does not split `x` into batches).
    ///
    /// With [`train_on_batch`](Model::train_on_batch) it is the step-by-step API Keras
    /// users know:
    ///
    /// ```
    /// use kiln::prelude::*;
    /// let mut model = Sequential::new();
    /// model.add(Dense::new(2).activation("softmax").input_shape([3]))?;
    /// model.compile("sgd", "categorical_crossentropy", &["accuracy"])?;
    /// let x = Tensor::from_f32(vec![0.1, 0.2, 0.3, 0.4, 0.5, 0.6], [2, 3])?;
    /// let y = Tensor::from_f32(vec![1.0, 0.0, 0.0, 1.0], [2, 2])?;
    /// let logs = model.train_on_batch(&x, &y)?; // one optimizer step on this batch
    /// assert!(logs["loss"] > 0.0 && logs.contains_key("accuracy"));
    /// let outputs = model.predict_on_batch(&x)?;
    /// assert_eq!(outputs[0].shape(), &[2, 2]);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn predict_on_batch(&self, x: impl Into<Data>) -> Result<Vec<HostTensor>> {
        let built = self.built()?;
        let x = self.prediction_inputs(x.into(), "predict_on_batch received an empty batch")?;
        crate::denormals::apply();
        Ok(built.session.run_owned(&built.plan, x.0, RunMode::default())?)
    }
}
