"""What a run's model predicts: its decision boundary over the plane (boundary.npz), and
the test split's confusion matrix and ROC curve (predictions.npz). For regression (the
files hold ``predicted`` instead of ``proba``): the predicted value over the plane as a
heatmap with the points, and the test split's predicted against actual and residuals."""

from __future__ import annotations

import numpy as np
from matplotlib.cm import ScalarMappable
from matplotlib.colors import Normalize
from matplotlib.figure import Figure

from dlexp.report.plots import style
from dlexp.report.plots.strip import plane_rgb
from dlexp.report.plots.style import BLUE, CLASS_COLOURS, ORANGE, PLAYGROUND, SMALL


def boundary(arrays: dict, title: str = "") -> bytes:
    """:func:`boundary_figure` as PNG."""
    return style.png(boundary_figure(arrays, title))


def boundary_figure(arrays: dict, title: str = "") -> Figure:
    """The decision boundary over the data, as TensorFlow Playground draws it: the
    predicted class's colour, paler where the model is less sure, and the points. For
    regression, :func:`prediction_figure`."""
    if "predicted" in arrays:
        return prediction_figure(arrays, title)
    xs, ys, proba = arrays["xs"], arrays["ys"], arrays["proba"]
    extent = (float(xs[0]), float(xs[-1]), float(ys[0]), float(ys[-1]))
    fig = Figure(figsize=(3.4, 3.2))
    style.margins(fig, left=0.4, bottom=0.35)
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
    else:  # the likeliest class's colour, paler where less sure: as the strip draws it
        ax.imshow(plane_rgb(proba), origin="lower", extent=extent, aspect="auto")
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
    ax.set_title(style.fit(title or "decision boundary", 3.4 - 0.5, 9), fontsize=9)
    return fig


def prediction_figure(arrays: dict, title: str = "") -> Figure:
    """A 2D regression's prediction over the plane (boundary.npz's ``predicted``), one
    panel per target: the predicted value as a heatmap, the points coloured by their
    target on the same scale (:func:`style.value_scale` of the training targets: a
    point the model fits well disappears into the plane), and the scale as a colour
    bar."""
    xs, ys, predicted = arrays["xs"], arrays["ys"], arrays["predicted"]
    k = predicted.shape[-1]
    names = _names(arrays, k)
    extent = (float(xs[0]), float(xs[-1]), float(ys[0]), float(ys[-1]))
    fig = Figure(figsize=(4.1 * k, 3.2))
    style.margins(fig, left=0.4, bottom=0.35)
    fig.subplots_adjust(right=1 - 0.75 / (4.1 * k), wspace=0.45)
    for j in range(k):
        ax = fig.add_subplot(1, k, j + 1)
        train = arrays.get("y_train")
        scale = style.value_scale(predicted[..., j] if train is None else _column(train, j))
        cmap, lo, hi = scale
        ax.imshow(
            style.value_rgb(predicted[..., j], scale),
            origin="lower",
            extent=extent,
            aspect="auto",
        )
        for split, marker, size in (("train", "o", 10), ("test", "D", 8)):
            x, y = arrays.get(f"x_{split}"), arrays.get(f"y_{split}")
            if x is None or y is None:
                continue
            ax.scatter(
                x[:, 0],
                x[:, 1],
                c=_column(y, j),
                cmap=cmap,
                vmin=lo,
                vmax=hi,
                s=size,
                marker=marker,
                edgecolors="#666666" if split == "test" else "white",
                linewidths=0.3,
                label=split,
            )
        bar = fig.colorbar(ScalarMappable(Normalize(lo, hi), cmap), ax=ax, fraction=0.07, pad=0.03)
        bar.ax.tick_params(labelsize=SMALL)
        bar.set_label(f"{names[j]}: plane predicted, points actual", fontsize=SMALL)
        ax.set_xlim(extent[0], extent[1])
        ax.set_ylim(extent[2], extent[3])
        ax.tick_params(labelsize=SMALL)
        ax.legend(fontsize=SMALL, loc="upper right", framealpha=0.7)
        head = names[j] if k > 1 else title or "prediction over the plane"
        ax.set_title(style.fit(head, 3.2, 9), fontsize=9)
    if k > 1:
        fig.subplots_adjust(top=1 - 0.55 / 3.2)
        fig.suptitle(style.fit(title or "prediction over the plane", 4.1 * k, 9), fontsize=9)
    return fig


def _names(arrays: dict, k: int) -> list[str]:
    """The targets' names (``target_names``), y1, y2, ... without."""
    names = arrays.get("target_names")
    if names is None or len(names) != k:
        return [f"y{i + 1}" for i in range(k)] if k > 1 else ["value"]
    return [str(n) for n in names]


def _column(y: np.ndarray, j: int) -> np.ndarray:
    """Target ``j`` of an (n,) or (n, k) array of targets."""
    y = np.asarray(y, dtype=np.float64)
    return y if y.ndim == 1 else y[:, j]


MOST_TARGETS = 6  # targets drawn in the regression evaluation (the rest: named as left out)


def regression_scores(actual: np.ndarray, predicted: np.ndarray) -> dict[str, float]:
    """rmse, mae (in the target's units) and r2 of one target's predictions."""
    a, p = np.asarray(actual, np.float64), np.asarray(predicted, np.float64)
    keep = np.isfinite(a) & np.isfinite(p)
    a, p = a[keep], p[keep]
    if not a.size:
        return {"rmse": float("nan"), "mae": float("nan"), "r2": float("nan")}
    error = a - p
    spread = float(((a - a.mean()) ** 2).sum())
    r2 = 1 - float((error**2).sum()) / spread if spread > 0 else float("nan")
    return {
        "rmse": float(np.sqrt((error**2).mean())),
        "mae": float(np.abs(error).mean()),
        "r2": r2,
    }


def regression_evaluation_figure(arrays: dict, title: str = "") -> Figure:
    """The test split of a regression (predictions.npz's ``y_true`` and ``predicted``),
    a row per target: predicted against actual with the line y = x (where a perfect
    model's points lie), and the residual (actual - predicted) against the predicted
    value with the line 0 (a pattern there is what the model missed). Each row gives
    its rmse, mae (in the target's units) and r2 in a box at the lower right."""
    actual = np.asarray(arrays["y_true"], np.float64)
    predicted = np.asarray(arrays["predicted"], np.float64)
    actual = actual.reshape(len(actual), -1)
    predicted = predicted.reshape(len(predicted), -1)
    k = predicted.shape[1]
    names = _names(arrays, k)
    shown = min(k, MOST_TARGETS)
    fig = Figure(figsize=(6.4, 2.75 * shown + (0.3 if title else 0)), layout="constrained")
    for j in range(shown):
        a, p = actual[:, j], predicted[:, j]
        scores = regression_scores(a, p)
        keep = np.isfinite(a) & np.isfinite(p)
        ax = fig.add_subplot(shown, 2, 2 * j + 1)
        ax.scatter(a[keep], p[keep], s=10, color=BLUE, alpha=0.7, edgecolors="none")
        both = np.concatenate([a[keep], p[keep]]) if keep.any() else np.array([0.0, 1.0])
        lo, hi = float(both.min()), float(both.max())
        pad = 0.05 * ((hi - lo) or 1.0)
        ax.plot(
            [lo - pad, hi + pad],
            [lo - pad, hi + pad],
            color="#888888",
            lw=0.9,
            ls="--",
            label="y = x",
        )
        ax.set_xlim(lo - pad, hi + pad)
        ax.set_ylim(lo - pad, hi + pad)
        ax.set_xlabel(f"actual {names[j]}", fontsize=8)
        ax.set_ylabel(f"predicted {names[j]}", fontsize=8)
        ax.legend(fontsize=SMALL, loc="upper left", frameon=False)
        ax.set_title(style.fit(f"{names[j]}: predicted against actual", 3.0, 9), fontsize=9)
        text = f"rmse {scores['rmse']:.3g}\nmae {scores['mae']:.3g}\nr2 {scores['r2']:.3f}"
        box = {"boxstyle": "round,pad=0.3", "fc": "white", "ec": "#cccccc", "alpha": 0.85}
        ax.text(
            0.97,
            0.04,
            text,
            transform=ax.transAxes,
            ha="right",
            va="bottom",
            fontsize=SMALL,
            bbox=box,
        )
        ax = fig.add_subplot(shown, 2, 2 * j + 2)
        ax.scatter(p[keep], (a - p)[keep], s=10, color=ORANGE, alpha=0.7, edgecolors="none")
        ax.axhline(0, color="#888888", lw=0.9, ls="--")
        ax.set_xlabel(f"predicted {names[j]}", fontsize=8)
        ax.set_ylabel("residual (actual - predicted)", fontsize=8)
        ax.set_title("residuals", fontsize=9)
        for a_ in fig.axes[-2:]:
            a_.tick_params(labelsize=SMALL)
            a_.grid(alpha=0.3)
    head = title
    if k > shown:
        head = "; ".join(t for t in (title, f"the first {shown} of {k} targets") if t)
    if head:
        fig.suptitle(style.fit(head, 6.4, 9), fontsize=9)
    return fig


def evaluation(arrays: dict, title: str = "") -> bytes:
    """:func:`evaluation_figure` as PNG."""
    return style.png(evaluation_figure(arrays, title))


def roc_curve(truth: np.ndarray, score: np.ndarray) -> tuple[np.ndarray, np.ndarray, float]:
    """The ROC curve of scores against a boolean truth, a point per distinct score
    (as scikit-learn's roc_curve draws it), and the area under it. In NumPy: importing
    scikit-learn costs each of the report's drawing processes 3 s."""
    order = np.argsort(-score, kind="mergesort")
    score, truth = score[order], truth[order].astype(float)
    last = np.r_[np.flatnonzero(np.diff(score)), truth.size - 1]
    tps = np.r_[0.0, np.cumsum(truth)[last]]
    fps = np.r_[0.0, 1 + last - tps[1:]]
    fpr, tpr = fps / max(fps[-1], 1.0), tps / max(tps[-1], 1.0)
    area = float(np.sum(np.diff(fpr) * (tpr[1:] + tpr[:-1]) / 2))
    return fpr, tpr, area


def evaluation_figure(arrays: dict, title: str = "") -> Figure:
    """The test split's confusion matrix and ROC curve (one-vs-rest for several
    classes), from the run's predictions.npz. For regression,
    :func:`regression_evaluation_figure`."""
    if "predicted" in arrays:
        return regression_evaluation_figure(arrays, title)
    y, proba = arrays["y_true"].astype(int), arrays["proba"]
    if proba.shape[1] == 1:  # one sigmoid unit: the second class's probability
        proba = np.concatenate([1 - proba, proba], axis=1)
    k = proba.shape[1]
    names = [str(c) for c in arrays.get("class_names", range(k))]
    fig = Figure(figsize=(6.4, 3.0), layout="constrained")
    ax = fig.add_subplot(1, 2, 1)
    inside = (y >= 0) & (y < k)  # confusion_matrix(labels=range(k)) leaves others out
    matrix = np.bincount(y[inside] * k + proba.argmax(axis=1)[inside], minlength=k * k).reshape(
        k, k
    )
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
        fpr, tpr, area = roc_curve(y == c, proba[:, c])
        colour = CLASS_COLOURS[c % len(CLASS_COLOURS)]
        ax.plot(fpr, tpr, color=colour, lw=1.4, label=f"{names[c]} (AUC {area:.3f})")
    ax.plot([0, 1], [0, 1], color="#aaaaaa", lw=0.8, linestyle="--")
    ax.set_xlabel("false positive rate", fontsize=8)
    ax.set_ylabel("true positive rate", fontsize=8)
    ax.tick_params(labelsize=SMALL)
    ax.legend(fontsize=SMALL, loc="lower right", frameon=False)
    ax.set_title("ROC", fontsize=9)
    if title:
        fig.suptitle(style.fit(title, 6.4, 9), fontsize=9)
    style.category_ticks(fig, ticks)
    return fig
