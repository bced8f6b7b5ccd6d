"""dlexp diff: what differs between two runs' resolved configs and metrics, and a damaged
run named as such."""

import json
from pathlib import Path

import pytest
from helpers import invoke, one_line


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


@pytest.mark.slow
def test_diff_says_which_side_is_better_by_each_metrics_direction(write, tmp_path):
    base = (
        "seed: 1\ndata: {kind: playground, dataset: reg-plane, n_samples: 200}\n"
        "model: {layers: [4]}\ntrain: {epochs: 3, early_stopping: false, learning_rate: LR}\n"
    )
    runs = []
    classify = base.replace("reg-plane", "gauss").replace("LR", "0.05")
    for lr, text in (("0.0001", None), ("0.05", None), ("gauss", classify)):
        config = write(f"lr{lr}.yaml", text or base.replace("LR", lr))
        result = invoke("train", config, "--runs-dir", tmp_path / "r", "-q", "--format", "json")
        assert result.exit_code == 0, result.output
        runs.append(tmp_path / "r" / json.loads(result.stdout)["id"])
    across = json.loads(invoke("diff", runs[1], runs[2], "--format", "json").stdout)
    loss = {m["key"]: m for m in across["metrics"]}["test_loss"]
    assert loss["delta"] and loss["better"] is None  # cross-entropy against a standardized mse
    runs = runs[:2]
    result = json.loads(invoke("diff", *runs, "--format", "json").stdout)
    rows = {m["key"]: m for m in result["metrics"]}
    assert {"val_rmse", "val_r2", "test_rmse", "test_r2"} <= set(rows)
    rmse, r2 = rows["val_rmse"], rows["val_r2"]
    assert (rmse["direction"], r2["direction"]) == ("min", "max")
    # lower rmse is better, higher r2 is: each side named by its own metric's way
    assert rmse["better"] == ("b" if rmse["b"] < rmse["a"] else "a")
    assert r2["better"] == ("b" if r2["b"] > r2["a"] else "a")
    assert rmse["better"] == r2["better"]  # on one split the two agree (r2 = 1 - mse/var)
    text = invoke("diff", *runs).stdout
    line = next(x for x in text.splitlines() if x.startswith("val_rmse"))
    assert f"{rmse['better'].upper()} (min)" in line
