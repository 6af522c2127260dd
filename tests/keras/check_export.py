#!/usr/bin/env python3
"""Load the .keras files Kiln exported with Keras and compare Keras's predictions.

    KILN_EXPORT_DIR=/tmp/kiln-export cargo test -p kiln --test integration keras_files::
    KERAS_BACKEND=jax JAX_PLATFORMS=cpu \
        /work/venvs/keras/bin/python tests/keras/check_export.py /tmp/kiln-export

The test exports every golden model of tests/keras/goldens/files/manifest.json back to
`.keras` (`<Class>__<case>.keras`, `<model>.keras`) with its inputs
(`<stem>.input_<i>.npy`). For each exported file this script

* loads it with `keras.saving.load_model` (no custom objects, safe mode on),
* predicts the inputs and compares with the golden outputs (the layer goldens'
  `outputs`, or the model's `.output*.npy` written by Keras) within 1e-5
  (absolute, or relative above 1),
* compares the layout of its `model.weights.h5` with the file Keras itself wrote
  for the same model: the same datasets (path, shape, dtype) and the same `name`
  attribute on every `vars` group that holds a dataset.

It prints the number of files checked and the worst difference, and exits with
status 1 if a file is missing, fails to load, predicts differently or is laid out
differently.
"""

import io
import json
import os
import sys
import warnings
import zipfile

os.environ["KERAS_BACKEND"] = "jax"
os.environ.setdefault("JAX_PLATFORMS", "cpu")

import h5py  # noqa: E402
import numpy as np  # noqa: E402
import keras  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
FILES = os.path.join(HERE, "goldens", "files")
LAYERS = os.path.join(HERE, "goldens", "layers")
TOLERANCE = 1e-5


def array(a):
    x = np.asarray(a["data"]).reshape(a["shape"])
    return x.astype(np.float32) if x.dtype == np.float64 else x


def layout(path):
    """{dataset path: (shape, dtype)} and {vars group: name attribute} of model.weights.h5."""
    with zipfile.ZipFile(path) as zf:
        f = h5py.File(io.BytesIO(zf.read("model.weights.h5")), "r")
    datasets, names = {}, {}

    def visit(name, obj):
        if isinstance(obj, h5py.Dataset):
            datasets[name] = (obj.shape, str(obj.dtype))
            group = name.rsplit("/", 1)[0]
            names[group] = f[group].attrs.get("name")
    f.visititems(visit)
    return datasets, names


def difference(got, want):
    if not isinstance(got, (list, tuple)):
        got = [got]
    if len(got) != len(want):
        raise ValueError(f"{len(got)} outputs, expected {len(want)}")
    worst = 0.0
    for g, w in zip(got, want):
        g = np.asarray(g, dtype=np.float64)
        if g.shape != w.shape:
            raise ValueError(f"output shape {g.shape}, expected {w.shape}")
        if w.size:
            d = np.abs(g - w) / np.maximum(1.0, np.abs(w))
            worst = max(worst, float(np.nanmax(d)) if not np.isnan(d).any() else float("inf"))
    return worst


def main():
    out = sys.argv[1] if len(sys.argv) > 1 else os.environ.get("KILN_EXPORT_DIR")
    if not out:
        sys.exit("usage: check_export.py EXPORT_DIR (or set KILN_EXPORT_DIR)")
    with open(os.path.join(FILES, "manifest.json")) as f:
        manifest = json.load(f)
    goldens = {}
    jobs = []  # (stem, keras-written file, expected outputs)
    for case in manifest["layer_cases"]:
        cls, name = case["class"], case["case"]
        if cls not in goldens:
            with open(os.path.join(LAYERS, f"{cls}.json")) as f:
                goldens[cls] = {c["name"]: c for c in json.load(f)["cases"]}
        want = [array(o) for o in goldens[cls][name]["outputs"]]
        jobs.append((f"{cls}__{name}", case["keras"], want))
    for m in manifest["models"]:
        want = [np.load(os.path.join(FILES, o)) for o in m["outputs"]]
        jobs.append((m["name"], m["keras"], want))

    checked, worst, worst_at, failures = 0, 0.0, "", []
    for stem, original, want in jobs:
        path = os.path.join(out, f"{stem}.keras")
        if not os.path.exists(path):
            failures.append(f"{stem}: not exported")
            continue
        try:
            inputs, i = [], 0
            while os.path.exists(os.path.join(out, f"{stem}.input_{i}.npy")):
                inputs.append(np.load(os.path.join(out, f"{stem}.input_{i}.npy")))
                i += 1
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                model = keras.saving.load_model(path, compile=False)
                got = model.predict(inputs if len(inputs) > 1 else inputs[0], verbose=0)
            d = difference(got, want)
            if not d <= TOLERANCE:
                raise ValueError(f"Keras's predictions differ from the golden outputs by {d:.2e}")
            ours, theirs = layout(path), layout(os.path.join(FILES, original))
            if ours[0] != theirs[0]:
                raise ValueError(f"model.weights.h5 datasets differ from Keras's: "
                                 f"{sorted(ours[0].items())} vs {sorted(theirs[0].items())}")
            if ours[1] != theirs[1]:
                raise ValueError(f"'vars' name attributes differ from Keras's: {ours[1]} vs {theirs[1]}")
        except Exception as e:  # noqa: BLE001
            # Keras nests deserialization errors: the innermost one says what is wrong.
            message = str(e).rsplit("Exception encountered:", 1)[-1].strip()
            failures.append(f"{stem}: {type(e).__name__}: {message[:300]}")
            continue
        checked += 1
        if d >= worst:
            worst, worst_at = d, stem
    print(f"{checked} of {len(jobs)} Kiln-exported .keras files load in Keras "
          f"{keras.__version__} and predict the golden outputs; worst difference "
          f"{worst:.2e} ({worst_at})")
    for f in failures:
        print("FAIL", f)
    sys.exit(1 if failures else 0)


if __name__ == "__main__":
    main()
