"""Time `dlexp search` against a plain keras-tuner GridSearch script on the same points.

Both run the notebook's grid (configs/grid.yaml: batch 30, the same data and split,
the same epochs), by default reduced to 8 points so that the pair runs in minutes.
Each side is one whole command, imports included. dlexp runs first with an empty
compilation cache (cold), then again with the cache that run left (warm); each
prints its wall time and peak memory. Then the plain script runs, and the ratios
are printed, with each side's best validation accuracy (the best epoch's, as
keras-tuner scores a trial).

    python bench/search_bench.py                       # 8 points, 100 epochs
    python bench/search_bench.py --full                # all 72 points (plain: ~20 min)
    python bench/search_bench.py --full --skip-plain   # dlexp alone
    python bench/search_bench.py --stack 1             # dlexp one Keras fit at a time
    python bench/search_bench.py --full --cv 5         # each point on 5 folds (dlexp alone)
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import resource
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


def timed(cmd: list[str], env: dict) -> tuple[float, int, subprocess.CompletedProcess]:
    """Wall seconds and peak resident MiB of one whole command."""
    start = time.perf_counter()
    out = subprocess.run(cmd, env=env, cwd=ROOT, check=True, capture_output=True, text=True)
    seconds = time.perf_counter() - start
    peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss // 1024  # the largest so far
    return seconds, peak, out


def best_epoch_accuracy(record: dict) -> float:
    best = 0.0
    for trial in record["trials"]:
        for run in trial["runs"].split(";"):
            with open(Path(record["folder"]) / run / "history.csv") as f:
                best = max(best, *(float(r["val_accuracy"]) for r in csv.DictReader(f)))
    return best


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--full", action="store_true", help="all 72 points of the notebook")
    parser.add_argument("--epochs", type=int, default=100)
    parser.add_argument("--workers", type=int, default=1)
    parser.add_argument("--stack", type=int, default=None, help="dlexp's --stack")
    parser.add_argument("--skip-plain", action="store_true", help="time dlexp alone")
    parser.add_argument("--cv", type=int, default=None, help="search.cv: folds per point")
    args = parser.parse_args()

    grid = yaml.safe_load((ROOT / "configs" / "grid.yaml").read_text())
    params = grid["search"]["params"]
    if not args.full:
        params.update(REDUCED)
    params["train.epochs"] = [args.epochs]
    if args.cv:  # keras-tuner has no cross-validation to compare with: dlexp alone
        grid["search"]["cv"] = args.cv
        args.skip_plain = True
    n = 1
    for key in PLAIN_FLAGS:
        n *= len(params[key])

    with tempfile.TemporaryDirectory() as tmp:
        grid_file = Path(tmp) / "bench_grid.yaml"
        grid_file.write_text(yaml.safe_dump(grid, sort_keys=False))
        env = {k: v for k, v in os.environ.items() if k != "KERAS_BACKEND"}
        env["DLEXP_CACHE_DIR"] = f"{tmp}/cache"
        stack = [] if args.stack is None else ["--stack", str(args.stack)]
        print(
            f"{n} points x {args.epochs} epochs{f' x {args.cv} folds' if args.cv else ''}, "
            f"batch 30; dlexp --workers {args.workers} "
            f"{' '.join(stack)}",
            flush=True,
        )
        times = {}
        for label in ("cold", "warm"):
            cmd = [
                sys.executable,
                "-m",
                "dlexp.cli",
                "search",
                str(grid_file),
                "--runs-dir",
                f"{tmp}/runs-{label}",
                "--workers",
                str(args.workers),
                *stack,
                "--format",
                "json",
            ]
            seconds, peak, out = timed(cmd, env)
            times[label] = seconds
            record = json.loads(out.stdout)
            best_final = max(t["score"] for t in record["trials"] if t["score"] is not None)
            print(
                f"dlexp search ({label} cache): {seconds:7.1f} s, peak RSS so far {peak} MiB, "
                f"best val_accuracy {best_epoch_accuracy(record):.4f} (best epoch), "
                f"{best_final:.4f} (final model)",
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
        plain_env = {**env, "KERAS_BACKEND": "tensorflow", "TF_CPP_MIN_LOG_LEVEL": "2"}
        plain_s, _, out = timed(plain, plain_env)
        result = json.loads(out.stdout.strip().splitlines()[-1])
        assert result["trials"] == n, result
        print(
            f"plain keras-tuner: {plain_s:7.1f} s  best val_accuracy "
            f"{result['best_val_accuracy']:.4f} (best epoch)"
        )
        for label, seconds in times.items():
            print(f"plain / dlexp ({label}) = {plain_s / seconds:.1f}x")


if __name__ == "__main__":
    main()
