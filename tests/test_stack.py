"""Runs trained together (dlexp.train.stack) against the same runs trained one at a time."""

import copy
import json

import numpy as np
import pytest
import yaml
from click.testing import CliRunner

from dlexp import config
from dlexp.cli import cli
from dlexp.runs import folder as runs
from dlexp.train import fit as training
from dlexp.train.stack import StackTrainer, stack_key

BASE = {
    "seed": 3,
    "data": {"kind": "moons", "n_samples": 240, "seed": 3},  # the same data for every seed
    "model": {"layers": [8]},
    "train": {"epochs": 6, "batch_size": 32, "early_stopping": False, "metrics": ["accuracy"]},
}


def cfg_of(**sets):
    cfg = config.resolve(config.apply_overrides(BASE, list(sets.items())))
    cfg["name"] = "s"
    return cfg


def train(tmp_path, tag, cfgs, trainer):
    jobs = []
    for i, cfg in enumerate(cfgs):
        folder = tmp_path / tag / f"m{i}"
        folder.mkdir(parents=True)
        jobs.append(training.TrialJob(f"m{i}", cfg, runs.Run(folder, f"m{i}")))
    return trainer(jobs)


def history(outcome):
    return runs.read_run(outcome.run.path).history


def assert_same_run(stacked, alone):
    """The stacked member ended as its one-at-a-time run did, to float32 rounding."""
    assert stacked.status == alone.status
    assert stacked.metrics.epochs_run == alone.metrics.epochs_run
    assert stacked.metrics.best_epoch == alone.metrics.best_epoch
    assert stacked.metrics.stopped_early == alone.metrics.stopped_early
    for split in ("train", "val", "test"):
        a, b = getattr(stacked.metrics, split), getattr(alone.metrics, split)
        assert (a is None) == (b is None)
        for key in a or {}:
            assert a[key] == pytest.approx(b[key], rel=1e-4, abs=1e-5, nan_ok=True), (split, key)
    ours, theirs = history(stacked), history(alone)
    assert [r["epoch"] for r in ours] == [r["epoch"] for r in theirs]
    for a, b in zip(ours, theirs, strict=True):
        for key in ("loss", "val_loss", "learning_rate"):
            if a.get(key) is not None or b.get(key) is not None:
                assert a[key] == pytest.approx(b[key], rel=1e-4, abs=1e-6, nan_ok=True), key


def test_which_runs_share_a_stack():
    assert stack_key(cfg_of()) == stack_key(
        cfg_of(**{"model.layers": [4, 4], "model.activation": "elu", "train.optimizer": "sgd"})
    )
    assert stack_key(cfg_of()) != stack_key(cfg_of(**{"train.batch_size": 16}))
    assert stack_key(cfg_of()) != stack_key(cfg_of(**{"data.noise": 0.3}))
    assert stack_key(cfg_of(**{"model.batch_norm": True})) is None


def test_a_stack_trains_each_member_as_it_would_train_alone(tmp_path):
    """Widths, depth, activation and optimizer differ inside one stack, and one member
    diverges while the others go on: each ends as its own Keras fit ends."""
    regression = {"model.output_activation": "linear", "train.loss": "mse"}
    cfgs = [
        cfg_of(**regression),
        cfg_of(**regression, **{"model.layers": [5, 3], "model.activation": "tanh", "seed": 4}),
        cfg_of(
            **regression,
            **{"train.optimizer": {"name": "sgd", "momentum": 0.9}, "train.learning_rate": 0.05},
        ),
        cfg_of(
            **regression,
            **{
                "model.activation": "linear",
                "train.optimizer": "sgd",
                "train.learning_rate": 1e12,
            },
        ),
    ]
    stacked = train(tmp_path, "stack", cfgs, StackTrainer())
    alone = train(tmp_path, "alone", cfgs, training.TrialTrainer())
    assert [o.status for o in stacked] == ["completed", "completed", "completed", "diverged"]
    for a, b in zip(stacked, alone, strict=True):
        assert_same_run(a, b)
    info = json.loads(stacked[1].run.file("run.json").read_text())
    assert info["stack"]["size"] == 4 and info["stack"]["position"] == 1
    assert info["widths"] == [5, 3] and info["params"] == 2 * 5 + 5 + 5 * 3 + 3 + 3 + 1
    # the saved model is the member's own (its widths), and gives the metrics' predictions
    import keras

    d = training.TrialTrainer().dataset(cfgs[1])
    model = keras.models.load_model(stacked[1].run.file("model.keras"))
    assert [w.shape for w in model.get_weights()] == [(2, 5), (5,), (5, 3), (3,), (3, 1), (1,)]
    proba = model.predict(d.x_test, verbose=0)[:, 0]
    accuracy = float(np.mean((proba > 0.5) == d.y_test))
    assert accuracy == pytest.approx(stacked[1].metrics.test["accuracy"], abs=1e-6)
    assert stacked[1].run.file("boundary.npz").exists()
    assert not stacked[3].run.file("boundary.npz").exists()  # a diverged run draws none


@pytest.mark.slow
def test_callbacks_and_schedules_are_each_members_own(tmp_path):
    """Early stopping (with and without restoring), plateau, exponential and step
    schedules and different epochs, each member's own, inside one stack."""
    stop = {"monitor": "val_loss", "patience": 2, "min_delta": 0.01, "restore_best_weights": True}
    cfgs = [
        cfg_of(**{"train.epochs": 30, "train.learning_rate": 0.05, "train.early_stopping": stop}),
        cfg_of(
            **{
                "train.epochs": 30,
                "train.learning_rate": 0.05,
                "train.early_stopping": {**stop, "restore_best_weights": False, "patience": 4},
                "seed": 5,
            }
        ),
        cfg_of(
            **{
                "train.lr_schedule": {"kind": "plateau", "rate": 0.5, "patience": 1},
                "train.learning_rate": 0.3,
                "train.epochs": 15,
            }
        ),
        cfg_of(**{"train.lr_schedule": {"kind": "exponential", "rate": 0.9, "every": 1}}),
        cfg_of(**{"train.lr_schedule": {"kind": "step", "rate": 0.5, "every": 2}, "seed": 6}),
        cfg_of(**{"train.epochs": 3, "train.optimizer": "nadam"}),
    ]
    stacked = train(tmp_path, "stack", cfgs, StackTrainer())
    alone = train(tmp_path, "alone", cfgs, training.TrialTrainer())
    for a, b in zip(stacked, alone, strict=True):
        assert_same_run(a, b)
    assert stacked[0].metrics.stopped_early and stacked[0].metrics.epochs_run < 30
    assert len({r["learning_rate"] for r in history(stacked[2])}) > 1  # the plateau acted
    assert stacked[5].metrics.epochs_run == 3


def test_members_with_dropout_and_noise_train_on_their_own_streams(tmp_path):
    cfgs = [
        cfg_of(**{"model.dropout": 0.3}),
        cfg_of(**{"model.dropout": 0.3, "seed": 9}),
        cfg_of(**{"model.input_noise": 0.1}),
        cfg_of(),
    ]
    stacked = train(tmp_path, "stack", cfgs, StackTrainer())
    assert all(o.status == "completed" for o in stacked)
    losses = [history(o)[-1]["loss"] for o in stacked]
    assert len(set(losses)) == 4
    assert_same_run(stacked[3], train(tmp_path, "alone", [cfgs[3]], training.TrialTrainer())[0])


def test_stack_size_is_respected_and_a_refused_member_fails_alone(tmp_path, monkeypatch):
    from dlexp.model import build as models

    original = models.build

    def refuse(cfg, *args):
        if cfg["seed"] == 13:
            raise ValueError("no")
        return original(cfg, *args)

    monkeypatch.setattr(models, "build", refuse)
    cfgs = [cfg_of(**{"seed": s, "train.epochs": 2}) for s in (11, 12, 13, 14, 15)]
    outcomes = train(tmp_path, "s", cfgs, StackTrainer(2))
    assert [o.status for o in outcomes] == [
        "completed",
        "completed",
        "failed",
        "completed",
        "completed",
    ]
    sizes = [
        json.loads(o.run.file("run.json").read_text()).get("stack", {}).get("size")
        for o in outcomes
    ]
    assert sizes == [2, 2, None, None, None]  # stacks of 2; the refused one's mate and the
    # last trained alone, as dlexp train would (no stack recorded)
    assert "Keras refused this config: no" in outcomes[2].error


def test_train_repeats_on_the_cli(write, tmp_path):
    cfg = write("r.yaml", yaml.safe_dump(BASE))
    result = CliRunner().invoke(
        cli, ["train", str(cfg), "--repeats", "3", "--runs-dir", str(tmp_path), "--format", "json"]
    )
    assert result.exit_code == 0, result.output
    out = json.loads(result.stdout)
    assert out["status"] == "completed" and out["repeats"] == 3 and len(out["runs"]) == 3
    seeds = [json.loads((tmp_path / r["id"] / "run.json").read_text())["seed"] for r in out["runs"]]
    assert seeds == [3, 4, 5]
    accuracies = [r["test"]["accuracy"] for r in out["runs"]]
    assert out["mean"]["test"]["accuracy"] == pytest.approx(np.mean(accuracies))
    assert out["std"]["test"]["accuracy"] == pytest.approx(np.std(accuracies, ddof=1))
    text = CliRunner().invoke(
        cli, ["train", str(cfg), "--repeats", "2", "--runs-dir", str(tmp_path)]
    )
    assert "2 repeats trained together" in text.stdout and "±" in text.stdout


def test_train_repeats_bad_input_leaves_nothing(write, tmp_path):
    cfg = write("r.yaml", yaml.safe_dump(copy.deepcopy(BASE)))
    result = CliRunner().invoke(
        cli, ["train", str(cfg), "--repeats", "0", "--runs-dir", str(tmp_path / "runs")]
    )
    assert result.exit_code == 2 and "--repeats" in result.stderr
    assert not (tmp_path / "runs").exists()


def test_ctrl_c_ends_every_member_interrupted_with_its_history(tmp_path):
    def stop_at_2(epoch, row):
        if epoch == 2:
            raise KeyboardInterrupt

    jobs = []
    for i, cfg in enumerate([cfg_of(), cfg_of(**{"seed": 8})]):
        folder = tmp_path / f"m{i}"
        folder.mkdir()
        jobs.append(training.TrialJob(f"m{i}", cfg, runs.Run(folder, f"m{i}"), on_epoch=stop_at_2))
    ended = []
    for job in jobs:
        job.on_end = ended.append
    outcomes = StackTrainer()(jobs)
    assert [o.status for o in outcomes] == ["interrupted", "interrupted"] and len(ended) == 2
    for o in outcomes:
        assert len(history(o)) == 2  # the epochs it finished are kept
        info = json.loads(o.run.file("run.json").read_text())
        assert info["status"] == "interrupted" and info["ended"]
        assert json.loads(o.run.file("metrics.json").read_text())["epochs_run"] == 2


def test_an_interrupted_member_keeps_its_last_weights_and_metrics(tmp_path):
    def stop_at_3(epoch, row):
        if epoch == 3:
            raise KeyboardInterrupt

    folder = tmp_path / "m"
    folder.mkdir()
    jobs = [
        training.TrialJob(n, cfg_of(**{"seed": s}), runs.Run(folder / n, n), on_epoch=stop_at_3)
        for n, s in (("a", 1), ("b", 2))
    ]
    for job in jobs:
        job.run.path.mkdir()
    outcomes = StackTrainer()(jobs)
    record = runs.read_run(outcomes[1].run.path)
    assert record.status == "interrupted" and record.metric("val_accuracy") is not None
    assert record.metric("train_loss") == record.history[-1]["loss"]
    assert outcomes[1].run.file("model.keras").exists()


@pytest.mark.parametrize("stacked", [False, True])
def test_a_standardized_model_takes_raw_points(tmp_path, stacked):
    """data.standardize lives in the model (Keras' Normalization, adapted on the
    training split): model.keras scores raw points as the run reported."""
    import keras

    from dlexp import data

    cfgs = [cfg_of(**{"data.standardize": True, "seed": s}) for s in (1, 2)]
    trainer = StackTrainer() if stacked else training.TrialTrainer()
    outcome = train(tmp_path, "s", cfgs if stacked else cfgs[:1], trainer)[0]
    raw = data.load({**cfgs[0]["data"], "standardize": False}, cfgs[0]["seed"])
    model = keras.models.load_model(outcome.run.file("model.keras"))
    assert model.layers[0].name == "standardize"
    proba = np.clip(model.predict(raw.x_test, verbose=0)[:, 0], 1e-7, 1 - 1e-7)
    y = raw.y_test
    loss = float(np.mean(-(y * np.log(proba) + (1 - y) * np.log(1 - proba))))
    assert loss == pytest.approx(outcome.metrics.test["loss"], abs=1e-5)


REGRESSION = {
    "data.kind": "playground",
    "data.dataset": "reg-gauss",
    "data.n_samples": 200,
    "data.noise": 0.1,
    "data.task": "regression",
    "train.metrics": ["mae", "rmse", "r2"],
}


def test_a_regression_stack_trains_each_member_as_it_would_train_alone(tmp_path):
    """Regression: the loss on the standardized target, the output put back into the
    target's units, mae/rmse/r2 in them; widths, depth, activation and learning rate
    differ inside one stack, and each member ends as its own Keras fit ends."""
    cfgs = [
        cfg_of(**REGRESSION),
        cfg_of(**REGRESSION, **{"model.layers": [5, 3], "model.activation": "tanh", "seed": 4}),
        cfg_of(**REGRESSION, **{"train.optimizer": "sgd", "train.learning_rate": 0.05}),
        cfg_of(**REGRESSION, **{"model.layers": [6], "train.loss": "mae", "seed": 5}),
    ]
    assert len({stack_key(c) for c in cfgs[:3]}) == 1
    assert stack_key(cfgs[3]) != stack_key(cfgs[0])  # another loss trains apart
    stacked = train(tmp_path, "stack", cfgs[:3], StackTrainer())
    alone = train(tmp_path, "alone", cfgs[:3], training.TrialTrainer())
    assert [o.status for o in stacked] == ["completed"] * 3
    for a, b in zip(stacked, alone, strict=True):
        assert_same_run(a, b)
    info = json.loads(stacked[1].run.file("run.json").read_text())
    assert info["stack"]["size"] == 3 and info["data"]["task"] == "regression"
    # model.keras is the member's own, predicting in the target's units what the run
    # reported, and predictions.npz holds the same predictions
    import keras

    d = training.TrialTrainer().dataset(cfgs[1])
    model = keras.models.load_model(stacked[1].run.file("model.keras"))
    predicted = model.predict(d.x_test, verbose=0)
    rmse = float(np.sqrt(np.mean((predicted - d.y_test) ** 2)))
    assert rmse == pytest.approx(stacked[1].metrics.test["rmse"], rel=1e-5)
    with np.load(stacked[1].run.file("predictions.npz")) as npz:
        assert npz["predicted"].shape == d.y_test.shape == (len(d.x_test), 1)
        assert np.allclose(npz["predicted"], predicted, atol=1e-5)
    npz = runs.read_npz(stacked[1].run.file("boundary.npz"))
    assert npz["predicted"].ndim == 3 and npz["y_train"].dtype == np.float32
    # the loss is the mse of the target standardized by the training split's statistics
    mean, std = d.target_scale
    assert std[0] != pytest.approx(1.0, abs=0.05)  # so standardizing is seen
    mse = float(np.mean(((predicted - mean) / std - (d.y_test - mean) / std) ** 2))
    assert mse == pytest.approx(stacked[1].metrics.test["loss"], rel=1e-5)


def test_regression_and_classification_never_share_a_stack(tmp_path):
    """The same CSV, its target learned as classes or as numbers, trains in different
    stacks (another output, loss and metrics)."""
    rows = "\n".join(f"{i % 7},{i % 5},{i % 3}" for i in range(60))
    (tmp_path / "d.csv").write_text("a,b,y\n" + rows + "\n")
    csv = {"data.kind": "csv", "data.path": str(tmp_path / "d.csv"), "data.target": "y"}
    regress = cfg_of(**csv, **{"data.task": "regression", "train.metrics": ["rmse"]})
    classify = cfg_of(**csv, **{"data.task": "classification"})
    assert (regress["data"]["task"], classify["data"]["task"]) == ("regression", "classification")
    assert stack_key(classify) != stack_key(regress)


@pytest.mark.slow
def test_a_regression_of_two_targets_stacks_as_alone(tmp_path):
    """Two targets of very different scales: each its own mean and std, the loss
    averaged over both standardized, r2 averaged over both as Keras' R2Score does."""
    rng = np.random.RandomState(0)
    x = rng.randn(120, 3)
    y = np.stack([3 * x[:, 0] + 1, 100 * np.sin(x[:, 1]) + 50], axis=1)
    rows = [",".join(f"{v:.5f}" for v in row) for row in np.hstack([x, y])]
    (tmp_path / "m.csv").write_text("a,b,c,y1,y2\n" + "\n".join(rows) + "\n")
    csv = {
        "data.kind": "csv",
        "data.path": str(tmp_path / "m.csv"),
        "data.target": ["y1", "y2"],
        "data.standardize": True,
        "train.metrics": ["mae", "rmse", "r2"],
        "train.epochs": 3,
    }
    cfgs = [cfg_of(**csv), cfg_of(**csv, **{"model.layers": [4, 4], "seed": 7})]
    assert cfgs[0]["data"]["task"] == "regression"
    stacked = train(tmp_path, "stack", cfgs, StackTrainer())
    alone = train(tmp_path, "alone", cfgs, training.TrialTrainer())
    for a, b in zip(stacked, alone, strict=True):
        assert_same_run(a, b)
    assert json.loads(stacked[0].run.file("run.json").read_text())["stack"]["size"] == 2
    with np.load(stacked[1].run.file("predictions.npz")) as npz:
        assert npz["predicted"].shape[1] == 2 and list(npz["target_names"]) == ["y1", "y2"]
