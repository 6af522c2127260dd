"""Reads the event files Kiln's TensorBoard callback wrote with TensorBoard's own reader
(EventAccumulator) and compares them with the History the Rust test saw.

    KILN_TB_DIR=/tmp/kiln-tb cargo test -p kiln --test integration tensorboard::epoch_batch_and_histogram
    /work/venvs/tb/bin/python tests/tensorboard/check_events.py /tmp/kiln-tb

The directory holds logs/ (train/ and validation/) and history.json, both written by
crates/kiln/tests/tensorboard.rs when KILN_TB_DIR is set. Exits 1 on any mismatch.
"""

import json
import math
import os
import sys

from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

ALL = {"scalars": 0, "histograms": 0, "compressedHistograms": 0, "tensors": 0}


def load(path):
    acc = EventAccumulator(path, size_guidance=ALL)
    acc.Reload()
    return acc


def close(a, b):
    """Equal as float32 (TensorBoard keeps scalars as float32)."""
    return math.isclose(a, b, rel_tol=1e-6, abs_tol=1e-7)


def main(root):
    expected = json.load(open(os.path.join(root, "history.json")))
    history, epochs = expected["history"], expected["epoch"]
    train = load(os.path.join(root, "logs", "train"))
    val = load(os.path.join(root, "logs", "validation"))
    failures = []
    checked = 0

    def series(acc, tag, want_steps, want_values):
        nonlocal checked
        tags = acc.Tags()["scalars"]
        if tag not in tags:
            failures.append(f"{tag}: missing (have {sorted(tags)})")
            return
        events = acc.Scalars(tag)
        steps = [e.step for e in events]
        values = [e.value for e in events]
        if steps != want_steps:
            failures.append(f"{tag}: steps {steps}, expected {want_steps}")
        bad = [(s, v, w) for s, v, w in zip(steps, values, want_values) if not close(v, w)]
        if bad or len(values) != len(want_values):
            failures.append(f"{tag}: values {values}, expected {want_values}")
        checked += len(values)

    for name, values in history.items():
        if name.startswith("val_"):
            series(val, "epoch_" + name[4:], epochs, values)
        else:
            series(train, "epoch_" + name, epochs, values)
    series(train, "epoch_learning_rate", epochs, expected["learning_rate"])
    val_loss = history["val_loss"]
    series(val, "evaluation_loss_vs_iterations", expected["iterations"], val_loss)
    for name, values in expected["batch"].items():
        series(train, "batch_" + name, list(range(1, len(values) + 1)), values)

    histogram_tags = train.Tags()["histograms"]
    for w in expected["weights"]:
        if w["tag"] not in histogram_tags:
            failures.append(f"{w['tag']}: no histogram (have {histogram_tags})")
            continue
        events = [e for e in train.Histograms(w["tag"]) if e.step == w["step"]]
        if len(events) != 1:
            failures.append(f"{w['tag']}: {len(events)} histograms at step {w['step']}")
            continue
        h = events[0].histogram_value
        got = (h.min, h.max, h.num, sum(h.bucket))
        want = (w["min"], w["max"], w["num"], w["num"])
        if not all(math.isclose(a, b, rel_tol=1e-12, abs_tol=1e-12) for a, b in zip(got, want)):
            failures.append(f"{w['tag']} step {w['step']}: (min, max, num, count) {got}, expected {want}")
        if not math.isclose(h.sum, w["sum"], rel_tol=1e-9, abs_tol=1e-9):
            failures.append(f"{w['tag']} step {w['step']}: sum {h.sum}, expected {w['sum']}")
        if len(h.bucket_limit) != 30 or h.bucket_limit[-1] != h.max:
            failures.append(f"{w['tag']}: bucket limits {list(h.bucket_limit)}")
        checked += 1

    for message in failures:
        print("MISMATCH", message)
    print(
        f"{checked} values checked: {len(train.Tags()['scalars'])} train scalar tags, "
        f"{len(val.Tags()['scalars'])} validation scalar tags, {len(histogram_tags)} histogram tags, "
        f"{len(failures)} mismatches"
    )
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1] if len(sys.argv) > 1 else os.environ["KILN_TB_DIR"]))
