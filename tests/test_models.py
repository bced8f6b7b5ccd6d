"""The model builder: widths, output layout and parameter counts."""

import numpy as np
import pytest
from helpers import CONFIGS

from dlexp import config
from dlexp.model import build as models


def resolve(**model):
    return config.resolve({"model": model})


@pytest.mark.parametrize(
    "model, widths",
    [
        ({"layers": [8, 32, 128]}, [8, 32, 128]),
        ({"layers": []}, []),
        ({"first_neuron": 10, "hidden_layers": 0}, [10]),
        ({"first_neuron": 10, "hidden_layers": 2}, [10, 10, 10]),
        ({"first_neuron": 10, "hidden_layers": 2, "shape": "brick"}, [10, 10, 10]),
        # Talos' funnel: equal steps of (first - out) // hidden_layers toward the output
        ({"first_neuron": 10, "hidden_layers": 2, "shape": "funnel"}, [10, 6, 2]),
        ({"first_neuron": 64, "hidden_layers": 3, "shape": "funnel"}, [64, 43, 22, 1]),
        # too narrow to shrink in whole steps: Talos keeps the width
        ({"first_neuron": 2, "hidden_layers": 3, "shape": "funnel"}, [2, 2, 2, 2]),
    ],
)
def test_hidden_widths(model, widths):
    assert models.hidden_widths(resolve(**model)["model"]) == widths


def test_output_layout():
    two = config.resolve({})
    assert models.output_layout(two, 2) == models.OutputLayout(
        1, "sigmoid", "binary_crossentropy", False
    )
    three = models.output_layout(two, 3)
    assert (three.units, three.activation, three.loss, three.onehot) == (
        3,
        "softmax",
        "categorical_crossentropy",
        True,
    )
    cat = config.resolve({"train": {"loss": "categorical_crossentropy"}})
    assert models.output_layout(cat, 2).units == 2
    y = np.array([0, 2, 1])
    np.testing.assert_array_equal(three.targets(y), np.eye(3)[y])
    assert models.output_layout(two, 2).targets(y[:2] % 2).shape == (2, 1)


def test_seed_network_has_145561_parameters_without_keras():
    cfg = config.load(CONFIGS / "deep_mlp.yaml")
    widths = models.hidden_widths(cfg["model"])
    assert widths == [8, 32, 128, 256, 256, 128, 64, 16]
    assert models.count_params(widths, 2, 1) == 145_561


def test_keras_model_matches():
    cfg = config.load(CONFIGS / "deep_mlp.yaml")
    model = models.build(cfg, n_features=2, n_classes=2)
    assert model.count_params() == 145_561
    dense = [layer for layer in model.layers if layer.__class__.__name__ == "Dense"]
    assert [d.units for d in dense] == [8, 32, 128, 256, 256, 128, 64, 16, 1]
    assert dense[-1].activation.__name__ == "sigmoid"
    logreg = models.build(config.load(CONFIGS / "logreg.yaml"), 2, 2)
    assert logreg.count_params() == 3


def test_regularization_layers():
    cfg = config.resolve(
        {
            "model": {
                "layers": [4, 4],
                "dropout": 0.3,
                "l2": 0.01,
                "input_noise": 0.1,
                "batch_norm": True,
            }
        }
    )
    model = models.build(cfg, 2, 3)
    kinds = [layer.__class__.__name__ for layer in model.layers]
    assert kinds == [
        "GaussianNoise",
        "Dense",
        "BatchNormalization",
        "Activation",
        "Dropout",
        "Dense",
        "BatchNormalization",
        "Activation",
        "Dropout",
        "Dense",
    ]
    assert model.layers[1].kernel_regularizer is not None
    widths = models.hidden_widths(cfg["model"])
    assert model.count_params() == models.count_params(widths, 2, 3, batch_norm=True)


def test_optimizer_and_schedule():
    cfg = config.resolve(
        {
            "train": {
                "optimizer": {"name": "sgd", "momentum": 0.9, "nesterov": True},
                "learning_rate": 0.1,
                "lr_schedule": {"kind": "step", "rate": 0.5, "every": 2},
            }
        }
    )
    opt = models.make_optimizer(cfg["train"], steps_per_epoch=10)
    assert type(opt).__name__ == "SGD" and opt.momentum == 0.9 and opt.nesterov
    schedule = opt._learning_rate
    assert float(schedule(19)) == pytest.approx(0.1)
    assert float(schedule(20)) == pytest.approx(0.05)
