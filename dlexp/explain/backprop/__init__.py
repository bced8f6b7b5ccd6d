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

A file (YAML) describes another network: see ``schema``.

The parts, in the order the data flows:

* ``schema``: the file read, checked (exit 2 naming the key) and normalised; Mazur's network.
* ``records``: the named records (``Params``, ``LayerStep``, ``Step``) and the failures.
* ``chain``: the chain rule written out in NumPy, float64.
* ``autodiff``: the same steps by Keras' Dense layers and ``jax.value_and_grad``.
* ``compare``: both compared figure by figure; the first disagreement named.
* ``steps``: ``run``, the steps by both, compared, as the JSON document.
* ``text``: ``print_text``, the document for people.
"""

from __future__ import annotations

from dlexp.explain.backprop.autodiff import KerasSteps
from dlexp.explain.backprop.chain import (
    EPSILON,
    activate,
    derivative,
    forward,
    loss_and_gradient,
    loss_terms,
    numpy_step,
)
from dlexp.explain.backprop.compare import TOLERANCE, Comparison
from dlexp.explain.backprop.records import (
    FIELDS,
    AutodiffMismatch,
    BackpropFailed,
    Diverged,
    LayerStep,
    Params,
    Step,
)
from dlexp.explain.backprop.schema import (
    ACTIVATIONS,
    LOSSES,
    MAX_LAYERS,
    MAX_STEPS,
    MAX_UNITS,
    MAZUR,
    MAZUR_SOURCE,
    check_steps,
    load,
    validate,
)
from dlexp.explain.backprop.steps import FULL_JSON_STEPS, as_json, loss_curve_steps, run
from dlexp.explain.backprop.text import num, print_text, unit_names, weight_names

__all__ = [
    "ACTIVATIONS",
    "EPSILON",
    "FIELDS",
    "FULL_JSON_STEPS",
    "LOSSES",
    "MAX_LAYERS",
    "MAX_STEPS",
    "MAX_UNITS",
    "MAZUR",
    "MAZUR_SOURCE",
    "TOLERANCE",
    "AutodiffMismatch",
    "BackpropFailed",
    "Comparison",
    "Diverged",
    "KerasSteps",
    "LayerStep",
    "Params",
    "Step",
    "activate",
    "as_json",
    "check_steps",
    "derivative",
    "forward",
    "load",
    "loss_and_gradient",
    "loss_curve_steps",
    "loss_terms",
    "num",
    "numpy_step",
    "print_text",
    "run",
    "unit_names",
    "validate",
    "weight_names",
]
