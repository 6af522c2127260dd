"""`kiln export` on Keras's own files, against Keras's numbers (see tests/onnx/README.md).

For every `tests/keras/goldens/files/<Class>__<case>.keras` whose case in
`tests/keras/goldens/layers/<Class>.json` is recorded in inference mode: runs
`kiln export FILE -o OUT.onnx`, runs OUT.onnx in ONNX Runtime on the case's inputs and
compares with the outputs Keras computed, within TOL.

    /work/venvs/onnx/bin/python tests/onnx/check_keras_files.py [KILN_BINARY] [OUT_DIR]

KILN_BINARY defaults to target/debug/kiln (`cargo build -p kiln-cli`), OUT_DIR to a
temporary directory. Exit status 0 when every file passes.
"""

import glob
import json
import os
import subprocess
import sys
import tempfile

import numpy as np
import onnxruntime as ort

TOL = 1e-4  # the layer goldens' tolerance for recurrent layers and attention


def array(v, dtype):
    return np.array(v["data"], dtype=dtype).reshape(v["shape"])


def main():
    kiln = sys.argv[1] if len(sys.argv) > 1 else "target/debug/kiln"
    out_dir = sys.argv[2] if len(sys.argv) > 2 else tempfile.mkdtemp(prefix="kiln-onnx-keras-")
    passed, failed, worst = 0, [], (0.0, "")
    for path in sorted(glob.glob("tests/keras/goldens/files/*__*.keras")):
        stem = os.path.basename(path)[: -len(".keras")]
        cls, name = stem.split("__", 1)
        golden = f"tests/keras/goldens/layers/{cls}.json"
        if not os.path.exists(golden):
            continue
        cases = [c for c in json.load(open(golden))["cases"] if c["name"] == name]
        if not cases or cases[0].get("training"):
            continue
        case = cases[0]
        onnx_path = os.path.join(out_dir, stem + ".onnx")
        run = subprocess.run([kiln, "export", path, "-o", onnx_path], capture_output=True, text=True)
        if run.returncode != 0:
            failed.append(f"{stem}: kiln export: {run.stderr.strip()}")
            continue
        session = ort.InferenceSession(onnx_path, providers=["CPUExecutionProvider"])
        dtypes = case.get("input_dtypes", [])
        xs = [
            array(x, np.int32 if k < len(dtypes) and dtypes[k].startswith("int") else np.float32)
            for k, x in enumerate(case["inputs"])
        ]
        names = [i.name for i in session.get_inputs()]
        if len(names) != len(xs):
            failed.append(f"{stem}: {len(names)} ONNX inputs, the case has {len(xs)}")
            continue
        ys = session.run(None, dict(zip(names, xs)))
        d = max(float(np.abs(y - array(w, np.float32)).max()) for y, w in zip(ys, case["outputs"]))
        if d > worst[0]:
            worst = (d, stem)
        if d <= TOL and len(ys) == len(case["outputs"]):
            passed += 1
        else:
            failed.append(f"{stem}: max |ORT - Keras| = {d:.3e}, {len(ys)} outputs")
    for f in failed:
        print("FAIL", f)
    print(f"{passed} passed, {len(failed)} failed; worst |ORT - Keras| {worst[0]:.2e} ({worst[1]})")
    sys.exit(1 if failed or not passed else 0)


if __name__ == "__main__":
    main()
