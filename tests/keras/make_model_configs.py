"""Whole-model Keras configs for Kiln's model-config import/export tests.

Builds a set of Keras 3 models and writes, for each, tests/keras/goldens/model_configs/<name>.json:

* ``config``: ``json.loads(model.to_json())`` — what a ``.keras`` file's config.json holds;
* ``legacy_h5_config``: the ``model_config`` attribute Keras 3's legacy ``.h5`` writer stores;
* ``keras2_config`` (some models): the config hand-converted to Keras 2 / tf.keras's style
  (no ``module``/``registered_name``/``build_config``, ``batch_input_shape``, dtype
  policies as plain strings, ``inbound_nodes`` as ``[[["dense", 0, 0, {}]]]``);
* ``trainable_params`` / ``non_trainable_params``: Keras's counts;
* ``layers``: every layer (model order) with its class and the output shapes of its first
  call (a list, one shape per output; ``null`` for a free dimension).

Run: KERAS_BACKEND=jax JAX_PLATFORMS=cpu /work/venvs/keras/bin/python tests/keras/make_model_configs.py
"""

import copy
import json
import os
import sys
import tempfile

os.environ.setdefault("KERAS_BACKEND", "jax")
os.environ.setdefault("JAX_PLATFORMS", "cpu")

import h5py  # noqa: E402
import keras  # noqa: E402
from keras import layers  # noqa: E402
from keras.src.ops.function import make_node_key  # noqa: E402

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "goldens", "model_configs")


def sequential_mlp():
    return keras.Sequential(
        [
            keras.Input((8,), name="features"),
            layers.Dense(16, activation="relu", name="hidden"),
            layers.Dropout(0.25, name="drop"),
            layers.Dense(4, activation="softmax", name="probs"),
        ],
        name="mlp",
    )


def sequential_built():
    # No Input: the shape comes from build(), Keras 3 writes build_input_shape.
    m = keras.Sequential([layers.Dense(5, activation="tanh"), layers.Dense(2)], name="built_later")
    m.build((None, 3))
    return m


def sequential_cnn():
    return keras.Sequential(
        [
            keras.Input((12, 12, 3)),
            layers.Conv2D(4, 3, activation="relu", padding="same"),
            layers.MaxPooling2D(2),
            layers.BatchNormalization(),
            layers.Conv2D(6, 3, strides=2),
            layers.Flatten(),
            layers.Dense(10, activation="softmax"),
        ],
        name="cnn",
    )


def two_inputs_two_outputs():
    a = keras.Input((6,), name="a")
    b = keras.Input((4,), name="b")
    x = layers.Dense(8, activation="relu", name="da")(a)
    y = layers.Dense(8, activation="relu", name="db")(b)
    z = layers.Concatenate(name="cat")([x, y])
    out1 = layers.Dense(3, activation="softmax", name="head_class")(z)
    out2 = layers.Dense(1, name="head_value")(z)
    return keras.Model([a, b], [out1, out2], name="two_heads")


def shared_layer():
    a = keras.Input((5,), name="left")
    b = keras.Input((5,), name="right")
    shared = layers.Dense(4, activation="relu", name="shared")
    x = shared(a)
    y = shared(b)
    d = layers.Subtract(name="diff")([x, y])
    s = layers.Add(name="sum")([x, y, d])
    out = layers.Dense(1, activation="sigmoid", name="out")(s)
    return keras.Model([a, b], out, name="siamese")


def lstm_state():
    x = keras.Input((7, 3), name="seq")
    seq, h, c = layers.LSTM(5, return_sequences=True, return_state=True, name="encoder")(x)
    last = layers.LSTM(4, name="decoder")(seq)
    h2 = layers.Dense(4, name="from_h")(h)
    merged = layers.Concatenate(name="merge")([last, h2, c])
    out = layers.Dense(2, name="out")(merged)
    return keras.Model(x, out, name="lstm_state")


def embedding_lstm():
    x = keras.Input((9,), dtype="int32", name="tokens")
    e = layers.Embedding(20, 6, mask_zero=True, name="embed")(x)
    h = layers.LSTM(5, name="lstm")(e)
    out = layers.Dense(3, activation="softmax", name="out")(h)
    return keras.Model(x, out, name="embedding_lstm")


def mha_self_attention():
    x = keras.Input((6, 8), name="tokens")
    att = layers.MultiHeadAttention(num_heads=2, key_dim=4, name="mha")(x, x)
    y = layers.Add(name="residual")([x, att])
    y = layers.LayerNormalization(name="norm")(y)
    y = layers.GlobalAveragePooling1D(name="pool")(y)
    out = layers.Dense(2, name="out")(y)
    return keras.Model(x, out, name="attention")


def bidirectional():
    return keras.Sequential(
        [
            keras.Input((7, 3), name="seq"),
            layers.Bidirectional(layers.LSTM(4, return_sequences=True), name="bi_lstm"),
            layers.Bidirectional(layers.GRU(3), merge_mode="sum", name="bi_gru"),
            layers.Dense(2, name="out"),
        ],
        name="bidirectional",
    )


def regularized():
    x = keras.Input((10, 4), name="x")
    y = layers.Conv1D(
        6,
        3,
        kernel_initializer=keras.initializers.RandomNormal(mean=0.1, stddev=0.2),
        bias_initializer=keras.initializers.Constant(0.5),
        kernel_regularizer=keras.regularizers.L1L2(l1=0.001, l2=0.002),
        kernel_constraint=keras.constraints.MaxNorm(3.0),
        name="conv",
    )(x)
    y = layers.Flatten(name="flat")(y)
    y = layers.Dense(
        5,
        activation="relu",
        kernel_initializer="he_normal",
        bias_initializer=keras.initializers.RandomUniform(-0.1, 0.1),
        kernel_regularizer=keras.regularizers.L2(0.01),
        bias_regularizer=keras.regularizers.L1(0.02),
        activity_regularizer=keras.regularizers.L2(0.003),
        bias_constraint=keras.constraints.NonNeg(),
        name="dense",
    )(y)
    out = layers.Dense(
        1,
        kernel_initializer=keras.initializers.TruncatedNormal(stddev=0.3),
        kernel_constraint=keras.constraints.MinMaxNorm(0.5, 2.0, rate=0.5),
        name="out",
    )(y)
    return keras.Model(x, out, name="regularized")


MODELS = {
    "sequential_mlp": sequential_mlp,
    "sequential_built": sequential_built,
    "sequential_cnn": sequential_cnn,
    "two_inputs_two_outputs": two_inputs_two_outputs,
    "shared_layer": shared_layer,
    "lstm_state": lstm_state,
    "embedding_lstm": embedding_lstm,
    "mha_self_attention": mha_self_attention,
    "bidirectional": bidirectional,
    "regularized": regularized,
}

# Models that also get a hand-made Keras 2 variant.
KERAS2 = {"sequential_mlp", "sequential_cnn", "two_inputs_two_outputs", "shared_layer", "lstm_state", "embedding_lstm"}


def to_keras2(obj):
    """Keras 3 serialized objects to Keras 2's style: no module/registered_name/build_config,
    dtype policies as plain names, inbound nodes as [[name, node, index, kwargs], …]."""
    if isinstance(obj, list):
        return [to_keras2(v) for v in obj]
    if not isinstance(obj, dict):
        return obj
    if obj.get("class_name") == "DTypePolicy":
        return obj["config"]["name"]
    out = {}
    for k, v in obj.items():
        if k in ("module", "registered_name", "build_config", "compile_config", "quantization_config"):
            continue
        if k == "inbound_nodes":
            out[k] = [keras2_node(n) for n in v]
        elif k == "batch_shape":
            out["batch_input_shape"] = v
        elif k in ("optional",):
            continue
        else:
            out[k] = to_keras2(v)
    return out


def keras2_node(node):
    def ref(t):
        name, node_index, tensor_index = t["config"]["keras_history"]
        return [name, node_index, tensor_index, {}]

    args = node["args"]
    kwargs = {k: v for k, v in node["kwargs"].items() if k not in ("training", "mask")}
    assert not kwargs, f"no Keras 2 form written for kwargs {kwargs}"
    first = args[0]
    refs = [ref(t) for t in first] if isinstance(first, list) else [ref(first)]
    for extra in args[1:]:
        # MultiHeadAttention(query, value): Keras 2 passes value as a kwarg.
        refs[0][3] = {"value": ref(extra)[:3]}
    return refs


def keras2_sequential(config):
    cfg = to_keras2(config)
    layers_ = cfg["config"]["layers"]
    if layers_ and layers_[0]["class_name"] == "InputLayer":
        first_input = layers_.pop(0)
        layers_[0]["config"]["batch_input_shape"] = first_input["config"]["batch_input_shape"]
        if "build_input_shape" in cfg["config"]:
            del cfg["config"]["build_input_shape"]
    return cfg


def keras2_functional(config):
    config = copy.deepcopy(config)
    # Keras 3 records the mask of Embedding(mask_zero) as a NotEqual op node; Keras 2 does not.
    config["config"]["layers"] = [l for l in config["config"]["layers"] if l["class_name"] != "NotEqual"]
    cfg = to_keras2(config)
    cfg["class_name"] = "Model"
    for key in ("input_layers", "output_layers"):
        v = cfg["config"][key]
        if isinstance(v[0], str):
            cfg["config"][key] = [v]
    return cfg


def legacy_h5_config(model):
    with tempfile.TemporaryDirectory() as d:
        path = os.path.join(d, "m.h5")
        model.save(path)
        with h5py.File(path, "r") as f:
            raw = f.attrs["model_config"]
            return json.loads(raw if isinstance(raw, str) else raw.decode("utf-8"))


def layer_shapes(model):
    out = []
    for layer in model.layers:
        if isinstance(model, keras.Sequential):
            nodes = [layer._inbound_nodes[-1]] if layer._inbound_nodes else []
        else:
            nodes = [n for i, n in enumerate(layer._inbound_nodes) if make_node_key(layer, i) in model._nodes]
        first = nodes[0].output_tensors if nodes else []
        out.append(
            {
                "name": layer.name,
                "class": layer.__class__.__name__,
                "output_shapes": [list(t.shape) for t in first],
            }
        )
    return out


def count(weights):
    total = 0
    for w in weights:
        n = 1
        for d in w.shape:
            n *= d
        total += n
    return total


def main(names):
    os.makedirs(OUT, exist_ok=True)
    for name, make in MODELS.items():
        if names and name not in names:
            continue
        keras.utils.clear_session()
        model = make()
        config = json.loads(model.to_json())
        golden = {
            "keras_version": keras.__version__,
            "backend": keras.backend.backend(),
            "name": name,
            "config": config,
            "legacy_h5_config": legacy_h5_config(model),
            "trainable_params": count(model.trainable_weights),
            "non_trainable_params": count(model.non_trainable_weights),
            "layers": layer_shapes(model),
        }
        if name in KERAS2:
            k2 = keras2_sequential(config) if config["class_name"] == "Sequential" else keras2_functional(config)
            # Keras 2 configs must load in Keras too (legacy deserialization).
            golden["keras2_config"] = k2
        with open(os.path.join(OUT, f"{name}.json"), "w") as f:
            json.dump(golden, f, indent=1, sort_keys=True)
            f.write("\n")
        print(f"{name}: {golden['trainable_params']} trainable, {golden['non_trainable_params']} non-trainable, "
              f"{len(golden['layers'])} layers")


if __name__ == "__main__":
    main(set(sys.argv[1:]))
