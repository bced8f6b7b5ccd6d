"""Time `dlexp train CONFIG --repeats N` against one `dlexp train CONFIG`.

Both are whole commands (imports included) with a warm compilation cache (each is run
once first to fill it), alternated, and compared by their medians.

    python bench/repeats_bench.py                         # configs/moons.yaml, 5 repeats
    python bench/repeats_bench.py --repeats 10 --rounds 5
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
    parser.add_argument("--config", default=str(ROOT / "configs" / "moons.yaml"))
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        base = [sys.executable, "-m", "dlexp.cli", "train", args.config, "-q", "--runs-dir", tmp]
        commands = {
            "one run": base,
            f"--repeats {args.repeats}": [*base, "--repeats", str(args.repeats)],
        }
        times: dict[str, list[float]] = {k: [] for k in commands}
        for cmd in commands.values():  # fill the compilation cache
            subprocess.run(cmd, check=True, capture_output=True, cwd=ROOT)
        for _ in range(args.rounds):
            for name, cmd in commands.items():
                start = time.perf_counter()
                subprocess.run(cmd, check=True, capture_output=True, cwd=ROOT)
                times[name].append(time.perf_counter() - start)
        medians = {k: statistics.median(v) for k, v in times.items()}
        for name, values in times.items():
            shown = ", ".join(f"{v:.2f}" for v in values)
            print(f"{name:>14}: median {medians[name]:.2f} s ({shown})")
        one, many = medians.values()
        print(f"--repeats {args.repeats} / one run = {many / one:.2f}x")


if __name__ == "__main__":
    main()
