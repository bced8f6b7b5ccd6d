"""The run store: one folder of plain files per run, every file written atomically.

A run folder holds ``config.yaml``, ``run.json``, ``history.csv``, ``metrics.json``,
``model.keras`` and, for 2D data, ``boundary.npz``. Each file is written to a
temporary name in the same folder and renamed over the final name, so a crash or
Ctrl-C leaves either the previous complete file or the new complete one.
No TensorFlow here: ``dlexp report`` reads runs through this module.
"""

from __future__ import annotations

import csv
import io
import json
import math
import os
import platform
import re
import secrets
import time
from contextlib import contextmanager
from datetime import datetime, timezone
from importlib import metadata
from pathlib import Path
from typing import Any

from dlexp.errors import ConfigError


@contextmanager
def atomic_path(path: str | Path):
    """Yield a temporary path beside ``path``; rename it over ``path`` if the block succeeds."""
    path = Path(path)
    tmp = path.with_name(f".{path.stem}.tmp-{os.getpid()}-{secrets.token_hex(3)}{path.suffix}")
    try:
        yield tmp
        os.replace(tmp, path)
    finally:
        if tmp.exists():
            tmp.unlink()


def atomic_write(path: str | Path, data: str | bytes) -> None:
    """Write text or bytes to ``path`` atomically."""
    with atomic_path(path) as tmp:
        with open(tmp, "wb") as f:
            f.write(data.encode("utf-8") if isinstance(data, str) else data)


def jsonable(value: Any) -> Any:
    """Plain JSON: NumPy scalars become numbers, NaN and infinities null, sets lists,
    anything else JSON lacks (a date YAML read, say) its text."""
    if isinstance(value, dict):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple, set, frozenset)):
        return [jsonable(v) for v in value]
    if hasattr(value, "item") and callable(value.item):  # NumPy scalar or 0-d array
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    return str(value)


def write_json(path: str | Path, obj: Any) -> None:
    atomic_write(path, json.dumps(jsonable(obj), indent=2, allow_nan=False) + "\n")


def write_csv(path: str | Path, rows: list[dict], columns: list[str] | None = None) -> None:
    """Rows of dicts as CSV with a header; columns default to the keys in first-seen order."""
    if columns is None:
        columns = list(dict.fromkeys(k for row in rows for k in row))
    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=columns, extrasaction="ignore", lineterminator="\n")
    writer.writeheader()
    for row in rows:
        writer.writerow({k: _csv_cell(row.get(k)) for k in columns})
    atomic_write(path, buf.getvalue())


def _csv_cell(value: Any) -> Any:
    if value is None:
        return ""
    if isinstance(value, float):
        return repr(value)
    if isinstance(value, (dict, list)):
        return json.dumps(value)
    return value


def read_json(path: str | Path) -> Any:
    with open(path, encoding="utf-8") as f:
        return json.load(f)


def slug(name: str) -> str:
    """A name made safe for a folder name."""
    return re.sub(r"[^A-Za-z0-9_.-]+", "-", name).strip("-.") or "run"


def now_iso() -> str:
    return datetime.now(timezone.utc).astimezone().isoformat(timespec="seconds")


def versions(backend: str | None = None) -> dict[str, str | None]:
    """Versions of Python and of the libraries a run depends on (read without importing)."""
    out: dict[str, str | None] = {"python": platform.python_version()}
    for dist in ("dlexp", "keras", "tensorflow", "jax", "jaxlib", "keras-tuner", "numpy",
                 "scikit-learn"):  # fmt: skip
        try:
            out[dist] = metadata.version(dist)
        except metadata.PackageNotFoundError:
            out[dist] = None
    if backend:
        out["keras_backend"] = backend
    return out


class Run:
    """One run folder and the files in it."""

    def __init__(self, path: str | Path):
        self.path = Path(path)

    @property
    def id(self) -> str:
        return self.path.name

    def file(self, name: str) -> Path:
        return self.path / name

    def write_json(self, name: str, obj: Any) -> None:
        write_json(self.file(name), obj)

    def write_text(self, name: str, text: str) -> None:
        atomic_write(self.file(name), text)

    def write_csv(self, name: str, rows: list[dict], columns: list[str] | None = None) -> None:
        write_csv(self.file(name), rows, columns)

    def save_npz(self, name: str, **arrays: Any) -> None:
        import numpy as np

        buf = io.BytesIO()
        np.savez_compressed(buf, **arrays)
        atomic_write(self.file(name), buf.getvalue())

    def save_model(self, model: Any, name: str = "model.keras") -> None:
        with atomic_path(self.file(name)) as tmp:
            model.save(tmp)


def create_run(runs_dir: str | Path, name: str) -> Run:
    """Make a new, empty run folder ``RUNS_DIR/<time>-<name>-<random>``.

    The id is unique even for runs started in the same second by several processes:
    ``os.mkdir`` fails if the folder exists, and then another random suffix is drawn.
    """
    runs_dir = Path(runs_dir)
    try:
        runs_dir.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise ConfigError(f"--runs-dir: cannot create {str(runs_dir)!r} ({exc.strerror})") from None
    stamp = time.strftime("%Y%m%d-%H%M%S")
    while True:
        path = runs_dir / f"{stamp}-{slug(name)}-{secrets.token_hex(3)}"
        try:
            path.mkdir()
            return Run(path)
        except FileExistsError:
            continue


# ---------------------------------------------------------------------------
# Reading runs back (dlexp report): never raises for a damaged folder
# ---------------------------------------------------------------------------


class RunRecord:
    """What one run folder says, read leniently: whatever is missing or damaged is
    noted in ``warnings`` instead of raising."""

    def __init__(self, path: Path, run_id: str, search: str | None = None):
        self.path = Path(path)
        self.id = run_id
        self.search = search  # the search's name, for a trial
        self.warnings: list[str] = []
        self.info: dict = {}
        self.metrics: dict = {}
        self.config: dict = {}
        self.history: list[dict] = []

    @property
    def trial(self) -> str | None:
        """The trial a search run belongs to (t007 for t007-r1)."""
        if self.search is None:
            return None
        return re.sub(r"-r\d+$", "", self.path.name)

    @property
    def status(self) -> str:
        status = self.info.get("status")
        if status is None:
            return "unknown"
        status = str(status)
        if status == "running" and self.stale():
            return "stale"
        return status

    def stale(self) -> bool:
        """A run that says running but whose files have not changed for an hour (its
        process was killed without a chance to say so)."""
        try:
            latest = max(p.stat().st_mtime for p in self.path.iterdir())
        except (OSError, ValueError):
            return True
        return time.time() - latest > 3600

    def metric(self, name: str) -> float | None:
        """``val_accuracy`` -> metrics.json's val.accuracy; ``params``, ``epochs_run``,
        ``best_epoch``; ``seconds`` from run.json. None when missing or not a finite number."""
        m = self.metrics
        if name in ("params", "epochs_run", "best_epoch"):
            value = m.get(name, self.info.get(name) if name == "params" else None)
        elif name == "seconds":
            value = self.info.get("duration_s")
        else:
            split, _, metric = name.partition("_")
            value = (m.get(split) or {}).get(metric) if split in ("train", "val", "test") else None
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            return None
        return value if math.isfinite(value) else None


def objective_key(name: str) -> str:
    """A logged metric's key among a run's final metrics: val_accuracy stays
    val_accuracy, loss becomes train_loss."""
    return name if name.startswith("val_") else f"train_{name}"


def aggregate(records: list[RunRecord], keys: list[str]) -> tuple[dict, dict]:
    """Each key's mean over the records that have it, and its standard deviation when
    there are several records (None where fewer than two have a value)."""
    import statistics

    means: dict[str, float | None] = {}
    stds: dict[str, float | None] = {}
    for key in keys:
        values = [v for v in (r.metric(key) for r in records) if v is not None]
        means[key] = statistics.fmean(values) if values else None
        if len(records) > 1:
            stds[key] = statistics.stdev(values) if len(values) > 1 else None
    return means, stds


def metric_keys(records: list[RunRecord]) -> list[str]:
    """train_loss, train_accuracy, ..., val_..., test_...: the final metrics present."""
    names = [f"{split}_{m}" for r in records for split in ("train", "val", "test")
             for m in (r.metrics.get(split) or {})]  # fmt: skip
    return list(dict.fromkeys(names))


def _float(text: str | None) -> float | None:
    if text in (None, ""):
        return None
    try:
        value = float(text)
    except ValueError:
        return None
    return value if math.isfinite(value) else None


def _read_json_leniently(record: RunRecord, name: str) -> dict:
    path = record.path / name
    if not path.exists():
        return {}
    try:
        value = read_json(path)
    except (OSError, ValueError, UnicodeDecodeError) as exc:
        record.warnings.append(f"{name} is damaged ({type(exc).__name__})")
        return {}
    if not isinstance(value, dict):
        record.warnings.append(f"{name} is not a JSON object")
        return {}
    return value


def _read_history(record: RunRecord) -> list[dict]:
    path = record.path / "history.csv"
    if not path.exists():
        return []
    rows = []
    try:
        with open(path, newline="", encoding="utf-8") as f:
            for row in csv.DictReader(f):
                rows.append({k: _float(v) for k, v in row.items()
                             if isinstance(k, str) and isinstance(v, str)})  # fmt: skip
    except (OSError, csv.Error, UnicodeDecodeError) as exc:
        record.warnings.append(f"history.csv is damaged ({type(exc).__name__})")
        return []
    if rows and "epoch" not in rows[0]:
        record.warnings.append("history.csv has no epoch column")
    return rows


def read_run(path: str | Path, run_id: str | None = None, search: str | None = None) -> RunRecord:
    """Read a run folder without raising: a damaged, half-written or older folder gives
    a record with warnings."""
    import yaml

    path = Path(path)
    record = RunRecord(path, run_id or path.name, search)
    record.info = _read_json_leniently(record, "run.json")
    record.metrics = _read_json_leniently(record, "metrics.json")
    for split in ("train", "val", "test"):
        if split in record.metrics and not isinstance(record.metrics[split], dict):
            record.warnings.append(f"metrics.json: {split} is not an object")
            del record.metrics[split]
    cfg_path = record.path / "config.yaml"
    if cfg_path.exists():
        try:
            cfg = yaml.safe_load(cfg_path.read_text(encoding="utf-8"))
            record.config = cfg if isinstance(cfg, dict) else {}
            if not isinstance(cfg, dict):
                record.warnings.append("config.yaml is not a mapping")
        except (OSError, yaml.YAMLError, UnicodeDecodeError) as exc:
            record.warnings.append(f"config.yaml is damaged ({type(exc).__name__})")
    else:
        record.warnings.append("config.yaml is missing")
    record.history = _read_history(record)
    if not record.info:
        if not any(w.startswith("run.json") for w in record.warnings):
            record.warnings.append("run.json is missing (an older dlexp, or a half-written run)")
    elif record.status in ("completed", "diverged") and not record.metrics:
        record.warnings.append("metrics.json is missing")
    elif record.status == "stale":
        record.warnings.append("says running, but nothing changed for an hour (killed?)")
    return record


def is_run_folder(path: Path) -> bool:
    return (path / "run.json").exists() or (path / "config.yaml").exists() and (
        (path / "metrics.json").exists() or (path / "history.csv").exists())


def is_report_folder(path: Path) -> bool:
    """A folder ``dlexp report`` wrote (its page and pictures), not runs."""
    return (path / "index.html").exists() and (path / "img").is_dir()


def discover(root: str | Path) -> tuple[list[RunRecord], dict[str, Path], list[str]]:
    """Every run and search trial under ``root`` (a runs folder, a search folder or one
    run folder), without following links twice into the same folder.

    Returns:
        (records, searches, warnings): run records; each search's name (its path
        under ``root``, or its folder name when ``root`` is the search) and folder;
        folders that could not be read.
    """
    root = Path(root).resolve()
    records: list[RunRecord] = []
    searches: dict[str, Path] = {}
    warnings: list[str] = []
    seen: set[Path] = set()

    def name_of(folder: Path) -> str:
        rel = folder.relative_to(root).as_posix()
        return folder.name if rel == "." else rel

    def children(folder: Path) -> list[Path]:
        try:
            return sorted(c for c in folder.iterdir()
                          if c.is_dir() and not c.name.startswith("."))  # fmt: skip
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
                records.append(read_run(trial, f"{name}/{trial.name}", search=name))
            return
        if is_run:
            records.append(read_run(folder, name_of(folder)))
            return
        if depth >= 4 or is_report_folder(folder):
            return
        for child in children(folder):
            visit(child, depth + 1)

    if root.is_dir():
        visit(root, 0)
    return records, searches, warnings
