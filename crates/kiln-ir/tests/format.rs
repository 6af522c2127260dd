//! The JSON format round-trips exactly, and the text form is stable.

use kiln_ir::*;

fn mlp() -> Graph {
    let mut g = Graph::new();
    let x = g.add_input("input_layer", TensorType::f32(Shape::batched([4])));
    let w = g
        .add_param("dense/kernel", Shape::fixed([4, 3]), Initializer::GlorotUniform, true)
        .unwrap();
    let b = g
        .add_param(
            "dense/bias",
            Shape::fixed([3]),
            Initializer::Constant { value: 0.1 },
            false,
        )
        .unwrap();
    let h = g.push(Op::Matmul, &[x, w], "dense").unwrap();
    let h = g.push(Op::BiasAdd, &[h, b], "dense").unwrap();
    let h = g
        .push(
            Op::Activation {
                kind: Activation::LeakyRelu { negative_slope: 0.3 },
            },
            &[h],
            "dense",
        )
        .unwrap();
    let h = g
        .push(
            Op::Dropout {
                rate: 0.25,
                shared_axes: vec![],
            },
            &[h],
            "dropout",
        )
        .unwrap();
    let y = g
        .push(
            Op::Activation {
                kind: Activation::Softmax { axis: 1 },
            },
            &[h],
            "softmax",
        )
        .unwrap();
    let m = g
        .push(
            Op::Reduce {
                kind: ReduceOp::Mean,
                axes: vec![],
                keepdims: false,
            },
            &[y],
            "mean",
        )
        .unwrap();
    g.set_outputs(vec![y, m]);
    g
}

#[test]
fn json_round_trips_exactly() {
    let g = mlp();
    let text = to_json(&g);
    let back = from_json(&text).unwrap();
    assert_eq!(back, g);
    assert_eq!(to_json(&back), text);
}

#[test]
fn a_newer_format_version_is_refused_with_a_clear_message() {
    let text = to_json(&mlp()).replacen("\"version\": 1", "\"version\": 99", 1);
    let err = from_json(&text).unwrap_err().to_string();
    assert!(err.contains("expected format version 1, received 99"), "{err}");
}

#[test]
fn a_corrupt_graph_is_refused_by_the_verifier() {
    // Point the bias add (node 1) at the softmax result, which is defined later.
    let mut file: serde_json::Value = serde_json::from_str(&to_json(&mlp())).unwrap();
    file["graph"]["nodes"][1]["inputs"][0] = serde_json::json!(7);
    let err = from_json(&file.to_string()).unwrap_err().to_string();
    assert!(
        err.contains("@1 (%4:f32[?,3] = bias_add %7, %2  ; dense): operand %7 is used before it is defined"),
        "{err}"
    );
}

#[test]
fn text_form_is_stable() {
    let expected = "\
graph {
  input %0:f32[?,4] \"input_layer\"
  param %1:f32[4,3] \"dense/kernel\" = glorot_uniform
  param %2:f32[3] \"dense/bias\" = constant frozen
  %3:f32[?,3] = matmul %0, %1  ; dense
  %4:f32[?,3] = bias_add %3, %2  ; dense
  %5:f32[?,3] = leaky_relu[negative_slope=0.3] %4  ; dense
  %6:f32[?,3] = dropout[rate=0.25] %5  ; dropout
  %7:f32[?,3] = softmax[axis=1] %6  ; softmax
  %8:f32[] = reduce_mean[axes=[],keepdims=false] %7  ; mean
  return %7, %8
}";
    assert_eq!(mlp().to_string(), expected);
}
