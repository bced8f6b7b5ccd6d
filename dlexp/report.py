"""``dlexp report``: compare runs and searches in a table, as JSON/CSV, and as an HTML page.

Reads run folders only (``dlexp.runs``): never TensorFlow, Keras or keras-tuner.
A damaged, half-written or older run folder becomes a row with a warning.
"""

from __future__ import annotations

import csv
import hashlib
import html
import io
import json
import math
import os
import re
import statistics
import time
from concurrent import futures
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from dlexp import runs as runs_mod
from dlexp.errors import ConfigError, did_you_mean, show

SPLITS = ("train", "val", "test")
BUILTIN_FILTERS = ("id", "kind", "status", "search", "name")
TOP_TRIALS = 10  # trials per search drawn in full on the HTML page
PLOTS_VERSION = 1  # part of every picture's name: raise it when plots.py draws differently


def flatten(cfg: dict, prefix: str = "") -> dict[str, Any]:
    """{'model': {'dropout': 0.2}} -> {'model.dropout': 0.2}; an optimizer mapping stays
    one value (``train.optimizer``), as the search grids name it."""
    out: dict[str, Any] = {}
    for key, value in cfg.items():
        name = f"{prefix}{key}"
        if isinstance(value, dict) and name not in ("train.optimizer",
                                                    "train.early_stopping",
                                                    "train.lr_schedule"):  # fmt: skip
            out.update(flatten(value, name + "."))
        else:
            out[name] = value
    return out


def label(value: Any) -> str:
    """A value as a short text: sgd(momentum=0.9), [8, 16], 0.2."""
    if isinstance(value, dict):
        name = value.get("name", "")
        args = ", ".join(f"{k}={v}" for k, v in value.items() if k != "name")
        return f"{name}({args})" if name else "{" + args + "}"
    if isinstance(value, bool):
        return "true" if value else "false"
    if value is None:
        return "-"
    if isinstance(value, list):
        return "[" + ", ".join(label(v) for v in value) + "]"
    return str(value)


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
        return runs_mod.jsonable({
            "id": self.id, "kind": self.kind, "status": self.status, "search": self.search,
            "best": self.best, "hyperparameters": self.hyperparameters, "metrics": metrics,
            "runs": [str(r.path) for r in self.records], "warnings": self.warnings,
        })  # fmt: skip


@dataclass
class SearchInfo:
    name: str
    folder: Path
    objective: str | None
    direction: str
    keys: list[str]  # the searched config keys
    tuner: str | None
    repeats: int
    entries: list[Entry] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)

    def ranked(self) -> list[Entry]:
        scored = [e for e in self.entries if self.score(e) is not None]
        return sorted(scored, key=self.score, reverse=self.direction == "max")

    def score(self, entry: Entry) -> float | None:
        if not self.objective or entry.status != "completed":
            return None
        return entry.metrics.get(runs_mod.objective_key(self.objective))


def _entry(records: list[runs_mod.RunRecord], kind: str, entry_id: str,
           search: str | None) -> Entry:  # fmt: skip
    statuses = [r.status for r in records]
    status = next((s for s in statuses if s != "completed"), "completed")
    hp = flatten(records[0].config)
    if len(records) > 1:  # repeats differ by seed alone
        hp.pop("seed", None)
    keys = runs_mod.metric_keys(records) + ["params", "epochs_run", "best_epoch"]
    metrics, std = runs_mod.aggregate(records, keys)
    std.pop("params", None)
    seconds = [v for v in (r.metric("seconds") for r in records) if v is not None]
    metrics["seconds"] = sum(seconds) if seconds else None
    warnings = [f"{r.path}: {w}" for r in records for w in r.warnings]
    return Entry(entry_id, kind, status, hp, metrics, std, list(records), search,
                 warnings=warnings)  # fmt: skip


def _read_search(name: str, folder: Path) -> SearchInfo:
    """search.yaml's objective, direction, searched keys, tuner and repeats, leniently."""
    info = SearchInfo(name, folder, None, "max", [], None, 1)
    path = folder / "search.yaml"
    try:
        spec = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError, UnicodeDecodeError) as exc:
        info.warnings.append(f"{path}: unreadable ({type(exc).__name__})")
        return info
    section = spec.get("search") if isinstance(spec, dict) else None
    if not isinstance(section, dict):
        info.warnings.append(f"{path}: no search section")
        return info
    objective = section.get("objective")
    name_ = objective.get("name") if isinstance(objective, dict) else objective
    if isinstance(name_, str):
        info.objective = name_
        direction = objective.get("direction") if isinstance(objective, dict) else None
        info.direction = direction if direction in ("min", "max") else (
            "min" if "loss" in name_ or "error" in name_ else "max")
    params = section.get("params")
    if isinstance(params, dict):
        info.keys = [k for k in params if isinstance(k, str)]
    tuner = section.get("tuner")
    info.tuner = tuner if isinstance(tuner, str) else None
    repeats = section.get("repeats")
    info.repeats = repeats if isinstance(repeats, int) and repeats > 0 else 1
    return info


@dataclass
class Report:
    root: Path
    entries: list[Entry]
    searches: dict[str, SearchInfo]
    warnings: list[str]

    @property
    def varying(self) -> list[str]:
        """The hyperparameters whose values differ between the rows shown."""
        keys = list(dict.fromkeys(k for e in self.entries for k in e.hyperparameters))
        out = []
        for key in keys:
            if key == "name":
                continue
            seen = {json.dumps(e.hyperparameters.get(key), sort_keys=True, default=str)
                    for e in self.entries}  # fmt: skip
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
        searched[name] = [k for k in info.keys
                          if len({label(e.hyperparameters.get(k)) for e in rows}) > 1]  # fmt: skip
    out = {}
    for e in report.entries:
        if e.kind == "trial" and e.search in searched:
            out[e.id] = [(k, e.hyperparameters.get(k)) for k in searched[e.search]]
        else:
            out[e.id] = [(k, e.hyperparameters.get(k)) for k in keys
                         if json.dumps(e.hyperparameters.get(k), sort_keys=True, default=str)
                         != mode.get(k)]  # fmt: skip
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
        parsed = yaml.safe_load(value) if value.strip() else None
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
    """True to sort from high to low (accuracy), False from low to high (loss, time)."""
    return not any(w in metric for w in ("loss", "error", "seconds", "params", "epochs", "id"))


def build(root: str | Path, filters: tuple[str, ...] = (), sort: str | None = None) -> Report:
    """Read every run and search under ``root`` into report rows.

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
    records, search_folders, read_warnings = runs_mod.discover(root)
    searches = {n: _read_search(n, f) for n, f in search_folders.items()}
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
        entries += info.entries
    warnings = read_warnings + [w for s in searches.values() for w in s.warnings]
    warnings += [w for e in entries for w in e.warnings]
    report = Report(root, entries, searches, warnings)
    parsed = [_parse_filter(f) for f in filters]
    if parsed:
        known = set(BUILTIN_FILTERS) | {k for e in entries for k in e.hyperparameters}
        for key, _ in parsed:
            if key not in known and entries:
                options = sorted(known)
                raise ConfigError(f"--filter {key}: unknown key{did_you_mean(key, options)}; "
                                  f"filter on: {', '.join(options)}")  # fmt: skip
        report.entries = [e for e in entries if all(_matches(e.value(k), v) for k, v in parsed)]
    if sort:
        keys = report.metric_keys + ["id"]
        if sort not in keys and entries:
            raise ConfigError(f"--sort: unknown metric {show(sort)}{did_you_mean(sort, keys)}; "
                              f"expected one of: {', '.join(keys)}")  # fmt: skip
        high_first = sort_direction(sort)
        present = [e for e in report.entries if e.value(sort) is not None]
        missing = [e for e in report.entries if e.value(sort) is None]
        present.sort(key=lambda e: e.value(sort), reverse=high_first)
        report.entries = present + missing
    return report


# ---------------------------------------------------------------------------
# Table, JSON, CSV
# ---------------------------------------------------------------------------


def _short_key(key: str, keys: list[str]) -> str:
    last = key.split(".")[-1]
    return last if sum(k.split(".")[-1] == last for k in keys) == 1 else key


def _num(value: float | None, std: float | None = None, digits: int = 4) -> str:
    if value is None or (isinstance(value, float) and not math.isfinite(value)):
        return "-"
    text = f"{value:.{digits}f}"
    if std is not None:
        text += f" ± {std:.{digits}f}"
    return text


def table_metrics(report: Report) -> list[str]:
    """loss and accuracy (or the first metric) for each split."""
    keys = report.metric_keys
    metric = "accuracy" if any(k.endswith("_accuracy") for k in keys) else next(
        (k.split("_", 1)[1] for k in keys if k.startswith("train_") and k != "train_loss"), None)
    out = []
    for split in SPLITS:
        for name in ("loss", metric):
            if name and f"{split}_{name}" in keys:
                out.append(f"{split}_{name}")
    return out


def _params(e: Entry) -> str:
    value = e.metrics.get("params")
    return "-" if value is None else f"{int(value):,}"


def _triplet(e: Entry, name: str) -> str:
    """'0.971 0.981 0.953' for train, validation and test; a second line of ± std over
    repeats."""
    keys = [f"{split}_{name}" for split in SPLITS]
    text = " ".join(_num(e.metrics.get(k), digits=3) for k in keys)
    if any(e.std.get(k) is not None for k in keys):
        text += "\n" + " ".join("±" + _num(e.std.get(k), digits=3) if e.std.get(k) is not None
                                else "     -" for k in keys)  # fmt: skip
    return text


def table(report: Report, width: int | None = None):
    """The rich table: id, status, the settings that set each row apart, parameters,
    epochs, loss and accuracy on train/val/test (± std over repeats), seconds. The best
    trial of each search is starred."""
    from rich.table import Table
    from rich.text import Text

    metric = next((m.split("_", 1)[1] for m in table_metrics(report)
                   if not m.endswith("_loss")), None)  # fmt: skip
    apart = settings(report)
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
            _params(e),
            "-" if epochs is None else f"{epochs:g}",
            _triplet(e, "loss"),
            *([_triplet(e, metric)] if metric else []),
            _num(e.metrics.get("seconds"), digits=1),
        )
    return t


def records(report: Report) -> list[dict]:
    return [e.record() for e in report.entries]


def to_csv(report: Report) -> str:
    """The same records as CSV: id, kind, status, search, best, each hyperparameter
    (dotted key), each metric; one row per table row."""
    rows = []
    for e in report.entries:
        row = {"id": e.id, "kind": e.kind, "status": e.status, "search": e.search or "",
               "best": e.best}  # fmt: skip
        for k, v in e.hyperparameters.items():
            row[k] = json.dumps(v) if isinstance(v, (dict, list)) else v
        for k, v in e.metrics.items():
            row[k] = v
        for k, v in e.std.items():
            row[f"{k}_std"] = v
        rows.append(row)
    columns = list(dict.fromkeys(k for r in rows for k in r)) or ["id", "kind", "status"]
    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=columns, lineterminator="\n")
    writer.writeheader()
    for row in rows:
        writer.writerow({k: "" if row.get(k) is None else row.get(k) for k in columns})
    return buf.getvalue()


# ---------------------------------------------------------------------------
# The HTML page
# ---------------------------------------------------------------------------


PICTURE_NAME = re.compile(r"^[A-Za-z0-9_.-]+-[0-9a-f]{12}\.png$")


def _anchor(text: str) -> str:
    """A unique HTML id for any run id (slugs alone can collide)."""
    digest = hashlib.sha1(text.encode()).hexdigest()[:6]
    return f"{runs_mod.slug(text.replace('/', '--'))[:60]}-{digest}"


def _render(job: tuple[str, tuple, dict, str]) -> tuple[str, str | None]:
    """Draw one picture (maybe in a worker process) and write it atomically.

    Returns:
        (path, None), or (path, the reason) when the data cannot be drawn: a damaged
        boundary.npz must cost its picture, not the report.
    """
    from dlexp import plots

    kind, args, kwargs, path = job
    try:
        if kind == "boundary":
            import numpy as np

            with np.load(args[0], allow_pickle=False) as npz:
                arrays = {k: npz[k] for k in npz.files}
            data = plots.boundary(arrays, **kwargs)
        elif kind == "curves":
            data = plots.learning_curves(runs_mod.read_run(args[0]).history, **kwargs)
        else:
            data = getattr(plots, kind)(*args, **kwargs)
        runs_mod.atomic_write(path, data)
    except Exception as exc:  # noqa: BLE001 - any damage in a run's files
        return path, f"{type(exc).__name__}: {exc}"
    return path, None


class _Images:
    """The page's pictures. Each is named by a hash of what it is drawn from (the job,
    its source files' sizes and times, the plotting code), so a picture is drawn again
    only when something it shows changed."""

    def __init__(self, out: Path):
        self.dir = out / "img"
        try:
            self.dir.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise ConfigError(f"--out: cannot write to {str(out)!r} ({exc.strerror})") from None
        self.jobs: list[tuple] = []
        self.used: set[str] = set()
        self.failed: dict[str, str] = {}  # src -> reason

    def add(self, stem: str, kind: str, *args, sources: tuple[Path, ...] = (),
            **kwargs) -> str:  # fmt: skip
        h = hashlib.sha1(json.dumps([kind, args, kwargs, PLOTS_VERSION], sort_keys=True,
                                    default=str).encode())  # fmt: skip
        for p in sources:
            try:
                st = p.stat()
                h.update(f"{p}:{st.st_mtime_ns}:{st.st_size}".encode())
            except OSError:
                h.update(f"{p}:missing".encode())
        name = f"{runs_mod.slug(stem)[:60]}-{h.hexdigest()[:12]}.png"
        if name not in self.used:
            self.used.add(name)
            if not (self.dir / name).exists():
                self.jobs.append((kind, args, kwargs, str(self.dir / name)))
        return f"img/{name}"

    def draw(self) -> int:
        results: list[tuple[str, str | None]] = []
        if len(self.jobs) > 6 and (os.cpu_count() or 1) > 1:
            try:
                with futures.ProcessPoolExecutor(min(os.cpu_count() or 1, 4)) as pool:
                    results = list(pool.map(_render, self.jobs, chunksize=4))
            except (futures.process.BrokenProcessPool, OSError):
                results = []
        if len(results) != len(self.jobs):
            results = [_render(job) for job in self.jobs]
        for path, error in results:
            if error:
                self.failed[f"img/{Path(path).name}"] = error
        for old in self.dir.glob("*.png"):  # only pictures this report names itself
            if old.name not in self.used and PICTURE_NAME.match(old.name):
                old.unlink()
        return len(self.jobs) - len(self.failed)


CSS = """
body{font:14px/1.45 system-ui,-apple-system,Segoe UI,Roboto,sans-serif;margin:0;color:#222}
header{background:#183d4e;color:#fff;padding:14px 24px}header h1{margin:0;font-size:20px}
header p{margin:4px 0 0;opacity:.85}main{padding:8px 24px 40px}
h2{border-bottom:2px solid #f59322;padding-bottom:4px;margin-top:32px}
table{border-collapse:collapse;font-size:12px;margin:8px 0}
th,td{padding:3px 8px;border-bottom:1px solid #ddd;text-align:right;white-space:nowrap}
th{background:#f4f6f7;position:sticky;top:0}td.l,th.l{text-align:left}
td.set{white-space:normal;min-width:260px;max-width:520px}
tr.best td{background:#fff4e5;font-weight:600}.warn{color:#a15c00}
.status-completed{color:#287a2d}.status-diverged,.status-failed,.status-damaged{color:#b3261e}
.status-interrupted,.status-stale,.status-running{color:#a15c00}
img{max-width:100%;border:1px solid #eee;margin:4px 8px 4px 0;vertical-align:top}
details{margin:6px 0;border:1px solid #e3e3e3;border-radius:4px;padding:4px 10px}
summary{cursor:pointer;font-weight:600}.scroll{overflow-x:auto}nav a{margin-right:12px}
"""


def _status(status: str) -> str:
    css = re.sub(r"[^a-z]", "", status.lower())
    return f"<span class='status-{css}'>{html.escape(status)}</span>"


def _html_table(report: Report, entries: list[Entry], varying: list[str] | None,
                metrics: list[str], anchors: set[str]) -> str:  # fmt: skip
    """Rows with a column per key in ``varying``, or (None) one 'settings' column."""
    apart = settings(report) if varying is None else {}
    columns = ["settings"] if varying is None else [_short_key(k, varying) for k in varying]
    head = ["id", "status", *columns, "params", "epochs",
            *(m.replace("_", " ") for m in metrics), "s"]  # fmt: skip
    left = 2 + len(columns)
    out = ["<div class='scroll'><table><tr>"]
    out += [f"<th class='{'l' if i < left else ''}'>{html.escape(h)}</th>"
            for i, h in enumerate(head)]  # fmt: skip
    out.append("</tr>")
    for e in entries:
        name = html.escape(e.id)
        if _anchor(e.id) in anchors:
            name = f"<a href='#{_anchor(e.id)}'>{name}</a>"
        elif e.search is not None:
            name = f"<a href='#{_anchor('search/' + e.search)}'>{name}</a>"
        cells = [name + (" ★" if e.best else ""), _status(e.status),
                 *([html.escape(settings_text(apart[e.id], limit=12))] if varying is None
                   else [html.escape(label(e.hyperparameters.get(k))) for k in varying]),
                 _params(e), _num(e.metrics.get("epochs_run"), digits=0),
                 *(_num(e.metrics.get(m), e.std.get(m)) for m in metrics),
                 _num(e.metrics.get("seconds"), digits=1)]  # fmt: skip
        out.append(f"<tr class='{'best' if e.best else ''}'>")
        css = ["l", "l", *(["l set"] if varying is None else ["l"] * len(columns))]
        out += [f"<td class='{css[i] if i < left else ''}'>{c}</td>" for i, c in enumerate(cells)]
        out.append("</tr>")
    out.append("</table></div>")
    return "".join(out)


def _img(src: str, alt: str) -> str:
    return f"<img src='{html.escape(src)}' alt='{html.escape(alt)}'>"


def _run_section(images: _Images, e: Entry) -> str:
    """A run's (or trial's) learning curves and decision boundary."""
    parts = [f"<h3 id='{_anchor(e.id)}'>{html.escape(e.id)} <small>{_status(e.status)}"
             "</small></h3>"]  # fmt: skip
    for w in e.warnings:
        parts.append(f"<p class='warn'>⚠ {html.escape(w)}</p>")
    for r in e.records[:1] if e.kind == "trial" else e.records:
        history = r.path / "history.csv"
        if r.history:
            src = images.add(f"curves-{e.id}", "curves", str(r.path), title=r.path.name,
                             sources=(history,))  # fmt: skip
            parts.append(_img(src, f"learning curves of {e.id}"))
        npz = r.path / "boundary.npz"
        if npz.exists():
            src = images.add(f"boundary-{e.id}", "boundary", str(npz),
                             title=f"decision boundary: {r.path.name}", sources=(npz,))
            parts.append(_img(src, f"decision boundary of {e.id}"))
    return "".join(parts)


def _mean_history(entry: Entry) -> list[dict]:
    """The epoch-by-epoch mean over a trial's repeats (its only run's history otherwise)."""
    histories = [r.history for r in entry.records if r.history]
    if len(histories) <= 1:
        return histories[0] if histories else []
    n = min(len(h) for h in histories)
    out = []
    for i in range(n):
        row = {}
        for key in histories[0][i]:
            values = [h[i].get(key) for h in histories if h[i].get(key) is not None]
            row[key] = statistics.fmean(values) if values else None
        out.append(row)
    return out


def _overlay_metrics(entries: list[Entry]) -> list[str]:
    names = []
    for e in entries:
        for r in e.records[:1]:
            history = r.history
            names += [k for k in (history[0] if history else {}) if k in ("loss", "accuracy")]
    return list(dict.fromkeys(names)) or ["loss"]


def write_html(report: Report, out: str | Path) -> tuple[Path, int]:
    """Write ``out/index.html`` with its pictures in ``out/img/``.

    Returns:
        The page's path and the number of pictures drawn (the rest were current).
    """
    out = Path(out)
    images = _Images(out)
    runs = [e for e in report.entries if e.kind == "run"]
    metrics = table_metrics(report)
    # the rows drawn in full (so the tables link only to sections that exist)
    detailed = {e.id for e in runs}
    for info in report.searches.values():
        detailed |= {e.id for e in info.ranked()[:TOP_TRIALS]}
    anchors = {_anchor(i) for i in detailed}
    body = [f"<header><h1>dlexp report</h1><p>{html.escape(str(report.root.resolve()))} · "
            f"{len(runs)} runs · {len(report.searches)} searches · "
            f"{time.strftime('%Y-%m-%d %H:%M')}</p></header><main>"]  # fmt: skip
    nav = ["<a href='#all'>all runs</a>"]
    if len(runs) > 1:
        nav.append("<a href='#compare'>compare</a>")
    nav += [f"<a href='#{_anchor('search/' + n)}'>{html.escape(n)}</a>" for n in report.searches]
    body.append(f"<nav>{''.join(nav)}</nav>")
    body.append("<!--WARNINGS-->")
    body.append("<h2 id='all'>All runs and trials</h2>")
    body.append(_html_table(report, report.entries, None, metrics, anchors) if report.entries
                else "<p>No runs yet.</p>")  # fmt: skip
    if len(runs) > 1:
        body.append("<h2 id='compare'>Runs compared</h2>")
        shown = runs[:12]
        src = images.add("overlay-runs", "overlay",
                         [(e.id, e.records[0].history) for e in shown],
                         _overlay_metrics(shown))  # fmt: skip
        body.append(_img(src, "learning curves of the runs, overlaid"))
    for info in report.searches.values():
        body.append(_search_section(images, report, info, anchors))
    if runs:
        body.append("<h2 id='runs'>Runs</h2>")
        body += [_run_section(images, e) for e in runs]
    body.append("</main>")
    drawn = images.draw()
    page = "".join(body)
    warnings = list(report.warnings)
    for src, reason in images.failed.items():  # a picture that could not be drawn
        page = re.sub(f"<img src='{re.escape(src)}' alt='([^']*)'>",
                      lambda m: f"<p class='warn'>⚠ no picture of {m.group(1)}</p>", page)
        warnings.append(f"{src}: not drawn ({reason})")
    if warnings:
        page = page.replace("<!--WARNINGS-->", "<details><summary class='warn'>"
                            f"{len(warnings)} warnings</summary><ul>"
                            + "".join(f"<li class='warn'>{html.escape(w)}</li>" for w in warnings)
                            + "</ul></details>")  # fmt: skip
    report.warnings = warnings
    page = ("<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'>"
            "<meta name='viewport' content='width=device-width,initial-scale=1'>"
            f"<title>dlexp report</title><style>{CSS}</style></head><body>"
            + page + "</body></html>\n")  # fmt: skip
    runs_mod.atomic_write(out / "index.html", page)
    return out / "index.html", drawn


def _search_section(images: _Images, report: Report, info: SearchInfo, anchors: set[str]) -> str:
    entries = [e for e in report.entries if e.search == info.name]
    ranked = [e for e in info.ranked() if e in entries]
    parts = [f"<h2 id='{_anchor('search/' + info.name)}'>Search {html.escape(info.name)}</h2>"]
    best = ranked[0] if ranked else None
    summary = (f"{html.escape(info.tuner or 'grid')} search, {len(entries)} trials"
               + (f" × {info.repeats} repeats" if info.repeats > 1 else "")
               + (f", objective {html.escape(info.objective)} ({info.direction})"
                  if info.objective else ""))  # fmt: skip
    if best:
        summary += (f"; best <a href='#{_anchor(best.id)}'>{html.escape(best.id)}</a> "
                    f"{_num(info.score(best))}")  # fmt: skip
    parts.append(f"<p>{summary}</p>")
    for w in info.warnings:
        parts.append(f"<p class='warn'>⚠ {html.escape(w)}</p>")
    keys = [k for k in info.keys if len({label(e.hyperparameters.get(k)) for e in entries}) > 1]
    scored = [{**{k: e.hyperparameters.get(k) for k in keys}, "score": info.score(e)}
              for e in ranked]  # fmt: skip
    if scored and keys:
        parts.append("<h3>Objective by searched value</h3>")
        src = images.add(f"search-{info.name}-params", "objective_vs_params", scored, keys,
                         info.objective)  # fmt: skip
        parts.append(_img(src, f"{info.objective} against each searched value"))
        if len(keys) >= 2:
            by_size = sorted(keys, key=lambda k: -len({label(s[k]) for s in scored}))
            src = images.add(f"search-{info.name}-heatmap", "heatmap", scored, by_size[0],
                             by_size[1], info.objective)  # fmt: skip
            parts.append(_img(src, f"mean {info.objective} by {by_size[0]} and {by_size[1]}"))
    if ranked:
        top = ranked[:TOP_TRIALS]
        curves = [(f"{e.id.split('/')[-1]} " + ", ".join(
            label(e.hyperparameters.get(k)) for k in keys), _mean_history(e)) for e in top]
        title = "best trials" + (" (mean over repeats)" if info.repeats > 1 else "")
        src = images.add(f"search-{info.name}-overlay", "overlay", curves,
                         _overlay_metrics(top), title=title)  # fmt: skip
        parts.append("<h3>Best trials compared</h3>" + _img(src, "best trials' learning curves"))
    parts.append("<h3>Ranking</h3>")
    parts.append(_html_table(report, ranked + [e for e in entries if e not in ranked],
                             keys or None, table_metrics(report), anchors))  # fmt: skip
    results = info.folder / "results.csv"
    if results.exists():
        parts.append(f"<p>results.csv: <code>{html.escape(str(results))}</code></p>")
    for e in ranked[:TOP_TRIALS]:
        parts.append(f"<details{' open' if e.best else ''}><summary>{html.escape(e.id)}"
                     f"{' ★ best' if e.best else ''}</summary>{_run_section(images, e)}</details>")
    return "".join(parts)
