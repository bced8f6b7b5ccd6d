"""The index of parsed run folders (dlexp.runs.cache): a report read through it says
exactly what one read from the folders says, follows every change, and survives a
damaged, missing or unwritable index. And the terminal table's --limit."""

import json
import os
import sqlite3
import time

import pytest
from helpers import invoke

from dlexp import report
from dlexp.core import yamlio
from dlexp.runs import cache


def _age(folder, seconds=60):
    """Make a run folder's files look written ``seconds`` ago (settled)."""
    then = time.time() - seconds
    for f in folder.rglob("*"):
        os.utime(f, (then, then))


@pytest.fixture
def index_dir(tmp_path, monkeypatch):
    where = tmp_path / "index"
    monkeypatch.setenv("DLEXP_INDEX_DIR", str(where))
    return where


def _records(root, **env):
    return json.dumps(report.records(report.build(root)), sort_keys=True)


def _parses(monkeypatch):
    """Count the YAML files parsed from here on."""
    calls = []
    real = yamlio.parse

    def counting(text, *args, **kwargs):
        calls.append(1)
        return real(text, *args, **kwargs)

    monkeypatch.setattr(yamlio, "parse", counting)
    return calls


def test_a_second_report_parses_no_run_folder_and_says_the_same(runs_dir, index_dir, monkeypatch):
    _age(runs_dir)
    monkeypatch.setenv("DLEXP_INDEX_DIR", "")  # no index: the folders as they are
    plain = _records(runs_dir)
    monkeypatch.setenv("DLEXP_INDEX_DIR", str(index_dir))
    assert _records(runs_dir) == plain  # the first read, which fills the index
    calls = _parses(monkeypatch)
    assert _records(runs_dir) == plain  # through the index
    assert len(calls) == 1  # the search's search.yaml only; no run's config.yaml
    db = sqlite3.connect(index_dir / "runs-index-v1.sqlite")
    folders = [f for (f,) in db.execute("SELECT folder FROM runs")]
    assert len(folders) >= 8 and all(f.startswith(str(runs_dir.resolve())) for f in folders)


def test_a_changed_run_is_read_again(runs_dir, index_dir):
    _age(runs_dir)
    before = {r["id"]: r for r in report.records(report.build(runs_dir))}
    run = next(d for d in runs_dir.iterdir() if d.name.endswith("plain-aaaaaa"))
    metrics = json.loads((run / "metrics.json").read_text())
    metrics["test"]["accuracy"] = 0.123
    (run / "metrics.json").write_text(json.dumps(metrics))  # same folder, new content
    after = {r["id"]: r for r in report.records(report.build(runs_dir))}
    assert before[run.name]["metrics"]["test_accuracy"] != 0.123
    assert after[run.name]["metrics"]["test_accuracy"] == 0.123
    _age(run)  # settled now: kept in the index, and still right
    again = {r["id"]: r for r in report.records(report.build(runs_dir))}
    assert again[run.name]["metrics"]["test_accuracy"] == 0.123


def test_a_new_and_a_removed_run_are_seen(runs_dir, index_dir):
    import shutil

    _age(runs_dir)
    ids = {e.id for e in report.build(runs_dir).entries}
    source = next(d for d in runs_dir.iterdir() if d.name.endswith("plain-aaaaaa"))
    shutil.copytree(source, runs_dir / "20260105-000000-copy-dddddd")
    assert {e.id for e in report.build(runs_dir).entries} == ids | {"20260105-000000-copy-dddddd"}
    shutil.rmtree(source)
    assert {e.id for e in report.build(runs_dir).entries} == (
        ids - {source.name} | {"20260105-000000-copy-dddddd"}
    )
    db = sqlite3.connect(index_dir / "runs-index-v1.sqlite")
    assert not db.execute(
        "SELECT 1 FROM runs WHERE folder = ?", (str(source.resolve()),)
    ).fetchall()  # a folder that is gone leaves the index


def test_a_damaged_index_is_rebuilt_and_an_unusable_place_is_no_index(
    runs_dir, index_dir, monkeypatch
):
    _age(runs_dir)
    plain = _records(runs_dir)
    path = index_dir / "runs-index-v1.sqlite"
    path.write_bytes(b"not a database at all" * 100)
    assert _records(runs_dir) == plain
    assert sqlite3.connect(path).execute("SELECT count(*) FROM runs").fetchone()[0] >= 8
    blocked = runs_dir.parent / "a-file"
    blocked.write_text("x")
    monkeypatch.setenv("DLEXP_INDEX_DIR", str(blocked / "index"))  # under a file: unusable
    assert _records(runs_dir) == plain


def test_a_running_run_and_a_config_json_cannot_hold_are_read_from_the_folder(runs_dir, index_dir):
    run = next(d for d in runs_dir.iterdir() if d.name.endswith("regularized-bbbbbb"))
    _age(runs_dir)
    (run / "config.yaml").write_text((run / "config.yaml").read_text() + "notes: 2026-01-01\n")
    _age(run)
    first = report.build(runs_dir)
    second = report.build(runs_dir)
    notes = [e.hyperparameters.get("notes") for e in (first, second) for e in e.entries]
    assert sum(1 for n in notes if n is not None and not isinstance(n, str)) == 2  # dates
    fresh = runs_dir / "20260106-000000-fresh-eeeeee"  # files written just now: not kept
    import shutil

    shutil.copytree(run, fresh, copy_function=shutil.copy)
    report.build(runs_dir)
    db = sqlite3.connect(index_dir / "runs-index-v1.sqlite")
    kept = {f for (f,) in db.execute("SELECT folder FROM runs")}
    assert str(fresh.resolve()) not in kept and str(run.resolve()) not in kept


def test_importances_are_remembered(runs_dir, index_dir, monkeypatch):
    calls = []
    value = cache.memoized("t", [1, 2], lambda: calls.append(1) or {"a": 0.5})
    again = cache.memoized("t", [1, 2], lambda: calls.append(1) or {"a": 0.5})
    assert value == again == {"a": 0.5} and len(calls) == 1
    (index_dir / "memo-v1.sqlite").write_bytes(b"garbage" * 50)
    assert cache.memoized("t", [1, 2], lambda: calls.append(1) or {"a": 0.5}) == {"a": 0.5}
    assert len(calls) == 2


def test_the_table_shows_the_best_trials_first_when_there_are_too_many(runs_dir):
    rep = report.build(runs_dir)
    shown, left = report.limited(rep, 3)
    assert len(shown.entries) == 3 and left == len(rep.entries) - 3
    assert [e.kind for e in shown.entries] == ["run"] * 3  # the runs first
    trials = report.build(runs_dir, filters=("kind=trial",))
    top, _ = report.limited(trials, 3)
    ranked = [e.id for e in trials.searches["tinygrid"].ranked()]
    assert [e.id for e in top.entries] == ranked[:3] != [e.id for e in trials.entries][:3]
    assert top.entries[0].best
    assert report.limited(rep, 0) == (rep, 0)
    result = invoke("report", runs_dir, "--no-html", "--limit", "2")
    assert result.exit_code == 0, result.output
    assert f"{len(rep.entries) - 2:,} more rows not shown" in result.output
    assert invoke("report", runs_dir, "--no-html", "--limit", "-1").exit_code == 2


def test_a_trial_in_flight_is_a_running_row_with_its_epochs(runs_dir, index_dir):
    """A search trains a trial in trials/.NAME.tmp-PID and renames it when it ends: the
    report (and dlexp serve's page) shows it running meanwhile, with its epochs so far."""
    import shutil

    trials = runs_dir / "tinygrid" / "trials"
    staged = trials / f".t009-r0.tmp-{os.getpid()}"  # this process: alive
    shutil.copytree(trials / "t000-r0", staged)
    info = json.loads((staged / "run.json").read_text())
    info.update(status="running", pid=os.getpid(), host=__import__("socket").gethostname())
    (staged / "run.json").write_text(json.dumps(info))
    (staged / "metrics.json").unlink()
    rows = {e.id: e for e in report.build(runs_dir).entries}
    assert rows["tinygrid/t009"].status == "running"
    assert len(rows["tinygrid/t009"].records[0].history) > 0
    dead = trials / ".t010-r0.tmp-999999999"  # its process is gone: not a row
    shutil.copytree(trials / "t000-r0", dead)
    shutil.copytree(staged, trials / "t009-r0")  # published: the trial itself, once
    rows = [e.id for e in report.build(runs_dir).entries]
    assert rows.count("tinygrid/t009") == 1 and "tinygrid/t010" not in rows
