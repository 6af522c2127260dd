"""Keras's half of the Kiln-against-Keras benchmark (see docs/performance.md).

Trains one of three Fashion-MNIST models with Keras 3 and prints how long it took, how much
memory the process used and how well it learned -- the same models, data, options and
figures as Kiln's `examples/fashion_mnist_bench.rs`:

    mlp   Dense(128, relu) -> Dense(64, relu) -> Dense(10, softmax) on the 784 pixels
    cnn   Conv2D(32, 3, relu) -> MaxPooling2D -> Conv2D(64, 3, relu) -> MaxPooling2D
          -> Flatten -> Dense(10, softmax) on 28x28x1
    lstm  LSTM(128) over the 28 rows of 28 pixels -> Dense(10, softmax)

Adam with Keras's defaults, sparse_categorical_crossentropy, accuracy, batch size 128,
shuffled. The steady epoch time is the mean of epochs 2 and later (epoch 1 includes JAX's
compilation); predict is timed on the 10,000 test images after one warm-up predict; peak
memory is VmHWM from /proc/self/status at the end.

The IDX files are read with numpy from $KILN_DATA/fashion-mnist, $KILN_DATA or
/usr/share/datasets/fashion-mnist (Debian's dataset-fashion-mnist), plain or gzipped:
no network access, unlike keras.datasets.

    KERAS_BACKEND=jax JAX_PLATFORMS=cpu python benches/keras/fashion_mnist.py --model mlp --json
"""

import argparse
import gzip
import json
import os
import sys
import time

os.environ.setdefault("KERAS_BACKEND", "jax")
os.environ.setdefault("JAX_PLATFORMS", "cpu")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import numpy as np  # noqa: E402

BATCH_SIZE = 128
FILES = {
    "x_train": "train-images-idx3-ubyte",
    "y_train": "train-labels-idx1-ubyte",
    "x_test": "t10k-images-idx3-ubyte",
    "y_test": "t10k-labels-idx1-ubyte",
}


def data_dirs():
    """Where the IDX files are looked for, in order (as kiln::datasets::fashion_mnist)."""
    dirs = []
    if os.environ.get("KILN_DATA"):
        dirs += [os.path.join(os.environ["KILN_DATA"], "fashion-mnist"), os.environ["KILN_DATA"]]
    dirs.append("/usr/share/datasets/fashion-mnist")
    return dirs


def find(directory, name):
    """The path of `name` or `name.gz` in `directory`, or None."""
    for candidate in (name, name + ".gz"):
        path = os.path.join(directory, candidate)
        if os.path.isfile(path):
            return path
    return None


def read_idx(path):
    """One IDX file as a uint8 numpy array of the shape its header gives."""
    opener = gzip.open if path.endswith(".gz") else open
    with opener(path, "rb") as f:
        raw = f.read()
    if raw[:2] != b"\x00\x00" or raw[2] != 0x08:
        raise ValueError(f"{path}: not an IDX file of unsigned bytes")
    ndim = raw[3]
    dims = [int.from_bytes(raw[4 + 4 * i : 8 + 4 * i], "big") for i in range(ndim)]
    data = np.frombuffer(raw, dtype=np.uint8, offset=4 + 4 * ndim)
    return data.reshape(dims)


def load_data():
    """((x_train, y_train), (x_test, y_test)) as keras.datasets.fashion_mnist gives them."""
    for directory in data_dirs():
        paths = {k: find(directory, v) for k, v in FILES.items()}
        if all(paths.values()):
            d = {k: read_idx(p) for k, p in paths.items()}
            return (d["x_train"], d["y_train"]), (d["x_test"], d["y_test"])
    tried = ", ".join(data_dirs())
    sys.exit(f"fashion_mnist.py: the four Fashion-MNIST IDX files are not in any of: {tried} "
             "(sudo apt-get install dataset-fashion-mnist, or set KILN_DATA)")


def prepare(images, model):
    """Pixels scaled to [0, 1], shaped as the model's input."""
    x = images.astype("float32") / 255.0
    n = x.shape[0]
    return {"mlp": x.reshape(n, 784), "cnn": x.reshape(n, 28, 28, 1), "lstm": x}[model]


def build(model, keras):
    """The network, as examples/fashion_mnist_bench.rs builds it in Kiln."""
    layers = keras.layers
    if model == "mlp":
        body = [keras.Input((784,)), layers.Dense(128, activation="relu"), layers.Dense(64, activation="relu")]
    elif model == "cnn":
        body = [
            keras.Input((28, 28, 1)),
            layers.Conv2D(32, 3, activation="relu"),
            layers.MaxPooling2D(),
            layers.Conv2D(64, 3, activation="relu"),
            layers.MaxPooling2D(),
            layers.Flatten(),
        ]
    else:
        body = [keras.Input((28, 28)), layers.LSTM(128)]
    return keras.Sequential(body + [layers.Dense(10, activation="softmax")])


def peak_rss_mib():
    """The process's peak resident set (VmHWM) in MiB, or None without /proc."""
    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024.0
    except OSError:
        pass
    return None


def steady(epochs):
    """The mean of the epochs after the first (the first alone when there is only one)."""
    tail = epochs[1:] if len(epochs) > 1 else epochs
    return sum(tail) / len(tail)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", required=True, choices=["mlp", "cnn", "lstm"])
    parser.add_argument("--device", default="cpu", help="accepted for symmetry with Kiln; JAX runs on the CPU")
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--json", action="store_true", help="print one JSON line")
    args = parser.parse_args()
    if args.epochs < 1:
        parser.error(f"--epochs must be at least 1, received {args.epochs}")

    import keras

    keras.utils.set_random_seed(args.seed)
    (x_train, y_train), (x_test, y_test) = load_data()
    x_train, x_test = prepare(x_train, args.model), prepare(x_test, args.model)
    y_train, y_test = y_train.astype("int32"), y_test.astype("int32")

    model = build(args.model, keras)
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"])

    seconds = []

    class EpochTimer(keras.callbacks.Callback):
        """Records the wall time of every epoch."""

        def on_epoch_begin(self, epoch, logs=None):
            self.start = time.perf_counter()

        def on_epoch_end(self, epoch, logs=None):
            seconds.append(time.perf_counter() - self.start)

    history = model.fit(
        x_train, y_train, batch_size=BATCH_SIZE, epochs=args.epochs, shuffle=True, verbose=0, callbacks=[EpochTimer()]
    )

    model.predict(x_test, batch_size=BATCH_SIZE, verbose=0)  # warm-up
    start = time.perf_counter()
    probabilities = model.predict(x_test, batch_size=BATCH_SIZE, verbose=0)
    predict_s = time.perf_counter() - start

    report = {
        "runner": f"keras/{keras.backend.backend()}",
        "device": "cpu",
        "model": args.model,
        "params": int(model.count_params()),
        "epochs": args.epochs,
        "epoch_times_s": seconds,
        "epoch_s": steady(seconds),
        "predict_s": predict_s,
        "peak_mib": peak_rss_mib(),
        "train_loss": float(history.history["loss"][-1]),
        "test_accuracy": float(np.mean(np.argmax(probabilities, axis=1) == y_test)),
        "versions": {"keras": keras.__version__, "numpy": np.__version__, **backend_version(keras)},
    }
    if args.json:
        print(json.dumps(report))
    else:
        print(json.dumps(report, indent=2))


def backend_version(keras):
    """The backend library's version, e.g. {"jax": "0.10.2"}."""
    name = keras.backend.backend()
    try:
        module = __import__(name)
        return {name: getattr(module, "__version__", "?")}
    except ImportError:
        return {}


if __name__ == "__main__":
    main()
