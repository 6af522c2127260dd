//! The layer registry: sample cases for every layer of `kiln::layers`.
//!
//! Each sample is a one-layer Functional model; its IR graph, with deterministic inputs
//! and weights, becomes a [`Case`]. The test `registry_covers_every_layer` checks the
//! classes here against [`kiln::layers::catalogue`], and the catalogue against the layer
//! files, so a new layer fails a test until it has samples.

use crate::case::{Case, Suite, Values, seed_of};
use crate::spec::{Gradient, Tolerance, op_spec};
use kiln::layers::{Activation, Add, Concatenate, Conv1D, Conv2D, Conv2DTranspose, Dense, Dropout, ELU, Flatten, LeakyReLU, PReLU, ReLU, Reshape, Softmax};
use kiln::{Apply, Input, Layer, Model, SymbolicTensor};
use kiln_burn::RunMode;
use kiln_ir::HostTensor;

/// The batch size of every layer sample.
const BATCH: usize = 3;

/// Applies a layer to symbolic inputs.
type Build = Box<dyn Fn(&[&SymbolicTensor]) -> kiln::Result<SymbolicTensor>>;

/// A layer applied to inputs of given per-sample shapes.
pub struct LayerSample {
    /// The layer's Keras class (`Dense`).
    pub class: &'static str,
    /// A short description of the configuration.
    pub label: String,
    /// Per-sample input shapes (the batch dimension left out).
    pub inputs: Vec<Vec<usize>>,
    /// Run in training mode (dropout active).
    pub training: bool,
    build: Build,
}

impl LayerSample {
    /// A one-input layer.
    fn one<L: Layer + Clone>(layer: L, label: &str, input: &[usize]) -> LayerSample {
        LayerSample {
            class: layer.class_name(),
            label: label.to_string(),
            inputs: vec![input.to_vec()],
            training: false,
            build: Box::new(move |x| layer.apply(x[0])),
        }
    }

    /// A merging layer.
    fn list<L: Layer + Clone>(layer: L, label: &str, inputs: &[&[usize]]) -> LayerSample {
        LayerSample {
            class: layer.class_name(),
            label: label.to_string(),
            inputs: inputs.iter().map(|s| s.to_vec()).collect(),
            training: false,
            build: Box::new(move |x| layer.apply_list(x)),
        }
    }

    fn training(mut self) -> LayerSample {
        self.training = true;
        self
    }

    /// The case: the layer's graph with deterministic inputs and weights. Its tolerances
    /// are the loosest of the ops the layer emits ([`op_spec`]).
    pub fn to_case(&self) -> Result<Case, String> {
        let inputs: Vec<SymbolicTensor> = self.inputs.iter().map(|s| Input::new(s.iter().copied())).collect();
        let refs: Vec<&SymbolicTensor> = inputs.iter().collect();
        let out = (self.build)(&refs).map_err(|e| e.to_string())?;
        let model = Model::new(&refs, &[&out]).map_err(|e| e.to_string())?;
        let graph = model.graph().map_err(|e| e.to_string())?.clone();
        let mut name = format!("{} {}", self.class, self.label);
        if self.training {
            name.push_str(" training");
        }
        let mut values = Values::new(seed_of(&name));
        let xs = self
            .inputs
            .iter()
            .map(|s| {
                let mut dims = vec![BATCH];
                dims.extend(s);
                values.signed(&dims, 2.0)
            })
            .collect();
        // Weights of magnitude ≤ 1, not the initializers' (zero biases hide mistakes).
        let params: Vec<HostTensor> = graph.params().iter().map(|p| values.signed(&p.dims(), 1.0)).collect();
        let mut forward = Tolerance::EXACT;
        let mut gradient = Gradient::Check(Tolerance::EXACT);
        for node in graph.nodes() {
            let spec = op_spec(&node.op);
            forward = forward.loosest(spec.forward);
            gradient = match (gradient, spec.gradient) {
                (Gradient::Check(a), Gradient::Check(b)) => Gradient::Check(a.loosest(b)),
                (Gradient::Skip(why), _) | (_, Gradient::Skip(why)) => Gradient::Skip(why),
            };
        }
        Ok(Case {
            name,
            group: self.class.to_string(),
            suite: Suite::Layers,
            graph,
            inputs: xs,
            params,
            mode: RunMode {
                training: self.training,
                seed: 11,
            },
            forward,
            gradient,
        })
    }
}

/// Every layer sample, a few configurations per layer.
pub fn layer_samples() -> Vec<LayerSample> {
    vec![
        LayerSample::one(Activation::new("relu"), "relu", &[4]),
        LayerSample::one(Activation::new("gelu"), "gelu", &[4]),
        LayerSample::one(Activation::new("softmax"), "softmax", &[2, 3]),
        LayerSample::one(Activation::new("glu"), "glu", &[2, 4]),
        LayerSample::one(Activation::new("sparsemax"), "sparsemax", &[3]),
        LayerSample::list(Add::new(), "2 inputs", &[&[4], &[4]]),
        LayerSample::list(Add::new(), "3 inputs", &[&[2, 3], &[2, 3], &[2, 3]]),
        LayerSample::list(Concatenate::new(), "axis=-1", &[&[2], &[3]]),
        LayerSample::list(Concatenate::new().axis(1), "axis=1", &[&[2, 3], &[1, 3]]),
        LayerSample::one(Conv1D::new(3, 3), "valid", &[7, 2]),
        LayerSample::one(
            Conv1D::new(4, 3).padding("causal").dilation_rate(2).groups(2),
            "causal dilation=2 groups=2",
            &[8, 2],
        ),
        LayerSample::one(Conv2D::new(3, 3).activation("relu"), "valid relu", &[5, 6, 2]),
        LayerSample::one(
            Conv2D::new(4, 3).strides(2).padding("same"),
            "same strides=2",
            &[6, 5, 2],
        ),
        LayerSample::one(
            Conv2D::new(2, [2, 3]).data_format(kiln::layers::DataFormat::ChannelsFirst),
            "channels_first",
            &[2, 4, 5],
        ),
        LayerSample::one(Conv2DTranspose::new(2, 3), "valid", &[3, 4, 2]),
        LayerSample::one(
            Conv2DTranspose::new(2, 3).strides(2).padding("same"),
            "same strides=2",
            &[3, 3, 2],
        ),
        LayerSample::one(Dense::new(4), "units=4", &[3]),
        LayerSample::one(Dense::new(3).activation("relu"), "units=3 relu", &[4]),
        LayerSample::one(
            Dense::new(2).activation("softmax").use_bias(false),
            "units=2 softmax no bias",
            &[2, 3],
        ),
        LayerSample::one(
            Dense::new(3).activation("tanh").trainable(false),
            "units=3 tanh frozen",
            &[4],
        ),
        LayerSample::one(Dropout::new(0.5), "rate=0.5", &[4, 5]).training(),
        LayerSample::one(Dropout::new(0.5), "rate=0.5", &[4, 5]),
        LayerSample::one(ELU::new(), "alpha=1", &[4]),
        LayerSample::one(ELU::new().alpha(0.5), "alpha=0.5", &[2, 3]),
        LayerSample::one(Flatten::new(), "", &[2, 3]),
        LayerSample::one(LeakyReLU::new(), "negative_slope=0.3", &[4]),
        LayerSample::one(PReLU::new(), "", &[2, 3]),
        LayerSample::one(PReLU::new().shared_axes([1]), "shared_axes=[1]", &[2, 3]),
        LayerSample::one(ReLU::new(), "", &[4]),
        LayerSample::one(
            ReLU::new().max_value(1.5).negative_slope(0.1).threshold(0.5),
            "max_value=1.5 negative_slope=0.1 threshold=0.5",
            &[2, 3],
        ),
        LayerSample::one(Reshape::new([3, 2]), "(3, 2)", &[6]),
        LayerSample::one(Reshape::new([-1, 2]), "(-1, 2)", &[2, 3]),
        LayerSample::one(Softmax::new(), "axis=-1", &[2, 3]),
        LayerSample::one(Softmax::new().axis(1), "axis=1", &[2, 3]),
    ]
}

/// Every layer case.
///
/// # Panics
/// If a sample cannot be built (a mistake in this registry).
pub fn layer_cases() -> Vec<Case> {
    layer_samples()
        .iter()
        .map(|s| {
            s.to_case()
                .unwrap_or_else(|e| panic!("layer sample {} {}: {e}", s.class, s.label))
        })
        .collect()
}
