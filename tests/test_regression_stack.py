"""A regression search: its objectives (val_rmse, val_mae min; val_r2 max), its points
trained as one stack, equal to the same search trained one run at a time, and
``dlexp best`` choosing by the objective's direction."""

import csv
import json

import pytest
from helpers import invoke, one_line

from dlexp.core.errors import ConfigError
from dlexp.search import spec as grid

HEAD = """
name: reg
seed: 1
data: {kind: playground, dataset: reg-gauss, n_samples: 200, noise: 0.1}
model: {layers: [4]}
train: {epochs: 3, batch_size: 16, early_stopping: false}
"""

FOUR = (
    HEAD
    + """search:
  objective: val_rmse
  params:
    train.learning_rate: [0.01, 0.1]
    model.activation: [relu, tanh]
"""
)

# 24 points: learning rates x widths and depths x activations
TWENTY_FOUR = (
    HEAD
    + """search:
  objective: val_rmse
  params:
    train.learning_rate: [0.003, 0.01, 0.03, 0.1]
    model.layers: [[4], [8, 4], [6, 6, 3]]
    model.activation: [relu, tanh]
"""
)


def results(folder):
    with open(folder / "results.csv") as f:
        return list(csv.DictReader(f))


def stacks(folder) -> list[dict | None]:
    """Each trial's run.json ``stack`` (None: trained alone), in the trials' order."""
    return [
        json.loads(p.read_text()).get("stack")
        for p in sorted((folder / "trials").glob("*/run.json"))
    ]


def search_both_ways(write, tmp_path, text: str):
    """The search stacked (the default) and with --stack 1: its folders."""
    g = write("reg.yaml", text)
    folders = []
    for tag, extra in (("stacked", []), ("alone", ["--stack", "1"])):
        result = invoke("search", g, "--runs-dir", tmp_path / tag, "-q", *extra)
        assert result.exit_code == 0, result.output
        folders.append(tmp_path / tag / "reg")
    return folders


def assert_same_results(stacked, alone, n: int):
    """results.csv row by row: the same points, status, epochs and (to float32 rounding,
    a member's sums may be added in another order) the same metrics."""
    ours, theirs = results(stacked), results(alone)
    assert len(ours) == len(theirs) == n
    numbers = 0
    for a, b in zip(ours, theirs, strict=True):
        assert a["status"] == b["status"] == "completed"
        for key in a:
            if key == "seconds":
                continue
            try:
                x, y = float(a[key]), float(b[key])
            except ValueError:  # the point's values, the trial's name and folder
                assert a[key] == b[key], key
                continue
            numbers += 1
            assert x == pytest.approx(y, rel=1e-4, abs=1e-6), (a["trial"], key)
    assert numbers >= n * 10  # score, loss/rmse/r2 on three splits, epochs...
    assert {"val_rmse", "val_r2", "test_rmse"} <= set(ours[0])


def test_a_regression_search_stacks_and_equals_one_run_at_a_time(write, tmp_path):
    stacked, alone = search_both_ways(write, tmp_path, FOUR)
    assert_same_results(stacked, alone, 4)
    ours = stacks(stacked)
    assert all(s is not None and s["size"] == 4 for s in ours)  # one program for the four
    assert len({s["group"] for s in ours}) == 1
    assert stacks(alone) == [None] * 4
    # the objective is an error: the best trial is the one with the lowest val_rmse
    rows = results(stacked)
    lowest = min(rows, key=lambda r: float(r["val_rmse"]))
    best = json.loads((stacked / "best.json").read_text())
    assert best["objective"] == {"name": "val_rmse", "direction": "min"}
    assert best["trial"] == lowest["trial"] and best["score"] == pytest.approx(
        float(lowest["val_rmse"])
    )
    top = json.loads(invoke("best", stacked, "--top", "4", "--format", "json").stdout)
    assert top[0]["trial"] == lowest["trial"]
    assert [t["score"] for t in top] == sorted(float(r["val_rmse"]) for r in rows)
    assert len({t["score"] for t in top}) == 4  # the order is the scores', not a tie's


@pytest.mark.slow
def test_a_regression_search_of_24_points_is_one_stack_equal_to_stack_1(write, tmp_path):
    """Learning rate, width, depth and activation differ across 24 points: one stack,
    one compiled program, the same numbers as 24 runs trained alone."""
    stacked, alone = search_both_ways(write, tmp_path, TWENTY_FOUR)
    assert_same_results(stacked, alone, 24)
    ours = stacks(stacked)
    assert len(ours) == 24 and all(s is not None and s["size"] == 24 for s in ours)
    assert {s["group"] for s in ours} == {"t000..t023"}
    assert sorted(s["position"] for s in ours) == list(range(24))
    assert stacks(alone) == [None] * 24


@pytest.mark.parametrize(
    "objective, direction",
    [("val_rmse", "min"), ("val_mae", "min"), ("val_r2", "max"), ("rmse", "min")],
)
def test_regression_objectives_and_their_directions(write, objective, direction):
    text = HEAD.replace("early_stopping: false", "early_stopping: false, metrics: [mae, rmse, r2]")
    spec = grid.load(
        write(
            "g.yaml",
            text + f"search:\n  objective: {objective}\n  params: {{model.activation: [relu]}}\n",
        )
    )
    assert (spec.objective, spec.direction) == (objective, direction)
    assert spec.resolved()["search"]["objective"] == {"name": objective, "direction": direction}


def test_a_classification_objective_on_a_regression_search_is_refused(write, tmp_path):
    g = write("g.yaml", FOUR.replace("objective: val_rmse", "objective: val_accuracy"))
    with pytest.raises(ConfigError) as err:
        grid.load(g)
    assert err.value.path == "search.objective"
    result = invoke("search", g, "--runs-dir", tmp_path / "r")
    assert result.exit_code == 2
    line = one_line(result)
    assert "search.objective" in line and "'val_accuracy'" in line and "val_rmse" in line
    assert not (tmp_path / "r").exists()
    # without an objective: the validation loss, which every task logs
    spec = grid.load(write("d.yaml", FOUR.replace("  objective: val_rmse\n", "")))
    assert (spec.objective, spec.direction) == ("val_loss", "min")
    assert spec.base["train"]["metrics"] == ["rmse", "r2"]


@pytest.mark.parametrize("tuner", ["random", "hyperband"])
def test_random_and_hyperband_search_a_regression(write, tmp_path, tuner):
    """The tuners that choose their points as they go, on val_r2 (to maximize)."""
    search = "search:\n  objective: val_r2\n  tuner: " + tuner + "\n"
    search += "  max_trials: 3\n" if tuner == "random" else "  factor: 3\n"
    search += "  params:\n    train.learning_rate: [0.01, 0.03, 0.1]\n"
    search += "    model.activation: [relu, tanh]\n"
    g = write("t.yaml", HEAD + search)
    result = invoke("search", g, "--runs-dir", tmp_path, "-q")
    assert result.exit_code == 0, result.output
    rows = [r for r in results(tmp_path / "reg") if r["status"] == "completed"]
    assert rows and all(float(r["score"]) == float(r["val_r2"]) for r in rows)
    best = json.loads((tmp_path / "reg" / "best.json").read_text())
    assert best["objective"] == {"name": "val_r2", "direction": "max"}
    assert best["score"] == pytest.approx(max(float(r["val_r2"]) for r in rows))


@pytest.mark.slow
def test_a_cross_validated_regression_search_stacks_its_folds(write, tmp_path):
    """search.cv on a regression: every point's folds (each with its own rows and
    target scale) in one stack, equal to the folds trained one at a time."""
    text = FOUR.replace("  objective: val_rmse\n", "  objective: val_rmse\n  cv: 3\n")
    text = text.replace("[0.01, 0.1]", "[0.03]").replace("n_samples: 200", "n_samples: 150")
    stacked, alone = search_both_ways(write, tmp_path, text)
    assert_same_results(stacked, alone, 2)
    ours = stacks(stacked)
    assert len(ours) == 6 and all(s is not None and s["size"] == 6 for s in ours)
    row = results(stacked)[0]
    assert row["runs"] == "trials/t000-f0;trials/t000-f1;trials/t000-f2"
    assert float(row["val_rmse_std"]) > 0  # three different validation folds
