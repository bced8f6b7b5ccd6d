"""A search's pictures: the objective against each searched value, a heatmap of two
keys, each key's importance, and every trial in parallel coordinates. An objective
where lower is better (a loss, rmse, mae: runs.schema.direction) says so, and its
colours are turned round so that the best trials are always the brightest."""

from __future__ import annotations

import numpy as np
from matplotlib.figure import Figure

from dlexp.core.labels import label
from dlexp.report.plots import style
from dlexp.report.plots.style import BLUE, ORANGE, SMALL


def _ordered(values: list) -> list:
    unique = list(dict.fromkeys(label(v) for v in values))
    try:
        return sorted(unique, key=float)
    except ValueError:
        return unique


def objective_vs_params(rows: list[dict], keys: list[str], objective: str) -> bytes:
    """:func:`objective_vs_params_figure` as PNG."""
    return style.png(objective_vs_params_figure(rows, keys, objective))


def objective_vs_params_figure(rows: list[dict], keys: list[str], objective: str) -> Figure:
    """The objective of every trial against each searched value (a dot per trial)."""
    orders = [_ordered([r.get(key) for r in rows]) for key in keys]
    widths = [max(2.6, 0.45 * len(order) + 0.8) for order in orders]
    fig = Figure(figsize=(min(sum(widths), 13), 2.8), layout="constrained")
    grid = fig.add_gridspec(1, len(keys), width_ratios=widths)
    rng = np.random.RandomState(0)
    ticks = []
    for i, (key, order) in enumerate(zip(keys, orders, strict=True)):
        ax = fig.add_subplot(grid[0, i])
        position = {v: j for j, v in enumerate(order)}
        xs = [position[label(r.get(key))] + rng.uniform(-0.12, 0.12) for r in rows]
        ax.scatter(xs, [r["score"] for r in rows], s=14, color=BLUE, alpha=0.7)
        means = [np.mean([r["score"] for r in rows if label(r.get(key)) == v]) for v in order]
        ax.plot(range(len(order)), means, color=ORANGE, marker="_", markersize=18, linestyle="none")
        ticks.append((ax, "x", order))
        ax.set_title(key.split(".")[-1], fontsize=9)
        ax.tick_params(axis="y", labelsize=SMALL)
        ax.grid(alpha=0.3, axis="y")
        if i == 0:
            ax.set_ylabel(f"{objective} ({style.better_text(objective)})", fontsize=8)
    style.category_ticks(fig, ticks)
    return fig


def heatmap(rows: list[dict], x_key: str, y_key: str, objective: str) -> bytes:
    """:func:`heatmap_figure` as PNG."""
    return style.png(heatmap_figure(rows, x_key, y_key, objective))


def heatmap_figure(rows: list[dict], x_key: str, y_key: str, objective: str) -> Figure:
    """The mean objective for each pair of values of two searched keys."""
    xs, ys = _ordered([r.get(x_key) for r in rows]), _ordered([r.get(y_key) for r in rows])
    grid = np.full((len(ys), len(xs)), np.nan)
    for j, yv in enumerate(ys):
        for i, xv in enumerate(xs):
            scores = [
                r["score"] for r in rows if label(r.get(x_key)) == xv and label(r.get(y_key)) == yv
            ]
            if scores:
                grid[j, i] = np.mean(scores)
    fig = Figure(
        figsize=(max(3.0, 0.7 * len(xs) + 1.8), max(2.4, 0.45 * len(ys) + 1.2)),
        layout="constrained",
    )
    ax = fig.add_subplot()
    lower = style.lower_is_better(objective)
    image = ax.imshow(grid, cmap="viridis_r" if lower else "viridis", aspect="auto")
    for j in range(len(ys)):
        for i in range(len(xs)):
            if not np.isnan(grid[j, i]):
                r, g, b, _ = image.cmap(image.norm(grid[j, i]))
                dark = 0.299 * r + 0.587 * g + 0.114 * b < 0.5  # white text on a dark cell
                ax.text(
                    i,
                    j,
                    f"{grid[j, i]:.3f}",
                    ha="center",
                    va="center",
                    fontsize=SMALL,
                    color="white" if dark else "black",
                )
    ax.set_xlabel(x_key, fontsize=8)
    ax.set_ylabel(y_key, fontsize=8)
    fig.colorbar(image, ax=ax, shrink=0.8).ax.tick_params(labelsize=SMALL)
    ax.set_title(f"mean {objective} ({style.better_text(objective)})", fontsize=9)
    style.category_ticks(fig, [(ax, "x", xs), (ax, "y", ys)])
    return fig


def importance(weights: dict, objective: str) -> bytes:
    """:func:`importance_figure` as PNG."""
    return style.png(importance_figure(weights, objective))


def importance_figure(weights: dict, objective: str) -> Figure:
    """Each searched key's permutation importance, largest first (horizontal bars)."""
    items = sorted(weights.items(), key=lambda kv: kv[1])
    fig = Figure(figsize=(4.6, 0.45 * len(items) + 1.0), layout="constrained")
    ax = fig.add_subplot()
    ax.barh(range(len(items)), [max(v, 0) for _, v in items], color=BLUE)
    ax.set_xlabel(f"drop in fit of {objective} when shuffled", fontsize=8)
    ax.tick_params(labelsize=SMALL)
    ax.grid(alpha=0.3, axis="x")
    ax.set_title("parameter importance (permutation, random forest)", fontsize=9)
    style.category_ticks(fig, [(ax, "y", [k.split(".")[-1] for k, _ in items])])
    return fig


def parallel(rows: list[dict], keys: list[str], objective: str) -> bytes:
    """:func:`parallel_figure` as PNG."""
    return style.png(parallel_figure(rows, keys, objective))


def parallel_figure(rows: list[dict], keys: list[str], objective: str) -> Figure:
    """Parallel coordinates: one line per trial through each searched key's values (in
    order) to its objective, coloured by the objective. Each value is written beside
    its axis on a white box over the lines, and everything stays inside the figure."""
    import matplotlib

    axes = [*keys, "score"]
    orders = {k: _ordered([r.get(k) for r in rows]) for k in keys}
    names = {k: [style.wrap(v, 20) for v in orders[k]] for k in keys}
    scores = [r["score"] for r in rows]
    lo, hi = min(scores), max(scores)
    span = (hi - lo) or 1.0
    # room for every value's label: their lines apart, and the widest before the next axis
    tall = max([len(names[k]) * max(n.count("\n") + 1 for n in names[k]) for k in keys] or [2])
    wide = max([len(line) for k in keys for n in names[k] for line in n.splitlines()] or [8])
    step = max(1.6, wide * SMALL * 0.62 / 72 + 0.35)
    fig = Figure(
        figsize=(max(4.5, step * (len(keys) + 0.6) + 0.3), max(3.0, 0.17 * tall + 1.1)),
        layout="constrained",
    )
    ax = fig.add_subplot()
    cmap = matplotlib.colormaps["viridis_r" if style.lower_is_better(objective) else "viridis"]
    for r in sorted(rows, key=lambda r: r["score"]):
        ys = [orders[k].index(label(r.get(k))) / max(len(orders[k]) - 1, 1) for k in keys] + [
            (r["score"] - lo) / span
        ]
        ax.plot(range(len(axes)), ys, color=cmap((r["score"] - lo) / span), alpha=0.6, lw=1)
    box = {"boxstyle": "round,pad=0.15", "fc": "white", "ec": "none", "alpha": 0.85}
    for i, k in enumerate(keys):
        n = len(orders[k])
        for j, v in enumerate(names[k]):
            y = j / max(n - 1, 1)
            ax.text(i + 0.04, y, v, fontsize=SMALL, va="center", bbox=box, zorder=3)
    for y, score in ((0, lo), (1, hi)):
        ax.text(len(keys) + 0.04, y, f"{score:.3f}", fontsize=SMALL, va="center", bbox=box)
    ax.set_xlim(-0.08, len(keys) + 0.5)
    ax.set_ylim(-0.08, 1.08)
    ax.set_yticks([])
    for i in range(len(axes)):
        ax.axvline(i, color="#888888", lw=0.6)
    last = f"{objective} ({style.better_text(objective)})"
    style.category_ticks(fig, [(ax, "x", [a.split(".")[-1] for a in keys] + [last])])
    return fig
