#!/usr/bin/env python3
"""Capture Keras 3's exact text output (model.summary() and fit() progress).

Run with the venv described in tests/keras/README.md:

    /work/venvs/keras/bin/python tests/keras/make_text_goldens.py

It writes plain-text files into tests/keras/goldens/text/ (next to this
script), plus goldens/text/meta.json describing how each file was captured.

How the output is captured
--------------------------
Every case runs in a *fresh child process* (this same script, started as
``make_text_goldens.py --case NAME``), so Keras's auto-naming starts from
scratch and nothing leaks between cases. The parent reads the child's stdout
byte for byte and writes it unchanged to the .txt file:

* "pipe" cases: the child's stdout is a pipe (``subprocess.PIPE``), i.e.
  exactly what Keras prints when stdout is redirected to a file or another
  program (not a TTY).
* "tty" cases: the child's stdout is the slave side of a pseudo-terminal
  (``pty.openpty()``), so ``sys.stdout.isatty()`` is True and rich switches
  colors on. The pty's output post-processing (ONLCR, which would turn every
  "\\n" into "\\r\\n") is switched off, so the file holds exactly the bytes
  that Keras wrote; every "\\r" in it was written by Keras itself. The pty
  window size is set to the same COLUMNS as the environment.

The child's environment is fixed: KERAS_BACKEND=jax, JAX_PLATFORMS=cpu,
PYTHONIOENCODING=utf-8, PYTHONUTF8=1, LANG/LC_ALL=C.UTF-8, COLUMNS=<per case>,
LINES=50; TERM=dumb for pipe cases and TERM=xterm-256color for tty cases;
NO_COLOR, FORCE_COLOR, CLICOLOR*, COLORTERM, TTY_COMPATIBLE, TTY_INTERACTIVE
and JUPYTER_* are removed. stderr (JAX/absl warnings) is not part of the
goldens.

Summary width: Keras uses ``min(default, shutil.get_terminal_size().columns
- 4)`` as the table width, where default is 88 for sequential-like models and
108 for models with a "Connected to" column. The main summary goldens use
COLUMNS=120 so that Keras's own defaults (88 / 108) apply; the ``*_cols80``
variants use COLUMNS=80 (= what a pipe with no COLUMNS set gets, since
shutil falls back to 80 columns), which clamps both tables to 76.

Fit output contains wall-clock timings ("0s", "12ms/step", ETA) that change
from run to run; everything else (layout, escape codes, metric values) is
reproducible on the same versions because data and weights are seeded.
"""

import json
import os
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
OUT_DIR = os.path.join(HERE, "goldens", "text")

WIDE_COLUMNS = 120  # >= 112, so Keras's default widths (88 / 108) apply
NARROW_COLUMNS = 80

# ----------------------------------------------------------------------------
# Cases (run inside the child process)
# ----------------------------------------------------------------------------


def _keras():
    import keras  # noqa: PLC0415

    return keras


def build_sequential():
    keras = _keras()
    from keras.layers import Dense

    return keras.Sequential(
        [
            keras.Input((100,)),
            Dense(64, activation="relu"),
            Dense(32, activation="relu"),
            Dense(10, activation="softmax"),
        ]
    )


def build_functional():
    keras = _keras()
    from keras.layers import Dense

    inputs = keras.Input((784,))
    x = Dense(128, activation="relu")(inputs)
    x = Dense(64, activation="relu")(x)
    outputs = Dense(10, activation="softmax")(x)
    return keras.Model(inputs, outputs)


def build_multi_io():
    keras = _keras()
    from keras.layers import Dense

    a = keras.Input((8,), name="a")
    b = keras.Input((4,), name="b")
    x = Dense(16, activation="relu")(a)
    y = Dense(16)(b)
    z = keras.layers.Add()([x, y])
    c = keras.layers.Concatenate()([z, b])
    d = keras.layers.Dropout(0.5)(c)
    out1 = Dense(3, activation="softmax", name="cls")(d)
    out2 = Dense(1, name="reg")(d)
    return keras.Model([a, b], [out1, out2])


def build_layers():
    keras = _keras()
    L = keras.layers
    return keras.Sequential(
        [
            keras.Input((4, 6)),
            L.Flatten(),
            L.Reshape((6, 4)),
            L.Flatten(),
            L.Dense(5),
            L.Activation("tanh"),
            L.Dropout(0.1),
        ]
    )


def build_nontrainable():
    model = build_sequential()
    model.layers[0].trainable = False
    return model


BUILDERS = {
    "sequential": build_sequential,
    "functional": build_functional,
    "multi_io": build_multi_io,
    "layers": build_layers,
    "nontrainable": build_nontrainable,
}


def fresh():
    keras = _keras()
    keras.backend.clear_session()
    keras.utils.set_random_seed(1234)


def case_summary(which, side):
    fresh()
    model = BUILDERS[which]()
    # Cross-check: the print_fn path (rich console captured, colors off) must
    # give the same text as the plain stdout path. print_fn receives the
    # whole summary as ONE string (ending in "\n") in a single call.
    calls = []
    model.summary(print_fn=calls.append)
    side["print_fn_calls"] = len(calls)
    side["print_fn_text"] = "".join(calls)
    model.summary()  # -> stdout (this is the golden)
    sys.stdout.flush()
    side["total_params"] = model.count_params()


def tiny_data(n=64, seed=0):
    import numpy as np

    rng = np.random.default_rng(seed)
    x = rng.standard_normal((n, 4)).astype("float32")
    y = np.eye(3, dtype="float32")[rng.integers(0, 3, size=n)]
    return x, y


def tiny_model():
    keras = _keras()
    model = keras.Sequential(
        [keras.Input((4,)), keras.layers.Dense(3, activation="softmax")]
    )
    model.compile(
        optimizer="adam", loss="categorical_crossentropy", metrics=["accuracy"]
    )
    return model


class _SlowBatches:
    """Callback factory: sleep after each train batch (see 'fit_verbose1_*slow')."""

    @staticmethod
    def make(seconds):
        keras = _keras()
        import time

        class Slow(keras.callbacks.Callback):
            def on_train_batch_end(self, batch, logs=None):
                time.sleep(seconds)

        return Slow()


def case_fit(verbose, side, slow=0.0):
    fresh()
    x, y = tiny_data()
    model = tiny_model()
    callbacks = [_SlowBatches.make(slow)] if slow else None
    history = model.fit(
        x,
        y,
        epochs=2,
        batch_size=16,
        validation_split=0.25,
        verbose=verbose,
        callbacks=callbacks,
    )
    sys.stdout.flush()
    side["history_keys"] = list(history.history.keys())


def case_history_keys(side):
    fresh()
    x, y = tiny_data()
    model = tiny_model()
    history = model.fit(
        x, y, epochs=2, batch_size=16, validation_split=0.25, verbose=0
    )
    ev = model.evaluate(x, y, batch_size=16, verbose=0, return_dict=True)
    ev_list = model.evaluate(x, y, batch_size=16, verbose=0)
    print("# tiny model: Dense(3, softmax), adam, categorical_crossentropy,")
    print("# metrics=['accuracy'], fit(epochs=2, batch_size=16,")
    print("# validation_split=0.25)")
    print("sorted(history.history.keys()):", sorted(history.history.keys()))
    print("list(history.history.keys()):", list(history.history.keys()))
    print("len(history.history['loss']):", len(history.history["loss"]))
    print("list(evaluate(return_dict=True).keys()):", list(ev.keys()))
    print("model.metrics_names:", list(model.metrics_names))
    print(
        "evaluate(return_dict=False) type/len:",
        type(ev_list).__name__,
        len(ev_list),
    )

    # Same fit with an extra metric whose name sorts after "val_": shows that
    # the log dict is sorted alphabetically as a whole (val_* keys are not
    # simply appended after the training keys).
    fresh()
    keras = _keras()
    model = keras.Sequential(
        [keras.Input((4,)), keras.layers.Dense(3, activation="softmax")]
    )
    model.compile(
        optimizer="adam",
        loss="categorical_crossentropy",
        metrics=["accuracy", keras.metrics.MeanAbsoluteError(name="zz_mae")],
    )
    history = model.fit(
        x, y, epochs=1, batch_size=16, validation_split=0.25, verbose=0
    )
    ev = model.evaluate(x, y, batch_size=16, verbose=0, return_dict=True)
    print()
    print("# same, metrics=['accuracy', MeanAbsoluteError(name='zz_mae')]")
    print("list(history.history.keys()):", list(history.history.keys()))
    print("list(evaluate(return_dict=True).keys()):", list(ev.keys()))
    ev_list = model.evaluate(x, y, batch_size=16, verbose=0)
    order = [next(k for k, v in ev.items() if v == e) for e in ev_list]
    print("evaluate(return_dict=False) order:", order)


def case_multi_output(side):
    import numpy as np

    fresh()
    keras = _keras()
    model = build_multi_io()
    model.compile(
        optimizer="adam",
        loss=["categorical_crossentropy", "mse"],
        metrics=[["accuracy"], ["mae"]],
    )
    rng = np.random.default_rng(1)
    n = 64
    a = rng.standard_normal((n, 8)).astype("float32")
    b = rng.standard_normal((n, 4)).astype("float32")
    y_cls = np.eye(3, dtype="float32")[rng.integers(0, 3, size=n)]
    y_reg = rng.standard_normal((n, 1)).astype("float32")
    history = model.fit(
        [a, b], [y_cls, y_reg], epochs=1, batch_size=16, verbose=2
    )
    sys.stdout.flush()
    ev = model.evaluate(
        [a, b], [y_cls, y_reg], batch_size=16, verbose=0, return_dict=True
    )
    side["history_keys"] = list(history.history.keys())
    side["evaluate_keys"] = list(ev.keys())
    side["metrics_names"] = list(model.metrics_names)
    side["output_names"] = list(model.output_names)
    del keras


def run_case(name, side):
    if name.startswith("summary_"):
        which = name[len("summary_") :]
        if which.endswith("_tty"):
            which = which[: -len("_tty")]
        if which.endswith("_cols80"):
            which = which[: -len("_cols80")]
        case_summary(which, side)
    elif name == "fit_verbose2":
        case_fit(2, side)
    elif name in ("fit_verbose1", "fit_verbose1_tty"):
        case_fit(1, side)
    elif name in ("fit_verbose1_slow", "fit_verbose1_tty_slow"):
        case_fit(1, side, slow=0.1)
    elif name == "history_keys":
        case_history_keys(side)
    elif name == "fit_multi_output_verbose2":
        case_multi_output(side)
    else:
        raise SystemExit(f"unknown case {name!r}")


# (file stem, mode, COLUMNS)
CASES = [
    ("summary_sequential", "pipe", WIDE_COLUMNS),
    ("summary_functional", "pipe", WIDE_COLUMNS),
    ("summary_multi_io", "pipe", WIDE_COLUMNS),
    ("summary_layers", "pipe", WIDE_COLUMNS),
    ("summary_nontrainable", "pipe", WIDE_COLUMNS),
    ("summary_sequential_cols80", "pipe", NARROW_COLUMNS),
    ("summary_multi_io_cols80", "pipe", NARROW_COLUMNS),
    ("summary_sequential_tty", "tty", WIDE_COLUMNS),
    ("summary_multi_io_tty", "tty", WIDE_COLUMNS),
    ("fit_verbose2", "pipe", WIDE_COLUMNS),
    ("fit_verbose1", "pipe", WIDE_COLUMNS),
    ("fit_verbose1_tty", "tty", WIDE_COLUMNS),
    ("fit_verbose1_slow", "pipe", WIDE_COLUMNS),
    ("fit_verbose1_tty_slow", "tty", WIDE_COLUMNS),
    ("history_keys", "pipe", WIDE_COLUMNS),
    ("fit_multi_output_verbose2", "pipe", WIDE_COLUMNS),
]


# ----------------------------------------------------------------------------
# Parent: spawn children, capture their stdout
# ----------------------------------------------------------------------------

STRIP_ENV = (
    "NO_COLOR",
    "FORCE_COLOR",
    "CLICOLOR",
    "CLICOLOR_FORCE",
    "COLORTERM",
    "TTY_COMPATIBLE",
    "TTY_INTERACTIVE",
    "JUPYTER_COLUMNS",
    "JUPYTER_LINES",
    "PYCHARM_HOSTED",
    "COLUMNS",
    "LINES",
    "TERM",
)


def child_env(mode, columns):
    env = {k: v for k, v in os.environ.items() if k not in STRIP_ENV}
    env.update(
        KERAS_BACKEND="jax",
        JAX_PLATFORMS="cpu",
        PYTHONIOENCODING="utf-8",
        PYTHONUTF8="1",
        LANG="C.UTF-8",
        LC_ALL="C.UTF-8",
        COLUMNS=str(columns),
        LINES="50",
        TERM="xterm-256color" if mode == "tty" else "dumb",
        TF_CPP_MIN_LOG_LEVEL="3",
    )
    return env


def spawn(name, mode, columns, side_path):
    cmd = [sys.executable, os.path.abspath(__file__), "--case", name, side_path]
    env = child_env(mode, columns)
    if mode == "pipe":
        p = subprocess.run(
            cmd,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            env=env,
            check=False,
        )
        return p.returncode, p.stdout, p.stderr

    import errno
    import fcntl
    import pty
    import struct
    import termios

    master, slave = pty.openpty()
    # Window size = COLUMNS x LINES.
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 50, columns, 0, 0))
    # No output post-processing: keep Keras's bytes exactly ("\n" stays "\n").
    attrs = termios.tcgetattr(slave)
    attrs[1] &= ~termios.OPOST
    termios.tcsetattr(slave, termios.TCSANOW, attrs)
    p = subprocess.Popen(
        cmd,
        stdin=subprocess.DEVNULL,
        stdout=slave,
        stderr=subprocess.PIPE,
        env=env,
    )
    os.close(slave)
    chunks = []
    while True:
        try:
            data = os.read(master, 65536)
        except OSError as e:  # EIO once the child closed the pty
            if e.errno != errno.EIO:
                raise
            break
        if not data:
            break
        chunks.append(data)
    os.close(master)
    err = p.stderr.read()
    p.wait()
    return p.returncode, b"".join(chunks), err


def main():
    import tempfile

    os.makedirs(OUT_DIR, exist_ok=True)
    only = set(sys.argv[1:])
    meta_path = os.path.join(OUT_DIR, "meta.json")
    meta = {}
    if os.path.exists(meta_path) and only:
        with open(meta_path) as f:
            meta = json.load(f)
    files = meta.get("files", {})

    for name, mode, columns in CASES:
        if only and name not in only:
            continue
        with tempfile.TemporaryDirectory() as td:
            side_path = os.path.join(td, "side.json")
            rc, out, err = spawn(name, mode, columns, side_path)
            if rc != 0:
                sys.stderr.write(err.decode("utf-8", "replace"))
                raise SystemExit(f"case {name} failed with exit code {rc}")
            with open(side_path) as f:
                side = json.load(f)
        path = os.path.join(OUT_DIR, name + ".txt")
        with open(path, "wb") as f:
            f.write(out)
        text = out.decode("utf-8")
        info = {
            "stdout": mode,
            "COLUMNS": columns,
            "bytes": len(out),
            "has_ansi_escape": "\x1b" in text,
            "has_carriage_return": "\r" in text,
            "has_backspace": "\b" in text,
            "ends_with_newline": text.endswith("\n"),
        }
        if "print_fn_text" in side:
            info["print_fn_calls"] = side["print_fn_calls"]
            info["print_fn_text_equals_stdout"] = side["print_fn_text"] == text
            info["total_params"] = side["total_params"]
        files[name + ".txt"] = info

        if name == "fit_multi_output_verbose2":
            with open(os.path.join(OUT_DIR, "multi_output_keys.txt"), "w") as f:
                f.write(
                    "# multi_io model compiled with "
                    "loss=['categorical_crossentropy', 'mse'], "
                    "metrics=[['accuracy'], ['mae']]\n"
                )
                f.write("# fit(epochs=1, batch_size=16, verbose=2), no validation\n")
                f.write(f"output_names: {side['output_names']}\n")
                f.write(f"list(history.history.keys()): {side['history_keys']}\n")
                f.write(f"list(evaluate(return_dict=True).keys()): {side['evaluate_keys']}\n")
                f.write(f"model.metrics_names: {side['metrics_names']}\n")
        print(f"{name}.txt: {len(out)} bytes ({mode}, COLUMNS={columns})")

    import importlib.metadata as md

    meta = {
        "versions": {
            "python": sys.version.split()[0],
            "keras": md.version("keras"),
            "jax": md.version("jax"),
            "jaxlib": md.version("jaxlib"),
            "numpy": md.version("numpy"),
            "rich": md.version("rich"),
        },
        "backend": "jax",
        "note": (
            "stdout 'pipe' = child stdout is a pipe (non-TTY); 'tty' = child "
            "stdout is a pty with OPOST off, so bytes are exactly what Keras "
            "wrote. Fit files contain wall-clock timings that vary per run."
        ),
        "files": dict(sorted(files.items())),
    }
    with open(meta_path, "w") as f:
        json.dump(meta, f, indent=2)
        f.write("\n")


def child(name, side_path):
    os.environ.setdefault("KERAS_BACKEND", "jax")
    os.environ.setdefault("JAX_PLATFORMS", "cpu")
    side = {}
    run_case(name, side)
    sys.stdout.flush()
    with open(side_path, "w") as f:
        json.dump(side, f)


if __name__ == "__main__":
    if len(sys.argv) >= 2 and sys.argv[1] == "--case":
        child(sys.argv[2], sys.argv[3])
    else:
        main()
