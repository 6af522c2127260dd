"""Writes the Keras model file `kiln bench`'s tests need and Kiln cannot make itself.

crates/kiln-cli/tests/data/bench_ragged.keras: Input((None, 8)) -> GlobalAveragePooling1D
-> Dense(2, softmax), an input with an unknown non-batch dimension (any sequence length),
so that `kiln bench` must ask for `--input-shape`.

    KERAS_BACKEND=jax JAX_PLATFORMS=cpu /work/venvs/keras/bin/python tests/keras/make_bench_files.py
"""

import os

import keras

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(HERE, "..", "..", "crates", "kiln-cli", "tests", "data")

keras.utils.set_random_seed(7)
inputs = keras.Input((None, 8), name="sequence")
x = keras.layers.GlobalAveragePooling1D()(inputs)
outputs = keras.layers.Dense(2, activation="softmax")(x)
model = keras.Model(inputs, outputs, name="ragged")
os.makedirs(OUT, exist_ok=True)
model.save(os.path.join(OUT, "bench_ragged.keras"))
print("wrote", os.path.join(OUT, "bench_ragged.keras"))
