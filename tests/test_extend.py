"""Extending a search: values added to a grid train only the new points; the old trials
keep their folders and names. Anything else that changed is refused, as before."""

import csv
import json
import signal
import subprocess
import sys
import time

import pytest
from helpers import SMALL, invoke, one_line

from dlexp.core import yamlio
from dlexp.core.errors import ConfigError
from dlexp.runs import folder as runs
from dlexp.search import engine, naming, plan
from dlexp.search import spec as grid
from dlexp.train import fit as training

SGD = "{name: sgd, momentum: 0.9}"


class FakeTrainer:
    """Stands in for training (as in test_search.py): finished run folders whose score
    is a function of the point, and the names it was asked to train."""

    def __init__(self):
        self.trained = []

    def __call__(self, jobs):
        outcomes = []
        for job in jobs:
            self.trained.append(job.name)
            cfg = job.cfg
            score = cfg["model"]["first_neuron"] / 100
            split = {"loss": 1 - score, "accuracy": score}
            metrics = runs.Metrics(
                epochs_run=2, best_epoch=2, params=1, train=split, val=split, test=split
            )
            job.run.write_config(cfg)
            job.run.write_metrics(metrics)
            job.run.write_info(
                runs.RunInfo(id=job.name, status=runs.Status.COMPLETED, duration_s=0.01)
            )
            outcomes.append(training.Outcome(job.run, runs.Status.COMPLETED, metrics))
            job.ended(outcomes[-1])
        return outcomes


def search(write, text, runs_dir):
    """Run the grid ``text`` with a fake trainer: (the outcome, the names it trained)."""
    fake = FakeTrainer()
    spec = grid.load(write("small.yaml", text))
    out = engine.Search(spec, runs_dir, trainer=fake, stack=1).run()
    return out, fake.trained


def trials(folder) -> dict:
    """trial name -> (its searched values, its run.json's mtime)."""
    out = {}
    for t in sorted((folder / "trials").iterdir()):
        cfg = yamlio.read_yaml(t / "config.yaml")
        values = (cfg["model"]["first_neuron"], json.dumps(cfg["train"]["optimizer"]))
        out[t.name] = (values, (t / "run.json").stat().st_mtime_ns)
    return out


def results(folder) -> list[dict]:
    with open(folder / "results.csv") as f:
        return list(csv.DictReader(f))


def test_added_values_train_only_the_new_points_and_rename_nothing(write, tmp_path):
    out, trained = search(write, SMALL, tmp_path)
    assert out.status == "finished" and len(trained) == 6
    folder = tmp_path / "small"
    before = trials(folder)
    # 32 inserted in the middle of the list: the product's order changes, the names not
    out, trained = search(write, SMALL.replace("[4, 8, 16]", "[4, 32, 8, 16]"), tmp_path)
    assert out.status == "finished" and out.trained == 2
    assert trained == ["t006", "t007"]
    now = trials(folder)
    assert {k: now[k] for k in before} == before  # the same folders, untouched
    assert {now[t][0][0] for t in trained} == {32}
    rows = results(folder)
    assert [r["trial"] for r in rows] == [f"t{i:03d}" for i in range(8)]
    best = json.loads((folder / "best.json").read_text())
    assert best["trial"] in trained and best["params"]["model.first_neuron"] == 32
    stored = yamlio.read_yaml(folder / "search.yaml")
    assert stored["search"]["params"]["model.first_neuron"] == [4, 32, 8, 16]
    assert stored["extended"]["grids"][0]["params"]["model.first_neuron"] == [4, 8, 16]
    # again: nothing to train; then a second extension numbers on from t008
    out, trained = search(write, SMALL.replace("[4, 8, 16]", "[4, 32, 8, 16]"), tmp_path)
    assert out.status == "already finished" and trained == []
    bigger = SMALL.replace("[4, 8, 16]", "[4, 32, 8, 16]").replace("[adam,", "[rmsprop, adam,")
    out, trained = search(write, bigger, tmp_path)
    assert trained == ["t008", "t009", "t010", "t011"] and len(results(folder)) == 12
    assert {k: trials(folder)[k] for k in now} == now
    assert {trials(folder)[t][0][1] for t in trained} == {'"rmsprop"'}
    assert len({v for v, _ in trials(folder).values()}) == 12  # each point once


def test_reordered_keys_or_values_rename_nothing(write, tmp_path):
    search(write, SMALL, tmp_path)
    before = trials(tmp_path / "small")
    swapped = SMALL.replace(
        "    model.first_neuron: [4, 8, 16]\n    train.optimizer: [adam, " + SGD + "]",
        "    train.optimizer: [" + SGD + ", adam]\n    model.first_neuron: [16, 4, 8]",
    )
    assert swapped != SMALL
    out, trained = search(write, swapped, tmp_path)
    assert out.status == "already finished" and trained == []
    assert trials(tmp_path / "small") == before
    g = write("swapped.yaml", swapped)
    result = invoke("search", g, "--dry-run", "--format", "json", "--runs-dir", tmp_path)
    shown = json.loads(result.stdout)
    named = {
        p["trial"]: (p["model.first_neuron"], json.dumps(p["train.optimizer"]))
        for p in shown["points"]
    }
    assert named == {t: values for t, (values, _) in before.items()}  # each its own folder's


def test_a_where_or_max_trials_that_keeps_more_extends(write, tmp_path):
    narrow = SMALL + "  where: 'model.first_neuron < 16'\n"
    out, trained = search(write, narrow, tmp_path)
    assert trained == ["t000", "t001", "t002", "t003"]
    out, trained = search(write, SMALL + "  where: 'model.first_neuron <= 16'\n", tmp_path)
    assert trained == ["t004", "t005"] and len(results(tmp_path / "small")) == 6
    with pytest.raises(ConfigError) as info:
        search(write, narrow, tmp_path)
    message = str(info.value)
    said = "(search.where: was 'model.first_neuron <= 16', now 'model.first_neuron < 16')"
    assert said in message
    assert "leaves out 2 points" in message and "its where or max_trials keeps fewer" in message
    capped = SMALL.replace("  params:", "  max_trials: 2\n  params:")
    search(write, capped, tmp_path / "b")
    out, trained = search(write, capped.replace("max_trials: 2", "max_trials: 5"), tmp_path / "b")
    assert trained == ["t002", "t003", "t004"]


def test_a_wider_range_extends(write, tmp_path):
    ranged = SMALL.replace("[4, 8, 16]", "{min: 4, max: 8, step: 4}")
    out, trained = search(write, ranged, tmp_path)
    assert len(trained) == 4
    out, trained = search(write, ranged.replace("max: 8", "max: 16"), tmp_path)
    assert trained == ["t004", "t005", "t006", "t007"]
    values = sorted(v[0] for v, _ in trials(tmp_path / "small").values())
    assert values == [4, 4, 8, 8, 12, 12, 16, 16]


def test_a_damaged_record_of_earlier_grids_is_named(write, tmp_path):
    search(write, SMALL, tmp_path)
    search(write, SMALL.replace("[4, 8, 16]", "[4, 8, 16, 32]"), tmp_path)
    path = tmp_path / "small" / "search.yaml"
    stored = yamlio.read_yaml(path)
    stored["extended"]["grids"] = ["oops"]
    path.write_text(yamlio.dump(stored))
    with pytest.raises(ConfigError, match="search.yaml: damaged: extended.grids: expected"):
        search(write, SMALL.replace("[4, 8, 16]", "[4, 8, 16, 32]"), tmp_path)


def test_removed_values_are_refused_naming_them(write, tmp_path):
    search(write, SMALL, tmp_path)
    stored = (tmp_path / "small" / "search.yaml").read_text()
    with pytest.raises(ConfigError) as info:
        search(write, SMALL.replace("[4, 8, 16]", "[4, 8, 32]"), tmp_path)
    assert (
        "(search.params.model.first_neuron: was [4, 8, 16], now [4, 8, 32]); it leaves out 2 "
        "points of the search (it removes model.first_neuron 16;" in str(info.value)
    )
    assert "only values added to a grid extend its search: put them back" in str(info.value)
    assert (tmp_path / "small" / "search.yaml").read_text() == stored
    assert len(list((tmp_path / "small" / "trials").iterdir())) == 6


@pytest.mark.parametrize(
    "change, said",
    [
        (("n_samples: 240", "n_samples: 300"), "config.data.n_samples: was 240, now 300"),
        (("objective: val_accuracy", "objective: val_loss"), "search.objective.name"),
        (("  params:", "  repeats: 2\n  params:"), "search.repeats: was 1, now 2"),
        (("train.optimizer: [adam, " + SGD + "]", "train.batch_size: [16, 32]"), "search.params"),
    ],
)
def test_other_changes_are_still_refused_with_exit_2(write, tmp_path, change, said):
    search(write, SMALL, tmp_path)
    g = write("changed.yaml", SMALL.replace(*change).replace("[4, 8, 16]", "[4, 8, 16, 32]"))
    result = invoke("search", g, "--runs-dir", tmp_path, "--stack", "1")
    assert result.exit_code == 2
    line = one_line(result)
    assert said in line and "only values added to a grid extend its search" in line, line
    assert len(list((tmp_path / "small" / "trials").iterdir())) == 6


def test_a_random_search_does_not_extend(write, tmp_path):
    random = SMALL.replace("  params:", "  tuner: random\n  max_trials: 3\n  params:")
    search(write, random, tmp_path)
    with pytest.raises(ConfigError, match="only values added to a grid extend its search"):
        search(write, random.replace("[4, 8, 16]", "[4, 8, 16, 32]"), tmp_path)


def test_dry_run_shows_the_names_the_extension_will_use(write, tmp_path):
    search(write, SMALL, tmp_path)
    g = write("more.yaml", SMALL.replace("[4, 8, 16]", "[2, 4, 8, 16]"))
    result = invoke("search", g, "--dry-run", "--format", "json", "--runs-dir", tmp_path)
    assert result.exit_code == 0, result.output
    shown = json.loads(result.stdout)
    assert shown["trials"] == 8 and shown["already_done"] == 6
    assert [p["trial"] for p in shown["points"][:3]] == ["t006", "t007", "t000"]
    assert shown["points"][0]["model.first_neuron"] == 2


def test_names_past_the_first_grids_width_grow_a_digit(write):
    base = "data: {kind: moons, n_samples: 200}\ntrain: {epochs: 2}\nsearch:\n  params:\n"
    old = grid.load(write("a.yaml", base + "    train.epochs: {min: 2, max: 1001}\n"))
    new = grid.load(write("b.yaml", base + "    train.epochs: {min: 1, max: 1002}\n"))
    new.earlier = [naming.extension(new, json.loads(json.dumps(old.resolved())))]
    p = plan.Plan(new)
    assert p.trial(1) == "t000" and p.trial(1000) == "t999"  # the old points' names
    assert (p.trial(0), p.trial(1001)) == ("t1000", "t1001")  # the new ones after them
    assert len({p.trial(i) for i in range(1002)}) == 1002


# -- real training -------------------------------------------------------------------

TINY_GRID = """
name: tiny
seed: 1
data: {kind: moons, n_samples: 200}
train: {epochs: 2, early_stopping: false}
search:
  params:
    model.first_neuron: [4, 8]
"""


@pytest.mark.slow
def test_a_real_extended_search_trains_only_the_new_point(write, tmp_path):
    g = write("tiny.yaml", TINY_GRID)
    first = invoke("search", g, "--runs-dir", tmp_path)
    assert first.exit_code == 0, first.output
    folder = tmp_path / "tiny" / "trials"
    stamps = {t.name: (t / "run.json").stat().st_mtime_ns for t in folder.iterdir()}
    assert sorted(stamps) == ["t000", "t001"]
    write("tiny.yaml", TINY_GRID.replace("[4, 8]", "[4, 8, 12]"))
    second = invoke("search", g, "--runs-dir", tmp_path)
    assert second.exit_code == 0, second.output
    assert "3 trials, 2 of them done before" in second.stdout, second.stdout
    assert {t: (folder / t / "run.json").stat().st_mtime_ns for t in stamps} == stamps
    cfg = yamlio.read_yaml(folder / "t002" / "config.yaml")
    assert cfg["model"]["first_neuron"] == 12
    rows = results(tmp_path / "tiny")
    assert [(r["trial"], r["model.first_neuron"]) for r in rows] == [
        ("t000", "4"),
        ("t001", "8"),
        ("t002", "12"),
    ]
    assert all(r["status"] == "completed" and r["score"] for r in rows)


@pytest.mark.slow
def test_an_extended_search_resumes_after_kill_9(write, tmp_path):
    slow = TINY_GRID.replace("epochs: 2", "epochs: 60").replace("200", "600")
    g = write("tiny.yaml", slow)
    cmd = [sys.executable, "-m", "dlexp.cli", "search", str(g), "--runs-dir", str(tmp_path)]
    subprocess.run(cmd, check=True, capture_output=True)
    folder = tmp_path / "tiny" / "trials"
    old = {t: (folder / t / "run.json").stat().st_mtime_ns for t in ("t000", "t001")}
    write("tiny.yaml", slow.replace("[4, 8]", "[4, 8, 12, 16, 20, 24]"))
    # one trial at a time, so that a kill -9 finds some new trials published, not all
    proc = subprocess.Popen(
        [*cmd, "--stack", "1"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    deadline = time.time() + 120
    while time.time() < deadline and len(list(folder.glob("t*"))) < 3:
        time.sleep(0.1)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    published = {t.name: (t / "run.json").stat().st_mtime_ns for t in folder.glob("t*")}
    assert 3 <= len(published) < 6, sorted(published)
    subprocess.run([*cmd, "--stack", "1"], check=True, capture_output=True)
    rows = results(tmp_path / "tiny")
    assert sorted(int(r["model.first_neuron"]) for r in rows) == [4, 8, 12, 16, 20, 24]
    assert [r["trial"] for r in rows] == [f"t{i:03d}" for i in range(6)]
    assert all(r["status"] == "completed" for r in rows)
    now = {t.name: (t / "run.json").stat().st_mtime_ns for t in folder.glob("t*")}
    assert {t: now[t] for t in published} == published  # trained once, never again
    assert {t: now[t] for t in old} == old
    assert not list(folder.glob(".*")) and not list((tmp_path / "tiny").glob(".*.tmp-*"))
