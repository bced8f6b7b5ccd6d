"""What ``dlexp diff`` and ``dlexp compare`` print: rich tables of two or more runs."""

from __future__ import annotations

from rich.console import Console
from rich.markup import escape
from rich.table import Table

from dlexp.cli.display import fmt
from dlexp.core.labels import label


def print_diff(console: Console, result: dict) -> None:
    """dlexp diff: the config keys, versions and metrics that differ, A against B."""
    console.print(f"A: [bold]{result['a']}[/] ({result['status']['a']})")
    console.print(f"B: [bold]{result['b']}[/] ({result['status']['b']})")
    for title, rows in (("config", result["config"]), ("versions", result["versions"])):
        if not rows:
            console.print(f"same {title}")
            continue
        table = Table(title=title, show_edge=False, pad_edge=False, title_justify="left")
        for column in ("key", "A", "B"):
            table.add_column(column)
        for row in rows:
            table.add_row(row["key"], escape(label(row["a"])), escape(label(row["b"])))
        console.print(table)
    table = Table(title="metrics", show_edge=False, pad_edge=False, title_justify="left")
    columns = (("metric", "left"), ("A", "right"), ("B", "right"), ("B - A", "right"))
    for column, justify in (*columns, ("better", "left")):
        table.add_column(column, justify=justify)
    for row in result["metrics"]:
        delta = row["delta"]
        better = row.get("better")
        table.add_row(
            row["key"],
            fmt(row["a"]),
            fmt(row["b"]),
            "-" if delta is None else f"{delta:+.4f}",
            "-" if better is None else f"{better.upper()} ({row['direction']})",
        )
    console.print(table)


def print_compare(console: Console, rows: list[dict], verdict: str) -> None:
    """dlexp compare: each metric's means, B - A with its 95% interval, and p."""
    table = Table(show_edge=False, pad_edge=False)
    for column in ("metric", "A", "B", "B - A", "95% CI", "p"):
        table.add_column(column, justify="left" if column == "metric" else "right")
    for r in rows:
        lo, hi = r["ci95"]
        table.add_row(
            r["metric"],
            fmt(r["a"]),
            fmt(r["b"]),
            f"{r['diff']:+.4f}",
            f"[{lo:+.4f}, {hi:+.4f}]",
            f"{r['p']:.3g}",
        )
    console.print(table)
    console.print(f"[bold]{verdict}[/]")
