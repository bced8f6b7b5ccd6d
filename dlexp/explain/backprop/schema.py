"""The file ``dlexp explain backprop`` reads: checked, normalised, Mazur's network.

A file (YAML) describes a network::

    inputs: [0.05, 0.10]          # one sample
    targets: [0.01, 0.99]         # one per unit of the last layer
    learning_rate: 0.5            # default 0.5
    loss: half_sse                # half_sse (Σ ½(t − out)²), mse, binary_crossentropy
    train_biases: true            # default true; false keeps the biases as given
    layers:                       # 1 to 8 layers of 1 to 16 units
      - weights: [[0.15, 0.25], [0.20, 0.30]]   # weights[i][j]: input i to unit j (Keras)
        biases: [0.35, 0.35]                    # default zeros
        activation: sigmoid                     # sigmoid, tanh, relu, linear, softmax

``mse`` and ``binary_crossentropy`` are Keras' (``keras.losses.mean_squared_error``
and ``binary_crossentropy`` on the one sample: the mean over the outputs, the latter's
outputs clipped to [1e-7, 1 − 1e-7]); binary cross-entropy needs a sigmoid or softmax
last layer and targets in [0, 1]. Softmax is supported on any layer: its delta is
out ⊙ (∂E/∂out − Σ out·∂E/∂out), its Jacobian applied to ∂E/∂out.

Every mistake is a ConfigError (exit 2) naming the file, the key, the value received
and what was expected.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from dlexp.config import Bool, Choice, Float, Int, Section, Spec
from dlexp.core.errors import ConfigError, bad_value, show
from dlexp.core.yamlio import read_yaml

ACTIVATIONS = ("sigmoid", "tanh", "relu", "linear", "softmax")
LOSSES = ("half_sse", "mse", "binary_crossentropy")
MAX_STEPS = 100_000
MAX_LAYERS = 8
MAX_UNITS = 16  # per layer, and inputs

MAZUR = {
    "inputs": [0.05, 0.10],
    "targets": [0.01, 0.99],
    "learning_rate": 0.5,
    "loss": "half_sse",
    "train_biases": False,
    "layers": [
        # w1 (i1→h1), w2 (i2→h1), w3 (i1→h2), w4 (i2→h2) in Keras' layout [input][unit]
        {"weights": [[0.15, 0.25], [0.20, 0.30]], "biases": [0.35, 0.35], "activation": "sigmoid"},
        # w5 (h1→o1), w6 (h2→o1), w7 (h1→o2), w8 (h2→o2)
        {"weights": [[0.40, 0.50], [0.45, 0.55]], "biases": [0.60, 0.60], "activation": "sigmoid"},
    ],
}
MAZUR_SOURCE = 'Matt Mazur, "A Step by Step Backpropagation Example" (2015)'

_NUMBER = Float(rule=("a finite number", None))


class Numbers(Spec):
    """A non-empty list of finite numbers."""

    expected = "a non-empty list of numbers"

    def check(self, value: Any, path: str) -> list[float]:
        if not isinstance(value, list) or not value:
            raise bad_value(path, value, self.expected)
        return [_NUMBER.check(v, f"{path}[{i}]") for i, v in enumerate(value)]


class Matrix(Spec):
    """A non-empty list of rows, each a non-empty list of finite numbers."""

    expected = "a list of rows (one per input of the layer), each a list of numbers"

    def check(self, value: Any, path: str) -> list[list[float]]:
        if not isinstance(value, list) or not value:
            raise bad_value(path, value, self.expected)
        rows = []
        for i, row in enumerate(value):
            if not isinstance(row, list) or not row:
                raise bad_value(f"{path}[{i}]", row, "a row: a list of numbers (one per unit)")
            rows.append([_NUMBER.check(v, f"{path}[{i}][{j}]") for j, v in enumerate(row)])
        return rows


class Layers(Spec):
    """The ``layers`` list, taken as given: validate() checks each layer against the
    one before it."""

    def check(self, value: Any, path: str) -> Any:
        return value


LAYER = Section(
    {
        "weights": Matrix(),
        "biases": Numbers(),
        "activation": Choice("sigmoid", ACTIVATIONS),
    }
)
SPEC = Section(
    {
        "inputs": Numbers(),
        "targets": Numbers(),
        "learning_rate": Float(0.5, ("a number > 0", lambda v: v > 0)),
        "loss": Choice("half_sse", LOSSES),
        "train_biases": Bool(True),
        "layers": Layers(),
    }
)
STEPS = Int(min=1, max=MAX_STEPS)


def _n(count: int, noun: str) -> str:
    return f"{count} {noun}" + ("" if count == 1 else "s")


def validate(raw: Any) -> dict:
    """A network description checked and normalised (biases filled in, floats).

    Raises:
        ConfigError: naming the key, the value received and what was expected.
    """
    if raw is not None and not isinstance(raw, dict):
        raise ConfigError(f"expected a mapping with keys {', '.join(SPEC.fields)}, got {show(raw)}")
    spec = SPEC.check(raw, "")
    for key, what in (
        ("inputs", "a list of numbers (one sample)"),
        ("targets", "a list of numbers (one per unit of the last layer)"),
        ("layers", "a list of layers, each {weights, biases, activation}"),
    ):
        if spec[key] is None:
            raise ConfigError(f"missing; expected {what}", key)
    if len(spec["inputs"]) > MAX_UNITS:
        raise ConfigError(
            f"expected at most {MAX_UNITS} numbers (a small network), got {len(spec['inputs'])}",
            "inputs",
        )
    raw_layers = spec["layers"]
    if not isinstance(raw_layers, list) or not 1 <= len(raw_layers) <= MAX_LAYERS:
        raise bad_value(
            "layers",
            raw_layers,
            f"a list of 1 to {MAX_LAYERS} layers, each {{weights, biases, activation}}",
        )
    layers, fan_in = [], len(spec["inputs"])
    for i, raw_layer in enumerate(raw_layers):
        layer = _layer(raw_layer, f"layers[{i}]", fan_in)
        layers.append(layer)
        fan_in = len(layer["biases"])
    spec["layers"] = layers
    if len(spec["targets"]) != fan_in:
        raise ConfigError(
            f"expected {_n(fan_in, 'number')} (one per unit of the last layer), "
            f"got {len(spec['targets'])}",
            "targets",
        )
    if spec["loss"] == "binary_crossentropy":
        _check_binary_crossentropy(spec)
    return spec


def _layer(raw_layer: Any, where: str, fan_in: int) -> dict:
    """One layer checked against the one before it (``fan_in`` outputs); biases filled in."""
    layer = LAYER.check(raw_layer, where)
    if layer["weights"] is None:
        raise ConfigError(
            f"missing; expected {_n(fan_in, 'row')} (one per input of the layer), each a list "
            "of numbers (one per unit)",
            f"{where}.weights",
        )
    weights = layer["weights"]
    if len(weights) != fan_in:
        raise ConfigError(
            f"expected {_n(fan_in, 'row')} (one per input of the layer), got {len(weights)}",
            f"{where}.weights",
        )
    units = len(weights[0])
    for r, row in enumerate(weights):
        if len(row) != units:
            raise ConfigError(
                f"expected {_n(units, 'number')} (one per unit, as in row 0), got {len(row)}",
                f"{where}.weights[{r}]",
            )
    if units > MAX_UNITS:
        raise ConfigError(
            f"expected at most {MAX_UNITS} units (numbers per row), got {units}",
            f"{where}.weights[0]",
        )
    if layer["biases"] is None:
        layer["biases"] = [0.0] * units
    elif len(layer["biases"]) != units:
        raise ConfigError(
            f"expected {_n(units, 'number')} (one per unit), got {len(layer['biases'])}",
            f"{where}.biases",
        )
    return layer


def _check_binary_crossentropy(spec: dict) -> None:
    """Outputs in (0, 1) (a sigmoid or softmax last layer) and targets in [0, 1]."""
    layers = spec["layers"]
    last = layers[-1]["activation"]
    if last not in ("sigmoid", "softmax"):
        raise ConfigError(
            "binary_crossentropy needs outputs in (0, 1): expected the last layer's "
            f"activation sigmoid or softmax, got {show(last)}",
            f"layers[{len(layers) - 1}].activation",
        )
    for j, t in enumerate(spec["targets"]):
        if not 0 <= t <= 1:
            raise bad_value(f"targets[{j}]", t, "a number in [0, 1] for binary_crossentropy")


def load(path: str | Path | None) -> tuple[dict, str]:
    """The network in the YAML file ``path`` (Mazur's without one), and where it came from."""
    if path is None:
        return validate(MAZUR), MAZUR_SOURCE
    raw = read_yaml(path)
    try:
        return validate(raw), str(path)
    except ConfigError as exc:
        raise exc.located(f"{path}: ") from None


def check_steps(steps: Any) -> int:
    """``--steps`` checked: an integer from 1 to MAX_STEPS."""
    return STEPS.check(steps, "--steps")
