"""Keras 3's ModelCheckpoint on scripted log values: which files it writes and what it
prints, for Kiln's `tests/checkpoint.rs`. Writes goldens/model_checkpoint.json.

A callback placed before ModelCheckpoint overwrites the monitored log entry with a fixed
sequence, so the decisions do not depend on training numbers.

Run: KERAS_BACKEND=jax JAX_PLATFORMS=cpu /work/venvs/keras/bin/python make_checkpoint_goldens.py
"""

import contextlib
import io
import json
import os
import tempfile
import warnings

import keras
import numpy as np


class Script(keras.callbacks.Callback):
    """Sets logs[key] to values[epoch] at the end of each epoch."""

    def __init__(self, key, values):
        super().__init__()
        self.key, self.values = key, values

    def on_epoch_end(self, epoch, logs=None):
        logs[self.key] = self.values[epoch]


def run(name, samples, batch_size, epochs, script, **checkpoint):
    keras.utils.set_random_seed(1)
    model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(1)])
    model.compile("sgd", "mse")
    x = np.linspace(-1, 1, samples * 3, dtype="float32").reshape(samples, 3)
    y = np.zeros((samples, 1), dtype="float32")
    with tempfile.TemporaryDirectory() as d:
        cwd = os.getcwd()
        os.chdir(d)
        out = io.StringIO()
        try:
            callbacks = [Script(*script)] if script else []
            callbacks.append(keras.callbacks.ModelCheckpoint(**checkpoint))
            with contextlib.redirect_stdout(out), warnings.catch_warnings(record=True) as caught:
                warnings.simplefilter("always")
                model.fit(x, y, batch_size=batch_size, epochs=epochs, shuffle=False, verbose=0, callbacks=callbacks)
            files = sorted(os.listdir("."))
        finally:
            os.chdir(cwd)
    lines = [l for l in out.getvalue().splitlines() if l]
    warned = [str(w.message) for w in caught if "ModelCheckpoint" in str(w.filename) or "save best" in str(w.message)]
    return {
        "name": name,
        "samples": samples,
        "batch_size": batch_size,
        "epochs": epochs,
        "script": {"key": script[0], "values": script[1]} if script else None,
        "checkpoint": checkpoint,
        "files": files,
        "messages": lines,
        "warnings": warned,
    }


scenarios = [
    run("best_only_val_loss", 8, 4, 5, ("val_loss", [0.52, 0.41, 0.45, 0.41, 0.30]),
        filepath="best-{epoch:02d}-{val_loss:.2f}.keras", save_best_only=True, verbose=1),
    run("best_only_one_file", 8, 4, 5, ("val_loss", [0.52, 0.41, 0.45, 0.41, 0.30]),
        filepath="best.keras", save_best_only=True, verbose=1),
    run("max_with_threshold", 8, 4, 4, ("score", [0.5, 0.7, 0.6, 0.9]),
        filepath="s-{epoch}-{score:.3f}.keras", monitor="score", mode="max", save_best_only=True,
        initial_value_threshold=0.6, verbose=1),
    run("every_epoch", 8, 4, 3, ("val_loss", [3.0, 2.0, 1.0]),
        filepath="e{epoch:03d}.keras", verbose=1),
    run("every_3_batches", 10, 2, 2, None,
        filepath="b-{epoch}-{batch}.keras", save_freq=3, verbose=1),
    run("missing_monitor", 8, 4, 2, None,
        filepath="m-{epoch}.keras", save_best_only=True, verbose=1),
    run("weights_only", 8, 4, 2, ("val_loss", [1.0, 2.0]),
        filepath="w-{epoch:02d}.weights.h5", save_weights_only=True, save_best_only=True, verbose=1),
]

here = os.path.dirname(os.path.abspath(__file__))
with open(os.path.join(here, "goldens", "model_checkpoint.json"), "w") as f:
    json.dump({"keras_version": keras.__version__, "backend": keras.backend.backend(), "scenarios": scenarios}, f, indent=1)
for s in scenarios:
    print(s["name"], s["files"], s["warnings"])
    for m in s["messages"]:
        print("   ", m)
