//! Losses and metrics on an output that carries a mask skip the masked steps, as Keras's
//! `apply_mask` does: `sum(loss * mask) / (sum(mask) + 1e-7)`. Checked against values
//! computed here by hand.

use kiln::DType;
use kiln::prelude::*;

#[test]
fn masked_steps_do_not_count_in_the_loss_or_the_metrics() {
    kiln::clear_session();
    let tokens = Input::with_dtype([4], DType::I32);
    let out = Embedding::new(4, 1).mask_zero(true).apply(&tokens).unwrap();
    let mut model = Model::new(&[&tokens], &[&out]).unwrap();
    let table = [0.7f32, -0.5, 2.0, 1.5];
    model
        .set_weights(&[Tensor::from_f32(table.to_vec(), vec![4, 1]).unwrap()])
        .unwrap();
    model.compile("sgd", "mse", &["mae"]).unwrap();

    // Padding (0) at the end of the first sequence and in the middle of the second.
    let ids = [1, 2, 0, 0, 3, 0, 1, 2];
    let x = Tensor::from_i32(ids.to_vec(), vec![2, 4]).unwrap();
    let y = Tensor::from_f32(vec![0.0; 8], vec![2, 4, 1]).unwrap();
    let scores = model.evaluate(&x, &y).unwrap();

    let kept: Vec<f32> = ids.iter().filter(|&&i| i != 0).map(|&i| table[i as usize]).collect();
    let mse = kept.iter().map(|v| v * v).sum::<f32>() / (kept.len() as f32 + 1e-7);
    let mae = kept.iter().map(|v| v.abs()).sum::<f32>() / (kept.len() as f32 + 1e-7);
    assert!(
        (scores["loss"] as f32 - mse).abs() < 1e-5,
        "loss {} vs {mse}",
        scores["loss"]
    );
    assert!(
        (scores["mae"] as f32 - mae).abs() < 1e-5,
        "mae {} vs {mae}",
        scores["mae"]
    );
    // Unmasked, the padding rows (table[0] = 0.7) would count.
    let all = ids.iter().map(|&i| table[i as usize].powi(2)).sum::<f32>() / 8.0;
    assert!((all - mse).abs() > 0.1);
}
