"""Stacked trials against the same trials one at a time: how far apart their results are.

Runs `dlexp search GRID --stack 1` (each trial its own Keras fit) and `dlexp search GRID`
(trials trained together) into temporary folders, or compares two results.csv files
you give, and prints the median and largest |difference| of each trial's final
val_accuracy, how many are identical, and each side's best trial.

    python bench/agreement.py                          # configs/grid.yaml (about 2.5 min)
    python bench/agreement.py --results a/results.csv b/results.csv
"""

from __future__ import annotations

import argparse
import csv
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def rows(path: Path) -> dict[str, dict]:
    with open(path) as f:
        return {r["trial"]: r for r in csv.DictReader(f)}


def compare(one: Path, stacked: Path, metric: str = "val_accuracy") -> None:
    a, b = rows(one), rows(stacked)
    diffs = [abs(float(a[t][metric]) - float(b[t][metric])) for t in a]
    print(
        f"{len(diffs)} trials: median |diff| {metric} {statistics.median(diffs):.6f}, "
        f"largest {max(diffs):.2e}, identical {sum(d == 0 for d in diffs)}"
    )
    for name, r in (("one at a time", a), ("stacked", b)):
        best = max(r.values(), key=lambda x: float(x["score"]))
        print(f"best {name}: {best['trial']} score {best['score']}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--grid", default=str(ROOT / "configs" / "grid.yaml"))
    parser.add_argument("--results", nargs=2, type=Path, metavar=("ONE", "STACKED"))
    args = parser.parse_args()
    if args.results:
        compare(*args.results)
        return
    with tempfile.TemporaryDirectory() as tmp:
        folders = []
        for label, extra in (("one", ["--stack", "1"]), ("stacked", [])):
            cmd = [
                sys.executable,
                "-m",
                "dlexp.cli",
                "search",
                args.grid,
                "--runs-dir",
                f"{tmp}/{label}",
                *extra,
                "--format",
                "json",
            ]
            subprocess.run(cmd, check=True, capture_output=True, cwd=ROOT)
            folders.append(next(Path(tmp, label).glob("*/results.csv")))
        compare(*folders)


if __name__ == "__main__":
    main()
