"""What a run's model predicts: its decision boundary over the plane (boundary.npz), and
the test split's confusion matrix and ROC curve (predictions.npz)."""

from __future__ import annotations

import numpy as np
from matplotlib.figure import Figure

from dlexp.report.plots import style
from dlexp.report.plots.strip import plane_rgb
from dlexp.report.plots.style import CLASS_COLOURS, PLAYGROUND, SMALL


def boundary(arrays: dict, title: str = "") -> bytes:
    """:func:`boundary_figure` as PNG."""
    return style.png(boundary_figure(arrays, title))


def boundary_figure(arrays: dict, title: str = "") -> Figure:
    """The decision boundary over the data, as TensorFlow Playground draws it: the
    predicted class's colour, paler where the model is less sure, and the points."""
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


def evaluation(arrays: dict, title: str = "") -> bytes:
    """:func:`evaluation_figure` as PNG."""
    return style.png(evaluation_figure(arrays, title))


def evaluation_figure(arrays: dict, title: str = "") -> Figure:
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
        fig.suptitle(style.fit(title, 6.4, 9), fontsize=9)
    style.category_ticks(fig, ticks)
    return fig
