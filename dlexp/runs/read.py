"""Reading run folders back (``dlexp report``, search results, ``dlexp diff``): a
damaged, half-written or older folder gives a record with warnings, never an exception.

No TensorFlow, Keras or JAX: ``dlexp report`` reads runs through this module.
"""

from __future__ import annotations

import csv
import math
import os
import socket
import statistics
import time
from pathlib import Path
from typing import TYPE_CHECKING

from dlexp.core.errors import ConfigError
from dlexp.core.files import read_json
from dlexp.runs.schema import Metrics, RunInfo, Status, trial_of

if TYPE_CHECKING:
    from dlexp.runs.cache import Index

STALE_AFTER_S = 3600
# how errors.describe begins the error of a run the machine failed (older run.json)
MACHINE_ERRORS = ("no space left on the device", "out of memory (")


class RunRecord:
    """What one run folder says, read leniently: whatever is missing or damaged is
    noted in ``warnings`` instead of raising."""

    def __init__(self, path: Path, run_id: str, search: str | None = None):
        self.path = Path(path)
        self.id = run_id
        self.search = search  # the search's name, for a trial
        self.name = self.path.name  # the run folder's name (a trial in flight: its own)
        self.warnings: list[str] = []
        # (file, problem) for each file present but unreadable: a warning to the report,
        # a refusal to commands that need the whole run (diff)
        self.damaged: list[tuple[str, str]] = []
        self.info: RunInfo | None = None  # None: no readable run.json
        self.metrics = Metrics()
        self.config: dict = {}
        self.history: list[dict] = []

    def damage(self, name: str, problem: str) -> None:
        """Note that file ``name`` is present but damaged (``problem`` says how)."""
        self.damaged.append((name, problem))
        self.warnings.append(f"{name} {problem}")

    @property
    def trial(self) -> str | None:
        """The trial a search run belongs to (t007 for t007-r1)."""
        return None if self.search is None else trial_of(self.name)

    @property
    def status(self) -> Status | str:
        status = self.info.status if self.info is not None else Status.UNKNOWN
        if status == Status.RUNNING and self.stale():
            return Status.STALE
        return status

    @property
    def machine_failed(self) -> bool:
        """Failed because of the machine (a full disk, no memory), not its config: a
        search does not count it as done. Older run.json files say so only in the error."""
        info = self.info
        if info is None or info.status != Status.FAILED:
            return False
        error = info.error if isinstance(info.error, str) else ""
        return info.fault == "machine" or error.startswith(MACHINE_ERRORS)

    def stale(self) -> bool:
        """A run that says running but was killed without a chance to say so: its
        process is gone (on this host), or its files have not changed for an hour."""
        info = self.info or RunInfo()
        if info.host == socket.gethostname() and isinstance(info.pid, int) and info.pid > 0:
            return not pid_alive(info.pid)
        try:
            latest = max(p.stat().st_mtime for p in self.path.iterdir())
        except (OSError, ValueError):
            return True
        return time.time() - latest > STALE_AFTER_S

    @property
    def stale_reason(self) -> str:
        info = self.info or RunInfo()
        if info.host == socket.gethostname() and isinstance(info.pid, int) and info.pid > 0:
            return f"says running, but its process ({info.pid}) is gone (killed?)"
        return "says running, but nothing changed for an hour (killed?)"

    def metric(self, name: str) -> float | None:
        """``val_accuracy`` -> metrics.json's val.accuracy; ``params``, ``epochs_run``,
        ``best_epoch``; ``seconds`` from run.json. None when missing or not a finite number."""
        info = self.info or RunInfo()
        if name == "seconds":
            value = info.duration_s
        else:
            value = self.metrics.value(name)
            if name == "params" and value is None:
                value = info.params
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            return None
        return value if math.isfinite(value) else None


def pid_alive(pid: int) -> bool:
    """Whether a process of this pid runs on this machine (a zombie, a child killed
    and not yet reaped, does not)."""
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:  # someone else's process: alive
        return True
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rpartition(")")[2].split()[0] != "Z"
    except OSError:
        return True


def _mean(values: list) -> float | int | None:
    """The mean; an integer where every value is one and so is the mean (37, not 37.0)."""
    if not values:
        return None
    mean = statistics.fmean(values)
    if all(isinstance(v, int) for v in values) and mean.is_integer():
        return int(mean)
    return mean


def aggregate(records: list[RunRecord], keys: list[str]) -> tuple[dict, dict]:
    """Each key's mean over the records that have it, and its standard deviation when
    there are several records (None where fewer than two have a value)."""
    means: dict[str, float | None] = {}
    stds: dict[str, float | None] = {}
    for key in keys:
        values = [v for v in (r.metric(key) for r in records) if v is not None]
        means[key] = _mean(values)
        if len(records) > 1:
            stds[key] = statistics.stdev(values) if len(values) > 1 else None
    return means, stds


def metric_keys(records: list[RunRecord]) -> list[str]:
    """train_loss, train_accuracy, ..., val_..., test_...: the final metrics present."""
    names = [
        f"{split}_{m}"
        for r in records
        for split, values in r.metrics.splits().items()
        for m in values
    ]
    return list(dict.fromkeys(names))


def _float(text: str | None) -> float | None:
    if text in (None, ""):
        return None
    try:
        value = float(text)
    except ValueError:
        return None
    return value if math.isfinite(value) else None


MAX_FILE_BYTES = 64 << 20  # a run folder's JSON or CSV file the report reads


def _too_large(record: RunRecord, path: Path) -> bool:
    try:
        size = path.stat().st_size
    except OSError:
        return False
    if size > MAX_FILE_BYTES or not path.is_file():
        record.damage(path.name, f"is not read ({size:,} bytes, or not a file)")
        return True
    return False


def _read_json_leniently(record: RunRecord, name: str) -> dict:
    path = record.path / name
    if not path.exists() or _too_large(record, path):
        return {}
    try:
        value = read_json(path)
    except (OSError, ValueError, UnicodeDecodeError) as exc:
        record.damage(name, f"is damaged ({type(exc).__name__})")
        return {}
    if not isinstance(value, dict):
        record.damage(name, "is not a JSON object")
        return {}
    return value


def _read_history(record: RunRecord) -> list[dict]:
    path = record.path / "history.csv"
    if not path.exists() or _too_large(record, path):
        return []
    rows = []
    try:
        with open(path, newline="", encoding="utf-8") as f:
            for row in csv.DictReader(f):
                rows.append(
                    {
                        k: _float(v)
                        for k, v in row.items()
                        if isinstance(k, str) and isinstance(v, str)
                    }
                )
    except (OSError, csv.Error, UnicodeDecodeError) as exc:
        record.damage("history.csv", f"is damaged ({type(exc).__name__})")
        return []
    if rows and "epoch" not in rows[0]:
        record.warnings.append("history.csv has no epoch column")
    return rows


def _read_files(record: RunRecord) -> dict:
    """Parse a run folder's files into ``record``; returns them as read (for the index)."""
    import yaml

    from dlexp.core import yamlio

    info = _read_json_leniently(record, "run.json")
    metrics = _read_json_leniently(record, "metrics.json")
    Metrics.from_json(metrics, record.warnings)  # its warnings, in the order of the files
    cfg_path = record.path / "config.yaml"
    cfg: dict = {}
    if cfg_path.exists():
        try:
            parsed = yamlio.parse(yamlio.read_text(cfg_path))
            cfg = parsed if isinstance(parsed, dict) else {}
            if not isinstance(parsed, dict):
                record.damage("config.yaml", "is not a mapping")
        except (ConfigError, yaml.YAMLError) as exc:
            record.damage("config.yaml", f"is damaged ({type(exc).__name__})")
    else:
        record.warnings.append("config.yaml is missing")
    history = _read_history(record)
    return {
        "info": info,
        "metrics": metrics,
        "config": cfg,
        "history": history,
        "warnings": list(record.warnings),
        "damaged": [list(d) for d in record.damaged],
    }


def read_run(
    path: str | Path,
    run_id: str | None = None,
    search: str | None = None,
    index: Index | None = None,
) -> RunRecord:
    """Read a run folder without raising: a damaged, half-written or older folder gives
    a record with warnings. With an ``index`` (:mod:`dlexp.runs.cache`), a folder whose
    files have not changed since it was last read is not parsed again."""
    path = Path(path)
    record = RunRecord(path, run_id or path.name, search)
    files = None
    if index is not None:
        sig, settled, files = index.get(path)
    if files is None:
        files = _read_files(record)
        if index is not None and settled:
            index.put(path, sig, files)
    else:
        record.warnings = list(files["warnings"])
        record.damaged = [tuple(d) for d in files["damaged"]]
    info = files["info"]
    record.info = RunInfo.from_json(info) if info else None
    record.metrics = Metrics.from_json(files["metrics"])  # its warnings were noted in files
    record.config = files["config"]
    record.history = files["history"]
    if record.info is None:
        if not any(w.startswith("run.json") for w in record.warnings):
            record.warnings.append("run.json is missing (an older dlexp, or a half-written run)")
    elif record.status in (Status.COMPLETED, Status.DIVERGED) and record.metrics.empty:
        record.warnings.append("metrics.json is missing")
    elif record.status == Status.STALE:
        record.warnings.append(record.stale_reason)
    return record
