//! `kiln::datasets::{fashion_mnist, mnist}`: the real Fashion-MNIST as Debian's package
//! `dataset-fashion-mnist` installs it (`./scripts/setup` installs it; `load_data` also
//! honours `$KILN_DATA`), checked against facts independent of Kiln's IDX reader, and the
//! message given when the files are missing.

use crate::common;
use common::TempDir;

use kiln::KilnError;
use kiln::datasets::{fashion_mnist, mnist};

const FILES: [&str; 4] = [
    "train-images-idx3-ubyte",
    "train-labels-idx1-ubyte",
    "t10k-images-idx3-ubyte",
    "t10k-labels-idx1-ubyte",
];

fn histogram(labels: &[i32]) -> [usize; 10] {
    let mut counts = [0; 10];
    for &l in labels {
        counts[l as usize] += 1;
    }
    counts
}

#[test]
fn fashion_mnist_loads_as_keras_gives_it() {
    let ((x_train, y_train), (x_test, y_test)) = fashion_mnist::load_data()
        .unwrap_or_else(|e| panic!("Fashion-MNIST is needed by this test (./scripts/setup installs it):\n{e}"));
    assert_eq!(x_train.shape(), &[60000, 28, 28]);
    assert_eq!(y_train.shape(), &[60000]);
    assert_eq!(x_test.shape(), &[10000, 28, 28]);
    assert_eq!(y_test.shape(), &[10000]);

    // Labels: the first ten as keras.datasets.fashion_mnist gives them, and the published
    // balance of 6,000 training and 1,000 test images per class.
    let train = y_train.as_i32().expect("i32 labels");
    let test = y_test.as_i32().expect("i32 labels");
    assert_eq!(&train[..10], &[9, 0, 0, 3, 0, 2, 7, 2, 5, 5]);
    assert_eq!(&test[..10], &[9, 2, 1, 1, 6, 1, 4, 6, 5, 7]);
    assert_eq!(histogram(train), [6000; 10]);
    assert_eq!(histogram(test), [1000; 10]);

    // Pixels: whole numbers 0..=255, both ends reached, as Keras's uint8 values.
    for x in [&x_train, &x_test] {
        let pixels = x.as_f32().expect("f32 pixels");
        assert!(pixels.iter().all(|&p| (0.0..=255.0).contains(&p) && p.fract() == 0.0));
        assert_eq!(pixels.iter().copied().fold(f32::INFINITY, f32::min), 0.0);
        assert_eq!(pixels.iter().copied().fold(f32::NEG_INFINITY, f32::max), 255.0);
    }
    // The first image of each split, summed (by Python's gzip module on the same files).
    let sum = |x: &kiln::Tensor| x.as_f32().unwrap()[..784].iter().map(|&p| p as u64).sum::<u64>();
    assert_eq!(sum(&x_train), 76247);
    assert_eq!(sum(&x_test), 33456);
}

#[test]
fn fashion_mnist_loads_from_an_explicit_directory() {
    let dir = "/usr/share/datasets/fashion-mnist";
    if !std::path::Path::new(dir).join("t10k-labels-idx1-ubyte.gz").is_file() {
        // Covered by the test above, wherever load_data found the files.
        return;
    }
    let ((x_train, _), (_, y_test)) = fashion_mnist::load_data_from(dir).unwrap();
    assert_eq!(x_train.shape(), &[60000, 28, 28]);
    assert_eq!(&y_test.as_i32().unwrap()[..3], &[9, 2, 1]);
}

#[test]
fn missing_files_name_the_dataset_every_path_and_how_to_get_them() {
    let dir = TempDir::new("empty");
    let err = fashion_mnist::load_data_from(&dir.0).unwrap_err();
    assert!(
        matches!(&err, KilnError::Dataset { name, .. } if name == "fashion_mnist"),
        "{err:?}"
    );
    let text = err.to_string();
    assert!(text.starts_with("dataset 'fashion_mnist': "), "{text}");
    for file in FILES {
        let tried = format!("{}[.gz]", dir.0.join(file).display());
        assert!(text.contains(&tried), "{tried} not in:\n{text}");
    }
    assert!(text.contains("apt install dataset-fashion-mnist"), "{text}");
    assert!(
        text.contains("https://github.com/zalandoresearch/fashion-mnist"),
        "{text}"
    );
    assert!(text.contains("KILN_DATA"), "{text}");

    let err = mnist::load_data_from(&dir.0).unwrap_err();
    let text = err.to_string();
    assert!(text.starts_with("dataset 'mnist': "), "{text}");
    for file in FILES {
        assert!(text.contains(&format!("{}[.gz]", dir.0.join(file).display())), "{text}");
        assert!(text.contains(&format!("{file}.gz")), "{text}");
    }
    assert!(!text.contains("apt install"), "MNIST has no Debian package: {text}");
    assert!(text.contains("KILN_DATA"), "{text}");

    // A directory that does not exist is no different.
    let err = mnist::load_data_from(dir.0.join("nope")).unwrap_err();
    assert!(matches!(err, KilnError::Dataset { .. }));
}

#[test]
fn a_corrupt_file_names_the_file() {
    let dir = TempDir::new("corrupt");
    for file in FILES {
        std::fs::write(dir.0.join(file), b"not an IDX file").unwrap();
    }
    let text = mnist::load_data_from(&dir.0).unwrap_err().to_string();
    let images = dir.0.join("train-images-idx3-ubyte").display().to_string();
    assert!(text.starts_with(&images), "{text}");
    assert!(text.contains("bad magic number"), "{text}");
}
