"""From a search to a model in use: dlexp best, train --from/--refit, predict, diff."""

import csv
import io
import json
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner

from dlexp import config
from dlexp.cli import cli

FIXTURES = Path(__file__).parent / "fixtures" / "runs"


def invoke(*args):
    return CliRunner().invoke(cli, [str(a) for a in args])


def test_best_prints_a_config_train_accepts(runs_dir, tmp_path):
    result = invoke("best", runs_dir / "tinygrid")
    assert result.exit_code == 0, result.output
    assert result.stdout.startswith("# t000: val_accuracy ")
    assert "mean of 2 repeats" in result.stdout.splitlines()[0]
    cfg = yaml.safe_load(result.stdout)
    assert cfg["name"] == "tinygrid-t000" and cfg["seed"] == 7 and "search" not in cfg
    assert config.resolve(cfg)["model"]["first_neuron"] == 4
    top = json.loads(invoke("best", runs_dir / "tinygrid", "--top", "3", "--format", "json").stdout)
    assert [t["trial"] for t in top][:1] == ["t000"] and len(top) == 3
    assert top[0]["score"] >= top[1]["score"] >= top[2]["score"]
    docs = list(yaml.safe_load_all(invoke("best", runs_dir / "tinygrid", "--top", "2").stdout))
    assert [d["name"] for d in docs] == ["tinygrid-t000", "tinygrid-t002"]


def test_best_bad_input(runs_dir):
    result = invoke("best", runs_dir / "20260101-000000-plain-aaaaaa")
    assert (
        result.exit_code == 2 and "not a search folder (it holds no search.yaml)" in result.stderr
    )
    for info in (runs_dir / "tinygrid" / "trials").glob("*/run.json"):
        data = json.loads(info.read_text())
        info.write_text(json.dumps({**data, "status": "failed"}))
    result = invoke("best", runs_dir / "tinygrid")
    assert result.exit_code == 2 and "no trial has completed with a score" in result.stderr


def test_diff_says_what_differs(runs_dir):
    a, b = (
        runs_dir / "20260101-000000-plain-aaaaaa",
        runs_dir / "20260101-000001-regularized-bbbbbb",
    )
    result = json.loads(invoke("diff", a, b, "--format", "json").stdout)
    keys = {row["key"]: (row["a"], row["b"]) for row in result["config"]}
    assert keys == {"model.dropout": (0.0, 0.2), "model.l2": (0.0, 0.01)}
    assert result["versions"] == []
    test = next(m for m in result["metrics"] if m["key"] == "test_accuracy")
    assert test["delta"] == pytest.approx(test["b"] - test["a"])
    text = invoke("diff", a, b)
    assert text.exit_code == 0 and "model.dropout" in text.stdout and "B - A" in text.stdout
    assert invoke("diff", a, runs_dir / "nope").exit_code == 2


def test_predict_bad_input(runs_dir):
    plain = runs_dir / "20260101-000000-plain-aaaaaa"
    result = invoke("predict", plain, "--points", "1,2")
    assert result.exit_code == 2 and "has no model.keras" in result.stderr
    result = invoke("predict", runs_dir, "--points", "1,2")
    assert result.exit_code == 2 and "not a run folder" in result.stderr


def test_from_a_search_to_a_model_in_use(runs_dir, tmp_path):
    """search -> best -> train --from SEARCH --refit -> predict, on real (tiny) runs."""
    fresh = tmp_path / "fresh"
    result = invoke(
        "train", "--from", runs_dir / "tinygrid", "--runs-dir", fresh, "-q", "--format", "json"
    )
    assert result.exit_code == 0, result.output
    again = json.loads(result.stdout)
    trial = json.loads((runs_dir / "tinygrid" / "trials" / "t000-r0" / "metrics.json").read_text())
    # the best point's first repeat, trained again: the same metrics (to float rounding)
    assert again["val"]["accuracy"] == pytest.approx(trial["val"]["accuracy"], abs=1e-6)
    result = invoke(
        "train",
        "--from",
        runs_dir / "tinygrid",
        "--refit",
        "--runs-dir",
        fresh,
        "-q",
        "--format",
        "json",
    )
    assert result.exit_code == 0, result.output
    refit = json.loads(result.stdout)
    assert refit["epochs_run"] == 8 and "val" not in refit and "test" in refit
    cfg = yaml.safe_load((fresh / refit["id"] / "config.yaml").read_text())
    assert cfg["data"]["val_size"] == 0 and cfg["name"] == "tinygrid-t000-refit"
    run = fresh / refit["id"]
    out = invoke("predict", run, "--points", "0.5,-0.2;1,0")
    rows = list(csv.DictReader(io.StringIO(out.stdout)))
    assert out.exit_code == 0 and [r["x1"] for r in rows] == ["0.5", "1.0"]
    for r in rows:
        p0, p1 = float(r["proba_0"]), float(r["proba_1"])
        assert p0 + p1 == pytest.approx(1) and r["predicted"] == ("1" if p1 > p0 else "0")
    points = tmp_path / "p.csv"
    points.write_text("x2,note,x1\n-0.2,a,0.5\n0,b,1\n")
    by_name = json.loads(invoke("predict", run, "--input", points, "--format", "json").stdout)
    assert [r["proba_1"] for r in by_name] == [float(r["proba_1"]) for r in rows]
    for args, message in [
        (["--points", "1,2,3"], "expected 2 numbers, got 3"),
        (["--points", "1,x"], "expected a number, got 'x'"),
        (["--input", runs_dir / "nope.csv"], "not a regular file"),
        (["--points", "1,2", "--input", points], "give either --points or --input"),
    ]:
        result = invoke("predict", run, *args)
        assert result.exit_code == 2 and message in result.stderr, result.stderr
    bad = tmp_path / "bad.csv"
    bad.write_text("x1,y\n1,2\n")
    result = invoke("predict", run, "--input", bad)
    assert result.exit_code == 2 and "no column 'x2'" in result.stderr


def test_train_from_bad_input(runs_dir, tiny, tmp_path):
    result = invoke("train", "--runs-dir", tmp_path / "r")
    assert result.exit_code == 2 and "give a CONFIG file or --from" in result.stderr
    result = invoke("train", tiny, "--refit", "--runs-dir", tmp_path / "r")
    assert result.exit_code == 2 and "--refit: needs --from" in result.stderr
    result = invoke("train", "--from", tmp_path / "nope", "--runs-dir", tmp_path / "r")
    assert result.exit_code == 2 and "--from: " in result.stderr and "no such run" in result.stderr
    assert not (tmp_path / "r").exists()


def test_compare_trains_paired_seeds_and_gives_a_verdict(write, tmp_path):
    base = (
        "seed: 1\ndata: {kind: moons, n_samples: 300}\nmodel: {layers: [4]}\n"
        "train: {epochs: 20, early_stopping: false, learning_rate: LR}\n"
    )
    a = write("a.yaml", base.replace("LR", "0.0001"))
    b = write("b.yaml", base.replace("LR", "0.1"))
    result = invoke(
        "compare", a, b, "--repeats", "3", "--runs-dir", tmp_path / "r", "--format", "json"
    )
    assert result.exit_code == 0, result.output
    out = json.loads(result.stdout)
    val = next(m for m in out["metrics"] if m["metric"] == "val_loss")
    assert val["n"] == 3 and val["ci95"][0] <= val["diff"] <= val["ci95"][1]
    assert val["diff"] < 0  # the larger learning rate fits 20 epochs better
    acc = next(m for m in out["metrics"] if m["metric"] == "val_accuracy")
    significant = not acc["ci95"][0] <= 0 <= acc["ci95"][1]
    expected = "B is better on val_accuracy" if significant else "no difference detectable"
    assert out["verdict"].startswith(expected), out["verdict"]
    seeds = [json.loads((Path(p) / "run.json").read_text())["seed"] for p in out["runs"]["b"]]
    assert seeds == [1, 2, 3]
    same = json.loads(
        invoke(
            "compare", a, a, "--repeats", "2", "--runs-dir", tmp_path / "s", "--format", "json"
        ).stdout
    )
    assert same["verdict"].startswith("no difference detectable")
    assert all(m["diff"] == 0 for m in same["metrics"])
    result = invoke("compare", a, b, "--repeats", "1")
    assert result.exit_code == 2 and "--repeats" in result.stderr
    result = invoke("compare", a, tmp_path / "nope.yaml", "--runs-dir", tmp_path / "t")
    assert result.exit_code == 2 and "nope.yaml: file not found" in result.stderr


def _events(folder: Path) -> list:
    """The events of a folder's event file (TFRecord framing, read by hand)."""
    import struct

    from tensorboard.compat.proto import event_pb2

    out = []
    for path in folder.glob("events.out.tfevents.*"):
        data = path.read_bytes()
        i = 0
        while i < len(data):
            (length,) = struct.unpack("<Q", data[i : i + 8])
            out.append(event_pb2.Event.FromString(data[i + 12 : i + 12 + length]))
            i += 12 + length + 4
    return out


def test_tensorboard_logs_with_hparams_without_tensorflow(runs_dir, tmp_path):
    import subprocess
    import sys

    logdir = tmp_path / "tb"
    search = str(runs_dir / "tinygrid")
    code = (
        "import sys\nfrom pathlib import Path\nfrom dlexp.use import tensorboard\n"
        f"n = tensorboard.write_search(Path({search!r}), Path({str(logdir)!r}))\n"
        "print('RUNS', n, 'TF', 'tensorflow' in sys.modules)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert "RUNS 8 TF False" in out.stdout
    session = _events(logdir / "tinygrid" / "t000-r0")
    train = _events(logdir / "tinygrid" / "t000-r0" / "train")
    scalars = {v.tag for e in train for v in e.summary.value if v.HasField("simple_value")}
    assert {"epoch_loss", "epoch_accuracy", "epoch_learning_rate"} <= scalars
    finals = {v.tag for e in session for v in e.summary.value if v.HasField("simple_value")}
    assert "final/val_accuracy" in finals
    steps = sorted(e.step for e in train for v in e.summary.value if v.tag == "epoch_loss")
    assert steps == list(range(8))  # one per epoch, from 0 as Keras' callback
    plugins = {v.metadata.plugin_data.plugin_name for e in session for v in e.summary.value}
    assert "hparams" in plugins
    config = _events(logdir / "tinygrid")
    assert any(v.tag == "_hparams_/experiment" for e in config for v in e.summary.value)


def test_train_with_tensorboard(tiny, tmp_path):
    result = invoke(
        "train",
        tiny,
        "--runs-dir",
        tmp_path / "r",
        "--tensorboard",
        tmp_path / "tb",
        "--format",
        "json",
    )
    assert result.exit_code == 0, result.output
    run_id = json.loads(result.stdout)["id"]
    for split in ("train", "validation"):
        tags = {v.tag for e in _events(tmp_path / "tb" / run_id / split) for v in e.summary.value}
        assert "epoch_loss" in tags
    result = invoke("train", tiny, "--runs-dir", tmp_path / "r2", "--tensorboard", "/sys/tb")
    assert result.exit_code == 2 and "--tensorboard: cannot write in '/sys/tb'" in result.stderr
    assert not (tmp_path / "r2").exists()


@pytest.mark.slow
@pytest.mark.parametrize("run", ["20260101-000000-plain-aaaaaa", "20260101-000002-blobs-cccccc"])
def test_an_exported_script_trains_as_the_run_did(runs_dir, tmp_path, run):
    import ast
    import subprocess
    import sys

    script = tmp_path / "run.py"
    result = invoke("export", runs_dir / run, "--format", "python", "--out", script)
    assert result.exit_code == 0, result.output
    assert "dlexp" not in script.read_text().split('"""', 2)[2]  # no dlexp import or use
    out = subprocess.run(
        [sys.executable, str(script)], capture_output=True, text=True, cwd=tmp_path, check=True
    )
    test = ast.literal_eval(out.stdout.strip().splitlines()[-1].removeprefix("test: "))
    metrics = json.loads((runs_dir / run / "metrics.json").read_text())
    assert test["accuracy"] == pytest.approx(metrics["test"]["accuracy"], abs=1e-6)
    assert test["loss"] == pytest.approx(metrics["test"]["loss"], rel=1e-4)
    quick = subprocess.run(
        [sys.executable, str(script), "2"], capture_output=True, text=True, cwd=tmp_path, check=True
    )
    assert "Epoch 2/2" in quick.stdout


def test_export_bad_input(runs_dir, tmp_path):
    result = invoke("export", runs_dir / "tinygrid")
    assert result.exit_code == 2 and "not a run folder" in result.stderr


@pytest.mark.slow
def test_savedmodel_and_tflite_exports_predict_as_the_model_does(tiny, tmp_path):
    import subprocess
    import sys

    result = invoke("train", tiny, "--runs-dir", tmp_path / "r", "--format", "json", "-q")
    run = tmp_path / "r" / json.loads(result.stdout)["id"]
    for fmt, out in (("savedmodel", tmp_path / "sm"), ("tflite", tmp_path / "m.tflite")):
        result = invoke("export", run, "--format", fmt, "--out", out)
        assert result.exit_code == 0, result.output
    assert invoke("export", run, "--format", "tflite").exit_code == 2  # --out is needed
    check = f"""
import numpy as np, dlexp.train.fit, keras
x = np.array([[0.5, -0.2], [1, 0], [-1, 0.5]], np.float32)
want = keras.models.load_model({str(run / "model.keras")!r}).predict(x, verbose=0)
import tensorflow as tf
saved = tf.saved_model.load({str(tmp_path / "sm")!r})  # held: serve uses its variables
got = np.asarray(saved.serve(x))
interp = tf.lite.Interpreter(model_path={str(tmp_path / "m.tflite")!r})
i, o = interp.get_input_details()[0], interp.get_output_details()[0]
interp.resize_tensor_input(i["index"], x.shape)
interp.allocate_tensors()
interp.set_tensor(i["index"], x)
interp.invoke()
lite = interp.get_tensor(o["index"])
print("OK", np.abs(got - want).max() < 1e-5, np.abs(lite - want).max() < 1e-5)
"""
    out = subprocess.run([sys.executable, "-c", check], capture_output=True, text=True, check=True)
    assert "OK True True" in out.stdout


def test_best_and_diff_never_import_keras(runs_dir):
    import subprocess
    import sys

    grid, a = runs_dir / "tinygrid", runs_dir / "20260101-000000-plain-aaaaaa"
    code = (
        "import sys\nfrom dlexp.cli import cli\n"
        f"for args in (['best', {str(grid)!r}], ['diff', {str(a)!r}, {str(a)!r}]):\n"
        "    try: cli(args)\n    except SystemExit as e: assert not e.code, e.code\n"
        "heavy = ('tensorflow', 'keras', 'jax', 'keras_tuner')\n"
        "print('HEAVY', [m for m in heavy if m in sys.modules])\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert "HEAVY []" in out.stdout
