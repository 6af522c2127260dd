//! The quickstart's model on the bundled digits reaches the accuracy the README promises.

use kiln::datasets::digits;
use kiln::prelude::*;

#[test]
fn the_quickstart_model_reads_digits() {
    kiln::set_random_seed(42);
    let ((x_train, y_train), (x_test, y_test)) = digits::load_data(0.2, 42).unwrap();
    let mut model = Sequential::new();
    model.add(Input::new([digits::PIXELS])).unwrap();
    model.add(Dense::new(64).activation("relu")).unwrap();
    model.add(Dropout::new(0.1)).unwrap();
    model.add(Dense::new(10).activation("softmax")).unwrap();
    model
        .compile(
            Adam::new().learning_rate(0.005),
            "sparse_categorical_crossentropy",
            &["accuracy"],
        )
        .unwrap();
    let history = model
        .fit(
            &x_train,
            &y_train,
            FitOptions::new()
                .epochs(25)
                .batch_size(32)
                .validation_split(0.1)
                .verbose(0),
        )
        .unwrap();
    let losses = history.get("loss").unwrap();
    assert!(losses[24] < losses[0] / 5.0, "training loss fell: {losses:?}");
    let scores = model.evaluate(&x_test, &y_test).unwrap();
    assert!(scores["accuracy"] >= 0.95, "test accuracy {}", scores["accuracy"]);
}
