#!/usr/bin/env python3
"""Generate golden reference data from Keras 3 for Kiln's tests.

Run with the venv described in tests/keras/README.md:

    /work/venvs/keras/bin/python tests/keras/make_goldens.py

It writes JSON files into tests/keras/goldens/ (next to this script):

    activations.json  - every keras.activations function on a fixed [4, 6] input,
                        with gradients (jax.grad)
    dense.json        - keras.layers.Dense forward passes with fixed weights
    losses.json       - keras.losses.* classes on fixed (y_true, y_pred) pairs
    training.json     - 5 train_on_batch steps of a small MLP per optimizer

Conventions
-----------
* Every array is stored as {"shape": [...], "data": [flat row-major values]}.
  Float arrays are float32; each value is converted with float(np.float32(v)),
  i.e. the exact double value of the float32 number, so parsing the JSON
  number and casting to f32 round-trips bit-exactly. Int arrays hold ints.
* Scalars (loss values) are float32 results converted the same way.
* Every file has top-level "keras_version" and "backend" fields.
* All inputs come from numpy.random.default_rng with fixed seeds, so re-running
  the script with the same Keras/JAX versions reproduces the same files.
"""

import json
import os

# Keras 3 picks its backend at import time: force JAX, and run it on CPU
# so results do not depend on whatever accelerator happens to be present.
os.environ["KERAS_BACKEND"] = "jax"
os.environ.setdefault("JAX_PLATFORMS", "cpu")

import numpy as np  # noqa: E402
import keras  # noqa: E402

F32 = np.float32
OUT_DIR = os.path.join(os.path.dirname(os.path.abspath(__file__)), "goldens")


# ----------------------------------------------------------------------------
# Helpers
# ----------------------------------------------------------------------------

def arr(a):
    """Encode an array as {"shape": [...], "data": [...]} (row-major)."""
    a = np.asarray(a)
    if np.issubdtype(a.dtype, np.integer):
        data = [int(v) for v in a.reshape(-1)]
    else:
        # Go through float32 so the value is exactly representable in f32.
        data = [float(v) for v in a.astype(F32).reshape(-1)]
    return {"shape": [int(d) for d in a.shape], "data": data}


def scalar(v):
    """A float32 scalar as an exact Python float."""
    return float(F32(np.asarray(v)))


def to_numpy(t):
    """Keras tensor (a jax array with this backend) -> numpy array."""
    return np.asarray(keras.ops.convert_to_numpy(t))


def header():
    return {"keras_version": keras.__version__, "backend": keras.backend.backend()}


def jsonable(obj):
    """Make an optimizer config (may contain numpy scalars) JSON-serialisable."""
    if isinstance(obj, dict):
        return {k: jsonable(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [jsonable(v) for v in obj]
    if isinstance(obj, (np.floating,)):
        return float(obj)
    if isinstance(obj, (np.integer,)):
        return int(obj)
    if isinstance(obj, (np.bool_,)):
        return bool(obj)
    return obj


def write(name, payload):
    path = os.path.join(OUT_DIR, name)
    with open(path, "w") as f:
        json.dump(payload, f, indent=1)
        f.write("\n")
    print(f"wrote {path} ({os.path.getsize(path)} bytes)")


# ----------------------------------------------------------------------------
# 1. Activations
# ----------------------------------------------------------------------------

def make_activations():
    rng = np.random.default_rng(1001)
    x = rng.uniform(-4.0, 4.0, size=(4, 6)).astype(F32)
    # A few hand-picked values: exact zero, small/integer values of both signs.
    x[0, 0] = 0.0
    x[1, 1] = -1.0
    x[2, 2] = 1.0
    x[3, 3] = -0.5
    x[3, 4] = 0.0

    acts = keras.activations
    fns = {
        "relu": acts.relu,
        "sigmoid": acts.sigmoid,
        "tanh": acts.tanh,
        "softmax": acts.softmax,            # default axis=-1
        "log_softmax": acts.log_softmax,    # default axis=-1
        "gelu": acts.gelu,                  # default approximate (see below)
        "elu": acts.elu,
        "selu": acts.selu,
        "softplus": acts.softplus,
        "softsign": acts.softsign,
        "silu": acts.silu,
        "swish": acts.swish,
        "leaky_relu": acts.leaky_relu,      # default negative_slope
        "hard_sigmoid": acts.hard_sigmoid,
        "exponential": acts.exponential,
        "linear": acts.linear,
        # The rest of keras.activations, default arguments.
        "relu6": acts.relu6,
        "celu": acts.celu,                  # alpha=1.0
        "glu": acts.glu,                    # axis=-1: [4, 6] -> [4, 3]
        "hard_silu": acts.hard_silu,
        "hard_swish": acts.hard_swish,
        "hard_tanh": acts.hard_tanh,
        "hard_shrink": acts.hard_shrink,    # threshold=0.5
        "soft_shrink": acts.soft_shrink,    # threshold=0.5
        "log_sigmoid": acts.log_sigmoid,
        "mish": acts.mish,
        "sparse_plus": acts.sparse_plus,
        "sparse_sigmoid": acts.sparse_sigmoid,
        "sparsemax": None,                  # see sparsemax_reference below
        "squareplus": acts.squareplus,      # b=4
        "tanh_shrink": acts.tanh_shrink,
    }
    # Every function keras.activations exports is here ("threshold", which has no
    # defaults, only among the variants below).
    exported = {n for n in dir(acts) if not n.startswith("_")} - {"deserialize", "get", "serialize"}
    covered = set(fns) | {"threshold"}
    assert exported == covered, f"not covered: {exported - covered}, unknown: {covered - exported}"
    sparsemax, sparsemax_source = sparsemax_reference()
    fns["sparsemax"] = sparsemax
    outputs = {name: arr(to_numpy(fn(x))) for name, fn in fns.items()}
    outputs["softmax_axis0"] = arr(to_numpy(acts.softmax(x, axis=0)))
    outputs["log_softmax_axis0"] = arr(to_numpy(acts.log_softmax(x, axis=0)))

    # Calls with non-default arguments; `x` is the top-level input unless the
    # variant has its own. ("threshold" has no defaults, so it is only here.)
    x_close = (x * F32(0.25)).astype(F32)   # close logits: sparsemax supports of 2+
    variants = [
        ("relu", {"negative_slope": 0.1}, x),
        ("relu", {"max_value": 3.0}, x),
        ("relu", {"max_value": 6.0}, (x * F32(2.0)).astype(F32)),
        ("relu", {"threshold": 1.0}, x),
        ("relu", {"negative_slope": 0.1, "max_value": 3.0, "threshold": 1.0}, x),
        ("relu", {"negative_slope": 0.1, "max_value": 6.0}, (x * F32(2.0)).astype(F32)),
        ("leaky_relu", {"negative_slope": 0.3}, x),
        ("elu", {"alpha": 0.5}, x),
        ("celu", {"alpha": 0.5}, x),
        ("gelu", {"approximate": True}, x),
        ("hard_shrink", {"threshold": 1.0}, x),
        ("soft_shrink", {"threshold": 1.0}, x),
        ("squareplus", {"b": 1.0}, x),
        ("threshold", {"threshold": 0.5, "default_value": -1.0}, x),
        ("threshold", {"threshold": -1.0, "default_value": 0.0}, x),
        ("glu", {"axis": 0}, x),
        ("sparsemax", {"axis": 0}, x),
        ("sparsemax", {}, x_close),
        ("sparsemax", {"axis": 0}, x_close),
    ]

    # Gradients: d sum(f(x) * r) / dx with jax.grad, r a fixed [4, 6] array; a
    # result smaller than [4, 6] (glu) uses the leading corner of r.
    import jax
    import jax.numpy as jnp
    r = np.random.default_rng(1002).uniform(-1.0, 1.0, size=(4, 6)).astype(F32)

    def gradient(fn, xv):
        def loss(v):
            y = fn(v)
            w = jnp.asarray(r[tuple(slice(0, d) for d in y.shape)])
            return jnp.sum(y * w)
        return arr(np.asarray(jax.grad(loss)(jnp.asarray(xv))))

    gradients = {name: gradient(fn, x) for name, fn in fns.items()}
    gradients["softmax_axis0"] = gradient(lambda v: acts.softmax(v, axis=0), x)
    gradients["log_softmax_axis0"] = gradient(lambda v: acts.log_softmax(v, axis=0), x)

    def variant_fn(name, args):
        if name == "sparsemax":
            return lambda v: sparsemax(v, **args)
        return lambda v: getattr(acts, name)(v, **args)

    variant_entries = []
    for name, args, xv in variants:
        fn = variant_fn(name, args)
        entry = {"name": name, "args": args}
        if xv is not x:
            entry["x"] = arr(xv)
        entry["output"] = arr(to_numpy(fn(xv)))
        entry["gradient"] = gradient(fn, xv)
        variant_entries.append(entry)

    # Record the defaults actually used (read from the function signatures).
    import inspect
    gelu_approx = inspect.signature(acts.gelu).parameters["approximate"].default
    leaky_slope = inspect.signature(acts.leaky_relu).parameters["negative_slope"].default

    write("activations.json", {
        **header(),
        "gelu_approximate": bool(gelu_approx),
        "leaky_relu_negative_slope": float(leaky_slope),
        "sparsemax_source": sparsemax_source,
        "x": arr(x),
        "outputs": outputs,
        "gradient_weights": arr(r),
        "gradients": gradients,
        "variants": variant_entries,
    })


def sparsemax_reference():
    """keras.activations.sparsemax if it projects onto the simplex, else the fix.

    Keras 3.15.1's sparsemax (every backend) computes its threshold from the sum of
    the cumulative sums over the support instead of the cumulative sum at the
    support's end (keras-team/keras#23425, fixed by #23469), so its rows do not sum
    to 1 when two or more logits are in the support. Kiln implements the fixed
    formula; this returns Keras's own function once it is fixed, and otherwise the
    JAX backend's code with that one line corrected (same ops, so same rounding and
    jax.grad gradient).
    """
    import jax.numpy as jnp

    def fixed(x, axis=-1):
        logits = jnp.asarray(x)
        logits_sorted = -1.0 * jnp.sort(logits * -1.0, axis=axis)
        logits_cumsum = jnp.cumsum(logits_sorted, axis=axis)
        r = jnp.arange(1, logits.shape[axis] + 1)
        r_shape = [1] * logits.ndim
        r_shape[axis] = -1
        r = r.reshape(r_shape)
        support = logits_sorted - (logits_cumsum - 1) / r > 0
        k = jnp.sum(support, axis=axis, keepdims=True)
        # The fix: the sum of the sorted logits in the support (= cumsum[k]).
        logits_sorted_safe = jnp.where(support, logits_sorted, 0.0)
        tau = (jnp.sum(logits_sorted_safe, axis=axis, keepdims=True) - 1) / k
        return jnp.maximum(logits - tau, 0.0)

    probe = np.array([[0.0, 0.5, 1.0]], dtype=F32)
    if np.allclose(to_numpy(keras.activations.sparsemax(probe)), to_numpy(fixed(probe))):
        return keras.activations.sparsemax, "keras"
    return fixed, ("keras-team/keras#23469: Keras 3.15.1's sparsemax is wrong when two "
                   "or more logits are in the support (#23425); the outputs here use "
                   "the JAX backend's code with the fix")


# ----------------------------------------------------------------------------
# 2. Dense layer forward passes
# ----------------------------------------------------------------------------

def make_dense():
    rng = np.random.default_rng(2002)
    x = rng.normal(0.0, 1.0, size=(3, 4)).astype(F32)
    kernel = rng.uniform(-1.0, 1.0, size=(4, 5)).astype(F32)
    bias = rng.uniform(-0.5, 0.5, size=(5,)).astype(F32)

    outputs = {}
    for key, activation in [("linear", None), ("relu", "relu"),
                            ("sigmoid", "sigmoid"), ("softmax", "softmax"),
                            ("tanh", "tanh")]:
        layer = keras.layers.Dense(5, activation=activation)
        layer.build((None, 4))
        layer.set_weights([kernel, bias])
        outputs[key] = arr(to_numpy(layer(x)))

    layer = keras.layers.Dense(5, use_bias=False)
    layer.build((None, 4))
    layer.set_weights([kernel])
    outputs["no_bias"] = arr(to_numpy(layer(x)))

    write("dense.json", {
        **header(),
        "x": arr(x),
        "kernel": arr(kernel),
        "bias": arr(bias),
        "outputs": outputs,
    })


# ----------------------------------------------------------------------------
# 3. Losses
# ----------------------------------------------------------------------------

LOSS_CLASSES = {
    "categorical_crossentropy": keras.losses.CategoricalCrossentropy,
    "sparse_categorical_crossentropy": keras.losses.SparseCategoricalCrossentropy,
    "binary_crossentropy": keras.losses.BinaryCrossentropy,
    "mean_squared_error": keras.losses.MeanSquaredError,
    "mean_absolute_error": keras.losses.MeanAbsoluteError,
    "huber": keras.losses.Huber,
}


def np_softmax(z):
    z = z - z.max(axis=-1, keepdims=True)
    e = np.exp(z)
    return (e / e.sum(axis=-1, keepdims=True)).astype(F32)


def np_sigmoid(z):
    return (1.0 / (1.0 + np.exp(-z))).astype(F32)


def make_losses():
    rng = np.random.default_rng(3003)
    cases = []

    def case(name, args, y_true, y_pred, comment):
        loss = LOSS_CLASSES[name](**args)
        value = loss(y_true, y_pred)
        cases.append({
            "name": name,
            "comment": comment,
            "args": args,
            "y_true": arr(y_true),
            "y_pred": arr(y_pred),
            "value": scalar(to_numpy(value)),
        })

    # --- categorical crossentropy: batch 5, 4 classes ----------------------
    labels = rng.integers(0, 4, size=5).astype(np.int32)
    onehot = np.eye(4, dtype=F32)[labels]
    logits = rng.normal(0.0, 2.0, size=(5, 4)).astype(F32)
    probs = np_softmax(logits)
    case("categorical_crossentropy", {}, onehot, probs,
         "probabilities (rows of a softmax)")
    case("categorical_crossentropy", {"from_logits": True}, onehot, logits,
         "raw logits")

    # Exact 0 and exact 1 predictions exercise the epsilon clipping:
    # row 0 predicts the true class with probability exactly 1,
    # row 1 predicts the true class with probability exactly 0.
    cc_true = np.array([[0, 1, 0, 0],
                        [1, 0, 0, 0],
                        [0, 0, 1, 0]], dtype=F32)
    cc_pred = np.array([[0.0, 1.0, 0.0, 0.0],
                        [0.0, 0.5, 0.25, 0.25],
                        [0.1, 0.2, 0.3, 0.4]], dtype=F32)
    case("categorical_crossentropy", {}, cc_true, cc_pred,
         "probabilities containing exact 0 and 1 (epsilon clipping)")

    # --- sparse categorical crossentropy: int32 labels of shape [5] --------
    s_labels = rng.integers(0, 4, size=5).astype(np.int32)
    s_logits = rng.normal(0.0, 2.0, size=(5, 4)).astype(F32)
    case("sparse_categorical_crossentropy", {}, s_labels, np_softmax(s_logits),
         "int32 labels, probabilities")
    case("sparse_categorical_crossentropy", {"from_logits": True}, s_labels,
         s_logits, "int32 labels, raw logits")

    # --- binary crossentropy ----------------------------------------------
    b_true = rng.integers(0, 2, size=(6, 1)).astype(F32)
    b_pred = rng.uniform(0.05, 0.95, size=(6, 1)).astype(F32)
    case("binary_crossentropy", {}, b_true, b_pred, "probabilities, shape [6, 1]")

    b_true2 = rng.integers(0, 2, size=(4, 3)).astype(F32)
    b_logits2 = rng.normal(0.0, 2.0, size=(4, 3)).astype(F32)
    case("binary_crossentropy", {}, b_true2, np_sigmoid(b_logits2),
         "probabilities, shape [4, 3]")
    case("binary_crossentropy", {"from_logits": True}, b_true2, b_logits2,
         "raw logits, shape [4, 3]")

    # Exact 0/1 predictions, both right and wrong (epsilon clipping).
    b_true3 = np.array([[1, 0, 1], [0, 1, 0]], dtype=F32)
    b_pred3 = np.array([[1.0, 0.0, 0.0], [1.0, 0.7, 0.2]], dtype=F32)
    case("binary_crossentropy", {}, b_true3, b_pred3,
         "probabilities containing exact 0 and 1 (epsilon clipping)")

    # --- regression losses: shape [5, 3] -----------------------------------
    r_true = rng.normal(0.0, 1.0, size=(5, 3)).astype(F32)
    r_pred = (r_true + rng.normal(0.0, 1.0, size=(5, 3))).astype(F32)
    # Make sure a few errors are well beyond either Huber delta.
    r_pred[0, 0] = r_true[0, 0] + F32(2.5)
    r_pred[3, 2] = r_true[3, 2] - F32(1.75)
    r_pred = r_pred.astype(F32)
    case("mean_squared_error", {}, r_true, r_pred, "shape [5, 3]")
    case("mean_absolute_error", {}, r_true, r_pred, "shape [5, 3]")
    case("huber", {}, r_true, r_pred, "default delta (1.0), shape [5, 3]")
    case("huber", {"delta": 0.5}, r_true, r_pred, "delta 0.5, shape [5, 3]")

    write("losses.json", {
        **header(),
        "reduction": "sum_over_batch_size",
        "epsilon": float(keras.backend.epsilon()),
        "cases": cases,
    })


# ----------------------------------------------------------------------------
# 4. Training: 5 x train_on_batch per optimizer config
# ----------------------------------------------------------------------------

WEIGHT_KEYS = ["dense/kernel", "dense/bias", "dense_1/kernel", "dense_1/bias"]

OPTIMIZERS = {
    "sgd": keras.optimizers.SGD,
    "adam": keras.optimizers.Adam,
    "rmsprop": keras.optimizers.RMSprop,
}

# (optimizer name, constructor kwargs, loss)
RUNS = [
    ("sgd", {"learning_rate": 0.1}, "categorical_crossentropy"),
    ("sgd", {"learning_rate": 0.1, "momentum": 0.9}, "categorical_crossentropy"),
    ("sgd", {"learning_rate": 0.05, "momentum": 0.9, "nesterov": True},
     "categorical_crossentropy"),
    ("adam", {"learning_rate": 0.01}, "categorical_crossentropy"),
    ("adam", {"learning_rate": 0.01, "amsgrad": True}, "categorical_crossentropy"),
    # With the default beta_2 = 0.999 the second-moment estimate v only grows
    # during 5 steps, so AMSGrad's max(v_hat, v) barely changes anything
    # (final weights differ from plain Adam by ~6e-6). A small beta_2 lets v
    # shrink, so this pair of runs tells AMSGrad apart from Adam (final
    # weights differ by ~1.6e-2).
    ("adam", {"learning_rate": 0.01, "beta_2": 0.5}, "categorical_crossentropy"),
    ("adam", {"learning_rate": 0.01, "beta_2": 0.5, "amsgrad": True},
     "categorical_crossentropy"),
    ("rmsprop", {"learning_rate": 0.01}, "categorical_crossentropy"),
    ("rmsprop", {"learning_rate": 0.01, "momentum": 0.9, "centered": True},
     "categorical_crossentropy"),
    ("adam", {"learning_rate": 0.01}, "mean_squared_error"),
]

STEPS = 5


def build_model(initial):
    """Fresh Sequential model with explicit layer names and given weights."""
    model = keras.Sequential([
        keras.Input((4,)),
        keras.layers.Dense(8, activation="relu", name="dense"),
        keras.layers.Dense(3, activation="softmax", name="dense_1"),
    ])
    model.set_weights([initial[k] for k in WEIGHT_KEYS])
    return model


def model_weights(model):
    ws = model.get_weights()  # order: dense/kernel, dense/bias, dense_1/...
    return {k: arr(w) for k, w in zip(WEIGHT_KEYS, ws)}


def make_training():
    rng = np.random.default_rng(4004)
    initial = {
        "dense/kernel": rng.uniform(-0.5, 0.5, size=(4, 8)).astype(F32),
        "dense/bias": rng.uniform(-0.1, 0.1, size=(8,)).astype(F32),
        "dense_1/kernel": rng.uniform(-0.5, 0.5, size=(8, 3)).astype(F32),
        "dense_1/bias": rng.uniform(-0.1, 0.1, size=(3,)).astype(F32),
    }
    x = rng.normal(0.0, 1.0, size=(16, 4)).astype(F32)
    labels = rng.integers(0, 3, size=16)
    y = np.eye(3, dtype=F32)[labels]

    runs = []
    for opt_name, kwargs, loss_name in RUNS:
        keras.utils.clear_session()
        model = build_model(initial)
        optimizer = OPTIMIZERS[opt_name](**kwargs)
        model.compile(optimizer=optimizer, loss=loss_name)
        losses = []
        for _ in range(STEPS):
            # train_on_batch returns the loss computed in the forward pass,
            # i.e. with the weights *before* this step's update.
            loss = model.train_on_batch(x, y)
            losses.append(scalar(loss))
        runs.append({
            "optimizer": opt_name,
            "config": kwargs,
            "loss": loss_name,
            "losses": losses,
            "final_weights": model_weights(model),
        })

    # Default configs; clear_session() first so the auto-generated "name"
    # field does not pick up a counter suffix (e.g. "adam_1").
    defaults = {}
    for name, cls in OPTIMIZERS.items():
        keras.utils.clear_session()
        defaults[name] = jsonable(cls().get_config())

    write("training.json", {
        **header(),
        "model": "Sequential([Input((4,)), Dense(8, relu, name='dense'), "
                 "Dense(3, softmax, name='dense_1')])",
        "steps": STEPS,
        "note": "losses[i] is the value returned by the i-th train_on_batch "
                "call: the loss on the weights before update i.",
        "initial_weights": {k: arr(v) for k, v in initial.items()},
        "x": arr(x),
        "y": arr(y),
        "runs": runs,
        "optimizer_defaults": defaults,
    })


def summary():
    """Print a short human-readable summary of what was written."""
    def load(name):
        with open(os.path.join(OUT_DIR, name)) as f:
            return json.load(f)

    a = load("activations.json")
    print(f"\nKeras {a['keras_version']} / backend {a['backend']}")
    print(f"gelu approximate default: {a['gelu_approximate']}, "
          f"leaky_relu negative_slope default: {a['leaky_relu_negative_slope']}")
    print("activations:", ", ".join(a["outputs"]))
    print("dense outputs:", ", ".join(load("dense.json")["outputs"]))
    print("losses:")
    for c in load("losses.json")["cases"]:
        print(f"  {c['name']:32s} {json.dumps(c['args']):22s} {c['value']:.6f}"
              f"  ({c['comment']})")
    t = load("training.json")
    print("training runs (loss per step):")
    for r in t["runs"]:
        ls = " ".join(f"{v:.5f}" for v in r["losses"])
        print(f"  {r['optimizer']:8s} {json.dumps(r['config']):58s} {r['loss']:25s} {ls}")
    for name, cfg in t["optimizer_defaults"].items():
        extra = {k: v for k, v in cfg.items()
                 if k in ("learning_rate", "momentum", "nesterov", "beta_1",
                          "beta_2", "epsilon", "amsgrad", "rho", "centered")}
        print(f"  default {name}: {extra}")


def main():
    os.makedirs(OUT_DIR, exist_ok=True)
    keras.utils.set_random_seed(0)  # nothing random should remain, but be safe
    make_activations()
    make_dense()
    make_losses()
    make_training()
    summary()


if __name__ == "__main__":
    main()
