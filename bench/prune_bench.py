"""Time a pruned search against the full grid, side by side, and check its winner.

Runs bench/report_grid.yaml (1,152 points: 4 widths x 4 depths x 3 activations x 4
optimizers x 6 learning rates, 20 epochs, moons of 2,000 samples, noise 0.2) twice in
one go: as the full grid, then with ``search.prune`` (asha by default). Each is one
whole ``dlexp search`` command, imports included, into an empty runs folder, with the
same compilation cache. Then the two winners are trained on 5 paired seeds with
``dlexp compare`` (a paired t-test): the pruned search's best is "within noise" of
the full grid's when the 95% interval of the difference holds 0.

    python bench/prune_bench.py                        # asha, the 1,152-point grid
    python bench/prune_bench.py --prune median
    python bench/prune_bench.py --points 144           # the first 144 points (quicker)
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]
GRID = ROOT / "bench" / "report_grid.yaml"
DLEXP = [sys.executable, "-m", "dlexp.cli"]


def search(grid: dict, name: str, runs: Path, env: dict) -> tuple[float, dict]:
    """Wall seconds of one search, and its best.json."""
    path = runs.parent / f"{name}.yaml"
    path.write_text(yaml.safe_dump({**grid, "name": name}))
    start = time.perf_counter()
    subprocess.run(
        [*DLEXP, "search", str(path), "--runs-dir", str(runs), "--yes", "--format", "json"],
        env=env, cwd=ROOT, check=True, capture_output=True, text=True,
    )  # fmt: skip
    seconds = time.perf_counter() - start
    return seconds, json.loads((runs / name / "best.json").read_text())


def epochs_trained(folder: Path) -> tuple[int, int, int]:
    """(trials, pruned trials, epochs trained in all) of a search folder."""
    import csv

    rows = list(csv.DictReader((folder / "results.csv").open()))
    pruned = sum(r["status"] == "pruned" for r in rows)
    return len(rows), pruned, int(sum(float(r["epochs_run"] or 0) for r in rows))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--prune", default="asha", help="search.prune.kind (asha, median)")
    parser.add_argument("--warmup", type=int, default=2)
    parser.add_argument("--min-trials", type=int, default=5)
    parser.add_argument("--points", type=int, default=None, help="search.max_trials")
    parser.add_argument("--seeds", type=int, default=5, help="paired seeds for the winners")
    parser.add_argument("--keep", type=Path, default=None, help="keep the runs here")
    args = parser.parse_args()

    grid = yaml.safe_load(GRID.read_text())
    if args.points:
        grid["search"]["max_trials"] = args.points
    pruned = json.loads(json.dumps(grid))
    pruned["search"]["prune"] = {
        "kind": args.prune, "warmup": args.warmup, "min_trials": args.min_trials,
    }  # fmt: skip
    work = Path(args.keep or tempfile.mkdtemp(prefix="dlexp-prune-"))
    work.mkdir(parents=True, exist_ok=True)
    env = {**os.environ, "DLEXP_CACHE_DIR": str(work / "xla-cache")}
    runs = work / "runs"
    full_s, full_best = search(grid, "full", runs, env)
    prune_s, prune_best = search(pruned, "pruned", runs, env)
    ft, _, fe = epochs_trained(runs / "full")
    pt, pp, pe = epochs_trained(runs / "pruned")
    print(f"full grid : {full_s:7.1f} s  {ft} trials, {fe} epochs  best {full_best['trial']} "
          f"{full_best['score']:.4f}  {full_best['params']}")  # fmt: skip
    print(f"{args.prune:<10}: {prune_s:7.1f} s  {pt} trials ({pp} pruned), {pe} epochs  best "
          f"{prune_best['trial']} {prune_best['score']:.4f}  {prune_best['params']}")  # fmt: skip
    print(f"ratio     : {prune_s / full_s:.2f}x the wall time, {pe / fe:.2f}x the epochs")
    a = runs / "full" / "trials" / full_best["runs"][0].removeprefix("trials/")
    b = runs / "pruned" / "trials" / prune_best["runs"][0].removeprefix("trials/")
    if full_best["params"] == prune_best["params"]:
        print("same winner: within noise by definition")
        return
    out = subprocess.run(
        [*DLEXP, "compare", str(a), str(b), "--repeats", str(args.seeds),
         "--runs-dir", str(work / "compare"), "--format", "json"],
        env=env, cwd=ROOT, capture_output=True, text=True,
    )  # fmt: skip
    result = json.loads(out.stdout)
    print(f"winners on {args.seeds} paired seeds: {result.get('verdict')}")
    for row in result.get("metrics", result.get("rows", [])):
        if row.get("metric") in ("val_accuracy", "test_accuracy"):
            print(f"  {row}")


if __name__ == "__main__":
    main()
