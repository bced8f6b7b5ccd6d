"""search.race: the race replayed from scores (no training), its checks, and a real
race resumed after kill -9."""

from __future__ import annotations

import csv
import json
import signal
import subprocess
import sys
import time

import pytest

from dlexp.core.errors import ConfigError
from dlexp.search import spec as grid
from dlexp.search.race import RaceSpec, apart, standings

RACE = """
name: rc
seed: 5
data: {kind: moons, n_samples: 200, noise: 0.3}
model: {hidden_layers: 1, first_neuron: 8}
train: {epochs: 4, early_stopping: false}
search:
  objective: val_accuracy
  race: {seeds: 4}
  params:
    train.learning_rate: [0.0003, 0.03, 0.3]
    model.activation: [relu, tanh]
"""


def test_every_point_first_trains_two_seeds():
    table, seeds = standings({0: [], 1: [0.5]}, RaceSpec(5), "max")
    assert seeds == 2 and all(s.out_at is None for s in table.values())


def test_a_point_told_apart_gets_no_more_seeds_and_the_rest_race_on():
    scores = {0: [0.90, 0.92], 1: [0.50, 0.52], 2: [0.91, 0.88]}
    table, seeds = standings(scores, RaceSpec(5), "max")
    assert seeds == 3  # the next round: seed 2, for points 0 and 2
    assert table[1].out_at == 2 and table[0].out_at is None and table[2].out_at is None


def test_the_race_ends_at_n_seeds_with_the_reports_prefix_rule():
    scores = {
        0: [0.90, 0.92],
        1: [0.91, 0.90],  # within noise of 0
        2: [0.60, 0.99],  # a wide spread: not told apart by its own test...
        3: [0.85, 0.87],  # ...but below 3, which is (the same drop on both seeds)
    }
    table, seeds = standings(scores, RaceSpec(2), "max")
    assert seeds is None
    assert {i for i, s in table.items() if s.out_at is None} == {0, 1}
    assert table[3].out_at == 2 and table[2].out_at == 2


def test_a_lower_is_better_objective_and_a_failed_seed():
    scores = {0: [0.20, 0.21], 1: [0.50, 0.52], 2: [0.22, None]}
    table, seeds = standings(scores, RaceSpec(3), "min")
    assert table[1].out_at == 2 and table[2].out_at == 2 and seeds is None  # one left


def test_the_paired_test_uses_the_seeds_as_pairs():
    best = [0.9, 0.8, 0.95, 0.85]
    assert apart(best, [b - 0.05 for b in best], 0.05)  # the same drop on every seed
    assert not apart(best, [0.85, 0.9, 0.8, 0.95], 0.05)
    assert apart(best, [0.85, 0.74, 0.9, 0.8], 0.2)


@pytest.mark.parametrize(
    "race, key, message",
    [
        ("{seeds: 2}", "search.race.seeds", "2"),
        ("{seeds: 5, alpha: 1.5}", "search.race.alpha", "between 0 and 1"),
        ("{seeds: 5, patience: 1}", "search.race.patience", "valid keys in race"),
        ("10", "search.race", "a mapping"),
    ],
)
def test_a_bad_race_names_its_key(write, race, key, message):
    with pytest.raises(ConfigError) as err:
        grid.load(write("g.yaml", RACE.replace("{seeds: 4}", race)))
    assert err.value.path == key and message in str(err.value)


@pytest.mark.parametrize("other", ["repeats: 3", "cv: 3", "prune: median", "tuner: hyperband"])
def test_a_race_chooses_the_seeds_alone(write, other):
    with pytest.raises(ConfigError, match="race") as err:
        grid.load(write("g.yaml", RACE.replace("  race:", f"  {other}\n  race:")))
    assert err.value.path == "search.race"


def test_a_race_resolves_to_its_most_seeds(write):
    spec = grid.load(write("g.yaml", RACE))
    assert spec.repeats == 4 and spec.resolved()["search"]["race"] == {"seeds": 4, "alpha": 0.05}


@pytest.mark.slow
def test_a_race_resumes_after_kill_9_and_ends_as_an_uninterrupted_one(write, tmp_path):
    g = write("g.yaml", RACE.replace("epochs: 4", "epochs: 40"))
    cmd = [sys.executable, "-m", "dlexp.cli", "search", str(g), "--stack", "2", "--runs-dir"]
    proc = subprocess.Popen(
        cmd + [str(tmp_path / "a")], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    trials = tmp_path / "a" / "rc" / "trials"
    deadline = time.time() + 120
    while time.time() < deadline and len(list(trials.glob("t*"))) < 3:
        time.sleep(0.1)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    before = {p.name: p.stat().st_mtime_ns for p in trials.glob("t*")}
    assert 2 <= len(before) < 12
    subprocess.run(cmd + [str(tmp_path / "a")], check=True, capture_output=True)
    subprocess.run(cmd + [str(tmp_path / "b")], check=True, capture_output=True)
    assert {p.name: p.stat().st_mtime_ns for p in trials.glob("t*") if p.name in before} == before
    assert not list(trials.glob(".*"))
    races = [json.loads((tmp_path / s / "rc" / "race.json").read_text()) for s in "ab"]
    assert races[0] == races[1]
    assert sorted(p.name for p in trials.glob("t*")) == sorted(
        p.name for p in (tmp_path / "b" / "rc" / "trials").glob("t*")
    )
    seeds = [p["seeds"] for p in races[0]["points"].values()]
    assert min(seeds) >= 2 and max(seeds) <= 4
    with open(tmp_path / "a" / "rc" / "results.csv") as f:
        rows = list(csv.DictReader(f))
    assert {r["trial"]: int(r["seeds"]) for r in rows} == {
        t: p["seeds"] for t, p in races[0]["points"].items()
    }
    best = json.loads((tmp_path / "a" / "rc" / "best.json").read_text())
    assert races[0]["points"][best["trial"]]["within_noise"]
