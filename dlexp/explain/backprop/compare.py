"""The chain rule and Keras compared figure by figure: how many figures, the largest
difference, and the first one beyond TOLERANCE named by step, layer and field."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from dlexp.explain.backprop.records import (
    BACKWARD_FIELDS,
    FORWARD_FIELDS,
    AutodiffMismatch,
    LayerStep,
)

TOLERANCE = 1e-6  # absolute; relative for figures larger than 1 in size

# Names a figure from its index in the array compared (None: the whole array).
Where = Callable[[tuple | None], str]


def figure_name(first: int, layer: int | None = None, field: str = "") -> Where:
    """Names a figure of a chunk that starts at step ``first``: its index's first axis
    is the step; None for the whole array. ``layer`` None: the loss."""

    def at(index) -> str:
        what = "the loss" if layer is None else f"layers[{layer}] {field}"
        if index is None:
            return f"steps {first}.., {what}"
        rest = "".join(f"[{int(i)}]" for i in index[1:])
        return f"step {first + int(index[0])}, {what}{rest}"

    return at


class Comparison:
    """The largest difference between the chain rule and Keras so far, the number of
    figures compared, and the figures beyond TOLERANCE: ``raise_first`` names the
    earliest."""

    def __init__(self):
        self.max_abs_diff, self.figures = 0.0, 0
        self.failures: list[tuple[int, int, str]] = []  # (step, order checked, message)

    def raise_first(self) -> None:
        if self.failures:
            raise AutodiffMismatch(min(self.failures)[2])

    def check(self, ours: np.ndarray, keras: np.ndarray, where: Where, first: int = 0) -> None:
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

    def chunk(
        self,
        first: int,
        n: int,
        losses: np.ndarray,
        layers: list[LayerStep],
        keras_losses: np.ndarray,
        keras_layers: list[LayerStep],
    ) -> None:
        """A chunk of ``n`` steps from step ``first``, compared in the order the figures
        are computed: the forward pass, the loss, then the backward pass from the output
        layer down, so that a disagreement is named where it starts. Raises
        AutodiffMismatch at the earliest disagreement."""

        def fields(i: int, names: tuple[str, ...]) -> None:
            for name in names:
                ours, theirs = getattr(layers[i], name), getattr(keras_layers[i], name)
                self.check(ours, theirs[:n], figure_name(first, i, name), first)

        for i in range(len(layers)):
            fields(i, FORWARD_FIELDS)
        self.check(losses, keras_losses[:n], figure_name(first), first)
        for i in reversed(range(len(layers))):
            fields(i, BACKWARD_FIELDS)
        self.raise_first()

    def after(
        self, steps: int, loss: float, out: np.ndarray, keras_loss: float, keras_out: np.ndarray
    ) -> None:
        """The loss and the output after the last step's update. Raises AutodiffMismatch
        if they disagree."""
        after = f"after step {steps}'s update"
        self.check(np.array([loss]), np.array([keras_loss]), lambda i: f"the loss {after}")
        self.check(
            out[None],
            keras_out[None],
            lambda i: f"the output {after}" + ("" if i is None else f"[{int(i[1])}]"),
        )
        self.raise_first()
