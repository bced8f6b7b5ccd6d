"""The report's pictures, drawn with matplotlib from run folders (no TensorFlow).

Each function returns PNG bytes. Figures use matplotlib's object API with the Agg
canvas (no pyplot, no global state), so they can be drawn in worker processes.
"""

from __future__ import annotations

import io
import math
import textwrap
from collections.abc import Sequence

import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.colors import LinearSegmentedColormap, to_rgb
from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator

from dlexp.core.labels import MOST_RUNS, label, shown_of

# TensorFlow Playground's colours: orange for one class, blue for the other.
ORANGE, BLUE = "#f59322", "#0877bd"
PLAYGROUND = LinearSegmentedColormap.from_list("playground", [ORANGE, "#e8eaeb", BLUE])
CLASS_COLOURS = [
    ORANGE,
    BLUE,
    "#2ca02c",
    "#d62728",
    "#9467bd",
    "#8c564b",
    "#e377c2",
    "#7f7f7f",
    "#bcbd22",
    "#17becf",
]
# one colour for each run a chart overlays (matplotlib's ten, black and magenta): no
# chart draws more than MOST_RUNS runs, and one that leaves some out says so
RUN_COLOURS = [*(f"C{i}" for i in range(10)), "#000000", "#ff00ff"][:MOST_RUNS]
DPI = 100  # pixels per inch on the page: a figure w inches wide is shown w * DPI pixels wide
SAVE_DPI = 200  # pixels per inch in the PNG files: sharp on HiDPI screens (SCALE x DPI)
SCALE = SAVE_DPI // DPI
SMALL = 8  # points, the smallest text: 11 pixels on the page


def _png(fig: Figure) -> bytes:
    FigureCanvasAgg(fig)
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=SAVE_DPI)
    return buf.getvalue()


def pixel_figure(width: int, height: int) -> Figure:
    """A figure laid out in page pixels (``width`` x ``height`` at ``DPI``), saved at
    ``SAVE_DPI``: draw its pictures with :func:`figimage`."""
    return Figure(figsize=(width / DPI, height / DPI), dpi=SAVE_DPI)


def figimage(fig: Figure, canvas: np.ndarray, **kwargs) -> None:
    """A picture of page pixels over a whole :func:`pixel_figure`, each pixel drawn as
    SCALE x SCALE of the saved file's."""
    fig.figimage(np.repeat(np.repeat(canvas, SCALE, axis=0), SCALE, axis=1), 0, 0, **kwargs)


def _margins(fig: Figure, title: bool = False, left: float = 0.45, bottom: float = 0.42) -> None:
    """Fixed margins in inches: matplotlib's constrained layout would take half the time
    of drawing the many small per-run pictures a report holds."""
    w, h = fig.get_size_inches()
    fig.subplots_adjust(
        left=left / w,
        right=1 - 0.12 / w,
        bottom=bottom / h,
        top=1 - (0.55 if title else 0.3) / h,
        wspace=0.9 / (w / 3),
    )


def _fit(text: str, width_in: float, fontsize: float) -> str:
    """A title shortened in the middle to what fits across ``width_in`` inches."""
    most = max(8, int(width_in * 72 / (fontsize * 0.6)))
    if len(text) <= most:
        return text
    keep = most - 1
    return text[: keep - keep // 2] + "…" + text[len(text) - keep // 2 :]


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
) -> bytes:
    """:func:`learning_curves_figure` as PNG."""
    return _png(learning_curves_figure(history, title, best_epoch, stopped_early))


def learning_curves_figure(
    history: list[dict],
    title: str = "",
    best_epoch: float | None = None,
    stopped_early: bool = False,
) -> Figure:
    """Loss and each metric per epoch, training against validation; a dashed line at
    the best epoch (metrics.json's ``best_epoch``) and, when early stopping ended the
    run, a dotted one at its last epoch (where patience ran out)."""
    names = metric_names(history) or ["loss"]
    epochs = [row.get("epoch") for row in history if isinstance(row.get("epoch"), int | float)]
    last = max(epochs) if epochs else None
    fig = Figure(figsize=(3.0 * len(names), 2.5))
    _margins(fig, title=bool(title))
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
        ax.set_title(name, fontsize=10)
        ax.set_xlabel("epoch", fontsize=8)
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        ax.tick_params(labelsize=SMALL)
        ax.grid(alpha=0.3)
        if i == 0:
            ax.legend(fontsize=SMALL, frameon=False)
    if title:
        fig.suptitle(_fit(title, fig.get_size_inches()[0], 10), fontsize=10)
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
    _margins(fig, title=bool(title))
    if beside:
        fig.subplots_adjust(right=1 - 3.0 / fig.get_size_inches()[0])
    colours = RUN_COLOURS[: len(curves)]
    for i, metric in enumerate(metrics):
        ax = fig.add_subplot(1, len(metrics), i + 1)
        for (name, history), colour in zip(curves, colours, strict=True):
            xs, ys = _series(history, f"val_{metric}")
            if xs:
                ax.plot(xs, ys, color=colour, linewidth=1.4, label=name)
            xs, ys = _series(history, metric)
            if xs:
                ax.plot(
                    xs,
                    ys,
                    color=colour,
                    linewidth=1.0,
                    linestyle="--",
                    alpha=0.6,
                    label=None if _series(history, f"val_{metric}")[0] else name,
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
        fig.suptitle(_fit(title, fig.get_size_inches()[0], 10), fontsize=10)
    return _png(fig)


def boundary(arrays: dict, title: str = "") -> bytes:
    """The decision boundary over the data, as TensorFlow Playground draws it: the
    predicted class's colour, paler where the model is less sure, and the points."""
    xs, ys, proba = arrays["xs"], arrays["ys"], arrays["proba"]
    extent = (float(xs[0]), float(xs[-1]), float(ys[0]), float(ys[-1]))
    fig = Figure(figsize=(3.4, 3.2))
    _margins(fig, left=0.4, bottom=0.35)
    ax = fig.add_subplot()
    if proba.shape[-1] == 1:
        ax.imshow(
            proba[..., 0],
            origin="lower",
            extent=extent,
            cmap=PLAYGROUND,
            vmin=0,
            vmax=1,
            aspect="auto",
            alpha=0.55,
        )
        ax.contour(xs, ys, proba[..., 0], levels=[0.5], colors="#333333", linewidths=0.8)
    else:
        k = proba.shape[-1]
        colours = np.array([to_rgb(CLASS_COLOURS[i % len(CLASS_COLOURS)]) for i in range(k)])
        winner = proba.argmax(axis=-1)
        confidence = (proba.max(axis=-1) - 1 / k) / (1 - 1 / k)
        strength = 0.55 * confidence[..., None]
        rgb = colours[winner] * strength + 0.97 * (1 - strength)
        ax.imshow(rgb, origin="lower", extent=extent, aspect="auto")
    for split, marker, size in (("train", "o", 9), ("test", "x", 12)):
        x, y = arrays.get(f"x_{split}"), arrays.get(f"y_{split}")
        if x is None or y is None:
            continue
        colours = [CLASS_COLOURS[int(c) % len(CLASS_COLOURS)] for c in y]
        ax.scatter(
            x[:, 0],
            x[:, 1],
            c=colours,
            s=size,
            marker=marker,
            edgecolors="white" if marker == "o" else None,
            linewidths=0.3,
            label=split,
        )
    ax.set_xlim(extent[0], extent[1])
    ax.set_ylim(extent[2], extent[3])
    ax.tick_params(labelsize=SMALL)
    ax.legend(fontsize=SMALL, loc="upper right", framealpha=0.7)
    ax.set_title(_fit(title or "decision boundary", 3.4 - 0.5, 9), fontsize=9)
    return _png(fig)


def _wrap(text: str, width: int = 14) -> str:
    """A long category label on a few lines, broken after its commas and parentheses."""
    lines = textwrap.wrap(text.replace("(", "( "), width, break_long_words=False)
    return "\n".join(lines).replace("( ", "(") or text


def _overlapping(labels) -> bool:
    """Whether any two of these drawn tick labels' boxes meet."""
    boxes = [t.get_window_extent() for t in labels if t.get_visible() and t.get_text()]
    return any(a.overlaps(b) for i, a in enumerate(boxes) for b in boxes[i + 1 :])


def category_ticks(fig: Figure, axes: Sequence[tuple]) -> None:
    """Category tick labels that never overlap. ``axes``: (ax, "x" or "y", labels).

    Drawn level first; where any two labels' boxes meet, x labels are wrapped onto
    lines, then set upright (the figure grown to hold them), and last only every
    k-th label is kept (a y axis goes straight to that). Each step is checked by
    drawing the figure.
    """
    todo = []
    for ax, which, labels in axes:
        getattr(ax, f"set_{which}ticks")(range(len(labels)), labels, fontsize=SMALL)
        todo.append((ax, which, [str(v) for v in labels]))
    for step in ("wrap", "upright", *range(2, 50)):
        fig.draw_without_rendering()
        todo = [t for t in todo if _overlapping(getattr(t[0], f"get_{t[1]}ticklabels")())]
        if not todo:
            return
        grow = 0.0
        for ax, which, labels in todo:
            if isinstance(step, int):
                every = range(0, len(labels), step)
                shown = [_wrap(labels[i]) if which == "x" else labels[i] for i in every]
                getattr(ax, f"set_{which}ticks")(every, shown, fontsize=SMALL)
            elif which == "x":
                ax.set_xticks(range(len(labels)), [_wrap(v) for v in labels], fontsize=SMALL)
            if step == "upright" and which == "x":
                ax.tick_params(axis="x", labelrotation=90)
                longest = max(len(line) for v in labels for line in _wrap(v).splitlines())
                grow = max(grow, longest * SMALL * 0.62 / 72 - 0.25)
        if grow > 0:
            w, h = fig.get_size_inches()
            fig.set_size_inches(w, h + grow)


def _ordered(values: list) -> list:
    unique = list(dict.fromkeys(label(v) for v in values))
    try:
        return sorted(unique, key=float)
    except ValueError:
        return unique


def objective_vs_params(rows: list[dict], keys: list[str], objective: str) -> bytes:
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
            ax.set_ylabel(objective, fontsize=8)
    category_ticks(fig, ticks)
    return _png(fig)


def heatmap(rows: list[dict], x_key: str, y_key: str, objective: str) -> bytes:
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
    image = ax.imshow(grid, cmap="viridis", aspect="auto")
    for j in range(len(ys)):
        for i in range(len(xs)):
            if not np.isnan(grid[j, i]):
                ax.text(
                    i,
                    j,
                    f"{grid[j, i]:.3f}",
                    ha="center",
                    va="center",
                    fontsize=SMALL,
                    color="white" if grid[j, i] < np.nanmean(grid) else "black",
                )
    ax.set_xlabel(x_key, fontsize=8)
    ax.set_ylabel(y_key, fontsize=8)
    fig.colorbar(image, ax=ax, shrink=0.8).ax.tick_params(labelsize=SMALL)
    ax.set_title(f"mean {objective}", fontsize=9)
    category_ticks(fig, [(ax, "x", xs), (ax, "y", ys)])
    return _png(fig)


def importance(weights: dict, objective: str) -> bytes:
    """Each searched key's permutation importance, largest first (horizontal bars)."""
    items = sorted(weights.items(), key=lambda kv: kv[1])
    fig = Figure(figsize=(4.6, 0.45 * len(items) + 1.0), layout="constrained")
    ax = fig.add_subplot()
    ax.barh(range(len(items)), [max(v, 0) for _, v in items], color=BLUE)
    ax.set_xlabel(f"drop in fit of {objective} when shuffled", fontsize=8)
    ax.tick_params(labelsize=SMALL)
    ax.grid(alpha=0.3, axis="x")
    ax.set_title("parameter importance (permutation, random forest)", fontsize=9)
    category_ticks(fig, [(ax, "y", [k.split(".")[-1] for k, _ in items])])
    return _png(fig)


def parallel(rows: list[dict], keys: list[str], objective: str) -> bytes:
    """Parallel coordinates: one line per trial through each searched key's values (in
    order) to its objective, coloured by the objective. Each value is written beside
    its axis on a white box over the lines, and everything stays inside the figure."""
    import matplotlib

    axes = [*keys, "score"]
    orders = {k: _ordered([r.get(k) for r in rows]) for k in keys}
    names = {k: [_wrap(v, 20) for v in orders[k]] for k in keys}
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
    cmap = matplotlib.colormaps["viridis"]
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
    category_ticks(fig, [(ax, "x", [a.split(".")[-1] for a in keys] + [objective])])
    return _png(fig)


def evaluation(arrays: dict, title: str = "") -> bytes:
    """The test split's confusion matrix and ROC curve (one-vs-rest for several
    classes), computed by scikit-learn from the run's predictions.npz."""
    from sklearn.metrics import auc, confusion_matrix, roc_curve

    y, proba = arrays["y_true"].astype(int), arrays["proba"]
    if proba.shape[1] == 1:  # one sigmoid unit: the second class's probability
        proba = np.concatenate([1 - proba, proba], axis=1)
    k = proba.shape[1]
    names = [str(c) for c in arrays.get("class_names", range(k))]
    fig = Figure(figsize=(6.4, 3.0), layout="constrained")
    ax = fig.add_subplot(1, 2, 1)
    matrix = confusion_matrix(y, proba.argmax(axis=1), labels=list(range(k)))
    totals = matrix.sum(axis=1, keepdims=True)
    share = matrix / np.maximum(totals, 1)  # of each true class, what was predicted
    ax.imshow(share, cmap="Blues", vmin=0, vmax=1)
    size = 8 if k <= 6 else SMALL
    for i in range(k):
        for j in range(k):
            text = f"{matrix[i, j]}\n{share[i, j]:.0%}" if k <= 6 else str(matrix[i, j])
            colour = "white" if share[i, j] > 0.6 else "#222222"
            ax.text(j, i, text, ha="center", va="center", fontsize=size, color=colour)
    ax.set_xlabel("predicted", fontsize=8)
    ax.set_ylabel("true (shade: share of the row)", fontsize=8)
    ax.set_title("confusion matrix", fontsize=9)
    ticks = [(ax, "x", names), (ax, "y", names)]
    ax = fig.add_subplot(1, 2, 2)
    for c in range(1 if k == 2 else 0, k):
        fpr, tpr, _ = roc_curve(y == c, proba[:, c])
        colour = CLASS_COLOURS[c % len(CLASS_COLOURS)]
        ax.plot(fpr, tpr, color=colour, lw=1.4, label=f"{names[c]} (AUC {auc(fpr, tpr):.3f})")
    ax.plot([0, 1], [0, 1], color="#aaaaaa", lw=0.8, linestyle="--")
    ax.set_xlabel("false positive rate", fontsize=8)
    ax.set_ylabel("true positive rate", fontsize=8)
    ax.tick_params(labelsize=SMALL)
    ax.legend(fontsize=SMALL, loc="lower right", frameon=False)
    ax.set_title("ROC", fontsize=9)
    if title:
        fig.suptitle(_fit(title, 6.4, 9), fontsize=9)
    category_ticks(fig, ticks)
    return _png(fig)
