"""Writes the hostile-file corpus of tests/bad_files/ (read by crates/kiln/tests/bad_files.rs).

Every file is a small, deterministic variation of a good file with one defect: truncated,
garbage, empty, wrong magic, huge declared shapes, mismatched weight shapes, unknown layer
classes and config fields, deeply nested JSON, zip bombs, duplicate zip members, wrong
dtypes, absurd layer configs. Each loader has a folder:

    kiln/         Kiln model files (Model::load on .kiln)
    safetensors/  save_weights files (Model::load_weights)
    npy/          NumPy .npy arrays (kiln::npy)

The keras/ and h5/ folders are written by make_bad_keras_files.py, which needs Keras.

`good.*` in each folder is the control: it must load. Run from anywhere:

    python3 tests/bad_files/make_bad_files.py

It needs only Python's standard library. The outputs are committed; the script only
documents and regenerates them.
"""

import io
import json
import os
import struct
import zipfile
import warnings
import zlib

HERE = os.path.dirname(os.path.abspath(__file__))
FIXED_TIME = (1980, 1, 1, 0, 0, 0)


def write(folder, name, data):
    os.makedirs(os.path.join(HERE, folder), exist_ok=True)
    with open(os.path.join(HERE, folder, name), "wb") as f:
        f.write(data)


def deep_json(depth):
    """A JSON array nested `depth` deep: [[[[...]]]]."""
    return "[" * depth + "]" * depth


def make_zip(members, compress=None):
    """A zip of (name, bytes) members; `compress` names the deflated ones (default: all
    but *.safetensors, as Kiln writes them)."""
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        for name, data in members:
            info = zipfile.ZipInfo(name, date_time=FIXED_TIME)
            deflate = (not name.endswith(".safetensors")) if compress is None else name in compress
            info.compress_type = zipfile.ZIP_DEFLATED if deflate else zipfile.ZIP_STORED
            z.writestr(info, data)
    return buf.getvalue()


def patch_sizes(archive, name, uncompressed):
    """Rewrites the uncompressed size that `archive` declares for `name`, in the local
    header and the central directory (the data and its CRC stay as they are)."""
    data = bytearray(archive)
    raw = name.encode()
    # Local file header: signature PK\3\4, uncompressed size at offset 22, name at 30.
    pos = 0
    while True:
        pos = data.find(b"PK\x03\x04", pos)
        if pos < 0:
            break
        n = struct.unpack_from("<H", data, pos + 26)[0]
        if bytes(data[pos + 30 : pos + 30 + n]) == raw:
            struct.pack_into("<I", data, pos + 22, uncompressed)
        pos += 4
    # Central directory entry: signature PK\1\2, uncompressed size at 24, name at 46.
    pos = 0
    while True:
        pos = data.find(b"PK\x01\x02", pos)
        if pos < 0:
            break
        n = struct.unpack_from("<H", data, pos + 28)[0]
        if bytes(data[pos + 46 : pos + 46 + n]) == raw:
            struct.pack_into("<I", data, pos + 24, uncompressed)
        pos += 4
    return bytes(data)


def garbage(n, seed=7):
    """Deterministic pseudo-random bytes (a linear congruential generator)."""
    out = bytearray()
    x = seed
    for _ in range(n):
        x = (x * 6364136223846793005 + 1442695040888963407) % (1 << 64)
        out.append(x >> 56)
    return bytes(out)


# ---------------------------------------------------------------------------------------
# safetensors


def safetensors(tensors, metadata=None, header_override=None):
    """safetensors bytes: an 8-byte little-endian header length, the JSON header, the data.
    `tensors` is a list of (name, dtype, shape, bytes)."""
    header = {}
    if metadata is not None:
        header["__metadata__"] = metadata
    data = b""
    for name, dtype, shape, raw in tensors:
        header[name] = {"dtype": dtype, "shape": shape, "data_offsets": [len(data), len(data) + len(raw)]}
        data += raw
    text = header_override if header_override is not None else json.dumps(header, separators=(",", ":"))
    text = text.encode()
    text += b" " * (-len(text) % 8)
    return struct.pack("<Q", len(text)) + text + data


def f32(values):
    return struct.pack("<%df" % len(values), *values)


KERNEL = [0.1 * (i + 1) for i in range(12)]  # 4 x 3
BIAS = [0.5, -0.5, 0.25]


def good_weights(kernel_shape=(4, 3), kernel_dtype="F32"):
    return [
        ("dense/bias", "F32", [3], f32(BIAS)),
        ("dense/kernel", kernel_dtype, list(kernel_shape), f32(KERNEL)),
    ]


def make_safetensors():
    good = safetensors(good_weights(), metadata={"format": "kiln"})
    write("safetensors", "good.safetensors", good)
    write("safetensors", "empty.safetensors", b"")
    write("safetensors", "garbage.safetensors", garbage(256))
    write("safetensors", "truncated.safetensors", good[: len(good) - 20])
    write("safetensors", "huge_header_length.safetensors", struct.pack("<Q", 1 << 60) + good[8:])
    huge = [("dense/bias", "F32", [3], f32(BIAS)), ("dense/kernel", "F32", [1 << 20, 1 << 20], f32(KERNEL))]
    write("safetensors", "huge_declared_shape.safetensors", safetensors(huge))
    overflow = [("dense/bias", "F32", [3], f32(BIAS)), ("dense/kernel", "F32", [1 << 62, 1 << 62, 16], f32(KERNEL))]
    write("safetensors", "overflowing_shape.safetensors", safetensors(overflow))
    write("safetensors", "mismatched_shape.safetensors", safetensors(good_weights(kernel_shape=(3, 4))))
    write("safetensors", "wrong_dtype.safetensors", safetensors(good_weights(kernel_dtype="F16")[:1] + [
        ("dense/kernel", "F64", [4, 3], f32(KERNEL) + f32(KERNEL))]))
    write("safetensors", "unknown_dtype.safetensors", safetensors(good_weights(kernel_dtype="X99")))
    write("safetensors", "missing_weight.safetensors", safetensors(good_weights()[1:]))
    write("safetensors", "extra_weight.safetensors",
          safetensors(good_weights() + [("dense/evil", "F32", [1], f32([1.0]))]))
    # The same tensor name twice in the header, both entries consistent with the data.
    dup = ('{"dense/bias":{"dtype":"F32","shape":[3],"data_offsets":[0,12]},'
           '"dense/kernel":{"dtype":"F32","shape":[4,3],"data_offsets":[12,60]},'
           '"dense/kernel":{"dtype":"F32","shape":[12],"data_offsets":[12,60]}}')
    write("safetensors", "duplicate_name.safetensors", safetensors(good_weights(), header_override=dup))
    write("safetensors", "deep_header.safetensors",
          safetensors(good_weights(), header_override='{"__metadata__":%s}' % deep_json(10_000)))
    bad_offsets = ('{"dense/bias":{"dtype":"F32","shape":[3],"data_offsets":[0,12]},'
                   '"dense/kernel":{"dtype":"F32","shape":[4,3],"data_offsets":[12,999999999]}}')
    write("safetensors", "offsets_past_end.safetensors", safetensors(good_weights(), header_override=bad_offsets))
    write("safetensors", "header_not_json.safetensors", safetensors(good_weights(), header_override="{not json"))


# ---------------------------------------------------------------------------------------
# Kiln model files


def dense_config(**overrides):
    config = {
        "name": "dense",
        "units": 3,
        "activation": "linear",
        "use_bias": True,
        "kernel_initializer": "glorot_uniform",
        "bias_initializer": "zeros",
        "trainable": True,
    }
    config.update(overrides)
    return config


def model_json(layers=None, inputs=None, **extra):
    spec = {
        "name": "sequential",
        "kind": "sequential",
        "inputs": inputs or [{"name": "input_layer", "shape": [None, 4], "dtype": "f32"}],
        "layers": layers or [{"class_name": "Dense", "config": dense_config(), "inputs": [{"input": 0}]}],
        "outputs": [{"layer": {"call": 0, "output": 0}}],
    }
    spec.update(extra)
    return json.dumps(spec, indent=1).encode()


METADATA = json.dumps(
    {"format": "kiln-model", "format_version": 1, "kiln_version": "0.1.0", "model_name": "sequential"}
).encode()


def kiln_file(model=None, weights=None, metadata=METADATA, extra=(), compress=None):
    members = [
        ("metadata.json", metadata),
        ("model.json", model if model is not None else model_json()),
        ("graph.json", b"{}"),
        ("model.safetensors", weights if weights is not None else safetensors(good_weights())),
    ]
    return make_zip(members + list(extra), compress)


def one_layer(class_name, config, shape=(None, 4)):
    return model_json(
        layers=[{"class_name": class_name, "config": config, "inputs": [{"input": 0}]}],
        inputs=[{"name": "input_layer", "shape": list(shape), "dtype": "f32"}],
    )


def make_kiln():
    good = kiln_file()
    write("kiln", "good.kiln", good)
    write("kiln", "empty.kiln", b"")
    write("kiln", "garbage.kiln", garbage(512))
    write("kiln", "truncated.kiln", good[: len(good) // 2])
    write("kiln", "wrong_magic.kiln", b"XK\x03\x04" + good[4:])
    write("kiln", "wrong_format.kiln", kiln_file(metadata=METADATA.replace(b"kiln-model", b"other-model")))
    write("kiln", "future_version.kiln", kiln_file(metadata=METADATA.replace(b'"format_version": 1', b'"format_version": 99')))
    write("kiln", "missing_weights.kiln",
          make_zip([("metadata.json", METADATA), ("model.json", model_json()), ("graph.json", b"{}")]))
    write("kiln", "huge_declared_shape.kiln", kiln_file(weights=safetensors(
        [("dense/bias", "F32", [3], f32(BIAS)), ("dense/kernel", "F32", [1 << 20, 1 << 20], f32(KERNEL))])))
    write("kiln", "mismatched_weight_shape.kiln", kiln_file(weights=safetensors(good_weights(kernel_shape=(3, 4)))))
    write("kiln", "wrong_dtype.kiln", kiln_file(weights=safetensors(
        [("dense/bias", "F32", [3], f32(BIAS)), ("dense/kernel", "F64", [4, 3], f32(KERNEL) * 2)])))
    write("kiln", "weights_garbage.kiln", kiln_file(weights=garbage(100)))
    write("kiln", "unknown_layer_class.kiln", kiln_file(model=model_json(
        layers=[{"class_name": "Lambda", "config": {"name": "lambda", "function": "os.system('rm -rf /')"},
                 "inputs": [{"input": 0}]}])))
    write("kiln", "unknown_config_field.kiln", kiln_file(model=one_layer("Dense", dense_config(evil=1))))
    write("kiln", "unknown_model_field.kiln", kiln_file(model=model_json(evil=True)))
    write("kiln", "model_json_garbage.kiln", kiln_file(model=b"\x00\x01 not json"))
    write("kiln", "deep_json.kiln", kiln_file(model=model_json(
        layers=[{"class_name": "Dense", "config": "@@", "inputs": [{"input": 0}]}]).replace(
            b'"@@"', deep_json(10_000).encode())))
    # Deep but within serde_json's limit (128): layers nested in layers, through the registry.
    nested = dense_config()
    for level in range(60):
        nested = {"name": "td%d" % level, "layer": {"class_name": "TimeDistributed" if level else "Dense",
                                                     "config": nested}, "trainable": True}
    write("kiln", "deep_layer_nesting.kiln", kiln_file(model=one_layer("TimeDistributed", nested, shape=(None, 2, 4))))
    write("kiln", "dangling_reference.kiln", kiln_file(model=model_json(
        layers=[{"class_name": "Dense", "config": dense_config(), "inputs": [{"layer": {"call": 7, "output": 0}}]}])))
    # Absurd layer configs in a valid file: no terabyte allocations.
    write("kiln", "dense_units_huge.kiln", kiln_file(model=one_layer("Dense", dense_config(units=10**12))))
    # 4 x 10^8 weights (1.6 GB): within the per-weight limit, but not in a file this small.
    write("kiln", "dense_units_large.kiln", kiln_file(model=one_layer("Dense", dense_config(units=10**8))))
    write("kiln", "dense_units_overflow.kiln",
          kiln_file(model=one_layer("Dense", dense_config(units=1 << 62), shape=(None, 1 << 40))))
    write("kiln", "dense_units_negative.kiln", kiln_file(model=one_layer("Dense", dense_config(units=-5))))
    write("kiln", "input_shape_huge.kiln", kiln_file(model=model_json(
        inputs=[{"name": "input_layer", "shape": [None, 10**15], "dtype": "f32"}])))
    conv = {"name": "conv", "filters": 4, "kernel_size": [1000000, 1000000], "strides": [1, 1],
            "padding": "same", "data_format": "channels_last", "dilation_rate": [1, 1], "groups": 1,
            "activation": "linear", "use_bias": True, "kernel_initializer": "glorot_uniform",
            "bias_initializer": "zeros", "trainable": True}
    write("kiln", "conv_kernel_huge.kiln", kiln_file(model=one_layer("Conv2D", conv, shape=(None, 8, 8, 1))))
    reshape = {"name": "reshape", "target_shape": [1000000000000, 1000000000000]}
    write("kiln", "reshape_huge.kiln", kiln_file(model=one_layer("Reshape", reshape)))
    embedding = {"name": "embedding", "input_dim": 10**12, "output_dim": 10**6, "embeddings_initializer": "uniform",
                 "mask_zero": False, "trainable": True}
    write("kiln", "embedding_huge.kiln", kiln_file(model=one_layer("Embedding", embedding)))
    # Zip bombs: a member declaring 100 bytes that inflates to 10 MB, and one declaring 4 GB.
    bomb = kiln_file(model=model_json() + b" " * 10_000_000)
    write("kiln", "zip_bomb.kiln", patch_sizes(bomb, "model.json", 100))
    write("kiln", "huge_declared_member.kiln", patch_sizes(good, "model.json", 0xFFFFFFF0))
    write("kiln", "duplicate_member.kiln", kiln_file(extra=[("model.json", model_json(evil=True))]))
    write("kiln", "many_members.kiln", kiln_file(extra=[("extra/%d" % i, b"") for i in range(300)]))


# ---------------------------------------------------------------------------------------
# NumPy .npy files


def npy(header, data, version=(1, 0)):
    """A .npy file: magic, version, header length, the header text padded to 64, the data."""
    text = header.encode()
    prefix = 10 if version == (1, 0) else 12
    text += b" " * (-(prefix + len(text) + 1) % 64) + b"\n"
    size = struct.pack("<H", len(text)) if version == (1, 0) else struct.pack("<I", len(text))
    return b"\x93NUMPY" + bytes(version) + size + text + data


def make_npy():
    good_header = "{'descr': '<f4', 'fortran_order': False, 'shape': (4, 3), }"
    good = npy(good_header, f32(KERNEL))
    write("npy", "good.npy", good)
    write("npy", "empty.npy", b"")
    write("npy", "garbage.npy", garbage(128))
    write("npy", "truncated.npy", good[: len(good) - 10])
    write("npy", "wrong_magic.npy", b"\x93NUMPZ" + good[6:])
    write("npy", "huge_header_length.npy", b"\x93NUMPY\x02\x00" + struct.pack("<I", 0xFFFFFFF0) + good[10:])
    write("npy", "huge_declared_shape.npy", npy(good_header.replace("(4, 3)", "(1000000000000, 1000000000000)"), f32(KERNEL)))
    write("npy", "overflowing_shape.npy",
          npy(good_header.replace("(4, 3)", "(18446744073709551615, 18446744073709551615)"), f32(KERNEL)))
    write("npy", "object_dtype.npy", npy("{'descr': '|O', 'fortran_order': False, 'shape': (1,), }",
                                         b"\x80\x04cos\nsystem\n."))
    write("npy", "unknown_key.npy", npy(good_header.replace("}", "'evil': 1, }"), f32(KERNEL)))
    write("npy", "code_in_header.npy", npy("__import__('os').system('true')", f32(KERNEL)))
    write("npy", "deep_header.npy", npy("{'descr': '<f4', 'fortran_order': False, 'shape': %s, }"
                                        % ("(" * 2000 + ")" * 2000), f32(KERNEL)))


# ---------------------------------------------------------------------------------------
# Fuzzing seeds for fuzz/fuzz_targets/kiln_file.rs's second mode: model.json, 0xFF, then
# model.safetensors.


def make_fuzz_seeds():
    folder = os.path.join("..", "..", "fuzz", "seeds", "kiln_file")
    weights = safetensors(good_weights())
    small_conv = {"name": "conv", "filters": 2, "kernel_size": [3, 3], "strides": [1, 1], "padding": "same",
                  "data_format": "channels_last", "dilation_rate": [1, 1], "groups": 1, "activation": "relu",
                  "use_bias": True, "kernel_initializer": "glorot_uniform", "bias_initializer": "zeros",
                  "trainable": True}
    td = {"name": "td", "layer": {"class_name": "Dense", "config": dense_config()}, "trainable": True}
    seeds = {
        "dense.bin": model_json(),
        "conv2d.bin": one_layer("Conv2D", small_conv, shape=(None, 4, 4, 1)),
        "reshape.bin": one_layer("Reshape", {"name": "reshape", "target_shape": [2, -1]}),
        "time_distributed.bin": one_layer("TimeDistributed", td, shape=(None, 2, 4)),
        "embedding.bin": one_layer("Embedding", {"name": "embedding", "input_dim": 10, "output_dim": 3,
                                                 "embeddings_initializer": "uniform", "mask_zero": True,
                                                 "trainable": True}),
    }
    for name, text in seeds.items():
        write(folder, name, json.dumps(json.loads(text), separators=(",", ":")).encode() + b"\xff" + weights)


# ---------------------------------------------------------------------------------------


def main():
    warnings.filterwarnings("ignore", "Duplicate name")
    make_safetensors()
    make_kiln()
    make_npy()
    make_fuzz_seeds()


if __name__ == "__main__":
    main()
