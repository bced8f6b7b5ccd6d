"""search.prune: the rules (no training), and real pruned searches whose freed stack
slots are refilled, resumed after kill -9."""

from __future__ import annotations

import csv
import json
import signal
import subprocess
import sys
import time

import pytest
from click.testing import CliRunner

from dlexp.cli import cli
from dlexp.core.errors import ConfigError
from dlexp.search import spec as grid
from dlexp.search.prune import Pruner, PruneSpec

GRID = """
name: pr
seed: 3
data: {kind: moons, n_samples: 200, noise: 0.2}
model: {hidden_layers: 1}
train: {epochs: 6, early_stopping: false}
search:
  objective: val_accuracy
  prune: {kind: asha, warmup: 1, min_trials: 2}
  params:
    model.first_neuron: [2, 8]
    train.learning_rate: [0.0003, 0.003, 0.03, 0.3]
"""


def rows(folder):
    with open(folder / "results.csv") as f:
        return list(csv.DictReader(f))


# -- the rules --------------------------------------------------------------------------


def test_median_judges_from_warmup_every_k_epochs():
    spec = PruneSpec("median", warmup=3, every=2)
    assert [e for e in range(1, 10) if spec.checks(e)] == [3, 5, 7, 9]


def test_asha_judges_at_its_rungs():
    assert [e for e in range(1, 60) if PruneSpec("asha", warmup=2, eta=3).checks(e)] == [
        2,
        6,
        18,
        54,
    ]
    assert [e for e in range(1, 20) if PruneSpec("asha", warmup=1, eta=2).checks(e)] == [
        1,
        2,
        4,
        8,
        16,
    ]


def test_median_stops_a_trial_worse_than_the_median_of_the_others_at_that_epoch():
    p = Pruner(PruneSpec("median", warmup=1, min_trials=3), "val_accuracy", "max")
    assert not p.report("a", "a", 1, {"val_accuracy": 0.9})
    assert not p.report("b", "b", 1, {"val_accuracy": 0.5})  # 2 trials: too few to judge
    assert p.report("c", "c", 1, {"val_accuracy": 0.6})  # median of 0.9 and 0.5 is 0.7
    assert not p.report("d", "d", 1, {"val_accuracy": 0.8})  # median of 0.9, 0.5, 0.6
    assert p.report("c", "c", 2, {"val_accuracy": 1.0})  # once pruned, always


def test_warmup_keeps_early_epochs_from_being_judged():
    p = Pruner(PruneSpec("median", warmup=3, min_trials=1), "val_loss", "min")
    for t, v in [("a", 0.1), ("b", 0.2), ("c", 9.0)]:
        assert not p.report(t, t, 1, {"val_loss": v})
        assert not p.report(t, t, 2, {"val_loss": v})
    assert not p.report("a", "a", 3, {"val_loss": 0.1})
    assert p.report("c", "c", 3, {"val_loss": 9.0})  # lower is better: 9 is the worst


def test_asha_keeps_the_top_one_over_eta_of_the_rung():
    p = Pruner(PruneSpec("asha", warmup=1, eta=3, min_trials=3), "val_accuracy", "max")
    verdicts = [
        p.report(t, t, 1, {"val_accuracy": v})
        for t, v in zip("abcdef", [0.5, 0.9, 0.6, 0.7, 0.95, 0.4], strict=True)
    ]
    # a and b come before min_trials; c is 2nd of 3 (keeps 1); d 2nd of 4 (keeps 1);
    # e the best of 5; f 6th of 6 (keeps 2)
    assert verdicts == [False, False, True, True, False, True]
    assert p.pruned == {"c", "d", "f"}


def test_a_point_is_judged_on_the_mean_of_its_seeds_once_all_have_reported():
    p = Pruner(PruneSpec("median", warmup=1, min_trials=2), "val_accuracy", "max", runs_per_point=2)
    assert not p.report("a", "a-r0", 1, {"val_accuracy": 0.9})
    assert not p.report("a", "a-r1", 1, {"val_accuracy": 0.7})  # a: 0.8
    assert not p.report("b", "b-r0", 1, {"val_accuracy": 0.95})  # b's other seed not yet in
    assert not p.report("b", "b-r1", 1, {"val_accuracy": 0.75})  # b: 0.85 > 0.8
    assert not p.report("c", "c-r0", 1, {"val_accuracy": 0.99})
    assert p.report("c", "c-r1", 1, {"val_accuracy": 0.1})  # c: 0.545 < median 0.825
    assert p.report("c", "c-r0", 2, {"val_accuracy": 0.99})  # its other seed stops too


def test_trials_trained_before_a_resume_count_as_peers():
    p = Pruner(PruneSpec("median", warmup=1, min_trials=3), "val_accuracy", "max")
    p.seed("a", "a", [{"epoch": 1, "val_accuracy": 0.9}, {"epoch": 2, "val_accuracy": 0.95}])
    p.seed("b", "b", [{"epoch": 1, "val_accuracy": 0.8}])
    assert p.report("c", "c", 1, {"val_accuracy": 0.5})
    assert not p.pruned - {"c"}


def test_a_diverged_value_is_pruned_once_peers_exist():
    p = Pruner(PruneSpec("asha", warmup=1, min_trials=2), "val_loss", "min")
    assert not p.report("a", "a", 1, {"val_loss": 0.3})
    assert p.report("b", "b", 1, {"val_loss": float("nan")})


@pytest.mark.parametrize(
    "prune, key, message",
    [
        ("{kind: fastest}", "search.prune.kind", "median"),
        ("{kind: asha, patience: 2}", "search.prune.patience", "valid keys in prune"),
        ("{warmup: 2}", "search.prune", "needs a kind"),
        ("{kind: median, warmup: 6}", "search.prune.warmup", "fewer epochs than train.epochs (6)"),
        ("{kind: median, eta: 2}", "search.prune.eta", "every"),
        ("{kind: asha, every: 2}", "search.prune.every", "rungs"),
        ("{kind: asha, min_trials: 0}", "search.prune.min_trials", "a positive integer, got 0"),
        ("[asha]", "search.prune", "median, asha"),
    ],
)
def test_a_bad_prune_section_names_its_key(write, prune, key, message):
    path = write("g.yaml", GRID.replace("{kind: asha, warmup: 1, min_trials: 2}", prune))
    with pytest.raises(ConfigError) as err:
        grid.load(path)
    assert err.value.path == key and message in str(err.value)


def test_prune_is_refused_for_hyperband_and_on_a_test_metric(write):
    text = GRID.replace(
        "  objective: val_accuracy", "  objective: val_accuracy\n  tuner: hyperband"
    )
    with pytest.raises(ConfigError, match="Hyperband prunes by its own brackets"):
        grid.load(write("h.yaml", text))
    result = CliRunner().invoke(
        cli,
        [
            "search",
            str(write("t.yaml", GRID.replace("val_accuracy", "test_accuracy"))),
            "--dry-run",
        ],
    )
    assert result.exit_code == 2 and "Traceback" not in result.output
    assert "search.objective" in result.output and "logged every epoch" in result.output


def test_prune_short_form_and_resolved(write):
    spec = grid.load(
        write("g.yaml", GRID.replace("{kind: asha, warmup: 1, min_trials: 2}", "median"))
    )
    assert spec.prune == PruneSpec("median")
    assert spec.resolved()["search"]["prune"] == {
        "kind": "median",
        "warmup": 2,
        "min_trials": 5,
        "every": 1,
    }


# -- real pruned searches ------------------------------------------------------------------


@pytest.mark.slow
def test_pruned_slots_are_refilled_and_each_trial_computes_what_it_does_unpruned(write, tmp_path):
    pruned = write("g.yaml", GRID)
    full = write("full.yaml", GRID.replace("  prune: {kind: asha, warmup: 1, min_trials: 2}\n", ""))
    said = {}
    for path, out in [(pruned, "a"), (full, "b")]:
        result = CliRunner().invoke(
            cli, ["search", str(path), "--stack", "3", "--runs-dir", str(tmp_path / out)]
        )
        assert result.exit_code == 0, result.output
        said[out] = result.output
    assert "trials pruned" in said["a"] and "trials pruned" not in said["b"]
    ours, theirs = rows(tmp_path / "a" / "pr"), rows(tmp_path / "b" / "pr")
    assert {r["status"] for r in theirs} == {"completed"}
    assert len(ours) == 8 and {r["status"] for r in ours} == {"completed", "pruned"}
    best = json.loads((tmp_path / "a" / "pr" / "best.json").read_text())
    assert next(r for r in ours if r["trial"] == best["trial"])["status"] == "completed"
    for r in ours:
        if r["status"] == "pruned":
            assert r["score"] == "" and 1 <= float(r["epochs_run"]) < 6
    infos = [json.loads(p.read_text()) for p in (tmp_path / "a" / "pr").glob("trials/*/run.json")]
    assert {i["stack"]["size"] for i in infos} == {3}  # 8 trials through 3 slots
    assert len({i["stack"]["group"] for i in infos}) == 1
    for r in ours:  # a refilled slot's member follows its own path, epoch by epoch
        a = list(
            csv.DictReader(open(tmp_path / "a" / "pr" / "trials" / r["trial"] / "history.csv"))
        )
        b = list(
            csv.DictReader(open(tmp_path / "b" / "pr" / "trials" / r["trial"] / "history.csv"))
        )
        for x, y in zip(a, b, strict=False):
            for key in ("loss", "val_loss", "val_accuracy"):
                assert float(x[key]) == pytest.approx(float(y[key]), rel=1e-4, abs=1e-6)


@pytest.mark.slow
def test_a_pruned_search_resumes_after_kill_9(write, tmp_path):
    g = write(
        "slow.yaml",
        GRID.replace("epochs: 6", "epochs: 60")
        .replace("n_samples: 200", "n_samples: 600")
        .replace("warmup: 1", "warmup: 3"),
    )
    cmd = [
        sys.executable,
        "-m",
        "dlexp.cli",
        "search",
        str(g),
        "--stack",
        "2",
        "--runs-dir",
        str(tmp_path),
    ]
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    trials = tmp_path / "pr" / "trials"
    deadline = time.time() + 120
    while time.time() < deadline and len(list(trials.glob("t*"))) < 2:
        time.sleep(0.1)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    before = {p.name: p.stat().st_mtime_ns for p in trials.glob("t*")}
    assert 2 <= len(before) < 8
    subprocess.run(cmd, check=True, capture_output=True)
    after = rows(tmp_path / "pr")
    assert sorted(r["trial"] for r in after) == [f"t{i:03d}" for i in range(8)]
    assert {r["status"] for r in after} <= {"completed", "pruned"} and "pruned" in {
        r["status"] for r in after
    }
    assert {p.name: p.stat().st_mtime_ns for p in trials.glob("t*") if p.name in before} == before
    assert not list(trials.glob(".*"))  # no half-trained folder left
    state = json.loads((tmp_path / "pr" / "search.json").read_text())
    assert state["status"] == "finished"


@pytest.mark.parametrize(
    "model",
    [
        {"hidden_layers": 0},
        {"hidden_layers": 3, "first_neuron": 16, "activation": "tanh"},
        {"layers": [8, 4], "kernel_initializer": "uniform", "dropout": 0.2, "input_noise": 0.1},
        {"hidden_layers": 2, "kernel_initializer": "he_normal", "l2": 0.01},
    ],
)
def test_a_refilled_members_initial_weights_are_those_build_gives(model):
    from dlexp import config
    from dlexp import data as data_mod
    from dlexp.model import build as models
    from dlexp.train.fit import seed_everything
    from dlexp.train.stack.initial import Initial

    extra = {"extra_features": ["x1*x2", "sin(x1)"]} if "layers" in model else {}
    cfg = config.resolve(
        {"seed": 11, "data": {"kind": "moons", "n_samples": 100, **extra}, "model": model}
    )
    d = data_mod.load(cfg["data"], cfg["seed"])
    seed_everything(cfg["seed"])
    built = models.build(cfg, d.n_features, d.n_outputs, d.standardize, d.target_scale)
    seed_everything(cfg["seed"])
    initial = Initial(cfg, d)
    assert initial.count_params() == built.count_params()
    ours, theirs = initial.dense_weights(), built.get_weights()
    assert len(ours) == len(theirs) and all(
        (a == b).all() for a, b in zip(ours, theirs, strict=True)
    )
    again = initial.keras()  # the Keras model it saves: built alike, with its weights
    assert all((a == b).all() for a, b in zip(again.get_weights(), theirs, strict=True))
