//! The 8×8 handwritten digits: 1,797 images of the digits 0–9.
//!
//! This is the UCI "Optical Recognition of Handwritten Digits" test set as scikit-learn
//! ships it (`sklearn.datasets.load_digits`), bundled in the repository at
//! `examples/data/digits.csv.gz` (BSD-3-Clause, scikit-learn; data CC BY 4.0, UCI — see
//! `examples/data/README.md`). Each image is 64 pixels with values 0–16.

use crate::error::{KilnError, Result};
use kiln_ir::{HostTensor, Rng};
use std::io::Read;

const DIGITS_CSV_GZ: &[u8] = include_bytes!("../../../../examples/data/digits.csv.gz");

/// Number of images.
pub const SAMPLES: usize = 1797;
/// Pixels per image.
pub const PIXELS: usize = 64;

/// Training and test arrays: `((x_train, y_train), (x_test, y_test))`.
pub type Split = ((HostTensor, HostTensor), (HostTensor, HostTensor));

fn corrupt(message: String) -> KilnError {
    KilnError::Io {
        path: "examples/data/digits.csv.gz (bundled)".into(),
        message,
    }
}

/// All images, pixels scaled to `[0, 1]` (`x`: f32 `[1797, 64]`), and their labels
/// (`y`: i32 `[1797]`), in file order.
pub fn load() -> Result<(HostTensor, HostTensor)> {
    let mut text = String::new();
    flate2::read::GzDecoder::new(DIGITS_CSV_GZ)
        .read_to_string(&mut text)
        .map_err(|e| corrupt(e.to_string()))?;
    let mut x = Vec::with_capacity(SAMPLES * PIXELS);
    let mut y = Vec::with_capacity(SAMPLES);
    for (row, line) in text.lines().enumerate() {
        let fields: Vec<&str> = line.split(',').collect();
        if fields.len() != PIXELS + 1 {
            return Err(corrupt(format!(
                "row {row} has {} fields, expected {}",
                fields.len(),
                PIXELS + 1
            )));
        }
        for f in &fields[..PIXELS] {
            let v: f32 = f
                .parse()
                .map_err(|_| corrupt(format!("row {row}: '{f}' is not a pixel value")))?;
            x.push(v / 16.0);
        }
        y.push(
            fields[PIXELS]
                .parse()
                .map_err(|_| corrupt(format!("row {row}: bad label")))?,
        );
    }
    let n = y.len();
    let x = HostTensor::from_f32(x, [n, PIXELS]).map_err(|e| corrupt(e.to_string()))?;
    let y = HostTensor::from_i32(y, [n]).map_err(|e| corrupt(e.to_string()))?;
    Ok((x, y))
}

/// The images shuffled with `seed` and split into training and test sets, with
/// `test_fraction` of them for testing, as `sklearn.model_selection.train_test_split`.
///
/// ```
/// let ((x_train, y_train), (x_test, _)) = kiln::datasets::digits::load_data(0.2, 42)?;
/// assert_eq!(x_train.shape(), &[1437, 64]);
/// assert_eq!(y_train.shape(), &[1437]);
/// assert_eq!(x_test.shape(), &[360, 64]);
/// # Ok::<(), kiln::KilnError>(())
/// ```
pub fn load_data(test_fraction: f64, seed: u64) -> Result<Split> {
    if !(0.0..1.0).contains(&test_fraction) {
        return Err(KilnError::Data(format!(
            "test_fraction must be in [0, 1). Received: test_fraction={test_fraction}"
        )));
    }
    let (x, y) = load()?;
    let n = y.rows_len();
    let mut order: Vec<usize> = (0..n).collect();
    Rng::new(seed).shuffle(&mut order);
    let n_test = (n as f64 * test_fraction).ceil() as usize;
    let (test, train) = order.split_at(n_test);
    Ok(((x.rows(train), y.rows(train)), (x.rows(test), y.rows(test))))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_bundled_file_has_every_image() {
        let (x, y) = load().unwrap();
        assert_eq!(x.shape(), &[SAMPLES, PIXELS]);
        let labels = y.as_i32().unwrap();
        let mut counts = [0; 10];
        for &l in labels {
            counts[l as usize] += 1;
        }
        assert_eq!(counts, [178, 182, 177, 183, 181, 182, 181, 179, 174, 180]);
        assert!(x.as_f32().unwrap().iter().all(|p| (0.0..=1.0).contains(p)));
        // The first image is a 0 whose first row is 0,0,5,13,9,1,0,0.
        assert_eq!(labels[0], 0);
        assert_eq!(
            &x.as_f32().unwrap()[..8],
            &[0.0, 0.0, 5.0 / 16.0, 13.0 / 16.0, 9.0 / 16.0, 1.0 / 16.0, 0.0, 0.0]
        );
    }
}
