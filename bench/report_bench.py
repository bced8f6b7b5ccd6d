"""Time `dlexp report` on a hundred run folders.

Copies the test fixtures' runs until there are N (default 100) run folders plus the
fixtures' search, then times, as whole commands: the table alone (`--no-html`), the
first HTML page (every picture drawn), and the page again (pictures current).

    python bench/report_bench.py
    python bench/report_bench.py --runs 300
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
FIXTURES = ROOT / "tests" / "fixtures" / "runs"
SOURCES = [
    "20260101-000000-plain-aaaaaa",
    "20260101-000001-regularized-bbbbbb",
    "20260101-000002-blobs-cccccc",
]


def timed(cmd: list[str]) -> float:
    start = time.perf_counter()
    subprocess.run(cmd, cwd=ROOT, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=100)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        runs = Path(tmp) / "runs"
        shutil.copytree(FIXTURES / "tinygrid", runs / "tinygrid")
        for i in range(args.runs):
            source = FIXTURES / SOURCES[i % len(SOURCES)]
            target = runs / f"20260102-{i:06d}-copy-{i:06x}"
            shutil.copytree(source, target)
            metrics = json.loads((target / "metrics.json").read_text())
            metrics["test"]["accuracy"] = round(0.5 + (i % 50) / 100, 4)  # distinct rows
            (target / "metrics.json").write_text(json.dumps(metrics))
        cli = [sys.executable, "-m", "dlexp.cli", "report", str(runs)]
        table = timed(cli + ["--no-html"])
        first = timed(cli)
        again = timed(cli)
        print(f"{args.runs} runs + a 4-trial search, whole commands:")
        print(f"  table only (--no-html):            {table:5.2f} s")
        print(f"  table + HTML, every picture drawn: {first:5.2f} s")
        print(f"  table + HTML, pictures current:    {again:5.2f} s")


if __name__ == "__main__":
    main()
