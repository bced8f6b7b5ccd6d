"""What dlexp shows in a terminal: progress bars and result tables (rich)."""

from __future__ import annotations

import math

from rich.console import Console
from rich.markup import escape
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TextColumn,
    TimeRemainingColumn,
)
from rich.table import Table

from dlexp.core.labels import label
from dlexp.runs.folder import Status
from dlexp.search.store import SearchStatus


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
    """'loss 0.0754 val 0.0806  acc 0.970 val 0.981': the loss and the first of accuracy,
    rmse, r2 (a regression's) logged, on the training split, then on the validation
    split, labelled; short enough for 80 columns."""
    parts = []
    shown = [("loss", "loss", 4)]
    score = next((k for k in ("accuracy", "rmse", "r2") if k in row), None)
    if score is not None:
        shown.append((score, {"accuracy": "acc"}.get(score, score), 4 if score == "rmse" else 3))
    for key, short, digits in shown:
        if key in row:
            text = f"{short} {row[key]:.{digits}f}"
            if f"val_{key}" in row:
                text += f" val {row[f'val_{key}']:.{digits}f}"
            parts.append(text)
    return "  ".join(parts)


def progress_bar(console: Console) -> Progress:
    """One line per task: name, bar, done/total, a text field ``info``, time left;
    drawn only on a terminal."""
    return Progress(
        TextColumn("[bold]{task.description}"),
        BarColumn(bar_width=16),
        MofNCompleteColumn(),
        TextColumn("{task.fields[info]}"),
        TimeRemainingColumn(compact=True, elapsed_when_finished=True),
        console=console,
        disable=not console.is_terminal,
    )


class TrainProgress:
    """A progress bar over epochs with the live loss and accuracy, on stderr."""

    def __init__(self, console: Console, epochs: int, label: str = "train"):
        self.progress = progress_bar(console)
        self.task = self.progress.add_task(label[:16], total=epochs, info="")

    def __enter__(self):
        self.progress.start()
        return self

    def __exit__(self, *exc):
        self.progress.stop()

    def __call__(self, epoch: int, row: dict) -> None:
        self.progress.update(self.task, completed=epoch, info=epoch_logs(row))


class CompareProgress:
    """dlexp compare's bar on stderr: the epochs of both sides' runs trained so far,
    out of all of them (a run stopped early finishes the bar sooner), time left."""

    def __init__(self, console: Console, epochs: int, runs: int):
        self.progress = progress_bar(console)
        self.task = self.progress.add_task("compare", total=epochs, info=f"{runs} runs")

    def __enter__(self):
        self.progress.start()
        return self

    def __exit__(self, *exc):
        if exc[0] is None:
            self.progress.update(self.task, completed=self.progress.tasks[0].total)
        self.progress.stop()

    def job_hook(self, epoch: int, row: dict) -> None:
        """Called after every epoch of every run."""
        self.progress.update(self.task, advance=1)


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
    m = outcome.metrics.to_json()
    colour = {Status.COMPLETED: "green", Status.INTERRUPTED: "yellow"}.get(outcome.status, "red")
    line = f"[{colour}]{outcome.status}[/]: {m.get('epochs_run', 0)} epochs"
    if m.get("best_epoch"):
        line += f", best epoch {m['best_epoch']}"
    elif m.get("epochs_run") and not isinstance(m.get("val"), dict):
        line += ", no best epoch (no validation split: the last epoch's model is kept)"
    if m.get("stopped_early"):
        line += " (stopped early)"
    line += f", {m.get('params', 0):,} parameters, {m.get('fit_seconds', 0):.1f} s"
    console.print(line)
    from dlexp.train.summary import task_line

    task = task_line(outcome.run.path)
    if task:
        console.print(escape(task))
    if outcome.error:
        console.print(f"[red]{outcome.error}[/]")
    if any(isinstance(m.get(s), dict) for s in ("train", "val", "test")):
        console.print(metrics_table(m))
    console.print(f"run folder: [bold]{outcome.run.path}[/]")


class SearchView:
    """The live view of a search on stderr: trials done / running / left, the best so
    far, time left; in one process, also the running trial's epochs."""

    def __init__(self, console: Console, objective: str):
        self.console, self.objective = console, objective
        self.progress = progress_bar(console)
        self.running: dict[str, str] = {}
        self.best = ""
        self.trials = None
        self.current = None
        self.total, self.done = None, 0

    def start(self, total: int | None, done: int) -> None:
        self.total, self.done = total, done
        if self.trials is None:
            self.trials = self.progress.add_task("trials", total=total, completed=done, info="")
        else:  # a race's next round
            self.progress.update(self.trials, total=total, completed=done, info="")
        self.progress.start()

    def _info(self) -> str:
        left = ""
        if self.total is not None:
            left = f"{self.total - self.done - len(self.running)} left"
        running = f"{len(self.running)} running" if self.running else ""
        return "  ".join(x for x in (running, left, self.best) if x)

    def trial_started(self, trial_id: str, worker: str) -> None:
        self.running[trial_id] = worker
        self.progress.update(self.trials, info=self._info())

    def trial_ended(self, trial_id: str, row: dict | None, best: dict | None) -> None:
        self.running.pop(trial_id, None)
        self.done += 1
        if best is not None:
            self.best = f"best {self.objective} {best['score']:.4f} ({best['trial']})"
        self.progress.update(self.trials, advance=1, info=self._info())

    def epoch(self, trial_id: str, epoch: int, epochs: int) -> None:
        if self.current is None:
            self.current = self.progress.add_task(trial_id, total=epochs, info="")
        self.progress.update(self.current, description=trial_id, completed=epoch, total=epochs)

    def stop(self) -> None:
        if self.current is not None:
            self.progress.remove_task(self.current)
            self.current = None
        self.progress.stop()


SEARCH_OPTIONAL = ("s", "epochs", "#", "test acc")  # dropped in this order to fit a width


def search_table(
    rows: list[dict], keys: list[str], objective: str, top: int = 10, width: int | None = None
) -> Table:
    """The best trials: rank, trial, searched values, score, test accuracy, epochs, seconds.

    Within ``width`` columns the seconds, epochs, rank and test accuracy are dropped, in
    that order, until the table fits, with the keys' headers broken at underscores if
    need be; if it still does not, the searched values share one column that wraps.
    The trial and its score are always whole."""
    from dlexp.core.terminal import natural_width

    shown = rows[:top]
    for drop in range(len(SEARCH_OPTIONAL) + 1):
        for fold in (False, True):  # kernel_initializer over two lines: kernel_/initializer
            table = _search_table(shown, keys, objective, SEARCH_OPTIONAL[:drop], fold=fold)
            if width is None or natural_width(table) <= width:
                return table
    return _search_table(shown, keys, objective, SEARCH_OPTIONAL, width=width)


def _score(row: dict) -> str:
    score = fmt(row.get("score"))
    if row.get("score_std") is not None:
        score += f" ± {row['score_std']:.4f}"
    return score


def _search_table(
    rows: list[dict],
    keys: list[str],
    objective: str,
    drop=(),
    width: int | None = None,
    fold: bool = False,
) -> Table:
    """search_table without the columns in ``drop``; with ``fold``, a key's header broken
    after each underscore; given ``width``, the searched values in one folding column,
    every other column as wide as its widest cell (the values wrap between keys)."""
    from rich.text import Text

    from dlexp.core.terminal import separators

    columns = {
        "#": [str(rank) for rank in range(1, len(rows) + 1)],
        "trial": [row["trial"] for row in rows],
    }
    if width is None:
        for k in keys:
            columns[k.split(".")[-1]] = [label(row.get(k)) for row in rows]
    else:
        columns["settings"] = [
            "  ".join(f"{k.split('.')[-1]}={label(row.get(k))}" for k in keys) for row in rows
        ]
    columns[objective] = [_score(row) for row in rows]
    from dlexp.runs.select import test_metric

    test = test_metric(rows)
    columns["test acc"] = [fmt(row.get(f"test_{test}")) for row in rows]
    columns["epochs"] = [
        "-" if row.get("epochs_run") is None else f"{row['epochs_run']:g}" for row in rows
    ]
    columns["s"] = [f"{row.get('seconds', 0):.1f}" for row in rows]
    for name in drop:
        columns.pop(name, None)
    left = {"trial", "settings", *(k.split(".")[-1] for k in keys)}
    widths = {
        n: max(len(n), *(len(line) for c in cells for line in c.splitlines() or [""]))
        for n, cells in columns.items()
    }
    if width is not None:  # the settings get what the whole numbers leave
        rest = sum(w for n, w in widths.items() if n != "settings")
        widths["settings"] = max(8, width - rest - separators(len(columns)))
    if test != "accuracy" and "test acc" in columns:  # a regression's: test rmse, ...
        columns = {(f"test {test}" if n == "test acc" else n): c for n, c in columns.items()}
        widths[f"test {test}"] = max(len(f"test {test}"), widths.pop("test acc"))
    table = Table(show_edge=False, pad_edge=False)
    for name in columns:
        header = name.replace("_", "_\n") if fold else name
        table.add_column(
            header,
            justify="left" if name in left else "right",
            no_wrap=name != "settings",
            overflow="fold",
            width=None if width is None else widths[name],
        )
    for i in range(len(rows)):
        table.add_row(*(Text(cells[i]) for cells in columns.values()))  # not markup: [8, 16]
    return table


def search_plan(console: Console, plan: dict, keys: list[str]) -> None:
    """What --dry-run shows."""
    trials = plan["trials"]
    line = f"[bold]{plan['name']}[/]: {plan['tuner']} search, objective {plan['objective']['name']}"
    line += f" ({plan['objective']['direction']})"
    console.print(line)
    if trials is None:
        console.print(
            f"up to {plan['max_trials'] or 'as many as the tuner chooses'} trials, "
            "chosen while searching"
        )
    else:
        runs = ""
        if plan.get("cv"):
            runs = f" x {plan['cv']} folds = {plan['runs']} runs"
        elif plan.get("race"):
            runs = f" x 2 to {plan['repeats']} seeds (raced) = at most {plan['runs']} runs"
        elif plan["repeats"] > 1:
            runs = f" x {plan['repeats']} repeats = {plan['runs']} runs"
        done = f", {plan['already_done']} already done" if plan["already_done"] else ""
        console.print(f"{trials:,} trials{runs}{done}, in {plan['folder']}")
        if plan.get("prune"):
            rule = ", ".join(f"{k} {v}" for k, v in plan["prune"].items() if k != "kind")
            console.print(
                f"pruned by {plan['prune']['kind']} ({rule}): a trial losing at an epoch stops"
            )
    if plan["points"]:
        varying = varying_keys(plan["points"], keys)
        fixed = [k for k in keys if k not in varying]
        if fixed:
            first = plan["points"][0]
            console.print(
                "same in every trial: " + ", ".join(f"{k}={escape(label(first[k]))}" for k in fixed)
            )
        table = Table(show_edge=False, pad_edge=False)
        table.add_column("trial")
        for key in varying:
            table.add_column(key.split(".")[-1])
        for point in plan["points"]:
            table.add_row(point["trial"], *(escape(label(point[k])) for k in varying))
        console.print(table)
        if trials is not None and trials > len(plan["points"]):
            console.print(f"... and {trials - len(plan['points']):,} more trials")


def varying_keys(rows: list[dict], keys: list[str]) -> list[str]:
    """The keys whose value differs between rows (the others say nothing in a table)."""
    import json

    return [
        k
        for k in keys
        if len({json.dumps(r.get(k), sort_keys=True, default=str) for r in rows}) > 1
    ]


def search_summary(
    console: Console, outcome, ranked: list[dict], keys: list[str], objective: str, top: int
) -> None:
    """After a search: how it ended, the best trials, where the results are."""
    store, rows = outcome.store, outcome.rows
    pruned = [r for r in rows if r["status"] == Status.PRUNED]
    failed = [r for r in rows if r["status"] not in (Status.COMPLETED, Status.PRUNED)]
    done = len(rows) - len(failed)
    earlier = len(rows) - outcome.trained
    if outcome.status == SearchStatus.ALREADY_FINISHED:
        console.print(
            f"[green]already finished[/]: {len(rows)} trials in {store.root} "
            "(--overwrite starts over)"
        )
    elif outcome.status == SearchStatus.FINISHED:
        note = f", {earlier} of them done before" if earlier > 0 else ""
        console.print(f"[green]finished[/]: {len(rows)} trials{note}, {outcome.seconds:.1f} s")
    elif outcome.status == SearchStatus.INTERRUPTED:
        console.print(
            f"[yellow]interrupted[/]: {done} trials done; run the same command again to resume"
        )
    else:
        console.print(f"[red]{outcome.status}[/]: {outcome.message or ''}")
    if pruned:
        epochs = sum(float(r.get("epochs_run") or 0) for r in pruned) / len(pruned)
        console.print(
            f"{len(pruned)} trials pruned (worse than their peers at the same epoch; "
            f"{epochs:.1f} epochs each on average), {len(rows) - len(pruned)} trained out"
        )
    if failed:
        console.print(
            f"[yellow]{len(failed)} trials did not complete[/]: "
            + ", ".join(f"{r['trial']} ({r['status']})" for r in failed[:5])
        )
    if ranked:
        keys = varying_keys(rows, keys) or keys
        apart = varying_keys(ranked[:top], keys) or keys
        same = [k for k in keys if k not in apart]
        if same:  # said once, not on every row: the table keeps room for the rest
            first = ranked[0]
            console.print(
                f"same in the {min(top, len(ranked))} best trials: "
                + ", ".join(f"{k}={escape(label(first.get(k)))}" for k in same)
            )
        console.print(search_table(ranked, apart, objective, top, width=console.width))
        console.print(f"best: [bold]{ranked[0]['trial']}[/]  results: {store.root / 'results.csv'}")


def print_repeats(console: Console, outcomes, summary: dict) -> None:
    """After dlexp train --repeats or --cv: each run's status, the mean ± std table, the
    folders."""
    colour = {Status.COMPLETED: "green", Status.INTERRUPTED: "yellow"}.get(summary["status"], "red")
    seconds = max((o.metrics.fit_seconds or 0) for o in outcomes) * len(outcomes)
    kind = "folds" if "folds" in summary else "repeats"
    console.print(
        f"[{colour}]{summary['status']}[/]: {summary[kind]} {kind} trained together, "
        f"{seconds:.1f} s"
    )
    for o in outcomes:
        if o.error:
            console.print(f"[red]{o.run.id}: {o.error}[/]")
    splits = list(summary["mean"])
    names = list(dict.fromkeys(k for s in splits for k in summary["mean"][s]))
    table = Table(show_edge=False, pad_edge=False)
    table.add_column("split")
    for name in names:
        table.add_column(f"{name} (mean ± std)", justify="right")
    for split in splits:
        cells = []
        for name in names:
            m, s = summary["mean"][split].get(name), summary["std"][split].get(name)
            cells.append("-" if m is None else fmt(m) + ("" if s is None else f" ± {s:.4f}"))
        table.add_row(split, *cells)
    console.print(table)
    console.print("run folders: " + ", ".join(f"[bold]{o.run.path}[/]" for o in outcomes))
