#!/usr/bin/env python3
"""Generate per-layer golden reference data (forward + gradients) from Keras 3.

Run with the venv described in tests/keras/README.md:

    KERAS_BACKEND=jax JAX_PLATFORMS=cpu \
        /work/venvs/keras/bin/python tests/keras/make_layer_goldens.py [Class ...]

It writes one JSON file per Keras layer class into tests/keras/goldens/layers/
(<ClassName>.json, e.g. Conv2D.json), plus applications.json (parameter counts
and layer classes of a few keras.applications models). Pass class names (file
stems) to regenerate only those files.

Conventions (the same as make_goldens.py)
-----------------------------------------
* Every array is {"shape": [...], "data": [flat row-major values]}. Float
  arrays are float32 and each value is the exact double value of the float32
  number; integer arrays hold ints. To keep the files small the "data" and
  "shape" lists are written on one line each (still plain JSON).
* Every file has top-level "keras_version" and "backend" fields.
* Each case draws its inputs and weights from numpy.random.default_rng seeded
  with crc32(case name), so cases do not depend on each other and re-running
  with the same Keras/JAX versions reproduces the files byte for byte.

See the "Layer goldens" section of tests/keras/README.md for the case format.
"""

import json
import os
import sys
import zlib

# Keras 3 picks its backend at import time: force JAX on CPU.
os.environ["KERAS_BACKEND"] = "jax"
os.environ.setdefault("JAX_PLATFORMS", "cpu")

import warnings  # noqa: E402

import numpy as np  # noqa: E402
import jax  # noqa: E402
import jax.numpy as jnp  # noqa: E402
import keras  # noqa: E402

F32 = np.float32
OUT_DIR = os.path.join(os.path.dirname(os.path.abspath(__file__)),
                       "goldens", "layers")

# Weights whose value must stay positive / near 1 (scales and variances).
SCALE_LIKE = {"gamma", "moving_variance", "scale"}
# Variables set by the layer itself (adapt()) and never overwritten.
KEEP_VALUE_LAYERS = {"Normalization"}


# ----------------------------------------------------------------------------
# Encoding helpers (same conventions as make_goldens.py)
# ----------------------------------------------------------------------------

def arr(a):
    """Encode an array as {"shape": [...], "data": [...]} (row-major)."""
    a = np.asarray(a)
    if np.issubdtype(a.dtype, np.integer) or a.dtype == np.bool_:
        data = [int(v) for v in a.reshape(-1)]
    else:
        # Go through float32 so the value is exactly representable in f32.
        data = [float(v) for v in a.astype(F32).reshape(-1)]
    return {"shape": [int(d) for d in a.shape], "data": data}


def scalar(v):
    """A float32 scalar as an exact Python float."""
    return float(F32(np.asarray(v)))


def header():
    return {"keras_version": keras.__version__,
            "backend": keras.backend.backend()}


def dump(payload):
    """json.dumps(indent=1), but every array's shape/data list on one line."""
    compact = []

    def walk(obj):
        if isinstance(obj, dict):
            if set(obj) == {"shape", "data"}:
                out = {}
                for k in ("shape", "data"):
                    compact.append(json.dumps(obj[k], separators=(",", ":")))
                    out[k] = f"@@COMPACT{len(compact) - 1}@@"
                return out
            return {k: walk(v) for k, v in obj.items()}
        if isinstance(obj, list):
            return [walk(v) for v in obj]
        return obj

    text = json.dumps(walk(payload), indent=1)
    for i, c in enumerate(compact):
        text = text.replace(f'"@@COMPACT{i}@@"', c, 1)
    return text + "\n"


def write(name, payload):
    path = os.path.join(OUT_DIR, name)
    text = dump(payload)
    json.loads(text)  # sanity: still valid JSON
    with open(path, "w") as f:
        f.write(text)
    print(f"wrote {path} ({os.path.getsize(path)} bytes)")


def jsonify(v):
    if isinstance(v, Spec):
        return v.to_json()
    if isinstance(v, dict):
        return {k: jsonify(x) for k, x in v.items()}
    if isinstance(v, (list, tuple)):
        return [jsonify(x) for x in v]
    if isinstance(v, (np.floating,)):
        return float(v)
    if isinstance(v, (np.integer,)):
        return int(v)
    return v


# ----------------------------------------------------------------------------
# Layer / regularizer specs: the constructor call, exactly as written here
# ----------------------------------------------------------------------------

class Spec:
    """A constructor call `module.<cls>(**kwargs)`; kwargs may nest Specs."""

    def __init__(self, module, cls, **kwargs):
        self.module, self.cls, self.kwargs = module, cls, kwargs

    def build(self):
        def val(v):
            if isinstance(v, Spec):
                return v.build()
            return v
        return getattr(self.module, self.cls)(
            **{k: val(v) for k, v in self.kwargs.items()})

    def to_json(self):
        return {"class": self.cls, "config": jsonify(self.kwargs)}


def L(cls, **kwargs):
    return Spec(keras.layers, cls, **kwargs)


def Reg(cls, **kwargs):
    return Spec(keras.regularizers, cls, **kwargs)


# ----------------------------------------------------------------------------
# Running one case
# ----------------------------------------------------------------------------

FILES = {}     # class name -> list of cases
ONLY = set()   # file stems given on the command line (empty: all)
DROPPED = []   # (file, case name, reason)


def seed_of(name):
    return zlib.crc32(name.encode("utf-8"))


def rng_for(name):
    return np.random.default_rng(seed_of(name))


def normal(rng, shape, scale=1.0):
    return (rng.standard_normal(shape) * scale).astype(F32)


def shape_str(shape):
    return str(tuple(shape))


def keras_message(e):
    """The bold message line Keras puts in call errors, else the first line."""
    lines = str(e).strip().splitlines()
    for line in lines:
        if "\x1b[1m" in line:
            return line.replace("\x1b[1m", "").replace("\x1b[0m", "")[:200]
    return lines[0][:200] if lines else ""


def build_case_model(layers, inputs, *, multi_input=False, call_kwargs=None,
                     attention=False, call_inputs=None, mask_inputs=None,
                     mask_kwarg=None, adapt=None):
    """The layers of a case (Specs) and the functional keras.Model calling them.

    Also used by make_keras_files.py, which saves these models as files.
    """
    call_kwargs = dict(call_kwargs or {})
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        built = [s.build() for s in layers]
        if adapt is not None:
            built[0].adapt(adapt)
        kin = [keras.Input(shape=x.shape[1:], dtype=str(x.dtype))
               for x in inputs]
        if multi_input:
            out = built[0](kin, **call_kwargs)
            rest = built[1:]
        elif attention or mask_inputs is not None:
            idx = call_inputs if call_inputs is not None else [0]
            kw = dict(call_kwargs)
            if mask_inputs is not None:
                kw[mask_kwarg] = kin[mask_inputs]
            out = built[0](*[kin[i] for i in idx], **kw)
            rest = built[1:]
        else:
            out = built[0](kin[0], **call_kwargs)
            rest = built[1:]
        for layer in rest:
            out = layer(out)
        model = keras.Model(kin if len(kin) > 1 else kin[0], out)
    return built, model


def run_case(file, name, layers, inputs, *, training=False, multi_input=False,
             call_kwargs=None, attention=False, call_inputs=None,
             mask_inputs=None, mask_kwarg=None, adapt=None, extra=None):
    """Build the model, set weights, run forward + backward, record a case.

    inputs: list of numpy arrays (float32, or int32 for ids / masks).
    multi_input: layers[0] is called as layer([x0, x1, ...]).
    attention / call_inputs: layers[0] is called as
        layer(*[inputs[i] for i in call_inputs], **{mask_kwarg: inputs[mask_inputs]}).
    mask_inputs / mask_kwarg (also without attention): an int input passed
        to the (single) layer's call as keyword mask_kwarg.
    adapt: array passed to layers[0].adapt() before building the model.
    """
    if ONLY and file not in ONLY:
        return None
    call_kwargs = dict(call_kwargs or {})
    keras.utils.clear_session()
    rng = rng_for(f"{file}/{name}")
    try:
        built, model = build_case_model(
            layers, inputs, multi_input=multi_input, call_kwargs=call_kwargs,
            attention=attention, call_inputs=call_inputs,
            mask_inputs=mask_inputs, mask_kwarg=mask_kwarg, adapt=adapt)
    except Exception as e:  # Keras refuses this configuration
        msg = f"{type(e).__name__}: {str(e).splitlines()[0][:200]}"
        DROPPED.append((file, name, msg))
        print(f"  DROPPED {file}/{name}: {msg}")
        return None

    # --- set weights, layer by layer, in layer.weights order ---------------
    weights = []   # (layer index, variable)
    for li, layer in enumerate(built):
        for w in layer.weights:
            if type(layer).__name__ not in KEEP_VALUE_LAYERS:
                lo, hi = (0.5, 1.5) if w.name in SCALE_LIKE else (-0.5, 0.5)
                w.assign(rng.uniform(lo, hi, size=w.shape).astype(F32))
            weights.append((li, w))

    inputs = [np.asarray(x) for x in inputs]
    float_idx = [i for i, x in enumerate(inputs)
                 if np.issubdtype(x.dtype, np.floating)]

    out_shapes = model.output_shape
    if not isinstance(out_shapes, list):
        out_shapes = [out_shapes]
    # Upstream gradients (shapes of the outputs, which we learn below).
    tv = model.trainable_variables
    ntv = model.non_trainable_variables
    tv_vals = [v.value for v in tv]
    ntv_vals = [v.value for v in ntv]
    single_output = not isinstance(model.outputs, list) or len(model.outputs) == 1

    def forward(tv_vals, fin, upstream):
        xs = list(inputs)
        for i, x in zip(float_idx, fin):
            xs[i] = x
        arg = xs if len(xs) > 1 else xs[0]
        outputs, new_ntv, losses = model.stateless_call(
            tv_vals, ntv_vals, arg, training=training, return_losses=True)
        outs = [outputs] if single_output and not isinstance(outputs, (list, tuple)) \
            else list(outputs)
        total = sum(jnp.sum(o * r) for o, r in zip(outs, upstream))
        for l_ in losses:
            total = total + l_
        return total, (outs, new_ntv, losses)

    fin = [jnp.asarray(inputs[i]) for i in float_idx]
    # First pass to learn the output shapes, then draw the upstream tensors.
    try:
        probe_outs = forward(tv_vals, fin, [])[1][0]
    except Exception as e:  # Keras fails when the layer is called
        msg = f"{type(e).__name__}: {keras_message(e)}"
        DROPPED.append((file, name, msg))
        print(f"  DROPPED {file}/{name}: {msg}")
        return None
    upstream = [normal(rng, np.shape(o)) for o in probe_outs]
    (total, (outs, new_ntv, losses)), (g_tv, g_in) = jax.value_and_grad(
        forward, argnums=(0, 1), has_aux=True)(tv_vals, fin, upstream)

    tv_index = {id(v): i for i, v in enumerate(tv)}
    ntv_index = {id(v): i for i, v in enumerate(ntv)}

    grad_inputs = []
    for i in range(len(inputs)):
        grad_inputs.append(arr(np.asarray(g_in[float_idx.index(i)]))
                           if i in float_idx else None)

    rec = {
        "name": name,
        "layers": [s.to_json() for s in layers],
        "multi_input": bool(multi_input),
    }
    if attention:
        rec["attention"] = True
    if attention or mask_inputs is not None:
        rec["call_inputs"] = list(call_inputs if call_inputs is not None else [0])
    if mask_inputs is not None:
        rec["mask_inputs"] = mask_inputs
        rec["mask_kwarg"] = mask_kwarg
    rec["call_kwargs"] = jsonify(call_kwargs)
    if extra:
        rec.update(extra)
    if adapt is not None:
        rec["adapt"] = arr(adapt)
    rec["input_dtypes"] = [str(x.dtype) for x in inputs]
    rec["inputs"] = [arr(x) for x in inputs]
    rec["training"] = bool(training)
    rec["weights"] = [{
        "layer": li,
        "path": w.path,
        "name": w.name,
        "trainable": bool(w.trainable),
        "value": arr(np.asarray(w.value)),
    } for li, w in weights]
    rec["outputs"] = [arr(np.asarray(o)) for o in outs]
    rec["output_shapes"] = [shape_str(s) for s in out_shapes]
    # Keras's symbolic shape is wrong for a few activations (glu halves an axis but the
    # Activation layer reports its input shape); record the shape of the real output then.
    for i, (s_, o) in enumerate(zip(out_shapes, outs)):
        if tuple(s_[1:]) != tuple(np.asarray(o).shape[1:]):
            rec["output_shapes"][i] = shape_str((None,) + tuple(np.asarray(o).shape[1:]))
            rec["note"] = "Keras's symbolic output shape is wrong; the real output's shape is recorded"
    rec["params"] = {
        "trainable": int(sum(np.prod(w.shape) for w in model.trainable_weights)),
        "non_trainable": int(sum(np.prod(w.shape)
                                 for w in model.non_trainable_weights)),
    }
    if losses:
        rec["losses"] = [scalar(np.asarray(l_)) for l_ in losses]
    rec["upstream"] = [arr(u) for u in upstream]
    rec["grad_inputs"] = grad_inputs
    rec["grad_weights"] = [
        arr(np.asarray(g_tv[tv_index[id(w)]])) if w.trainable else None
        for _, w in weights]
    if training and any(not w.trainable for _, w in weights):
        rec["weights_after"] = [
            None if w.trainable else arr(np.asarray(new_ntv[ntv_index[id(w)]]))
            for _, w in weights]
    FILES.setdefault(file, []).append(rec)
    return rec


def case(file, name, layers, shapes, scale=1.0, **kw):
    """Float inputs of the given shapes from standard_normal * scale."""
    rng = rng_for(f"{file}/{name}/inputs")
    inputs = [normal(rng, s, scale) for s in shapes]
    return run_case(file, name, layers, inputs, **kw)


# ----------------------------------------------------------------------------
# The catalogue
# ----------------------------------------------------------------------------

def convolutions():
    f = "Conv1D"
    case(f, "conv1d_valid", [L(f, filters=3, kernel_size=3)], [(2, 8, 2)])
    case(f, "conv1d_same_strides2", [L(f, filters=3, kernel_size=3, strides=2,
                                       padding="same")], [(2, 8, 2)])
    case(f, "conv1d_dilation2", [L(f, filters=3, kernel_size=3,
                                   dilation_rate=2)], [(2, 8, 2)])
    case(f, "conv1d_groups2", [L(f, filters=4, kernel_size=3, groups=2)],
         [(2, 8, 4)])
    case(f, "conv1d_causal", [L(f, filters=3, kernel_size=3,
                                padding="causal")], [(2, 8, 2)])
    case(f, "conv1d_causal_dilation2", [L(f, filters=2, kernel_size=2,
                                          padding="causal", dilation_rate=2)],
         [(2, 8, 2)])

    f = "Conv2D"
    case(f, "conv2d_valid", [L(f, filters=3, kernel_size=3)], [(2, 5, 5, 2)])
    case(f, "conv2d_same_strides2_even", [L(f, filters=3, kernel_size=3,
                                            strides=2, padding="same")],
         [(2, 6, 6, 2)])
    case(f, "conv2d_same_strides2_odd", [L(f, filters=3, kernel_size=3,
                                           strides=2, padding="same")],
         [(2, 5, 5, 2)])
    case(f, "conv2d_same_kernel2_even", [L(f, filters=2, kernel_size=(2, 4),
                                           padding="same")], [(2, 4, 6, 2)])
    case(f, "conv2d_dilation2", [L(f, filters=3, kernel_size=3,
                                   dilation_rate=2)], [(2, 7, 6, 2)])
    case(f, "conv2d_groups2", [L(f, filters=4, kernel_size=3, groups=2)],
         [(2, 5, 5, 4)])
    case(f, "conv2d_no_bias", [L(f, filters=3, kernel_size=(2, 3),
                                 use_bias=False)], [(2, 5, 5, 2)])
    case(f, "conv2d_channels_first_valid", [L(f, filters=3, kernel_size=3,
                                              data_format="channels_first")],
         [(2, 2, 5, 6)])
    case(f, "conv2d_relu", [L(f, filters=3, kernel_size=3, activation="relu")],
         [(2, 5, 5, 2)])
    case(f, "conv2d_strides_2_1_valid", [L(f, filters=2, kernel_size=(3, 2),
                                           strides=(2, 1))], [(2, 7, 5, 2)])

    f = "Conv2DTranspose"
    case(f, "conv2d_transpose_valid", [L(f, filters=3, kernel_size=3)],
         [(2, 4, 4, 2)])
    case(f, "conv2d_transpose_same_strides2", [L(f, filters=3, kernel_size=3,
                                                 strides=2, padding="same")],
         [(2, 3, 4, 2)])
    case(f, "conv2d_transpose_strides2_kernel3_valid",
         [L(f, filters=3, kernel_size=3, strides=2)], [(2, 3, 4, 2)])
    case(f, "conv2d_transpose_output_padding1_strides2",
         [L(f, filters=2, kernel_size=3, strides=2, output_padding=1)],
         [(2, 3, 3, 2)])
    case(f, "conv2d_transpose_output_padding1_strides2_same",
         [L(f, filters=2, kernel_size=3, strides=2, padding="same",
            output_padding=1)], [(2, 3, 3, 2)])
    case(f, "conv2d_transpose_same_strides2_kernel4",
         [L(f, filters=2, kernel_size=4, strides=2, padding="same")],
         [(2, 3, 3, 2)])

    f = "SeparableConv2D"
    case(f, "separable_conv2d_mult2_same",
         [L(f, filters=3, kernel_size=3, depth_multiplier=2, padding="same")],
         [(2, 5, 5, 2)])
    case(f, "separable_conv2d_valid",
         [L(f, filters=3, kernel_size=3)], [(2, 5, 5, 2)])

    f = "DepthwiseConv2D"
    case(f, "depthwise_conv2d_mult1", [L(f, kernel_size=3)], [(2, 5, 5, 3)])
    case(f, "depthwise_conv2d_mult2", [L(f, kernel_size=3, depth_multiplier=2)],
         [(2, 5, 5, 2)])
    case(f, "depthwise_conv2d_strides2_same",
         [L(f, kernel_size=3, strides=2, padding="same")], [(2, 6, 6, 3)])


def pooling():
    for f, shape in [("MaxPooling1D", (2, 8, 3)), ("AveragePooling1D", (2, 8, 3))]:
        p = f.lower().replace("pooling1d", "_pooling1d")
        # AveragePooling needs pool_size in Keras 3.15; MaxPooling defaults to 2.
        dflt = {} if f.startswith("Max") else {"pool_size": 2}
        case(f, f"{p}_default", [L(f, **dflt)], [(2, 7, 3)])
        case(f, f"{p}_strides1_same", [L(f, pool_size=2, strides=1,
                                          padding="same")], [shape])
        case(f, f"{p}_pool3_strides2_same_even",
             [L(f, pool_size=3, strides=2, padding="same")], [shape])
        case(f, f"{p}_pool3_strides2_valid",
             [L(f, pool_size=3, strides=2)], [(2, 9, 2)])
    for f, shape in [("MaxPooling2D", (2, 6, 6, 2)),
                     ("AveragePooling2D", (2, 6, 6, 2))]:
        p = f.lower().replace("pooling2d", "_pooling2d")
        dflt = {} if f.startswith("Max") else {"pool_size": 2}
        case(f, f"{p}_default", [L(f, **dflt)], [(2, 5, 5, 2)])
        case(f, f"{p}_strides1_same", [L(f, pool_size=2, strides=1,
                                          padding="same")], [(2, 4, 5, 2)])
        case(f, f"{p}_pool3_strides2_same_even",
             [L(f, pool_size=3, strides=2, padding="same")], [shape])
        case(f, f"{p}_pool3_strides2_valid",
             [L(f, pool_size=3, strides=2)], [(2, 7, 6, 2)])
        case(f, f"{p}_channels_first",
             [L(f, pool_size=2, data_format="channels_first")], [(2, 2, 4, 4)])

    for f, shape in [("GlobalMaxPooling1D", (2, 6, 3)),
                     ("GlobalAveragePooling1D", (2, 6, 3)),
                     ("GlobalMaxPooling2D", (2, 4, 5, 3)),
                     ("GlobalAveragePooling2D", (2, 4, 5, 3))]:
        p = f.lower().replace("global", "global_").replace("pooling", "_pooling")
        case(f, f"{p}_default", [L(f)], [shape])
        case(f, f"{p}_keepdims", [L(f, keepdims=True)], [shape])
        case(f, f"{p}_channels_first", [L(f, data_format="channels_first")],
             [shape])


def normalization():
    f = "BatchNormalization"
    case(f, "batch_norm_inference", [L(f)], [(4, 3)])
    case(f, "batch_norm_inference_rank4", [L(f)], [(2, 3, 3, 4)])
    case(f, "batch_norm_training", [L(f)], [(4, 3)], training=True)
    case(f, "batch_norm_training_rank4", [L(f)], [(2, 3, 3, 4)], training=True)
    case(f, "batch_norm_axis1_rank4_inference", [L(f, axis=1)], [(2, 3, 4, 2)])
    case(f, "batch_norm_axis1_rank4_training", [L(f, axis=1)], [(2, 3, 4, 2)],
         training=True)
    case(f, "batch_norm_no_center_no_scale_inference",
         [L(f, center=False, scale=False)], [(4, 3)])
    case(f, "batch_norm_no_center_no_scale_training",
         [L(f, center=False, scale=False)], [(4, 3)], training=True)
    case(f, "batch_norm_momentum_epsilon_training",
         [L(f, momentum=0.9, epsilon=0.01)], [(5, 2)], training=True)

    f = "LayerNormalization"
    case(f, "layer_norm_default", [L(f)], [(2, 3, 4)])
    case(f, "layer_norm_axis_1_2", [L(f, axis=[1, 2])], [(2, 3, 4)])
    case(f, "layer_norm_rms_scaling", [L(f, rms_scaling=True)], [(2, 3, 4)],
         extra={"note": "rms_scaling=True is deprecated in Keras 3.15: it "
                "computes x * rsqrt(var(x) + eps) * gamma (variance, not the "
                "mean square; beta is unused)"})
    case(f, "layer_norm_no_center_no_scale",
         [L(f, center=False, scale=False)], [(2, 3, 4)])
    case(f, "layer_norm_epsilon", [L(f, epsilon=0.1)], [(2, 5)])

    f = "RMSNormalization"
    case(f, "rms_norm_default", [L(f)], [(2, 3, 4)])
    case(f, "rms_norm_axis_1_2_eps", [L(f, axis=[1, 2], epsilon=0.01)],
         [(2, 3, 4)])

    f = "GroupNormalization"
    case(f, "group_norm_groups2", [L(f, groups=2)], [(2, 3, 3, 4)])
    case(f, "group_norm_groups2_rank3", [L(f, groups=2)], [(2, 5, 4)])
    case(f, "group_norm_groups1", [L(f, groups=1)], [(2, 5, 4)])


def random_layers():
    case("Dropout", "dropout_inference", [L("Dropout", rate=0.5)], [(2, 5)])
    case("SpatialDropout1D", "spatial_dropout1d_inference",
         [L("SpatialDropout1D", rate=0.5)], [(2, 4, 3)])
    case("SpatialDropout2D", "spatial_dropout2d_inference",
         [L("SpatialDropout2D", rate=0.5)], [(2, 3, 3, 2)])
    case("GaussianNoise", "gaussian_noise_inference",
         [L("GaussianNoise", stddev=0.5)], [(2, 5)])
    case("GaussianDropout", "gaussian_dropout_inference",
         [L("GaussianDropout", rate=0.3)], [(2, 5)])
    case("AlphaDropout", "alpha_dropout_inference",
         [L("AlphaDropout", rate=0.3)], [(2, 5)])

    f = "ActivityRegularization"
    case(f, "activity_regularization_l1_l2",
         [L(f, l1=0.01, l2=0.02)], [(2, 5)])
    case(f, "activity_regularization_l2_rank3",
         [L(f, l2=0.05)], [(3, 2, 4)])
    case(f, "activity_regularization_l1_training",
         [L(f, l1=0.1)], [(2, 5)], training=True)

    f = "Dense"
    case(f, "dense_kernel_l1", [L(f, units=4, kernel_regularizer=Reg("L1", l1=0.01))],
         [(2, 5)])
    case(f, "dense_kernel_l2", [L(f, units=4, kernel_regularizer=Reg("L2", l2=0.02))],
         [(2, 5)])
    case(f, "dense_kernel_l1l2_bias_l2",
         [L(f, units=4, kernel_regularizer=Reg("L1L2", l1=0.01, l2=0.02),
            bias_regularizer=Reg("L2", l2=0.02))], [(2, 5)])
    case(f, "dense_bias_l1", [L(f, units=3, bias_regularizer=Reg("L1", l1=0.05))],
         [(2, 5)])
    case(f, "dense_activity_regularizer_l2",
         [L(f, units=3, activity_regularizer=Reg("L2", l2=0.1))], [(2, 5)])


def activation_layers():
    f = "ReLU"
    case(f, "relu_default", [L(f)], [(2, 6)], scale=4.0)
    case(f, "relu_max_value6", [L(f, max_value=6.0)], [(2, 3, 6)], scale=5.0)
    case(f, "relu_negative_slope_threshold",
         [L(f, negative_slope=0.1, threshold=0.5)], [(2, 3, 6)], scale=2.0)
    case(f, "relu_all_args", [L(f, max_value=3.0, negative_slope=0.2,
                                threshold=0.25)], [(2, 3, 6)], scale=3.0)
    f = "LeakyReLU"
    case(f, "leaky_relu_default", [L(f)], [(2, 6)])
    case(f, "leaky_relu_0_1", [L(f, negative_slope=0.1)], [(2, 6)])
    f = "PReLU"
    case(f, "prelu_default", [L(f)], [(2, 3, 4)])
    case(f, "prelu_shared_axes_1_2", [L(f, shared_axes=[1, 2])], [(2, 3, 3, 4)])
    f = "ELU"
    case(f, "elu_default", [L(f)], [(2, 6)])
    case(f, "elu_alpha0_5", [L(f, alpha=0.5)], [(2, 6)])
    f = "Softmax"
    case(f, "softmax_default", [L(f)], [(2, 3, 4)])
    case(f, "softmax_axis1", [L(f, axis=1)], [(2, 3, 4)])
    case(f, "softmax_axis_1_2", [L(f, axis=[1, 2])], [(2, 3, 4)])
    rng = rng_for("Softmax/softmax_with_mask/inputs")
    x = normal(rng, (2, 3, 4))
    m = np.array([[[1, 1, 0, 1], [1, 0, 0, 0], [1, 1, 1, 1]],
                  [[0, 1, 1, 1], [1, 1, 1, 0], [0, 0, 0, 0]]], dtype=np.int32)
    run_case(f, "softmax_with_mask", [L(f)], [x, m], mask_inputs=1,
             mask_kwarg="mask", call_inputs=[0])

    # Every activation function in keras.activations as Activation("<name>").
    f = "Activation"
    helpers = {"get", "serialize", "deserialize"}
    names = sorted(n for n in dir(keras.activations)
                   if not n.startswith("_") and n not in helpers
                   and callable(getattr(keras.activations, n)))
    rng = rng_for("Activation/inputs")
    x = normal(rng, (2, 3, 6), 2.0)
    for n in names:
        # keras.activations.sparsemax in Keras 3.15.1 gives rows that do not sum to 1
        # (keras-team/keras#23425); goldens/activations.json checks the corrected formula.
        if n == "sparsemax":
            continue
        run_case(f, f"activation_{n}", [L(f, activation=n)], [x])


def embedding_masking():
    f = "Embedding"
    rng = rng_for("Embedding/plain/inputs")
    ids = rng.integers(0, 6, size=(2, 5)).astype(np.int32)
    ids[0, 1] = 0
    ids[1, 4] = 0
    run_case(f, "embedding_plain", [L(f, input_dim=6, output_dim=3)], [ids])
    ids2 = rng.integers(1, 8, size=(2, 7)).astype(np.int32)
    ids2[0, 5:] = 0          # trailing padding
    ids2[1, 2] = 0           # a zero in the middle
    run_case(f, "embedding_mask_zero_lstm",
             [L(f, input_dim=8, output_dim=3, mask_zero=True),
              L("LSTM", units=3)], [ids2])
    run_case(f, "embedding_mask_zero_lstm_sequences",
             [L(f, input_dim=8, output_dim=3, mask_zero=True),
              L("LSTM", units=3, return_sequences=True)], [ids2])

    f = "Masking"
    rng = rng_for("Masking/inputs")
    x = normal(rng, (2, 6, 3))
    x[0, 4:] = 0.0
    x[1, 1] = 0.0
    run_case(f, "masking_simple_rnn", [L(f, mask_value=0.0),
                                       L("SimpleRNN", units=3)], [x])
    run_case(f, "masking_simple_rnn_sequences",
             [L(f, mask_value=0.0), L("SimpleRNN", units=3,
                                      return_sequences=True)], [x])
    run_case(f, "masking_alone", [L(f, mask_value=0.0)], [x])


def recurrent():
    shape = (2, 12, 3)
    for f in ["SimpleRNN", "LSTM", "GRU"]:
        p = {"SimpleRNN": "simple_rnn", "LSTM": "lstm", "GRU": "gru"}[f]
        case(f, f"{p}_default", [L(f, units=3)], [shape])
        case(f, f"{p}_return_sequences", [L(f, units=3, return_sequences=True)],
             [shape])
        case(f, f"{p}_return_state", [L(f, units=3, return_state=True)], [shape])
        case(f, f"{p}_go_backwards", [L(f, units=3, go_backwards=True)], [shape])
        case(f, f"{p}_go_backwards_sequences",
             [L(f, units=3, go_backwards=True, return_sequences=True)],
             [(2, 5, 3)])
        case(f, f"{p}_sequences_state",
             [L(f, units=2, return_sequences=True, return_state=True)],
             [(2, 5, 3)])
    case("SimpleRNN", "simple_rnn_relu_no_bias",
         [L("SimpleRNN", units=3, activation="relu", use_bias=False)], [(2, 6, 3)])
    case("GRU", "gru_reset_after_false", [L("GRU", units=3, reset_after=False)],
         [shape])
    case("GRU", "gru_reset_after_false_sequences",
         [L("GRU", units=3, reset_after=False, return_sequences=True)],
         [(2, 5, 3)])
    case("LSTM", "lstm_stacked",
         [L("LSTM", units=3, return_sequences=True), L("LSTM", units=2)],
         [shape])
    case("LSTM", "lstm_no_bias", [L("LSTM", units=3, use_bias=False)],
         [(2, 6, 3)])

    f = "Bidirectional"
    case(f, "bidirectional_lstm_concat",
         [L(f, layer=L("LSTM", units=3))], [(2, 6, 3)])
    case(f, "bidirectional_lstm_sum",
         [L(f, layer=L("LSTM", units=3), merge_mode="sum")], [(2, 6, 3)])
    case(f, "bidirectional_lstm_return_sequences",
         [L(f, layer=L("LSTM", units=3, return_sequences=True))], [(2, 6, 3)])
    case(f, "bidirectional_lstm_mul_sequences",
         [L(f, layer=L("LSTM", units=2, return_sequences=True),
            merge_mode="mul")], [(2, 5, 3)])
    case(f, "bidirectional_lstm_ave",
         [L(f, layer=L("LSTM", units=2), merge_mode="ave")], [(2, 5, 3)])
    case(f, "bidirectional_gru",
         [L(f, layer=L("GRU", units=2))], [(2, 5, 3)])


def attention():
    f = "MultiHeadAttention"
    rng = rng_for("MultiHeadAttention/inputs")
    q = normal(rng, (2, 4, 5))
    v = normal(rng, (2, 6, 5))
    k = normal(rng, (2, 6, 5))
    mha = dict(num_heads=2, key_dim=3)
    run_case(f, "mha_self_attention", [L(f, **mha)], [q], attention=True,
             call_inputs=[0, 0])
    run_case(f, "mha_cross_attention", [L(f, **mha)], [q, v], attention=True,
             call_inputs=[0, 1])
    run_case(f, "mha_cross_attention_key", [L(f, **mha)], [q, v, k],
             attention=True, call_inputs=[0, 1, 2])
    # The plain call fails in Keras 3.15 / JAX when value_dim != key_dim: the
    # fused dot_product_attention path reshapes the (B, T, N, value_dim)
    # result to key_dim. It is kept here so the drop is listed; the two cases
    # after it take the einsum path (dropout > 0, or return_attention_scores).
    run_case(f, "mha_value_dim4_output_shape7",
             [L(f, **mha, value_dim=4, output_shape=7)], [q, v],
             attention=True, call_inputs=[0, 1])
    run_case(f, "mha_value_dim4_output_shape7_dropout_inference",
             [L(f, **mha, value_dim=4, output_shape=7, dropout=0.1)], [q, v],
             attention=True, call_inputs=[0, 1],
             extra={"note": "dropout > 0 only makes Keras take the einsum "
                    "attention path; training=false, so nothing is dropped"})
    run_case(f, "mha_value_dim4_output_shape7_return_scores",
             [L(f, **mha, value_dim=4, output_shape=7)], [q, v],
             attention=True, call_inputs=[0, 1],
             call_kwargs={"return_attention_scores": True})
    mask = (rng.uniform(size=(2, 4, 6)) > 0.3).astype(np.int32)
    mask[:, :, 0] = 1   # every query sees at least one key
    mask[1, 2, :] = 0   # one query row fully masked
    mask[1, 2, 0] = 0
    run_case(f, "mha_attention_mask", [L(f, **mha)], [q, v, mask],
             attention=True, call_inputs=[0, 1], mask_inputs=2,
             mask_kwarg="attention_mask",
             extra={"note": "query row [1, 2] is fully masked: on this (fused "
                    "dot_product_attention) path it attends uniformly to all "
                    "keys"})
    run_case(f, "mha_attention_mask_return_scores", [L(f, **mha)], [q, v, mask],
             attention=True, call_inputs=[0, 1], mask_inputs=2,
             mask_kwarg="attention_mask",
             call_kwargs={"return_attention_scores": True},
             extra={"note": "einsum path (return_attention_scores): the fully "
                    "masked query row [1, 2] gets all-zero attention scores, "
                    "so its output is just the output bias"})
    run_case(f, "mha_causal_self_attention", [L(f, **mha)], [q],
             attention=True, call_inputs=[0, 0],
             call_kwargs={"use_causal_mask": True})
    run_case(f, "mha_causal_cross_attention", [L(f, **mha)], [q, v],
             attention=True, call_inputs=[0, 1],
             call_kwargs={"use_causal_mask": True})
    run_case(f, "mha_no_bias", [L(f, **mha, use_bias=False)], [q, v],
             attention=True, call_inputs=[0, 1])

    f = "Attention"
    case(f, "attention_dot", [L(f)], [(2, 4, 3), (2, 5, 3)], multi_input=True)
    case(f, "attention_use_scale", [L(f, use_scale=True)],
         [(2, 4, 3), (2, 5, 3)], multi_input=True)
    case(f, "attention_concat", [L(f, score_mode="concat")],
         [(2, 4, 3), (2, 5, 3)], multi_input=True)
    case(f, "attention_concat_use_scale",
         [L(f, use_scale=True, score_mode="concat")],
         [(2, 4, 3), (2, 5, 3)], multi_input=True)
    case(f, "attention_query_value_key", [L(f)],
         [(2, 4, 3), (2, 5, 3), (2, 5, 3)], multi_input=True)
    case(f, "attention_causal", [L(f)], [(2, 4, 3), (2, 4, 3)],
         multi_input=True, call_kwargs={"use_causal_mask": True})
    f = "AdditiveAttention"
    case(f, "additive_attention_default", [L(f)], [(2, 4, 3), (2, 5, 3)],
         multi_input=True)
    case(f, "additive_attention_no_scale", [L(f, use_scale=False)],
         [(2, 4, 3), (2, 5, 3)], multi_input=True)


def reshaping():
    case("Reshape", "reshape_3_4", [L("Reshape", target_shape=(3, 4))], [(2, 12)])
    case("Reshape", "reshape_minus1", [L("Reshape", target_shape=(-1, 2))],
         [(2, 3, 4)])
    case("Flatten", "flatten_rank3", [L("Flatten")], [(2, 3, 4)])
    case("Flatten", "flatten_rank4", [L("Flatten")], [(2, 2, 3, 2)])
    case("Permute", "permute_2_1", [L("Permute", dims=(2, 1))], [(2, 3, 4)])
    case("Permute", "permute_3_1_2", [L("Permute", dims=(3, 1, 2))], [(2, 2, 3, 4)])
    case("RepeatVector", "repeat_vector_3", [L("RepeatVector", n=3)], [(2, 4)])
    case("UpSampling1D", "upsampling1d_2", [L("UpSampling1D", size=2)], [(2, 3, 2)])
    case("UpSampling2D", "upsampling2d_2_3", [L("UpSampling2D", size=(2, 3))],
         [(2, 2, 3, 2)])
    case("UpSampling2D", "upsampling2d_bilinear",
         [L("UpSampling2D", size=2, interpolation="bilinear")], [(2, 3, 3, 2)])
    case("ZeroPadding1D", "zero_padding1d_1_2",
         [L("ZeroPadding1D", padding=(1, 2))], [(2, 3, 2)])
    case("ZeroPadding2D", "zero_padding2d_asym",
         [L("ZeroPadding2D", padding=((1, 0), (2, 1)))], [(2, 3, 3, 2)])
    case("ZeroPadding2D", "zero_padding2d_default", [L("ZeroPadding2D")],
         [(2, 2, 3, 2)])
    case("Cropping1D", "cropping1d_default", [L("Cropping1D")], [(2, 5, 2)])
    case("Cropping1D", "cropping1d_0_2", [L("Cropping1D", cropping=(0, 2))],
         [(2, 5, 2)])
    case("Cropping2D", "cropping2d_asym",
         [L("Cropping2D", cropping=((1, 0), (0, 2)))], [(2, 4, 5, 2)])
    case("TimeDistributed", "time_distributed_dense",
         [L("TimeDistributed", layer=L("Dense", units=3))], [(2, 4, 5)])
    case("TimeDistributed", "time_distributed_conv2d",
         [L("TimeDistributed", layer=L("Conv2D", filters=2, kernel_size=3))],
         [(2, 3, 5, 5, 2)])


def merging():
    case("Add", "add_two", [L("Add")], [(2, 3, 4)] * 2, multi_input=True)
    case("Add", "add_three", [L("Add")], [(2, 3, 4)] * 3, multi_input=True)
    case("Add", "add_broadcast", [L("Add")], [(2, 3, 4), (2, 1, 4)],
         multi_input=True)
    case("Subtract", "subtract", [L("Subtract")], [(2, 3, 4)] * 2,
         multi_input=True)
    case("Multiply", "multiply_three", [L("Multiply")], [(2, 3, 4)] * 3,
         multi_input=True)
    case("Average", "average_three", [L("Average")], [(2, 3, 4)] * 3,
         multi_input=True)
    case("Maximum", "maximum_three", [L("Maximum")], [(2, 3, 4)] * 3,
         multi_input=True)
    case("Minimum", "minimum_two", [L("Minimum")], [(2, 3, 4)] * 2,
         multi_input=True)
    case("Concatenate", "concatenate_axis1", [L("Concatenate", axis=1)],
         [(2, 3, 4), (2, 2, 4)], multi_input=True)
    case("Concatenate", "concatenate_default_three", [L("Concatenate")],
         [(2, 3, 4), (2, 3, 2), (2, 3, 1)], multi_input=True)
    case("Dot", "dot_axes1", [L("Dot", axes=1)], [(2, 5), (2, 5)],
         multi_input=True)
    case("Dot", "dot_axes_2_2_normalize", [L("Dot", axes=(2, 2), normalize=True)],
         [(2, 3, 4), (2, 5, 4)], multi_input=True)
    case("Dot", "dot_axes_1_1_rank3", [L("Dot", axes=(1, 1))],
         [(2, 3, 4), (2, 3, 2)], multi_input=True)


def preprocessing_and_dense():
    case("Rescaling", "rescaling_1_255_minus1",
         [L("Rescaling", scale=1 / 255, offset=-1)], [(2, 4)], scale=100.0)
    rng = rng_for("Normalization/adapt")
    data = (rng.standard_normal((10, 3)) * np.array([1.0, 2.0, 0.5])
            + np.array([0.5, -1.0, 3.0])).astype(F32)
    case("Normalization", "normalization_adapted", [L("Normalization")], [(2, 3)],
         adapt=data, extra={"note": "weights are the values adapt() computed "
                            "(mean, variance, count), not random values"})
    data2 = (rng.standard_normal((6, 2, 3)) + 1.0).astype(F32)
    case("Normalization", "normalization_adapted_rank3", [L("Normalization")],
         [(2, 2, 3)], adapt=data2,
         extra={"note": "weights are the values adapt() computed"})
    case("Normalization", "normalization_fixed_mean_variance",
         [L("Normalization", mean=[0.5, -1.0], variance=[4.0, 0.25])], [(2, 2)],
         extra={"note": "no adapt: mean/variance given to the constructor"})
    case("Dense", "dense_relu", [L("Dense", units=4, activation="relu")], [(2, 5)])
    case("Dense", "dense_rank3", [L("Dense", units=3)], [(2, 3, 4)])


def applications():
    apps = ["MobileNetV2", "MobileNetV3Small", "MobileNetV3Large", "ResNet50",
            "EfficientNetB0"]
    out = []
    for name in apps:
        keras.utils.clear_session()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            # MobileNetV3's default input_shape is (None, None, 3); pass
            # 224x224x3 explicitly for all (the parameter counts are the same).
            model = getattr(keras.applications, name)(
                weights=None, input_shape=(224, 224, 3))
        tr = int(sum(np.prod(w.shape) for w in model.trainable_weights))
        ntr = int(sum(np.prod(w.shape) for w in model.non_trainable_weights))
        rec = {
            "name": name,
            "call": f"keras.applications.{name}(weights=None, "
                    "input_shape=(224, 224, 3))",
            "input_shape": shape_str(model.input_shape),
            "output_shape": shape_str(model.output_shape),
            "total_params": int(model.count_params()),
            "trainable_params": tr,
            "non_trainable_params": ntr,
            "num_layers": len(model.layers),
            "layer_classes": sorted({type(l).__name__ for l in model.layers}),
            "layer_class_counts": {
                c: sum(type(l).__name__ == c for l in model.layers)
                for c in sorted({type(l).__name__ for l in model.layers})},
        }
        print(f"  {name}: {rec['total_params']} params, "
              f"{len(rec['layer_classes'])} classes")
        out.append(rec)
    write("applications.json", {**header(), "models": out})


GROUPS = [convolutions, pooling, normalization, random_layers,
          activation_layers, embedding_masking, recurrent, attention,
          reshaping, merging, preprocessing_and_dense]


def main():
    os.makedirs(OUT_DIR, exist_ok=True)
    only = set(sys.argv[1:])
    ONLY.update(only)
    keras.utils.set_random_seed(0)  # nothing random should remain, but be safe
    for g in GROUPS:
        g()
    total = 0
    for file, cases in sorted(FILES.items()):
        if only and file not in only:
            continue
        names = [c["name"] for c in cases]
        assert len(names) == len(set(names)), f"duplicate case names in {file}"
        write(f"{file}.json", {**header(), "cases": cases})
        total += len(cases)
    if not only or "applications" in only:
        applications()
    print(f"\n{total} cases in {len([f for f in FILES if not only or f in only])} files")
    if DROPPED:
        print("dropped cases:")
        for file, name, msg in DROPPED:
            print(f"  {file}/{name}: {msg}")


if __name__ == "__main__":
    main()
