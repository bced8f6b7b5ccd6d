"""Grid files: expansion and validation, without keras-tuner or training."""

import pytest
from helpers import CONFIGS

from dlexp.core.errors import ConfigError
from dlexp.search import spec as grid

BASE = """
seed: 3
data: {kind: moons, n_samples: 200}
train: {epochs: 2, early_stopping: false}
"""


def spec_of(write, search: str, base: str = BASE, overrides=()):
    return grid.load(write("g.yaml", base + search), overrides)


def error_of(write, search: str, base: str = BASE) -> str:
    with pytest.raises(ConfigError) as info:
        spec_of(write, search, base)
    return str(info.value)


def test_notebook_grid_has_72_points_in_talos_order():
    spec = grid.load(CONFIGS / "grid.yaml")
    points = spec.grid_points()
    assert len(points) == 72 and spec.name == "notebook_grid"
    assert points[0]["model.first_neuron"] == 9 and points[-1]["model.first_neuron"] == 11
    assert [p["model.activation"] for p in points[:2]] == ["relu", "elu"]  # last key fastest
    assert len({grid.point_key(p) for p in points}) == 72
    cfg = spec.point_config(points[5])
    assert cfg["train"]["batch_size"] == 30 and cfg["train"]["epochs"] == 100
    assert cfg["model"]["first_neuron"] == 9 and cfg["model"]["layers"] is None
    assert (spec.objective, spec.direction) == ("val_accuracy", "max")


def test_optimizers_grid_uses_a_base_file():
    spec = grid.load(CONFIGS / "optimizers.yaml")
    assert spec.name == "optimizers" and spec.repeats == 3
    assert len(spec.grid_points()) == 9
    cfg = spec.point_config(spec.grid_points()[1], repeat=2)
    assert cfg["model"]["layers"] == [8, 32, 128, 256, 256, 128, 64, 16]  # from deep_mlp.yaml
    assert cfg["train"]["optimizer"] == {"name": "sgd", "momentum": 0.9}
    assert cfg["seed"] == 44 and cfg["data"]["seed"] == 42  # repeats vary training, not data


def test_ranges_and_cap(write):
    spec = spec_of(
        write,
        """
search:
  max_trials: 5
  params:
    model.first_neuron: {min: 4, max: 16, step: 4}
    train.learning_rate: {min: 0.01, max: 0.03, step: 0.01}
""",
    )
    walked = [[p.value(i) for i in range(p.count())] for p in spec.params]
    assert walked == [[4, 8, 12, 16], [0.01, 0.02, 0.03]]
    assert len(spec.grid_points()) == 5


def test_defaults(write):
    spec = spec_of(write, "search: {params: {model.dropout: [0.0, 0.5]}}")
    assert (spec.tuner, spec.objective, spec.direction, spec.repeats) == (
        "grid",
        "val_loss",
        "min",
        1,
    )
    assert spec.name == "g" and spec.seed == 3
    random = spec_of(write, "search: {tuner: random, params: {model.dropout: [0.0, 0.5]}}")
    assert random.max_trials == 10


def test_overrides_apply_to_the_base(write):
    spec = spec_of(
        write, "search: {params: {model.dropout: [0.0, 0.5]}}", overrides=["train.epochs=7"]
    )
    assert spec.point_config(spec.grid_points()[1])["train"]["epochs"] == 7
    assert spec.overrides == ("train.epochs=7",)


@pytest.mark.parametrize(
    "search, message",
    [
        (
            "search: {params: {model.first_neurn: [9, 10]}}",
            "search.params.model.first_neurn: unknown key (did you mean 'first_neuron'?)",
        ),
        (
            "search: {params: {model.first_neuron: []}}",
            "search.params.model.first_neuron: expected a non-empty list of values, got []",
        ),
        (
            "search: {params: {model.first_neuron: [9, ten]}}",
            "search.params.model.first_neuron[1]: expected a positive integer, got 'ten'",
        ),
        (
            "search: {params: {train.optimizer: [adam, adamm]}}",
            "search.params.train.optimizer[1]: unknown value 'adamm' (did you mean 'adam'?)",
        ),
        (
            "search: {tuner: gird, params: {model.dropout: [0.1]}}",
            "search.tuner: unknown value 'gird' (did you mean 'grid'?)",
        ),
        (
            "search: {objective: val_acc, params: {model.dropout: [0.1]}}",
            "search.objective: 'val_acc' is not a logged metric (did you mean 'val_accuracy'?)",
        ),
        (
            "search: {params: {model.dropout: [0.1]}, repeat: 3}",
            "search.repeat: unknown key (did you mean 'repeats'?)",
        ),
        (
            "search: {params: {model.dropout: [0.1]}, repeats: 0}",
            "search.repeats: expected a positive integer, got 0",
        ),
        (
            "search: {params: {model.dropout: 0.1}}",
            "search.params.model.dropout: expected a list of values or a range",
        ),
        (
            "search: {params: {model.dropout: {min: 0.1, max: 0.5}}}",
            "search.params.model.dropout: a grid needs a list or a linear range with a step",
        ),
        (
            "search: {params: {model.dropout: {min: 0.1, max: 1.5, step: 0.1}}}",
            "search.params.model.dropout.max: expected a number in [0, 1), got 1.5",
        ),
        (
            "search: {params: {model.dropout: [0.1, 0.1]}}",
            "search.params.model.dropout: 0.1 is listed twice",
        ),
        ("search: {params: {}}", "search.params: expected a mapping of config keys"),
        ("name: x\n", "search: required"),
        (
            "search: {params: {model.layers: [[4], [8]], model.first_neuron: [3]}}",
            "search.params: the point model.layers=[4], model.first_neuron=3 is not a valid config",
        ),
        (
            "search: {tuner: hyperband, params: {train.epochs: [3, 9]}}",
            "search.params.train.epochs: hyperband chooses the epochs itself",
        ),
    ],
)
def test_bad_grids(write, tmp_path, search, message):
    text = error_of(write, search)
    assert message in text
    assert text.startswith(f"{tmp_path / 'g.yaml'}: ")  # the message names the file first


def test_bad_base(write, tmp_path):
    assert "nope.yaml: file not found" in error_of(
        write, "base: nope.yaml\nsearch: {params: {model.dropout: [0.1]}}"
    )
