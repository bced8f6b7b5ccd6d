"""Time `dlexp search` against a plain keras-tuner GridSearch script on the same points.

Both run the notebook's grid (configs/grid.yaml: batch 30, the same data and split,
the same epochs), by default reduced to 8 points so that the pair runs in minutes.
Each side is one whole command, imports included; dlexp starts with an empty
compilation cache unless --warm. Prints both wall times, the ratio, and each side's
best validation accuracy (the best epoch's, as keras-tuner scores a trial).

    python bench/search_bench.py                       # 8 points, 100 epochs
    python bench/search_bench.py --workers 2
    python bench/search_bench.py --full                # all 72 points (plain: ~30 min)
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]
REDUCED = {
    "model.first_neuron": [9, 11],
    "model.hidden_layers": [0, 2],
    "model.kernel_initializer": ["uniform"],
    "train.optimizer": ["nadam", "adam"],
    "model.activation": ["relu"],
}
PLAIN_FLAGS = {
    "model.first_neuron": "--first-neuron",
    "model.hidden_layers": "--hidden-layers",
    "model.kernel_initializer": "--kernel-initializer",
    "train.optimizer": "--optimizer",
    "model.activation": "--activation",
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--full", action="store_true", help="all 72 points of the notebook")
    parser.add_argument("--epochs", type=int, default=100)
    parser.add_argument("--workers", type=int, default=1)
    parser.add_argument("--warm", action="store_true", help="keep dlexp's compilation cache")
    parser.add_argument("--skip-plain", action="store_true", help="time dlexp alone")
    args = parser.parse_args()

    grid = yaml.safe_load((ROOT / "configs" / "grid.yaml").read_text())
    params = grid["search"]["params"]
    if not args.full:
        params.update(REDUCED)
    params["train.epochs"] = [args.epochs]
    n = 1
    for key in PLAIN_FLAGS:
        n *= len(params[key])

    with tempfile.TemporaryDirectory() as tmp:
        grid_file = Path(tmp) / "bench_grid.yaml"
        grid_file.write_text(yaml.safe_dump(grid, sort_keys=False))
        env = {k: v for k, v in os.environ.items() if k != "KERAS_BACKEND"}
        if not args.warm:
            env["DLEXP_CACHE_DIR"] = f"{tmp}/cache"
        cmd = [
            sys.executable,
            "-m",
            "dlexp.cli",
            "search",
            str(grid_file),
            "--runs-dir",
            f"{tmp}/runs",
            "--workers",
            str(args.workers),
            "--format",
            "json",
        ]
        print(
            f"{n} points x {args.epochs} epochs, batch 30; dlexp --workers {args.workers}",
            flush=True,
        )
        start = time.perf_counter()
        out = subprocess.run(cmd, env=env, cwd=ROOT, check=True, capture_output=True, text=True)
        dlexp_s = time.perf_counter() - start
        record = json.loads(out.stdout)
        best_final = max(t["score"] for t in record["trials"] if t["score"] is not None)
        best_epoch = 0.0
        for trial in record["trials"]:
            for run in trial["runs"].split(";"):
                with open(Path(record["folder"]) / run / "history.csv") as f:
                    best_epoch = max(
                        best_epoch, *(float(r["val_accuracy"]) for r in csv.DictReader(f))
                    )
        print(
            f"dlexp search: {dlexp_s:7.1f} s  best val_accuracy {best_epoch:.4f} "
            f"(best epoch), {best_final:.4f} (final model)",
            flush=True,
        )
        if args.skip_plain:
            return
        plain = [
            sys.executable,
            str(ROOT / "bench" / "plain_keras_tuner_grid.py"),
            "--epochs",
            str(args.epochs),
        ]
        for key, flag in PLAIN_FLAGS.items():
            plain += [flag, *map(str, params[key])]
        start = time.perf_counter()
        out = subprocess.run(
            plain,
            env={**env, "KERAS_BACKEND": "tensorflow", "TF_CPP_MIN_LOG_LEVEL": "2"},
            cwd=ROOT,
            check=True,
            capture_output=True,
            text=True,
        )
        plain_s = time.perf_counter() - start
        result = json.loads(out.stdout.strip().splitlines()[-1])
        assert result["trials"] == n, result
        print(
            f"plain keras-tuner: {plain_s:7.1f} s  best val_accuracy "
            f"{result['best_val_accuracy']:.4f} (best epoch)"
        )
        print(
            f"\nplain / dlexp = {plain_s / dlexp_s:.2f}x; best val_accuracy differs by "
            f"{abs(result['best_val_accuracy'] - best_epoch) * 100:.2f} points"
        )


if __name__ == "__main__":
    main()
