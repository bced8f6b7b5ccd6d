"""dlexp export: a standalone Keras script that trains as the run did, SavedModel and
TFLite that predict as model.keras does, and destinations checked before any work."""

import json
from pathlib import Path

import pytest
from helpers import invoke, one_line


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


# the new data kinds: Playground's (its generator inlined), scikit-learn's bundled sets
# (load_*), a CSV regressed; regression with TargetScale and the standardized loss in
# plain Keras. Small, so that dlexp's run and the script's train in a few seconds.
NEW_KINDS = {
    "reg-plane": "data: {kind: playground, dataset: reg-plane, n_samples: 200, noise: 0.1}\n"
    "model: {layers: [4, 2], activation: tanh}\n"
    "train: {optimizer: sgd, learning_rate: 0.03, batch_size: 10, epochs: 4}\n",
    "reg-gauss-cv": "data: {kind: playground, dataset: reg-gauss, n_samples: 150, "
    "extra_features: [cos(x1), x1*x2], standardize: true, cv: {folds: 3, fold: 1}}\n"
    "model: {layers: [4]}\ntrain: {epochs: 3, metrics: [mae, r2], loss: huber}\n",
    "diabetes": "data: {kind: diabetes, standardize: true}\nmodel: {layers: [8]}\n"
    "train: {epochs: 3}\n",
    "iris": "data: {kind: iris, standardize: true}\nmodel: {layers: [8]}\ntrain: {epochs: 3}\n",
    "spiral": "data: {kind: playground, dataset: spiral, n_samples: 200, noise: 0.2}\n"
    "model: {layers: [6]}\ntrain: {epochs: 3}\n",
    "csv-two": "data: {kind: csv, path: two.csv, target: [up, down]}\nmodel: {layers: [4]}\n"
    "train: {epochs: 3}\n",
}


@pytest.mark.slow
@pytest.mark.parametrize("kind", list(NEW_KINDS))
def test_an_exported_script_reproduces_a_new_kinds_metrics(tmp_path, kind):
    import ast
    import subprocess
    import sys

    import numpy as np

    x = np.random.RandomState(0).uniform(-1, 1, (100, 2))
    rows = [f"{p},{q},{p * q + 5},{30 * (p - q)}" for p, q in x]
    (tmp_path / "two.csv").write_text("a,b,up,down\n" + "\n".join(rows) + "\n")
    (tmp_path / "c.yaml").write_text("seed: 3\n" + NEW_KINDS[kind])
    result = invoke(
        "train", tmp_path / "c.yaml", "--runs-dir", tmp_path / "r", "-q", "--format", "json"
    )
    assert result.exit_code == 0, result.output
    run = tmp_path / "r" / json.loads(result.stdout)["id"]
    script = tmp_path / "run.py"
    assert invoke("export", run, "--format", "python", "--out", script).exit_code == 0
    text = script.read_text()
    assert "dlexp" not in text.split('"""', 2)[2]  # standalone: no dlexp import or use
    out = subprocess.run(
        [sys.executable, str(script)], capture_output=True, text=True, cwd=tmp_path
    )
    assert out.returncode == 0, out.stderr[-2000:]
    test = ast.literal_eval(out.stdout.strip().splitlines()[-1].removeprefix("test: "))
    want = json.loads((run / "metrics.json").read_text())["test"]
    assert set(test) == set(want)
    for name, value in want.items():
        assert test[name] == pytest.approx(value, rel=1e-4, abs=1e-6), name


def test_export_bad_input(runs_dir, tmp_path):
    result = invoke("export", runs_dir / "tinygrid")
    assert result.exit_code == 2 and "not a run folder" in result.stderr


@pytest.mark.slow
@pytest.mark.parametrize("kind", ["moons", "reg-plane"])
def test_savedmodel_and_tflite_exports_predict_as_the_model_does(tiny, tmp_path, kind):
    import subprocess
    import sys

    if kind == "reg-plane":  # a regression: TargetScale, the last layer, goes with it
        tiny.write_text("seed: 1\n" + NEW_KINDS["reg-plane"])
    result = invoke("train", tiny, "--runs-dir", tmp_path / "r", "--format", "json", "-q")
    run = tmp_path / "r" / json.loads(result.stdout)["id"]
    for fmt, out in (("savedmodel", tmp_path / "sm"), ("tflite", tmp_path / "m.tflite")):
        result = invoke("export", run, "--format", fmt, "--out", out)
        assert result.exit_code == 0, result.output
    assert invoke("export", run, "--format", "tflite").exit_code == 2  # --out is needed
    check = f"""
import numpy as np, dlexp.train.fit, keras
import dlexp.model.layers  # registers TargetScale and StandardizedLoss for load_model
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


@pytest.mark.parametrize("fmt", ["python", "savedmodel", "tflite"])
def test_every_export_format_checks_its_destination_before_any_work(run, tmp_path, fmt):
    afile = tmp_path / "afile"
    afile.write_text("")
    readonly = Path("/proc/dlexp-export")  # a file system nobody writes, root included
    name = {"python": "x.py", "savedmodel": "sm", "tflite": "x.tflite"}[fmt]
    model = run / "model.keras"
    model.write_bytes(b"not reached: the destination is checked first")
    for out in (afile / name, readonly / name):
        result = invoke("export", run, "--format", fmt, "--out", out)
        assert result.exit_code == 2, result.output
        line = one_line(result)
        assert (
            line.startswith(f"Error: --out: cannot write '{out}' (") and "model.keras" not in line
        )
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(["afile", run.name])


def test_the_exported_script_names_itself_in_its_docstring(run, tmp_path):
    out = tmp_path / "my_model.py"
    assert invoke("export", run, "--out", out).exit_code == 0
    doc = out.read_text().split('"""')[1]
    assert "`python my_model.py [EPOCHS]`" in doc and f"{run.name}.py" not in doc
    printed = invoke("export", run).stdout
    assert "`python FILE.py [EPOCHS]`" in printed.split('"""')[1]


@pytest.mark.slow
def test_the_exported_script_runs_without_tensorflow_chatter(run, tmp_path):
    import subprocess
    import sys

    out = tmp_path / "my_model.py"
    assert invoke("export", run, "--out", out).exit_code == 0
    env = {k: v for k, v in __import__("os").environ.items() if not k.startswith("TF_")}
    done = subprocess.run(
        [sys.executable, str(out), "2"], capture_output=True, text=True, cwd=tmp_path, env=env
    )
    assert done.returncode == 0, done.stderr
    assert "Epoch 2/2" in done.stdout and done.stdout.splitlines()[-1].startswith("test: ")
    assert done.stderr == ""  # no "I0000 ... cudart_stub.cc", no absl::InitializeLog warning
