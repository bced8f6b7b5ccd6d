"""The decision boundary while a run learned, epoch by epoch (a strip of frames from
learning.npz), in TensorFlow Playground's colours; for regression, the predicted value
over the plane as a heatmap on the targets' colour scale."""

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


def _panel(frame: np.ndarray, size: int, points=None, scale=None) -> np.ndarray:
    """One frame of the strip as a (size, size, 3) picture, its first row at the
    bottom: the output in Playground's colours, the 0.5 line for one sigmoid unit (for
    regression, ``scale`` given: the first target's predicted value on it), the
    training points ((rows, cols, rgb) in pixels) faint, a grey border."""
    up = upsample(frame, size, size)
    rgb = plane_rgb(up) if scale is None else style.value_rgb(up[..., 0], scale)
    if up.shape[-1] == 1 and scale is None:
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


def is_regression(points: dict | None) -> bool:
    """Whether boundary.npz's points are a regression's: their targets are numbers
    (float32), not class indices (int16)."""
    y = (points or {}).get("y_train")
    return y is not None and np.issubdtype(np.asarray(y).dtype, np.floating)


def learning_strip_figure(
    learning: dict,
    points: dict | None = None,
    title: str = "",
    regression: bool | None = None,
) -> Figure:
    """The decision boundary at each snapshot epoch, left to right (rows of ten), the
    training points faint over it; a frame that is not finite (a diverged run) blank
    with 'diverged'. Drawn as one picture of pixels (a figure of many small axes takes
    ten times as long).

    For regression (``regression``, or None: when the points' targets are numbers) each
    frame is the first target's predicted value as a heatmap, the points coloured by
    their target on the same scale (:func:`style.value_scale`, drawn under the title).
    """
    epochs = [int(e) for e in learning["snapshot_epochs"]]
    frames = learning["snapshot_proba"]
    xs, ys = learning["xs"], learning["ys"]
    shown = strip_frames(epochs)
    cols = min(len(shown), 10)
    rows = math.ceil(len(shown) / cols)
    x, y = (points or {}).get("x_train"), (points or {}).get("y_train")
    regression = is_regression(points) if regression is None else regression
    scale = None
    if regression:
        last = np.asarray(frames[-1], np.float32)[..., 0] if len(frames) else None
        targets = None if y is None else np.asarray(y, np.float32).reshape(len(y), -1)[:, 0]
        scale = style.value_scale(targets if targets is not None else last)
    size, gap, title_h, head = 100, 8, 16, 28 if scale is None else 46  # pixels
    width = max(cols * (size + gap) + gap, 330 if scale is not None else 0)
    height = head + rows * (size + title_h) + 4
    fig = style.pixel_figure(width, height)
    canvas = np.ones((height, width, 3))
    dots = None
    if x is not None and y is not None and len(x) == len(y):
        lo_x, hi_x, lo_y, hi_y = float(xs[0]), float(xs[-1]), float(ys[0]), float(ys[-1])
        c = np.round((x[:, 0] - lo_x) / (hi_x - lo_x) * (size - 1)).astype(int)
        r = np.round((x[:, 1] - lo_y) / (hi_y - lo_y) * (size - 1)).astype(int)
        inside = (c >= 0) & (c < size) & (r >= 0) & (r < size)
        if scale is not None:  # each point's target on the frames' scale, unshaded
            colours = style.value_rgb(targets, scale, pale=0.0)
        else:
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
            panel = _panel(frame, size, dots, scale)[::-1]  # first row at the bottom
        else:
            panel = np.full((size, size, 3), 0.96)
            panel[[0, -1], :] = GREY
            panel[:, [0, -1]] = GREY
            middle = 1 - (top + size / 2) / height
            fig.text(centre, middle, "diverged", ha="center", va="center", color="#b3261e")
        canvas[top : top + size, left : left + size] = panel
    if scale is not None:
        _scale_bar(fig, canvas, scale, _target_name(points), width, height)
    style.figimage(fig, canvas, origin="upper", zorder=0)
    text = title or (
        "the prediction while it learned" if scale else "the decision boundary while it learned"
    )
    if len(shown) < len(epochs):
        text += f" ({len(shown)} of {len(epochs)} frames)"
    outputs = np.shape(frames)[-1] if np.ndim(frames) == 4 else 1
    if scale is not None and outputs > 1:
        text += f" (the first of {outputs} targets)"
    fig.text(
        0.5, 1 - 6 / height, style.fit(text, width / DPI, 9), ha="center", va="top", fontsize=9
    )
    return fig


def _target_name(points: dict | None) -> str:
    """The first target's name (boundary.npz's target_names), 'predicted' without."""
    names = (points or {}).get("target_names")
    return str(names[0]) if names is not None and len(names) else "predicted"


def _scale_bar(fig: Figure, canvas: np.ndarray, scale: tuple, name: str, width, height) -> None:
    """The frames' colour scale under the strip's title: a bar from its least to its
    largest value (0 in the middle of a centred one), labelled at its ends."""
    _, lo, hi = scale
    left, top, bar_w, bar_h = 8 + 150, 22, 120, 9  # pixels from the picture's top left
    values = np.linspace(lo, hi, bar_w)[None, :].repeat(bar_h, axis=0)
    canvas[top : top + bar_h, left : left + bar_w] = style.value_rgb(values, scale)
    canvas[[top, top + bar_h - 1], left : left + bar_w] = GREY
    canvas[top : top + bar_h, [left, left + bar_w - 1]] = GREY
    middle = 1 - (top + bar_h / 2) / height
    kw = {"va": "center", "fontsize": 8}
    fig.text((left - 4) / width, middle, f"{lo:.3g}", ha="right", **kw)
    fig.text((left + bar_w + 4) / width, middle, f"{hi:.3g}", ha="left", **kw)
    fig.text(8 / width, middle, style.fit(f"colour: {name}", 1.4, 8), ha="left", **kw)
    fig.text(
        (left + bar_w + 40) / width, middle, "points: their target", ha="left", color="#555", **kw
    )


def learning_strip(
    learning: dict, points: dict | None = None, title: str = "", regression: bool | None = None
) -> bytes:
    """:func:`learning_strip_figure` as PNG."""
    return style.png(learning_strip_figure(learning, points, title, regression))
