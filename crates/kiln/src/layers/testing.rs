//! `check_layer`: the shared test every layer runs.

use crate::layer::Layer;
use crate::model::{Apply, Input, Model, SymbolicTensor};
use kiln_ir::{Shape, TensorType, verify};
use serde::de::DeserializeOwned;

/// Asserts that a layer's `compute_output_shape`, the IR's shape inference and a run on
/// the ndarray engine agree on `out_shape`, that it creates `n_params` weights, and that
/// its config round-trips.
pub(crate) fn check_layer<L>(layer: &L, in_shapes: &[Shape], out_shape: Shape, n_params: usize)
where
    L: Layer + Clone + PartialEq + DeserializeOwned + std::fmt::Debug,
{
    let types: Vec<TensorType> = in_shapes.iter().map(|s| TensorType::f32(s.clone())).collect();
    let computed = layer.compute_output_shape(&types).expect("compute_output_shape");
    assert_eq!(computed[0].shape, out_shape, "compute_output_shape");

    let inputs: Vec<SymbolicTensor> = in_shapes
        .iter()
        .map(|s| Input::new(s.dims().iter().skip(1).map(|d| d.expect("fixed"))))
        .collect();
    let refs: Vec<&SymbolicTensor> = inputs.iter().collect();
    let out = if layer.takes_list() {
        layer.apply_list(&refs)
    } else {
        layer.apply(refs[0])
    }
    .expect("apply");
    let model = Model::new(&refs, &[&out]).expect("model");
    let graph = model.graph().expect("graph");
    verify(graph).expect("verify");
    assert_eq!(
        graph.value_type(graph.outputs()[0]).unwrap().shape,
        out_shape,
        "IR shape inference"
    );
    assert_eq!(model.count_params(), n_params, "parameter count");

    let batch = 3;
    let xs: Vec<crate::Tensor> = in_shapes
        .iter()
        .map(|s| {
            let mut dims = vec![batch];
            dims.extend(s.dims().iter().skip(1).map(|d| d.unwrap()));
            let n: usize = dims.iter().product();
            crate::Tensor::from_f32((0..n).map(|i| (i as f32 * 0.37).sin()).collect(), dims).unwrap()
        })
        .collect();
    let y = model.predict(xs).expect("predict");
    assert!(
        out_shape.accepts(y.shape()),
        "engine output shape {:?} vs {out_shape}",
        y.shape()
    );
    assert!(!y.has_non_finite());

    let config = layer.config();
    let back: L = serde_json::from_value(config.clone()).expect("config round trip");
    assert_eq!(&back, layer);
    assert_eq!(back.config(), config);
}
