"""The chain rule, written out in NumPy (float64): forward pass, loss, deltas, gradients
and the update, one step at a time."""

from __future__ import annotations

import math

import numpy as np

from dlexp.explain.backprop.records import Diverged, LayerStep, Params, Step

EPSILON = 1e-7  # keras.config.epsilon(): binary cross-entropy clips outputs to [eps, 1 - eps]


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


def start_params(spec: dict) -> list[Params]:
    """The file's weights and biases as float64 arrays."""
    return [
        Params(np.asarray(la["weights"], float), np.asarray(la["biases"], float))
        for la in spec["layers"]
    ]


def forward(spec: dict, params: list) -> tuple[list, list]:
    """Every layer's net input and output; ``params`` holds (weights, biases) pairs."""
    h, nets, outs = np.asarray(spec["inputs"], float), [], []
    for layer, (w, b) in zip(spec["layers"], params, strict=True):
        net = h @ w + b
        h = activate(layer["activation"], net)
        nets.append(net)
        outs.append(h)
    return nets, outs


def loss_after(spec: dict, params: list) -> tuple[float, np.ndarray]:
    """The loss at ``params`` and the last layer's output."""
    _, outs = forward(spec, params)
    loss, _ = loss_and_gradient(spec["loss"], outs[-1], np.asarray(spec["targets"], float))
    return loss, outs[-1]


def numpy_step(spec: dict, params: list) -> Step:
    """One step: the loss, each layer's figures and the new weights."""
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
        layers[i] = LayerStep(
            net=net,
            out=out,
            dE_dout=g,
            delta=delta,
            grad_weights=grad_w,
            grad_biases=delta.copy(),
            weights_after=new_w,
            biases_after=new_b,
        )
        new_params[i] = Params(new_w, new_b)
        g = w @ delta  # ∂E/∂out of the layer below, through the weights before the update
    return Step(loss, layers, new_params)


def numpy_chunk(
    spec: dict, params: list, first: int, n: int
) -> tuple[list[Params], np.ndarray, list[LayerStep]]:
    """``n`` steps by the chain rule from ``params``, the first being step ``first``: the
    new weights, the losses and each layer's figures stacked over the steps.

    Raises:
        Diverged: naming the step whose loss or updated weights stopped being finite.
    """
    losses = np.empty(n)
    stacked: list[LayerStep] = []
    with np.errstate(all="ignore"):
        for k in range(n):
            step = numpy_step(spec, params)
            params = step.params
            if not stacked:
                stacked = [
                    LayerStep._make(np.empty((n, *a.shape)) for a in layer) for layer in step.layers
                ]
            losses[k] = step.loss
            for dst, layer in zip(stacked, step.layers, strict=True):
                for d, a in zip(dst, layer, strict=True):
                    d[k] = a
            if not math.isfinite(step.loss) or not all(
                np.isfinite(w).all() and np.isfinite(b).all() for w, b in params
            ):
                what = (
                    "loss stopped being a finite number"
                    if not math.isfinite(step.loss)
                    else "updated weights stopped being finite numbers"
                )
                raise Diverged(
                    f"step {first + k}: the {what} (the steps diverged); try a smaller "
                    f"learning_rate (got {spec['learning_rate']:g})"
                )
    return params, losses, stacked
