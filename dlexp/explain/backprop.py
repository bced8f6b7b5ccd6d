"""Backpropagation worked step by step, every figure checked against Keras' autodiff.

A small dense network learns one sample by plain gradient descent. Each step shows,
layer by layer, every unit's net input and output, the loss, every unit's delta
(∂E/∂net), every weight's and bias's gradient and the updated weights. The figures
come from the chain rule written out in NumPy (float64); all of them, at every step,
are computed again by Keras: ``keras.layers.Dense`` layers holding the same weights,
differentiated by ``jax.value_and_grad`` over their ``stateless_call`` in float64 (the
deltas and ∂E/∂out as gradients with respect to a zero added to each net input and
output). The two must agree within TOLERANCE, or AutodiffMismatch is raised.

Without a file the network is Matt Mazur's "A Step by Step Backpropagation Example"
(2015): inputs 0.05, 0.10, targets 0.01, 0.99, a 2-2-2 network of sigmoid units,
E = Σ ½(target − out)², learning rate 0.5, and biases that stay fixed as in the post.
It reproduces the post's figures (net of h1 0.3775, out of h1 0.593269992, ∂E/∂w5
0.082167041, w5 after 0.35891648, w1 after 0.149780716, E 0.298371109 before the first
update) with two remarks:

* "after 10,000 steps 0.0000351085" is the loss of the 10,000th step's forward pass,
  i.e. after 9,999 updates: ``steps[9999]["loss"]`` here. The loss after the 10,000th
  update is 0.0000351019 (``loss_after``).
* the post's "after the first round, the total error is now down to 0.291027924" does
  not follow from its own updated weights (w1..w8 above): those give 0.291027774,
  which is what this module (and Keras) finds. 0.291027924 is what one gets by
  backpropagating to w1..w4 through the already updated w5..w8, a slip in the post.

A file (YAML) describes another network::

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
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import numpy as np

from dlexp.config import Bool, Choice, Float, Int, Section, Spec
from dlexp.core.errors import ConfigError, DlexpError, bad_value, show
from dlexp.core.yamlio import read_yaml

ACTIVATIONS = ("sigmoid", "tanh", "relu", "linear", "softmax")
LOSSES = ("half_sse", "mse", "binary_crossentropy")
MAX_STEPS = 100_000
MAX_LAYERS = 8
MAX_UNITS = 16  # per layer, and inputs
TOLERANCE = 1e-6  # absolute; relative for figures larger than 1 in size
FULL_JSON_STEPS = 100  # up to this many steps, JSON holds every step; beyond, the first and last
EPSILON = 1e-7  # keras.config.epsilon(): binary cross-entropy clips outputs to [eps, 1 - eps]
# What each step records for each layer, in this order (JSON keys and the Keras check's).
FIELDS = (
    "net",
    "out",
    "dE_dout",
    "delta",
    "grad_weights",
    "grad_biases",
    "weights_after",
    "biases_after",
)

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


class BackpropFailed(DlexpError):
    """The steps could not be shown: they diverged, or Keras disagrees (exit code 1)."""


class AutodiffMismatch(BackpropFailed):
    """Keras' autodiff and the chain rule in NumPy disagree beyond TOLERANCE."""


class Diverged(BackpropFailed):
    """A loss, weight or gradient stopped being a finite number."""


# ---------------------------------------------------------------------------
# The file: read, checked, normalised.
# ---------------------------------------------------------------------------

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
        layer = LAYER.check(raw_layer, f"layers[{i}]")
        where = f"layers[{i}]"
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
        layers.append(layer)
        fan_in = units
    spec["layers"] = layers
    if len(spec["targets"]) != fan_in:
        raise ConfigError(
            f"expected {_n(fan_in, 'number')} (one per unit of the last layer), "
            f"got {len(spec['targets'])}",
            "targets",
        )
    if spec["loss"] == "binary_crossentropy":
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
    return spec


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
    return STEPS.check(steps, "--steps")


# ---------------------------------------------------------------------------
# The chain rule, written out in NumPy.
# ---------------------------------------------------------------------------


def activate(name: str, net: np.ndarray) -> np.ndarray:
    if name == "sigmoid":
        with np.errstate(over="ignore"):
            return 1.0 / (1.0 + np.exp(-net))
    if name == "tanh":
        return np.tanh(net)
    if name == "relu":
        return np.maximum(net, 0.0)
    if name == "softmax":
        e = np.exp(net - net.max())
        return e / e.sum()
    return net.copy()  # linear


def derivative(name: str, net: np.ndarray, out: np.ndarray) -> np.ndarray | None:
    """∂out/∂net of each unit, or None for softmax (whose units are coupled)."""
    if name == "sigmoid":
        return out * (1.0 - out)
    if name == "tanh":
        return 1.0 - out * out
    if name == "relu":
        return (net > 0).astype(float)
    if name == "linear":
        return np.ones_like(net)
    return None


def loss_and_gradient(name: str, out: np.ndarray, target: np.ndarray) -> tuple[float, np.ndarray]:
    """The loss E of one sample and ∂E/∂out."""
    n = len(out)
    if name == "half_sse":
        return float(0.5 * np.sum((target - out) ** 2)), out - target
    if name == "mse":
        return float(np.mean((target - out) ** 2)), 2.0 * (out - target) / n
    o = np.clip(out, EPSILON, 1.0 - EPSILON)  # Keras' binary cross-entropy
    inside = (out > EPSILON) & (out < 1.0 - EPSILON)  # a clipped output passes no gradient
    loss = -np.mean(target * np.log(o) + (1.0 - target) * np.log(1.0 - o))
    return float(loss), np.where(inside, -(target / o - (1.0 - target) / (1.0 - o)) / n, 0.0)


def loss_terms(name: str, out: np.ndarray, target: np.ndarray) -> np.ndarray:
    """Each output's share of the loss (they add up to E)."""
    n = len(out)
    if name == "half_sse":
        return 0.5 * (target - out) ** 2
    if name == "mse":
        return (target - out) ** 2 / n
    o = np.clip(out, EPSILON, 1.0 - EPSILON)
    return -(target * np.log(o) + (1.0 - target) * np.log(1.0 - o)) / n


def forward(spec: dict, params: list) -> tuple[list, list]:
    """Every layer's net input and output."""
    h, nets, outs = np.asarray(spec["inputs"], float), [], []
    for layer, (w, b) in zip(spec["layers"], params, strict=True):
        net = h @ w + b
        h = activate(layer["activation"], net)
        nets.append(net)
        outs.append(h)
    return nets, outs


def numpy_step(spec: dict, params: list) -> tuple[float, list, list]:
    """One step: the loss, each layer's figures (in FIELDS order) and the new weights."""
    x = np.asarray(spec["inputs"], float)
    nets, outs = forward(spec, params)
    loss, g = loss_and_gradient(spec["loss"], outs[-1], np.asarray(spec["targets"], float))
    lr, train_biases = spec["learning_rate"], spec["train_biases"]
    layers: list = [None] * len(params)
    new_params: list = [None] * len(params)
    for i in range(len(params) - 1, -1, -1):
        w, b = params[i]
        net, out = nets[i], outs[i]
        d = derivative(spec["layers"][i]["activation"], net, out)
        delta = out * (g - out @ g) if d is None else g * d
        inputs = outs[i - 1] if i else x
        grad_w = np.outer(inputs, delta)
        new_w = w - lr * grad_w
        new_b = b - lr * delta if train_biases else b.copy()
        layers[i] = (net, out, g, delta, grad_w, delta.copy(), new_w, new_b)
        new_params[i] = (new_w, new_b)
        g = w @ delta  # ∂E/∂out of the layer below, through the weights before the update
    return loss, layers, new_params


# ---------------------------------------------------------------------------
# The same steps by Keras' autodiff.
# ---------------------------------------------------------------------------


class KerasSteps:
    """The steps run by Keras: Dense layers holding the weights, jax.value_and_grad over
    their stateless_call, in float64; ``chunk`` steps per jitted call (a lax.scan)."""

    def __init__(self, spec: dict, chunk: int):
        import jax
        import keras

        if keras.backend.backend() != "jax":
            raise ConfigError(
                "expected jax (the autodiff check differentiates Keras with jax.grad), "
                f"got {show(keras.backend.backend())}: unset it or set KERAS_BACKEND=jax",
                "KERAS_BACKEND",
            )
        self.jax, self.keras = jax, keras
        self.float32_in_keras: list[str] = []
        with jax.enable_x64(True):
            self._build(spec, chunk)

    def _build(self, spec: dict, chunk: int) -> None:
        jax, keras = self.jax, self.keras
        jnp = jax.numpy
        fan_in, dense, acts, units = len(spec["inputs"]), [], [], []
        for i, layer in enumerate(spec["layers"]):
            n = len(layer["biases"])
            d = keras.layers.Dense(
                n,
                dtype="float64",
                kernel_initializer="zeros",
                bias_initializer="zeros",
                name=f"dlexp_backprop_{i}",
            )
            d.build((None, fan_in))
            dense.append(d)
            acts.append(self._activation(layer["activation"]))
            units.append(n)
            fan_in = n
        x = jnp.asarray([spec["inputs"]], dtype=jnp.float64)
        t = jnp.asarray([spec["targets"]], dtype=jnp.float64)
        loss_fn = self._loss_function(spec["loss"])
        lr, train_biases = spec["learning_rate"], spec["train_biases"]

        def run_forward(params, probes):
            """The loss; each layer's net and out. A probe (zero) is added to each net
            and each out, so that the loss's gradient with respect to it is ∂E/∂net
            (the delta) and ∂E/∂out."""
            h, nets, outs = x, [], []
            for layer, act, (k, b), (p_net, p_out) in zip(dense, acts, params, probes, strict=True):
                net, _ = layer.stateless_call([k, b], [], h)
                net = net + p_net
                h = act(net) + p_out
                nets.append(net[0])
                outs.append(h[0])
            return loss_fn(t, h), (nets, outs)

        grad = jax.value_and_grad(run_forward, argnums=(0, 1), has_aux=True)
        probes = [(jnp.zeros((1, n)), jnp.zeros((1, n))) for n in units]

        def step(params, _):
            (loss, (nets, outs)), (g_params, g_probes) = grad(params, probes)
            new_params, layers = [], []
            for (k, b), (gk, gb), (g_net, g_out), net, out in zip(
                params, g_params, g_probes, nets, outs, strict=True
            ):
                new_k = k - lr * gk
                new_b = b - lr * gb if train_biases else b
                new_params.append((new_k, new_b))
                layers.append((net, out, g_out[0], g_net[0], gk, gb, new_k, new_b))
            return new_params, (loss, layers)

        self._run = jax.jit(lambda params: jax.lax.scan(step, params, None, length=chunk))
        self._loss = jax.jit(lambda params: run_forward(params, probes))

    def _float64(self, name: str, keras_fn, jax_fn, *probe):
        """Keras' function if it computes in float64, else ``jax_fn``: the formula Keras
        applies, in jax.numpy. Keras' JAX backend promotes float64 to float32 in some
        ops (tanh, mean: keras.src.backend.common.dtypes.BIT64_TO_BIT32_DTYPE), which
        would leave its figures 1e-7 off; a probe in float64 (value and gradient) tells."""
        jax = self.jax
        jnp = jax.numpy
        probe = [jnp.asarray(p, dtype=jnp.float64) for p in probe]

        def value_and_grad(fn):
            value, grad = jax.value_and_grad(lambda v: jnp.sum(fn(*probe[:-1], v)))(probe[-1])
            return value, grad

        (ours, our_grad), (theirs, their_grad) = value_and_grad(jax_fn), value_and_grad(keras_fn)
        if all(str(a.dtype) == "float64" for a in (theirs, their_grad)) and all(
            np.allclose(np.asarray(a), np.asarray(b), rtol=1e-14, atol=1e-15)
            for a, b in ((theirs, ours), (their_grad, our_grad))
        ):
            return keras_fn
        self.float32_in_keras.append(name)
        return jax_fn

    def _activation(self, name: str):
        jax = self.jax
        keras_fn = self.keras.activations.get(name)
        jax_fn = {
            "sigmoid": jax.nn.sigmoid,
            "tanh": jax.numpy.tanh,
            "relu": jax.nn.relu,
            "linear": lambda x: x,
            "softmax": jax.nn.softmax,
        }[name]
        return self._float64(name, keras_fn, jax_fn, [[-1.3, 0.1, 0.7]])

    def _loss_function(self, name: str):
        """The loss of the one sample (a scalar): Keras', or the same in jax.numpy."""
        ops, losses, jnp = self.keras.ops, self.keras.losses, self.jax.numpy
        keras_fn = {
            "half_sse": lambda t, o: 0.5 * ops.sum(ops.square(t - o)),
            "mse": lambda t, o: ops.sum(losses.mean_squared_error(t, o)),
            "binary_crossentropy": lambda t, o: ops.sum(losses.binary_crossentropy(t, o)),
        }[name]
        # the elementwise part stays Keras' own; only the mean over outputs is jax.numpy's
        jax_fn = {
            "half_sse": lambda t, o: 0.5 * jnp.sum(jnp.square(t - o)),
            "mse": lambda t, o: jnp.sum(jnp.mean(ops.square(t - o), axis=-1)),
            "binary_crossentropy": lambda t, o: jnp.sum(
                jnp.mean(ops.binary_crossentropy(t, o), axis=-1)
            ),
        }[name]
        label = f"the mean in {name}" if name != "half_sse" else "the sum in half_sse"
        return self._float64(label, keras_fn, jax_fn, [[0.2, 0.9, 0.0]], [[0.3, 0.6, 0.25]])

    def describe(self) -> str:
        """How Keras computed, in a line."""
        text = (
            "jax.value_and_grad through keras.layers.Dense (stateless_call), keras.activations "
            f"and keras.losses in float64 (keras {self.keras.__version__}, jax "
            f"{self.jax.__version__})"
        )
        if self.float32_in_keras:
            names = list(dict.fromkeys(self.float32_in_keras))
            text += (
                f"; {' and '.join(names)} {'is' if len(names) == 1 else 'are'} jax.numpy's, "
                f"as Keras' JAX backend computes {'it' if len(names) == 1 else 'them'} "
                "in float32"
            )
        return text

    def params(self, spec: dict) -> list:
        jnp = self.jax.numpy
        with self.jax.enable_x64(True):
            return [
                (
                    jnp.asarray(layer["weights"], dtype=jnp.float64),
                    jnp.asarray(layer["biases"], dtype=jnp.float64),
                )
                for layer in spec["layers"]
            ]

    def run(self, params: list) -> tuple[list, np.ndarray, list]:
        """``chunk`` steps from ``params``: the weights after them, each step's loss and
        each layer's figures (FIELDS order), stacked over the steps."""
        with self.jax.enable_x64(True):
            params, (loss, layers) = self._run(params)
            loss = np.asarray(loss)
            layers = [tuple(np.asarray(a) for a in layer) for layer in layers]
        return params, loss, layers

    def loss_and_out(self, params: list) -> tuple[float, np.ndarray]:
        with self.jax.enable_x64(True):
            loss, (_, outs) = self._loss(params)
            return float(loss), np.asarray(outs[-1])

    def as_params(self, layers: list, k: int) -> list:
        """The weights after step ``k`` of a chunk (from its records)."""
        jnp = self.jax.numpy
        with self.jax.enable_x64(True):
            return [(jnp.asarray(layer[6][k]), jnp.asarray(layer[7][k])) for layer in layers]


# ---------------------------------------------------------------------------
# Both, compared step by step.
# ---------------------------------------------------------------------------


class _Comparison:
    """The largest difference between the chain rule and Keras so far, and the figures
    beyond TOLERANCE: ``raise_first`` names the earliest."""

    def __init__(self):
        self.max_abs_diff, self.figures = 0.0, 0
        self.failures: list[tuple[int, int, str]] = []  # (step, order checked, message)

    def raise_first(self) -> None:
        if self.failures:
            raise AutodiffMismatch(min(self.failures)[2])

    def check(self, ours: np.ndarray, keras: np.ndarray, where, first: int = 0) -> None:
        """Compare; ``ours``' first axis is the step, counted from ``first``."""
        ours, keras = np.asarray(ours, float), np.asarray(keras, float)
        if keras.shape != ours.shape:
            message = (
                f"Keras' autodiff gave {where(None)} of shape {keras.shape}, the chain rule "
                f"{ours.shape}"
            )
            self.failures.append((first, len(self.failures), message))
            return
        diff = np.abs(ours - keras)
        scaled = diff / np.maximum(1.0, np.abs(ours))
        bad = ~(scaled <= TOLERANCE)  # NaN is bad too
        self.figures += ours.size
        if bad.any():
            index = tuple(np.argwhere(bad)[0])  # the earliest step's first
            message = (
                f"Keras' autodiff disagrees with the chain rule at {where(index)}: "
                f"chain rule {float(ours[index])!r}, Keras {float(keras[index])!r} "
                f"(difference {float(diff[index]):.3g}, tolerance {TOLERANCE:g})"
            )
            self.failures.append((first + int(index[0]), len(self.failures), message))
        if diff.size:
            self.max_abs_diff = max(self.max_abs_diff, float(diff.max()))


def _where(first: int, layer: int | None = None, field: str = ""):
    """Names a figure of a chunk that starts at step ``first``: its index's first axis
    is the step; None for the whole array. ``layer`` None: the loss."""

    def at(index) -> str:
        what = "the loss" if layer is None else f"layers[{layer}] {field}"
        if index is None:
            return f"steps {first}.., {what}"
        rest = "".join(f"[{int(i)}]" for i in index[1:])
        return f"step {first + int(index[0])}, {what}{rest}"

    return at


def _chunk_size(spec: dict, steps: int) -> int:
    """Steps per jitted call: all of them for a small network, fewer for a larger one
    (each step's figures are kept until compared)."""
    per_step = sum(
        4 * len(layer["biases"]) + 2 * len(layer["weights"]) * len(layer["biases"]) + 2
        for layer in spec["layers"]
    )
    return max(1, min(steps, 1000, 400_000 // per_step))


def _numpy_chunk(spec: dict, params: list, first: int, n: int):
    """``n`` steps by the chain rule from ``params``: the new weights, the losses and each
    layer's figures stacked over the steps (FIELDS order)."""
    losses = np.empty(n)
    stacked = None
    with np.errstate(all="ignore"):
        for k in range(n):
            loss, layers, params = numpy_step(spec, params)
            if stacked is None:
                stacked = [tuple(np.empty((n, *a.shape)) for a in layer) for layer in layers]
            losses[k] = loss
            for dst, layer in zip(stacked, layers, strict=True):
                for d, a in zip(dst, layer, strict=True):
                    d[k] = a
            if not math.isfinite(loss) or not all(
                np.isfinite(w).all() and np.isfinite(b).all() for w, b in params
            ):
                what = (
                    "loss stopped being a finite number"
                    if not math.isfinite(loss)
                    else "updated weights stopped being finite numbers"
                )
                raise Diverged(
                    f"step {first + k}: the {what} (the steps diverged); try a smaller "
                    f"learning_rate (got {spec['learning_rate']:g})"
                )
    return params, losses, stacked


def _record(step: int, loss: float, stacked: list, k: int) -> dict:
    """Step ``step`` as JSON: its layers' figures, row ``k`` of a chunk's stacks."""
    return {
        "step": step,
        "loss": float(loss),
        "layers": [
            {f: a[k].tolist() for f, a in zip(FIELDS, layer, strict=True)} for layer in stacked
        ],
    }


def loss_curve_steps(steps: int) -> list[int]:
    """The steps a summary shows the loss at: all up to 12, else 1, 2, 5, 10, 20, 50, ..."""
    if steps <= 12:
        return list(range(1, steps + 1))
    shown, scale = {1, steps}, 1
    while scale <= steps:
        shown.update(m * scale for m in (1, 2, 5) if m * scale <= steps)
        scale *= 10
    return sorted(shown)


def run(spec: dict, steps: int = 1, source: str = "") -> dict:
    """``steps`` steps of gradient descent on ``spec``'s one sample, by the chain rule
    in NumPy and by Keras' autodiff, compared figure by figure.

    Returns a JSON-ready dict: ``steps`` (every step's record when there are at most
    FULL_JSON_STEPS, else the first and the last), ``loss_after`` (after the last
    update), ``losses`` (the loss of every step's forward pass, as a NumPy array; not
    JSON: see ``as_json``), ``autodiff_max_abs_diff`` and more.

    Raises:
        ConfigError: ``steps`` out of range, or a Keras backend other than JAX.
        AutodiffMismatch: Keras and the chain rule disagree beyond TOLERANCE.
        Diverged: the loss or the weights stopped being finite numbers.
    """
    steps = check_steps(steps)
    chunk = _chunk_size(spec, steps)
    keras_steps = KerasSteps(spec, chunk)
    params = [
        (np.asarray(la["weights"], float), np.asarray(la["biases"], float)) for la in spec["layers"]
    ]
    keras_params = keras_steps.params(spec)
    comparison = _Comparison()
    losses = np.empty(steps)
    records, keep_all = [], steps <= FULL_JSON_STEPS
    for first in range(1, steps + 1, chunk):
        n = min(chunk, steps + 1 - first)
        params, chunk_losses, stacked = _numpy_chunk(spec, params, first, n)
        keras_next, keras_losses, keras_layers = keras_steps.run(keras_params)
        # in the order they are computed: the forward pass, the loss, then the backward
        # pass from the output layer down, so that a disagreement is named where it starts
        forward_pass = [(i, f) for i in range(len(stacked)) for f in (0, 1)]
        backward_pass = [(i, f) for i in reversed(range(len(stacked))) for f in range(2, 8)]
        for i, f in forward_pass:
            comparison.check(
                stacked[i][f], keras_layers[i][f][:n], _where(first, i, FIELDS[f]), first
            )
        comparison.check(chunk_losses, keras_losses[:n], _where(first), first)
        for i, f in backward_pass:
            comparison.check(
                stacked[i][f], keras_layers[i][f][:n], _where(first, i, FIELDS[f]), first
            )
        comparison.raise_first()
        losses[first - 1 : first - 1 + n] = chunk_losses
        for k in range(n):
            step = first + k
            if keep_all or step in (1, steps):
                records.append(_record(step, chunk_losses[k], stacked, k))
        keras_params = keras_next if n == chunk else keras_steps.as_params(keras_layers, n - 1)
    _, outs = forward(spec, params)
    loss_after, _ = loss_and_gradient(spec["loss"], outs[-1], np.asarray(spec["targets"], float))
    if not math.isfinite(loss_after):
        raise Diverged(
            f"after step {steps}: the loss stopped being a finite number (the steps diverged); "
            f"try a smaller learning_rate (got {spec['learning_rate']:g})"
        )
    keras_loss_after, keras_out_after = keras_steps.loss_and_out(keras_params)
    after = f"after step {steps}'s update"
    comparison.check(
        np.array([loss_after]), np.array([keras_loss_after]), lambda i: f"the loss {after}"
    )
    comparison.check(
        outs[-1][None],
        keras_out_after[None],
        lambda i: f"the output {after}" + ("" if i is None else f"[{int(i[1])}]"),
    )
    comparison.raise_first()
    records[-1]["loss_after"] = loss_after
    return {
        "source": source,
        "network": {
            k: spec[k]
            for k in ("inputs", "targets", "learning_rate", "loss", "train_biases", "layers")
        },
        "steps_run": steps,
        "steps_shown": "all" if keep_all else "first and last",
        "steps": records,
        "loss_after": loss_after,
        "out_after": outs[-1].tolist(),
        "loss_curve": [{"step": s, "loss": float(losses[s - 1])} for s in loss_curve_steps(steps)],
        "losses": losses,
        "autodiff_max_abs_diff": comparison.max_abs_diff,
        "agreed": True,
        "tolerance": TOLERANCE,
        "figures_compared": comparison.figures,
        "autodiff": keras_steps.describe(),
    }


def as_json(result: dict) -> dict:
    """``run``'s result for json.dumps (without the NumPy array of every step's loss)."""
    return {k: v for k, v in result.items() if k != "losses"}


# ---------------------------------------------------------------------------
# For people: rich tables, layer by layer.
# ---------------------------------------------------------------------------

_LOSS_TEXT = {
    "half_sse": ("E = Σ ½(target − out)²", "½(target − out)²", "out − target"),
    "mse": ("E = mean of (target − out)² (Keras' mse)", "(target − out)²/n", "2(out − target)/n"),
    "binary_crossentropy": (
        "E = mean of −[target·log out + (1 − target)·log(1 − out)] (Keras' binary cross-entropy)",
        "−(t·log out + (1 − t)·log(1 − out))/n",
        "(out − target)/(out(1 − out))/n",
    ),
}
_DERIVATIVE_TEXT = {
    "sigmoid": "out(1 − out)",
    "tanh": "1 − out²",
    "relu": "1 if net > 0 else 0",
    "linear": "1",
}


def num(value: float) -> str:
    """A figure as the post prints them: 9 decimals (0.593269992), small ones to 6
    significant digits (0.0000351085)."""
    value = float(value)
    if not math.isfinite(value):
        return str(value)
    if value == 0 or abs(value) >= 1e-4:
        text = np.format_float_positional(value, precision=9, unique=False, trim="-")
    elif abs(value) >= 1e-12:
        text = np.format_float_positional(value, precision=6, fractional=False, trim="-")
    else:
        text = f"{value:.3e}"
    return "0" if text in ("-0", "0.") else text.rstrip(".")


def unit_names(sizes: list[int]) -> list[list[str]]:
    """i1, i2 for the inputs, h1, h2 for one hidden layer (h1.1, h2.1 for several), o1,
    o2 for the outputs: Mazur's names."""
    layers = len(sizes) - 1
    names = [[f"i{j + 1}" for j in range(sizes[0])]]
    for i in range(1, layers + 1):
        prefix = "o" if i == layers else ("h" if layers == 2 else f"h{i}.")
        names.append([f"{prefix}{j + 1}" for j in range(sizes[i])])
    return names


def weight_names(sizes: list[int]) -> list[list[list[str]]]:
    """w1, w2, ... numbered as in the post: layer by layer, unit by unit, input by input;
    ``names[layer][i][j]`` joins input i to unit j (Keras' layout)."""
    names, count = [], 0
    for fan_in, units in zip(sizes, sizes[1:], strict=False):
        layer = [[""] * units for _ in range(fan_in)]
        for j in range(units):
            for i in range(fan_in):
                count += 1
                layer[i][j] = f"w{count}"
        names.append(layer)
    return names


def _weighted_sum(weights: list, inputs: list, bias: float) -> str:
    """'0.15·0.05 + 0.2·0.1 + 0.35', with signs written out: '0.3·(-1) - 0.2·0.5 - 0.1'."""

    def factor(v: float) -> str:
        return f"({num(v)})" if v < 0 else num(v)

    text = ""
    for w, x in zip(weights, inputs, strict=True):
        if not text:
            text = f"{num(w)}·{factor(x)}"
        else:
            text += f" {'-' if w < 0 else '+'} {num(abs(w))}·{factor(x)}"
    return text + f" {'-' if bias < 0 else '+'} {num(abs(bias))}"


def _table(*columns: str):
    from rich.table import Table

    table = Table(show_edge=False, pad_edge=False)
    for i, column in enumerate(columns):
        table.add_column(column, justify="left" if i == 0 else "right")
    return table


def print_text(console, result: dict) -> None:
    """The first step in full (forward pass, loss, backward pass, gradients and updates),
    then for several steps the loss along the way and the final weights, then the check."""
    from rich.markup import escape

    net_spec = result["network"]
    layers_spec = net_spec["layers"]
    sizes = [len(net_spec["inputs"])] + [len(la["biases"]) for la in layers_spec]
    units, wnames = unit_names(sizes), weight_names(sizes)
    lr = net_spec["learning_rate"]
    loss_name = net_spec["loss"]
    loss_line, term_text, dout_text = _LOSS_TEXT[loss_name]
    first = result["steps"][0]
    steps = result["steps_run"]

    def p(text: str = "") -> None:
        console.print(text, highlight=False, soft_wrap=True)

    p(f"[bold]Backpropagation, step by step[/]: {escape(result['source'])}")
    shape = "-".join(map(str, sizes))
    acts = ", ".join(
        f"{'output' if i == len(layers_spec) - 1 else 'hidden'} {la['activation']}"
        for i, la in enumerate(layers_spec)
    )
    biases = "" if net_spec["train_biases"] else "; biases fixed (train_biases: false)"
    p(f"network {shape} ({acts}); {escape(loss_line)}; learning rate {num(lr)}{biases}")
    p(
        "inputs "
        + ", ".join(f"{n} = {num(v)}" for n, v in zip(units[0], net_spec["inputs"], strict=True))
        + "; targets "
        + ", ".join(f"{n} = {num(v)}" for n, v in zip(units[-1], net_spec["targets"], strict=True))
    )
    p()

    # Forward pass.
    inputs = list(net_spec["inputs"])
    for i, (la, rec) in enumerate(zip(layers_spec, first["layers"], strict=True)):
        kind = "output" if i == len(layers_spec) - 1 else "hidden"
        p(f"[bold]Step 1, forward pass, layer {i + 1}[/] ({kind}, {la['activation']})")
        table = _table(
            "unit",
            "net = Σ weight·input + bias",
            "net",
            f"out = {la['activation']}(net)",
        )
        for j, name in enumerate(units[i + 1]):
            if len(inputs) <= 4:
                formula = _weighted_sum(
                    [la["weights"][r][j] for r in range(len(inputs))], inputs, la["biases"][j]
                )
            else:
                formula = "…"
            table.add_row(name, formula, num(rec["net"][j]), num(rec["out"][j]))
        console.print(table)
        p()
        inputs = rec["out"]

    # Loss.
    out = np.asarray(first["layers"][-1]["out"])
    target = np.asarray(net_spec["targets"], float)
    terms = loss_terms(loss_name, out, target)
    p(f"[bold]Loss[/]: {escape(loss_line)}")
    table = _table("unit", "target", "out", escape(term_text))
    for j, name in enumerate(units[-1]):
        table.add_row(name, num(target[j]), num(out[j]), num(terms[j]))
    console.print(table)
    p(f"E = {num(first['loss'])}")
    p()

    # Backward pass, output layer first.
    for i in range(len(layers_spec) - 1, -1, -1):
        la, rec = layers_spec[i], first["layers"][i]
        act = la["activation"]
        names = units[i + 1]
        if i == len(layers_spec) - 1:
            dout_head = f"∂E/∂out = {dout_text}"
        else:
            dout_head = "∂E/∂out = Σ weight·delta (layer above)"
        net, o = np.asarray(rec["net"]), np.asarray(rec["out"])
        d = derivative(act, net, o)
        span = names[0] if len(names) == 1 else f"{names[0]}..{names[-1]}"
        p(f"[bold]Step 1, backward pass, layer {i + 1}[/] ({span}, {act})")
        table = _table(
            "unit",
            dout_head,
            "∂out/∂net" + (f" = {_DERIVATIVE_TEXT[act]}" if d is not None else ""),
            "delta = ∂E/∂net",
        )
        above = units[i + 2] if i + 1 < len(layers_spec) else None
        for j, name in enumerate(names):
            dout = num(rec["dE_dout"][j])
            if above is not None and len(above) <= 3:
                up = wnames[i + 1][j]
                dout = " + ".join(f"{up[k]}·δ{above[k]}" for k in range(len(above))) + f" = {dout}"
            table.add_row(
                name,
                dout,
                num(d[j]) if d is not None else "(softmax)",
                num(rec["delta"][j]),
            )
        console.print(table)
        if d is None:
            p("softmax couples its units: delta = out·(∂E/∂out − Σ out·∂E/∂out)")
        p()
        fan_in = units[i]
        kept = "" if net_spec["train_biases"] else "; biases fixed"
        p(
            f"[bold]Step 1, gradients and updates, layer {i + 1}[/]: ∂E/∂w = delta × input, "
            f"w ← w − {num(lr)}·∂E/∂w{kept}"
        )
        table = _table(
            "weight",
            "joins",
            "∂E/∂w",
            "before",
            "after",
        )
        for j, name in enumerate(names):
            for r, source in enumerate(fan_in):
                table.add_row(
                    wnames[i][r][j],
                    f"{source} → {name}",
                    num(rec["grad_weights"][r][j]),
                    num(la["weights"][r][j]),
                    num(rec["weights_after"][r][j]),
                )
        for j, name in enumerate(names):
            table.add_row(
                f"b({name})",
                f"bias → {name}",
                num(rec["grad_biases"][j]),
                num(la["biases"][j]),
                num(rec["biases_after"][j]) + ("" if net_spec["train_biases"] else " (fixed)"),
            )
        console.print(table)
        p()

    after = result["loss_after"] if steps == 1 else result["losses"][1]
    p(f"After step 1's update: E = {num(after)} (before: {num(first['loss'])})")

    if steps > 1:
        p()
        p(f"[bold]Loss over {steps:,} steps[/]")
        table = _table("step", "E (the step's forward pass)")
        for row in result["loss_curve"]:
            table.add_row(f"{row['step']:,}", num(row["loss"]))
        table.add_row(f"after step {steps:,}'s update", num(result["loss_after"]))
        console.print(table)
        p()
        last = result["steps"][-1]
        p(f"[bold]Weights after {steps:,} steps[/]")
        table = _table("weight", "joins", "start", "now")
        for i, (la, rec) in enumerate(zip(layers_spec, last["layers"], strict=True)):
            for j, name in enumerate(units[i + 1]):
                for r, source in enumerate(units[i]):
                    table.add_row(
                        wnames[i][r][j],
                        f"{source} → {name}",
                        num(la["weights"][r][j]),
                        num(rec["weights_after"][r][j]),
                    )
            for j, name in enumerate(units[i + 1]):
                table.add_row(
                    f"b({name})",
                    f"bias → {name}",
                    num(la["biases"][j]),
                    num(rec["biases_after"][j]),
                )
        console.print(table)
        p(
            "outputs now: "
            + ", ".join(
                f"{n} = {num(o)} (target {num(t)})"
                for n, o, t in zip(units[-1], result["out_after"], net_spec["targets"], strict=True)
            )
        )
    p()
    every = "every figure above" if steps == 1 else f"every figure of all {steps:,} steps"
    p(
        f"[green]✓ Keras' autodiff agrees[/]: {every} ({result['figures_compared']:,} in all) "
        f"computed again by {escape(result['autodiff'])}: max abs diff "
        f"{result['autodiff_max_abs_diff']:.2g} (tolerance {result['tolerance']:g})"
    )
