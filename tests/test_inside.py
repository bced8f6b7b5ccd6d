"""Views inside the network: Playground's extra features, the learning record kept in
a run folder, and the pictures drawn from it."""

import json
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

from dlexp import config, data
from dlexp.cli import cli
from dlexp.core.errors import ConfigError
from dlexp.runs.folder import read_npz


def invoke(*args):
    return CliRunner().invoke(cli, [str(a) for a in args])


def test_extra_features_are_checked_and_made_from_the_coordinates(tmp_path):
    with pytest.raises(ConfigError) as err:
        config.resolve({"data": {"extra_features": ["x1^3"]}})
    assert "data.extra_features[0]" in str(err.value) and "x1^2" in str(err.value)
    x = np.array([[1.0, 2.0], [-3.0, 0.5]], np.float32)
    made = data.expand(x, ["x1^2", "x1*x2", "sin(x2)"])
    expected = [[1, 2, 1, 2, np.sin(2.0)], [-3, 0.5, 9, -1.5, np.sin(0.5)]]
    np.testing.assert_allclose(made, expected, rtol=1e-6)
    cfg = config.resolve({"data": {"kind": "circles", "extra_features": ["x2^2"]}})
    d = data.load(cfg["data"], cfg["seed"])
    assert d.n_features == 2 and d.extra_features == ["x2^2"]  # the points stay 2D
    csv = tmp_path / "three.csv"
    csv.write_text("a,b,c,label\n" + "\n".join(f"{i},{i},{i},{i % 2}" for i in range(20)))
    bad = {"kind": "csv", "path": str(csv), "target": "label", "extra_features": ["x1^2"]}
    with pytest.raises(ConfigError, match="data.extra_features: .* the data has 3"):
        data.load(config.resolve({"data": bad})["data"], 0)


def test_every_extra_feature_is_known_to_the_config_and_the_exported_script():
    from dlexp.use import export

    assert tuple(data.EXTRA_FEATURES) == config.EXTRA_FEATURE_NAMES
    assert tuple(export._EXTRA_CODE) == config.EXTRA_FEATURE_NAMES
    x = np.array([[0.5, -2.0], [3.0, 0.25]], np.float32)
    for name, code in export._EXTRA_CODE.items():  # the script computes what dlexp does
        np.testing.assert_allclose(eval(code), data.expand(x, [name])[:, 2], rtol=1e-6)  # noqa: S307


def test_the_model_makes_the_extra_features_itself():
    import keras

    from dlexp.model import build as models

    cfg = config.resolve(
        {
            "data": {"kind": "circles", "extra_features": ["x1^2", "x2^2"], "standardize": True},
            "model": {"layers": []},
        }
    )
    d = data.load(cfg["data"], cfg["seed"])
    model = models.build(cfg, d.n_features, d.n_classes, d.standardize)
    assert model.input_shape == (None, 2) and model.count_params() == 5  # 4 weights + bias
    inner = keras.Model(model.inputs, model.get_layer("features_extra").output)
    made = np.asarray(inner(d.x_test[:5]))
    assert made == pytest.approx(data.expand(d.x_test[:5], ["x1^2", "x2^2"]), rel=1e-6)


@pytest.mark.slow
def test_logistic_regression_on_squares_separates_circles(write, tmp_path):
    cfg = write(
        "c.yaml",
        """
seed: 1
data: {kind: circles, n_samples: 400, extra_features: ["x1^2", "x2^2"], standardize: true}
model: {layers: []}
train: {epochs: 30, batch_size: 32, learning_rate: 0.05, early_stopping: false}
""",
    )
    result = invoke("train", cfg, "--runs-dir", tmp_path / "runs", "--format", "json")
    assert result.exit_code == 0, result.output
    out = json.loads(result.stdout)
    assert out["test"]["accuracy"] > 0.97  # a straight line cannot do better than ~0.6
    run = tmp_path / "runs" / out["id"]
    points = invoke("predict", run, "--points", "0,0;1.2,1.2", "--format", "json")
    assert [p["predicted"] for p in json.loads(points.stdout)] == [1, 0]  # inner, outer
    boundary = read_npz(run / "boundary.npz")
    assert boundary["proba"].shape[:2] == (len(boundary["ys"]), len(boundary["xs"]))


def test_snapshot_epochs_are_spaced_geometrically_and_end_on_the_last():
    from dlexp.train.learning import snapshot_epochs

    assert snapshot_epochs(100, 10) == [1, 2, 3, 5, 8, 13, 22, 36, 60, 100]
    assert snapshot_epochs(3, 10) == [1, 2, 3]
    assert snapshot_epochs(50, 1) == [50] and snapshot_epochs(50, 0) == []


def test_the_config_checks_snapshots_and_log_every():
    for key, value, expected in [
        ("snapshots", -1, "an integer in [0, 100]"),
        ("snapshots", 101, "an integer in [0, 100]"),
        ("log_every", "step", "epoch, batch"),
    ]:
        with pytest.raises(ConfigError) as err:
            config.resolve({"train": {key: value}})
        assert f"train.{key}" in str(err.value) and expected in str(err.value)


@pytest.mark.slow
def test_a_stack_keeps_the_learning_record_a_single_run_keeps(tmp_path):
    """Frames, hidden units, weights and every batch's loss: the same whether the run
    trains alone (Keras' fit and callbacks) or in a stack (one program)."""
    from dlexp.train.fit import train_config
    from dlexp.train.stack import train_repeats

    cfg = config.resolve(
        {
            "seed": 3,
            "data": {"kind": "moons", "n_samples": 300},
            "model": {"layers": [6, 4]},
            "train": {"epochs": 30, "log_every": "batch", "early_stopping": {"patience": 3}},
        }
    )
    cfg["name"] = "lr"
    stacked = train_repeats(cfg, tmp_path / "a", 2)[0]
    alone = train_config(config.repeat(cfg, 0), tmp_path / "b")
    a = read_npz(stacked.run.path / "learning.npz")
    b = read_npz(alone.run.path / "learning.npz")
    epochs = alone.metrics.epochs_run
    assert b["snapshot_epochs"].tolist()[-1] == epochs  # the last epoch run is a frame
    assert a["snapshot_epochs"].tolist() == b["snapshot_epochs"].tolist()
    assert a["snapshot_proba"].shape == (len(a["snapshot_epochs"]), 60, 60, 1)
    for name in ("snapshot_proba", "hidden_2"):  # as near as their uint8 packing lets
        step = float(np.ptp(b[name])) / 255
        np.testing.assert_allclose(a[name], b[name], atol=2e-3 + step)
    assert a["hidden_1"].shape == (60, 60, 6) and a["kernel_3"].shape == (4, 1)
    n_train = json.loads((alone.run.path / "run.json").read_text())["data"]["n_train"]
    sizes = [32] * (n_train // 32) + ([n_train % 32] if n_train % 32 else [])
    assert len(b["batch_loss"]) == len(sizes) * epochs and b["batch_epoch"][-1] == epochs
    np.testing.assert_allclose(a["batch_loss"], b["batch_loss"], rtol=1e-5)
    rows = (alone.run.path / "history.csv").read_text().splitlines()
    first = float(rows[1].split(",")[rows[0].split(",").index("loss")])
    weights = np.array(sizes, np.float32)
    mean = float((b["batch_loss"][: len(sizes)] * weights).sum() / weights.sum())
    assert mean == pytest.approx(first, rel=1e-5)  # the epoch's loss is its batches' mean


LESSONS = sorted((Path(__file__).parent.parent / "configs" / "lessons").glob("*.yaml"))


def test_every_lesson_is_a_valid_config_or_grid():
    from dlexp.search import spec as grid

    assert len(LESSONS) == 8
    for path in LESSONS:
        text = path.read_text()
        assert text.startswith("# Lesson: "), path  # each says what it shows
        if "search:" in text:
            spec = grid.load(path)
            assert spec.n_points() >= 2, path
        else:
            config.load(path)


@pytest.mark.slow
@pytest.mark.parametrize("lesson", ["playground_features", "activations"])
def test_a_lesson_makes_its_point(lesson, tmp_path):
    result = invoke(
        "search", LESSONS[0].parent / f"{lesson}.yaml", "--runs-dir", tmp_path, "--format", "json"
    )
    assert result.exit_code == 0, result.output
    rows = list(__import__("csv").DictReader(next(tmp_path.glob("*/results.csv")).open()))
    acc = {r["trial"]: float(r["test_accuracy"]) for r in rows}
    if lesson == "playground_features":  # a line cannot separate circles; squares can
        assert acc["t001"] > 0.95 and acc["t000"] < 0.7
    else:  # sigmoid, six layers deep, is still at chance; relu has learned
        assert acc["t000"] < 0.6 and acc["t002"] > 0.9


@pytest.mark.slow
def test_the_regression_lesson_makes_its_point(tmp_path):
    """Six bumps need more units than Playground's 4-2 network; two clouds do not (the
    lesson's classification twin, ``--set data.dataset=gauss``). Stacked, ~10 s each."""
    import csv

    lesson = LESSONS[0].parent / "regression.yaml"
    rows = {}
    for dataset in ("reg-gauss", "gauss"):
        runs = tmp_path / dataset
        result = invoke("search", lesson, "--set", f"data.dataset={dataset}", "--runs-dir", runs)
        assert result.exit_code == 0, result.output
        for r in csv.DictReader(next(runs.glob("*/results.csv")).open()):
            rows[dataset, r["model.layers"]] = r
    assert {r["status"] for r in rows.values()} == {"completed"}
    for layers in ("[4, 2]", "[16, 16]"):
        assert float(rows["gauss", layers]["test_accuracy"]) > 0.97
        assert "test_accuracy" not in rows["reg-gauss", layers]  # no accuracy for a regression
    small, wide = (rows["reg-gauss", k] for k in ("[4, 2]", "[16, 16]"))
    assert float(small["test_r2"]) < 0.7 and float(wide["test_r2"]) > 0.85
    assert float(wide["test_rmse"]) < 0.5 * float(small["test_rmse"])
