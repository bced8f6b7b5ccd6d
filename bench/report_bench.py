"""Time `dlexp report` on a hundred run folders, or on a 1,152-trial search.

Copies the test fixtures' runs until there are N (default 100) run folders plus the
fixtures' search, then times, as whole commands: the table alone (`--no-html`), the
first HTML page (every picture drawn), and the page again (pictures current).

With --grid, searches bench/report_grid.yaml (1,152 trials of 20 epochs, about 3 min;
kept in --grid-runs to be timed again) and times, as whole commands, the median of
--repeat times each: the table and JSON with no index (the first report), with the
index current, the first HTML page, the page again, and the sizes of the page and of
the runs (the first JSON also fits the importance forest, which the index then
remembers). --base PATH times another checkout's dlexp beside this one (its venv's
python, e.g. an older commit in a git worktree).

    python bench/report_bench.py
    python bench/report_bench.py --runs 300
    python bench/report_bench.py --grid --grid-runs /tmp/grid1152
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


def timed(cmd: list[str], env: dict | None = None, cwd: Path = ROOT) -> float:
    start = time.perf_counter()
    subprocess.run(  # in cwd: `python -m` imports the dlexp found there first
        cmd, cwd=cwd, env=env, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    return time.perf_counter() - start


def size(path: Path) -> int:
    return sum(f.stat().st_size for f in path.rglob("*") if f.is_file())


def grid(args) -> None:
    import os
    import statistics

    runs = Path(args.grid_runs)
    if not (runs / "report_grid" / "results.csv").exists():
        cmd = [sys.executable, "-m", "dlexp.cli", "search", "bench/report_grid.yaml"]
        print(f"searching the grid into {runs}: {timed(cmd + ['--runs-dir', str(runs)]):.0f} s")
    trials = len(list((runs / "report_grid" / "trials").iterdir()))
    tmp = Path(tempfile.mkdtemp())
    versions = [("this", ROOT, sys.executable)]
    if args.base:
        base = Path(args.base).resolve()
        versions.append(("base", base, args.base_python or sys.executable))
    rows: dict[str, dict[str, float]] = {}
    for _ in range(args.repeat):
        for name, root, python in versions:
            env = dict(os.environ, PYTHONPATH=str(root), DLEXP_INDEX_DIR=str(tmp / name / "c"))
            shutil.rmtree(tmp / name, ignore_errors=True)
            cli = [python, "-m", "dlexp.cli", "report", str(runs)]
            out = ["--out", str(tmp / name / "page")]
            times = rows.setdefault(name, {})
            steps = [
                ("json, no index", cli + ["--format", "json"]),
                ("table, index current", cli + ["--no-html"]),
                ("json, index current", cli + ["--format", "json"]),
                ("first HTML page", cli + out),
                ("HTML page again", cli + out),
            ]
            for step, cmd in steps:
                times.setdefault(step, []).append(timed(cmd, env, root))
    print(f"{trials} trials, whole commands, median of {args.repeat}:")
    for step in rows["this"]:
        cells = [f"{statistics.median(rows[n][step]):6.2f} s" for n, _, _ in versions]
        ratio = ""
        if args.base:
            this, base = (statistics.median(rows[n][step]) for n in ("this", "base"))
            ratio = f"   {base / this:5.1f}x faster"
        print(f"  {step:22s} {'  '.join(cells)}{ratio}")
    page = tmp / "this" / "page"
    html = (page / "index.html").stat().st_size / 1e3
    print(f"  page folder: {size(page) / 1e6:.1f} MB; index.html {html:.0f} KB")
    print(f"  runs folder: {size(runs) / 1e6:.0f} MB, {size(runs) / trials / 1e3:.0f} KB a trial")
    shutil.rmtree(tmp, ignore_errors=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=100)
    parser.add_argument("--grid", action="store_true", help="time a 1,152-trial search")
    parser.add_argument("--grid-runs", default="bench-runs/report_grid", help="its runs folder")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--base", help="another checkout of dlexp to time beside this one")
    parser.add_argument("--base-python", help="the python to run --base with")
    args = parser.parse_args()
    if args.grid:
        grid(args)
        return
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
