"""Activation functions and their derivatives, as Keras computes them.

Each function is Keras' own (``keras.activations.get(name)``); its derivative comes
from JAX's autodiff through that same function (``jax.vmap(jax.grad(f))``), so the
picture shows what backpropagation multiplies by, kinks and all (relu'(0) is 0 in
JAX). The lesson of the notebook is in the table: sigmoid's derivative is at most
0.25 and every saturating function's derivative is near 0 at the ends, so a gradient
backpropagated through many such layers vanishes.

Keras, JAX and matplotlib are imported inside the functions: ``dlexp --help`` must
not pay for them.
"""

from __future__ import annotations

import io
import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from dlexp.core.errors import ConfigError, unknown_name

# The notebook's set, in its order (swish is Keras' name for silu).
DEFAULT_NAMES = (
    "sigmoid",
    "tanh",
    "relu",
    "leaky_relu",
    "elu",
    "selu",
    "softplus",
    "softsign",
    "swish",
    "gelu",
    "linear",
    "hard_sigmoid",
)
# Keras 3's element-wise activations that need no argument but x (softmax, glu,
# sparsemax and log_softmax work along an axis; threshold needs two more arguments).
KNOWN = tuple(
    sorted(
        {
            *DEFAULT_NAMES,
            "celu",
            "exponential",
            "hard_shrink",
            "hard_silu",
            "hard_swish",
            "hard_tanh",
            "log_sigmoid",
            "mish",
            "relu6",
            "silu",
            "soft_shrink",
            "sparse_plus",
            "sparse_sigmoid",
            "squareplus",
            "tanh_shrink",
        }
    )
)
# Keras activations that are not one number to one number.
NOT_ELEMENTWISE = {
    "softmax": "works along an axis (a vector to a vector)",
    "log_softmax": "works along an axis (a vector to a vector)",
    "sparsemax": "works along an axis (a vector to a vector)",
    "glu": "works along an axis (halves it)",
    "threshold": "needs two more arguments (threshold, default_value)",
}
X_MIN, X_MAX = -5.0, 5.0
POINTS = 1001  # x every 0.01 over [-5, 5]
# |f'| below this at an end of [-5, 5]: the gradient has (nearly) vanished there.
VANISHES = 0.05
# The table's columns: record key -> header.
COLUMNS = {
    "f_at_0": "f(0)",
    "df_at_0": "f'(0)",
    "max_abs_df": "max |f'|",
    "df_at_minus_5": "f'(-5)",
    "df_at_5": "f'(5)",
}


@dataclass
class Curve:
    """One activation over [X_MIN, X_MAX]: its values, its derivative and a summary."""

    name: str
    keras_name: str  # the function Keras returns (swish -> silu)
    x: Any  # NumPy arrays
    f: Any
    df: Any
    record: dict


def check_names(names: Sequence[str]) -> list[str]:
    """The names to draw (the default set when none), each known; duplicates dropped."""
    chosen = list(dict.fromkeys(n.strip().lower() for n in names)) or list(DEFAULT_NAMES)
    for name in chosen:
        if name in NOT_ELEMENTWISE:
            raise ConfigError(
                f"{name!r} {NOT_ELEMENTWISE[name]}, so it has no curve f(x) to draw; "
                f"expected one of: {', '.join(KNOWN)}",
                "activation",
            )
        if name not in KNOWN:
            raise unknown_name("activation", name, KNOWN)
    return chosen


def _function(name: str):
    import keras

    try:
        return keras.activations.get(name)
    except (ValueError, TypeError):
        raise ConfigError(
            f"{name!r} is not in the installed Keras {keras.__version__}", "activation"
        ) from None


def evaluate(name: str, x) -> tuple[Any, Any]:
    """f(x) and f'(x) for Keras' activation ``name`` at each point of ``x`` (NumPy
    arrays), the derivative by JAX autodiff through Keras' function."""
    import jax
    import numpy as np

    f = _function(name)
    both = jax.jit(jax.vmap(jax.value_and_grad(lambda v: f(v))))
    fx, dfx = both(jax.numpy.asarray(np.asarray(x, dtype="float32")))
    return np.asarray(fx, dtype="float64"), np.asarray(dfx, dtype="float64")


def derivative(name: str, x) -> Any:
    """f'(x) for Keras' activation ``name`` at each point of ``x``, by JAX autodiff."""
    return evaluate(name, x)[1]


def _vanishes(left: float, right: float) -> str:
    sides = [s for s, d in (("left", left), ("right", right)) if abs(d) < VANISHES]
    return "both" if len(sides) == 2 else (sides[0] if sides else "none")


def compute(names: Sequence[str] = ()) -> list[Curve]:
    """Each activation and its derivative over [-5, 5], with its table row."""
    import numpy as np

    chosen = check_names(names)
    x = np.linspace(X_MIN, X_MAX, POINTS)
    curves = []
    for name in chosen:
        # x and then 0 exactly (float rounding may leave linspace's middle point off 0)
        f, df = evaluate(name, np.append(x, 0.0))
        (f, f0), (df, df0) = (f[:-1], f[-1]), (df[:-1], df[-1])
        left, right = df[0], df[-1]
        record = {
            "name": name,
            "keras": _function(name).__name__,
            "min": float(f.min()),
            "max": float(f.max()),
            "f_at_0": float(f0),
            "df_at_0": float(df0),
            "max_abs_df": float(np.abs(df).max()),
            "df_at_minus_5": float(left),
            "df_at_5": float(right),
            "vanishes": _vanishes(left, right),
        }
        curves.append(Curve(name, record["keras"], x, f, df, record))
    return curves


def records(curves: Sequence[Curve]) -> list[dict]:
    return [c.record for c in curves]


def _broken(df):
    """f' with NaN at its jumps (relu's at 0), so the line breaks instead of rising
    vertically there."""
    import numpy as np

    out = np.array(df, dtype="float64")
    jumps = np.flatnonzero(np.abs(np.diff(out)) > 0.1) + 1
    out[jumps] = np.nan
    return out


def _title(curve: Curve) -> str:
    return curve.name if curve.keras_name == curve.name else f"{curve.name} ({curve.keras_name})"


def draw(curves: Sequence[Curve], columns: int = 4) -> bytes:
    """A grid of small panels: f solid, f' dashed, over [-5, 5]. PNG bytes."""
    import numpy as np
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure
    from matplotlib.lines import Line2D

    columns = max(1, min(columns, len(curves)))
    rows = math.ceil(len(curves) / columns)
    fig = Figure(figsize=(2.7 * columns, 2.25 * rows + 0.7))
    FigureCanvasAgg(fig)
    top = 1 - 0.7 / fig.get_size_inches()[1]
    fig.subplots_adjust(left=0.06, right=0.98, bottom=0.05, top=top, wspace=0.25, hspace=0.45)
    for i, curve in enumerate(curves):
        ax = fig.add_subplot(rows, columns, i + 1)
        ax.axhline(0, color="0.6", linewidth=0.6)
        ax.axvline(0, color="0.6", linewidth=0.6)
        ax.plot(curve.x, curve.f, color="C0", linewidth=1.8)
        ax.plot(curve.x, _broken(curve.df), color="C3", linewidth=1.5, linestyle="--")
        low = min(curve.f.min(), curve.df.min())
        high = max(curve.f.max(), curve.df.max())
        pad = 0.08 * max(high - low, 1.0)
        ax.set_ylim(low - pad, high + pad)
        ax.set_xlim(X_MIN, X_MAX)
        ax.set_xticks(np.arange(-4, 5, 2))
        ax.tick_params(labelsize=7)
        ax.grid(alpha=0.25)
        r = curve.record
        ax.set_title(
            f"{_title(curve)}\nf'(0) = {r['df_at_0']:.3g}   max |f'| = {r['max_abs_df']:.3g}",
            fontsize=8.5,
        )
    handles = [
        Line2D([], [], color="C0", linewidth=1.8, label="f(x)"),
        Line2D([], [], color="C3", linewidth=1.5, linestyle="--", label="f'(x)  (JAX autodiff)"),
    ]
    fig.legend(handles=handles, loc="upper right", ncol=2, fontsize=9, frameon=False)
    fig.suptitle("Keras activations and their derivatives", x=0.06, ha="left", fontsize=11)
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=100)
    return buf.getvalue()


def _num(value: float) -> str:
    if value == 0:
        return "0"
    return f"{value:.3g}" if 1e-3 <= abs(value) < 1e3 else f"{value:.1e}"


def table(curves: Sequence[Curve]):
    """The summary as a rich Table, with the vanishing-gradient lesson as its caption."""
    from rich.table import Table

    t = Table(show_edge=False, pad_edge=False, title_justify="left")
    t.add_column("activation")
    t.add_column("f on [-5, 5]", justify="right")
    for header in COLUMNS.values():
        t.add_column(header, justify="right")
    t.add_column("f' vanishes")
    for c in curves:
        r = c.record
        t.add_row(
            _title(c),
            f"{_num(r['min'])} .. {_num(r['max'])}",
            *(_num(r[k]) for k in COLUMNS),
            {"both": "both ends", "left": "x → -5", "right": "x → 5", "none": "-"}[r["vanishes"]],
        )
    t.caption = caption(curves)
    t.caption_justify = "left"
    return t


def caption(curves: Sequence[Curve]) -> str:
    """What the table teaches, said with the numbers of the weakest derivative shown."""
    text = f"f' vanishes: |f'| < {VANISHES} at that end of [-5, 5] (the function saturates)."
    weak = [c for c in curves if c.record["max_abs_df"] < 0.9]
    if weak:
        c = next((c for c in weak if c.name == "sigmoid"), weak[0])
        peak = c.record["max_abs_df"]
        others = ", ".join(f"{o.name}'s {o.record['max_abs_df']:.3g}" for o in weak if o is not c)
        text += (
            f"\n{c.name}'s derivative is at most {peak:.3g}"
            + (f" ({others})" if others else "")
            + f": backpropagated through 10 {c.name} layers, a gradient shrinks by "
            f"{peak:.3g}^10 = {peak**10:.1e} or more (weights aside): vanishing gradients."
        )
    return text
