"""Distributed mode under faults (issue 15): workers killed -9, restarted, paused or of
another grid, chiefs killed -9 and restarted, on 127.0.0.1 with free ports.

The end-to-end cases run the real CLI, chief, gRPC protocol and trial folders in
separate processes; their workers are ``tests/fake_worker.py`` (training replaced by
a sleep, as tests/test_search.py's FakeTrainer does), except the `--workers` case,
whose local workers are dlexp's own and train real Keras models.
"""

import copy
import json
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
from helpers import SMALL

from dlexp.search import engine, oracles
from dlexp.search import spec as grid

HERE = Path(__file__).resolve().parent
FAKE = HERE / "fake_worker.py"


def _pythonpath() -> str:
    return os.pathsep.join([str(HERE.parent), os.environ.get("PYTHONPATH", "")])


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Cluster:
    """Processes of one search on 127.0.0.1: a chief and fake workers, each killed at
    the end of the test if still running."""

    def __init__(self, tmp_path: Path, grid_path: Path, **env):
        self.tmp, self.grid, self.port = tmp_path, grid_path, free_port()
        self.runs = tmp_path / "runs"
        self.env = {
            **os.environ,
            "PYTHONPATH": _pythonpath(),
            "KERASTUNER_ORACLE_IP": "127.0.0.1",
            "KERASTUNER_ORACLE_PORT": str(self.port),
            **{k: str(v) for k, v in env.items()},
        }
        self.procs: list[subprocess.Popen] = []

    def _start(self, name: str, tuner_id: str, args, env) -> subprocess.Popen:
        log = open(self.tmp / f"{name}.log", "ab")  # noqa: SIM115 - the process keeps it
        cmd = [sys.executable, str(FAKE), "search", str(env.pop("GRID", self.grid)), *args]
        full = {**self.env, "KERASTUNER_TUNER_ID": tuner_id, **{k: str(v) for k, v in env.items()}}
        proc = subprocess.Popen(cmd, env=full, stdout=log, stderr=log, stdin=subprocess.DEVNULL)
        proc.log = self.tmp / f"{name}.log"
        self.procs.append(proc)
        return proc

    def chief(self, name="chief", *args, **env):
        return self._start(name, "chief", ["--runs-dir", str(self.runs), *args], env)

    def worker(self, tuner_id, *args, name=None, runs=None, **env):
        runs = runs or self.runs
        return self._start(name or tuner_id, tuner_id, ["--runs-dir", str(runs), *args], env)

    def kill(self) -> None:
        for proc in self.procs:
            if proc.poll() is None:
                proc.kill()
                proc.wait()

    @property
    def folder(self) -> Path:
        return self.runs / "small"


@pytest.fixture
def cluster(tmp_path, small):
    made = []

    def make(**env):
        made.append(Cluster(tmp_path, small, **env))
        return made[-1]

    yield make
    for c in made:
        c.kill()


def wait_for(what, timeout: float, every: float = 0.1):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = what()
        if found:
            return found
        time.sleep(every)
    return None


def staged_of(folder: Path, proc) -> list[Path]:
    return list((folder / "trials").glob(f".t*.tmp-{proc.pid}"))


def ended(proc, timeout: float) -> int | None:
    try:
        return proc.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        return None


def finished_once(folder: Path, points: int = 6) -> dict[str, str]:
    """Every point's folder is finished once and keras-tuner recorded one completed trial
    per point; returns trial name -> worker that trained it."""
    infos = {p.parent.name: json.loads(p.read_text()) for p in folder.glob("trials/t*/run.json")}
    assert sorted(infos) == [f"t{i:03d}" for i in range(points)]
    assert all(i["status"] == "completed" for i in infos.values())
    trials = [json.loads(p.read_text()) for p in (folder / "tuner").glob("trial_*/trial.json")]
    completed = [t for t in trials if t["status"] == "COMPLETED"]
    values = [json.dumps(t["hyperparameters"]["values"], sort_keys=True) for t in completed]
    assert len(values) == len(set(values)), "a point completed twice in keras-tuner's record"
    assert not list((folder / "trials").glob(".*")), "staged folders left behind"
    return {name: info.get("worker") for name, info in infos.items()}


def results(folder: Path) -> list[dict]:
    import csv

    with open(folder / "results.csv") as f:
        return [{k: v for k, v in r.items() if k != "seconds"} for r in csv.DictReader(f)]


def undisturbed(tmp_path: Path, grid_path: Path, stack="2") -> list[dict]:
    """The same search in one process, nothing killed."""
    env = {**os.environ, "PYTHONPATH": _pythonpath()}
    for key in ("KERASTUNER_TUNER_ID", "KERASTUNER_ORACLE_IP", "KERASTUNER_ORACLE_PORT"):
        env.pop(key, None)
    cmd = [sys.executable, str(FAKE), "search", str(grid_path), "--stack", stack]
    subprocess.run([*cmd, "--runs-dir", str(tmp_path / "straight")], env=env, check=True,
                   capture_output=True, timeout=120)  # fmt: skip
    return results(tmp_path / "straight" / "small")


# -- the oracle's leases, in process (fast) -------------------------------------------


def planned_oracle(small, tmp_path):
    search = engine.Search(grid.load(small), tmp_path, trainer=lambda jobs: [], stack=1)
    return oracles.make_oracle(
        search.spec, search.space, search.plan, set(), search.hooks, tmp_path / "tuner"
    )


def test_a_silent_workers_stack_goes_back_as_one(small, tmp_path):
    # the lease of one slot runs out a moment before the other's (the slots were handed
    # out one after the other): both go back in the same sweep, in order
    oracle = planned_oracle(small, tmp_path)
    oracle.create_trial("worker1")
    time.sleep(0.05)
    oracle.create_trial("worker1+1")
    oracle.create_trial("worker2")
    assert oracle.expire(0.03) == ["worker1", "worker1+1"]


def test_a_late_report_of_a_reassigned_trial_is_ignored(small, tmp_path):
    oracle = planned_oracle(small, tmp_path)
    first = copy.deepcopy(oracle.create_trial("worker1"))  # worker1's copy, as over gRPC
    assert oracle.expire(60.0) == []  # worker1 spoke just now
    time.sleep(0.05)
    assert oracle.expire(0.01) == ["worker1"]  # silent for a lease: back to the queue
    again = copy.deepcopy(oracle.create_trial("worker2"))
    assert again.trial_id == first.trial_id
    # worker1 wakes up and reports: ignored, and told the trial is not its own
    late = oracle.update_trial(f"{first.trial_id}@worker1", {"val_accuracy": 0.1})
    assert late.status == "STOPPED"
    first.trial_id = f"{first.trial_id}@worker1"
    first.status = "COMPLETED"
    oracle.end_trial(first)
    assert oracle.trials[again.trial_id].status == "RUNNING"  # worker2's still
    assert oracle.get_trial(f"{again.trial_id}@worker1").status == "STOPPED"
    assert oracle.get_trial(f"{again.trial_id}@worker2").status == "RUNNING"
    oracle.update_trial(f"{again.trial_id}@worker2", {"val_accuracy": 0.9})
    again.trial_id = f"{again.trial_id}@worker2"
    again.status = "COMPLETED"
    oracle.end_trial(again)
    trial = oracle.trials[first.trial_id.partition("@")[0]]
    assert trial.trial_id == again.trial_id.partition("@")[0]
    assert trial.status == "COMPLETED" and trial.score == 0.9
    assert len(oracle.done) == 1


def test_a_heartbeat_keeps_every_slot_of_a_stack_and_hello_hands_them_back(small, tmp_path):
    oracle = planned_oracle(small, tmp_path)
    held = [oracle.create_trial(slot) for slot in ("w1", "w1+1", "w1+2")]
    other = oracle.create_trial("w10")  # a prefix of no slot of w1's
    time.sleep(0.05)
    oracle.get_trial(oracles.BEAT + "w1")
    assert oracle.expire(0.04) == ["w10"]  # w1's three leases renewed, w10's gone
    oracle.get_trial(oracles.HELLO + "w1")  # w1 restarted: all three go back
    assert not oracle.ongoing_trials
    again = [oracle.create_trial(f"w2+{i}").trial_id for i in range(4)]
    assert sorted(again) == sorted([t.trial_id for t in held] + [other.trial_id])


# -- remote workers killed, restarted, paused ---------------------------------------------


@pytest.mark.slow
def test_a_worker_killed_9_while_it_trains_a_stack_loses_its_trials_after_a_lease(cluster):
    c = cluster(DLEXP_LEASE_S=3)
    chief = c.chief()
    w1 = c.worker("worker1", "--stack", "2", FAKE_SLEEP=120)
    assert wait_for(lambda: len(staged_of(c.folder, w1)) == 2, 60), "worker1 never trained"
    w1.kill()
    w2 = c.worker("worker2", "--stack", "2", FAKE_SLEEP=0.2)
    assert ended(chief, 60) == 0, chief.log.read_text()
    assert ended(w2, 30) == 0
    assert "worker1, worker1+1 silent for 3 s (DLEXP_LEASE_S)" in chief.log.read_text()
    assert set(finished_once(c.folder).values()) == {"worker2"}


@pytest.mark.slow
def test_a_worker_restarted_under_its_id_hands_its_old_trials_back(cluster):
    c = cluster(DLEXP_LEASE_S=600)  # no lease runs out here: the hello does it
    chief = c.chief()
    w1 = c.worker("worker1", "--stack", "2", FAKE_SLEEP=120)
    assert wait_for(lambda: len(staged_of(c.folder, w1)) == 2, 60)
    w1.kill()
    w1 = c.worker("worker1", "--stack", "1", name="worker1-again", FAKE_SLEEP=0.2)
    assert ended(chief, 60) == 0, chief.log.read_text()
    assert ended(w1, 30) == 0
    assert set(finished_once(c.folder).values()) == {"worker1"}


@pytest.mark.slow
def test_a_paused_workers_late_report_is_ignored_never_duplicated(cluster, tmp_path, small):
    c = cluster(DLEXP_LEASE_S=2)
    chief = c.chief()
    w1 = c.worker("worker1", "--stack", "2", FAKE_SLEEP=2)
    assert wait_for(lambda: len(staged_of(c.folder, w1)) == 2, 60)
    mine = sorted(p.name.split(".")[1] for p in staged_of(c.folder, w1))
    w1.send_signal(signal.SIGSTOP)  # silent, as a worker behind a lost network
    try:
        assert wait_for(lambda: "silent for 2 s" in chief.log.read_text(), 30)
        w2 = c.worker("worker2", "--stack", "1", FAKE_SLEEP=1.5)
        assert wait_for(lambda: all((c.folder / "trials" / t).exists() for t in mine), 60)
    finally:
        w1.send_signal(signal.SIGCONT)  # it wakes, ends its sleep, and would report
    assert ended(chief, 60) == 0, chief.log.read_text()
    assert ended(w2, 30) == 0 and ended(w1, 30) == 0, w1.log.read_text()
    workers = finished_once(c.folder)
    assert {workers[t] for t in mine} == {"worker2"}  # not worker1's late copy
    assert results(c.folder) == undisturbed(tmp_path, small)


@pytest.mark.slow
def test_a_worker_of_another_grid_is_refused_and_its_trials_go_to_others(cluster, write):
    other = write("other.yaml", SMALL.replace("n_samples: 240", "n_samples: 300"))
    c = cluster(DLEXP_LEASE_S=600)  # no lease runs out here
    chief = c.chief()
    wrong = c.worker("wrong", "--stack", "2", runs=c.tmp / "elsewhere", GRID=other)
    assert ended(wrong, 60) == 2
    said = [line for line in wrong.log.read_text().splitlines() if line.strip()]
    assert "is not this worker's" in said[-1] and "Traceback" not in wrong.log.read_text()
    w2 = c.worker("worker2", "--stack", "2", FAKE_SLEEP=0.2)
    assert ended(chief, 60) == 0, chief.log.read_text()
    assert ended(w2, 30) == 0
    assert set(finished_once(c.folder).values()) == {"worker2"}


# -- the chief killed, restarted, or gone ----------------------------------------------------


@pytest.mark.slow
def test_a_chief_killed_9_and_restarted_the_workers_carry_on(cluster, tmp_path, small):
    c = cluster(DLEXP_CHIEF_TIMEOUT=60)
    chief = c.chief()
    w1 = c.worker("worker1", "--stack", "2", FAKE_SLEEP=3)
    w2 = c.worker("worker2", "--stack", "1", FAKE_SLEEP=3)
    assert wait_for(lambda: staged_of(c.folder, w1) and staged_of(c.folder, w2), 60)
    chief.kill()
    chief.wait()
    live = staged_of(c.folder, w1) + staged_of(c.folder, w2)
    chief = c.chief("chief-again")
    # the new chief keeps the staged folders of workers that still train them
    assert wait_for(lambda: (c.folder / "search.json").stat().st_mtime > time.time() - 5, 30)
    assert all(p.exists() or (c.folder / "trials" / p.name.split(".")[1]).exists() for p in live)
    assert ended(chief, 90) == 0, chief.log.read_text()
    assert ended(w1, 30) == 0, w1.log.read_text()
    assert ended(w2, 30) == 0, w2.log.read_text()
    finished_once(c.folder)
    assert results(c.folder) == undisturbed(tmp_path, small)


@pytest.mark.slow
def test_a_worker_whose_chief_died_gives_up_after_the_chief_timeout(cluster):
    c = cluster(DLEXP_CHIEF_TIMEOUT=3)
    chief = c.chief()
    w1 = c.worker("worker1", "--stack", "2", FAKE_SLEEP=1)
    assert wait_for(lambda: staged_of(c.folder, w1), 60)
    chief.kill()
    chief.wait()
    gone = time.monotonic()
    assert ended(w1, 30) == 1, w1.log.read_text()
    assert time.monotonic() - gone < 20
    said = [line for line in w1.log.read_text().splitlines() if line.strip()]
    assert said[-1] == (
        f"worker1: failed: the chief at 127.0.0.1:{c.port} did not answer for 3 s "
        "(DLEXP_CHIEF_TIMEOUT); run the same command again once it is back"
    )
    assert "Traceback" not in w1.log.read_text()
    assert not staged_of(c.folder, w1)  # its half-trained folders went with it


# -- staged folders of a restarted chief ----------------------------------------------------


def test_a_reopened_search_keeps_live_owners_staged_folders(small, tmp_path):
    search = engine.Search(grid.load(small), tmp_path, trainer=lambda jobs: [], stack=1)
    search.store.open(overwrite=False)
    search.store.close()
    trials = search.store.trials
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    live, gone = trials / f".t001.tmp-{os.getpid()}", trials / f".t002.tmp-{dead.pid}"
    for staged in (live, gone):
        staged.mkdir()
        (staged / "run.json").write_text("{}")
        os.utime(staged, (time.time() - 3600,) * 2)
    search.store.open(overwrite=False)  # a chief restarted: this process still trains t001
    try:
        assert live.exists() and not gone.exists()
    finally:
        search.store.close()


def test_a_dead_workers_folders_are_recovered_before_they_are_cleaned(small, tmp_path):
    from dlexp.search import chief

    search = engine.Search(grid.load(small), tmp_path, trainer=lambda jobs: [], stack=1)
    search.store.open(overwrite=False)
    try:
        staged = search.store.trials / ".t003.tmp-4194303"  # above any pid_max: not running
        staged.mkdir()
        seen = []
        search.store.recover = lambda: seen.append(staged.exists())
        chief.worker_gone(search.store, 4194303)
        assert seen == [True] and not staged.exists()
    finally:
        search.store.close()


# -- local workers (real training) --------------------------------------------------------------


def _child_pids(parent: int) -> set[int]:
    found = set()
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rpartition(")")[2].split()
        except OSError:
            continue
        if int(fields[1]) == parent:
            found.add(int(stat.parent.name))
    return found


@pytest.mark.slow
def test_a_local_worker_killed_9_in_a_stack_is_replaced_and_all_its_trials_redone(write, tmp_path):
    g = write("slow.yaml", SMALL.replace("epochs: 2", "epochs: 60"))
    env = {k: v for k, v in os.environ.items() if not k.startswith("KERASTUNER_")}
    env["PYTHONPATH"] = _pythonpath()
    cmd = [sys.executable, "-m", "dlexp.cli", "search", str(g), "--workers", "2", "--stack", "2"]
    log = open(tmp_path / "chief.log", "wb")  # noqa: SIM115
    chief = subprocess.Popen([*cmd, "--runs-dir", str(tmp_path / "a")], env=env, stdout=log,
                             stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)  # fmt: skip
    folder = tmp_path / "a" / "small"
    try:

        def training_worker():
            for pid in _child_pids(chief.pid):
                if len(list((folder / "trials").glob(f".t*.tmp-{pid}"))) == 2:
                    return pid
            return None

        pid = wait_for(training_worker, 240, every=0.05)
        assert pid, (tmp_path / "chief.log").read_text()
        os.kill(pid, signal.SIGKILL)
        assert ended(chief, 480) == 0, (tmp_path / "chief.log").read_text()
    finally:
        if chief.poll() is None:
            chief.kill()
            chief.wait()
    assert len(finished_once(folder)) == 6
    assert len(results(folder)) == 6
