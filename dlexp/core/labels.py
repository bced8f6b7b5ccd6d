"""A config value as a short text, the same in report tables, plots and search tables."""

from __future__ import annotations

from typing import Any


def label(value: Any) -> str:
    """A value as a short text: sgd(momentum=0.9), sgd, {a=1, b=2}, [8, 16], true, -, 0.001.

    A mapping with a ``name`` shows as a call (its other keys as arguments, no
    parentheses when it has none), one without a name in braces; lists are labelled
    item by item; ``None`` is ``-``; everything else is ``str(value)``.
    """
    if isinstance(value, dict):
        name = value.get("name", "")
        args = ", ".join(f"{k}={v}" for k, v in value.items() if k != "name")
        if not name:
            return "{" + args + "}"
        return f"{name}({args})" if args else str(name)
    if isinstance(value, bool):
        return "true" if value else "false"
    if value is None:
        return "-"
    if isinstance(value, list):
        return "[" + ", ".join(label(v) for v in value) + "]"
    return str(value)


MOST_RUNS = 12  # runs one chart overlays, each in its own colour (dlexp.report.plots.RUN_COLOURS)


def shown_of(shown: int, total: int | None, what: str = "runs") -> str:
    """'12 of 17 runs shown' when a chart leaves some out, else ''."""
    return f"{shown} of {total} {what} shown" if total and total > shown else ""
