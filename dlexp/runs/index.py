"""Collecting the report's rows from run folders: runs, search trials (their repeats
combined), filters and sorting.

Reads run folders only (``dlexp.runs.folder``): never TensorFlow, Keras or keras-tuner.
A damaged, half-written or older run folder becomes a row with a warning.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from dlexp.core import yamlio
from dlexp.core.errors import ConfigError, did_you_mean, show
from dlexp.core.files import jsonable
from dlexp.core.labels import label
from dlexp.runs import folder as runs_mod
from dlexp.runs.cache import Index, open_index
from dlexp.runs.searches import SearchInfo, read_search

BUILTIN_FILTERS = ("id", "kind", "status", "search", "name")


def flatten(cfg: dict, prefix: str = "") -> dict[str, Any]:
    """{'model': {'dropout': 0.2}} -> {'model.dropout': 0.2}; an optimizer mapping stays
    one value (``train.optimizer``), as the search grids name it."""
    out: dict[str, Any] = {}
    for key, value in cfg.items():
        name = f"{prefix}{key}"
        if isinstance(value, dict) and name not in (
            "train.optimizer",
            "train.early_stopping",
            "train.lr_schedule",
        ):
            out.update(flatten(value, name + "."))
        else:
            out[name] = value
    return out


def plain(value: Any) -> Any:
    """``value`` made plain JSON (``jsonable``), or ``value`` itself when it is already:
    checking with json's C encoder takes a tenth of walking a thousand rows."""
    try:
        json.dumps(value, allow_nan=False)
    except (TypeError, ValueError):
        return jsonable(value)
    return value


@dataclass
class Entry:
    """One row of the report: a run, or a search trial (its repeats combined)."""

    id: str
    kind: str  # run | trial
    status: str
    hyperparameters: dict[str, Any]
    metrics: dict[str, float | None]  # train_loss, val_accuracy, ..., params, epochs_run, seconds
    std: dict[str, float | None] = field(default_factory=dict)  # across repeats
    records: list[runs_mod.RunRecord] = field(default_factory=list)
    search: str | None = None
    best: bool = False
    within_noise: bool | None = None  # with repeats: can a paired test tell it from the best?
    warnings: list[str] = field(default_factory=list)

    @property
    def name(self) -> str | None:
        return self.hyperparameters.get("name")

    def value(self, key: str) -> Any:
        if key in ("id", "kind", "status", "search"):
            return getattr(self, key)
        if key == "name":
            return self.name
        if key in self.hyperparameters:
            return self.hyperparameters[key]
        return self.metrics.get(key)

    def record(self) -> dict:
        """What --format json prints for this row."""
        metrics = {k: v for k, v in self.metrics.items() if v is not None}
        metrics.update({f"{k}_std": v for k, v in self.std.items() if v is not None})
        return plain(
            {
                "id": self.id,
                "kind": self.kind,
                "status": str(self.status),
                "search": self.search,
                "best": self.best,
                "within_noise_of_best": self.within_noise,
                "hyperparameters": self.hyperparameters,
                "metrics": metrics,
                "runs": [str(r.path) for r in self.records],
                "warnings": self.warnings,
            }
        )


# Keys a run from before they existed does not hold, as such a run had them: so that
# its rows are not set apart by them (and runs.select.config_of resolves it as it was).
BEFORE = {"data.task": "classification", "data.dataset": None}
# Keys the dataset decides: a row that differs in its data does not list them too.
TASK_FOLLOWS = ("data.task", "model.output_activation")


def _entry(
    records: list[runs_mod.RunRecord], kind: str, entry_id: str, search: str | None
) -> Entry:
    status = runs_mod.group_status(r.status for r in records)
    hp = flatten(records[0].config)
    for key, value in BEFORE.items() if hp else ():
        hp.setdefault(key, value)
    if len(records) > 1:  # repeats differ by seed alone
        hp.pop("seed", None)
    keys = runs_mod.metric_keys(records) + ["params", "epochs_run", "best_epoch"]
    metrics, std = runs_mod.aggregate(records, keys)
    std.pop("params", None)
    seconds = [v for v in (r.metric("seconds") for r in records) if v is not None]
    metrics["seconds"] = sum(seconds) if seconds else None
    warnings = [f"{r.path}: {w}" for r in records for w in r.warnings]
    return Entry(entry_id, kind, status, hp, metrics, std, list(records), search, warnings=warnings)


@dataclass
class Report:
    root: Path
    entries: list[Entry]
    searches: dict[str, SearchInfo]
    warnings: list[str]
    filters: tuple[str, ...] = ()  # the --filter KEY=VALUE the rows were chosen by
    sorted_by: str | None = None  # the --sort metric the rows are in the order of

    @property
    def varying(self) -> list[str]:
        """The hyperparameters whose values differ between the rows shown."""
        keys = list(dict.fromkeys(k for e in self.entries for k in e.hyperparameters))
        out = []
        for key in keys:
            if key == "name":
                continue
            seen = {
                json.dumps(e.hyperparameters.get(key), sort_keys=True, default=str)
                for e in self.entries
            }
            if len(seen) > 1:
                out.append(key)
        return out

    @property
    def metric_keys(self) -> list[str]:
        keys = list(dict.fromkeys(k for e in self.entries for k in e.metrics))
        return [k for k in keys if any(e.metrics.get(k) is not None for e in self.entries)]


def settings(report: Report) -> dict[str, list[tuple[str, Any]]]:
    """For each row, the settings that set it apart, as (key, value) pairs: a trial's
    searched values; for a run, the keys where it differs from most runs shown."""
    runs = [e for e in report.entries if e.kind == "run"]
    keys = [k for k in report.varying if k != "seed" or len(runs) > 1]
    mode: dict[str, str] = {}
    for key in keys:
        counts: dict[str, int] = {}
        for e in runs:
            text = json.dumps(e.hyperparameters.get(key), sort_keys=True, default=str)
            counts[text] = counts.get(text, 0) + 1
        if counts:
            mode[key] = max(counts, key=counts.get)
    searched: dict[str, list[str]] = {}  # each search's keys that take several values
    for name, info in report.searches.items():
        rows = [e for e in report.entries if e.search == name]
        searched[name] = [
            k for k in info.keys if len({label(e.hyperparameters.get(k)) for e in rows}) > 1
        ]
    out = {}
    for e in report.entries:
        if e.kind == "trial" and e.search in searched:
            out[e.id] = [(k, e.hyperparameters.get(k)) for k in searched[e.search]]
        else:
            pairs = [
                (k, e.hyperparameters.get(k))
                for k in keys
                if json.dumps(e.hyperparameters.get(k), sort_keys=True, default=str) != mode.get(k)
            ]
            if any(k in ("data.kind", "data.dataset") for k, _ in pairs):  # they follow it
                pairs = [(k, v) for k, v in pairs if k not in TASK_FOLLOWS]
            out[e.id] = pairs
    return out


def settings_text(pairs: list[tuple[str, Any]], limit: int = 6) -> str:
    shown = [f"{k.split('.')[-1]}={label(v)}" for k, v in pairs[:limit]]
    if len(pairs) > limit:
        shown.append(f"+{len(pairs) - limit} more")
    return ", ".join(shown)


def _parse_filter(text: str) -> tuple[str, Any]:
    key, sep, value = text.partition("=")
    if not sep or not key.strip():
        raise ConfigError(f"--filter {text!r}: expected KEY=VALUE, e.g. model.activation=relu")
    try:
        parsed = yamlio.parse(value) if value.strip() else None
    except yaml.YAMLError:
        parsed = value
    return key.strip(), parsed


def _matches(actual: Any, wanted: Any) -> bool:
    if isinstance(wanted, str):  # YAML 1.1 reads 3e-2 as text
        try:
            wanted = float(wanted)
        except ValueError:
            pass
    if actual == wanted:
        return True
    if isinstance(actual, dict) and actual.get("name") == wanted:  # train.optimizer=sgd
        return True
    return label(actual) == label(wanted)


def sort_direction(metric: str) -> bool:
    """True to sort from high to low (accuracy), False from low to high (loss, error,
    and counts where less is better: time, parameters, epochs; ids alphabetically)."""
    smaller_first = ("seconds", "params", "epochs", "id")
    return runs_mod.direction(metric) == "max" and not any(w in metric for w in smaller_first)


def is_run_folder(path: Path) -> bool:
    return (
        (path / "run.json").exists()
        or (path / "config.yaml").exists()
        and ((path / "metrics.json").exists() or (path / "history.csv").exists())
    )


def is_report_folder(path: Path) -> bool:
    """A folder ``dlexp report`` wrote (its page and pictures), not runs."""
    return (path / "index.html").exists() and (path / "img").is_dir()


def in_flight(trials: Path) -> list[tuple[Path, str]]:
    """The trials a search is training now, with their names: it trains each in
    ``trials/.NAME.tmp-PID`` (rewriting its history.csv every epoch) and renames it to
    ``trials/NAME`` when it ends. Those of a live process whose NAME is not there yet."""
    from dlexp.runs.read import pid_alive

    out = []
    try:
        staged = sorted(trials.glob(".*.tmp-*")) if trials.is_dir() else []
    except OSError:
        return []
    for tmp in staged:
        name, _, pid = tmp.name[1:].rpartition(".tmp-")
        if name and pid.isdigit() and tmp.is_dir() and not (trials / name).exists():
            if pid_alive(int(pid)):
                out.append((tmp, name))
    return out


def discover(
    root: str | Path, index: Index | None = None
) -> tuple[list[runs_mod.RunRecord], dict[str, Path], list[str]]:
    """Every run and search trial under ``root`` (a runs folder, a search folder or one
    run folder), without following links twice into the same folder; through ``index``
    a folder that has not changed is not parsed again.

    Returns:
        (records, searches, warnings): run records; each search's name (its path
        under ``root``, or its folder name when ``root`` is the search) and folder;
        folders that could not be read.
    """
    root = Path(root).resolve()
    records: list[runs_mod.RunRecord] = []
    searches: dict[str, Path] = {}
    warnings: list[str] = []
    seen: set[Path] = set()

    def name_of(folder: Path) -> str:
        rel = folder.relative_to(root).as_posix()
        return folder.name if rel == "." else rel

    def children(folder: Path) -> list[Path]:
        try:
            return sorted(c for c in folder.iterdir() if c.is_dir() and not c.name.startswith("."))
        except OSError as exc:
            warnings.append(f"{folder}: cannot be read ({exc.strerror or exc})")
            return []

    def visit(folder: Path, depth: int) -> None:
        real = folder.resolve()
        if real in seen:
            return
        seen.add(real)
        try:
            is_search = (folder / "search.yaml").exists()
            is_run = not is_search and is_run_folder(folder)
        except OSError as exc:
            warnings.append(f"{folder}: cannot be read ({exc.strerror or exc})")
            return
        if is_search:
            name = name_of(folder)
            searches[name] = folder
            for trial in children(folder / "trials") if (folder / "trials").is_dir() else []:
                records.append(runs_mod.read_run(trial, f"{name}/{trial.name}", name, index))
            for trial, staged in in_flight(folder / "trials"):
                record = runs_mod.read_run(trial, f"{name}/{staged}", name, index)
                record.name = staged
                records.append(record)
            return
        if is_run:
            records.append(runs_mod.read_run(folder, name_of(folder), index=index))
            return
        if depth >= 4 or is_report_folder(folder):
            return
        for child in children(folder):
            visit(child, depth + 1)

    if root.is_dir():
        visit(root, 0)
    return records, searches, warnings


def build(
    root: str | Path,
    filters: tuple[str, ...] = (),
    sort: str | None = None,
    index: Index | None = None,
) -> Report:
    """Read every run and search under ``root`` into report rows, through ``index``
    (default: the machine's, :func:`dlexp.runs.cache.open_index`).

    Raises:
        ConfigError: a missing folder, an unknown filter key or sort metric.
    """
    root = Path(root)
    if not root.exists():
        raise ConfigError(
            f"{root}: no such folder; `dlexp train configs/moons.yaml` makes a first run in runs/"
        )
    if not root.is_dir():
        raise ConfigError(f"{root}: expected a folder of runs, got a file")
    index = open_index() if index is None else index
    index.seen.clear()  # the folders this reading sees (one that is gone leaves the index)
    records, search_folders, read_warnings = discover(root, index)
    index.save(under=root.resolve())
    searches = {n: read_search(n, f) for n, f in search_folders.items()}
    entries = [_entry([r], "run", r.id, None) for r in records if r.search is None]
    for name, info in searches.items():
        groups: dict[str, list[runs_mod.RunRecord]] = {}
        for r in records:
            if r.search == name:
                groups.setdefault(r.trial, []).append(r)
        info.entries = [_entry(g, "trial", f"{name}/{t}", name) for t, g in sorted(groups.items())]
        ranked = info.ranked()
        if ranked:
            ranked[0].best = True
        if info.raced is not None:  # the race's own verdicts, from race.json
            for entry in info.entries:
                entry.within_noise = info.raced.get(entry.id.rsplit("/", 1)[-1])
        else:
            from dlexp.report.significance import mark_noise

            mark_noise(info)
        entries += info.entries
    warnings = read_warnings + [w for s in searches.values() for w in s.warnings]
    warnings += [w for e in entries for w in e.warnings]
    report = Report(root, entries, searches, warnings, tuple(filters))
    parsed = [_parse_filter(f) for f in filters]
    if parsed:
        known = set(BUILTIN_FILTERS) | {k for e in entries for k in e.hyperparameters}
        for key, _ in parsed:
            if key not in known and entries:
                options = sorted(known)
                raise ConfigError(
                    f"--filter {key}: unknown key{did_you_mean(key, options)}; "
                    f"filter on: {', '.join(options)}"
                )
        report.entries = [e for e in entries if all(_matches(e.value(k), v) for k, v in parsed)]
    if sort:
        keys = report.metric_keys + ["id"]
        if sort not in keys and entries:
            raise ConfigError(
                f"--sort: unknown metric {show(sort)}{did_you_mean(sort, keys)}; "
                f"expected one of: {', '.join(keys)}"
            )
        high_first = sort_direction(sort)
        present = [e for e in report.entries if e.value(sort) is not None]
        missing = [e for e in report.entries if e.value(sort) is None]
        present.sort(key=lambda e: e.value(sort), reverse=high_first)
        report.entries = present + missing
        report.sorted_by = sort
    return report
