"""Views inside the network: Playground's extra features, the learning record kept in
a run folder, and the pictures drawn from it."""

import json

import numpy as np
import pytest
from click.testing import CliRunner

from dlexp import config, data
from dlexp.cli import cli
from dlexp.errors import ConfigError


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


def test_the_model_makes_the_extra_features_itself():
    import keras

    from dlexp import models

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
    assert [p["predicted"] for p in json.loads(points.stdout)] == ["1", "0"]  # inner, outer
    boundary = np.load(run / "boundary.npz")
    assert boundary["proba"].shape[:2] == (len(boundary["ys"]), len(boundary["xs"]))
