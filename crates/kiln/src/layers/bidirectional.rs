//! `Bidirectional`: a recurrent layer run forwards and backwards, outputs merged.

use super::rnn::{self, Cell, Recurrent, RnnArgs};
use super::{GRU, LSTM, SimpleRNN};
use crate::error::Result;
use crate::layer::{EmitContext, Layer, bad_argument};
use crate::names::unique_name;
use kiln_ir::{Shape, TensorType, ValueId};
use serde::{Deserialize, Serialize};

/// The recurrent layer inside a [`Bidirectional`], serialized as Keras does
/// (`{"class_name": "LSTM", "config": {…}}`).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "class_name", content = "config")]
#[allow(clippy::upper_case_acronyms)]
pub enum RecurrentLayer {
    /// A `SimpleRNN`.
    SimpleRNN(SimpleRNN),
    /// An `LSTM`.
    LSTM(LSTM),
    /// A `GRU`.
    GRU(GRU),
}

impl RecurrentLayer {
    fn layer(&self) -> &dyn Layer {
        match self {
            RecurrentLayer::SimpleRNN(l) => l,
            RecurrentLayer::LSTM(l) => l,
            RecurrentLayer::GRU(l) => l,
        }
    }

    fn args(&self) -> &RnnArgs {
        match self {
            RecurrentLayer::SimpleRNN(l) => l.rnn_args(),
            RecurrentLayer::LSTM(l) => l.rnn_args(),
            RecurrentLayer::GRU(l) => l.rnn_args(),
        }
    }

    fn cell(&self) -> Cell<'_> {
        match self {
            RecurrentLayer::SimpleRNN(l) => l.cell(),
            RecurrentLayer::LSTM(l) => l.cell(),
            RecurrentLayer::GRU(l) => l.cell(),
        }
    }
}

impl From<SimpleRNN> for RecurrentLayer {
    fn from(l: SimpleRNN) -> Self {
        RecurrentLayer::SimpleRNN(l)
    }
}

impl From<LSTM> for RecurrentLayer {
    fn from(l: LSTM) -> Self {
        RecurrentLayer::LSTM(l)
    }
}

impl From<GRU> for RecurrentLayer {
    fn from(l: GRU) -> Self {
        RecurrentLayer::GRU(l)
    }
}

/// Runs a recurrent layer over the sequence forwards and a copy of it backwards, as Keras's
/// `Bidirectional`, and merges the two outputs with `merge_mode`: `"concat"` (default, on
/// the last axis), `"sum"`, `"mul"`, `"ave"`, or `None` (both outputs returned, in order).
/// With `return_sequences` the backward sequence is put back in time order first. With
/// `return_state` the forward states, then the backward states, follow the output(s).
///
/// The two copies have their own weights, named as Keras's paths
/// (`forward_lstm/lstm_cell/kernel`, …, then `backward_lstm/…`). A given `backward_layer`
/// is not supported (a Keras config's own copy of the forward layer is accepted).
///
/// ```
/// use kiln::prelude::*;
/// let x = Input::new([6, 3]);
/// let y = Bidirectional::new(LSTM::new(4).return_sequences(true)).apply(&x)?;
/// assert_eq!(y.shape().keras_string(), "(None, 6, 8)");
/// let z = Bidirectional::new(GRU::new(2)).merge_mode(Some("sum")).apply(&y)?;
/// assert_eq!(z.shape().keras_string(), "(None, 2)");
/// # Ok::<(), kiln::KilnError>(())
/// ```
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Bidirectional {
    /// Layer name.
    pub name: String,
    /// The wrapped (forward) layer.
    pub layer: RecurrentLayer,
    /// `"concat"`, `"sum"`, `"mul"`, `"ave"`, or `None` (no merge).
    pub merge_mode: Option<String>,
    /// Whether training updates the weights.
    pub trainable: bool,
}

const MERGE_MODES: &[&str] = &["sum", "mul", "ave", "concat"];

impl Bidirectional {
    /// Wraps `layer` (a `SimpleRNN`, `LSTM` or `GRU`), merging by concatenation.
    pub fn new(layer: impl Into<RecurrentLayer>) -> Self {
        Bidirectional {
            name: unique_name("bidirectional"),
            layer: layer.into(),
            merge_mode: Some("concat".into()),
            trainable: true,
        }
    }

    /// How the two outputs are merged: `Some("concat" | "sum" | "mul" | "ave")`, or `None`.
    pub fn merge_mode(mut self, mode: Option<&str>) -> Self {
        self.merge_mode = mode.map(str::to_string);
        self
    }

    /// Names the layer.
    pub fn name(mut self, name: &str) -> Self {
        self.name = name.to_string();
        self
    }

    /// Freezes (`false`) or unfreezes the weights.
    pub fn trainable(mut self, trainable: bool) -> Self {
        self.trainable = trainable;
        self
    }

    /// The weight-path prefix of one direction: `forward_lstm/`, `backward_lstm/`. A layer
    /// read from a Keras config is named `forward_lstm` already, and its backward copy
    /// `backward_lstm`.
    fn prefix(&self, direction: &str) -> String {
        let name = self.layer.args().name.as_str();
        let base = name
            .strip_prefix("forward_")
            .or_else(|| name.strip_prefix("backward_"))
            .unwrap_or(name);
        format!("{direction}_{base}/")
    }
}

impl Layer for Bidirectional {
    fn name(&self) -> &str {
        &self.name
    }

    fn class_name(&self) -> &'static str {
        "Bidirectional"
    }

    fn validate(&self) -> Result<()> {
        self.layer.layer().validate()?;
        if let Some(m) = &self.merge_mode
            && !MERGE_MODES.contains(&m.as_str())
        {
            return Err(bad_argument(
                self,
                format!(
                    "Invalid merge mode. Received: {m}. Merge mode should be one of {{\"sum\", \"mul\", \"ave\", \"concat\", None}}"
                ),
            ));
        }
        if self.layer.args().go_backwards {
            return Err(bad_argument(
                self,
                "Forward layer and backward layer should have different `go_backwards` value. Received: forward_layer.go_backwards True, backward_layer.go_backwards=True",
            ));
        }
        Ok(())
    }

    fn compute_output_shape(&self, inputs: &[TensorType]) -> Result<Vec<TensorType>> {
        let a = self.layer.args();
        let mut types = rnn::output_types(self, a, self.layer.cell(), inputs)?;
        let states = types.split_off(1);
        let out = types.remove(0);
        let mut result = match self.merge_mode.as_deref() {
            Some("concat") => {
                let mut dims = out.shape.dims().to_vec();
                *dims.last_mut().expect("rank ≥ 2") = Some(2 * a.units);
                vec![TensorType::f32(Shape(dims))]
            }
            Some(_) => vec![out],
            None => vec![out.clone(), out],
        };
        result.extend(states.iter().cloned());
        result.extend(states);
        Ok(result)
    }

    fn emit(&self, ctx: &mut EmitContext, inputs: &[ValueId]) -> Result<Vec<ValueId>> {
        Ok(self.emit_masked(ctx, inputs, &[])?.0)
    }

    fn config(&self) -> serde_json::Value {
        serde_json::to_value(self).unwrap_or_default()
    }

    fn trainable(&self) -> bool {
        self.trainable && self.layer.args().trainable
    }

    fn passes_mask(&self) -> bool {
        true
    }

    fn compute_output_masks(&self, inputs: &[TensorType], masks: &[Option<Shape>]) -> Result<Vec<Option<Shape>>> {
        let mask = rnn::check_mask(self, inputs, masks)?.filter(|_| self.layer.args().return_sequences);
        Ok(match self.merge_mode {
            None => vec![mask.clone(), mask],
            Some(_) => vec![mask],
        })
    }

    fn emit_masked(
        &self,
        ctx: &mut EmitContext,
        inputs: &[ValueId],
        masks: &[Option<ValueId>],
    ) -> Result<(Vec<ValueId>, Vec<Option<ValueId>>)> {
        let x = inputs[0];
        let mask = masks.first().copied().flatten();
        let cell = self.layer.cell();
        // Keras's copies: the backward one goes backwards; both output zeros at masked
        // steps when they return sequences.
        let mut forward = self.layer.args().clone();
        forward.zero_output_for_mask = forward.return_sequences;
        let mut backward = forward.clone();
        backward.go_backwards = true;
        let sequences = forward.return_sequences;
        let fwd = rnn::run(ctx, &forward, cell, &self.prefix("forward"), x, mask, sequences)?;
        let bwd = rnn::run(ctx, &backward, cell, &self.prefix("backward"), x, mask, sequences)?;
        let (y, y_rev) = if sequences {
            let reversed: Vec<ValueId> = bwd.steps.iter().rev().copied().collect();
            (rnn::stack(ctx, &fwd.steps)?, rnn::stack(ctx, &reversed)?)
        } else {
            (*fwd.steps.last().expect("a step"), *bwd.steps.last().expect("a step"))
        };
        // Each copy's activity regularizer sees its own outputs.
        let mut own = vec![y];
        own.extend(&fwd.states);
        rnn::activity(ctx, &forward, &own)?;
        let mut own = vec![y_rev];
        own.extend(&bwd.states);
        rnn::activity(ctx, &backward, &own)?;

        let mut outputs = match self.merge_mode.as_deref() {
            Some("concat") => {
                let axis = ctx.rank(y)? - 1;
                vec![ctx.concat(&[y, y_rev], axis)?]
            }
            Some("sum") => vec![ctx.add(y, y_rev)?],
            Some("mul") => vec![ctx.mul(y, y_rev)?],
            Some(_) => {
                let s = ctx.add(y, y_rev)?;
                vec![ctx.scale(s, 0.5)?]
            }
            None => vec![y, y_rev],
        };
        let out_mask = mask.filter(|_| sequences);
        let out_masks = vec![out_mask; outputs.len()];
        if forward.return_state {
            outputs.extend(fwd.states);
            outputs.extend(bwd.states);
        }
        Ok((outputs, out_masks))
    }
}

/// A recurrent layer from a nested Keras config, checked as `layer_from_config` does.
fn recurrent_from_keras(c: &crate::keras::KerasConfig, key: &str) -> Result<Option<RecurrentLayer>> {
    let Some((class, config)) = c.object(key)? else {
        return Ok(None);
    };
    if !matches!(class.as_str(), "SimpleRNN" | "LSTM" | "GRU") {
        return Err(c.error(
            key,
            format!("expected a SimpleRNN, LSTM or GRU layer, received {class}"),
        ));
    }
    let layer = crate::keras::layer_from_config(&class, config)?;
    let inner = serde_json::from_value(serde_json::json!({"class_name": class, "config": layer.config()}))
        .map_err(|e| c.error(key, e))?;
    Ok(Some(inner))
}

impl Bidirectional {
    /// From a Keras config: as [`FromKeras`](crate::keras::FromKeras), and
    /// `"merge_mode": null` in `config` (Keras's `merge_mode=None`, no merge) differs from
    /// leaving it out (`"concat"`).
    pub(crate) fn from_keras_config(c: &crate::keras::KerasConfig, config: &serde_json::Value) -> Result<Self> {
        let mut b = <Self as crate::keras::FromKeras>::from_keras(c)?;
        if config.get("merge_mode").is_some_and(serde_json::Value::is_null) {
            b.merge_mode = None;
        }
        Ok(b)
    }
}

impl crate::keras::FromKeras for Bidirectional {
    /// A `null` merge_mode reads as absent here; `layer_from_config` uses
    /// `Bidirectional::from_keras_config`, which tells them apart.
    fn from_keras(c: &crate::keras::KerasConfig) -> Result<Self> {
        let layer = recurrent_from_keras(c, "layer")?.ok_or_else(|| c.error("layer", "is required"))?;
        let mut b = Bidirectional::new(layer);
        if let Some(m) = c.string("merge_mode")? {
            b.merge_mode = Some(m);
        }
        let (name, trainable) = crate::keras::common(c)?;
        if let Some(name) = name {
            b.name = name;
        }
        if let Some(t) = trainable {
            b.trainable = t;
        }
        // Keras's get_config writes the backward copy it made itself: accept exactly that.
        if let Some(back) = recurrent_from_keras(c, "backward_layer")? {
            let mut expected = b.layer.clone();
            let mut got = back;
            for (l, go_backwards) in [(&mut expected, true), (&mut got, true)] {
                let a = match l {
                    RecurrentLayer::SimpleRNN(l) => &mut l.args,
                    RecurrentLayer::LSTM(l) => &mut l.args,
                    RecurrentLayer::GRU(l) => &mut l.args,
                };
                a.name.clear();
                a.go_backwards = go_backwards;
                a.zero_output_for_mask = false;
            }
            if expected != got {
                return Err(c.error(
                    "backward_layer",
                    "a backward layer that differs from the forward layer is not supported",
                ));
            }
        }
        Ok(b)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::layers::testing::check_layer;
    use crate::model::{Apply, Input, Model};

    #[test]
    fn shapes_params_and_config() {
        check_layer(
            &Bidirectional::new(LSTM::new(3)),
            &[Shape::batched([4, 2])],
            Shape::batched([6]),
            144,
        );
        check_layer(
            &Bidirectional::new(GRU::new(2).return_sequences(true)).merge_mode(Some("ave")),
            &[Shape::batched([3, 2])],
            Shape::batched([3, 2]),
            72,
        );
        check_layer(
            &Bidirectional::new(SimpleRNN::new(2)).merge_mode(Some("mul")),
            &[Shape::batched([3, 2])],
            Shape::batched([2]),
            20,
        );
    }

    #[test]
    fn weights_follow_keras_paths() {
        let x = Input::new([3, 2]);
        let y = Bidirectional::new(LSTM::new(2).name("lstm"))
            .name("bi")
            .apply(&x)
            .unwrap();
        let model = Model::new(&[&x], &[&y]).unwrap();
        assert_eq!(
            model.weight_names(),
            [
                "bi/forward_lstm/lstm_cell/kernel",
                "bi/forward_lstm/lstm_cell/recurrent_kernel",
                "bi/forward_lstm/lstm_cell/bias",
                "bi/backward_lstm/lstm_cell/kernel",
                "bi/backward_lstm/lstm_cell/recurrent_kernel",
                "bi/backward_lstm/lstm_cell/bias",
            ]
        );
    }

    #[test]
    fn no_merge_and_states_give_several_outputs() {
        let x = Input::new([3, 2]);
        let outs = Bidirectional::new(LSTM::new(2).return_state(true).return_sequences(true))
            .merge_mode(None)
            .apply_all(&[&x])
            .unwrap();
        let shapes: Vec<String> = outs.iter().map(|t| t.shape().keras_string()).collect();
        assert_eq!(
            shapes,
            [
                "(None, 3, 2)",
                "(None, 3, 2)",
                "(None, 2)",
                "(None, 2)",
                "(None, 2)",
                "(None, 2)"
            ]
        );
        let refs: Vec<&crate::SymbolicTensor> = outs.iter().collect();
        Model::new(&[&x], &refs).unwrap();
    }

    #[test]
    fn bad_arguments_are_named() {
        let err = Bidirectional::new(LSTM::new(2))
            .name("b")
            .merge_mode(Some("max"))
            .validate()
            .unwrap_err()
            .to_string();
        assert!(
            err.starts_with("layer 'b' (Bidirectional): Invalid merge mode. Received: max."),
            "{err}"
        );
        let err = Bidirectional::new(LSTM::new(2).go_backwards(true))
            .name("b")
            .validate()
            .unwrap_err()
            .to_string();
        assert!(err.contains("different `go_backwards`"), "{err}");
    }

    #[test]
    fn keras_configs_are_read() {
        let l = crate::keras::layer_from_config(
            "Bidirectional",
            &serde_json::json!({
                "name": "bidirectional", "merge_mode": null,
                "layer": {"class_name": "GRU", "config": {"name": "forward_gru", "units": 2, "zero_output_for_mask": true, "return_sequences": true}},
                "backward_layer": {"class_name": "GRU", "config": {"name": "backward_gru", "units": 2, "go_backwards": true, "zero_output_for_mask": true, "return_sequences": true}}
            }),
        )
        .unwrap();
        assert_eq!(l.config()["merge_mode"], serde_json::Value::Null);
        let err = crate::keras::layer_from_config(
            "Bidirectional",
            &serde_json::json!({
                "layer": {"class_name": "GRU", "config": {"units": 2}},
                "backward_layer": {"class_name": "GRU", "config": {"units": 3, "go_backwards": true}}
            }),
        )
        .unwrap_err()
        .to_string();
        assert!(err.contains("backward layer that differs"), "{err}");
    }
}
