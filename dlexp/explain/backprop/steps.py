"""``run``: the steps by the chain rule and by Keras, a chunk at a time, compared, and
the JSON document they make."""

from __future__ import annotations

import math

import numpy as np

from dlexp.explain.backprop.autodiff import KerasSteps
from dlexp.explain.backprop.chain import loss_after, numpy_chunk, start_params
from dlexp.explain.backprop.compare import TOLERANCE, Comparison
from dlexp.explain.backprop.records import FIELDS, Diverged, LayerStep
from dlexp.explain.backprop.schema import check_steps

FULL_JSON_STEPS = 100  # up to this many steps, JSON holds every step; beyond, the first and last
NETWORK_KEYS = ("inputs", "targets", "learning_rate", "loss", "train_biases", "layers")


def _chunk_size(spec: dict, steps: int) -> int:
    """Steps per jitted call: all of them for a small network, fewer for a larger one
    (each step's figures are kept until compared)."""
    per_step = sum(
        4 * len(layer["biases"]) + 2 * len(layer["weights"]) * len(layer["biases"]) + 2
        for layer in spec["layers"]
    )
    return max(1, min(steps, 1000, 400_000 // per_step))


def _record(step: int, loss: float, stacked: list[LayerStep], k: int) -> dict:
    """Step ``step`` as JSON: its layers' figures, row ``k`` of a chunk's stacks."""
    return {
        "step": step,
        "loss": float(loss),
        "layers": [{f: getattr(layer, f)[k].tolist() for f in FIELDS} for layer in stacked],
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
    params = start_params(spec)
    keras_params = keras_steps.params(spec)
    comparison = Comparison()
    losses = np.empty(steps)
    records, keep_all = [], steps <= FULL_JSON_STEPS
    for first in range(1, steps + 1, chunk):
        n = min(chunk, steps + 1 - first)
        params, chunk_losses, stacked = numpy_chunk(spec, params, first, n)
        keras_next, keras_losses, keras_layers = keras_steps.run(keras_params)
        comparison.chunk(first, n, chunk_losses, stacked, keras_losses, keras_layers)
        losses[first - 1 : first - 1 + n] = chunk_losses
        for k in range(n):
            step = first + k
            if keep_all or step in (1, steps):
                records.append(_record(step, chunk_losses[k], stacked, k))
        keras_params = keras_next if n == chunk else keras_steps.as_params(keras_layers, n - 1)
    loss, out = loss_after(spec, params)
    if not math.isfinite(loss):
        raise Diverged(
            f"after step {steps}: the loss stopped being a finite number (the steps diverged); "
            f"try a smaller learning_rate (got {spec['learning_rate']:g})"
        )
    comparison.after(steps, loss, out, *keras_steps.loss_and_out(keras_params))
    records[-1]["loss_after"] = loss
    return {
        "source": source,
        "network": {k: spec[k] for k in NETWORK_KEYS},
        "steps_run": steps,
        "steps_shown": "all" if keep_all else "first and last",
        "steps": records,
        "loss_after": loss,
        "out_after": out.tolist(),
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
