"""Writes the Keras part of the hostile-file corpus: tests/bad_files/keras/ (Keras 3 .keras
archives, `Model::load` on .keras) and tests/bad_files/h5/ (legacy Keras .h5 files,
`Model::load` on .h5), read by crates/kiln/tests/bad_files.rs and used as fuzzing seeds
(fuzz/seeds/keras_file/, fuzz/seeds/legacy_h5/).

`good.keras` and `good.h5` are the controls: a Sequential model `Input((4,)) -> Dense(3,
name="dense")` whose kernel (4, 3) holds 0.1, 0.2, ..., 1.2 (row-major) and bias (0.5, -0.5,
0.25), saved by Keras itself. Every other file is one of them with one defect. Run:

    KERAS_BACKEND=jax JAX_PLATFORMS=cpu /work/venvs/keras/bin/python tests/bad_files/make_bad_keras_files.py

The .keras archives are rebuilt from Keras's members with a fixed date (and metadata.json's
`date_saved` and config.json's object ids fixed), so the script writes the same bytes each
time. tests/bad_files/README.md lists every file and its defect.
"""

import io
import json
import os
import re
import struct
import sys
import tempfile
import warnings
import zipfile

import h5py
import numpy as np

import keras

HERE = os.path.dirname(os.path.abspath(__file__))
FIXED_TIME = (1980, 1, 1, 0, 0, 0)

KERNEL = (0.1 * np.arange(1, 13, dtype=np.float64)).astype(np.float32).reshape(4, 3)
BIAS = np.array([0.5, -0.5, 0.25], dtype=np.float32)


def write(folder, name, data):
    os.makedirs(os.path.join(HERE, folder), exist_ok=True)
    with open(os.path.join(HERE, folder, name), "wb") as f:
        f.write(data)


def garbage(n, seed=11):
    """Deterministic pseudo-random bytes (a linear congruential generator)."""
    out = bytearray()
    x = seed
    for _ in range(n):
        x = (x * 6364136223846793005 + 1442695040888963407) % (1 << 64)
        out.append(x >> 56)
    return bytes(out)


# ---------------------------------------------------------------------------------------
# Models, saved by Keras


def dense_model(extra=None):
    """The control model; `extra` (a layer) is appended after the Dense."""
    layers = [keras.Input((4,)), keras.layers.Dense(3, name="dense")]
    if extra is not None:
        layers.append(extra)
    model = keras.Sequential(layers, name="sequential")
    model.get_layer("dense").set_weights([KERNEL, BIAS])
    return model


@keras.saving.register_keras_serializable(package="Evil")
class Doubler(keras.layers.Layer):
    """A custom layer: Kiln cannot know it."""

    def call(self, x):
        return x * 2.0


def saved(model, suffix):
    """The bytes Keras writes for `model.save("x" + suffix)`."""
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "model" + suffix)
        if suffix == ".weights.h5":
            model.save_weights(path)
        else:
            model.save(path)
        with open(path, "rb") as f:
            return f.read()


def members(keras_bytes):
    """The (name, bytes) members of a .keras archive, metadata.json's date fixed and
    config.json's `shared_object_id`s (Python object ids) numbered 1, 2, ..."""
    out = []
    with zipfile.ZipFile(io.BytesIO(keras_bytes)) as z:
        for name in z.namelist():
            data = z.read(name)
            if name == "metadata.json":
                meta = json.loads(data)
                meta["date_saved"] = "1980-01-01@00:00:00"
                data = json.dumps(meta).encode()
            if name == "config.json":
                ids = {}
                data = re.sub(rb'"shared_object_id": (\d+)',
                              lambda m: b'"shared_object_id": %d' % ids.setdefault(m.group(1), len(ids) + 1), data)
            out.append((name, data))
    return out


def make_zip(items, deflate=()):
    """A zip of (name, bytes) items, stored as Keras stores them except the `deflate` names."""
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        for name, data in items:
            info = zipfile.ZipInfo(name, date_time=FIXED_TIME)
            info.compress_type = zipfile.ZIP_DEFLATED if name in deflate else zipfile.ZIP_STORED
            z.writestr(info, data)
    return buf.getvalue()


def patch_sizes(archive, name, uncompressed):
    """Rewrites the uncompressed size that `archive` declares for `name`, in the local
    header and the central directory (the data and its CRC stay as they are)."""
    data = bytearray(archive)
    raw = name.encode()
    for signature, name_len_at, name_at, size_at in ((b"PK\x03\x04", 26, 30, 22), (b"PK\x01\x02", 28, 46, 24)):
        pos = 0
        while True:
            pos = data.find(signature, pos)
            if pos < 0:
                break
            n = struct.unpack_from("<H", data, pos + name_len_at)[0]
            if bytes(data[pos + name_at : pos + name_at + n]) == raw:
                struct.pack_into("<I", data, pos + size_at, uncompressed)
            pos += 4
    return bytes(data)


def with_config(items, edit):
    """`items` with config.json replaced by `edit(config)` (a dict) or by raw bytes."""
    out = []
    for name, data in items:
        if name == "config.json":
            if callable(edit):
                config = json.loads(data)
                edit(config)
                data = json.dumps(config).encode()
            else:
                data = edit
        out.append((name, data))
    return out


def dense_config(config):
    """The Dense layer's config inside a Sequential model config."""
    return next(l for l in config["config"]["layers"] if l["class_name"] == "Dense")["config"]


def units(n):
    """An edit of a model config: the Dense layer's units set to `n`."""

    def edit(config):
        dense_config(config)["units"] = n

    return edit


# ---------------------------------------------------------------------------------------
# .keras


def make_keras(good_h5):
    good_items = members(saved(dense_model(), ".keras"))
    assert [n for n, _ in good_items] == ["metadata.json", "config.json", "model.weights.h5"], good_items
    good = make_zip(good_items)
    # The control must give Keras's own numbers back.
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "good.keras")
        with open(path, "wb") as f:
            f.write(good)
        y = keras.saving.load_model(path).predict(np.array([[1, 2, 3, 4]], np.float32), verbose=0)
        np.testing.assert_allclose(y, [[7.5, 7.5, 9.25]], rtol=1e-6)
    write("keras", "good.keras", good)
    write("keras", "truncated.keras", good[: len(good) // 2])
    write("keras", "garbage.keras", garbage(512))
    write("keras", "empty.keras", b"")
    # An HDF5 file (the legacy .h5 control) named .keras.
    write("keras", "wrong_magic.keras", good_h5)
    write("keras", "lambda.keras", make_zip(members(saved(dense_model(keras.layers.Lambda(lambda x: x * 2.0)), ".keras"))))
    write("keras", "unknown_layer_class.keras", make_zip(members(saved(dense_model(Doubler(name="doubler")), ".keras"))))

    def evil_arg(config):
        dense_config(config)["evil"] = 1

    write("keras", "unknown_config_argument.keras", make_zip(with_config(good_items, evil_arg)))

    # 4 x 10^9 weights declared by the config, 60 bytes of them in the file: over the
    # largest weight Kiln makes. 4 x 10^8 (1.6 GB): a possible weight, but not in a file
    # this small.
    write("keras", "dense_units_huge.keras", make_zip(with_config(good_items, units(10**9))))
    write("keras", "dense_units_large.keras", make_zip(with_config(good_items, units(10**8))))
    write("keras", "mismatched_weight_shape.keras", make_zip(with_config(good_items, units(2))))
    write("keras", "deep_json.keras", make_zip(with_config(good_items, b"[" * 100_000 + b"]" * 100_000), deflate=("config.json",)))
    # Zip bombs: config.json (valid JSON followed by 10 MB of spaces, deflated to ~10 KB)
    # declaring 100 bytes; the good config.json declaring 4 GB.
    config = dict(good_items)["config.json"]
    bomb = make_zip(with_config(good_items, config + b" " * 10_000_000), deflate=("config.json",))
    write("keras", "zip_bomb.keras", patch_sizes(bomb, "config.json", 100))
    write("keras", "huge_declared_member.keras", patch_sizes(good, "config.json", 0xFFFFFFF0))
    evil = with_config(good_items, evil_arg)
    write("keras", "duplicate_member.keras", make_zip(good_items + [("config.json", dict(evil)["config.json"])]))
    write("keras", "many_members.keras", make_zip(good_items + [("assets/%d" % i, b"") for i in range(300)]))
    write("keras", "missing_weights.keras", make_zip([m for m in good_items if m[0] != "model.weights.h5"]))
    return good_items


# ---------------------------------------------------------------------------------------
# .h5


def edit_h5(data, edit):
    """`data` (an .h5 file) after `edit(h5py.File)`, done on a copy."""
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "x.h5")
        with open(path, "wb") as f:
            f.write(data)
        with h5py.File(path, "r+") as f:
            edit(f)
        with open(path, "rb") as f:
            return f.read()


def edit_model_config(edit):
    def run(f):
        config = json.loads(f.attrs["model_config"])
        edit(config)
        f.attrs["model_config"] = json.dumps(config)

    return run


def dataset_location(data, name):
    """The byte offset and size of the contiguous dataset `name` of the .h5 file `data`."""
    with h5py.File(io.BytesIO(data), "r") as f:
        ds = f[name]
        return ds.id.get_offset(), ds.id.get_storage_size()


def make_h5():
    good = saved(dense_model(), ".h5")
    with h5py.File(io.BytesIO(good), "r") as f:
        np.testing.assert_array_equal(f["model_weights/dense/sequential/dense/kernel"][()], KERNEL)
    write("h5", "good.h5", good)
    write("h5", "truncated.h5", good[: len(good) // 2])
    write("h5", "garbage.h5", garbage(512))
    write("h5", "empty.h5", b"")
    # A .keras archive named .h5.
    write("h5", "wrong_magic.h5", make_zip(members(saved(dense_model(), ".keras"))))
    write("h5", "weights_only.h5", saved(dense_model(), ".weights.h5"))
    write("h5", "lambda.h5", saved(dense_model(keras.layers.Lambda(lambda x: x * 2.0)), ".h5"))
    write("h5", "unknown_layer_class.h5", saved(dense_model(Doubler(name="doubler")), ".h5"))

    write("h5", "mismatched_weight_shape.h5", edit_h5(good, edit_model_config(units(2))))
    write("h5", "dense_units_huge.h5", edit_h5(good, edit_model_config(units(10**9))))
    write("h5", "dense_units_large.h5", edit_h5(good, edit_model_config(units(10**8))))
    # The kernel's data (48 bytes, contiguous) cut off: the file ends half-way through it,
    # while its dataspace still declares (4, 3) float32. What follows the kernel's data in
    # the file (the bias's data and object header, the top-level group) is gone too; the
    # superblock, the root's attributes (the model config) and the kernel's object header
    # come before it and are intact.
    offset, size = dataset_location(good, "model_weights/dense/sequential/dense/kernel")
    assert offset + size <= len(good), (offset, size, len(good))
    write("h5", "truncated_data.h5", good[: offset + size // 2])
    # The kernel's dataspace patched, by editing bytes (not through h5py), to declare
    # (4, 3000000000) elements: 48 GB in a file of 13 KB. h5py writes a version-1 dataspace
    # message with maximum dimensions: the sizes (4, 3) then the maxima (4, 3), 8-byte
    # little-endian integers, found once in the kernel's object header (which lies
    # between the header's address and the data).
    header = h5_object_header(good, "model_weights/dense/sequential/dense/kernel")
    pattern = struct.pack("<QQQQ", 4, 3, 4, 3)
    at = good.find(pattern, header, offset)
    assert at > 0 and good.find(pattern, at + 1, offset) < 0, "no unique dataspace (4, 3)"
    huge = struct.pack("<QQQQ", 4, 3_000_000_000, 4, 3_000_000_000)
    write("h5", "huge_dataset_dims.h5", good[:at] + huge + good[at + len(pattern) :])
    # The same patch with the model config asking for that shape too (Dense units 500000,
    # a kernel of 2 * 10^6 float32, 8 MB: within what the file's size allows the model to
    # declare, so the model is built): the shapes agree, but the dataset's 48 bytes of
    # contiguous storage cannot hold them.
    wide = edit_h5(good, edit_model_config(units(500_000)))
    header = h5_object_header(wide, "model_weights/dense/sequential/dense/kernel")
    offset, _ = dataset_location(wide, "model_weights/dense/sequential/dense/kernel")
    at = wide.find(pattern, header, offset)
    assert at > 0 and wide.find(pattern, at + 1, offset) < 0, "no unique dataspace (4, 3)"
    wide_dims = struct.pack("<QQQQ", 4, 500_000, 4, 500_000)
    write("h5", "dataset_past_end.h5", wide[:at] + wide_dims + wide[at + len(pattern) :])


def h5_object_header(data, name):
    with h5py.File(io.BytesIO(data), "r") as f:
        return h5py.h5o.get_info(f[name].id).addr


# ---------------------------------------------------------------------------------------
# Fuzzing seeds: fuzz/seeds/keras_file/ and fuzz/seeds/legacy_h5/. The fuzz targets also
# start from this corpus (fuzz/smoke passes tests/bad_files/keras and h5); the seeds add
# small good models of other layer kinds, so that mutations reach more of the importer.
# keras_file takes a whole .keras archive (input starting with "PK"; tests/bad_files/keras
# has those) or config.json, a 0xFF byte, then model.weights.h5 (packed into an archive by
# the target, so that mutations of the config are not stopped by the zip's checksums):
# the seeds are of the second kind.


def seed_models():
    L = keras.layers
    inputs = keras.Input((4,), name="x")
    a = L.Dense(3, activation="relu", name="a")(inputs)
    b = L.Dense(3, name="b")(inputs)
    merged = L.Add(name="add")([a, b])
    functional = keras.Model(inputs, L.Concatenate(name="concat")([merged, a]), name="functional")
    conv = keras.Sequential([keras.Input((6, 6, 1)), L.Conv2D(2, 3, padding="same", activation="relu"),
                             L.MaxPooling2D(), L.BatchNormalization(), L.Flatten(), L.Dense(2)], name="conv")
    rnn = keras.Sequential([keras.Input((5,), dtype="int32"), L.Embedding(10, 3, mask_zero=True), L.LSTM(2),
                            L.Dense(1, activation="sigmoid")], name="rnn")
    wrappers = keras.Sequential([keras.Input((3, 2)), L.Bidirectional(L.GRU(2, return_sequences=True)),
                                 L.TimeDistributed(L.Dense(2)), L.LayerNormalization(), L.Dropout(0.5),
                                 L.GlobalAveragePooling1D()], name="wrappers")
    seq_in = keras.Input((3, 4), name="seq")
    attention = keras.Model(seq_in, L.MultiHeadAttention(2, 2, name="mha")(seq_in, seq_in), name="attention")
    return {"dense": dense_model(), "functional": functional, "conv": conv, "rnn": rnn, "wrappers": wrappers,
            "attention": attention}


def make_fuzz_seeds():
    seeds = os.path.join(HERE, "..", "..", "fuzz", "seeds")
    keras.utils.set_random_seed(3)
    for name, model in seed_models().items():
        items = dict(members(saved(model, ".keras")))
        split = items["config.json"] + b"\xff" + items["model.weights.h5"]
        assert b"\xff" not in items["config.json"]
        write(os.path.join(seeds, "keras_file"), name + ".split.bin", split)
        write(os.path.join(seeds, "legacy_h5"), name + ".h5.bin", saved(model, ".h5"))


def main():
    warnings.filterwarnings("ignore")
    if keras.backend.backend() != "jax":
        print("run with KERAS_BACKEND=jax", file=sys.stderr)
    good_h5 = saved(dense_model(), ".h5")
    make_keras(good_h5)
    make_h5()
    make_fuzz_seeds()
    total = sum(
        os.path.getsize(os.path.join(HERE, d, n)) for d in ("keras", "h5") for n in os.listdir(os.path.join(HERE, d))
    )
    print("keras/ and h5/: %d bytes" % total)


if __name__ == "__main__":
    main()
