//! The layer registry: sample cases for every layer of `kiln::layers`.
//!
//! Each sample is a one-layer Functional model; its IR graph, with deterministic inputs
//! and weights, becomes a [`Case`]. The test `registry_covers_every_layer` checks the
//! classes here against [`kiln::layers::catalogue`], and the catalogue against the layer
//! files, so a new layer fails a test until it has samples.

use crate::case::{Case, Suite, Values, seed_of};
use crate::spec::{Gradient, Tolerance, op_spec};
use kiln::layers::{
    Activation, Add, Concatenate, Conv1D, Conv2D, Conv2DTranspose, Dense, Dropout, ELU, Flatten, LeakyReLU, PReLU,
    ReLU, Reshape, Softmax,
};
use kiln::layers::{
    ActivityRegularization, AlphaDropout, BatchNormalization, GaussianDropout, GaussianNoise, GroupNormalization,
    LayerNormalization, Normalization, RMSNormalization, Rescaling, SpatialDropout1D, SpatialDropout2D,
};
use kiln::layers::{AdditiveAttention, Attention, MultiHeadAttention};
use kiln::layers::{
    Average, Cropping1D, Cropping2D, Dot, Maximum, Minimum, Multiply, Permute, RepeatVector, Subtract, TimeDistributed,
    UpSampling1D, UpSampling2D, ZeroPadding1D, ZeroPadding2D,
};
use kiln::layers::{
    AveragePooling1D, AveragePooling2D, DataFormat, DepthwiseConv2D, GlobalAveragePooling1D, GlobalAveragePooling2D,
    GlobalMaxPooling1D, GlobalMaxPooling2D, MaxPooling1D, MaxPooling2D, SeparableConv2D,
};
use kiln::layers::{Bidirectional, Embedding, GRU, LSTM, Masking, SimpleRNN};
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
    /// Integer inputs (indices below this bound, for `Embedding`) instead of floats.
    pub indices: Option<usize>,
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
            indices: None,
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
            indices: None,
            build: Box::new(move |x| layer.apply_list(x)),
        }
    }

    fn training(mut self) -> LayerSample {
        self.training = true;
        self
    }

    /// Feeds `i32` indices in `0..bound` instead of floats.
    fn indices(mut self, bound: usize) -> LayerSample {
        self.indices = Some(bound);
        self
    }

    /// The case: the layer's graph with deterministic inputs and weights. Its tolerances
    /// are the loosest of the ops the layer emits ([`op_spec`]).
    pub fn to_case(&self) -> Result<Case, String> {
        let inputs: Vec<SymbolicTensor> = self
            .inputs
            .iter()
            .map(|s| match self.indices {
                Some(_) => Input::with_dtype(s.iter().copied(), kiln::DType::I32),
                None => Input::new(s.iter().copied()),
            })
            .collect();
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
                match self.indices {
                    Some(bound) => values.below(&dims, bound),
                    None => values.signed(&dims, 2.0),
                }
            })
            .collect();
        // Weights of magnitude ≤ 1, not the initializers' (zero biases hide mistakes);
        // variances (BatchNormalization's moving statistics) positive.
        let params: Vec<HostTensor> = graph
            .params()
            .iter()
            .map(|p| {
                if p.name.ends_with("variance") {
                    values.uniform(&p.dims(), 0.1, 1.0)
                } else {
                    values.signed(&p.dims(), 1.0)
                }
            })
            .collect();
        let mut forward = Tolerance::EXACT;
        let mut gradient = Gradient::Check(Tolerance::EXACT);
        for node in graph.nodes() {
            // A constant inside a layer is a leaf: it has no gradient of its own, but the
            // layer's inputs and weights still do.
            if matches!(node.op, kiln_ir::Op::Constant { .. }) {
                continue;
            }
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
        LayerSample::one(
            ActivityRegularization::new().l1(0.01).l2(0.02),
            "l1=0.01 l2=0.02",
            &[2, 3],
        ),
        LayerSample::list(Add::new(), "2 inputs", &[&[4], &[4]]),
        LayerSample::list(Add::new(), "3 inputs", &[&[2, 3], &[2, 3], &[2, 3]]),
        LayerSample::list(AdditiveAttention::new(), "[query, value]", &[&[4, 3], &[5, 3]]),
        LayerSample::list(
            AdditiveAttention::new().use_scale(false).use_causal_mask(true),
            "no scale, causal, [query, value, key]",
            &[&[4, 3], &[4, 2], &[4, 3]],
        ),
        LayerSample::list(
            AdditiveAttention::new().dropout(0.5),
            "dropout=0.5",
            &[&[4, 3], &[5, 3]],
        )
        .training(),
        LayerSample::one(AlphaDropout::new(0.3), "rate=0.3", &[4, 5]),
        LayerSample::one(AlphaDropout::new(0.3), "rate=0.3", &[4, 5]).training(),
        LayerSample::list(Attention::new(), "dot [query, value]", &[&[4, 3], &[5, 3]]),
        LayerSample::list(
            Attention::new().score_mode("concat").use_scale(true),
            "concat use_scale [query, value, key]",
            &[&[4, 3], &[5, 2], &[5, 3]],
        ),
        LayerSample::list(
            Attention::new().use_scale(true).use_causal_mask(true),
            "use_scale causal, query and value masks",
            &[&[4, 3], &[4, 2], &[4, 3], &[4], &[4]],
        ),
        LayerSample::list(Attention::new().dropout(0.5), "dropout=0.5", &[&[4, 3], &[5, 3]]).training(),
        LayerSample::list(Average::new(), "3 inputs", &[&[2, 3], &[2, 3], &[2, 3]]),
        LayerSample::list(Average::new(), "broadcast lower rank", &[&[2, 3], &[3]]),
        LayerSample::one(AveragePooling1D::new(2), "pool=2", &[7, 3]),
        LayerSample::one(
            AveragePooling1D::new(3).strides(2).padding("same"),
            "pool=3 strides=2 same",
            &[8, 2],
        ),
        LayerSample::one(AveragePooling2D::new(2), "pool=2", &[5, 5, 2]),
        LayerSample::one(
            AveragePooling2D::new(3).strides(2).padding("same"),
            "pool=3 strides=2 same",
            &[6, 5, 2],
        ),
        LayerSample::one(
            AveragePooling2D::new([2, 3])
                .strides(1)
                .padding("same")
                .data_format(DataFormat::ChannelsFirst),
            "pool=(2,3) strides=1 same channels_first",
            &[2, 4, 5],
        ),
        LayerSample::one(BatchNormalization::new(), "default", &[4]),
        LayerSample::one(BatchNormalization::new(), "default", &[4]).training(),
        LayerSample::one(BatchNormalization::new().axis(1), "axis=1", &[3, 2, 2]).training(),
        LayerSample::one(
            BatchNormalization::new()
                .center(false)
                .scale(false)
                .momentum(0.9)
                .epsilon(0.01),
            "no center no scale momentum=0.9 epsilon=0.01",
            &[2, 3],
        )
        .training(),
        LayerSample::one(BatchNormalization::new().trainable(false), "frozen", &[4]).training(),
        LayerSample::one(Bidirectional::new(LSTM::new(2)), "LSTM(2) concat", &[3, 2]),
        LayerSample::one(
            Bidirectional::new(GRU::new(2).return_sequences(true)).merge_mode(Some("ave")),
            "GRU(2) return_sequences ave",
            &[3, 2],
        ),
        LayerSample::one(
            Bidirectional::new(SimpleRNN::new(2).return_sequences(true)).merge_mode(Some("mul")),
            "SimpleRNN(2) return_sequences mul",
            &[2, 3],
        ),
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
        LayerSample::one(Cropping1D::new(), "default", &[5, 2]),
        LayerSample::one(Cropping1D::new().cropping((0, 2)), "(0, 2)", &[5, 2]),
        LayerSample::one(
            Cropping2D::new().cropping(((1, 0), (0, 2))),
            "((1, 0), (0, 2))",
            &[4, 5, 2],
        ),
        LayerSample::one(
            Cropping2D::new().cropping(1).data_format(DataFormat::ChannelsFirst),
            "1 channels_first",
            &[2, 4, 5],
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
        LayerSample::one(DepthwiseConv2D::new(3), "valid", &[5, 5, 3]),
        LayerSample::one(
            DepthwiseConv2D::new(3).depth_multiplier(2).strides(2).padding("same"),
            "depth_multiplier=2 same strides=2",
            &[6, 5, 2],
        ),
        LayerSample::one(
            DepthwiseConv2D::new(2).strides(2).dilation_rate(2).padding("same"),
            "strides=2 dilation=2 same",
            &[7, 6, 2],
        ),
        LayerSample::one(
            DepthwiseConv2D::new([2, 3])
                .dilation_rate(2)
                .data_format(DataFormat::ChannelsFirst),
            "dilation=2 channels_first",
            &[2, 6, 7],
        ),
        LayerSample::list(Dot::new(1), "axes=1", &[&[5], &[5]]),
        LayerSample::list(
            Dot::new((2, 2)).normalize(true),
            "axes=(2, 2) normalize",
            &[&[3, 4], &[5, 4]],
        ),
        LayerSample::list(Dot::new((1, 1)), "axes=(1, 1)", &[&[3, 4], &[3, 2]]),
        LayerSample::one(Dropout::new(0.5), "rate=0.5", &[4, 5]).training(),
        LayerSample::one(Dropout::new(0.5), "rate=0.5", &[4, 5]),
        LayerSample::one(
            Dropout::new(0.5).noise_shape([None, Some(1), None]),
            "rate=0.5 noise_shape=(None, 1, None)",
            &[4, 5],
        )
        .training(),
        LayerSample::one(ELU::new(), "alpha=1", &[4]),
        LayerSample::one(ELU::new().alpha(0.5), "alpha=0.5", &[2, 3]),
        LayerSample::one(Embedding::new(5, 3), "5x3", &[4]).indices(5),
        LayerSample::one(Embedding::new(4, 2).mask_zero(true), "4x2 mask_zero", &[2, 3]).indices(4),
        LayerSample::one(Embedding::new(4, 2), "4x2 float indices", &[3]),
        LayerSample::one(Flatten::new(), "", &[2, 3]),
        LayerSample::one(GaussianDropout::new(0.3), "rate=0.3", &[4, 5]),
        LayerSample::one(GaussianDropout::new(0.3), "rate=0.3", &[4, 5]).training(),
        LayerSample::one(GaussianNoise::new(0.5), "stddev=0.5", &[4, 5]),
        LayerSample::one(GaussianNoise::new(0.5), "stddev=0.5", &[4, 5]).training(),
        LayerSample::one(GlobalAveragePooling1D::new(), "", &[6, 3]),
        LayerSample::one(
            GlobalAveragePooling1D::new()
                .keepdims(true)
                .data_format(DataFormat::ChannelsFirst),
            "keepdims channels_first",
            &[3, 6],
        ),
        LayerSample::one(GlobalAveragePooling2D::new(), "", &[4, 5, 3]),
        LayerSample::one(GlobalAveragePooling2D::new().keepdims(true), "keepdims", &[4, 5, 3]),
        LayerSample::one(GlobalMaxPooling1D::new(), "", &[6, 3]),
        LayerSample::one(
            GlobalMaxPooling1D::new()
                .keepdims(true)
                .data_format(DataFormat::ChannelsFirst),
            "keepdims channels_first",
            &[3, 6],
        ),
        LayerSample::one(GlobalMaxPooling2D::new(), "", &[4, 5, 3]),
        LayerSample::one(GlobalMaxPooling2D::new().keepdims(true), "keepdims", &[4, 5, 3]),
        LayerSample::one(GroupNormalization::new().groups(2), "groups=2", &[3, 4]),
        LayerSample::one(
            GroupNormalization::new().groups(-1).axis(1),
            "groups=-1 axis=1",
            &[3, 2, 2],
        ),
        LayerSample::one(GRU::new(3), "units=3", &[3, 2]),
        LayerSample::one(
            GRU::new(2).reset_after(false).return_sequences(true).go_backwards(true),
            "units=2 reset_after=False return_sequences go_backwards",
            &[3, 2],
        ),
        LayerSample::one(
            GRU::new(2).dropout(0.5).recurrent_dropout(0.5).return_sequences(true),
            "units=2 dropout=0.5 recurrent_dropout=0.5",
            &[3, 2],
        )
        .training(),
        LayerSample::one(LayerNormalization::new(), "axis=-1", &[2, 3]),
        LayerSample::one(LayerNormalization::new().axes([1, 2]), "axis=[1, 2]", &[2, 3]),
        LayerSample::one(LayerNormalization::new().rms_scaling(true), "rms_scaling", &[4]),
        LayerSample::one(LeakyReLU::new(), "negative_slope=0.3", &[4]),
        LayerSample::one(LSTM::new(3), "units=3", &[3, 2]),
        LayerSample::one(
            LSTM::new(2).return_sequences(true).go_backwards(true).use_bias(false),
            "units=2 return_sequences go_backwards no bias",
            &[3, 2],
        ),
        LayerSample::one(
            LSTM::new(2).dropout(0.5).recurrent_dropout(0.5),
            "units=2 dropout=0.5 recurrent_dropout=0.5",
            &[3, 2],
        )
        .training(),
        LayerSample::one(LSTM::new(2).dropout(0.5), "units=2 dropout=0.5", &[3, 2]).training(),
        LayerSample::one(Masking::new(), "mask_value=0", &[3, 2]),
        LayerSample::one(MaxPooling1D::new(), "pool=2", &[7, 3]),
        LayerSample::one(
            MaxPooling1D::new().pool_size(3).strides(2).padding("same"),
            "pool=3 strides=2 same",
            &[8, 2],
        ),
        LayerSample::one(MaxPooling2D::new(), "pool=2", &[5, 5, 2]),
        LayerSample::one(
            MaxPooling2D::new().pool_size(3).strides(2).padding("same"),
            "pool=3 strides=2 same",
            &[6, 5, 2],
        ),
        LayerSample::one(
            MaxPooling2D::new()
                .pool_size([2, 3])
                .strides(1)
                .padding("same")
                .data_format(DataFormat::ChannelsFirst),
            "pool=(2,3) strides=1 same channels_first",
            &[2, 4, 5],
        ),
        LayerSample::list(Maximum::new(), "3 inputs", &[&[2, 3], &[2, 3], &[2, 3]]),
        LayerSample::list(Minimum::new(), "2 inputs", &[&[4], &[4]]),
        LayerSample::list(MultiHeadAttention::new(2, 3), "heads=2 key_dim=3", &[&[4, 5], &[6, 5]]),
        LayerSample::list(
            MultiHeadAttention::new(2, 3)
                .value_dim(4)
                .output_shape(7)
                .use_bias(false)
                .use_causal_mask(true),
            "value_dim=4 output_shape=7 no bias causal",
            &[&[4, 5], &[6, 5]],
        ),
        LayerSample::list(
            MultiHeadAttention::new(2, 2).return_attention_scores(true),
            "[query, value, key, attention_mask], explicit path",
            &[&[4, 5], &[6, 5], &[6, 3], &[4, 6]],
        ),
        LayerSample::list(
            MultiHeadAttention::new(2, 2).use_gate(true).output_shape([2, 2]),
            "gate, two attention axes",
            &[&[2, 3, 4], &[3, 2, 4]],
        ),
        LayerSample::list(
            MultiHeadAttention::new(2, 3).dropout(0.5),
            "dropout=0.5",
            &[&[4, 5], &[6, 5]],
        )
        .training(),
        LayerSample::list(Multiply::new(), "3 inputs", &[&[2, 3], &[2, 3], &[2, 3]]),
        LayerSample::list(Multiply::new(), "broadcast", &[&[2, 3], &[1, 3]]),
        LayerSample::one(
            Normalization::new().mean_variance([0.5, -1.0, 2.0], [4.0, 0.25, 1.0]),
            "mean/variance",
            &[2, 3],
        ),
        LayerSample::one(
            Normalization::new()
                .mean_variance([0.5, -1.0, 2.0], [4.0, 0.25, 1.0])
                .invert(true),
            "invert",
            &[2, 3],
        ),
        LayerSample::one(adapted_normalization(), "adapted", &[3]),
        LayerSample::one(PReLU::new(), "", &[2, 3]),
        LayerSample::one(PReLU::new().shared_axes([1]), "shared_axes=[1]", &[2, 3]),
        LayerSample::one(Permute::new([2, 1]), "(2, 1)", &[3, 4]),
        LayerSample::one(Permute::new([3, 1, 2]), "(3, 1, 2)", &[2, 3, 4]),
        LayerSample::one(ReLU::new(), "", &[4]),
        LayerSample::one(
            ReLU::new().max_value(1.5).negative_slope(0.1).threshold(0.5),
            "max_value=1.5 negative_slope=0.1 threshold=0.5",
            &[2, 3],
        ),
        LayerSample::one(RepeatVector::new(3), "n=3", &[4]),
        LayerSample::one(Rescaling::new(1.0 / 255.0).offset(-1.0), "scale=1/255 offset=-1", &[4]),
        LayerSample::one(Reshape::new([3, 2]), "(3, 2)", &[6]),
        LayerSample::one(Reshape::new([-1, 2]), "(-1, 2)", &[2, 3]),
        LayerSample::one(RMSNormalization::new(), "axis=-1", &[2, 4]),
        LayerSample::one(
            RMSNormalization::new().axes([1, 2]).epsilon(0.01),
            "axis=[1, 2] epsilon=0.01",
            &[2, 3],
        ),
        LayerSample::one(SeparableConv2D::new(3, 3), "valid", &[5, 5, 2]),
        LayerSample::one(
            SeparableConv2D::new(3, 3)
                .depth_multiplier(2)
                .padding("same")
                .activation("relu"),
            "depth_multiplier=2 same relu",
            &[5, 4, 2],
        ),
        LayerSample::one(
            SeparableConv2D::new(2, [2, 3])
                .strides(2)
                .data_format(DataFormat::ChannelsFirst),
            "strides=2 channels_first",
            &[2, 6, 7],
        ),
        LayerSample::one(SimpleRNN::new(3), "units=3", &[3, 2]),
        LayerSample::one(
            SimpleRNN::new(2).activation("relu").return_sequences(true),
            "units=2 relu return_sequences",
            &[3, 2],
        ),
        LayerSample::one(
            SimpleRNN::new(2).dropout(0.5).recurrent_dropout(0.5),
            "units=2 dropout=0.5 recurrent_dropout=0.5",
            &[3, 2],
        )
        .training(),
        LayerSample::one(Softmax::new(), "axis=-1", &[2, 3]),
        LayerSample::one(Softmax::new().axis(1), "axis=1", &[2, 3]),
        LayerSample::one(SpatialDropout1D::new(0.5), "rate=0.5", &[4, 3]),
        LayerSample::one(SpatialDropout1D::new(0.5), "rate=0.5", &[4, 3]).training(),
        LayerSample::one(SpatialDropout2D::new(0.5), "rate=0.5", &[3, 3, 2]).training(),
        LayerSample::one(
            SpatialDropout2D::new(0.5).data_format(DataFormat::ChannelsFirst),
            "rate=0.5 channels_first",
            &[2, 3, 3],
        )
        .training(),
        LayerSample::list(Subtract::new(), "", &[&[2, 3], &[2, 3]]),
        LayerSample::one(TimeDistributed::new(Dense::new(3)), "Dense", &[4, 5]),
        LayerSample::one(TimeDistributed::new(Conv2D::new(2, 3)), "Conv2D", &[3, 5, 5, 2]),
        LayerSample::one(TimeDistributed::new(Dropout::new(0.5)), "Dropout", &[3, 4]).training(),
        LayerSample::one(UpSampling1D::new(), "size=2", &[3, 2]),
        LayerSample::one(UpSampling1D::new().size(3), "size=3", &[2, 2]),
        LayerSample::one(UpSampling2D::new().size([2, 3]), "size=(2, 3)", &[2, 3, 2]),
        LayerSample::one(UpSampling2D::new().interpolation("bilinear"), "bilinear", &[3, 3, 2]),
        LayerSample::one(
            UpSampling2D::new()
                .size(3)
                .interpolation("bilinear")
                .data_format(DataFormat::ChannelsFirst),
            "bilinear size=3 channels_first",
            &[2, 2, 3],
        ),
        LayerSample::one(ZeroPadding1D::new().padding((1, 2)), "(1, 2)", &[3, 2]),
        LayerSample::one(
            ZeroPadding2D::new().padding(((1, 0), (2, 1))),
            "((1, 0), (2, 1))",
            &[3, 3, 2],
        ),
        LayerSample::one(
            ZeroPadding2D::new().data_format(DataFormat::ChannelsFirst),
            "default channels_first",
            &[2, 2, 3],
        ),
    ]
}

/// A `Normalization` adapted to a small fixed data set.
fn adapted_normalization() -> Normalization {
    let data = kiln::Tensor::from_f32((0..12).map(|i| (i as f32 * 0.7).sin() * 3.0).collect(), vec![4, 3])
        .expect("a 4 × 3 tensor");
    let mut layer = Normalization::new();
    layer.adapt(&data).expect("adapt");
    layer
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
