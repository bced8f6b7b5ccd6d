"""What a step is made of, named, and how a run of steps can fail.

The records are NamedTuples, so JAX takes them as they are (a ``lax.scan`` stacks each
field over the steps) and NumPy code can still unpack them. A ``LayerStep`` holds one
layer's figures in one step, or, stacked over a chunk of steps, one array per field
whose first axis is the step.
"""

from __future__ import annotations

from typing import Any, NamedTuple

from dlexp.core.errors import DlexpError


class Params(NamedTuple):
    """One layer's weights (Keras' layout: ``weights[i][j]`` joins input i to unit j)
    and biases."""

    weights: Any
    biases: Any


class LayerStep(NamedTuple):
    """One layer's figures in one step. The field names are the JSON document's keys,
    in its order."""

    net: Any  # Σ weight·input + bias, one per unit
    out: Any  # activation(net)
    dE_dout: Any  # ∂E/∂out
    delta: Any  # ∂E/∂net
    grad_weights: Any  # ∂E/∂w: input × delta
    grad_biases: Any  # ∂E/∂b: the delta
    weights_after: Any  # w − learning_rate·∂E/∂w
    biases_after: Any  # b − learning_rate·∂E/∂b, or b where biases stay fixed

    @property
    def params_after(self) -> Params:
        return Params(self.weights_after, self.biases_after)


# What each step records for each layer, in this order (JSON keys and the Keras check's).
FIELDS: tuple[str, ...] = LayerStep._fields
# The forward pass's figures, compared before the loss; the backward pass's after it.
FORWARD_FIELDS = FIELDS[:2]
BACKWARD_FIELDS = FIELDS[2:]


class Step(NamedTuple):
    """One step by the chain rule: the loss of its forward pass, each layer's figures and
    the weights after its update."""

    loss: float
    layers: list[LayerStep]
    params: list[Params]


class BackpropFailed(DlexpError):
    """The steps could not be shown: they diverged, or Keras disagrees (exit code 1)."""


class AutodiffMismatch(BackpropFailed):
    """Keras' autodiff and the chain rule in NumPy disagree beyond TOLERANCE."""


class Diverged(BackpropFailed):
    """A loss, weight or gradient stopped being a finite number."""
