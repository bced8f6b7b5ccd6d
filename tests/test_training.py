"""Real, tiny training runs: the run folder, reproducibility, and how runs end."""

import csv
import json
import os
import signal
import subprocess
import sys
import time

import numpy as np
import pytest
import yaml
from helpers import TINY

from dlexp import config
from dlexp.runs import folder as runs
from dlexp.train import fit as training

pytestmark = pytest.mark.slow


def cfg_from(text=TINY, **sets):
    raw = yaml.safe_load(text)
    cfg = config.resolve(config.apply_overrides(raw, list(sets.items())))
    cfg["name"] = "t"
    return cfg


def train(tmp_path, cfg, on_epoch=None):
    return training.train_config(cfg, tmp_path, on_epoch=on_epoch)


def read_history(run):
    with open(run.file("history.csv")) as f:
        return list(csv.DictReader(f))


def test_run_folder(tmp_path):
    out = train(tmp_path, cfg_from())
    assert out.status == "completed" and out.exit_code == 0
    files = {p.name for p in out.run.path.iterdir()}
    assert files == {
        "config.yaml",
        "run.json",
        "history.csv",
        "metrics.json",
        "model.keras",
        "boundary.npz",
        "predictions.npz",
        "learning.npz",
    }
    resolved = config.load(out.run.file("config.yaml"))
    assert resolved == {**cfg_from(), "name": "t"}
    m = json.loads(out.run.file("metrics.json").read_text())
    assert m["params"] == 2 * 8 + 8 + 8 + 1 and m["epochs_run"] == 3
    assert m["stopped_early"] is False and 1 <= m["best_epoch"] <= 3
    for split in ("train", "val", "test"):
        assert set(m[split]) == {"loss", "accuracy"}
        assert 0 <= m[split]["accuracy"] <= 1
    rows = read_history(out.run)
    assert [r["epoch"] for r in rows] == ["1", "2", "3"]
    assert list(rows[0]) == [
        "epoch",
        "loss",
        "accuracy",
        "val_loss",
        "val_accuracy",
        "learning_rate",
        "seconds",
    ]
    info = json.loads(out.run.file("run.json").read_text())
    assert info["status"] == "completed" and info["seed"] == 1
    assert info["versions"]["keras"] and info["versions"]["python"]
    assert info["duration_s"] > 0 and info["started"] <= info["ended"]
    b = runs.read_npz(out.run.file("boundary.npz"))  # decoded: packed as uint8
    assert b["proba"].shape == (120, 120, 1) and b["x_train"].shape[1] == 2
    assert 0 <= b["proba"].min() and b["proba"].max() <= 1
    # no temporary file is left behind
    assert not [p for p in out.run.path.iterdir() if p.name.startswith(".")]


def test_model_file_reloads_and_predicts(tmp_path):
    import keras

    out = train(tmp_path, cfg_from())
    model = keras.models.load_model(out.run.file("model.keras"))
    assert model.predict(np.zeros((4, 2), np.float32), verbose=0).shape == (4, 1)


def test_same_seed_same_metrics_other_seed_other_metrics(tmp_path):
    cfg = cfg_from(**{"model.dropout": 0.2, "model.input_noise": 0.05})
    a, b = train(tmp_path, cfg), train(tmp_path, cfg)
    assert a.run.path != b.run.path
    for key in ("train", "val", "test", "best_epoch", "epochs_run"):
        assert getattr(a.metrics, key) == getattr(b.metrics, key)
    strip = lambda rows: [{k: v for k, v in r.items() if k != "seconds"} for r in rows]  # noqa: E731
    assert strip(read_history(a.run)) == strip(read_history(b.run))
    c = train(tmp_path, {**cfg, "seed": 2})
    assert c.metrics.train != a.metrics.train


def test_early_stopping_restores_best_weights(tmp_path):
    cfg = cfg_from(
        **{"train.epochs": 60, "train.learning_rate": 0.05, "train.early_stopping": {"patience": 3}}
    )
    out = train(tmp_path, cfg)
    m = out.metrics.to_json()
    assert m["stopped_early"] and m["epochs_run"] < 60
    rows = read_history(out.run)
    best = min(rows, key=lambda r: float(r["val_loss"]))
    assert int(best["epoch"]) == m["best_epoch"]
    assert m["val"]["loss"] == pytest.approx(float(best["val_loss"]), rel=1e-4)


def test_multiclass_with_every_metric(tmp_path):
    cfg = cfg_from(
        **{
            "data.kind": "blobs",
            "data.classes": 4,
            "train.metrics": ["accuracy", "f1", "precision", "recall", "auc"],
            "train.lr_schedule": {"kind": "exponential", "rate": 0.5},
        }
    )
    out = train(tmp_path, cfg)
    assert out.status == "completed"
    assert list(out.metrics.test) == ["loss", "accuracy", "auc", "f1", "precision", "recall"]
    lrs = [float(r["learning_rate"]) for r in read_history(out.run)]
    assert lrs[0] > lrs[1] > lrs[2]
    assert runs.read_npz(out.run.file("boundary.npz"))["proba"].shape == (120, 120, 4)


def test_divergence_is_recorded_not_raised(tmp_path):
    cfg = cfg_from(
        **{
            "model.activation": "linear",
            "model.output_activation": "linear",
            "train.loss": "mse",
            "train.optimizer": "sgd",
            "train.learning_rate": 1e12,
            "train.epochs": 20,
        }
    )
    out = train(tmp_path, cfg)
    assert out.status == "diverged" and out.exit_code == 1
    assert out.metrics.epochs_run < 20
    info = json.loads(out.run.file("run.json").read_text())
    assert info["status"] == "diverged" and "loss became" in info["error"]
    json.loads(out.run.file("metrics.json").read_text())  # strict JSON: NaN written as null


def test_interrupt_keeps_history_and_marks_run(tmp_path):
    def stop_at_2(epoch, row):
        if epoch == 2:
            raise KeyboardInterrupt

    out = train(tmp_path, cfg_from(**{"train.epochs": 10}), on_epoch=stop_at_2)
    assert out.status == "interrupted" and out.exit_code == 130
    assert len(read_history(out.run)) == 2
    assert json.loads(out.run.file("run.json").read_text())["status"] == "interrupted"


def test_failure_is_recorded(tmp_path):
    def boom(epoch, row):
        raise RuntimeError("disk on fire")

    out = train(tmp_path, cfg_from(), on_epoch=boom)
    assert out.status == "failed" and out.exit_code == 1
    info = json.loads(out.run.file("run.json").read_text())
    assert info["error"] == "RuntimeError: disk on fire" and "Traceback" in info["traceback"]


def test_ctrl_c_on_the_real_command(tmp_path, write):
    cfg = write("long.yaml", TINY.replace("epochs: 3", "epochs: 100000"))
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "dlexp.cli",
            "train",
            str(cfg),
            "-q",
            "--runs-dir",
            str(tmp_path / "runs"),
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    deadline = time.time() + 120
    history = None
    while time.time() < deadline and history is None:
        found = list((tmp_path / "runs").glob("*/history.csv"))
        history = found[0] if found else None
        time.sleep(0.2)
    assert history is not None, proc.communicate()
    time.sleep(0.5)
    proc.send_signal(signal.SIGINT)
    stdout, stderr = proc.communicate(timeout=60)
    assert proc.returncode == 130, stderr
    assert "interrupted" in stdout
    run = history.parent
    assert json.loads((run / "run.json").read_text())["status"] == "interrupted"
    assert len(read_history(runs.Run(run))) >= 1


def test_run_ids_unique_across_processes(tmp_path):
    code = (
        "import sys; from dlexp.runs.folder import create_run\n"
        "print('\\n'.join(create_run(sys.argv[1], 'same').id for _ in range(50)))"
    )
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", code, str(tmp_path)], stdout=subprocess.PIPE, text=True
        )
        for _ in range(4)
    ]
    ids = [i for p in procs for i in p.communicate()[0].split()]
    assert len(ids) == 200 and len(set(ids)) == 200
    assert len(os.listdir(tmp_path)) == 200


def test_a_failure_after_training_ends_the_run_failed(tmp_path, monkeypatch):
    import errno

    def full(self, model, name="model.keras"):
        raise OSError(errno.ENOSPC, "No space left on device", str(self.file(name)))

    monkeypatch.setattr(runs.Run, "save_model", full)
    out = train(tmp_path, cfg_from())
    assert out.status == "failed" and out.exit_code == 1
    assert (
        out.error.startswith("no space left on the device writing ") and "model.keras" in out.error
    )
    info = json.loads(out.run.file("run.json").read_text())
    assert (
        info["status"] == "failed" and info["error"] == out.error and info["pid"] and info["host"]
    )


def test_an_interrupted_run_keeps_its_last_weights_and_metrics(tmp_path):
    def stop_at_2(epoch, row):
        if epoch == 2:
            raise KeyboardInterrupt

    out = train(tmp_path, cfg_from(**{"train.epochs": 10}), on_epoch=stop_at_2)
    assert out.status == "interrupted" and out.run.file("model.keras").exists()
    record = runs.read_run(out.run.path)
    assert record.metric("val_loss") == record.history[-1]["val_loss"]
    assert record.metric("train_accuracy") == record.history[-1]["accuracy"]


def test_an_interrupt_a_library_swallowed_still_stops_the_run(tmp_path):
    """A Ctrl-C that lands in a bare `except:` (JAX and Keras compile inside some) is
    lost as an exception, but the flag the signal handler set stops the run after the
    epoch: interrupted, its history and last weights kept."""
    from dlexp.core import interrupt

    def swallowed(epoch, row):
        if epoch == 2:
            interrupt._requested.set()  # what the handler does before its raise is lost

    out = train(tmp_path, cfg_from(TINY.replace("epochs: 3", "epochs: 50")), on_epoch=swallowed)
    assert out.status == "interrupted" and out.metrics.epochs_run == 2
    assert out.run.file("model.keras").exists() and not interrupt.requested()


def test_the_signal_handler_raises_and_remembers(tmp_path):
    from dlexp.core import interrupt

    with interrupt.handled():
        with pytest.raises(KeyboardInterrupt):
            os.kill(os.getpid(), signal.SIGINT)
            time.sleep(1)  # the handler runs at the next bytecode
        assert interrupt.requested()
        with pytest.raises(KeyboardInterrupt):
            interrupt.check()
        interrupt.check()  # raised once: the flag is spent
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler


def test_weights_keras_holds_outside_the_model_are_put_back(tmp_path):
    """On JAX, Keras empties the model's variables (and the optimizer's) while an epoch
    trains; an interrupted run saves the host copy of the last epoch's instead, even
    when nothing else holds them any more (an interrupt as the next epoch began)."""
    from dlexp import data

    cfg = cfg_from()
    exp = training.prepare(cfg, data.load(cfg["data"], cfg["seed"]))
    run = runs.create_run(tmp_path, "t")
    model = exp.model
    kept = training.host_state(model)
    model._jax_state = None
    model._get_jax_state(
        trainable_variables=True, optimizer_variables=True, purge_model_variables=True
    )
    assert model.trainable_variables[0]._value is None  # emptied, as during an epoch
    training.keep_last_weights(model, run, kept)
    assert all((a == b).all() for a, b in zip(kept[0], model.get_weights(), strict=True))
    assert run.file("model.keras").exists()


def _numbers_csv(path, integers: bool):
    rng = np.random.RandomState(0)
    x = rng.uniform(-1, 1, (100, 2))
    y = 3 * x[:, 0] - x[:, 1] + 0.1 * rng.randn(100)
    cells = [f"{int(round(5 * v))}" if integers else f"{v:.4f}" for v in y]
    rows = [f"{p},{q},{v}\n" for (p, q), v in zip(x, cells, strict=True)]
    path.write_text("a,b,y\n" + "".join(rows))


def test_the_summary_says_auto_chose_regression_for_a_csv_of_numbers(tmp_path):
    from helpers import invoke

    _numbers_csv(tmp_path / "reals.csv", integers=False)
    _numbers_csv(tmp_path / "ints.csv", integers=True)
    body = "model: {layers: [4]}\ntrain: {epochs: 2, early_stopping: false}\n"
    (tmp_path / "auto.yaml").write_text(
        "seed: 1\ndata: {kind: csv, path: reals.csv, target: y}\n" + body
    )
    (tmp_path / "asked.yaml").write_text(
        "seed: 1\ndata: {kind: csv, path: ints.csv, target: y, task: regression}\n" + body
    )
    result = invoke("train", tmp_path / "auto.yaml", "--runs-dir", tmp_path / "r")
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert (
        "task: regression of y (auto: column 'y' holds numbers that are not all integers)" in lines
    )
    header = next(line for line in lines if line.startswith("split"))
    assert "rmse" in header and "r2" in header and "accuracy" not in header
    test = next(line for line in lines if line.startswith("test"))
    assert [float(cell) for cell in test.split("│")[1:]]  # loss, r2, rmse: all numbers
    assert len(test.split("│")) == 4
    result = invoke("train", tmp_path / "asked.yaml", "--runs-dir", tmp_path / "r")
    assert result.exit_code == 0, result.output
    assert "task: regression of y (data.task: regression of column 'y')" in result.stdout
    # a classification's summary says nothing of its task, as before
    (tmp_path / "cls.yaml").write_text(
        "seed: 1\ndata: {kind: csv, path: ints.csv, target: y}\n" + body
    )
    result = invoke("train", tmp_path / "cls.yaml", "--runs-dir", tmp_path / "r")
    assert result.exit_code == 0, result.output
    assert "task:" not in result.stdout and "accuracy" in result.stdout
    done = invoke(
        "train", tmp_path / "auto.yaml", "--runs-dir", tmp_path / "r", "--format", "json", "-q"
    )
    record = json.loads(done.stdout)
    assert set(record["test"]) == {"loss", "rmse", "r2"}
    info = json.loads((tmp_path / "r" / record["id"] / "run.json").read_text())["data"]
    assert info["task"] == "regression" and info["task_note"].startswith("auto: column 'y'")
