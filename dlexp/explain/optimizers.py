"""Keras' optimizers minimising a function of two variables, drawn over its contours.

Each path is the real ``keras.optimizers`` class stepping a point of shape (2,): the
surface is written with ``keras.ops``, its gradient comes from ``jax.grad``, and the
optimizer's own update (``optimizer.stateless_apply``, the function ``apply_gradients``
runs) is iterated inside one jitted ``jax.lax.scan``, so hundreds of steps of nine
optimizers take well under a second.

Every surface has its own start point, steps, plot range and learning rates (one per
optimizer, chosen so that each moves visibly and none diverges in the default steps;
see ``SURFACES``); ``--lr`` gives all optimizers the same rate instead.

Keras, JAX and matplotlib are imported inside the functions: ``dlexp --help`` must
not pay for them. The picture (``draw``) is drawn in ``optimizers_plot``.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from dlexp.core.errors import bad_value, unknown_name
from dlexp.explain.optimizers_plot import draw as draw  # the picture, in its own module

MAX_STEPS = 100_000

# name -> (label in the legend, Keras class, keyword arguments besides the rate)
OPTIMIZERS: dict[str, tuple[str, str, dict]] = {
    "sgd": ("SGD", "SGD", {}),
    "momentum": ("Momentum 0.9", "SGD", {"momentum": 0.9}),
    "nesterov": ("Nesterov 0.9", "SGD", {"momentum": 0.9, "nesterov": True}),
    "adagrad": ("Adagrad", "Adagrad", {}),
    "adadelta": ("Adadelta", "Adadelta", {}),
    "rmsprop": ("RMSprop", "RMSprop", {}),
    "adam": ("Adam", "Adam", {}),
    "adamax": ("Adamax", "Adamax", {}),
    "nadam": ("Nadam", "Nadam", {}),
}


def _beale(ops, x, y):
    return (
        ops.square(1.5 - x + x * y)
        + ops.square(2.25 - x + x * y * y)
        + ops.square(2.625 - x + x * y * y * y)
    )


def _rosenbrock(ops, x, y):
    return ops.square(1.0 - x) + 100.0 * ops.square(y - x * x)


def _saddle(ops, x, y):
    return ops.square(x) - ops.square(y)


def _ravine(ops, x, y):
    return 0.1 * ops.square(x) + 10.0 * ops.square(y)


@dataclass(frozen=True)
class Surface:
    """A function of (x, y) and how to show optimizers on it."""

    name: str
    formula: str
    fn: Callable  # fn(ops, x, y) with ops keras.ops (or NumPy)
    point: tuple[float, float]  # the minimum, or the saddle point where there is none
    start: tuple[float, float]
    steps: int
    xlim: tuple[float, float]
    ylim: tuple[float, float]
    log_levels: bool  # contour levels log-spaced (a deep, narrow valley)
    lrs: dict[str, float] = field(default_factory=dict)
    point_name: str = "minimum"

    @property
    def minimum(self) -> tuple[float, float] | None:
        return self.point if self.point_name == "minimum" else None


# Rates per surface: the SGD family near the largest stable rate at the start (SGD
# zig-zags across the ravine there); the adaptive ones, whose steps are about the rate
# itself, a tenth or so of the picture's scale; Adagrad more (its steps only shrink);
# Adadelta 10: its first steps are about rate * sqrt(epsilon) = 3e-4 * rate, so at the
# paper's 1.0 it has hardly left the start in these few hundred steps.
ADAPTIVE = ("rmsprop", "adam", "adamax", "nadam")


def _rates(sgd: float, momentum: float, adaptive: float, **others: float) -> dict:
    rates = {"sgd": sgd, "momentum": momentum, "nesterov": momentum, "adadelta": 10.0}
    return {**rates, **dict.fromkeys(ADAPTIVE, adaptive), **others}


SURFACES: dict[str, Surface] = {
    s.name: s
    for s in (
        Surface(
            "beale",
            "(1.5 - x + xy)² + (2.25 - x + xy²)² + (2.625 - x + xy³)²",
            _beale,
            (3.0, 0.5),
            (1.0, 1.5),
            500,
            (-0.5, 4.5),
            (-2.0, 2.5),
            True,
            _rates(0.003, 0.003, 0.05, adamax=0.1, rmsprop=0.01, adagrad=0.5),
        ),
        Surface(
            "rosenbrock",
            "(1 - x)² + 100 (y - x²)²",
            _rosenbrock,
            (1.0, 1.0),
            (-1.5, 2.0),
            1000,
            (-2.0, 2.0),
            (-1.0, 3.0),
            True,
            _rates(0.001, 0.001, 0.05, adamax=0.1, rmsprop=0.01, adagrad=0.5),
        ),
        Surface(
            "saddle",
            "x² - y²",
            _saddle,
            (0.0, 0.0),
            (-1.0, 0.001),
            200,
            (-1.5, 1.5),
            (-1.5, 1.5),
            False,
            _rates(0.01, 0.01, 0.01, adagrad=0.1),
            "saddle point",
        ),
        Surface(
            "ravine",
            "0.1 x² + 10 y²",
            _ravine,
            (0.0, 0.0),
            (-4.0, 1.0),
            100,
            (-4.5, 4.5),
            (-1.5, 1.5),
            False,
            # SGD at 0.09 (2/0.09 = 22, just above the steep direction's curvature 20)
            # zig-zags; momentum at 0.09 swings wildly and Nesterov diverges there, so
            # they get 0.02 and still end nearer the minimum than SGD.
            _rates(0.09, 0.02, 0.1, rmsprop=0.05, adagrad=1.0),
        ),
    )
}
DEFAULT_LR = 0.01


@dataclass
class Path:
    """One optimizer's path: positions before each step and after the last."""

    name: str
    label: str
    learning_rate: float
    xy: Any  # (steps + 1, 2) NumPy array, cut at the first non-finite point
    loss: Any  # (steps + 1,) the loss at each of those points
    diverged_at: int | None  # the first step whose point or loss was not finite

    @property
    def final(self) -> tuple[float, float]:
        return float(self.xy[-1, 0]), float(self.xy[-1, 1])

    @property
    def final_loss(self) -> float:
        return float(self.loss[-1])


@dataclass
class Result:
    surface: Surface
    steps: int
    start_loss: float
    paths: list[Path]


def check(
    surface: str, optimizers: str | Sequence[str] | None, steps: int | None, lr: float | None
) -> tuple[Surface, list[str], int, float | None]:
    """The options, checked before anything heavy is imported."""
    surface = str(surface).strip().lower()
    if surface not in SURFACES:
        raise unknown_name("--surface", surface, list(SURFACES))
    chosen = SURFACES[surface]
    if optimizers is None:
        names = list(OPTIMIZERS)
    else:
        parts = optimizers.split(",") if isinstance(optimizers, str) else list(optimizers)
        names = list(dict.fromkeys(p.strip().lower() for p in parts if p.strip()))
        if not names:
            raise bad_value("--optimizers", optimizers, "a comma-separated list of optimizers")
        for name in names:
            if name not in OPTIMIZERS:
                raise unknown_name("--optimizers", name, list(OPTIMIZERS))
    if steps is None:
        steps = chosen.steps
    elif isinstance(steps, bool) or not isinstance(steps, int) or not 1 <= steps <= MAX_STEPS:
        raise bad_value("--steps", steps, f"an integer from 1 to {MAX_STEPS:,}")
    if lr is not None and not (isinstance(lr, (int, float)) and math.isfinite(lr) and lr > 0):
        raise bad_value("--lr", lr, "a learning rate > 0")
    return chosen, names, steps, lr


def learning_rate(surface: Surface, name: str, lr: float | None = None) -> float:
    """``lr`` when given, else the surface's rate for this optimizer."""
    return float(lr) if lr is not None else surface.lrs.get(name, DEFAULT_LR)


def make_optimizer(name: str, rate: float):
    """The Keras optimizer ``name`` stands for, at learning rate ``rate``."""
    import keras

    _, cls, kwargs = OPTIMIZERS[name]
    return getattr(keras.optimizers, cls)(learning_rate=rate, **kwargs)


def keras_call(name: str, rate: float) -> str:
    """The Keras constructor call, as text: SGD(learning_rate=0.01, momentum=0.9)."""
    _, cls, kwargs = OPTIMIZERS[name]
    args = [f"learning_rate={rate:g}"] + [f"{k}={v}" for k, v in kwargs.items()]
    return f"{cls}({', '.join(args)})"


def loss_fn(surface: Surface):
    """The surface as a function of a (2,) tensor, written with keras.ops."""
    from keras import ops

    return lambda w: surface.fn(ops, w[0], w[1])


def _trajectory(surface: Surface, name: str, rate: float, steps: int):
    """Positions (steps + 1, 2) and losses (steps + 1,) of one optimizer, as NumPy."""
    import jax
    import keras
    import numpy as np

    f = loss_fn(surface)
    value_and_grad = jax.value_and_grad(f)
    optimizer = make_optimizer(name, rate)
    point = keras.Variable(np.array(surface.start, dtype="float32"), name="xy")
    optimizer.build([point])

    @jax.jit
    def run(w, state):
        def step(carry, _):
            w, state = carry
            loss, grad = value_and_grad(w)
            (w_next,), state = optimizer.stateless_apply(state, [grad], [w])
            return (w_next, state), (w, loss)

        (w_last, _), (ws, losses) = jax.lax.scan(step, (w, state), None, length=steps)
        return ws, losses, w_last, f(w_last)

    ws, losses, w_last, last_loss = run(point.value, [v.value for v in optimizer.variables])
    xy = np.concatenate([np.asarray(ws), np.asarray(w_last)[None]]).astype("float64")
    loss = np.append(np.asarray(losses), np.asarray(last_loss)).astype("float64")
    return xy, loss


def run(
    surface: str = "rosenbrock",
    optimizers: str | Sequence[str] | None = None,
    steps: int | None = None,
    lr: float | None = None,
) -> Result:
    """Each optimizer's path on the surface from its start point."""
    import numpy as np

    chosen, names, steps, lr = check(surface, optimizers, steps, lr)
    paths = []
    for name in names:
        rate = learning_rate(chosen, name, lr)
        xy, loss = _trajectory(chosen, name, rate, steps)
        finite = np.isfinite(xy).all(axis=1) & np.isfinite(loss)
        bad = np.flatnonzero(~finite)
        diverged_at = int(bad[0]) if bad.size else None
        if diverged_at is not None:
            xy, loss = xy[:diverged_at], loss[:diverged_at]
        paths.append(Path(name, OPTIMIZERS[name][0], rate, xy, loss, diverged_at))
    start_loss = float(chosen.fn(np, *np.array(chosen.start, dtype="float32")))
    return Result(chosen, steps, start_loss, paths)


def distance(result: Result, path: Path) -> float:
    """How far the path ended from the surface's point (its minimum, or saddle point)."""
    return math.dist(path.final, result.surface.point)


def status(path: Path) -> str:
    return "ok" if path.diverged_at is None else "diverged"


def records(result: Result) -> dict:
    """The run as plain JSON-able data (paths themselves left out)."""
    s = result.surface
    return {
        "surface": s.name,
        "formula": s.formula,
        "start": list(s.start),
        "start_loss": result.start_loss,
        "minimum": None if s.minimum is None else list(s.minimum),
        "distance_from": {"name": s.point_name, "point": list(s.point)},
        "steps": result.steps,
        "optimizers": [
            {
                "name": p.name,
                "keras": keras_call(p.name, p.learning_rate),
                "learning_rate": p.learning_rate,
                "final": list(p.final),
                "final_loss": p.final_loss,
                "distance": distance(result, p),
                "status": status(p),
                "diverged_at_step": p.diverged_at,
            }
            for p in result.paths
        ],
    }


def _num(value: float | None) -> str:
    if value is None:
        return "-"
    if value == 0:
        return "0"
    return f"{value:.4g}" if 1e-3 <= abs(value) < 1e4 else f"{value:.2e}"


def table(result: Result):
    """Final points and losses as a rich Table."""
    from rich.table import Table

    s = result.surface
    x0, y0 = s.start
    t = Table(
        title=f"{s.name}: f(x, y) = {s.formula}\n{result.steps} steps from ({x0:g}, {y0:g}), "
        f"where f = {_num(result.start_loss)}\ndistance: to the {s.point_name} "
        f"({s.point[0]:g}, {s.point[1]:g})",
        title_justify="left",
        show_edge=False,
        pad_edge=False,
    )
    t.add_column("optimizer")
    t.add_column("lr", justify="right")
    t.add_column("final (x, y)", justify="right")
    t.add_column("final loss", justify="right")
    t.add_column("distance", justify="right")
    for p in result.paths:
        x, y = p.final
        loss = _num(p.final_loss)
        if p.diverged_at is not None:
            loss = f"[red]diverged at step {p.diverged_at}[/]"
        t.add_row(
            p.label,
            f"{p.learning_rate:g}",
            f"({_num(x)}, {_num(y)})",
            loss,
            _num(distance(result, p)),
        )
    return t
