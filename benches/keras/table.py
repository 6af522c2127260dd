"""Formats the Kiln-against-Keras results (one JSON file per run) as one Markdown table.

Each file holds the JSON line that examples/fashion_mnist_bench.rs or
benches/keras/fashion_mnist.py printed, or an error record written by scripts/bench-keras
({"model", "runner", "error"}). Rows are grouped by model, Keras first; every Kiln figure
also gets its ratio to Keras's for the same model (Kiln / Keras: below 1 means less time or
memory than Keras; accuracy near 1 means the same accuracy).

    python benches/keras/table.py [--cpu NAME] [--cores N] RESULT.json...
"""

import argparse
import datetime
import json
import sys

MODELS = ["mlp", "cnn", "lstm"]
# (key, column title, format)
FIGURES = [
    ("epoch_s", "epoch s", "{:.2f}"),
    ("predict_s", "predict s", "{:.3f}"),
    ("peak_mib", "peak MiB", "{:.0f}"),
    ("test_accuracy", "test accuracy", "{:.4f}"),
]


def load(paths):
    """The records of the given files, skipping (with a warning) those that do not parse."""
    records = []
    for path in paths:
        try:
            with open(path) as f:
                records.append(json.load(f))
        except (OSError, ValueError) as e:
            print(f"table.py: skipping {path}: {e}", file=sys.stderr)
    return records


def is_keras(record):
    return record.get("runner", "").startswith("keras")


def ratio(value, reference):
    """value / reference as "0.52×", or "–" when either is missing."""
    if value is None or not reference:
        return "–"
    return f"{value / reference:.2f}×"


def rows(records):
    """Markdown rows, grouped by model in MODELS order, Keras first, then by runner name."""
    order = {m: i for i, m in enumerate(MODELS)}
    records = sorted(
        records, key=lambda r: (order.get(r.get("model"), len(MODELS)), not is_keras(r), r.get("runner", ""))
    )
    keras = {r["model"]: r for r in records if is_keras(r) and "error" not in r}
    out = []
    for r in records:
        cells = [r.get("model", "?"), r.get("runner", "?")]
        if "error" in r:
            cells += [f"failed: {r['error']}"] + [""] * (2 * len(FIGURES) - 1)
        else:
            reference = keras.get(r["model"])
            for key, _, fmt in FIGURES:
                value = r.get(key)
                cells.append("–" if value is None else fmt.format(value))
                if reference is None:
                    cells.append("–")
                elif is_keras(r):
                    cells.append("1")
                else:
                    cells.append(ratio(value, reference.get(key)))
        out.append("| " + " | ".join(cells) + " |")
    return out


def header():
    titles = ["model", "runner"]
    for _, title, _ in FIGURES:
        titles += [title, "÷ Keras"]
    align = ["---", "---"] + ["--:"] * (2 * len(FIGURES))
    return ["| " + " | ".join(titles) + " |", "|" + "|".join(align) + "|"]


def preamble(records, cpu, cores):
    """One line saying when, on what and with which versions."""
    epochs = sorted({r.get("epochs") for r in records if r.get("epochs") is not None})
    versions = next((r["versions"] for r in records if "versions" in r), {})
    parts = [datetime.date.today().isoformat()]
    if cpu:
        parts.append(f"{cpu}, {cores} cores" if cores else cpu)
    parts.append(f"{'/'.join(map(str, epochs)) or '?'} epochs, batch 128")
    if versions:
        parts.append(", ".join(f"{k} {v}" for k, v in versions.items()))
    return "_" + "; ".join(parts) + "._"


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cpu", help="the CPU model, for the preamble")
    parser.add_argument("--cores", help="the number of cores, for the preamble")
    parser.add_argument("results", nargs="+", help="JSON result files")
    args = parser.parse_args()
    records = load(args.results)
    if not records:
        sys.exit("table.py: no results to show")
    print(preamble(records, args.cpu, args.cores))
    print()
    print("\n".join(header() + rows(records)))


if __name__ == "__main__":
    main()
