"""``dlexp.explain.backprop(...)``, ``activations(...)`` and ``optimizers(...)``: the
``dlexp explain`` commands as Python functions returning data (the JSON documents
the commands print), shown in a notebook as tables and pictures.

Keras is imported when a function runs, never at import."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from dlexp.api import html as show


class Backprop:
    """Backpropagation worked by hand and checked against Keras' autodiff.

    Attributes:
        data: the document ``dlexp explain backprop --format json`` prints: ``network``,
            ``steps`` (each with ``loss`` and per layer ``net``, ``out``, ``dE_dout``,
            ``delta``, ``grad_weights``, ``grad_biases``, ``weights_after``,
            ``biases_after``), ``loss_after``, ``agreed``, ``autodiff_max_abs_diff``.
        losses: the loss of every step's forward pass (a NumPy array).
    """

    def __init__(self, result: dict):
        from dlexp.explain.backprop import as_json

        self.data = as_json(result)
        self.losses = result["losses"]

    def __repr__(self) -> str:
        return (
            f"Backprop(steps_run={self.data['steps_run']}, loss_after={self.loss_after!r}, "
            f"agreed={self.agreed})"
        )

    @property
    def steps(self) -> list[dict]:
        """Each step shown: ``step``, ``loss`` and ``layers`` (one dict per layer)."""
        return self.data["steps"]

    @property
    def loss_after(self) -> float:
        """The loss after the last update."""
        return self.data["loss_after"]

    @property
    def agreed(self) -> bool:
        """Whether every figure of the chain rule agreed with Keras' autodiff."""
        return bool(self.data["agreed"])

    def layer(self, step: int = 1, layer: int = 1):
        """One layer of one step (both from 1) as a ``pandas.DataFrame``: a row per
        unit with its net input, output, ∂E/∂out, delta, bias gradient and new bias."""
        import pandas as pd

        shown = {s["step"]: s for s in self.steps}
        lay = shown[step]["layers"][layer - 1]
        units = len(lay["net"])
        cols = ("net", "out", "dE_dout", "delta", "grad_biases", "biases_after")
        return pd.DataFrame(
            {c: lay[c] for c in cols if len(lay.get(c) or []) == units},
            index=pd.Index(range(1, units + 1), name="unit"),
        )

    def _repr_html_(self) -> str:
        first = self.steps[0]
        parts = [
            show.heading(
                f"Backpropagation: step {first['step']}, loss {show.number(first['loss'], 9)}",
                f"{self.data['steps_run']} steps; loss after {show.number(self.loss_after, 9)}; "
                f"Keras agreed: {self.agreed}",
            )
        ]
        for i, lay in enumerate(first["layers"], start=1):
            rows = [
                [j + 1, *(lay[c][j] for c in ("net", "out", "dE_dout", "delta"))]
                for j in range(len(lay["net"]))
            ]
            parts.append(f"<div>layer {i}</div>")
            parts.append(show.table(["unit", "net", "out", "∂E/∂out", "delta"], rows))
            grads = [
                [f"w[{a + 1}][{b + 1}]", w, g, after]
                for a, (wr, gr, ar) in enumerate(
                    zip(
                        _weights_before(self.data, first, i),
                        lay["grad_weights"],
                        lay["weights_after"],
                        strict=True,
                    )
                )
                for b, (w, g, after) in enumerate(zip(wr, gr, ar, strict=True))
            ]
            parts.append(show.table(["weight", "before", "∂E/∂w", "after"], grads))
        return "".join(parts)


def _weights_before(data: dict, step: dict, layer: int) -> list:
    """A layer's weights before ``step``: the network's at step 1, else the step
    before's weights_after (shown only when that step is)."""
    if step["step"] == 1:
        return data["network"]["layers"][layer - 1]["weights"]
    before = {s["step"]: s for s in data["steps"]}.get(step["step"] - 1)
    grads = step["layers"][layer - 1]["grad_weights"]
    if before is None:
        return [[None] * len(r) for r in grads]
    return before["layers"][layer - 1]["weights_after"]


def backprop(steps: int = 1, network: str | Path | None = None) -> Backprop:
    """Backpropagation worked step by step (``dlexp explain backprop``): Matt Mazur's
    2-2-2 sigmoid network, or the network a YAML file describes, every figure computed
    by the chain rule in NumPy and again by Keras' autodiff.

    Args:
        steps: gradient-descent steps, 1 to 100,000.
        network: a YAML file describing another network (see ``dlexp explain backprop
            --help``); None: Mazur's.

    Raises:
        ConfigError: a bad file or number of steps.
        dlexp.explain.backprop.BackpropFailed: Keras disagreed, or the steps diverged.
    """
    from dlexp.explain import backprop as bp

    spec, source = bp.load(network)
    steps = bp.check_steps(steps)
    return Backprop(bp.run(spec, steps, source))


class Activations:
    """Activation functions and their derivatives (``dlexp explain activations``).

    Attributes:
        records: each function's row, as ``--format json`` prints it.
        png: the picture (PNG bytes) the command writes.
    """

    def __init__(self, curves):
        from dlexp.explain import activations as act

        self.curves = curves
        self.records = act.records(curves)
        self.png = act.draw(curves)

    @property
    def df(self):
        """The records as a ``pandas.DataFrame``, one row per function."""
        import pandas as pd

        return pd.DataFrame.from_records(self.records)

    def _repr_html_(self) -> str:
        return show.image(self.png, 720, style="") + show.frame(self.df, 30)


def activations(*names: str) -> Activations:
    """Each activation (default: the notebook's twelve) over [-5, 5] with its derivative
    by JAX's autodiff, as ``dlexp explain activations`` computes them.

    Raises:
        ConfigError: an unknown activation name.
    """
    from dlexp.explain import activations as act

    return Activations(act.compute(act.check_names(names)))


class Optimizers:
    """Keras' optimizers minimising a function of (x, y) (``dlexp explain optimizers``).

    Attributes:
        records: the document ``--format json`` prints (each optimizer's path's end).
        png: the picture (PNG bytes) the command writes.
    """

    def __init__(self, result):
        from dlexp.explain import optimizers as opt

        self.result = result
        self.records = opt.records(result)
        self.png = opt.draw(result)

    def _repr_html_(self) -> str:
        rows = self.records.get("optimizers") or []
        if rows and isinstance(rows, list) and isinstance(rows[0], dict):
            keys = [k for k in rows[0] if not isinstance(rows[0][k], (list, dict))]
            table = show.table(keys, [[r.get(k) for k in keys] for r in rows])
        else:
            table = ""
        return show.image(self.png, 640, style="") + table


def optimizers(
    surface: str = "rosenbrock",
    names: str | Sequence[str] | None = None,
    steps: int | None = None,
    lr: float | None = None,
) -> Optimizers:
    """The paths of Keras' optimizers from the same start on a surface (rosenbrock,
    beale, saddle, ravine), as ``dlexp explain optimizers`` draws them.

    Raises:
        ConfigError: an unknown surface or optimizer, or steps or lr out of range.
    """
    from dlexp.explain import optimizers as opt

    opt.check(surface, names, steps, lr)
    return Optimizers(opt.run(surface, names, steps, lr))
