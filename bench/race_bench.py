"""Seed racing against plain repeats on the notebook's grid, side by side.

configs/grid.yaml (72 points, 100 epochs) runs twice in one go: every point on
``repeats: N`` seeds, then ``race: {seeds: N}`` (2 seeds each, then one more seed per
round only for the points a paired t-test cannot yet tell from the best). Each is one
whole ``dlexp search`` command into an empty runs folder. Then it prints the runs each
trained, their wall times, and the points within noise of the best: for the repeats,
as the report marks them (a paired t-test against the best, down the ranking); for
the race, as race.json says.

    python bench/race_bench.py                 # N = 10, 100 epochs
    python bench/race_bench.py --epochs 30     # quicker
    python bench/race_bench.py --grid bench/race_grid.yaml --epochs 30   # points that differ
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
DLEXP = [sys.executable, "-m", "dlexp.cli"]


def search(grid: dict, name: str, runs: Path, env: dict) -> float:
    path = runs.parent / f"{name}.yaml"
    path.write_text(yaml.safe_dump({**grid, "name": name}))
    start = time.perf_counter()
    subprocess.run(
        [*DLEXP, "search", str(path), "--runs-dir", str(runs), "--yes", "--format", "json"],
        env=env, cwd=ROOT, check=True, capture_output=True, text=True,
    )  # fmt: skip
    return time.perf_counter() - start


def report(folder: Path, env: dict) -> dict[str, dict]:
    """The report's record of each trial: its mean objective, runs and noise mark."""
    out = subprocess.run(
        [*DLEXP, "report", str(folder), "--format", "json"],
        env=env, cwd=ROOT, check=True, capture_output=True, text=True,
    )  # fmt: skip
    rows = [r for r in json.loads(out.stdout) if r["kind"] == "trial"]
    return {r["id"].rsplit("/", 1)[-1]: r for r in rows}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=10)
    parser.add_argument("--epochs", type=int, default=100)
    parser.add_argument("--grid", type=Path, default=ROOT / "configs" / "grid.yaml")
    parser.add_argument("--keep", type=Path, default=None, help="keep the runs here")
    args = parser.parse_args()

    grid = yaml.safe_load(args.grid.read_text())
    grid["search"]["params"]["train.epochs"] = [args.epochs]
    repeats = json.loads(json.dumps(grid))
    repeats["search"]["repeats"] = args.seeds
    raced = json.loads(json.dumps(grid))
    raced["search"]["race"] = {"seeds": args.seeds}
    work = Path(args.keep or tempfile.mkdtemp(prefix="dlexp-race-"))
    work.mkdir(parents=True, exist_ok=True)
    env = {**os.environ, "DLEXP_CACHE_DIR": str(work / "xla-cache")}
    runs = work / "runs"
    rep_s = search(repeats, "repeats", runs, env)
    race_s = search(raced, "race", runs, env)
    rep = report(runs / "repeats", env)
    race = json.loads((runs / "race" / "race.json").read_text())["points"]
    race_rows = report(runs / "race", env)
    rep_runs = sum(len(r["runs"]) for r in rep.values())
    race_runs = sum(p["seeds"] for p in race.values())
    objective = "val_accuracy"
    print(f"repeats {args.seeds}: {rep_s:7.1f} s, {rep_runs} runs")
    print(f"race {args.seeds}   : {race_s:7.1f} s, {race_runs} runs "
          f"({race_runs / rep_runs:.2f}x the runs, {race_s / rep_s:.2f}x the time)")  # fmt: skip
    a = {t for t, r in rep.items() if r["within_noise_of_best"]}
    b = {t for t, p in race.items() if p["within_noise"]}
    print(f"within noise of the best, repeats: {sorted(a)}")
    print(f"within noise of the best, race   : {sorted(b)}")
    print("the same set" if a == b else "they differ:")
    for t in sorted(a ^ b):
        m = rep[t]["metrics"]
        print(
            f"  {t}: repeats {m.get(objective):.4f} ± {m.get(objective + '_std') or 0:.4f} "
            f"({'within' if t in a else 'apart'}); race {race[t]['seeds']} seeds, mean "
            f"{race_rows[t]['metrics'].get(objective):.4f} ({'within' if t in b else 'apart'}"
            f"{', told apart at seed ' + str(race[t].get('told_apart_at')) if t not in b else ''})"
        )


if __name__ == "__main__":
    main()
