#!/usr/bin/env python3
"""Write Keras model files (.keras, legacy .h5) for Kiln's import/export tests.

Run with the venv described in tests/keras/README.md:

    KERAS_BACKEND=jax JAX_PLATFORMS=cpu \
        /work/venvs/keras/bin/python tests/keras/make_keras_files.py

It writes into tests/keras/goldens/files/:

* `<Class>__<case>.keras` for every case of the layer goldens
  (goldens/layers/<Class>.json, the cases of make_layer_goldens.py, which this
  script imports): the same single-layer functional model, saved by
  `model.save()` with the golden weights. Cases recorded with
  `training: true` are left out (their golden outputs are training-mode
  outputs, not what `predict` gives).
* `<Class>__<case>.h5` (legacy HDF5, `model.save("x.h5")`) for the cases of
  the classes in H5_CLASSES.
* `<model>.keras` and `<model>.h5` for a few multi-layer models (MODELS below),
  with their input(s) and Keras's `predict` output(s) as .npy files next to
  them: `<model>.input.npy` / `<model>.output.npy` for one input / output,
  `<model>.input_<i>.npy` / `<model>.output_<i>.npy` for several.
* `manifest.json`: every file written, per layer case its class and case name,
  per model its input/output .npy files, and the cases left out with why.

Each saved file is loaded back with `keras.saving.load_model` and its
predictions are compared with the golden outputs (the largest difference is
printed and stored in the manifest): the files hold exactly the golden model.
"""

import json
import os
import sys
import warnings
import zlib

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

import make_layer_goldens as mlg  # noqa: E402  (sets KERAS_BACKEND=jax first)

import numpy as np  # noqa: E402
import keras  # noqa: E402

F32 = np.float32
OUT_DIR = os.path.join(HERE, "goldens", "files")
GOLDEN_DIR = os.path.join(HERE, "goldens", "layers")
# Layer classes whose cases are also written as legacy .h5 files.
H5_CLASSES = {"Dense", "Conv2D", "LSTM", "GRU", "SimpleRNN", "BatchNormalization",
              "Bidirectional", "MultiHeadAttention", "Embedding", "TimeDistributed",
              "Normalization", "LayerNormalization"}

MANIFEST = {"layer_cases": [], "models": [], "skipped": []}
GOLDENS = {}


def golden_case(file, name):
    if file not in GOLDENS:
        path = os.path.join(GOLDEN_DIR, f"{file}.json")
        with open(path) as f:
            GOLDENS[file] = {c["name"]: c for c in json.load(f)["cases"]}
    return GOLDENS[file].get(name)


def from_json(a, dtype=None):
    x = np.asarray(a["data"], dtype=dtype).reshape(a["shape"])
    if dtype is None and x.dtype == np.float64:
        x = x.astype(F32)
    return x


def worst_difference(model, inputs, outputs):
    """Largest |model.predict(inputs) - outputs| over all outputs."""
    got = model.predict(inputs if len(inputs) > 1 else inputs[0], verbose=0)
    if not isinstance(got, (list, tuple)):
        got = [got]
    assert len(got) == len(outputs), (len(got), len(outputs))
    worst = 0.0
    for g, w in zip(got, outputs):
        g = np.asarray(g)
        assert g.shape == w.shape, (g.shape, w.shape)
        worst = max(worst, float(np.max(np.abs(g.astype(np.float64) - w))) if w.size else 0.0)
    return worst


def save_and_check(model, path, inputs, outputs, legacy=False):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model.save(path)
        again = keras.saving.load_model(path, compile=False)
    return worst_difference(again, inputs, outputs)


def skip(file, name, reason):
    MANIFEST["skipped"].append({"class": file, "case": name, "reason": reason})
    print(f"  skipped {file}/{name}: {reason}")


def save_case(file, name, layers, inputs, *, training=False, adapt=None, extra=None,
              **kw):
    """Replaces make_layer_goldens.run_case: save the case's model as files."""
    golden = golden_case(file, name)
    if golden is None:
        return None  # dropped by make_layer_goldens.py (Keras refuses it)
    if training:
        skip(file, name, "training-mode golden outputs")
        return None
    keras.utils.clear_session()
    built, model = mlg.build_case_model(layers, inputs, adapt=adapt, **kw)
    weights = [w for layer in built for w in layer.weights]
    assert len(weights) == len(golden["weights"]), (file, name)
    for w, g in zip(weights, golden["weights"]):
        assert w.path == g["path"], (w.path, g["path"])
        w.assign(from_json(g["value"], dtype=np.dtype(w.dtype)))
    for x, g in zip(inputs, golden["inputs"]):
        assert np.array_equal(np.asarray(x), from_json(g)), (file, name)
    outputs = [from_json(o) for o in golden["outputs"]]
    stem = f"{file}__{name}"
    record = {"class": file, "case": name, "keras": f"{stem}.keras"}
    try:
        record["keras_worst"] = save_and_check(model, os.path.join(OUT_DIR, f"{stem}.keras"),
                                               inputs, outputs)
    except Exception as e:  # noqa: BLE001 (Keras cannot save or reload it)
        skip(file, name, f"Keras cannot save/reload it as .keras: {type(e).__name__}: {e}")
        return None
    if file in H5_CLASSES:
        try:
            record["h5_worst"] = save_and_check(model, os.path.join(OUT_DIR, f"{stem}.h5"),
                                                inputs, outputs)
            record["h5"] = f"{stem}.h5"
        except Exception as e:  # noqa: BLE001 (Keras cannot reload its own file)
            if os.path.exists(os.path.join(OUT_DIR, f"{stem}.h5")):
                os.remove(os.path.join(OUT_DIR, f"{stem}.h5"))
            print(f"  no .h5 for {stem}: {type(e).__name__}: {str(e)[:120]}")
            record["h5_refused_by_keras"] = f"{type(e).__name__}: {str(e)[:200]}"
    MANIFEST["layer_cases"].append(record)
    print(f"  {stem}: worst {record['keras_worst']:.2e}"
          + (f", h5 {record['h5_worst']:.2e}" if "h5" in record else ""))
    return record


# ----------------------------------------------------------------------------
# Multi-layer models
# ----------------------------------------------------------------------------

def set_weights(model, seed):
    """Deterministic non-trivial weights (scale-like ones near 1)."""
    rng = np.random.default_rng(seed)
    for w in model.weights:
        if w.name == "count" or "int" in str(w.dtype):
            continue
        lo, hi = (0.5, 1.5) if w.name in mlg.SCALE_LIKE else (-0.5, 0.5)
        w.assign(rng.uniform(lo, hi, size=w.shape).astype(F32))


def sequential_cnn():
    L = keras.layers
    return keras.Sequential([
        keras.Input((8, 8, 1)),
        L.Conv2D(4, 3, activation="relu"),
        L.MaxPooling2D(),
        L.BatchNormalization(),
        L.Conv2D(6, 2, padding="same"),
        L.Flatten(),
        L.Dropout(0.2),
        L.Dense(10, activation="softmax"),
    ], name="cnn")


def functional_two_io():
    L = keras.layers
    a = keras.Input((6,), name="a")
    b = keras.Input((4, 3), name="b")
    x = L.Dense(8, activation="relu")(a)
    y = L.Flatten()(b)
    y = L.Dense(8, activation="tanh")(y)
    s = L.Add()([x, y])
    c = L.Concatenate()([s, a])
    cls = L.Dense(3, activation="softmax", name="cls")(c)
    reg = L.Dense(1, name="reg")(L.LayerNormalization()(s))
    return keras.Model([a, b], [cls, reg], name="two_io")


def lstm_stack():
    L = keras.layers
    return keras.Sequential([
        keras.Input((7, 3)),
        L.LSTM(5, return_sequences=True),
        L.LSTM(4),
        L.Dense(2),
    ], name="lstm_stack")


def embedding_bigru():
    L = keras.layers
    ids = keras.Input((6,), dtype="int32", name="ids")
    x = L.Embedding(20, 4, mask_zero=True)(ids)
    x = L.Bidirectional(L.GRU(3))(x)
    out = L.Dense(2, activation="sigmoid")(x)
    return keras.Model(ids, out, name="embedding_bigru")


MODELS = {
    "sequential_cnn": (sequential_cnn, lambda r: [r.standard_normal((3, 8, 8, 1)).astype(F32)]),
    "functional_two_io": (functional_two_io, lambda r: [r.standard_normal((3, 6)).astype(F32),
                                                        r.standard_normal((3, 4, 3)).astype(F32)]),
    "lstm_stack": (lstm_stack, lambda r: [r.standard_normal((3, 7, 3)).astype(F32)]),
    "embedding_bigru": (embedding_bigru,
                        lambda r: [np.array([[3, 7, 1, 0, 0, 0], [5, 5, 19, 2, 8, 1],
                                             [9, 0, 4, 0, 0, 0]], dtype=np.int32)]),
}


def write_models():
    for name, (make, inputs_of) in MODELS.items():
        keras.utils.clear_session()
        seed = zlib.crc32(name.encode())
        model = make()
        set_weights(model, seed)
        inputs = inputs_of(np.random.default_rng(seed + 1))
        got = model.predict(inputs if len(inputs) > 1 else inputs[0], verbose=0)
        outputs = [np.asarray(o) for o in (got if isinstance(got, (list, tuple)) else [got])]

        def npy(kind, arrays):
            if len(arrays) == 1:
                names = [f"{name}.{kind}.npy"]
            else:
                names = [f"{name}.{kind}_{i}.npy" for i in range(len(arrays))]
            for n, a in zip(names, arrays):
                np.save(os.path.join(OUT_DIR, n), a)
            return names

        record = {"name": name, "keras": f"{name}.keras", "h5": f"{name}.h5",
                  "inputs": npy("input", inputs), "outputs": npy("output", outputs),
                  "recurrent": name in ("lstm_stack", "embedding_bigru")}
        record["keras_worst"] = save_and_check(model, os.path.join(OUT_DIR, record["keras"]),
                                               inputs, outputs)
        h5_path = os.path.join(OUT_DIR, record["h5"])
        try:
            record["h5_worst"] = save_and_check(model, h5_path, inputs, outputs)
        except Exception as e:  # noqa: BLE001 (Keras cannot reload its own file)
            if os.path.exists(h5_path):
                os.remove(h5_path)
            record["h5"] = None
            record["h5_refused_by_keras"] = f"{type(e).__name__}: {str(e)[:200]}"
        MANIFEST["models"].append(record)
        print(f"  {name}: {model.count_params()} params, worst {record['keras_worst']:.2e}, "
              f"h5 {record.get('h5_worst', 'not written')}")


def main():
    os.makedirs(OUT_DIR, exist_ok=True)
    for f in os.listdir(OUT_DIR):
        if f.endswith((".keras", ".h5", ".npy")) or f == "manifest.json":
            os.remove(os.path.join(OUT_DIR, f))
    keras.utils.set_random_seed(0)
    mlg.run_case = save_case  # the catalogue's case() calls run_case
    for group in mlg.GROUPS:
        group()
    write_models()
    MANIFEST["keras_version"] = keras.__version__
    MANIFEST["backend"] = keras.backend.backend()
    with open(os.path.join(OUT_DIR, "manifest.json"), "w") as f:
        json.dump(MANIFEST, f, indent=1)
        f.write("\n")
    total = sum(os.path.getsize(os.path.join(OUT_DIR, f)) for f in os.listdir(OUT_DIR))
    worst = max([r["keras_worst"] for r in MANIFEST["layer_cases"]]
                + [r.get("h5_worst", 0.0) for r in MANIFEST["layer_cases"]])
    print(f"\n{len(MANIFEST['layer_cases'])} layer cases "
          f"({sum('h5' in r for r in MANIFEST['layer_cases'])} also .h5), "
          f"{len(MANIFEST['models'])} models, {len(MANIFEST['skipped'])} skipped; "
          f"worst reload difference {worst:.2e}; {total / 1e6:.2f} MB in {OUT_DIR}")


if __name__ == "__main__":
    main()
