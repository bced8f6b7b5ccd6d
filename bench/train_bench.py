"""Time `dlexp train configs/deep_mlp.yaml` against a plain Keras script of the same work.

The two commands alternate in one session, as whole processes (imports included),
and the ratio of their median wall times is printed. Timings on shared machines are
noisy: read the medians, not a single pair.

    python bench/train_bench.py                 # 5 pairs, dlexp with its compilation cache
    python bench/train_bench.py --cold          # dlexp with an empty cache every time
    python bench/train_bench.py --plain-backend jax   # the plain script on JAX too
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def timed(cmd: list[str], env: dict) -> float:
    start = time.perf_counter()
    subprocess.run(
        cmd, env=env, cwd=ROOT, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument(
        "--cold", action="store_true", help="give dlexp an empty compilation cache on every run"
    )
    parser.add_argument(
        "--plain-backend",
        default="tensorflow",
        help="KERAS_BACKEND for the plain script (default: Keras' default)",
    )
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as tmp:
        base = {k: v for k, v in os.environ.items() if k != "KERAS_BACKEND"}
        plain_env = {**base, "KERAS_BACKEND": args.plain_backend, "TF_CPP_MIN_LOG_LEVEL": "2"}
        dlexp_cmd = [
            sys.executable,
            "-m",
            "dlexp.cli",
            "train",
            "configs/deep_mlp.yaml",
            "-q",
            "--runs-dir",
            f"{tmp}/runs",
        ]
        plain_cmd = [sys.executable, str(ROOT / "bench" / "plain_keras_deep_mlp.py")]
        cache = f"{tmp}/cache"
        if not args.cold:  # warm the cache once, as any earlier run of the config would
            timed(dlexp_cmd, {**base, "DLEXP_CACHE_DIR": cache})
        dlexp_times, plain_times = [], []
        for i in range(args.repeats):
            if args.cold:
                cache = f"{tmp}/cache-{i}"
            dlexp_times.append(timed(dlexp_cmd, {**base, "DLEXP_CACHE_DIR": cache}))
            plain_times.append(timed(plain_cmd, plain_env))
            print(
                f"pair {i + 1}: dlexp {dlexp_times[-1]:6.2f} s   plain Keras "
                f"({args.plain_backend}) {plain_times[-1]:6.2f} s",
                flush=True,
            )
    d, p = statistics.median(dlexp_times), statistics.median(plain_times)
    cache_note = "empty cache each run" if args.cold else "warm compilation cache"
    print(
        f"\nmedian wall time, whole command: dlexp {d:.2f} s ({cache_note}), "
        f"plain Keras on {args.plain_backend} {p:.2f} s"
    )
    print(f"plain / dlexp = {p / d:.2f}x")


if __name__ == "__main__":
    main()
