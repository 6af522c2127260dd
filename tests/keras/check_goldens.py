#!/usr/bin/env python3
"""Independent NumPy re-derivation of the Keras goldens (sanity check).

    /work/venvs/keras/bin/python tests/keras/check_goldens.py

Re-computes every value in tests/keras/goldens/*.json with plain NumPy
(float32), using the formulas Keras 3 implements, and prints the largest
absolute difference per item. It does not import Keras, so it documents the
exact semantics the Rust implementation must reproduce (epsilon clipping,
optimizer update rules, what train_on_batch returns).
"""

import json
import math
import os

import numpy as np

F = np.float32
DIR = os.path.join(os.path.dirname(os.path.abspath(__file__)), "goldens")
EPS = F(1e-7)  # keras.backend.epsilon()
TOL = 1e-5
failures = []


def load(name):
    with open(os.path.join(DIR, name)) as f:
        return json.load(f)


def A(o, dtype=F):
    return np.array(o["data"], dtype=dtype).reshape(o["shape"])


def report(label, got, want):
    err = float(np.max(np.abs(np.asarray(got, np.float64) - np.asarray(want, np.float64))))
    flag = "" if err <= TOL else "   <-- MISMATCH"
    if flag:
        failures.append(label)
    print(f"  {label:60s} max|diff| = {err:.2e}{flag}")


def softmax(z, axis=-1):
    e = np.exp(z - z.max(axis=axis, keepdims=True))
    return e / e.sum(axis=axis, keepdims=True)


def sigmoid(z):
    return F(1) / (F(1) + np.exp(-z))


def sparsemax(z):
    """Euclidean projection of each row onto the simplex (Martins & Astudillo 2016)."""
    s = -np.sort(-z, axis=-1)
    k = np.arange(1, z.shape[-1] + 1)
    c = np.cumsum(s, axis=-1)
    support = s - (c - 1) / k > 0
    n = support.sum(axis=-1, keepdims=True)
    tau = (np.take_along_axis(c, n - 1, axis=-1) - 1) / n
    return np.maximum(z - tau, 0)


# --- activations ------------------------------------------------------------
print("activations.json")
a = load("activations.json")
x = A(a["x"])
erf = np.vectorize(math.erf)
alpha, scale = 1.6732632423543772, 1.0507009873554805  # SELU constants
ref = {
    "relu": np.maximum(x, 0),
    "sigmoid": sigmoid(x),
    "tanh": np.tanh(x),
    "softmax": softmax(x),
    "log_softmax": np.log(softmax(x)),
    "gelu": 0.5 * x * (1 + erf(x / np.sqrt(2))),   # approximate=False (exact erf)
    "elu": np.where(x > 0, x, np.expm1(x)),
    "selu": scale * np.where(x > 0, x, alpha * np.expm1(x)),
    "softplus": np.log1p(np.exp(x)),
    "softsign": x / (1 + np.abs(x)),
    "silu": x * sigmoid(x),
    "swish": x * sigmoid(x),
    "leaky_relu": np.where(x > 0, x, a["leaky_relu_negative_slope"] * x),
    "hard_sigmoid": np.clip(x / 6 + 0.5, 0, 1),    # relu6(x + 3) / 6
    "exponential": np.exp(x),
    "linear": x,
    "softmax_axis0": softmax(x, axis=0),
    "log_softmax_axis0": np.log(softmax(x, axis=0)),
    "relu6": np.clip(x, 0, 6),
    "celu": np.maximum(x, 0) + np.expm1(np.minimum(x, 0)),          # alpha=1
    "glu": x[:, :3] * sigmoid(x[:, 3:]),                              # halves the last axis
    "hard_silu": x * np.clip(x + 3, 0, 6) / 6,
    "hard_swish": x * np.clip(x + 3, 0, 6) / 6,
    "hard_tanh": np.clip(x, -1, 1),
    "hard_shrink": np.where(np.abs(x) > 0.5, x, 0),                  # threshold=0.5
    "soft_shrink": np.where(x > 0.5, x - 0.5, np.where(x < -0.5, x + 0.5, 0)),
    "log_sigmoid": -np.logaddexp(0, -x),
    "mish": x * np.tanh(np.logaddexp(0, x)),
    "sparse_plus": np.where(x <= -1, 0, np.where(x >= 1, x, (x + 1) ** 2 / 4)),
    "sparse_sigmoid": np.clip((x + 1) / 2, 0, 1),
    "sparsemax": sparsemax(x),                                        # the simplex projection
    "squareplus": (x + np.sqrt(x * x + 4)) / 2,                       # b=4
    "tanh_shrink": x - np.tanh(x),
}
for k, v in a["outputs"].items():
    report(k, v["data"], ref[k].reshape(-1))

# --- dense --------------------------------------------------------------------
print("dense.json")
d = load("dense.json")
z = A(d["x"]) @ A(d["kernel"]) + A(d["bias"])
ref = {"linear": z, "relu": np.maximum(z, 0), "sigmoid": sigmoid(z),
       "softmax": softmax(z), "tanh": np.tanh(z),
       "no_bias": A(d["x"]) @ A(d["kernel"])}
for k, v in d["outputs"].items():
    report(k, v["data"], ref[k].reshape(-1))

# --- losses ---------------------------------------------------------------------
print("losses.json")
for c in load("losses.json")["cases"]:
    name, args = c["name"], c["args"]
    yp = A(c["y_pred"])
    if name == "sparse_categorical_crossentropy":
        yt = np.eye(yp.shape[-1], dtype=F)[A(c["y_true"], np.int64)]
        name = "categorical_crossentropy"
    else:
        yt = A(c["y_true"])
    if name == "categorical_crossentropy":
        if args.get("from_logits"):
            p = softmax(yp)
        else:  # Keras renormalises rows, then clips to [eps, 1 - eps]
            p = np.clip(yp / yp.sum(-1, keepdims=True), EPS, 1 - EPS)
        v = -(yt * np.log(p)).sum(-1).mean()
    elif name == "binary_crossentropy":
        p = sigmoid(yp) if args.get("from_logits") else np.clip(yp, EPS, 1 - EPS)
        v = -(yt * np.log(p) + (1 - yt) * np.log(1 - p)).mean()
    elif name == "mean_squared_error":
        v = ((yt - yp) ** 2).mean()
    elif name == "mean_absolute_error":
        v = np.abs(yt - yp).mean()
    elif name == "huber":
        dl = args.get("delta", 1.0)
        e = np.abs(yt - yp)
        v = np.where(e <= dl, 0.5 * e * e, dl * e - 0.5 * dl * dl).mean()
    report(f"{c['name']} {json.dumps(args)} ({c['comment']})"[:60], c["value"], v)

# --- training -----------------------------------------------------------------
print("training.json")
t = load("training.json")
KEYS = ["dense/kernel", "dense/bias", "dense_1/kernel", "dense_1/bias"]
x, y = A(t["x"]), A(t["y"])
n, k = y.shape


def loss_and_grads(W, loss):
    """Forward pass of Dense(8, relu) -> Dense(3, softmax) and backprop."""
    W1, b1, W2, b2 = W
    z1 = x @ W1 + b1
    h = np.maximum(z1, 0)
    p = softmax(h @ W2 + b2)
    if loss == "categorical_crossentropy":
        L = -(y * np.log(np.clip(p, EPS, 1 - EPS))).sum(1).mean()
        dz2 = (p - y) / n            # clip is inactive for these probabilities
    else:  # mean_squared_error: mean over all n*k elements
        L = ((p - y) ** 2).mean()
        dp = 2 * (p - y) / (n * k)
        dz2 = p * (dp - (dp * p).sum(1, keepdims=True))
    dz1 = (dz2 @ W2.T) * (z1 > 0)
    return L, [x.T @ dz1, dz1.sum(0), h.T @ dz2, dz2.sum(0)]


def run(r):
    cfg = {k: v for k, v in t["optimizer_defaults"][r["optimizer"]].items()}
    cfg.update(r["config"])
    lr = F(cfg["learning_rate"])
    W = [A(t["initial_weights"][key]).copy() for key in KEYS]
    st = [{s: np.zeros_like(w) for s in ("m", "v", "vhat", "g_avg")} for w in W]
    losses = []
    for step in range(1, t["steps"] + 1):
        L, G = loss_and_grads(W, r["loss"])
        losses.append(L)                 # loss BEFORE the update
        for w, g, s in zip(W, G, st):
            if r["optimizer"] == "sgd":
                mom = F(cfg["momentum"])
                if mom != 0:
                    s["m"][:] = mom * s["m"] - lr * g
                    w += (mom * s["m"] - lr * g) if cfg["nesterov"] else s["m"]
                else:
                    w -= lr * g
            elif r["optimizer"] == "adam":
                b1, b2, eps = F(cfg["beta_1"]), F(cfg["beta_2"]), F(cfg["epsilon"])
                alpha_t = lr * np.sqrt(1 - b2 ** step) / (1 - b1 ** step)
                s["m"] += (g - s["m"]) * (1 - b1)
                s["v"] += (g * g - s["v"]) * (1 - b2)
                v = s["v"]
                if cfg["amsgrad"]:
                    s["vhat"][:] = np.maximum(s["vhat"], s["v"])
                    v = s["vhat"]
                w -= s["m"] * alpha_t / (np.sqrt(v) + eps)   # eps OUTSIDE sqrt
            elif r["optimizer"] == "rmsprop":
                rho, eps = F(cfg["rho"]), F(cfg["epsilon"])
                s["v"][:] = rho * s["v"] + (1 - rho) * g * g
                if cfg["centered"]:
                    s["g_avg"][:] = rho * s["g_avg"] + (1 - rho) * g
                    denom = s["v"] - s["g_avg"] ** 2 + eps
                else:
                    denom = s["v"] + eps                      # eps INSIDE sqrt
                inc = lr * g / np.sqrt(denom)
                if cfg["momentum"] > 0:
                    s["m"][:] = F(cfg["momentum"]) * s["m"] + inc
                    w -= s["m"]
                else:
                    w -= inc
    return losses, W


for r in t["runs"]:
    losses, W = run(r)
    label = f"{r['optimizer']} {json.dumps(r['config'])} {r['loss'][:4]}"
    report(label + " losses", r["losses"], losses)
    report(label + " weights",
           np.concatenate([A(r["final_weights"][key]).ravel() for key in KEYS]),
           np.concatenate([w.ravel() for w in W]))

print("\nALL OK" if not failures else f"\n{len(failures)} MISMATCHES: {failures}")
raise SystemExit(1 if failures else 0)
