//! Mixed precision: `mixed_float16` and `mixed_bfloat16` against float32 on every engine
//! that computes in 16 bits, a clear error on the ones that do not, dynamic loss scaling,
//! per-layer policies and the summary line.

use kiln::prelude::*;

/// The compiled engines' devices, with whether they are expected to run 16-bit types.
fn devices() -> Vec<Device> {
    let mut out = vec![];
    for s in ["flex", "ndarray", "tch:cpu", "wgpu"] {
        if let Ok(d) = s.parse::<Device>()
            && d.engine().is_ok()
        {
            out.push(d);
        }
    }
    out
}

/// A small CNN and its data, weights from a fixed seed.
fn cnn() -> Model {
    kiln::set_random_seed(21);
    let mut model = Sequential::new();
    model.add(Input::new([8, 8, 1])).unwrap();
    model.add(Conv2D::new(4, 3).activation("relu")).unwrap();
    model.add(Flatten::new()).unwrap();
    model.add(Dense::new(16).activation("relu")).unwrap();
    model.add(Dense::new(3).activation("softmax")).unwrap();
    model
}

fn data() -> (Tensor, Tensor) {
    let n = 16;
    let x: Vec<f32> = (0..n * 64).map(|i| ((i * 13 % 29) as f32 / 29.0) - 0.3).collect();
    let y: Vec<i32> = (0..n as i32).map(|i| i % 3).collect();
    (
        Tensor::from_f32(x, [n, 8, 8, 1]).unwrap(),
        Tensor::from_i32(y, [n]).unwrap(),
    )
}

/// Losses of 4 steps of Adam and the predictions after them, under `policy` on `device`.
fn train(device: &Device, policy: &str) -> kiln::Result<(Vec<f64>, Vec<f32>)> {
    let mut model = cnn();
    model.to_device(device)?;
    model.set_dtype_policy(policy)?;
    model.compile("adam", "sparse_categorical_crossentropy", &[])?;
    let (x, y) = data();
    let history = model.fit(
        &x,
        &y,
        FitOptions::new().epochs(4).batch_size(16).shuffle(false).verbose(0),
    )?;
    let predictions = model.predict(&x)?.to_f32();
    Ok((history.get("loss").unwrap().to_vec(), predictions))
}

/// Largest |a - b|.
fn worst(a: &[f32], b: &[f32]) -> f32 {
    a.iter().zip(b).map(|(x, y)| (x - y).abs()).fold(0.0, f32::max)
}

#[test]
fn mixed_policies_match_float32_where_the_engine_can_and_are_refused_where_it_cannot() {
    // Tolerances: one rounding to bfloat16 keeps 8 significant bits (relative error
    // 2^-9 ≈ 0.002), float16 keeps 11 (2^-12 ≈ 0.00024). Products of O(1) values summed
    // over 9 to 36 terms, then four Adam steps, stay within a few roundings of each.
    for device in devices() {
        let (loss32, pred32) = train(&device, "float32").unwrap();
        for (policy, tolerance) in [("mixed_bfloat16", 2e-2f32), ("mixed_float16", 3e-3)] {
            let dtype = if policy == "mixed_bfloat16" {
                "bfloat16"
            } else {
                "float16"
            };
            let engine = device.engine().unwrap();
            let supported = engine.supports(if policy == "mixed_bfloat16" {
                kiln_burn::ComputeDType::BF16
            } else {
                kiln_burn::ComputeDType::F16
            });
            let result = train(&device, policy);
            eprintln!(
                "{device} {policy}: supported {supported}, {:?}",
                result.as_ref().map(|(l, _)| l)
            );
            match result {
                Ok((loss, pred)) => {
                    assert!(supported, "{device} ran {policy} but says it cannot");
                    let losses: Vec<f32> = loss.iter().zip(&loss32).map(|(a, b)| (a - b) as f32).collect();
                    assert!(
                        worst(&losses, &vec![0.0; losses.len()]) <= tolerance,
                        "{device} {policy}: losses {loss:?} vs {loss32:?}"
                    );
                    assert!(
                        worst(&pred, &pred32) <= tolerance,
                        "{device} {policy}: predictions differ by {}",
                        worst(&pred, &pred32)
                    );
                    assert!(worst(&pred, &pred32) > 0.0, "{device} {policy}: computed in float32");
                }
                Err(e) => {
                    assert!(!supported, "{device} {policy}: {e}");
                    let e = e.to_string();
                    assert!(
                        e.contains(&format!("dtype policy '{policy}': the {} engine", device.backend()))
                            && e.contains(&format!("cannot compute in {dtype}")),
                        "{e}"
                    );
                }
            }
        }
    }
}

#[test]
fn ndarray_refuses_a_16_bit_policy_at_compile() {
    let mut model = cnn();
    model.to_device(&"ndarray".parse().unwrap()).unwrap();
    model.set_dtype_policy("mixed_float16").unwrap();
    let err = model.compile("adam", "mse", &[]).unwrap_err().to_string();
    assert!(
        err.contains("dtype policy 'mixed_float16': the ndarray engine (device 'ndarray') cannot compute in float16"),
        "{err}"
    );
    let err = model.set_dtype_policy("float16").unwrap_err().to_string();
    assert!(
        err.starts_with("unknown dtype policy 'float16'. Expected one of: float32, mixed_float16"),
        "{err}"
    );
}

#[test]
fn an_overflowing_float16_step_is_skipped_and_halves_the_loss_scale() {
    let flex: Device = "flex".parse().unwrap();
    if !flex.engine().unwrap().supports(kiln_burn::ComputeDType::F16) {
        return;
    }
    let mut model = Sequential::new();
    model
        .add(Dense::new(2).kernel_initializer("ones").input_shape([1000]))
        .unwrap();
    model.to_device(&flex).unwrap();
    model.set_dtype_policy("mixed_float16").unwrap();
    model.compile("sgd", "mse", &[]).unwrap();
    assert_eq!(model.loss_scale(), Some(32768.0));
    let y = Tensor::from_f32(vec![0.0; 4], [2, 2]).unwrap();
    // 1000 inputs of 100 against kernels of ones: 10⁵, beyond float16's 65504.
    let big = Tensor::from_f32(vec![100.0; 2000], [2, 1000]).unwrap();
    let before = model.get_weights().unwrap();
    model.train_on_batch(&big, &y).unwrap();
    assert_eq!(model.loss_scale(), Some(16384.0));
    assert_eq!(model.get_weights().unwrap(), before, "the step was not skipped");
    // A batch that fits: the step is taken, the scale stays.
    let small = Tensor::from_f32(vec![0.001; 2000], [2, 1000]).unwrap();
    model.train_on_batch(&small, &y).unwrap();
    assert_eq!(model.loss_scale(), Some(16384.0));
    assert_ne!(model.get_weights().unwrap(), before);
}

#[test]
fn loss_scaling_keeps_gradients_below_float16s_range() {
    // One weight w (from 0) times an input of 1, trained towards 5e-9 with mean squared
    // error and SGD (learning rate 0.01): the gradient is 2 (0 - 5e-9) = -1e-8, so one step
    // gives w = 1e-10. In float16, -1e-8 is below the smallest subnormal (6e-8) and the
    // matrix product's backward pass would see 0; scaled by 2^15 it is 3.3e-4 and exact
    // enough.
    let flex: Device = "flex".parse().unwrap();
    if !flex.engine().unwrap().supports(kiln_burn::ComputeDType::F16) {
        return;
    }
    let step = |policy: &str| {
        let mut model = Sequential::new();
        model
            .add(
                Dense::new(1)
                    .use_bias(false)
                    .kernel_initializer("zeros")
                    .input_shape([1]),
            )
            .unwrap();
        model.to_device(&flex).unwrap();
        model.set_dtype_policy(policy).unwrap();
        model.compile("sgd", "mse", &[]).unwrap();
        let x = Tensor::from_f32(vec![1.0], [1, 1]).unwrap();
        let y = Tensor::from_f32(vec![5e-9], [1, 1]).unwrap();
        model.train_on_batch(&x, &y).unwrap();
        model.get_weights().unwrap()[0].to_f32()[0]
    };
    let float32 = step("float32");
    assert!((float32 - 1e-10).abs() < 1e-14, "{float32}");
    let float16 = step("mixed_float16");
    assert!((float16 - 1e-10).abs() < 1e-12, "{float16}");
}

#[test]
fn layer_policies_and_the_summary_line() {
    let flex: Device = "flex".parse().unwrap();
    let (_, pred32) = train(&flex, "float32").unwrap();
    let mut model = cnn();
    model.to_device(&flex).unwrap();
    model.set_dtype_policy("mixed_bfloat16").unwrap();
    // Every layer back to float32: the numbers are float32's exactly.
    for layer in model.layer_names() {
        model.set_layer_dtype_policy(&layer, "float32").unwrap();
    }
    model.compile("adam", "sparse_categorical_crossentropy", &[]).unwrap();
    let (x, y) = data();
    model
        .fit(
            &x,
            &y,
            FitOptions::new().epochs(4).batch_size(16).shuffle(false).verbose(0),
        )
        .unwrap();
    assert_eq!(model.predict(&x).unwrap().to_f32(), pred32);
    let summary = model.summary_string();
    assert!(summary.contains(" Dtype policy: mixed_bfloat16 (matrix products and convolutions in bfloat16, weights in float32); layers with their own: conv2d"), "{summary}");
    assert!(cnn().summary_string().lines().all(|l| !l.contains("Dtype policy")));
    let err = model.set_layer_dtype_policy("nope", "float32").unwrap_err().to_string();
    assert!(err.contains("no layer named 'nope'"), "{err}");
}
