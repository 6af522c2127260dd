"""Checks Kiln's ONNX exports with the ONNX tools themselves (see tests/onnx/README.md).

Reads the directory that `crates/kiln/tests/onnx_export.rs` fills when KILN_ONNX_DIR is
set: one folder per model with `model.onnx`, `input_<i>.npy` and Kiln's predictions
`output_<k>.npy`. For each model it runs `onnx.checker.check_model(full_check=True)`
(which also runs ONNX's shape inference strictly), runs the model in ONNX Runtime (CPU),
checks that the batch dimension is symbolic by running it on a batch of a different size
too, and compares ONNX Runtime's outputs with Kiln's within TOL.

    /work/venvs/onnx/bin/python tests/onnx/check_onnx.py DIR [NAME_SUBSTRING ...]

Exit status 0 when every model passes.
"""

import glob
import os
import sys

import numpy as np
import onnx
import onnxruntime as ort

TOL = 1e-5


def load_arrays(folder, prefix):
    paths = sorted(
        glob.glob(os.path.join(folder, f"{prefix}_*.npy")),
        key=lambda p: int(p.rsplit("_", 1)[1].split(".")[0]),
    )
    return [np.load(p) for p in paths]


def check(folder):
    """Returns (worst absolute difference, list of problems)."""
    path = os.path.join(folder, "model.onnx")
    model = onnx.load(path)
    onnx.checker.check_model(model, full_check=True)
    problems = []
    opset = {o.domain: o.version for o in model.opset_import}.get("", 0)
    if opset < 17:
        problems.append(f"opset {opset} < 17")
    for i in model.graph.input:
        first = i.type.tensor_type.shape.dim[0]
        if first.dim_param != "batch":
            problems.append(f"input {i.name}: batch dimension is not symbolic")
    session = ort.InferenceSession(path, providers=["CPUExecutionProvider"])
    names = [i.name for i in session.get_inputs()]
    inputs = load_arrays(folder, "input")
    wanted = load_arrays(folder, "output")
    got = session.run(None, dict(zip(names, inputs)))
    if len(got) != len(wanted):
        problems.append(f"{len(got)} outputs, Kiln {len(wanted)}")
    worst = 0.0
    for k, (g, w) in enumerate(zip(got, wanted)):
        if g.shape != w.shape:
            problems.append(f"output {k}: shape {g.shape}, Kiln {w.shape}")
            continue
        if g.dtype != w.dtype:
            problems.append(f"output {k}: dtype {g.dtype}, Kiln {w.dtype}")
        d = float(np.max(np.abs(g.astype(np.float64) - w.astype(np.float64)))) if g.size else 0.0
        if not np.isfinite(d) and np.array_equal(g, w, equal_nan=True):
            d = 0.0
        worst = max(worst, d)
        if not d <= TOL:
            problems.append(f"output {k}: max |ORT - Kiln| = {d:.3e} > {TOL:.0e}")
    # A batch of another size (the first sample three times) runs and repeats sample 0
    # (for outputs with one row per sample).
    triple = [np.repeat(x[:1], 3, axis=0) for x in inputs]
    for k, (g, w) in enumerate(zip(session.run(None, dict(zip(names, triple))), wanted)):
        if w.ndim == 0 or w.shape[0] != inputs[0].shape[0]:
            continue
        if g.shape[0] != 3 or not np.allclose(g, np.repeat(w[:1], 3, axis=0), atol=TOL, rtol=0):
            problems.append(f"output {k}: a batch of 3 does not give sample 0 three times")
    return worst, problems


def main():
    if len(sys.argv) < 2:
        sys.exit(__doc__)
    root = sys.argv[1]
    filters = sys.argv[2:]
    folders = sorted(
        d for d in glob.glob(os.path.join(root, "*")) if os.path.isfile(os.path.join(d, "model.onnx"))
    )
    folders = [d for d in folders if not filters or any(f in os.path.basename(d) for f in filters)]
    if not folders:
        sys.exit(f"no model.onnx under {root}")
    failed = []
    worst_all = (0.0, "")
    for folder in folders:
        name = os.path.basename(folder)
        try:
            worst, problems = check(folder)
        except Exception as e:  # checker or runtime refusal: report and go on
            worst, problems = float("nan"), [f"{type(e).__name__}: {e}".splitlines()[0]]
        if worst == worst and worst >= worst_all[0]:
            worst_all = (worst, name)
        if problems:
            failed.append(name)
            for p in problems:
                print(f"FAIL {name}: {p}")
    print(
        f"{len(folders) - len(failed)} passed, {len(failed)} failed "
        f"(onnx {onnx.__version__}, onnxruntime {ort.__version__}); "
        f"worst |ORT - Kiln| {worst_all[0]:.2e} ({worst_all[1]})"
    )
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
