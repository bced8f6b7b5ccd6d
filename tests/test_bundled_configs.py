"""Every config in configs/ trains for real (2 epochs), so none of them goes stale: one
of scikit-learn's datasets (iris) and Playground's regression in the fast tier (a few
seconds each), the others (digits' 64 inputs, the notebook's bigger networks) in the
slow one."""

import json

import pytest
from helpers import CONFIGS, invoke

GRIDS = ("grid", "optimizers")  # searches: tests/test_grid.py plans them
FAST = ("iris", "playground_regression")
CONFIGS_TRAINED = sorted(p.stem for p in CONFIGS.glob("*.yaml") if p.stem not in GRIDS)


def test_the_fast_ones_are_bundled():
    assert set(FAST) <= set(CONFIGS_TRAINED) and "moons" in CONFIGS_TRAINED


@pytest.mark.parametrize(
    "name", [n if n in FAST else pytest.param(n, marks=pytest.mark.slow) for n in CONFIGS_TRAINED]
)
def test_a_bundled_config_trains(name, tmp_path):
    result = invoke(
        "train", CONFIGS / f"{name}.yaml", "--set", "train.epochs=2", "--runs-dir", tmp_path,
        "--format", "json",
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    out = json.loads(result.stdout)
    run = next(p for p in tmp_path.iterdir() if p.is_dir())
    info = json.loads((run / "run.json").read_text())
    assert info["status"] == "completed" and info["data"]["n_test"] > 0
    if name == "playground_regression":  # Playground's split: half the 1,200 to train
        assert info["data"]["task"] == "regression" and info["data"]["n_train"] == 600
        assert {"rmse", "mae", "r2"} <= set(out["test"])
    else:
        assert info["data"]["task"] == "classification" and 0 <= out["test"]["accuracy"] <= 1
    if name == "digits":
        assert info["data"]["n_features"] == 64 and info["data"]["n_classes"] == 10
