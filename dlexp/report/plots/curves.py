"""Curves against the epoch: one run's learning curves (training against validation),
several runs overlaid, and the loss of every batch (from learning.npz)."""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator

from dlexp.core.labels import MOST_RUNS, shown_of
from dlexp.report.plots import style
from dlexp.report.plots.style import BLUE, ORANGE, RUN_COLOURS, SMALL


def _series(history: list[dict], key: str) -> tuple[list[float], list[float]]:
    xs, ys = [], []
    for row in history:
        value = row.get(key)
        if value is not None and math.isfinite(value):
            xs.append(row.get("epoch") or len(xs) + 1)
            ys.append(value)
    return xs, ys


def metric_names(history: list[dict]) -> list[str]:
    """loss and the metrics logged for training (their val_ twins are drawn beside)."""
    keys = list(history[0]) if history else []
    return [
        k
        for k in keys
        if k not in ("epoch", "learning_rate", "seconds") and not k.startswith("val_")
    ]


def learning_curves(
    history: list[dict],
    title: str = "",
    best_epoch: float | None = None,
    stopped_early: bool = False,
    loss_title: str = "loss",
) -> bytes:
    """:func:`learning_curves_figure` as PNG."""
    return style.png(learning_curves_figure(history, title, best_epoch, stopped_early, loss_title))


def learning_curves_figure(
    history: list[dict],
    title: str = "",
    best_epoch: float | None = None,
    stopped_early: bool = False,
    loss_title: str = "loss",
) -> Figure:
    """Loss and each metric per epoch, training against validation; a dashed line at
    the best epoch (metrics.json's ``best_epoch``) and, when early stopping ended the
    run, a dotted one at its last epoch (where patience ran out). ``loss_title`` names
    the loss's chart (a regression's: the loss of the standardized target)."""
    names = metric_names(history) or ["loss"]
    epochs = [row.get("epoch") for row in history if isinstance(row.get("epoch"), int | float)]
    last = max(epochs) if epochs else None
    fig = Figure(figsize=(3.0 * len(names), 2.5))
    style.margins(fig, title=bool(title))
    for i, name in enumerate(names):
        ax = fig.add_subplot(1, len(names), i + 1)
        for key, split, colour in ((name, "train", ORANGE), (f"val_{name}", "validation", BLUE)):
            xs, ys = _series(history, key)
            if xs:
                ax.plot(xs, ys, color=colour, label=split, linewidth=1.5)
        if best_epoch is not None:
            ax.axvline(
                best_epoch, color="#287a2d", lw=1.0, ls="--", label=f"best epoch {best_epoch:g}"
            )
        if stopped_early and last is not None:
            ax.axvline(last, color="#b3261e", lw=1.0, ls=":", label="stopped: patience ran out")
        ax.set_title(style.fit(loss_title if name == "loss" else name, 2.9, 10), fontsize=10)
        ax.set_xlabel("epoch", fontsize=8)
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        ax.tick_params(labelsize=SMALL)
        ax.grid(alpha=0.3)
        if i == 0:
            ax.legend(fontsize=SMALL, frameon=False)
    if title:
        fig.suptitle(style.fit(title, fig.get_size_inches()[0], 10), fontsize=10)
    return fig


def overlay(
    curves: Sequence[tuple[str, list[dict]]],
    metrics: Sequence[str] = ("loss",),
    title: str = "",
    total: int | None = None,
) -> bytes:
    """Several runs on one chart per metric, each its own colour: validation solid,
    training dashed. At most ``MOST_RUNS`` runs; when there are more (or ``total``
    says there were), the title says how many of how many are shown. More than four
    runs put their legend beside the charts, where it hides no curve."""
    total = max(total or 0, len(curves))
    curves = list(curves)[:MOST_RUNS]
    title = "; ".join(t for t in (title, shown_of(len(curves), total)) if t)
    beside = len(curves) > 4
    fig = Figure(figsize=(4.2 * len(metrics) + (3.0 if beside else 0), 3.0))
    style.margins(fig, title=bool(title))
    if beside:
        fig.subplots_adjust(right=1 - 3.0 / fig.get_size_inches()[0])
    colours = RUN_COLOURS[: len(curves)]
    for i, metric in enumerate(metrics):
        ax = fig.add_subplot(1, len(metrics), i + 1)
        for (name, history), colour in zip(curves, colours, strict=True):
            vx, vy = _series(history, f"val_{metric}")
            if vx:
                ax.plot(vx, vy, color=colour, linewidth=1.4, label=name)
            xs, ys = _series(history, metric)
            if xs:
                ax.plot(
                    xs,
                    ys,
                    color=colour,
                    linewidth=1.0,
                    linestyle="--",
                    alpha=0.6,
                    label=None if vx else name,
                )
        ax.set_title(f"{metric} (solid: validation, dashed: training)", fontsize=9)
        ax.set_xlabel("epoch", fontsize=8)
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        ax.tick_params(labelsize=SMALL)
        ax.grid(alpha=0.3)
        if i == len(metrics) - 1 and beside:
            ax.legend(fontsize=SMALL, frameon=False, loc="upper left", bbox_to_anchor=(1.02, 1))
        elif i == len(metrics) - 1:
            ax.legend(fontsize=SMALL, frameon=False, loc="best")
    if title:
        fig.suptitle(style.fit(title, fig.get_size_inches()[0], 10), fontsize=10)
    return style.png(fig)


def batch_x(batch_epoch) -> np.ndarray:
    """Where each batch falls in epochs: the n batches of epoch e at e - 1 + 1/n, ...,
    e - 1 + n/n (the last batch of an epoch at the epoch itself, as the epoch's row)."""
    e = np.asarray(batch_epoch, dtype=np.int64)
    x = np.empty(len(e), dtype=np.float64)
    for epoch in np.unique(e):
        where = np.flatnonzero(e == epoch)
        x[where] = epoch - 1 + np.arange(1, len(where) + 1) / len(where)
    return x


def _moving_mean(y: np.ndarray, window: int) -> np.ndarray:
    if window <= 1 or len(y) < window:
        return y
    c = np.cumsum(np.insert(y, 0, 0.0))
    out = np.empty_like(y)
    out[window - 1 :] = (c[window:] - c[:-window]) / window
    out[: window - 1] = c[1:window] / np.arange(1, window)
    return out


def batch_loss(curves: Sequence[tuple[str, dict]], title: str = "") -> bytes:
    """:func:`batch_loss_figure` as PNG."""
    return style.png(batch_loss_figure(curves, title))


def batch_loss_figure(curves: Sequence[tuple[str, dict]], title: str = "") -> Figure:
    """The loss of every batch against the epoch (faint), with a moving mean (solid;
    dots for a run of few steps): one run, or several overlaid (stochastic, mini-batch
    and full-batch gradient descent side by side, the legend below). The y axis ends
    a little above the highest moving mean, so single batches' spikes are cut off."""
    several = len(curves) > 1
    plotted = []
    for n, (name, arrays) in enumerate(curves):
        y = np.asarray(arrays["batch_loss"], dtype=np.float64)
        epoch = np.asarray(arrays["batch_epoch"])
        keep = np.isfinite(y)
        if keep.any():
            per_epoch = max(1, round(len(y) / max(len(np.unique(epoch)), 1)))
            plotted.append((n, name, batch_x(epoch)[keep], y[keep], per_epoch))
    legend_h = 0.17 * len(plotted) + 0.2 if several else 0.0
    fig = Figure(figsize=(5.6 if several else 4.2, 2.5 + legend_h))
    style.margins(fig, title=False, left=0.5, bottom=0.42 + legend_h)
    ax = fig.add_subplot()
    tops, bottoms = [], []
    for n, name, x, y, per_epoch in plotted:
        colour = RUN_COLOURS[n % MOST_RUNS] if several else ORANGE
        mean = _moving_mean(y, max(1, min(per_epoch, len(y) // 40)))
        if len(y) > 40:  # fainter the more batches there are
            ax.plot(x, y, color=colour, lw=0.4, alpha=0.3 if len(y) < 1000 else 0.12)
        steps = f"{per_epoch} step{'s' if per_epoch > 1 else ''}/epoch"
        dots = {"marker": "o", "markersize": 3} if len(y) <= 40 else {}
        ax.plot(x, mean, color=colour, lw=1.5, label=f"{name}: {steps}", **dots)
        tops.append(mean.max())
        bottoms.append(min(y.min(), 0.0))
    if tops:
        top, bottom = max(tops), min(bottoms)
        ax.set_ylim(bottom, top + 0.15 * ((top - bottom) or 1.0))
    ax.set_xlabel("epoch", fontsize=8)
    ax.set_ylabel("loss", fontsize=8)
    ax.set_xlim(left=0)
    ax.tick_params(labelsize=SMALL)
    ax.grid(alpha=0.3)
    if plotted and several:
        ax.legend(
            fontsize=SMALL,
            frameon=False,
            loc="upper left",
            bbox_to_anchor=(-0.1, -0.5 / (fig.get_size_inches()[1] - 0.72 - legend_h)),
            borderaxespad=0,
        )
    elif plotted:
        ax.legend(fontsize=SMALL, frameon=False, loc="upper right")
    head = title or "loss of every batch"
    ax.set_title(
        style.fit(f"{head} (solid: moving mean)", fig.get_size_inches()[0] - 0.6, 9), fontsize=9
    )
    return fig
