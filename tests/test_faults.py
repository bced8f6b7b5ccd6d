"""The machine's faults: kill -9 while a stack publishes its folders, a full disk (a trial it
failed is not done; a disk too small for the first files; a report that cannot be written)."""

import csv
import errno
import json
import os
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest
from click.testing import CliRunner

from dlexp.cli import cli
from dlexp.runs import folder as runs
from dlexp.search import engine
from dlexp.search import spec as grid
from dlexp.search.store import SearchStore
from dlexp.train import fit as training

FULL = "No space left on device"


def read_results(folder):
    with open(folder / "results.csv") as f:
        return list(csv.DictReader(f))


def dead_pid() -> int:
    """The id of a process that has ended."""
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()
    return proc.pid


def one_line(text: str) -> bool:
    return len(text.strip().splitlines()) == 1 and "Traceback" not in text


def staged_leftovers(root: Path) -> list[str]:
    return [p.name for p in root.rglob(".*") if ".tmp-" in p.name or ".publish-" in p.name]


# -- kill -9 while a stack publishes ------------------------------------------------------


def stage_by_hand(trials: Path, pid: int, names: list[str], status="completed") -> list[Path]:
    """The folders a stack killed before it published them leaves: complete, staged."""
    folders = []
    for i, name in enumerate(names):
        folder = trials / f".{name}.tmp-{pid}"
        folder.mkdir(parents=True)
        fill(folder, name, i, names, status)
        folders.append(folder)
    return folders


def fill(folder: Path, name: str, i: int, names: list[str], status: str) -> None:
    """A run folder's files, as a member ``i`` of the stack ``names`` that ended."""
    for f in ("config.yaml", "history.csv", "model.keras", "predictions.npz"):
        (folder / f).write_text("x\n")
    (folder / "config.yaml").write_text("seed: 1\n")
    metrics = runs.Metrics(epochs_run=2, best_epoch=2, params=1, val={"accuracy": 0.5})
    (folder / "metrics.json").write_text(json.dumps(metrics.to_json()))
    stack = {"group": f"{names[0]}..{names[-1]}", "size": len(names), "position": i}
    info = {"id": name, "status": status, "stack": stack, "duration_s": 0.1}
    (folder / "run.json").write_text(json.dumps(info))


def test_a_killed_stacks_complete_staged_folders_are_published_on_open(small, tmp_path):
    """kill -9 after a stack's folders were complete, before (or while) they were renamed:
    the next open trusts them (a journal's renames are finished; a whole stack of
    complete folders is published), and a stack cut short stays staged, to be cleared."""
    spec = grid.load(small)
    store = SearchStore(tmp_path / "small", spec)
    trials = store.trials
    pid = dead_pid()
    # a stack of three killed among its renames: t000 renamed, its journal left
    first = stage_by_hand(trials, pid, ["t000", "t001", "t002"])
    moves = [[f.name, f.name[1:].split(".tmp-")[0]] for f in first]
    (trials / f".publish-{pid}-abc123.json").write_text(json.dumps({"pid": pid, "moves": moves}))
    os.replace(first[0], trials / "t000")
    # a stack of two killed before its journal: both folders complete
    stage_by_hand(trials, pid, ["t003", "t004"])
    # a stack of two one of whose members never ended: redone, both
    cut = stage_by_hand(trials, pid, ["t005", "t006"])
    info = json.loads((cut[1] / "run.json").read_text())
    (cut[1] / "run.json").write_text(json.dumps({**info, "status": "running"}))
    for folder in cut:  # untouched for an hour: no worker elsewhere still trains them
        os.utime(folder, (time.time() - 3600,) * 2)
    # a dead process whose pid this one has been given again: its stack is trusted too
    stage_by_hand(trials, os.getpid(), ["t007", "t008"])
    store.open(overwrite=False)
    try:
        done = sorted(p.name for p in trials.iterdir())
        assert done == ["t000", "t001", "t002", "t003", "t004", "t007", "t008"]
        assert all(store.run_done(n) for n in done)
        # safe to call again, while this process trains (another's cleanup calls it too):
        # a folder this process is training into is left alone
        mine = store.stage("t009")
        fill(mine.path, "t009", 0, ["t009"], "completed")
        store.recover()
        assert sorted(p.name for p in trials.iterdir()) == sorted([*done, mine.path.name])
    finally:
        store.close()


KILL_AT_FIRST_RENAME = """
import os, signal, sys
from pathlib import Path

real = os.replace

def replace(src, dst, *args, **kwargs):
    real(src, dst, *args, **kwargs)
    dst = Path(dst)
    if dst.parent.name == "trials" and dst.is_dir() and not dst.name.startswith("."):
        os.kill(os.getpid(), signal.SIGKILL)  # the first trial folder renamed into place

os.replace = replace
from dlexp.cli import main
sys.argv = ["dlexp", *sys.argv[1:]]
main()
"""


@pytest.mark.slow
def test_kill_9_while_a_stack_publishes_its_folders_trusts_the_complete_ones(small, tmp_path):
    """Reproduced: 3 folders finished before the kill, the resume said "2 of them done
    before" and trained the others again, alone. Now all three are done, and the
    resumed search equals an undisturbed one."""
    script = tmp_path / "kill_at_rename.py"
    script.write_text(KILL_AT_FIRST_RENAME)
    args = ["search", str(small), "--stack", "3", "--runs-dir"]
    env = {**os.environ, "COLUMNS": "200"}
    killed = subprocess.run(
        [sys.executable, str(script), *args, str(tmp_path / "a")], capture_output=True, env=env
    )
    assert killed.returncode == -9
    trials = tmp_path / "a" / "small" / "trials"
    staged = {p.name: json.loads((p / "run.json").read_text()) for p in trials.glob(".t*")}
    assert len(staged) == 2 and (trials / "t000").is_dir()  # killed among the renames
    cmd = [sys.executable, "-m", "dlexp.cli", *args]
    resumed = subprocess.run(cmd + [str(tmp_path / "a")], capture_output=True, text=True, env=env)
    assert resumed.returncode == 0, resumed.stderr
    assert "3 of them done before" in resumed.stdout
    for name, info in staged.items():  # trusted as they were, not trained again
        final = trials / name[1:].split(".tmp-")[0]
        assert json.loads((final / "run.json").read_text())["started"] == info["started"]
    straight = subprocess.run(cmd + [str(tmp_path / "b")], capture_output=True, env=env)
    assert straight.returncode == 0
    strip = lambda rows: [{k: v for k, v in r.items() if k != "seconds"} for r in rows]  # noqa: E731
    a, b = read_results(tmp_path / "a" / "small"), read_results(tmp_path / "b" / "small")
    assert len(a) == 6 and strip(a) == strip(b)
    assert not staged_leftovers(tmp_path / "a")


# -- a trial the machine failed is not done -----------------------------------------------


class DiskFullOnce:
    """Trains like the search's own trainer, as a fake (test_search's FakeTrainer), but the
    disk is full when ``victim`` writes its model: its folder says so, as dlexp's trainers
    write it (failed, "no space left on the device writing ...")."""

    def __init__(self, victim=None):
        self.victim, self.trained = victim, []

    def __call__(self, jobs):
        outcomes = []
        for job in jobs:
            self.trained.append(job.name)
            score = job.cfg["model"]["first_neuron"] / 100
            split = {"loss": 1 - score, "accuracy": score}
            metrics = runs.Metrics(epochs_run=2, best_epoch=2, params=1, val=split, test=split)
            job.run.write_config(job.cfg)
            job.run.write_metrics(metrics)
            status, error = runs.Status.COMPLETED, None
            if job.name == self.victim:
                status = runs.Status.FAILED
                error = f"no space left on the device writing {job.run.file('model.keras')}"
            job.run.write_info(runs.RunInfo(id=job.name, status=status, error=error))
            outcomes.append(training.Outcome(job.run, status, metrics, error))
            job.ended(outcomes[-1])
        return outcomes


def test_a_trial_the_disk_failed_is_not_done_and_is_retried_on_resume(small, tmp_path):
    """Reproduced: after space was freed the search said "already finished" and never
    trained the trial again; and the search that lost it ended finished, exit 0."""
    first = engine.Search(grid.load(small), tmp_path, trainer=DiskFullOnce("t002"), stack=1)
    out = first.run()
    assert out.status == "failed" and out.exit_code == 1
    assert "no space left on the device" in out.message
    state = json.loads((tmp_path / "small" / "search.json").read_text())
    assert state["status"] == "failed"
    again = DiskFullOnce()
    out = engine.Search(grid.load(small), tmp_path, trainer=again, stack=1).run()
    assert out.status == "finished" and out.exit_code == 0
    assert "t002" in again.trained  # space freed: trained again
    rows = read_results(tmp_path / "small")
    assert len(rows) == 6 and all(r["status"] == "completed" for r in rows)


@pytest.mark.slow
@pytest.mark.parametrize("stack", [1, 3])
def test_a_real_trial_the_disk_failed_stops_the_search_and_is_retrained(
    small, tmp_path, monkeypatch, stack
):
    """dlexp's own trainers (one at a time, and a stack of three) with the disk full as
    t001 saves its model: the search ends failed (exit 1), and once space is freed the
    resume trains it, giving the numbers of an undisturbed search."""
    save = runs.Run.save_model
    full = []

    def save_model(self, model, name="model.keras"):
        if self.id == "t001" and not full:
            full.append(self.id)
            raise OSError(errno.ENOSPC, FULL, str(self.file(name)))
        return save(self, model, name)

    monkeypatch.setattr(runs.Run, "save_model", save_model)
    out = engine.Search(grid.load(small), tmp_path / "a", stack=stack).run()
    assert full and out.status == "failed" and out.exit_code == 1
    assert "no space left on the device" in out.message
    assert json.loads((tmp_path / "a" / "small" / "search.json").read_text())["status"] == "failed"
    out = engine.Search(grid.load(small), tmp_path / "a", stack=stack).run()
    assert out.status == "finished" and out.exit_code == 0
    assert not staged_leftovers(tmp_path / "a")
    straight = engine.Search(grid.load(small), tmp_path / "b", stack=stack).run()
    assert straight.status == "finished"
    strip = lambda rows: [{k: v for k, v in r.items() if k != "seconds"} for r in rows]  # noqa: E731
    a, b = read_results(tmp_path / "a" / "small"), read_results(tmp_path / "b" / "small")
    assert len(a) == 6 and all(r["status"] == "completed" for r in a)
    assert strip(a) == strip(b)


# -- a disk too small for the first files ------------------------------------------------


@pytest.fixture
def tmpfs(tmp_path):
    """mount(name, size) -> a folder on a tmpfs of that size (root only), with
    resize(size); unmounted afterwards."""
    mounted = []

    def mount(name: str, size: str) -> Path:
        if os.geteuid() != 0:
            pytest.skip("mounting a tmpfs needs root")
        folder = tmp_path / name
        folder.mkdir()
        done = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(folder)])
        if done.returncode != 0:
            pytest.skip("cannot mount a tmpfs here")
        mounted.append(folder)
        return folder

    def resize(folder: Path, size: str) -> None:
        subprocess.run(["mount", "-o", f"remount,size={size}", str(folder)], check=True)

    mount.resize = resize
    yield mount
    for folder in mounted:
        subprocess.run(["umount", "-l", str(folder)])


def search_cli(grid_path, runs_dir, *extra):
    cmd = [sys.executable, "-m", "dlexp.cli", "search", str(grid_path), "--runs-dir"]
    env = {**os.environ, "COLUMNS": "1000"}  # a message is one line however long
    return subprocess.run([*cmd, str(runs_dir), *extra], capture_output=True, text=True, env=env)


def said_once_in_one_line(done, what: str) -> bool:
    """The failure is one line (on stderr, or as the search's summary: "failed: ..."), and
    no traceback is printed."""
    text = done.stdout + done.stderr
    lines = [line for line in text.splitlines() if what in line]
    return len(lines) == 1 and "Traceback" not in text and len(done.stderr.splitlines()) <= 1


def test_a_disk_full_at_the_first_trials_files_fails_in_one_line(small, tmp_path, monkeypatch):
    """The first file of the first trial cannot be written: exit 1, one line and no
    traceback, search.json says failed, and no staged .tNNN.tmp-* folder is left."""

    def write_config(self, cfg):
        raise OSError(errno.ENOSPC, FULL, str(self.file("config.yaml")))

    monkeypatch.setattr(runs.Run, "write_config", write_config)
    for stack in ("1", "3"):
        args = ["search", str(small), "--stack", stack, "--runs-dir", str(tmp_path)]
        result = CliRunner().invoke(cli, args, env={"COLUMNS": "1000"})
        assert result.exit_code == 1, result.output
        assert said_once_in_one_line(result, "no space left on the device")
        assert json.loads((tmp_path / "small" / "search.json").read_text())["status"] == "failed"
        assert not staged_leftovers(tmp_path)


@pytest.mark.slow
@pytest.mark.parametrize("size", ["4k", "40k", "120k"])
def test_a_disk_too_small_for_the_first_files(small, tmpfs, size):
    """A real full disk (a tmpfs) before search.json, before the first trial's folder,
    inside it: exit 1 with one line; search.json never says running; nothing staged."""
    disk = tmpfs("disk", size)
    done = search_cli(small, disk, "--stack", "3")
    assert done.returncode == 1, done.stderr
    assert said_once_in_one_line(done, "no space left on the device")
    state = disk / "small" / "search.json"
    assert not state.exists() or json.loads(state.read_text())["status"] == "failed"
    assert not staged_leftovers(disk)


@pytest.mark.slow
def test_a_disk_that_fills_half_way_fails_and_resumes_once_freed(small, tmpfs):
    """A stacked search that fills a real disk half way ends failed (exit 1), not
    finished; once the disk is larger the same command trains what is left."""
    disk = tmpfs("disk", "300k")  # a trial keeps about 60 KB (the packed .npz files)
    done = search_cli(small, disk, "--stack", "3")
    assert done.returncode == 1, done.stdout + done.stderr
    assert said_once_in_one_line(done, "no space left on the device")
    assert "finished" not in done.stdout
    assert json.loads((disk / "small" / "search.json").read_text())["status"] == "failed"
    assert not staged_leftovers(disk)
    before = {p.name for p in (disk / "small" / "trials").iterdir()}
    assert len(before) < 6
    tmpfs.resize(disk, "8m")
    done = search_cli(small, disk, "--stack", "3")
    assert done.returncode == 0, done.stderr
    rows = read_results(disk / "small")
    assert len(rows) == 6 and all(r["status"] == "completed" for r in rows)
    assert not staged_leftovers(disk)


# -- dlexp report on a full disk ----------------------------------------------------------


@pytest.fixture
def one_run(tmp_path):
    """A runs folder holding one run of the fixtures (a report of a few pictures)."""
    from helpers import ROOT

    runs_dir = tmp_path / "runs"
    runs_dir.mkdir()
    name = "20260101-000000-plain-aaaaaa"
    shutil.copytree(ROOT / "tests" / "fixtures" / "runs" / name, runs_dir / name)
    return runs_dir / name


def page_and_pictures(out: Path) -> tuple[str, dict[str, bytes]]:
    page = (out / "index.html").read_text()
    named = set(re.findall(r"img/[^'\"]+\.png", page))
    return page, {src: (out / src).read_bytes() for src in sorted(named)}


def changed(run: Path) -> None:
    """The run's files change: its pictures are drawn again."""
    for f in run.iterdir():
        os.utime(f, ns=(f.stat().st_mtime_ns + 10**9,) * 2)


@pytest.mark.parametrize("where", ["picture", "page"])
def test_report_on_a_full_disk_keeps_the_old_page(one_run, tmp_path, monkeypatch, where):
    """Reproduced: a traceback, or a page whose pictures say "not drawn", exit 0; and
    report/img/ without index.html. Now exit 1 with one line, the old page and every
    picture it shows kept."""
    from dlexp.report import html, images

    out = tmp_path / "report"
    monkeypatch.setattr(os, "cpu_count", lambda: 1)  # pictures drawn here, not in workers
    args = ["report", str(one_run.parent), "--out", str(out)]
    assert CliRunner().invoke(cli, args).exit_code == 0
    before = page_and_pictures(out)
    changed(one_run)
    module = images if where == "picture" else html
    write = module.atomic_write

    def atomic_write(path, data):
        if Path(path).suffix in (".png", ".html"):
            raise OSError(errno.ENOSPC, FULL, str(path))
        return write(path, data)

    monkeypatch.setattr(module, "atomic_write", atomic_write)
    result = CliRunner().invoke(cli, args)
    assert result.exit_code == 1, result.output
    assert one_line(result.stderr) and "no space left on the device" in result.stderr
    assert page_and_pictures(out) == before
    # a first report on a full disk leaves no img/ without its index.html
    fresh = tmp_path / "fresh"
    result = CliRunner().invoke(cli, ["report", str(one_run.parent), "--out", str(fresh)])
    assert result.exit_code == 1 and one_line(result.stderr)
    assert not (fresh / "img").exists() and not (fresh / "index.html").exists()


@pytest.mark.slow
def test_report_on_a_real_full_disk_keeps_the_old_page(one_run, tmpfs):
    disk = tmpfs("disk", "12m")  # the page's folder holds plotly.min.js (4.8 MB)
    cmd = [sys.executable, "-m", "dlexp.cli", "report", str(one_run.parent), "--out"]
    assert subprocess.run([*cmd, str(disk / "report")], capture_output=True).returncode == 0
    before = page_and_pictures(disk / "report")
    with open(disk / "filler", "wb") as f:  # the disk fills up
        try:
            while True:
                f.write(b"\0" * 65536)
                f.flush()
        except OSError:
            pass
    changed(one_run)
    done = subprocess.run([*cmd, str(disk / "report")], capture_output=True, text=True)
    assert done.returncode == 1
    assert one_line(done.stderr) and "no space left on the device" in done.stderr
    assert page_and_pictures(disk / "report") == before
    done = subprocess.run([*cmd, str(disk / "fresh")], capture_output=True, text=True)
    assert done.returncode == 1 and one_line(done.stderr)
    assert not (disk / "fresh" / "img").exists()
    left = [p.name for p in (disk / "fresh").iterdir()] if (disk / "fresh").exists() else []
    assert not left, left  # no half page: nor its data, details or scripts
