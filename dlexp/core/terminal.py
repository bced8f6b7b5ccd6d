"""How wide dlexp's tables are drawn, and how wide a table would like to be.

On a terminal rich measures the terminal. When stdout is a file or a pipe, ``$COLUMNS``
sets the width (the convention rich and click follow); without it, PIPED_WIDTH, so that
a table redirected to a file keeps its rows whole. Tables too wide for the width drop
or fold their less important columns themselves: a number is never cut.
"""

from __future__ import annotations

import io
import os
import sys

PIPED_WIDTH = 160


def columns() -> int | None:
    """$COLUMNS as a width, or None when unset or not a positive number."""
    text = os.environ.get("COLUMNS", "").strip()
    return int(text) if text.isdigit() and int(text) > 0 else None


def stdout_console(**options):
    """The console results are printed to (see the module's docstring for its width)."""
    from rich.console import Console

    width = columns()
    if width is None and not sys.stdout.isatty():
        width = PIPED_WIDTH
    return Console(width=width, **options)


def natural_width(renderable) -> int:
    """The columns a table (or any rich renderable) takes when nothing constrains it."""
    from rich.console import Console
    from rich.measure import Measurement

    console = Console(width=100_000, file=io.StringIO())
    return Measurement.get(console, console.options, renderable).maximum


def least_width(renderable) -> int:
    """The fewest columns it takes with every wrappable cell wrapped at its spaces
    (a word is never broken)."""
    from rich.console import Console
    from rich.measure import Measurement

    console = Console(width=100_000, file=io.StringIO())
    return Measurement.get(console, console.options, renderable).minimum


def separators(n_columns: int) -> int:
    """What a table with ``show_edge=False, pad_edge=False`` adds to its columns' widths:
    one space either side of each inner border, and the border."""
    return 3 * (n_columns - 1)
