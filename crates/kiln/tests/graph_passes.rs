//! The graph passes on whole models — the `kiln bench` MLP, CNN and LSTM — change no
//! number: each model's inference and training graphs run with and without the passes
//! give the same outputs and gradients, the CNN loses a cancelling transpose pair and its
//! convolutions take their biases.
//! `cargo test -p kiln --test integration graph_passes -- --nocapture` prints the node counts.

use kiln::ir::{Graph, HostTensor, Op, Rng};
use kiln::prelude::*;
use kiln_burn::{Plan, RunMode, Session};

fn mlp() -> Model {
    let x = Input::new([784]);
    let h = Dense::new(128).activation("relu").apply(&x).unwrap();
    let h = Dense::new(64).activation("relu").apply(&h).unwrap();
    let y = Dense::new(10).activation("softmax").apply(&h).unwrap();
    Model::new(&[&x], &[&y]).unwrap()
}

fn cnn() -> Model {
    let x = Input::new([28, 28, 1]);
    let h = Conv2D::new(32, 3).activation("relu").apply(&x).unwrap();
    let h = MaxPooling2D::new().apply(&h).unwrap();
    let h = Conv2D::new(64, 3).activation("relu").apply(&h).unwrap();
    let h = MaxPooling2D::new().apply(&h).unwrap();
    let h = Flatten::new().apply(&h).unwrap();
    let y = Dense::new(10).activation("softmax").apply(&h).unwrap();
    Model::new(&[&x], &[&y]).unwrap()
}

fn lstm() -> Model {
    let x = Input::new([28, 28]);
    let h = LSTM::new(128).apply(&x).unwrap();
    let y = Dense::new(10).activation("softmax").apply(&h).unwrap();
    Model::new(&[&x], &[&y]).unwrap()
}

/// Live node count of the plan's graph, before and after the passes, and the transposes left.
fn counts(graph: &Graph) -> (usize, usize, usize) {
    let mut live = graph.clone();
    kiln::ir::passes::remove_dead_nodes(&mut live);
    let mut optimized = graph.clone();
    kiln::ir::passes::optimize(&mut optimized).unwrap();
    let transposes = optimized
        .order()
        .iter()
        .filter(|&&id| matches!(optimized.node(id).op, Op::Transpose { .. }))
        .count();
    if std::env::var_os("KILN_PRINT_GRAPHS").is_some() {
        println!("{optimized}");
    }
    (live.order().len(), optimized.order().len(), transposes)
}

fn random(rng: &mut Rng, shape: &[usize]) -> HostTensor {
    let n = shape.iter().product();
    HostTensor::from_f32((0..n).map(|_| rng.uniform() as f32).collect(), shape).unwrap()
}

fn assert_close(a: &HostTensor, b: &HostTensor, what: &str) {
    for (i, (x, y)) in a.to_f32().iter().zip(b.to_f32()).enumerate() {
        assert!((x - y).abs() <= 1e-5 * (1.0 + y.abs()), "{what}[{i}]: {x} against {y}");
    }
}

/// Outputs and gradients of the training graph (loss first) with and without the passes,
/// on ndarray and flex.
fn check(name: &str, mut model: Model, sample: &[usize], transposes_left: usize) {
    model
        .compile("adam", "sparse_categorical_crossentropy", &["accuracy"])
        .unwrap();
    let inference = counts(model.graph().unwrap());
    let training = counts(model.training_graph().unwrap());
    println!(
        "{name}: inference nodes {} → {}, training nodes {} → {}",
        inference.0, inference.1, training.0, training.1
    );
    assert_eq!(inference.2, transposes_left, "{name}: transposes left");
    let graph = model.training_graph().unwrap().clone();
    let mut rng = Rng::new(5);
    let mut shape = vec![4];
    shape.extend(sample);
    let x = random(&mut rng, &shape);
    let labels = |rank: usize| {
        let shape = if rank == 1 { vec![4] } else { vec![4, 1] };
        HostTensor::from_f32(vec![1.0, 7.0, 3.0, 0.0], shape).unwrap()
    };
    let inputs: Vec<HostTensor> = graph
        .inputs()
        .iter()
        .map(|i| match i.name.ends_with("_target") {
            true => labels(graph.value_type(i.value).unwrap().shape.rank()),
            false => x.clone(),
        })
        .collect();
    let weights = model.get_weights().unwrap();
    let mut values: Vec<HostTensor> = graph.params().iter().map(|p| HostTensor::zeros(p.dims())).collect();
    values[..weights.len()].clone_from_slice(&weights);
    for device in [Device::Ndarray, Device::Flex] {
        let engine = device.engine().unwrap();
        let session = Session::new(&engine, &graph, &values).unwrap();
        let mode = RunMode::default();
        let written = Plan::compile_unoptimized(&graph, false).unwrap();
        let optimized = Plan::compile(&graph).unwrap();
        let (a, ax, ap) = session.gradients(&written, &inputs, mode).unwrap();
        let (b, bx, bp) = session.gradients(&optimized, &inputs, mode).unwrap();
        for (i, (b, a)) in b.iter().zip(&a).enumerate() {
            assert_close(b, a, &format!("{name} {device:?} output {i}"));
        }
        for (i, (b, a)) in bx.iter().chain(&bp).zip(ax.iter().chain(&ap)).enumerate() {
            match (b, a) {
                (Some(b), Some(a)) => assert_close(b, a, &format!("{name} {device:?} gradient {i}")),
                (b, a) => assert_eq!(b.is_some(), a.is_some(), "{name} gradient {i}"),
            }
        }
    }
}

#[test]
fn mlp_numbers_are_unchanged() {
    check("mlp", mlp(), &[784], 0);
}

#[test]
fn cnn_loses_a_transpose_pair_and_keeps_its_numbers() {
    // Of 10: the first pooling's "back to channels last" and the second convolution's
    // "to channels first" cancel. (With transpose sinking, which `optimize` leaves off, 4
    // would be left: the two kernels', the input's and Flatten's.)
    check("cnn", cnn(), &[28, 28, 1], 8);
}

#[test]
fn both_cnn_convolutions_take_their_bias() {
    let mut graph = cnn().graph().unwrap().clone();
    let report = kiln::ir::passes::optimize(&mut graph).unwrap();
    let with_bias = graph
        .order()
        .iter()
        .map(|&id| graph.node(id))
        .filter(|n| matches!(n.op, Op::Conv { .. }) && n.inputs.len() == 3)
        .count();
    assert_eq!((report.fused, with_bias), (2, 2));
    // The Dense layer's bias add stays: no engine fuses one into a matmul.
    let bias_adds = graph
        .order()
        .iter()
        .filter(|&&id| matches!(graph.node(id).op, Op::BiasAdd))
        .count();
    assert_eq!(bias_adds, 1);
}

#[test]
fn lstm_numbers_are_unchanged() {
    check("lstm", lstm(), &[28, 28], counts(lstm().graph().unwrap()).2);
}
