"""What the learning record (train.snapshots, on by default) costs: the same command
with `--set train.snapshots=0` and with the default, alternated, compared by medians.

Whole commands (imports included) with a warm compilation cache (each is run once
first to fill it).

    python bench/snapshots_bench.py                        # dlexp train configs/moons.yaml
    python bench/snapshots_bench.py --search --rounds 3    # dlexp search configs/grid.yaml
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--search", action="store_true", help="the notebook's grid, stacked")
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        if args.search:
            base = [sys.executable, "-m", "dlexp.cli", "search", str(ROOT / "configs/grid.yaml")]
        else:
            base = [sys.executable, "-m", "dlexp.cli", "train", str(ROOT / "configs/moons.yaml")]
        commands = {
            "snapshots 0": [*base, "--set", "train.snapshots=0"],
            "default (10)": base,
        }
        times: dict[str, list[float]] = {k: [] for k in commands}
        for i in range(args.rounds + 1):  # round 0 fills the compilation cache
            for name, cmd in commands.items():
                runs = Path(tmp) / f"{i}-{name.split()[0]}"
                start = time.perf_counter()
                subprocess.run(
                    [*cmd, "--runs-dir", str(runs)], check=True, capture_output=True, cwd=ROOT
                )
                if i:
                    times[name].append(time.perf_counter() - start)
        medians = {k: statistics.median(v) for k, v in times.items()}
        for name, values in times.items():
            shown = ", ".join(f"{v:.2f}" for v in values)
            print(f"{name:>14}: median {medians[name]:.2f} s ({shown})")
        off, on = medians.values()
        print(f"with snapshots / without = {on / off:.3f}x")


if __name__ == "__main__":
    main()
