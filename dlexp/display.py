"""What dlexp shows in a terminal: progress bars and result tables (rich)."""

from __future__ import annotations

import math

from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TextColumn,
    TimeRemainingColumn,
)
from rich.table import Table


def fmt(value, digits: int = 4) -> str:
    """A metric for a table: 4 significant decimals, '-' when missing or not finite."""
    if value is None:
        return "-"
    if isinstance(value, float):
        if not math.isfinite(value):
            return str(value)
        return f"{value:.{digits}f}"
    return str(value)


def epoch_logs(row: dict) -> str:
    """'loss 0.0754/0.0806 acc 0.970/0.981': training/validation, short enough for 80 columns."""
    parts = []
    for key, label, digits in (("loss", "loss", 4), ("accuracy", "acc", 3)):
        if key in row:
            text = f"{label} {row[key]:.{digits}f}"
            if f"val_{key}" in row:
                text += f"/{row[f'val_{key}']:.{digits}f}"
            parts.append(text)
    return " ".join(parts)


class TrainProgress:
    """A progress bar over epochs with the live loss and accuracy, on stderr."""

    def __init__(self, console: Console, epochs: int, label: str = "train"):
        self.progress = Progress(
            TextColumn("[bold]{task.description}"),
            BarColumn(bar_width=16),
            MofNCompleteColumn(),
            TextColumn("{task.fields[logs]}"),
            TimeRemainingColumn(compact=True, elapsed_when_finished=True),
            console=console,
            transient=False,
            disable=not console.is_terminal,
        )
        self.task = self.progress.add_task(label[:16], total=epochs, logs="")

    def __enter__(self):
        self.progress.start()
        return self

    def __exit__(self, *exc):
        self.progress.stop()

    def __call__(self, epoch: int, row: dict) -> None:
        self.progress.update(self.task, completed=epoch, logs=epoch_logs(row))


def metrics_table(metrics: dict) -> Table:
    """One row per split (train, val, test), one column per metric."""
    splits = [s for s in ("train", "val", "test") if isinstance(metrics.get(s), dict)]
    names = list(dict.fromkeys(k for s in splits for k in metrics[s]))
    table = Table(show_edge=False, pad_edge=False)
    table.add_column("split")
    for name in names:
        table.add_column(name, justify="right")
    for split in splits:
        table.add_row(split, *(fmt(metrics[split].get(n)) for n in names))
    return table


def train_summary(console: Console, outcome) -> None:
    """The run's status, epochs, metrics and folder, after training."""
    m = outcome.metrics
    colour = {"completed": "green", "interrupted": "yellow"}.get(outcome.status, "red")
    line = f"[{colour}]{outcome.status}[/]: {m.get('epochs_run', 0)} epochs"
    if m.get("best_epoch"):
        line += f", best epoch {m['best_epoch']}"
    if m.get("stopped_early"):
        line += " (stopped early)"
    line += f", {m.get('params', 0):,} parameters, {m.get('fit_seconds', 0):.1f} s"
    console.print(line)
    if outcome.error:
        console.print(f"[red]{outcome.error}[/]")
    if any(isinstance(m.get(s), dict) for s in ("train", "val", "test")):
        console.print(metrics_table(m))
    console.print(f"run folder: [bold]{outcome.run.path}[/]")
