"""Memory and time of one process running the notebook's 72-point grid, one trial at a time.

Runs `configs/grid.yaml --stack 1` in this process (3 epochs a trial by default, so it takes
a couple of minutes) and prints the resident memory after trials 1, 10, 20, ..., 72
and the wall time, with JAX's in-memory compiled programs dropped every N runs
(dlexp's default is 10; 0 never drops them, 1 drops them before every run).

    python bench/search_memory.py                  # every 10 runs
    python bench/search_memory.py --release-every 0
    python bench/search_memory.py --release-every 1 --epochs 100
"""

from __future__ import annotations

import argparse
import re
import sys
import tempfile
import time
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]


def rss_mib() -> int:
    return int(re.search(r"VmRSS:\s+(\d+)", Path("/proc/self/status").read_text()).group(1)) // 1024


class MemoryView:
    """A search view (the calls dlexp's live view gets) that notes the resident memory
    after every trial."""

    def __init__(self):
        self.seen: list[int] = []

    def start(self, total, done): ...
    def trial_started(self, trial, worker): ...
    def epoch(self, trial, epoch, epochs): ...
    def stop(self): ...

    def trial_ended(self, trial, row, best):
        self.seen.append(rss_mib())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--release-every", type=int, default=10)
    parser.add_argument("--epochs", type=int, default=3)
    args = parser.parse_args()
    sys.path.insert(0, str(ROOT))
    from dlexp.search import spec as grid
    from dlexp.search.engine import Search
    from dlexp.train import fit as training

    training.RELEASE_EVERY = args.release_every
    raw = yaml.safe_load((ROOT / "configs" / "grid.yaml").read_text())
    raw["search"]["params"]["train.epochs"] = [args.epochs]
    with tempfile.TemporaryDirectory() as tmp:
        grid_file = Path(tmp) / "grid.yaml"
        grid_file.write_text(yaml.safe_dump(raw, sort_keys=False))
        view = MemoryView()
        start = time.perf_counter()
        Search(grid.load(grid_file), Path(tmp) / "runs", view, stack=1).run()
        seconds = time.perf_counter() - start
    seen = view.seen
    marks = [seen[0]] + seen[9::10] + [seen[-1]]
    print(
        f"release every {args.release_every} runs, {args.epochs} epochs: {len(seen)} trials "
        f"in {seconds:.1f} s; RSS MiB after trials 1, 10, 20, ..., {len(seen)}: {marks}"
    )


if __name__ == "__main__":
    main()
