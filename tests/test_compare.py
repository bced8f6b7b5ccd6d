"""dlexp compare: two configs trained on the same paired seeds, with a verdict that is
never chosen on the test split."""

import json
from pathlib import Path

import pytest
from click.testing import CliRunner
from helpers import invoke

from dlexp.cli import cli


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


def test_compare_refuses_to_choose_on_the_test_split(write, tmp_path):
    cfg = write(
        "noval.yaml",
        "seed: 1\ndata: {kind: moons, n_samples: 200, val_size: 0.0}\n"
        "model: {layers: [4]}\ntrain: {epochs: 2, early_stopping: false}\n",
    )
    result = CliRunner().invoke(
        cli, ["compare", str(cfg), str(cfg), "--repeats", "2", "--runs-dir", str(tmp_path / "r")]
    )
    assert result.exit_code == 2, result.output
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "data.val_size" in lines[0] and "test" in lines[0]
    assert not (tmp_path / "r").exists()  # refused before training anything


def test_compare_verdict_never_picks_on_test():
    from dlexp.use import compare

    rows = [
        {"metric": "test_accuracy", "diff": 0.1, "ci95": [0.05, 0.15], "p": 0.01},
        {"metric": "train_accuracy", "diff": 0.1, "ci95": [0.05, 0.15], "p": 0.01},
    ]
    line = compare.verdict(rows, 5)
    assert "better" not in line and line.startswith("no verdict")


@pytest.mark.slow
def test_compare_shows_progress_on_stderr_and_only_json_on_stdout(write, tmp_path, monkeypatch):
    monkeypatch.setenv("FORCE_COLOR", "1")  # rich draws its bar as on a terminal
    cfg = write(
        "c.yaml",
        "seed: 1\ndata: {kind: moons, n_samples: 200}\n"
        "model: {layers: [4]}\ntrain: {epochs: 3, batch_size: 64, early_stopping: false}\n",
    )
    result = CliRunner().invoke(
        cli,
        ["compare", str(cfg), str(cfg), "--repeats", "2", "--runs-dir", str(tmp_path / "r")]
        + ["--format", "json"],
    )
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["repeats"] == 2
    assert "compare" in result.stderr and "12/12" in result.stderr  # 2 x 2 runs x 3 epochs


def test_compare_regression_gives_its_verdict_on_val_rmse(write, tmp_path):
    base = (
        "seed: 1\ndata: {kind: playground, dataset: reg-plane, n_samples: 200}\n"
        "model: {layers: [4]}\ntrain: {epochs: 5, early_stopping: false, learning_rate: LR}\n"
    )
    a = write("a.yaml", base.replace("LR", "0.0001"))
    b = write("b.yaml", base.replace("LR", "0.05"))
    result = invoke(
        "compare", a, b, "--repeats", "2", "--runs-dir", tmp_path / "r", "--format", "json"
    )
    assert result.exit_code == 0, result.output
    out = json.loads(result.stdout)
    rows = {m["metric"]: m for m in out["metrics"]}
    assert {"val_rmse", "val_r2", "test_rmse"} <= set(rows) and "val_accuracy" not in rows
    rmse = rows["val_rmse"]
    if rmse["ci95"][0] <= 0 <= rmse["ci95"][1]:
        assert out["verdict"].startswith("no difference detectable on val_rmse")
    else:  # lower is better: B, the larger rate, when its rmse is the smaller
        side = "B" if rmse["diff"] < 0 else "A"
        assert out["verdict"].startswith(f"{side} is better on val_rmse"), out["verdict"]


def test_compare_verdict_takes_rmse_lower_and_r2_higher_as_better():
    from dlexp.use import compare

    lower = {"metric": "val_rmse", "diff": -0.2, "ci95": [-0.3, -0.1], "p": 0.01}
    higher = {"metric": "val_r2", "diff": 0.2, "ci95": [0.1, 0.3], "p": 0.01}
    loss = {"metric": "val_loss", "diff": 0.5, "ci95": [0.4, 0.6], "p": 0.01}
    assert compare.verdict([loss, lower], 5).startswith("B is better on val_rmse")
    assert compare.verdict([loss, higher], 5).startswith("B is better on val_r2")
    worse = {**lower, "diff": 0.2, "ci95": [0.1, 0.3]}
    assert compare.verdict([worse, loss], 5).startswith("A is better on val_rmse")
