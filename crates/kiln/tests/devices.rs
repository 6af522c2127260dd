//! Moving a model between engines at run time: training continues with the same numbers.

use kiln::prelude::*;

/// Every compiled engine whose device is available here, other than ndarray.
fn other_devices() -> Vec<Device> {
    let mut out = Vec::new();
    for s in ["flex", "wgpu:0", "tch:cpu"] {
        if let Ok(d) = s.parse::<Device>()
            && kiln::devices().iter().any(|i| i.device == d)
        {
            out.push(d);
        }
    }
    out
}

fn data() -> (Tensor, Tensor) {
    let n = 96;
    let mut rng = kiln::ir::Rng::new(5);
    let x: Vec<f32> = (0..n * 6).map(|_| rng.uniform() as f32 * 2.0 - 1.0).collect();
    let y: Vec<i32> = (0..n)
        .map(|i| ((x[i * 6] + x[i * 6 + 1] > 0.0) as i32) + ((x[i * 6 + 2] > 0.3) as i32))
        .collect();
    (Tensor::from_f32(x, [n, 6]).unwrap(), Tensor::from_i32(y, [n]).unwrap())
}

fn model(device: &Device) -> Model {
    kiln::set_random_seed(11);
    let mut m = Sequential::new();
    m.to_device(device).unwrap();
    m.add(Input::new([6])).unwrap();
    m.add(Dense::new(16).activation("relu")).unwrap();
    m.add(Dropout::new(0.2)).unwrap();
    m.add(Dense::new(3).activation("softmax")).unwrap();
    m.compile(
        Adam::new().learning_rate(0.01),
        "sparse_categorical_crossentropy",
        &["accuracy"],
    )
    .unwrap();
    m
}

fn opts() -> FitOptions {
    FitOptions::new().epochs(2).batch_size(16).verbose(0)
}

#[test]
fn training_moved_between_engines_matches_staying_on_ndarray() {
    let (x, y) = data();
    let ndarray: Device = "ndarray".parse().unwrap();
    let mut staying = model(&ndarray);
    staying.fit(&x, &y, opts()).unwrap();
    let reference = staying.fit(&x, &y, opts()).unwrap();
    let reference_loss = reference.last("loss").unwrap();
    let reference_weights = staying.get_weights().unwrap();

    let others = other_devices();
    for device in &others {
        let mut moving = model(&ndarray);
        moving.fit(&x, &y, opts()).unwrap();
        moving.to_device(device).unwrap();
        assert_eq!(moving.device(), device);
        let history = moving.fit(&x, &y, opts()).unwrap();
        let loss = history.last("loss").unwrap();
        assert!(
            (loss - reference_loss).abs() < 1e-4,
            "{device}: loss {loss} vs {reference_loss} on ndarray"
        );
        for (a, b) in moving.get_weights().unwrap().iter().zip(&reference_weights) {
            let err = a
                .to_f32()
                .iter()
                .zip(b.to_f32())
                .map(|(p, q)| (p - q).abs())
                .fold(0.0, f32::max);
            assert!(err < 1e-4, "{device}: weights differ by {err}");
        }
        println!("{device}: final loss {loss:.6} (ndarray {reference_loss:.6})");
    }
    assert!(!others.is_empty(), "flex at least is compiled by default");
}

#[test]
fn moving_between_epochs_inside_fit_continues_training() {
    struct MoveAfterFirstEpoch(Device);
    impl Callback for MoveAfterFirstEpoch {
        fn on_epoch_end(&mut self, model: &mut Model, epoch: usize, _: &mut kiln::callbacks::Logs) -> kiln::Result<()> {
            if epoch == 0 {
                model.to_device(&self.0)?;
            }
            Ok(())
        }
    }
    let (x, y) = data();
    let ndarray: Device = "ndarray".parse().unwrap();
    let reference = model(&ndarray).fit(&x, &y, opts()).unwrap();
    for device in other_devices() {
        let mut m = model(&ndarray);
        let history = m
            .fit(&x, &y, opts().callback(MoveAfterFirstEpoch(device.clone())))
            .unwrap();
        assert_eq!(m.device(), &device);
        let (a, b) = (history.last("loss").unwrap(), reference.last("loss").unwrap());
        assert!((a - b).abs() < 1e-4, "{device}: {a} vs {b}");
    }
}

#[test]
fn an_unavailable_or_unknown_device_is_a_clear_error() {
    let err = "tch:cuda:7".parse::<Device>().and_then(|d| {
        let mut m = Sequential::new();
        m.to_device(&d)
    });
    let message = err.unwrap_err().to_string();
    assert!(
        message.contains("feature `tch`") || message.contains("tch:cuda:7"),
        "the message names the device or the feature: {message}"
    );
}
