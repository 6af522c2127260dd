"""Loads every model config Kiln exported (crates/kiln/tests/keras_model_config.rs writes them
to $KILN_EXPORT_DIR) into Keras 3 with keras.models.model_from_json, and checks the parameter
counts (trainable / non-trainable) and each layer's output shapes against the goldens of
make_model_configs.py.

Run:
  KILN_EXPORT_DIR=/tmp/kiln_export cargo test -p kiln --test integration keras_model_config::
  KERAS_BACKEND=jax JAX_PLATFORMS=cpu /work/venvs/keras/bin/python tests/keras/check_model_configs.py /tmp/kiln_export
"""

import glob
import json
import os
import sys

os.environ.setdefault("KERAS_BACKEND", "jax")
os.environ.setdefault("JAX_PLATFORMS", "cpu")

import keras  # noqa: E402

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from make_model_configs import OUT, count, layer_shapes  # noqa: E402


def main(export_dir):
    files = sorted(glob.glob(os.path.join(export_dir, "*.json")))
    if not files:
        sys.exit(f"no exported configs in {export_dir}")
    failures = 0
    for path in files:
        name = os.path.splitext(os.path.basename(path))[0]
        with open(os.path.join(OUT, f"{name}.json")) as f:
            golden = json.load(f)
        with open(path) as f:
            text = f.read()
        try:
            model = keras.models.model_from_json(text)
        except Exception as e:  # noqa: BLE001
            print(f"FAIL {name}: Keras cannot load it: {e}")
            failures += 1
            continue
        problems = []
        got = (count(model.trainable_weights), count(model.non_trainable_weights))
        want = (golden["trainable_params"], golden["non_trainable_params"])
        if got != want:
            problems.append(f"params {got}, golden {want}")
        shapes = {l["name"]: l for l in layer_shapes(model)}
        for layer in golden["layers"]:
            mine = shapes.get(layer["name"])
            if mine is None:
                problems.append(f"no layer {layer['name']}")
            elif (mine["class"], mine["output_shapes"]) != (layer["class"], layer["output_shapes"]):
                problems.append(f"{layer['name']}: {mine['class']} {mine['output_shapes']}, golden {layer['class']} {layer['output_shapes']}")
        # Keras writes the same layers back; the operations it adds are the masks it propagates
        # itself (NotEqual for Embedding(mask_zero=True)), which Kiln leaves out.
        def layer_names(cfg):
            return [l["name"] if "name" in l else l["config"]["name"] for l in cfg["config"]["layers"]
                    if not str(l.get("module", "")).startswith("keras.src.ops")]
        back = json.loads(model.to_json())
        if layer_names(back) != layer_names(json.loads(text)):
            problems.append(f"Keras writes other layers back: {layer_names(back)}")
        masked = [l["name"] for l in back["config"]["layers"]
                  if any(n.get("kwargs", {}).get("mask") is not None for n in l.get("inbound_nodes", []))]
        if masked:
            print(f"     {name}: Keras propagates a mask into {masked}")
        if problems:
            failures += 1
            print(f"FAIL {name}: " + "; ".join(problems))
        else:
            print(f"ok   {name}: {got[0]} trainable, {got[1]} non-trainable, {len(golden['layers'])} layers")
    print(f"{len(files) - failures}/{len(files)} exported configs load in Keras {keras.__version__} with Keras's counts and shapes")
    sys.exit(1 if failures else 0)


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else os.environ.get("KILN_EXPORT_DIR", "/tmp/kiln_export"))
