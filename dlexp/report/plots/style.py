"""What every picture of the report shares: its colours (TensorFlow Playground's), its
sizes on the page and in the file, saving a figure as PNG, fixed margins, titles that
fit, and category tick labels that never overlap."""

from __future__ import annotations

import io
import textwrap
from collections.abc import Sequence

import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.colors import LinearSegmentedColormap, to_rgb
from matplotlib.figure import Figure

from dlexp.core.labels import MOST_RUNS

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
GREY = np.array(to_rgb("#888888"))  # the border of the small pictures of the plane


def value_scale(*arrays) -> tuple:
    """The colour scale of a regression target over the plane, from the values it
    shows (the targets, or else the prediction): Playground's orange-white-blue
    centred on 0 when they hold both signs around a middle near 0 (Playground's
    targets, in [-1.2, 1.2]), viridis from the least to the largest value otherwise
    (a weight of 50 ± 40 would be all one pale blue on a scale centred on 0).

    Returns:
        (colormap, vmin, vmax); values beyond them take the end colours.
    """
    import matplotlib

    values = [np.asarray(a, dtype=np.float64).ravel() for a in arrays if a is not None]
    v = np.concatenate(values) if values else np.empty(0)
    v = v[np.isfinite(v)]
    if not v.size:
        return PLAYGROUND, -1.0, 1.0
    lo, hi = float(v.min()), float(v.max())
    if lo < 0 < hi and abs(float(np.median(v))) <= 0.2 * (hi - lo):
        top = max(-lo, hi)
        return PLAYGROUND, -top, top
    if hi - lo < 1e-12:
        lo, hi = lo - 0.5, hi + 0.5
    return matplotlib.colormaps["viridis"], lo, hi


def value_rgb(values: np.ndarray, scale: tuple, pale: float = 0.45) -> np.ndarray:
    """A (rows, cols) regression output as (rows, cols, 3) colours on ``scale``
    (:func:`value_scale`), mixed with ``pale`` of white as Playground shades its plane
    so the points over it show; NaN white."""
    cmap, lo, hi = scale
    v = np.asarray(values, dtype=np.float64)
    bad = ~np.isfinite(v)
    t = np.clip((np.nan_to_num(v) - lo) / ((hi - lo) or 1.0), 0, 1)
    rgb = cmap(t)[..., :3] * (1 - pale) + pale
    rgb[bad] = 1.0
    return rgb


def lower_is_better(metric: str) -> bool:
    """Whether a smaller ``metric`` is better (a loss, rmse, mae: runs.schema.direction)."""
    from dlexp.runs.schema import direction

    return direction(metric) == "min"


def better_text(metric: str) -> str:
    """'lower is better' or 'higher is better', for a chart's label."""
    return "lower is better" if lower_is_better(metric) else "higher is better"


def png(fig: Figure) -> bytes:
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


def margins(fig: Figure, title: bool = False, left: float = 0.45, bottom: float = 0.42) -> None:
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


def fit(text: str, width_in: float, fontsize: float) -> str:
    """A title shortened in the middle to what fits across ``width_in`` inches."""
    most = max(8, int(width_in * 72 / (fontsize * 0.6)))
    if len(text) <= most:
        return text
    keep = most - 1
    return text[: keep - keep // 2] + "…" + text[len(text) - keep // 2 :]


def wrap(text: str, width: int = 14) -> str:
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
                shown = [wrap(labels[i]) if which == "x" else labels[i] for i in every]
                getattr(ax, f"set_{which}ticks")(every, shown, fontsize=SMALL)
            elif which == "x":
                ax.set_xticks(range(len(labels)), [wrap(v) for v in labels], fontsize=SMALL)
            if step == "upright" and which == "x":
                ax.tick_params(axis="x", labelrotation=90)
                longest = max(len(line) for v in labels for line in wrap(v).splitlines())
                grow = max(grow, longest * SMALL * 0.62 / 72 - 0.25)
        if grow > 0:
            w, h = fig.get_size_inches()
            fig.set_size_inches(w, h + grow)
