"""The report as text: the rich table, JSON records and CSV."""

from __future__ import annotations

import math

from dlexp.files import csv_text
from dlexp.labels import label
from dlexp.report.collect import Entry, Report, settings, settings_text

SPLITS = ("train", "val", "test")


def num(value: float | None, std: float | None = None, digits: int = 4) -> str:
    if value is None or (isinstance(value, float) and not math.isfinite(value)):
        return "-"
    text = f"{value:.{digits}f}"
    if std is not None:
        text += f" ± {std:.{digits}f}"
    return text


def table_metrics(report: Report) -> list[str]:
    """loss and accuracy (or the first metric) for each split."""
    keys = report.metric_keys
    metric = (
        "accuracy"
        if any(k.endswith("_accuracy") for k in keys)
        else next(
            (k.split("_", 1)[1] for k in keys if k.startswith("train_") and k != "train_loss"), None
        )
    )
    out = []
    for split in SPLITS:
        for name in ("loss", metric):
            if name and f"{split}_{name}" in keys:
                out.append(f"{split}_{name}")
    return out


def params_text(e: Entry) -> str:
    value = e.metrics.get("params")
    return "-" if value is None else f"{int(value):,}"


def _triplet(e: Entry, name: str) -> str:
    """'0.971 0.981 0.953' for train, validation and test; a second line of ± std over
    repeats."""
    keys = [f"{split}_{name}" for split in SPLITS]
    text = " ".join(num(e.metrics.get(k), digits=3) for k in keys)
    if any(e.std.get(k) is not None for k in keys):
        text += "\n" + " ".join(
            "±" + num(e.std.get(k), digits=3) if e.std.get(k) is not None else "     -"
            for k in keys
        )
    return text


def table(report: Report, width: int | None = None):
    """The rich table: id, status, the settings that set each row apart, parameters,
    epochs, loss and accuracy on train/val/test (± std over repeats), seconds. The best
    trial of each search is starred."""
    from rich.table import Table
    from rich.text import Text

    metric = next(
        (m.split("_", 1)[1] for m in table_metrics(report) if not m.endswith("_loss")), None
    )
    apart = settings(report)
    if width is not None and width < WIDE:
        return _narrow_table(report, width, metric, apart)
    t = Table(show_edge=False, pad_edge=False, width=width)
    t.add_column("id", overflow="fold")
    t.add_column("status")
    t.add_column("settings", ratio=1, min_width=14)
    t.add_column("params", justify="right")
    t.add_column("epochs", justify="right")
    t.add_column("loss train val test", justify="right", no_wrap=True)
    if metric:
        short = "acc" if metric == "accuracy" else metric
        t.add_column(f"{short} train val test", justify="right", no_wrap=True)
    t.add_column("s", justify="right")
    for e in report.entries:
        epochs = e.metrics.get("epochs_run")
        t.add_row(  # Text, not markup: values such as [8, 16] are not rich tags
            Text(e.id + (" ★" if e.best else "")),
            Text(e.status),
            Text(settings_text(apart[e.id])),
            params_text(e),
            "-" if epochs is None else f"{epochs:g}",
            _triplet(e, "loss"),
            *([_triplet(e, metric)] if metric else []),
            num(e.metrics.get("seconds"), digits=1),
        )
    return t


WIDE = 120  # columns from which the table shows every split


def _narrow_table(report: Report, width: int, metric: str | None, apart: dict):
    """For a narrow terminal: one line per row; the validation and test score (loss
    without a metric), and the settings abbreviated to what fits."""
    from rich.table import Table
    from rich.text import Text

    name = metric or "loss"
    t = Table(show_edge=False, pad_edge=False, width=width)
    t.add_column("id", no_wrap=True)
    t.add_column("status", no_wrap=True, max_width=10)
    t.add_column("settings", ratio=1, no_wrap=True, overflow="ellipsis", min_width=6)
    t.add_column(f"val {'acc' if name == 'accuracy' else name}", justify="right", no_wrap=True)
    t.add_column("test", justify="right", no_wrap=True)
    for e in report.entries:
        t.add_row(
            Text(e.id + (" ★" if e.best else "")),
            Text(e.status, overflow="ellipsis"),
            Text(_compact(apart[e.id]), overflow="ellipsis", no_wrap=True),
            num(e.metrics.get(f"val_{name}"), digits=3),
            num(e.metrics.get(f"test_{name}"), digits=3),
        )
    return t


def _compact(pairs: list) -> str:
    """Settings as short as they can be read: each key's last part cut to 6 letters."""
    return " ".join(f"{k.split('.')[-1][:6]}={label(v)}" for k, v in pairs)


def records(report: Report) -> list[dict]:
    """What --format json prints: a record per row (kind run or trial), then one per
    search (kind search) with its objective and each searched key's importance."""
    from dlexp.report.matters import importances

    out = [e.record() for e in report.entries]
    for info in report.searches.values():
        entries = [e for e in report.entries if e.search == info.name]
        keys = [k for k in info.keys if len({label(e.hyperparameters.get(k)) for e in entries}) > 1]
        out.append(
            {
                "id": info.name,
                "kind": "search",
                "objective": info.objective,
                "direction": info.direction,
                "trials": len(entries),
                "importances": importances(info, keys) if info.objective else {},
                "warnings": info.warnings,
            }
        )
    return out


def to_csv(report: Report) -> str:
    """The same records as CSV: id, kind, status, search, best, each hyperparameter
    (dotted key), each metric; one row per table row."""
    rows = []
    for e in report.entries:
        row = {"id": e.id, "kind": e.kind, "status": e.status, "search": e.search, "best": e.best}
        row.update(e.hyperparameters)
        row.update(e.metrics)
        row.update({f"{k}_std": v for k, v in e.std.items()})
        rows.append(row)
    columns = list(dict.fromkeys(k for r in rows for k in r)) or ["id", "kind", "status"]
    return csv_text(rows, columns)
