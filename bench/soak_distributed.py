"""A distributed soak on 127.0.0.1: a chief, three workers and a 48-trial stacked grid,
one worker killed with -9 every few seconds and restarted under its id.

At the end it checks that every trial ran exactly once (one finished folder and one
result per trial, one completed keras-tuner trial per point, no staged folder left)
and that the results equal an undisturbed run's (the same grid and stack in one
process), and prints the figures. Real Keras training on tiny data; a stack of four
trains its 6000 epochs in about 15 s (dlexp runs them on the device in one go), so
that the kills land while workers train.

    python bench/soak_distributed.py                    # kill every 20 s, at most 5 min
    python bench/soak_distributed.py --kill-every 20 --limit 300 --keep DIR
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

GRID = """\
name: soak
seed: 3
data: {kind: moons, n_samples: 1200, noise: 0.2}
train: {epochs: EPOCHS, batch_size: 32, early_stopping: false}
search:
  objective: val_accuracy
  params:
    model.first_neuron: [4, 8, 16, 32]
    model.activation: [relu, tanh]
    train.optimizer: [adam, sgd]
    train.learning_rate: [0.003, 0.01, 0.03]
"""
TRIALS = 48


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def env_for(tuner_id: str | None, port: int, **extra) -> dict:
    env = {k: v for k, v in os.environ.items() if not k.startswith("KERASTUNER_")}
    env["PYTHONPATH"] = os.pathsep.join([str(ROOT), env.get("PYTHONPATH", "")])
    if tuner_id is not None:
        env.update(
            KERASTUNER_TUNER_ID=tuner_id,
            KERASTUNER_ORACLE_IP="127.0.0.1",
            KERASTUNER_ORACLE_PORT=str(port),
        )
    return {**env, **extra}


def search_cmd(grid: Path, runs: Path, stack: int) -> list[str]:
    cmd = [sys.executable, "-m", "dlexp.cli", "search", str(grid), "--runs-dir", str(runs)]
    return [*cmd, "--stack", str(stack)]


def results(folder: Path) -> list[dict]:
    with open(folder / "results.csv") as f:
        return [{k: v for k, v in r.items() if k != "seconds"} for r in csv.DictReader(f)]


def same(a: dict, b: dict, rel: float) -> bool:
    """Two results rows agree: text to the letter, numbers within ``rel``."""
    if a.keys() != b.keys():
        return False
    for key in a:
        x, y = a[key], b[key]
        try:
            fx, fy = float(x), float(y)
        except ValueError:
            if x != y:
                return False
            continue
        if abs(fx - fy) > rel * max(abs(fx), abs(fy), 1e-12):
            return False
    return True


def once(folder: Path) -> tuple[int, int, int, int]:
    """(finished trial folders, results rows, duplicates, staged folders left)."""
    infos = [json.loads(p.read_text()) for p in folder.glob("trials/t*/run.json")]
    finished = sum(i.get("status") == "completed" for i in infos)
    rows = results(folder)
    dup_rows = len(rows) - len({r["trial"] for r in rows})
    trials = [json.loads(p.read_text()) for p in (folder / "tuner").glob("trial_*/trial.json")]
    points = [
        json.dumps(t["hyperparameters"]["values"], sort_keys=True)
        for t in trials
        if t["status"] == "COMPLETED"
    ]
    duplicates = dup_rows + len(points) - len(set(points))
    staged = len(list((folder / "trials").glob(".*")))
    return finished, len(rows), duplicates, staged


def soak(
    work: Path, kill_every: float, limit: float, stack: int, workers: int, epochs: int = 6000
) -> int:
    grid = work / "soak.yaml"
    grid.write_text(GRID.replace("EPOCHS", str(epochs)))
    port = free_port()
    begun = time.monotonic()
    straight = work / "straight"  # the undisturbed run first: what the soak must equal
    subprocess.run(
        search_cmd(grid, straight, stack),
        env=env_for(None, port),
        check=True,
        capture_output=True,
        timeout=limit,
    )
    reference = time.monotonic() - begun
    runs, logs = work / "runs", work / "logs"
    logs.mkdir()
    common = {"DLEXP_LEASE_S": "15", "DLEXP_CHIEF_TIMEOUT": "20"}
    started = time.monotonic()
    deadline = started + limit  # the soak itself (the undisturbed run has its own)

    def start(tuner_id: str, n: int) -> subprocess.Popen:
        log = open(logs / f"{tuner_id}.{n}.log", "wb")  # noqa: SIM115 - the process keeps it
        return subprocess.Popen(
            search_cmd(grid, runs, stack),
            env=env_for(tuner_id, port, **common),
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
        )

    chief = start("chief", 0)
    ids = [f"worker{i}" for i in range(1, workers + 1)]
    procs = {w: start(w, 0) for w in ids}
    kills, restarts = 0, {w: 0 for w in ids}
    next_kill = time.monotonic() + kill_every
    try:
        while chief.poll() is None and time.monotonic() < deadline:
            time.sleep(0.2)
            if time.monotonic() < next_kill:
                continue
            next_kill = time.monotonic() + kill_every
            if len(list((runs / "soak" / "trials").glob("t*/run.json"))) >= TRIALS:
                continue  # every trial published: the workers are being told to stop
            alive = [w for w in ids if procs[w].poll() is None]
            if not alive:
                continue
            victim = alive[kills % len(alive)]  # in turn: each worker killed as often
            procs[victim].send_signal(signal.SIGKILL)
            procs[victim].wait()
            kills += 1
            restarts[victim] += 1
            print(f"{time.monotonic() - started:6.1f} s: kill -9 {victim}", flush=True)
            procs[victim] = start(victim, restarts[victim])
        chief_rc = chief.wait(timeout=max(1.0, deadline - time.monotonic()))
        for proc in procs.values():  # told "stop" by the chief, each ends by itself
            proc.wait(timeout=max(1.0, min(30.0, deadline - time.monotonic())))
    except subprocess.TimeoutExpired:
        chief_rc = chief.poll()
    finally:
        for proc in [chief, *procs.values()]:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
    wall = time.monotonic() - started
    worker_rcs = [p.returncode for p in procs.values()]

    folder = runs / "soak"
    finished, rows, duplicates, staged = (
        once(folder) if (folder / "results.csv").exists() else (0, 0, 0, 0)
    )
    ours = {r["trial"]: r for r in results(folder)} if rows else {}
    theirs = {r["trial"]: r for r in results(straight / "soak")}
    exact = sum(ours.get(t) == r for t, r in theirs.items())
    mismatches = sum(not (t in ours and same(ours[t], r, 1e-4)) for t, r in theirs.items())
    print(f"chief exit {chief_rc}, last workers' exits {worker_rcs}")
    total = time.monotonic() - begun
    print(f"soak wall {wall:.1f} s, kills {kills}")
    print(f"the undisturbed run {reference:.1f} s; in all {total:.1f} s")
    print(f"trials {finished} of {TRIALS} finished, results rows {rows}, duplicates {duplicates}")
    print(f"staged folders left {staged}")
    print(
        f"mismatches {mismatches} (beyond 1e-4 relative); identical to the last digit "
        f"{exact} of {len(theirs)}"
    )
    load = os.getloadavg()
    print(f"load average {load[0]:.2f} {load[1]:.2f} {load[2]:.2f} on {os.cpu_count()} cores")
    ok = (
        chief_rc == 0
        and finished == rows == TRIALS
        and duplicates == 0
        and staged == 0
        and mismatches == 0
        and wall <= limit
    )
    print("ok" if ok else "FAILED")
    return 0 if ok else 1


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--kill-every", type=float, default=20.0, help="seconds between kills")
    parser.add_argument("--limit", type=float, default=300.0, help="seconds for the soak")
    parser.add_argument("--stack", type=int, default=4, help="trials per worker stack")
    parser.add_argument("--workers", type=int, default=3)
    parser.add_argument("--epochs", type=int, default=6000, help="epochs of every trial")
    parser.add_argument("--keep", type=Path, help="keep the folders here")
    args = parser.parse_args()
    if args.keep:
        args.keep.mkdir(parents=True, exist_ok=False)
        sys.exit(
            soak(args.keep, args.kill_every, args.limit, args.stack, args.workers, args.epochs)
        )
    with tempfile.TemporaryDirectory(prefix="dlexp-soak-") as tmp:
        sys.exit(
            soak(Path(tmp), args.kill_every, args.limit, args.stack, args.workers, args.epochs)
        )


if __name__ == "__main__":
    main()
