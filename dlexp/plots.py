"""The report's pictures, drawn with matplotlib from run folders (no TensorFlow).

Each function returns PNG bytes. Figures use matplotlib's object API with the Agg
canvas (no pyplot, no global state), so they can be drawn in worker processes.
"""

from __future__ import annotations

import io
import math
from collections.abc import Sequence

import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.colors import LinearSegmentedColormap, to_rgb
from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator

from dlexp.labels import label

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
DPI = 80


def _png(fig: Figure) -> bytes:
    FigureCanvasAgg(fig)
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=DPI)
    return buf.getvalue()


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
        ax.tick_params(labelsize=7)
        ax.grid(alpha=0.3)
        if i == 0:
            ax.legend(fontsize=7, frameon=False)
    if title:
        fig.suptitle(_fit(title, fig.get_size_inches()[0], 10), fontsize=10)
    return fig


def overlay(
    curves: Sequence[tuple[str, list[dict]]], metrics: Sequence[str] = ("loss",), title: str = ""
) -> bytes:
    """Several runs on one chart per metric: validation solid, training dashed."""
    fig = Figure(figsize=(4.2 * len(metrics), 3.0))
    _margins(fig, title=bool(title))
    colours = [f"C{i % 10}" for i in range(len(curves))]
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
        ax.tick_params(labelsize=7)
        ax.grid(alpha=0.3)
        if i == len(metrics) - 1:
            ax.legend(fontsize=7, frameon=False, loc="best")
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
    ax.tick_params(labelsize=7)
    ax.legend(fontsize=7, loc="upper right", framealpha=0.7)
    ax.set_title(_fit(title or "decision boundary", 3.4 - 0.5, 9), fontsize=9)
    return _png(fig)


def _ordered(values: list) -> list:
    unique = list(dict.fromkeys(label(v) for v in values))
    try:
        return sorted(unique, key=float)
    except ValueError:
        return unique


def objective_vs_params(rows: list[dict], keys: list[str], objective: str) -> bytes:
    """The objective of every trial against each searched value (a dot per trial)."""
    fig = Figure(figsize=(min(3.0 * len(keys), 12), 2.8), layout="constrained")
    rng = np.random.RandomState(0)
    for i, key in enumerate(keys):
        ax = fig.add_subplot(1, len(keys), i + 1)
        order = _ordered([r.get(key) for r in rows])
        position = {v: j for j, v in enumerate(order)}
        xs = [position[label(r.get(key))] + rng.uniform(-0.12, 0.12) for r in rows]
        ax.scatter(xs, [r["score"] for r in rows], s=14, color=BLUE, alpha=0.7)
        means = [np.mean([r["score"] for r in rows if label(r.get(key)) == v]) for v in order]
        ax.plot(range(len(order)), means, color=ORANGE, marker="_", markersize=18, linestyle="none")
        ax.set_xticks(range(len(order)), order, fontsize=7, rotation=30 if len(order) > 3 else 0)
        ax.set_title(key.split(".")[-1], fontsize=9)
        ax.tick_params(axis="y", labelsize=7)
        ax.grid(alpha=0.3, axis="y")
        if i == 0:
            ax.set_ylabel(objective, fontsize=8)
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
                    fontsize=7,
                    color="white" if grid[j, i] < np.nanmean(grid) else "black",
                )
    ax.set_xticks(range(len(xs)), xs, fontsize=7)
    ax.set_yticks(range(len(ys)), ys, fontsize=7)
    ax.set_xlabel(x_key, fontsize=8)
    ax.set_ylabel(y_key, fontsize=8)
    fig.colorbar(image, ax=ax, shrink=0.8).ax.tick_params(labelsize=7)
    ax.set_title(f"mean {objective}", fontsize=9)
    return _png(fig)


def importance(weights: dict, objective: str) -> bytes:
    """Each searched key's permutation importance, largest first (horizontal bars)."""
    items = sorted(weights.items(), key=lambda kv: kv[1])
    fig = Figure(figsize=(4.6, 0.45 * len(items) + 1.0), layout="constrained")
    ax = fig.add_subplot()
    ax.barh([k.split(".")[-1] for k, _ in items], [max(v, 0) for _, v in items], color=BLUE)
    ax.set_xlabel(f"drop in fit of {objective} when shuffled", fontsize=8)
    ax.tick_params(labelsize=7)
    ax.grid(alpha=0.3, axis="x")
    ax.set_title("parameter importance (permutation, random forest)", fontsize=9)
    return _png(fig)


def parallel(rows: list[dict], keys: list[str], objective: str) -> bytes:
    """Parallel coordinates: one line per trial through each searched key's values (in
    order) to its objective, coloured by the objective."""
    import matplotlib

    axes = [*keys, "score"]
    orders = {k: _ordered([r.get(k) for r in rows]) for k in keys}
    scores = [r["score"] for r in rows]
    lo, hi = min(scores), max(scores)
    span = (hi - lo) or 1.0
    fig = Figure(figsize=(max(4.0, 1.4 * len(axes)), 3.0), layout="constrained")
    ax = fig.add_subplot()
    cmap = matplotlib.colormaps["viridis"]
    for r in sorted(rows, key=lambda r: r["score"]):
        ys = [orders[k].index(label(r.get(k))) / max(len(orders[k]) - 1, 1) for k in keys] + [
            (r["score"] - lo) / span
        ]
        ax.plot(range(len(axes)), ys, color=cmap((r["score"] - lo) / span), alpha=0.6, lw=1)
    for i, k in enumerate(keys):
        n = len(orders[k])
        for j, v in enumerate(orders[k]):
            ax.text(i, j / max(n - 1, 1), f" {v}", fontsize=6, va="center")
    ax.text(len(keys), 0, f" {lo:.3f}", fontsize=6, va="center")
    ax.text(len(keys), 1, f" {hi:.3f}", fontsize=6, va="center")
    ax.set_xticks(range(len(axes)), [a.split(".")[-1] for a in keys] + [objective], fontsize=7)
    ax.set_yticks([])
    for i in range(len(axes)):
        ax.axvline(i, color="#888888", lw=0.6)
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
    ax.imshow(matrix, cmap=PLAYGROUND.reversed() if k == 2 else "Blues")
    for i in range(k):
        for j in range(k):
            ax.text(j, i, str(matrix[i, j]), ha="center", va="center", fontsize=8)
    ax.set_xticks(range(k), names, fontsize=7)
    ax.set_yticks(range(k), names, fontsize=7)
    ax.set_xlabel("predicted", fontsize=8)
    ax.set_ylabel("true", fontsize=8)
    ax.set_title("confusion matrix", fontsize=9)
    ax = fig.add_subplot(1, 2, 2)
    for c in range(1 if k == 2 else 0, k):
        fpr, tpr, _ = roc_curve(y == c, proba[:, c])
        colour = CLASS_COLOURS[c % len(CLASS_COLOURS)]
        ax.plot(fpr, tpr, color=colour, lw=1.4, label=f"{names[c]} (AUC {auc(fpr, tpr):.3f})")
    ax.plot([0, 1], [0, 1], color="#aaaaaa", lw=0.8, linestyle="--")
    ax.set_xlabel("false positive rate", fontsize=8)
    ax.set_ylabel("true positive rate", fontsize=8)
    ax.tick_params(labelsize=7)
    ax.legend(fontsize=6, loc="lower right", frameon=False)
    ax.set_title("ROC", fontsize=9)
    if title:
        fig.suptitle(_fit(title, 6.4, 9), fontsize=9)
    return _png(fig)


# --- how a run learned: learning.npz ---------------------------------------------------

NEAR_ZERO = 1e-3  # |w| below this counts as a weight L1 has switched off
MOST_UNITS = 16  # hidden units drawn per layer in the network picture
MOST_FRAMES = 30  # panels in the strip of boundary frames
LINK_WIDTH = 4.0  # points: the widest link in the network picture


def _finite(a) -> bool:
    a = np.asarray(a, dtype=np.float32)
    return bool(a.size) and bool(np.isfinite(a).all())


def plane_rgb(proba: np.ndarray) -> np.ndarray:
    """A (rows, cols, units) output over the plane as Playground colours it (rows, cols,
    3): P(class 1) from orange through white to blue for one sigmoid unit, else the
    likeliest class's colour, paler where the model is less sure. NaN is white."""
    proba = np.asarray(proba, dtype=np.float32)
    bad = ~np.isfinite(proba).all(axis=-1)
    proba = np.nan_to_num(proba, nan=0.5, posinf=1.0, neginf=0.0)
    if proba.shape[-1] == 1:
        rgb = PLAYGROUND(np.clip(proba[..., 0], 0, 1))[..., :3]
        rgb = 0.55 * rgb + 0.45
    else:
        k = proba.shape[-1]
        colours = np.array([to_rgb(CLASS_COLOURS[i % len(CLASS_COLOURS)]) for i in range(k)])
        confidence = np.clip((proba.max(axis=-1) - 1 / k) / (1 - 1 / k), 0, 1)
        strength = 0.55 * confidence[..., None]
        rgb = colours[proba.argmax(axis=-1)] * strength + 0.97 * (1 - strength)
    rgb[bad] = 1.0
    return rgb


def strip_frames(epochs: Sequence[int], most: int = MOST_FRAMES) -> list[int]:
    """The indices of the frames the strip shows: all of them, or ``most`` spread evenly
    (the first and the last always)."""
    n = len(epochs)
    if n <= most:
        return list(range(n))
    return sorted({int(round(i)) for i in np.linspace(0, n - 1, most)})


def _upsample(a: np.ndarray, rows: int, cols: int) -> np.ndarray:
    """A (h, w, c) array resized to (rows, cols, c), bilinearly (NaN spreads)."""
    a = np.asarray(a, dtype=np.float32)

    def axis(n_in: int, n_out: int):
        t = np.linspace(0, n_in - 1, n_out)
        i0 = np.minimum(t.astype(int), max(n_in - 2, 0))
        return i0, np.minimum(i0 + 1, n_in - 1), (t - i0).astype(np.float32)

    r0, r1, fr = axis(a.shape[0], rows)
    c0, c1, fc = axis(a.shape[1], cols)
    a = a[r0] * (1 - fr)[:, None, None] + a[r1] * fr[:, None, None]
    return a[:, c0] * (1 - fc)[None, :, None] + a[:, c1] * fc[None, :, None]


GREY = np.array(to_rgb("#888888"))


def _panel(frame: np.ndarray, size: int, points=None) -> np.ndarray:
    """One frame of the strip as a (size, size, 3) picture, its first row at the
    bottom: the output in Playground's colours, the 0.5 line for one sigmoid unit,
    the training points ((rows, cols, rgb) in pixels) faint, a grey border."""
    up = _upsample(frame, size, size)
    rgb = plane_rgb(up)
    if up.shape[-1] == 1:
        side = up[..., 0] >= 0.5
        edge = np.zeros_like(side)
        edge[:, 1:] |= side[:, 1:] != side[:, :-1]
        edge[1:, :] |= side[1:, :] != side[:-1, :]
        rgb[edge] = 0.3 * rgb[edge] + 0.7 * 0.2
    if points is not None:
        r, c, colours = points
        rgb[r, c] = 0.6 * rgb[r, c] + 0.4 * colours
    rgb[[0, -1], :] = GREY
    rgb[:, [0, -1]] = GREY
    return rgb


def learning_strip_figure(learning: dict, points: dict | None = None, title: str = "") -> Figure:
    """The decision boundary at each snapshot epoch, left to right (rows of ten), the
    training points faint over it; a frame that is not finite (a diverged run) blank
    with 'diverged'. Drawn as one picture of pixels (a figure of many small axes takes
    ten times as long)."""
    epochs = [int(e) for e in learning["snapshot_epochs"]]
    frames = learning["snapshot_proba"]
    xs, ys = learning["xs"], learning["ys"]
    shown = strip_frames(epochs)
    cols = min(len(shown), 10)
    rows = math.ceil(len(shown) / cols)
    size, gap, title_h, head = 100, 8, 16, 28  # pixels
    width = cols * (size + gap) + gap
    height = head + rows * (size + title_h) + 4
    fig = Figure(figsize=(width / DPI, height / DPI))
    canvas = np.ones((height, width, 3))
    dots = None
    x, y = (points or {}).get("x_train"), (points or {}).get("y_train")
    if x is not None and y is not None and len(x) == len(y):
        lo_x, hi_x, lo_y, hi_y = float(xs[0]), float(xs[-1]), float(ys[0]), float(ys[-1])
        c = np.round((x[:, 0] - lo_x) / (hi_x - lo_x) * (size - 1)).astype(int)
        r = np.round((x[:, 1] - lo_y) / (hi_y - lo_y) * (size - 1)).astype(int)
        inside = (c >= 0) & (c < size) & (r >= 0) & (r < size)
        colours = np.array([to_rgb(CLASS_COLOURS[int(k) % len(CLASS_COLOURS)]) for k in y])
        dots = (r[inside], c[inside], colours[inside])
    for n, i in enumerate(shown):
        row, col = divmod(n, cols)
        left = gap + col * (size + gap)
        top = head + row * (size + title_h) + title_h  # from the picture's top
        frame = np.asarray(frames[i], dtype=np.float32)
        centre = (left + size / 2) / width
        fig.text(centre, 1 - (top - 3) / height, f"epoch {epochs[i]}", ha="center", fontsize=8)
        if _finite(frame):
            panel = _panel(frame, size, dots)[::-1]  # first row at the bottom
        else:
            panel = np.full((size, size, 3), 0.96)
            panel[[0, -1], :] = GREY
            panel[:, [0, -1]] = GREY
            middle = 1 - (top + size / 2) / height
            fig.text(centre, middle, "diverged", ha="center", va="center", color="#b3261e")
        canvas[top : top + size, left : left + size] = panel
    fig.figimage(canvas, 0, 0, origin="upper", zorder=0)
    text = title or "the decision boundary while it learned"
    if len(shown) < len(epochs):
        text += f" ({len(shown)} of {len(epochs)} frames)"
    fig.text(0.5, 1 - 6 / height, _fit(text, width / DPI, 9), ha="center", va="top", fontsize=9)
    return fig


def learning_strip(learning: dict, points: dict | None = None, title: str = "") -> bytes:
    """:func:`learning_strip_figure` as PNG."""
    return _png(learning_strip_figure(learning, points, title))


def layers(learning: dict) -> int:
    """The number of Dense layers learning.npz has weights for (the output layer too)."""
    n = 0
    while f"kernel_{n + 1}" in learning:
        n += 1
    return n


def link_styles(weights: np.ndarray, largest: float | None = None) -> tuple[np.ndarray, list]:
    """Line widths and colours for links of these weights, as Playground draws them:
    width proportional to |w| (``LINK_WIDTH`` points for the largest |w|, or for
    ``largest``), blue for a positive weight, orange for a negative one. A weight that
    is not finite gets width 0."""
    w = np.asarray(weights, dtype=np.float64).ravel()
    magnitude = np.where(np.isfinite(w), np.abs(w), 0.0)
    top = largest if largest is not None else (magnitude.max() if magnitude.size else 0.0)
    widths = LINK_WIDTH * magnitude / top if top > 0 else np.zeros_like(magnitude)
    return widths, [BLUE if v > 0 else ORANGE for v in np.nan_to_num(w)]


def shown_units(into: np.ndarray, out: np.ndarray | None, most: int = MOST_UNITS) -> list[int]:
    """The units of a layer the network picture draws: all, or the ``most`` with the
    largest total |weight| in and out (in their order)."""
    into = np.nan_to_num(np.abs(np.asarray(into, dtype=np.float64)))
    n = into.shape[1]
    if n <= most:
        return list(range(n))
    strength = into.sum(axis=0)
    if out is not None:
        strength = strength + np.nan_to_num(np.abs(np.asarray(out, dtype=np.float64))).sum(axis=1)
    return sorted(np.argsort(-strength, kind="stable")[:most].tolist())


def _unit_rgb(h: np.ndarray) -> np.ndarray:
    """A hidden unit's output over the plane, Playground's colours (orange negative,
    blue positive), scaled to its own largest |value|; NaN white."""
    h = np.asarray(h, dtype=np.float32)
    top = float(np.nanmax(np.abs(h))) if np.isfinite(h).any() else 0.0
    rgb = PLAYGROUND((np.nan_to_num(h) / (top or 1.0) + 1) / 2)[..., :3]
    rgb[~np.isfinite(h)] = 1.0
    return rgb


def _place(canvas: np.ndarray, rgb: np.ndarray | None, x: float, y: float, size: int) -> None:
    """Put a picture (its first row at the bottom; None: a blank grey box) of size x
    size pixels centred on (x, y) into an RGBA canvas whose first row is the bottom."""
    r0, c0 = int(round(y - size / 2)), int(round(x - size / 2))
    box = np.empty((size, size, 4))
    box[..., :3] = 0.95 if rgb is None else _upsample(rgb, size, size)
    box[..., 3] = 1.0
    box[[0, -1], :, :3] = GREY
    box[:, [0, -1], :3] = GREY
    canvas[r0 : r0 + size, c0 : c0 + size] = box


def network_figure(learning: dict, title: str = "") -> tuple[Figure, dict]:
    """The network as TensorFlow Playground draws it: the inputs, each hidden unit as a
    small picture of its output over the plane, the output as the final boundary, and
    each link as a line as wide as |weight|, blue if positive, orange if negative.
    At most ``MOST_UNITS`` units a layer (those with the largest weights), '+N more'.

    Returns:
        The figure, and what it drew: ``units`` (the units shown per layer),
        ``widths`` and ``colours`` of the links, ``more`` (units not shown per layer).
    """
    from matplotlib.collections import LineCollection

    n_dense = layers(learning)
    kernels = [np.asarray(learning[f"kernel_{i}"], np.float32) for i in range(1, n_dense + 1)]
    n_in = kernels[0].shape[0]
    inputs = [str(s) for s in learning.get("inputs", [])]
    inputs = inputs if len(inputs) == n_in else [f"x{i + 1}" for i in range(n_in)]
    columns = [list(range(n_in))]
    for i in range(n_dense - 1):
        columns.append(shown_units(kernels[i], kernels[i + 1]))
    columns.append(list(range(kernels[-1].shape[1])))
    widths = [n_in, *(k.shape[1] for k in kernels)]
    more = [n - len(c) for n, c in zip(widths, columns, strict=True)]
    last = len(columns) - 1
    dx, dy, s = 96, 33, 26  # pixels: column step, row step, hidden unit size
    n_out = len(columns[last])
    big = 50 if n_out == 1 else 40 if n_out <= 4 else s  # the output units
    steps = [dy] * last + [max(dy, big + 8)]
    tallest = max(max(len(c) * step for c, step in zip(columns, steps, strict=True)), big + 10)
    below = 22 if any(more) else 8
    above = 52  # the title and each column's name
    width, height = 70 + last * dx + big // 2 + 20, tallest + below + above
    fig = Figure(figsize=(width / DPI, height / DPI))
    ax = fig.add_axes((0, 0, 1, 1))
    ax.set_xlim(0, width)
    ax.set_ylim(0, height)
    ax.axis("off")
    middle = below + tallest / 2

    def xy(col: int, k: int) -> tuple[float, float]:
        n = len(columns[col])
        return 40 + col * dx, middle + ((n - 1) / 2 - k) * steps[col]

    def half(col: int) -> float:
        return 22 if col == 0 else (big if col == last else s) / 2

    segments, link_weights = [], []
    for c in range(1, last + 1):
        for k_out, j in enumerate(columns[c]):
            x1, y1 = xy(c, k_out)
            for k_in, i in enumerate(columns[c - 1]):
                x0, y0 = xy(c - 1, k_in)
                segments.append([(x0 + half(c - 1), y0), (x1 - half(c), y1)])
                link_weights.append(kernels[c - 1][i, j])
    link_w, link_c = link_styles(np.array(link_weights))
    ax.add_collection(LineCollection(segments, linewidths=link_w, colors=link_c, alpha=0.7))
    canvas = np.zeros((height, width, 4))
    for c in range(1, last):
        hidden = learning.get(f"hidden_{c}")
        for k, j in enumerate(columns[c]):
            ok = hidden is not None and j < hidden.shape[-1]
            _place(canvas, _unit_rgb(hidden[..., j]) if ok else None, *xy(c, k), s)
    frames = learning.get("snapshot_proba")
    final = None if frames is None or not len(frames) else np.asarray(frames[-1], np.float32)
    for k, j in enumerate(columns[last]):
        rgb = None
        if final is not None and _finite(final):
            if len(columns[last]) == 1:
                rgb = plane_rgb(final)
            else:  # one softmax unit: its class's probability, white to its colour
                colour = np.array(to_rgb(CLASS_COLOURS[j % len(CLASS_COLOURS)]))
                rgb = 1 - 0.75 * np.clip(final[..., j : j + 1], 0, 1) * (1 - colour)
        elif final is not None:  # over the node pictures: a figure's text
            x, y = xy(last, k)
            fig.text(
                x / width,
                y / height,
                "diverged",
                ha="center",
                va="center",
                fontsize=6,
                color="#b3261e",
                zorder=6,
            )
        _place(canvas, rgb, *xy(last, k), big)
    fig.figimage(canvas, 0, 0, origin="lower", zorder=5)
    for k, name in enumerate(inputs):
        ax.text(
            *xy(0, k),
            _fit(name, 0.55, 8),
            ha="center",
            va="center",
            fontsize=8,
            bbox={"boxstyle": "round,pad=0.3", "fc": "#f4f6f7", "ec": "#888888", "lw": 0.6},
        )
    activation = str(learning.get("activation", ""))
    for c in range(last + 1):
        head = "inputs" if c == 0 else "output" if c == last else f"hidden {c}"
        if c == 1 and activation and c != last:
            head += f"\n{activation}"
        x, _ = xy(c, 0)
        ax.text(x, below + tallest + 4, head, ha="center", va="bottom", fontsize=7, color="#444")
        if more[c] > 0:
            ax.text(x, below - 4, f"+{more[c]} more", ha="center", va="top", fontsize=7)
    shape = " → ".join(str(n) for n in widths)
    text = _fit(title or f"the network: {shape}", width / DPI - 0.2, 8)
    ax.text(8, height - 6, text, fontsize=8, va="top")
    drawn = {"units": columns, "widths": link_w, "colours": link_c, "more": more}
    return fig, drawn


def network(learning: dict, title: str = "") -> bytes:
    """:func:`network_figure` as PNG."""
    return _png(network_figure(learning, title)[0])


def near_zero(weights, tolerance: float = NEAR_ZERO) -> int:
    """How many weights have |w| < tolerance (what L1 drives to zero)."""
    w = np.asarray(weights, dtype=np.float64)
    return int(np.count_nonzero(np.abs(w[np.isfinite(w)]) < tolerance))


def weights_figure(learning: dict, title: str = "") -> Figure:
    """The distribution of each layer's kernel weights, overlaid, with how many are
    near zero (|w| < 1e-3) per layer and in all."""
    kernels = [
        np.asarray(learning[f"kernel_{i}"], np.float64) for i in range(1, layers(learning) + 1)
    ]
    finite = np.concatenate([k[np.isfinite(k)] for k in kernels])
    total = sum(k.size for k in kernels)
    zeros = sum(near_zero(k) for k in kernels)
    fig = Figure(figsize=(5.2, 2.5))
    _margins(fig, title=False, left=0.5, bottom=0.42)
    w, _ = fig.get_size_inches()
    fig.subplots_adjust(right=1 - 1.75 / w)
    ax = fig.add_subplot()
    top = float(np.abs(finite).max()) if finite.size else 0.0
    bins = np.linspace(-top, top, 41) if top > 0 else np.linspace(-1, 1, 41)
    for i, k in enumerate(kernels, start=1):
        name = "output" if i == len(kernels) else f"hidden {i}"
        label_ = f"{name} ({k.shape[0]}×{k.shape[1]}): {near_zero(k)} near 0"
        values = k[np.isfinite(k)]
        colour = f"C{(i - 1) % 10}"
        if values.size:
            ax.hist(values, bins=bins, histtype="step", color=colour, lw=1.3, label=label_)
        else:
            ax.plot([], [], color=colour, label=label_ + " (diverged)")
    if not finite.size:
        ax.text(0.5, 0.5, "diverged", transform=ax.transAxes, ha="center", color="#b3261e")
    ax.set_xlabel("weight", fontsize=8)
    ax.set_ylabel("weights", fontsize=8)
    ax.tick_params(labelsize=7)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=6, frameon=False, loc="upper left", bbox_to_anchor=(1.01, 1.0))
    head = title or "kernel weights"
    text = _fit(f"{head}: {zeros} of {total} with |w| < {NEAR_ZERO:g}", w - 0.3, 9)
    ax.set_title(text, fontsize=9, loc="left", x=-0.1)
    return fig


def weights(learning: dict, title: str = "") -> bytes:
    """:func:`weights_figure` as PNG."""
    return _png(weights_figure(learning, title))


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
    fig = Figure(figsize=(5.0 if several else 4.2, 2.5 + legend_h))
    _margins(fig, title=False, left=0.5, bottom=0.42 + legend_h)
    ax = fig.add_subplot()
    tops, bottoms = [], []
    for n, name, x, y, per_epoch in plotted:
        colour = f"C{n % 10}" if several else ORANGE
        mean = _moving_mean(y, max(1, min(per_epoch, len(y) // 40)))
        if len(y) > 40:  # fainter the more batches there are
            ax.plot(x, y, color=colour, lw=0.4, alpha=0.3 if len(y) < 1000 else 0.12)
        steps = f"{per_epoch} step{'s' if per_epoch > 1 else ''}/epoch"
        style = {"marker": "o", "markersize": 3} if len(y) <= 40 else {}
        ax.plot(x, mean, color=colour, lw=1.5, label=f"{name}: {steps}", **style)
        tops.append(mean.max())
        bottoms.append(min(y.min(), 0.0))
    if tops:
        top, bottom = max(tops), min(bottoms)
        ax.set_ylim(bottom, top + 0.15 * ((top - bottom) or 1.0))
    ax.set_xlabel("epoch", fontsize=8)
    ax.set_ylabel("loss", fontsize=8)
    ax.set_xlim(left=0)
    ax.tick_params(labelsize=7)
    ax.grid(alpha=0.3)
    if plotted and several:
        ax.legend(
            fontsize=7,
            frameon=False,
            loc="upper left",
            bbox_to_anchor=(-0.1, -0.5 / (fig.get_size_inches()[1] - 0.72 - legend_h)),
            borderaxespad=0,
        )
    elif plotted:
        ax.legend(fontsize=7, frameon=False, loc="upper right")
    head = title or "loss of every batch"
    ax.set_title(
        _fit(f"{head} (solid: moving mean)", fig.get_size_inches()[0] - 0.6, 9), fontsize=9
    )
    return _png(fig)
