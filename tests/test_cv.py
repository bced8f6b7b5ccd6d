"""Cross-validation: data.cv folds, `dlexp train --cv K`, `search.cv`, and the folds
stacked with their point."""

import json
import subprocess
import sys

import numpy as np
import pytest
import yaml
from click.testing import CliRunner

from dlexp import config, data
from dlexp.cli import cli
from dlexp.core.errors import ConfigError
from dlexp.runs import folder as runs
from dlexp.search import spec as grid


def invoke(*args):
    return CliRunner().invoke(cli, [str(a) for a in args])


BASE = {
    "seed": 3,
    "data": {"kind": "moons", "n_samples": 300, "standardize": True},
    "model": {"layers": [8]},
    "train": {"epochs": 6, "batch_size": 32, "early_stopping": {"patience": 2}},
}


@pytest.mark.parametrize(
    "cv, where, expected",
    [
        (3, "data.cv", "a mapping {folds: K, fold: i}"),
        ({"folds": 1, "fold": 0}, "data.cv.folds", "an integer in [2, 20]"),
        ({"folds": 21}, "data.cv.folds", "an integer in [2, 20]"),
        ({"folds": 3, "fold": 3}, "data.cv.fold", "expected 0 to 2"),
        ({"fold": 1}, "data.cv.folds", "required"),
        ({"folds": 3, "fold": 0, "k": 1}, "data.cv.k", "unknown key"),
    ],
)
def test_a_bad_fold_names_the_key(cv, where, expected):
    with pytest.raises(ConfigError) as err:
        config.resolve({**BASE, "data": {**BASE["data"], "cv": cv}})
    assert where in str(err.value) and expected in str(err.value)


def test_folds_are_stratified_disjoint_and_cover_the_pool():
    y = np.array([0] * 60 + [1] * 30)
    folds = data.fold_indices(y, 3, seed=5)
    vals = [v for _, v in folds]
    assert sorted(np.concatenate(vals).tolist()) == list(range(90))  # each row once
    for train, val in folds:
        assert not set(train) & set(val) and len(train) + len(val) == 90
        assert np.bincount(y[val]).tolist() == [20, 10]  # the classes' shares kept
    again = data.fold_indices(y, 3, seed=5)
    assert all(
        (a == c).all() and (b == d).all() for (a, b), (c, d) in zip(folds, again, strict=True)
    )
    other = data.fold_indices(y, 3, seed=6)
    assert any((a != c).any() for (_, a), (_, c) in zip(folds, other, strict=True))
    with pytest.raises(ConfigError, match="data.cv.folds: 5 folds need at least 5"):
        data.fold_indices(np.array([0, 1, 0, 1]), 5, seed=0)


def test_a_fold_keeps_the_test_split_and_validates_on_its_rows():
    cfg = config.resolve(BASE)
    whole = data.load(cfg["data"], cfg["seed"])
    folds = [data.load(config.fold(cfg, k, 4)["data"], cfg["seed"]) for k in range(4)]
    pool = len(whole.x_train) + len(whole.x_val)
    for d in folds:
        assert (d.x_test == whole.x_test).all()  # the test split stays aside
        assert len(d.x_train) + len(d.x_val) == pool
        assert d.standardize[0] == pytest.approx(d.x_train.mean(axis=0), abs=1e-5)
    seen = np.concatenate([d.x_val for d in folds])
    assert len(np.unique(seen, axis=0)) == pool  # every row validates once


def test_search_cv_is_checked(write):
    head = "seed: 1\ndata: {kind: moons, n_samples: 200}\nmodel: {layers: [4]}\n"
    params = "  params: {model.activation: [relu, tanh]}\n"
    for section, message in [
        ("search:\n  cv: 1\n" + params, "search.cv: expected an integer in [2, 20], got 1"),
        ("search:\n  cv: 3\n  repeats: 2\n" + params, "choose repeats (seeds) or cv (folds)"),
        ("search:\n  cv: 3\n  tuner: hyperband\n" + params, "hyperband continues"),
    ]:
        with pytest.raises(ConfigError) as err:
            grid.load(write("g.yaml", head + section))
        assert message in str(err.value)
    spec = grid.load(write("g.yaml", head + "search:\n  cv: 3\n" + params))
    assert spec.runs_per_point == 3 and spec.run_names("t001") == ["t001-f0", "t001-f1", "t001-f2"]
    assert spec.point_config({"model.activation": "tanh"}, 2)["data"]["cv"] == {
        "folds": 3,
        "fold": 2,
    }
    assert spec.resolved()["search"]["cv"] == 3
    assert runs.trial_of("t001-f2") == "t001" and runs.trial_of("t001-r2") == "t001"


@pytest.mark.slow
def test_folds_stacked_train_as_each_fold_alone(tmp_path):
    """The folds of a point train as one program, each on its own rows, standardized
    with its own statistics, and give what each fold trained alone gives."""
    from dlexp.train.fit import train_config
    from dlexp.train.stack import train_folds

    cfg = config.resolve(BASE)
    cfg["name"] = "cv"
    together = train_folds(cfg, tmp_path / "a", 4)
    assert [o.status for o in together] == [runs.Status.COMPLETED] * 4
    info = json.loads((together[0].run.path / "run.json").read_text())
    assert info["stack"]["size"] == 4  # 240 rows: four folds of 60, one stack
    assert info["data"]["n_train"] == 180 and info["data"]["n_val"] == 60
    for k, o in enumerate(together):
        alone = train_config(config.fold(cfg, k, 4), tmp_path / "b")
        for split in ("train", "val", "test"):
            for key, value in getattr(alone.metrics, split).items():
                assert getattr(o.metrics, split)[key] == pytest.approx(value, abs=2e-5), (k, key)
        assert o.metrics.epochs_run == alone.metrics.epochs_run
        saved = yaml.safe_load((o.run.path / "config.yaml").read_text())
        assert saved["data"]["cv"] == {"folds": 4, "fold": k}
    vals = [o.metrics.val["accuracy"] for o in together]
    assert len(set(vals)) > 1  # four different validation sets


@pytest.mark.slow
def test_a_cross_validated_search_best_refit_and_export(write, tmp_path):
    grid_file = write(
        "g.yaml",
        """
name: cvgrid
seed: 1
data: {kind: moons, n_samples: 303, noise: 0.2}
model: {layers: [8]}
train: {epochs: 6, batch_size: 32, learning_rate: 0.02, early_stopping: {patience: 2}}
search:
  cv: 4
  objective: val_accuracy
  params: {model.activation: [relu, tanh]}
""",
    )
    runs_dir = tmp_path / "runs"
    result = invoke("search", grid_file, "--runs-dir", runs_dir, "--format", "json")
    assert result.exit_code == 0, result.output
    folder = runs_dir / "cvgrid"
    names = sorted(p.name for p in (folder / "trials").iterdir())
    assert names == [f"t00{t}-f{k}" for t in range(2) for k in range(4)]
    rows = list(__import__("csv").DictReader((folder / "results.csv").open()))
    for row in rows:  # the score is the mean over the folds
        scores = [
            json.loads((folder / "trials" / f"{row['trial']}-f{k}" / "metrics.json").read_text())[
                "val"
            ]["accuracy"]
            for k in range(4)
        ]
        assert float(row["score"]) == pytest.approx(np.mean(scores))
        assert float(row["score_std"]) == pytest.approx(np.std(scores, ddof=1))
    best = invoke("best", folder, "--format", "json")
    chosen = json.loads(best.stdout)[0]
    assert chosen["folds"] == 4 and chosen["config"]["data"]["cv"] is None
    report = invoke("report", runs_dir, "--format", "json", "--no-html")
    assert report.exit_code == 0, report.output
    # refit: trained on train+validation for the folds' mean chosen epochs
    epochs = [
        json.loads((folder / "trials" / f"{chosen['trial']}-f{k}" / "metrics.json").read_text())[
            "best_epoch"
        ]
        for k in range(4)
    ]
    refit = invoke(
        "train", "--from", folder, "--refit", "--runs-dir", tmp_path / "r", "--format", "json"
    )
    assert refit.exit_code == 0, refit.output
    record = json.loads(refit.stdout)
    saved = yaml.safe_load((tmp_path / "r" / record["id"] / "config.yaml").read_text())
    assert saved["train"]["epochs"] == max(1, round(sum(epochs) / 4))
    assert saved["data"]["cv"] is None and saved["data"]["val_size"] == 0
    # a fold's exported script validates on the same rows
    fold_run = folder / "trials" / f"{chosen['trial']}-f2"
    script = tmp_path / "fold.py"
    assert invoke("export", fold_run, "--out", script).exit_code == 0
    out = subprocess.run(
        [sys.executable, str(script)], capture_output=True, text=True, cwd=tmp_path, check=True
    )
    test = eval(out.stdout.strip().splitlines()[-1].removeprefix("test: "))  # noqa: S307
    metrics = json.loads((fold_run / "metrics.json").read_text())
    assert test["accuracy"] == pytest.approx(metrics["test"]["accuracy"], abs=1e-6)


@pytest.mark.slow
def test_train_cv_prints_mean_and_std(tiny, tmp_path):
    result = invoke("train", tiny, "--cv", "3", "--runs-dir", tmp_path / "runs", "--format", "json")
    assert result.exit_code == 0, result.output
    out = json.loads(result.stdout)
    assert out["folds"] == 3 and len(out["runs"]) == 3
    assert out["std"]["val"]["accuracy"] is not None
    names = sorted(p.name.split("-")[-2] for p in (tmp_path / "runs").iterdir())
    assert names == ["f0", "f1", "f2"]


def test_train_cv_bad_input(tiny, tmp_path):
    for args, message in [
        (["--cv", "1"], "1 is not in the range 2<=x<=20"),
        (["--cv", "3", "--repeats", "2"], "--cv: cannot be combined with --repeats"),
        (["--cv", "3", "--set", "data.n_samples=3"], "3 folds need at least 3"),
    ]:
        result = invoke("train", tiny, "--runs-dir", tmp_path / "runs", *args)
        assert result.exit_code == 2 and message in result.stderr, (args, result.output)
    assert not (tmp_path / "runs").exists() or not any((tmp_path / "runs").iterdir())


@pytest.mark.slow
def test_regression_folds_stacked_train_as_each_fold_alone(tmp_path):
    """A regression's folds are plain KFold splits, each with its own target scale (the
    mean and std of its own training rows) for its loss and its output, and stacked
    they give what each fold trained alone gives."""
    from dlexp.train.fit import train_config
    from dlexp.train.stack import train_folds

    cfg = config.resolve(
        {
            "seed": 2,
            "data": {"kind": "playground", "dataset": "reg-gauss", "n_samples": 150},
            "model": {"layers": [6, 3], "activation": "tanh"},
            "train": {"epochs": 3, "batch_size": 16, "early_stopping": False},
        }
    )
    cfg["name"] = "rcv"
    folds = [data.load(config.fold(cfg, k, 3)["data"], cfg["seed"]) for k in range(3)]
    means = {round(float(d.target_scale[0][0]), 6) for d in folds}
    assert len(means) == 3  # each fold standardizes its target by its own rows
    together = train_folds(cfg, tmp_path / "a", 3)
    assert [o.status for o in together] == [runs.Status.COMPLETED] * 3
    info = json.loads((together[0].run.path / "run.json").read_text())
    assert info["stack"]["size"] == 3 and info["data"]["task"] == "regression"
    for k, o in enumerate(together):
        alone = train_config(config.fold(cfg, k, 3), tmp_path / "b")
        for split in ("train", "val", "test"):
            mine = getattr(o.metrics, split)
            assert set(mine) == {"loss", "rmse", "r2"}
            for key, value in getattr(alone.metrics, split).items():
                assert mine[key] == pytest.approx(value, rel=1e-4, abs=2e-5), (k, split, key)


def test_regression_folds_are_plain_kfold():
    """Numbers are not classes: a regression's folds are KFold's, even when its
    targets happen to be whole numbers, and loading them never counts classes."""
    from sklearn.model_selection import KFold

    y = (np.arange(30) % 3).astype(np.float32).reshape(-1, 1)
    folds = data.fold_indices(y, 3, seed=4, stratify=False)
    expected = KFold(3, shuffle=True, random_state=4).split(np.zeros(30))
    for (train, val), (a, b) in zip(folds, expected, strict=True):
        assert (train == np.sort(a)).all() and (val == np.sort(b)).all()
    cfg = config.resolve(
        {"seed": 2, "data": {"kind": "playground", "dataset": "reg-plane", "n_samples": 90}}
    )
    whole = data.load(cfg["data"], cfg["seed"])
    fold = data.load(config.fold(cfg, 1, 3)["data"], cfg["seed"])
    assert fold.y_val.dtype == np.float32 and fold.y_val.shape[1] == 1
    assert (fold.x_test == whole.x_test).all()
    assert len(fold.x_train) + len(fold.x_val) == len(whole.x_train) + len(whole.x_val)
