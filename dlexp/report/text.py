"""The report as text: the rich table, JSON records and CSV."""

from __future__ import annotations

import math

from dlexp.core.files import csv_text
from dlexp.core.labels import label
from dlexp.runs.index import Entry, Report, settings, settings_text

SPLITS = ("train", "val", "test")


def num(value: float | None, std: float | None = None, digits: int = 4) -> str:
    if value is None or (isinstance(value, float) and not math.isfinite(value)):
        return "-"
    text = f"{value:.{digits}f}"
    if std is not None:
        text += f" ± {std:.{digits}f}"
    return text


# The metrics the tables show beside the loss: accuracy for classification; for
# regression the first two of rmse, r2 and mae that were logged (rmse and mae in the
# target's units, lower is better; r2 higher is better).
CLASSIFICATION_METRICS = ("accuracy",)
REGRESSION_METRICS = ("rmse", "r2", "mae")
SHORT = {"accuracy": "acc"}  # a metric's name in the text table's narrow columns


def short(metric: str) -> str:
    return SHORT.get(metric, metric)


def headline(keys: list[str]) -> list[str]:
    """The metrics shown beside the loss, for metric keys such as ``val_rmse``:
    accuracy if any row has it, two of rmse/r2/mae if any row has them (a report may
    mix classification and regression), or else the first metric logged."""
    logged = [k.split("_", 1)[1] for k in keys if k.split("_", 1)[0] in SPLITS and "_" in k]
    logged = list(dict.fromkeys(m for m in logged if m != "loss"))
    names = [m for m in CLASSIFICATION_METRICS if m in logged]
    names += [m for m in REGRESSION_METRICS if m in logged][:2]
    if not names:
        train = [k for k in keys if k.startswith("train_") and k != "train_loss"]
        names = [train[0].split("_", 1)[1]] if train else []
    return names


def table_metrics(report: Report, entries: list[Entry] | None = None) -> list[str]:
    """loss and the :func:`headline` metrics for each split (of ``entries``' metrics,
    all rows' by default), as keys: train_loss, train_accuracy, val_loss, ..."""
    if entries is None:
        keys = report.metric_keys
    else:
        keys = [k for e in entries for k, v in e.metrics.items() if v is not None]
        keys = list(dict.fromkeys(keys))
    out = []
    for split in SPLITS:
        for name in ("loss", *headline(keys)):
            if f"{split}_{name}" in keys:
                out.append(f"{split}_{name}")
    return out


def metric_names(report: Report) -> list[str]:
    """The metrics the tables show beside the loss (accuracy, rmse, r2, ...)."""
    names = [m.split("_", 1)[1] for m in table_metrics(report) if not m.endswith("_loss")]
    return list(dict.fromkeys(names))


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


TABLE_ROWS = 50  # rows the terminal table shows by default (--limit)


def limited(report: Report, limit: int) -> tuple[Report, int]:
    """The rows the terminal table shows, at most ``limit`` (0: all), and how many are
    left out. In the rows' order when they were sorted (--sort); otherwise the runs,
    then each search's trials best first, so a thousand-trial search shows its best."""
    import dataclasses

    if not limit or len(report.entries) <= limit:
        return report, 0
    entries = report.entries
    if not report.sorted_by:
        ranked = {
            name: {e.id: i for i, e in enumerate(info.ranked())}
            for name, info in report.searches.items()
        }
        order = {n: i for i, n in enumerate(report.searches)}
        entries = sorted(
            entries,
            key=lambda e: (
                (0, 0, 0)
                if e.search is None
                else (1, order.get(e.search, 0), ranked.get(e.search, {}).get(e.id, len(entries)))
            ),
        )
    return dataclasses.replace(report, entries=entries[:limit]), len(entries) - limit


def table(report: Report, width: int | None = None):
    """The rich table: id, status, the settings that set each row apart, parameters,
    epochs, loss and accuracy (for regression rmse and r2) on train/val/test (± std
    over repeats), seconds: at most two metrics beside the loss (accuracy and rmse when
    classification and regression mix; the page shows r2 too). The best trial of each
    search is starred. Narrower than the table's least width, the narrow table (see
    _narrow_table)."""
    metrics = metric_names(report)[:2]
    apart = settings(report)
    if width is not None:
        from dlexp.core.terminal import least_width

        if least_width(_wide_table(report, None, metrics, apart)) > width:
            return _narrow_table(report, width, metrics, apart)  # rich would cut cells
    return _wide_table(report, width, metrics, apart)


def _wide_table(report: Report, width: int | None, metrics: list[str], apart: dict):
    from rich.table import Table
    from rich.text import Text

    t = Table(show_edge=False, pad_edge=False, width=width)
    t.add_column("id", overflow="fold")
    t.add_column("status")
    t.add_column("settings", ratio=1, min_width=14)
    t.add_column("params", justify="right")
    t.add_column("epochs", justify="right")
    t.add_column("loss train val test", justify="right", no_wrap=True)
    for metric in metrics:
        t.add_column(f"{short(metric)} train val test", justify="right", no_wrap=True)
    t.add_column("s", justify="right")
    for e in report.entries:
        epochs = e.metrics.get("epochs_run")
        t.add_row(  # Text, not markup: values such as [8, 16] are not rich tags
            Text(e.id + (" ★" if e.best else "")),
            Text(status_text(report, e)),
            Text(settings_text(apart[e.id])),
            params_text(e),
            "-" if epochs is None else f"{epochs:g}",
            _triplet(e, "loss"),
            *(_triplet(e, metric) for metric in metrics),
            num(e.metrics.get("seconds"), digits=1),
        )
    return t


def status_text(report: Report, e: Entry) -> str:
    """A row's status; a raced trial's also says its seeds, and whether the race kept it
    (within noise of the best) or told it apart."""
    info = report.searches.get(e.search) if e.search else None
    if info is None or info.raced is None or e.kind != "trial":
        return str(e.status)
    verdict = "within noise" if e.within_noise else "told apart"
    return f"{e.status}, {len(e.records)} seeds, {verdict}"


def _row_metric(e: Entry, metrics: list[str]) -> str | None:
    """The first of ``metrics`` a row has on the validation or test split (its accuracy,
    or its rmse for regression); None for none."""
    for m in metrics:
        if any(e.metrics.get(f"{split}_{m}") is not None for split in ("val", "test")):
            return m
    return None


def _narrow_table(report: Report, width: int, metrics: list[str], apart: dict):
    """For a narrow terminal: the validation and test score (loss without a metric;
    each row's own when classification and regression mix, named in its cells),
    whole; the status (under the id when there is no room for its column); the id and
    the settings that set each row apart folded into what is left, a setting a line,
    never cut."""
    from rich.table import Table
    from rich.text import Text

    from dlexp.core.terminal import separators

    names = [_row_metric(e, metrics) for e in report.entries]
    distinct = list(dict.fromkeys(n for n in names if n is not None))
    same = len(distinct) <= 1
    if same:  # one score for all rows, named in the heading
        common = distinct[0] if distinct else (metrics[0] if metrics else "loss")
        names = [common] * len(names)
    head = f" {short(names[0])}" if same and names else ""
    ids = [e.id + (" ★" if e.best else "") for e in report.entries]
    texts = [
        "\n".join(f"{k.split('.')[-1]}={label(v)}" for k, v in apart[e.id]) for e in report.entries
    ]

    def score(e: Entry, split: str, name: str | None) -> str:
        text = num(e.metrics.get(f"{split}_{name}"), digits=3) if name else "-"
        return text if same or name is None else f"{short(name)} {text}"

    val = [score(e, "val", n) for e, n in zip(report.entries, names, strict=True)]
    test = [score(e, "test", n) for e, n in zip(report.entries, names, strict=True)]
    status = [status_text(report, e) for e in report.entries]

    def widest(title: str, cells: list[str]) -> int:
        return max(len(title), *(len(line) for c in cells for line in c.splitlines() or [""]))

    fixed = {
        "status": widest("status", status),
        f"val{head}": widest(f"val{head}", val),
        f"test{head}": widest(f"test{head}", test),
    }
    id_w, set_w = widest("id", ids), widest("settings", texts)
    if width - sum(fixed.values()) - separators(5) < min(id_w + set_w, NARROW_ROOM):
        # no room for a status column: a row that did not complete says so under its id
        del fixed["status"]
        ids = [i if s == "completed" else f"{i}\n({s})" for i, s in zip(ids, status, strict=True)]
        id_w = widest("id", ids)
    rest = width - sum(fixed.values()) - separators(len(fixed) + 2)
    if id_w + set_w > rest:  # both fold; each keeps at least half of what is left
        id_w = min(id_w, max(rest // 2, rest - set_w))
        set_w = rest - id_w
    t = Table(show_edge=False, pad_edge=False)
    t.add_column("id", width=max(id_w, 4), overflow="fold")
    if "status" in fixed:
        t.add_column("status", width=fixed["status"], overflow="fold")
    t.add_column("settings", width=max(set_w, 4), overflow="fold")
    for title in (f"val{head}", f"test{head}"):
        t.add_column(title, justify="right", no_wrap=True, width=fixed[title])
    for i in range(len(ids)):  # Text, not markup: values such as [8, 16] are not rich tags
        cells = [Text(ids[i]), *([Text(status[i])] if "status" in fixed else [])]
        t.add_row(*cells, Text(texts[i]), val[i], test[i])
    return t


NARROW_ROOM = 40  # columns the id and the settings want before the status gets its own


def records(report: Report) -> list[dict]:
    """What --format json prints: a record per row (kind run or trial), then one per
    search (kind search) with its objective, each searched key's importance and its
    winner (``report.winner``: validation and test score, the lead and its noise)."""
    from dlexp.report.significance import importances, noise_note
    from dlexp.report.winner import winner

    out = [e.record() for e in report.entries]
    for info in report.searches.values():
        entries = [e for e in report.entries if e.search == info.name]
        keys = [k for k in info.keys if len({label(e.hyperparameters.get(k)) for e in entries}) > 1]
        best = winner(info)
        out.append(
            {
                "id": info.name,
                "kind": "search",
                "objective": info.objective,
                "direction": info.direction,
                "trials": len(entries),
                "importances": importances(info, keys) if info.objective else {},
                "noise_note": noise_note(info),
                "winner": best.record() if best else None,
                "warnings": info.warnings,
            }
        )
    return out


def winner_lines(report: Report) -> list[str]:
    """Under the table: each search's winner, its validation and test score, and how
    much of its lead over the median trial is within noise (``report.winner``)."""
    from dlexp.report.winner import winner

    shown = {e.search for e in report.entries}
    out = []
    for info in report.searches.values():
        best = winner(info) if info.name in shown else None
        if best:
            out.append(f"{info.name}: " + "\n  ".join(best.lines()))
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
