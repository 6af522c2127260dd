//! Weight constraints and regularizers in training, against host-side references: a model
//! with a constraint equals the same model without it followed by the constraint computed
//! here from Keras's formulas; a regularizer's penalty is part of the reported loss.

use kiln::constraints::ConstraintArg;
use kiln::prelude::*;
use kiln::regularizers::Regularizer;

const EPS: f32 = 1e-7;

fn data() -> (Tensor, Tensor) {
    let x: Vec<f32> = (0..24).map(|i| ((i * 7 % 11) as f32 - 5.0) / 3.0).collect();
    let y: Vec<f32> = (0..8).map(|i| ((i * 5 % 7) as f32 - 3.0) / 2.0).collect();
    (
        Tensor::from_f32(x, vec![8, 3]).unwrap(),
        Tensor::from_f32(y, vec![8, 1]).unwrap(),
    )
}

/// A one-layer model with fixed weights after one SGD step at learning rate 0.05.
fn one_step(dense: Dense) -> Vec<f32> {
    kiln::clear_session();
    let input = Input::new([3]);
    let out = dense.apply(&input).unwrap();
    let mut model = Model::new(&[&input], &[&out]).unwrap();
    let kernel = Tensor::from_f32(vec![0.9, -0.4, 0.3, 1.2, -0.8, 0.5], vec![3, 2]).unwrap();
    // A second output column doubles the signal so the column norms differ.
    model.set_weights(&[kernel]).unwrap();
    model.compile(Sgd::new().learning_rate(0.05), "mse", &[]).unwrap();
    let (x, y) = data();
    let y2 = Tensor::from_f32(y.to_f32().iter().flat_map(|v| [*v, 2.0 * v]).collect(), vec![8, 2]).unwrap();
    model.train_on_batch(&x, &y2).unwrap();
    model.get_weights().unwrap()[0].to_f32()
}

/// Column norms of a `[3, 2]` kernel (Keras's default axis 0).
fn column_norms(w: &[f32]) -> [f32; 2] {
    let n = |c: usize| (0..3).map(|r| w[r * 2 + c] * w[r * 2 + c]).sum::<f32>().sqrt();
    [n(0), n(1)]
}

fn scaled(w: &[f32], desired: impl Fn(f32) -> f32) -> Vec<f32> {
    let norms = column_norms(w);
    w.iter()
        .enumerate()
        .map(|(i, v)| {
            let n = norms[i % 2];
            v * desired(n) / (EPS + n)
        })
        .collect()
}

fn assert_close(got: &[f32], want: &[f32]) {
    for (g, w) in got.iter().zip(want) {
        assert!((g - w).abs() < 1e-5, "got {got:?}, want {want:?}");
    }
}

fn plain() -> Dense {
    Dense::new(2).use_bias(false)
}

#[test]
fn constraints_project_the_kernel_after_each_step() {
    let free = one_step(plain());
    assert!(
        column_norms(&free).iter().any(|&n| n > 1.0),
        "the test needs a norm above 1: {free:?}"
    );
    assert!(free.iter().any(|&v| v < 0.0));

    let non_neg = one_step(plain().kernel_constraint(ConstraintArg::NonNeg));
    let want: Vec<f32> = free.iter().map(|&v| if v >= 0.0 { v } else { 0.0 }).collect();
    assert_close(&non_neg, &want);

    let max_norm = one_step(plain().kernel_constraint(ConstraintArg::MaxNorm {
        max_value: 1.0,
        axis: vec![0],
    }));
    assert_close(&max_norm, &scaled(&free, |n| n.clamp(0.0, 1.0)));

    let unit = one_step(plain().kernel_constraint(ConstraintArg::UnitNorm { axis: vec![0] }));
    assert_close(&unit, &scaled(&free, |_| 1.0));

    let min_max = one_step(plain().kernel_constraint(ConstraintArg::MinMaxNorm {
        min_value: 0.5,
        max_value: 0.8,
        rate: 0.7,
        axis: vec![0],
    }));
    assert_close(&min_max, &scaled(&free, |n| 0.7 * n.clamp(0.5, 0.8) + 0.3 * n));
}

#[test]
fn regularization_penalties_are_part_of_the_loss() {
    kiln::clear_session();
    let input = Input::new([3]);
    let out = plain()
        .kernel_regularizer(Regularizer::L1L2 { l1: 0.01, l2: 0.02 })
        .apply(&input)
        .unwrap();
    let mut model = Model::new(&[&input], &[&out]).unwrap();
    let w = vec![0.9, -0.4, 0.3, 1.2, -0.8, 0.5];
    model
        .set_weights(&[Tensor::from_f32(w.clone(), vec![3, 2]).unwrap()])
        .unwrap();
    model.compile("sgd", "mse", &[]).unwrap();
    let (x, _) = data();
    let y = Tensor::from_f32(vec![0.0; 16], vec![8, 2]).unwrap();
    let loss = model.evaluate(&x, &y).unwrap()["loss"];
    // mse of x @ w against zeros, computed here, plus the penalty.
    let xs = x.to_f32();
    let mut mse = 0.0;
    for r in 0..8 {
        for c in 0..2 {
            let p: f32 = (0..3).map(|k| xs[r * 3 + k] * w[k * 2 + c]).sum();
            mse += p * p;
        }
    }
    mse /= 16.0;
    let penalty: f32 = 0.01 * w.iter().map(|v| v.abs()).sum::<f32>() + 0.02 * w.iter().map(|v| v * v).sum::<f32>();
    assert!(
        ((loss as f32) - (mse + penalty)).abs() < 1e-5,
        "loss {loss}, want {}",
        mse + penalty
    );
}

#[test]
fn a_shared_layer_pays_its_weight_penalty_once() {
    kiln::clear_session();
    let a = Input::new([3]);
    let b = Input::new([3]);
    let shared = plain().kernel_regularizer(Regularizer::L1 { l1: 0.1 });
    let (ya, yb) = (shared.apply(&a).unwrap(), shared.apply(&b).unwrap());
    let model = Model::new(&[&a, &b], &[&ya, &yb]).unwrap();
    assert_eq!(
        model.graph().unwrap().losses().len(),
        1,
        "one penalty term for one kernel"
    );
}
