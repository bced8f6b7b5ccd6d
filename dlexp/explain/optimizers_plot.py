"""The picture of ``dlexp explain optimizers``: each optimizer's path over the
surface's contours. matplotlib is imported when ``draw`` is called."""

from __future__ import annotations

import io
import math

# Draw a path until it first leaves this far from the origin (the rest is off the
# picture anyway, and matplotlib draws nothing sensible with coordinates near 1e38).
FAR = 1e4


def draw(result) -> bytes:
    """The paths of ``result`` (an ``optimizers.Result``, not imported here: optimizers
    re-exports this function) over the surface's contours, each ending in a dot (a cross where it
    diverged), and the legend outside the axes. PNG bytes."""
    import numpy as np
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.colors import LogNorm
    from matplotlib.figure import Figure

    s = result.surface
    gx, gy = np.meshgrid(np.linspace(*s.xlim, 400), np.linspace(*s.ylim, 400))
    gz = s.fn(np, gx, gy)

    fig = Figure(figsize=(10.0, 6.4))
    FigureCanvasAgg(fig)
    fig.subplots_adjust(left=0.07, right=0.7, bottom=0.09, top=0.9)
    ax = fig.add_subplot(1, 1, 1)
    if s.log_levels:  # a deep narrow valley: equal ratios between levels show its floor
        low = max(float(gz.min()), 1e-6 * float(gz.max()), 1e-2)
        levels = np.logspace(math.log10(low), math.log10(float(gz.max())), 30)
        norm = LogNorm(levels[0], levels[-1])
        gz = np.clip(gz, levels[0], levels[-1])
    else:
        levels = np.linspace(float(gz.min()), float(gz.max()), 25)
        norm = None
    ax.contourf(gx, gy, gz, levels=levels, norm=norm, cmap="Greys", alpha=0.3)
    ax.contour(gx, gy, gz, levels=levels, norm=norm, colors="0.55", linewidths=0.5)

    for i, p in enumerate(result.paths):
        colour = f"C{i % 10}"
        far = np.flatnonzero(np.abs(p.xy).max(axis=1) > FAR)
        shown = p.xy[: far[0] + 1] if far.size else p.xy
        how = "diverged" if p.diverged_at is not None else f"f = {p.final_loss:.3g}"
        ax.plot(
            shown[:, 0],
            shown[:, 1],
            color=colour,
            linewidth=1.6,
            alpha=0.9,
            label=f"{p.label}, lr {p.learning_rate:g}: {how}",
        )
        fx, fy = p.final
        ax.plot(
            [fx],
            [fy],
            marker="o" if p.diverged_at is None else "X",
            markersize=7,
            color=colour,
            markeredgecolor="black",
            markeredgewidth=0.8,
            linestyle="none",
            zorder=6,
        )
    x0, y0 = s.start
    ax.plot(
        [x0],
        [y0],
        marker="o",
        markersize=8,
        color="white",
        markeredgecolor="black",
        linestyle="none",
        label=f"start ({x0:g}, {y0:g})",
        zorder=5,
    )
    ax.plot(
        [s.point[0]],
        [s.point[1]],
        marker="*" if s.minimum is not None else "P",
        markersize=15 if s.minimum is not None else 10,
        color="gold",
        markeredgecolor="black",
        linestyle="none",
        label=f"{s.point_name} ({s.point[0]:g}, {s.point[1]:g})",
        zorder=5,
    )
    ax.set_xlim(*s.xlim)
    ax.set_ylim(*s.ylim)
    ax.set_xlabel("x")
    ax.set_ylabel("y")
    ax.set_title(
        f"{s.name}: f(x, y) = {s.formula}\n{result.steps} steps of each Keras optimizer "
        f"from ({x0:g}, {y0:g})",
        fontsize=10,
    )
    ax.legend(
        loc="upper left",
        bbox_to_anchor=(1.02, 1.0),
        fontsize=8.5,
        frameon=False,
        title="final loss f (dot: where it ended)",
        title_fontsize=8.5,
    )
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=100)
    return buf.getvalue()
