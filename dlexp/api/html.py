"""The pieces of the API's notebook display (``_repr_html_``): a heading, a compact
table of key figures, a DataFrame's first rows and a small picture inline as a base64
PNG. Pure text building, no Keras and no pandas at import."""

from __future__ import annotations

import base64
import html
import io
import math
import sys
from collections.abc import Iterable, Sequence
from typing import Any

STYLE = "border-collapse:collapse;font-size:12px;margin:2px 0"
CELL = "padding:1px 8px;border-bottom:1px solid #ddd;text-align:right"
HEAD = "padding:1px 8px;border-bottom:1px solid #999;text-align:right;font-weight:bold"


def number(value: Any, digits: int = 4) -> str:
    """A figure for a table: 4 decimals for a float, '-' when missing, as the CLI's."""
    if value is None:
        return "-"
    if isinstance(value, float):
        return str(value) if not math.isfinite(value) else f"{value:.{digits}f}"
    return str(value)


def heading(text: str, note: str = "") -> str:
    """A bold line, with a grey note after it."""
    tail = f' <span style="color:#777">{html.escape(note)}</span>' if note else ""
    return f"<div><b>{html.escape(text)}</b>{tail}</div>"


def table(header: Sequence[str], rows: Iterable[Sequence[Any]]) -> str:
    """An HTML table: a header row, then rows of cells (numbers formatted by
    :func:`number`)."""
    head = "".join(f'<th style="{HEAD}">{html.escape(str(h))}</th>' for h in header)
    body = "".join(
        "<tr>" + "".join(f'<td style="{CELL}">{html.escape(number(c))}</td>' for c in row) + "</tr>"
        for row in rows
    )
    return f'<table style="{STYLE}"><tr>{head}</tr>{body}</table>'


def frame(df, rows: int = 10) -> str:
    """A DataFrame's first ``rows`` rows as HTML (pandas' own table), with how many
    more there are."""
    more = len(df) - rows
    text = df.head(rows).to_html(index=False, float_format=lambda v: f"{v:.4g}", border=0)
    if more > 0:
        text += f'<div style="color:#777">... {more} more rows</div>'
    return text


def image(data: bytes, width: int = 220, style: str = "margin:2px 0") -> str:
    """PNG bytes as an inline ``<img>`` (base64), ``width`` pixels wide."""
    text = base64.b64encode(data).decode("ascii")
    return f'<img src="data:image/png;base64,{text}" width="{width}" style="{style}"/>'


def picture(fig, width: int = 220) -> str:
    """A matplotlib Figure as an inline ``<img>`` (a base64 PNG), ``width`` pixels wide."""
    return image(_figure_png(fig, dpi=72), width)


def side_by_side(*parts: str) -> str:
    """HTML blocks next to each other, top-aligned."""
    cells = "".join(f'<td style="vertical-align:top;padding-right:16px">{p}</td>' for p in parts)
    return f"<table><tr>{cells}</tr></table>"


def _figure_png(fig, **savefig) -> bytes:
    """A Figure drawn without pyplot, as PNG bytes (``savefig``'s own options)."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    FigureCanvasAgg(fig)
    buf = io.BytesIO()
    fig.savefig(buf, format="png", **savefig)
    return buf.getvalue()


def inline(fig):
    """``fig``, shown as a picture when a notebook displays it: dlexp's figures are
    drawn without pyplot, so IPython has no picture of a Figure until one is
    registered here (where pyplot's inline backend has registered none)."""
    ipython = sys.modules.get("IPython")
    shell = ipython.get_ipython() if ipython is not None else None
    if shell is not None:
        from matplotlib.figure import Figure

        formatter = shell.display_formatter.formatters["image/png"]
        if Figure not in formatter.type_printers:
            formatter.for_type(Figure, lambda f: _figure_png(f, bbox_inches="tight"))
    return fig
