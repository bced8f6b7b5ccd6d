"""Damaged files read back and a model in use (issue 15): a truncated model.keras, a
garbage search.yaml, a damaged run in diff, a diverged model, an unwritable export
destination, a search still running, Ctrl-C as an epoch begins, the exported script."""

import json
import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner

from dlexp.cli import cli

TINY = """
seed: 1
data: {kind: moons, n_samples: 200, noise: 0.2}
model: {layers: [8]}
train: {epochs: 3, batch_size: 32, early_stopping: false}
"""


def invoke(*args):
    return CliRunner().invoke(cli, [str(a) for a in args])


def one_line(result) -> str:
    """stderr of a refused command: one line, no traceback."""
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in result.output, result.output
    return lines[0]


@pytest.fixture(scope="module")
def trained(tmp_path_factory) -> Path:
    """One tiny real run (3 epochs, moons), trained once for the module; tests copy it."""
    root = tmp_path_factory.mktemp("trained")
    (root / "tiny.yaml").write_text(TINY)
    result = invoke(
        "train", root / "tiny.yaml", "--runs-dir", root / "runs", "-q", "--format", "json"
    )
    assert result.exit_code == 0, result.output
    return root / "runs" / json.loads(result.stdout)["id"]


@pytest.fixture
def run(trained, tmp_path) -> Path:
    """A fresh copy of the trained run, free to damage."""
    return Path(shutil.copytree(trained, tmp_path / trained.name))


# -- 1. a truncated model.keras ---------------------------------------------------


def test_a_truncated_model_is_named_as_damaged_by_predict_and_export(run, tmp_path):
    model = run / "model.keras"
    model.write_bytes(model.read_bytes()[: model.stat().st_size // 2])
    result = invoke("predict", run, "--points", "0.5,0.2")
    assert result.exit_code == 2
    line = one_line(result)
    assert f"{model}: damaged or unreadable" in line and "train the run again" in line
    for fmt, out in (("savedmodel", tmp_path / "sm"), ("tflite", tmp_path / "m.tflite")):
        result = invoke("export", run, "--format", fmt, "--out", out)
        assert result.exit_code == 2, result.output
        assert f"{model}: damaged or unreadable" in one_line(result)
        assert not out.exists()
    assert not list(tmp_path.glob(".*tmp*"))


# -- 4. a diverged model; the class as the label's type ------------------------------


def test_predict_json_gives_the_class_with_the_labels_type(run):
    result = invoke("predict", run, "--points", "0.5,0.2;-1,0.5", "--format", "json")
    good = json.loads(result.stdout)
    assert [type(r["predicted"]) for r in good] == [int, int]
    assert all(r["predicted"] == int(r["proba_1"] > r["proba_0"]) for r in good)
    rows = invoke("predict", run, "--points", "0.5,0.2;-1,0.5").stdout.splitlines()
    assert [r.split(",")[-1] for r in rows[1:]] == [str(r["predicted"]) for r in good]


def test_label_value_keeps_the_labels_type():
    from dlexp.use.predict import label_value

    assert [label_value(c) for c in ("0", "12", "2.5", "setosa", "nan")] == [
        0,
        12,
        2.5,
        "setosa",
        "nan",
    ]


def test_predict_refuses_a_diverged_model(run):
    # the weights of a run whose loss became NaN, as TerminateOnNaN leaves them
    import keras
    import numpy as np

    import dlexp.train.fit  # noqa: F401 - Keras on dlexp's backend

    model = keras.models.load_model(run / "model.keras")
    model.set_weights([np.full_like(w, np.nan) for w in model.get_weights()])
    model.save(run / "model.keras")
    info = json.loads((run / "run.json").read_text())
    info.update(status="diverged", error="the loss became nan at epoch 2")
    (run / "run.json").write_text(json.dumps(info))
    for fmt in ("json", "csv"):
        result = invoke("predict", run, "--points", "0.5,0.2", "--format", fmt)
        assert result.exit_code == 2 and result.stdout == ""
        line = one_line(result)
        assert "the model's outputs are not finite" in line and "the run diverged" in line
        assert "the loss became nan at epoch 2" in line


# -- 5. export into a place that cannot be written ----------------------------------


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


# -- 8. the exported script ------------------------------------------------------


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


# -- 2. a garbage search.yaml -------------------------------------------------------


@pytest.mark.parametrize(
    "garbage, problem",
    [
        ("}{ not: [yaml", "malformed YAML at line 1"),
        ("just some words\n", "damaged: expected a mapping with a search section"),
        ("name: tinygrid\nsearch: 3\n", "damaged: search: expected a mapping"),
        ("search: {tuner: grid, params: {}}\n", "damaged: search.objective: expected a metric"),
    ],
)
def test_best_and_train_from_name_a_garbage_search_yaml(runs_dir, tmp_path, garbage, problem):
    spec = runs_dir / "tinygrid" / "search.yaml"
    spec.write_text(garbage)
    for args in (
        ["best", runs_dir / "tinygrid"],
        ["train", "--from", runs_dir / "tinygrid", "--runs-dir", tmp_path / "r", "-q"],
    ):
        result = invoke(*args)
        assert result.exit_code == 2, result.output
        line = one_line(result)
        assert f"{spec}: " in line and problem in line and "no trial has completed" not in line
    assert not (tmp_path / "r").exists()


def test_best_of_a_binary_search_yaml_names_the_file(runs_dir):
    spec = runs_dir / "tinygrid" / "search.yaml"
    spec.write_bytes(b"\xff\xfe\x00garbage\x00")
    result = invoke("best", runs_dir / "tinygrid")
    assert result.exit_code == 2 and f"{spec}: cannot be read" in one_line(result)


# -- 3. diff of a damaged run; diff compares resolved configs ---------------------

PLAIN, REGULARIZED = "20260101-000000-plain-aaaaaa", "20260101-000001-regularized-bbbbbb"


def _cut(path: Path, before: str, keep: int = 0) -> None:
    """Truncate a file where ``before`` begins, keeping ``keep`` characters of it."""
    text = path.read_text()
    path.write_text(text[: text.index(before) + keep])


@pytest.mark.parametrize(
    "name, damage, problem",
    [
        ("config.yaml", lambda p: p.write_text("}{ not: [yaml"), "damaged (ParserError)"),
        ("config.yaml", lambda p: _cut(p, "  dropout", 5), "damaged (ScannerError)"),
        ("config.yaml", lambda p: p.write_text("just words\n"), "not a mapping"),
        ("config.yaml", lambda p: p.write_bytes(b"\xff\xfe\x00"), "damaged (ConfigError)"),
        ("config.yaml", lambda p: _cut(p, "train:"), "(no train section)"),
        ("config.yaml", lambda p: _cut(p, "0.03\n", 3), "(its last line is cut short)"),
        ("metrics.json", lambda p: _cut(p, '"val"'), "damaged (JSONDecodeError)"),
        ("metrics.json", lambda p: p.write_text("[1, 2]"), "not a JSON object"),
        ("run.json", lambda p: p.write_text("{"), "damaged (JSONDecodeError)"),
    ],
)
def test_diff_of_a_damaged_run_names_the_file(runs_dir, name, damage, problem):
    a, b = runs_dir / PLAIN, runs_dir / REGULARIZED
    damage(b / name)
    for args in ((a, b), (b, a)):
        for fmt in ("text", "json"):
            result = invoke("diff", *args, "--format", fmt)
            assert result.exit_code == 2 and result.stdout == "", result.output
            line = one_line(result)
            assert line.startswith(f"Error: {b / name}") and problem in line, line


def test_diff_compares_the_resolved_configs(runs_dir):
    # B says what A left to dlexp (the loss and output of two classes) and a default
    # A's older config.yaml did not write: the same training, so no difference
    a, b = runs_dir / PLAIN, runs_dir / REGULARIZED
    text = (b / "config.yaml").read_text()
    text = text.replace("loss: null", "loss: binary_crossentropy")
    text = text.replace("output_activation: null", "output_activation: sigmoid")
    (b / "config.yaml").write_text(text + "  log_every: epoch\n")
    result = invoke("diff", a, b, "--format", "json")
    assert result.exit_code == 0, result.output
    keys = {row["key"]: (row["a"], row["b"]) for row in json.loads(result.stdout)["config"]}
    assert keys == {"model.dropout": (0.0, 0.2), "model.l2": (0.0, 0.01)}
    (b / "config.yaml").write_text(text.replace("loss: binary_crossentropy", "loss: hinge"))
    result = json.loads(invoke("diff", a, b, "--format", "json").stdout)
    assert {"key": "train.loss", "a": "binary_crossentropy", "b": "hinge"} in result["config"]


# -- 6. a search that is not finished -----------------------------------------------


def _set_status(search: Path, status: str) -> None:
    state = json.loads((search / "search.json").read_text())
    state["status"] = status
    (search / "search.json").write_text(json.dumps(state))


def test_best_of_a_search_still_running_says_so_and_keeps_exit_0(runs_dir):
    search = runs_dir / "tinygrid"
    done = invoke("best", search, "--format", "json")
    assert done.exit_code == 0 and done.stderr == ""
    assert json.loads(done.stdout)[0]["search_status"] == "finished"
    for status in ("running", "interrupted"):
        _set_status(search, status)
        result = invoke("best", search, "--format", "json")
        assert result.exit_code == 0
        assert json.loads(result.stdout)[0]["search_status"] == status  # stdout: JSON only
        line = one_line(result)
        assert line.startswith(f"warning: {search}: the search is not finished")
        assert f"search.json says {status}" in line and "its best trial may change" in line
        yaml_out = invoke("best", search)
        assert yaml_out.exit_code == 0 and "not finished" in yaml_out.stderr
        assert yaml_out.stdout.startswith("# t000: ")
    (search / "search.json").unlink()
    result = invoke("best", search, "--format", "json")
    assert json.loads(result.stdout)[0]["search_status"] == "unknown"
    assert "not finished (has no readable search.json)" in result.stderr


def test_train_from_a_search_still_running_says_so(runs_dir, tmp_path):
    search = runs_dir / "tinygrid"
    _set_status(search, "running")
    result = invoke(
        "train", "--from", search, "--runs-dir", tmp_path / "r", "-q", "--format", "json"
    )
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["search_status"] == "running"
    assert f"warning: {search}: the search is not finished" in result.stderr


# -- 7. Ctrl-C during dlexp train keeps the last epoch's weights ----------------------


@pytest.mark.parametrize(
    "where, calls, last",
    [("train_function", 1, 1), ("train_function", 3, 3), ("test_function", 1, 1)],
    ids=["as-epoch-2-trains", "as-epoch-4-trains", "as-epoch-2-validates"],
)
def test_ctrl_c_in_an_epoch_keeps_the_weights_of_the_last_epoch_that_ended(
    tmp_path, where, calls, last
):
    # A real SIGINT, delivered as Keras' call number `calls` after epoch 1 (of its
    # train step: one per epoch, dlexp runs an epoch per call; or of its validation)
    # returns: the instant old dlexp lost model.keras (an epoch's step, while Keras
    # held the weights outside the model) or kept weights of an epoch the history
    # does not have. Epoch `last` is the last one that ended.
    import os
    import signal

    import keras
    import numpy as np
    import yaml

    from dlexp import config, data
    from dlexp.core import interrupt
    from dlexp.runs.folder import Status, create_run, read_run
    from dlexp.train import fit as training

    cfg = config.resolve(yaml.safe_load(TINY.replace("epochs: 3", "epochs: 6")))
    exp = training.prepare(cfg, data.load(cfg["data"], cfg["seed"]))
    run = create_run(tmp_path, "tiny")
    ended = {}

    def on_epoch(epoch, row):
        ended[epoch] = exp.model.get_weights()
        if epoch == 1:
            original, done = getattr(exp.model, where), []

            def interrupted(*args):
                out = original(*args)
                done.append(1)
                if len(done) == calls:
                    os.kill(os.getpid(), signal.SIGINT)
                return out

            setattr(exp.model, where, interrupted)

    with interrupt.handled():
        outcome = training.fit(exp, run, on_epoch)
    assert outcome.status == Status.INTERRUPTED and outcome.error is None
    record = read_run(run.path)
    assert record.status == Status.INTERRUPTED and len(record.history) == last == len(ended)
    assert record.metric("epochs_run") == last and record.metric("train_loss") is not None
    kept = keras.models.load_model(run.path / "model.keras").get_weights()
    assert all(np.array_equal(a, b) for a, b in zip(kept, ended[last], strict=True))


SLOW = """
seed: 3
data: {kind: moons, n_samples: 20000, noise: 0.2}
model: {layers: [32, 32]}
train: {epochs: 2000, batch_size: 16, early_stopping: false}
"""


def _interrupted_train(tmp_path: Path, name: str, pauses: list[float]):
    """`dlexp train` in its own process, sent SIGINT after each pause, the first
    counted from the moment its history.csv has its first epoch."""
    import os
    import signal
    import subprocess
    import sys
    import time

    import dlexp

    (tmp_path / "slow.yaml").write_text(SLOW)
    runs_dir = tmp_path / name
    env = {**os.environ, "PYTHONPATH": str(Path(dlexp.__file__).parents[1])}
    command = "from dlexp.cli import main; main()"
    args = ["train", tmp_path / "slow.yaml", "--runs-dir", runs_dir, "-q", "--format", "json"]
    proc = subprocess.Popen(
        [sys.executable, "-c", command, *map(str, args)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )
    try:
        deadline = time.monotonic() + 120
        while not any(len(h.read_text().splitlines()) > 1 for h in runs_dir.glob("*/history.csv")):
            assert proc.poll() is None and time.monotonic() < deadline, proc.communicate()
            time.sleep(0.001)
        for pause in pauses:
            time.sleep(pause)
            proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=120)
    finally:
        proc.kill()
    (run,) = runs_dir.iterdir()
    return proc.returncode, out, err, run


@pytest.mark.slow
@pytest.mark.parametrize(
    "pauses",
    [[0.0], [0.004], [0.015], [0.04], [0.0] + [0.002] * 60],
    ids=["at-the-first-epoch", "4ms-later", "15ms-later", "40ms-later", "held-down"],
)
def test_ctrl_c_during_dlexp_train_always_keeps_a_model(tmp_path, pauses):
    import keras
    import numpy as np

    import dlexp.train.fit  # noqa: F401 - Keras on dlexp's backend
    from dlexp.runs.folder import Status, read_run

    rc, out, err, run = _interrupted_train(tmp_path, "runs", pauses)
    assert rc in (130, -2), err  # -2: a Ctrl-C as the process was exiting
    assert "Traceback" not in err, err
    record = read_run(run)
    assert record.status == Status.INTERRUPTED, err
    epochs = len(record.history)
    assert epochs >= 1 and record.metric("epochs_run") == epochs
    model = keras.models.load_model(run / "model.keras")  # it exists, whole
    assert np.isfinite(model.predict(np.zeros((4, 2)), verbose=0)).all()
    if len(pauses) == 1:  # one Ctrl-C: the summary is printed, stdout holds only JSON
        assert rc == 130 and json.loads(out)["status"] == "interrupted"


def test_a_second_ctrl_c_while_a_stack_saves_keeps_every_model(tmp_path, monkeypatch):
    # `dlexp train --repeats 2` trains its runs as one stack: a first Ctrl-C at epoch 2,
    # a second as the first model is saved. Every run ends interrupted with the model
    # of its last epoch; none is left running without a model.keras.
    import os
    import signal

    import keras
    import yaml

    from dlexp import config
    from dlexp.core import interrupt
    from dlexp.runs import folder as runs
    from dlexp.train.stack import train_repeats

    cfg = config.resolve(yaml.safe_load(TINY.replace("epochs: 3", "epochs: 6")))

    def on_epoch(epoch, row):
        if epoch == 2:
            os.kill(os.getpid(), signal.SIGINT)

    original, sent = runs.Run.save_model, []

    def save_model(self, model):
        if not sent:  # Ctrl-C again, as the first model is written
            sent.append(1)
            os.kill(os.getpid(), signal.SIGINT)
        return original(self, model)

    monkeypatch.setattr(runs.Run, "save_model", save_model)
    try:
        with interrupt.handled():
            outcomes = train_repeats(cfg, tmp_path, 2, on_epoch)
    except KeyboardInterrupt:
        pytest.fail("the second Ctrl-C cut the stack's saves short")
    assert sent and [o.status for o in outcomes] == [runs.Status.INTERRUPTED] * 2
    for outcome in outcomes:
        record = runs.read_run(outcome.run.path)
        assert record.status == runs.Status.INTERRUPTED and len(record.history) >= 2
        keras.models.load_model(outcome.run.path / "model.keras")
