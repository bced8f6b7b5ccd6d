"""The network as TensorFlow Playground draws it (each hidden unit's output, links as
wide as |weight|) and the histogram of its weights, from learning.npz."""

from __future__ import annotations

import numpy as np
from matplotlib.colors import to_rgb
from matplotlib.figure import Figure

from dlexp.report.plots import style
from dlexp.report.plots.strip import finite, plane_rgb, upsample
from dlexp.report.plots.style import BLUE, CLASS_COLOURS, DPI, GREY, ORANGE, PLAYGROUND, SMALL

NEAR_ZERO = 1e-3  # |w| below this counts as a weight L1 has switched off
MOST_UNITS = 16  # hidden units drawn per layer in the network picture
LINK_WIDTH = 4.0  # points: the widest link in the network picture


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
    box[..., :3] = 0.95 if rgb is None else upsample(rgb, size, size)
    box[..., 3] = 1.0
    box[[0, -1], :, :3] = GREY
    box[:, [0, -1], :3] = GREY
    canvas[r0 : r0 + size, c0 : c0 + size] = box


def network_figure(
    learning: dict, title: str = "", regression: bool | None = None
) -> tuple[Figure, dict]:
    """The network as TensorFlow Playground draws it: the inputs, each hidden unit as a
    small picture of its output over the plane, the output as the final boundary, and
    each link as a line as wide as |weight|, blue if positive, orange if negative.
    At most ``MOST_UNITS`` units a layer (those with the largest weights), '+N more'.
    For regression (``regression``; None: when the final frame leaves [0, 1], which no
    probability does) each output is its predicted value (:func:`style.value_scale`).

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
    fig = style.pixel_figure(width, height)
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
    if regression is None and final is not None and finite(final):
        regression = bool(final.min() < 0 or final.max() > 1)
    for k, j in enumerate(columns[last]):
        rgb = None
        if final is not None and finite(final):
            if regression:
                rgb = style.value_rgb(final[..., j], style.value_scale(final[..., j]))
            elif len(columns[last]) == 1:
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
                fontsize=SMALL,
                color="#b3261e",
                zorder=6,
            )
        _place(canvas, rgb, *xy(last, k), big)
    style.figimage(fig, canvas, origin="lower", zorder=5)
    for k, name in enumerate(inputs):
        ax.text(
            *xy(0, k),
            style.fit(name, 0.55, 8),
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
        ax.text(
            x, below + tallest + 4, head, ha="center", va="bottom", fontsize=SMALL, color="#444"
        )
        if more[c] > 0:
            ax.text(x, below - 4, f"+{more[c]} more", ha="center", va="top", fontsize=SMALL)
    shape = " → ".join(str(n) for n in widths)
    text = style.fit(title or f"the network: {shape}", width / DPI - 0.2, 8)
    ax.text(8, height - 6, text, fontsize=8, va="top")
    drawn = {"units": columns, "widths": link_w, "colours": link_c, "more": more}
    return fig, drawn


def network(learning: dict, title: str = "", regression: bool | None = None) -> bytes:
    """:func:`network_figure` as PNG."""
    return style.png(network_figure(learning, title, regression)[0])


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
    kept = np.concatenate([k[np.isfinite(k)] for k in kernels])
    total = sum(k.size for k in kernels)
    zeros = sum(near_zero(k) for k in kernels)
    longest = max(
        len(f"hidden {i} ({k.shape[0]}×{k.shape[1]}): {k.size} near 0 (diverged)")
        for i, k in enumerate(kernels, start=1)
    )
    legend = longest * SMALL * 0.6 / 72 + 0.45  # inches beside the chart for the legend
    fig = Figure(figsize=(3.5 + legend, 2.5))
    style.margins(fig, title=False, left=0.5, bottom=0.42)
    w, _ = fig.get_size_inches()
    fig.subplots_adjust(right=1 - legend / w)
    ax = fig.add_subplot()
    top = float(np.abs(kept).max()) if kept.size else 0.0
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
    if not kept.size:
        ax.text(0.5, 0.5, "diverged", transform=ax.transAxes, ha="center", color="#b3261e")
    ax.set_xlabel("weight", fontsize=8)
    ax.set_ylabel("weights", fontsize=8)
    ax.tick_params(labelsize=SMALL)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=SMALL, frameon=False, loc="upper left", bbox_to_anchor=(1.01, 1.0))
    head = title or "kernel weights"
    text = style.fit(f"{head}: {zeros} of {total} with |w| < {NEAR_ZERO:g}", w - 0.3, 9)
    ax.set_title(text, fontsize=9, loc="left", x=-0.1)
    return fig


def weights(learning: dict, title: str = "") -> bytes:
    """:func:`weights_figure` as PNG."""
    return style.png(weights_figure(learning, title))
