"""The decision boundary while a run learned, epoch by epoch (a strip of frames from
learning.npz), in TensorFlow Playground's colours."""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
from matplotlib.colors import to_rgb
from matplotlib.figure import Figure

from dlexp.report.plots import style
from dlexp.report.plots.style import CLASS_COLOURS, DPI, GREY, PLAYGROUND

MOST_FRAMES = 30  # panels in the strip of boundary frames


def finite(a) -> bool:
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


def upsample(a: np.ndarray, rows: int, cols: int) -> np.ndarray:
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


def _panel(frame: np.ndarray, size: int, points=None) -> np.ndarray:
    """One frame of the strip as a (size, size, 3) picture, its first row at the
    bottom: the output in Playground's colours, the 0.5 line for one sigmoid unit,
    the training points ((rows, cols, rgb) in pixels) faint, a grey border."""
    up = upsample(frame, size, size)
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
    fig = style.pixel_figure(width, height)
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
        if finite(frame):
            panel = _panel(frame, size, dots)[::-1]  # first row at the bottom
        else:
            panel = np.full((size, size, 3), 0.96)
            panel[[0, -1], :] = GREY
            panel[:, [0, -1]] = GREY
            middle = 1 - (top + size / 2) / height
            fig.text(centre, middle, "diverged", ha="center", va="center", color="#b3261e")
        canvas[top : top + size, left : left + size] = panel
    style.figimage(fig, canvas, origin="upper", zorder=0)
    text = title or "the decision boundary while it learned"
    if len(shown) < len(epochs):
        text += f" ({len(shown)} of {len(epochs)} frames)"
    fig.text(
        0.5, 1 - 6 / height, style.fit(text, width / DPI, 9), ha="center", va="top", fontsize=9
    )
    return fig


def learning_strip(learning: dict, points: dict | None = None, title: str = "") -> bytes:
    """:func:`learning_strip_figure` as PNG."""
    return style.png(learning_strip_figure(learning, points, title))
