"""The run folder: its schema, its names, writing it and reading it back.

A run folder holds ``config.yaml``, ``run.json``, ``history.csv``, ``metrics.json``,
``model.keras`` and, for 2D data, ``boundary.npz``; every file is written atomically
(``dlexp.core.files``). This module is the one place that knows what ``run.json`` and
``metrics.json`` hold (``RunInfo``, ``Metrics``), what a run's status means
(``Status``), which way a metric is better (``direction``) and how search trials and
their repeats are named. No TensorFlow here: ``dlexp report`` reads runs through it.
"""

from __future__ import annotations

import csv
import dataclasses
import enum
import io
import math
import os
import platform
import re
import secrets
import socket
import statistics
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime, timezone
from importlib import metadata
from pathlib import Path
from typing import Any, TypeVar

from dlexp.core.errors import ConfigError
from dlexp.core.files import atomic_path, atomic_write, read_json, write_csv, write_json

SPLITS = ("train", "val", "test")
STALE_AFTER_S = 3600
# how errors.describe begins the error of a run the machine failed (older run.json)
MACHINE_ERRORS = ("no space left on the device", "out of memory (")


class TextEnum(str, enum.Enum):
    """An enum that is its text: equal to it, hashed as it, printed and formatted as it
    (so a status reads and writes as the plain word files and tables hold)."""

    __hash__ = str.__hash__

    def __str__(self) -> str:
        return self.value

    def __format__(self, spec: str) -> str:
        return format(self.value, spec)


class Status(TextEnum):
    """How a run stands. The first five are written to run.json; the last three are
    what a reader says of a folder that cannot say it itself."""

    RUNNING = "running"
    COMPLETED = "completed"
    DIVERGED = "diverged"  # the loss became NaN or infinite
    FAILED = "failed"  # an exception, or a config Keras refused
    INTERRUPTED = "interrupted"  # Ctrl-C or SIGTERM
    UNKNOWN = "unknown"  # run.json is missing or says nothing
    STALE = "stale"  # says running, but nothing changed for an hour (killed)
    INCOMPLETE = "incomplete"  # a trial some of whose repeats have no folder yet

    @property
    def finished(self) -> bool:
        """Ended in a way a rerun would only repeat (completed, diverged, failed): a
        search does not train such a run again. An interrupted run is not finished."""
        return self in (Status.COMPLETED, Status.DIVERGED, Status.FAILED)

    @property
    def exit_code(self) -> int:
        """0 completed, 130 interrupted, 1 anything else."""
        return {Status.COMPLETED: 0, Status.INTERRUPTED: 130}.get(self, 1)

    @classmethod
    def read(cls, value: Any) -> Status | str:
        """A status as a file gives it: a Status, or the odd value as text."""
        if value is None:
            return cls.UNKNOWN
        try:
            return cls(str(value))
        except ValueError:
            return str(value)


def group_status(statuses: Iterable[Status | str]) -> Status | str:
    """The status of a group of runs (a trial's repeats): the first that did not
    complete, else completed."""
    return next((s for s in statuses if s != Status.COMPLETED), Status.COMPLETED)


def is_finished(status: Status | str) -> bool:
    """``Status.finished`` for any status read from a file (odd text is not finished)."""
    return isinstance(status, Status) and status.finished


# ---------------------------------------------------------------------------
# Metrics: names, which way is better, ranking
# ---------------------------------------------------------------------------


def direction(metric: str) -> str:
    """'min' for a loss or an error (lower is better), 'max' for the rest."""
    return "min" if "loss" in metric or "error" in metric else "max"


def objective_key(name: str) -> str:
    """A logged metric's key among a run's final metrics: val_accuracy stays
    val_accuracy, loss becomes train_loss."""
    return name if name.startswith("val_") else f"train_{name}"


T = TypeVar("T")


def rank(items: Iterable[T], score: Callable[[T], float | None], direction: str) -> list[T]:
    """The items that have a score, best first (``direction`` 'max' or 'min'); ties keep
    their order."""
    scored = [item for item in items if score(item) is not None]
    return sorted(scored, key=score, reverse=direction == "max")


# ---------------------------------------------------------------------------
# Names: run folders, search trials and their repeats
# ---------------------------------------------------------------------------


def slug(name: str) -> str:
    """A name made safe for a folder name."""
    return re.sub(r"[^A-Za-z0-9_.-]+", "-", name).strip("-.") or "run"


def trial_width(n_trials: int) -> int:
    """Digits in a trial's number: at least 3 (t007), more for larger searches."""
    return max(3, len(str(max(n_trials - 1, 0))))


def trial_name(index: int, width: int = 3) -> str:
    """The folder name of trial ``index``: t007."""
    return f"t{index:0{width}d}"


def run_names(trial: str, repeats: int = 1, folds: int | None = None) -> list[str]:
    """The run folders of one trial: the trial itself, one per repeat (t007-r0, ...) or
    one per cross-validation fold (t007-f0, ...)."""
    if folds:
        return [f"{trial}-f{k}" for k in range(folds)]
    if repeats == 1:
        return [trial]
    return [f"{trial}-r{r}" for r in range(repeats)]


_REPEAT = re.compile(r"-[rf]\d+$")


def trial_of(run_name: str) -> str:
    """The trial a run folder belongs to: t007 for t007-r1 or t007-f1 (and for t007)."""
    return _REPEAT.sub("", run_name)


# ---------------------------------------------------------------------------
# run.json and metrics.json
# ---------------------------------------------------------------------------


def now_iso() -> str:
    return datetime.now(timezone.utc).astimezone().isoformat(timespec="seconds")


VERSIONED = (
    "dlexp",
    "keras",
    "tensorflow",
    "jax",
    "jaxlib",
    "keras-tuner",
    "numpy",
    "scikit-learn",
)


def versions(backend: str | None = None) -> dict[str, str | None]:
    """Versions of Python and of the libraries a run depends on (read without importing)."""
    out: dict[str, str | None] = {"python": platform.python_version()}
    for dist in VERSIONED:
        try:
            out[dist] = metadata.version(dist)
        except metadata.PackageNotFoundError:
            out[dist] = None
    if backend:
        out["keras_backend"] = backend
    return out


def _fields_json(record, skip: Callable[[str, Any], bool]) -> dict:
    """A record's fields as a JSON object in their order, less those ``skip(key, value)``
    names, then its ``extra`` keys (kept from the file it was read from)."""
    out = {}
    for f in dataclasses.fields(record):
        value = getattr(record, f.name)
        if f.name != "extra" and not skip(f.name, value):
            out[f.name] = value
    return {**out, **record.extra}


def _known(cls, data: dict) -> tuple[dict, dict]:
    """A JSON object split into the fields ``cls`` knows and the rest."""
    names = {f.name for f in dataclasses.fields(cls)} - {"extra"}
    return {k: v for k, v in data.items() if k in names}, {
        k: v for k, v in data.items() if k not in names
    }


@dataclass
class RunInfo:
    """run.json: who ran what, when, and how it ended.

    Read back leniently: values are kept as the file gives them (an older or damaged
    file may hold anything), and keys this version does not know stay in ``extra``.
    """

    id: str | None = None
    name: str | None = None
    status: Status | str = Status.RUNNING
    started: str | None = None
    ended: str | None = None
    duration_s: float | None = None
    seed: int | None = None
    command: list[str] | None = None
    worker: str | None = None  # the search worker (KERASTUNER_TUNER_ID) that trained it
    host: str | None = None  # where its process ran, and the process: a run that says
    pid: int | None = None  # running while its process is gone was killed
    versions: dict | None = None
    error: str | None = None
    params: int | None = None
    widths: list[int] | None = None
    output: dict | None = None  # the output layer: units, activation, loss
    data: dict | None = None  # split sizes, features and classes
    traceback: str | None = None  # of a failed run
    stack: dict | None = None  # trained with others: the stack's group, size, seconds
    # "machine": it failed for lack of disk or memory, not for its config (a search
    # trains it again when resumed)
    fault: str | None = None
    extra: dict = field(default_factory=dict)

    # Written only when set: the model and data a run had once it was built.
    _OPTIONAL = (
        "host",
        "pid",
        "params",
        "widths",
        "output",
        "data",
        "traceback",
        "stack",
        "fault",
    )

    def to_json(self) -> dict:
        """The object run.json holds, its keys in the order of the fields."""
        running = self.status == Status.RUNNING
        return _fields_json(
            self, lambda k, v: (k in self._OPTIONAL and v is None) or (k == "error" and running)
        )

    @classmethod
    def from_json(cls, data: dict) -> RunInfo:
        known, extra = _known(cls, data)
        known["status"] = Status.read(data.get("status"))
        return cls(**known, extra=extra)


@dataclass
class Metrics:
    """metrics.json: the final metrics of a run, with how its training went.

    ``train``, ``val`` and ``test`` map each metric (``loss``, ``accuracy``, ...) to its
    value on that split, with the final weights (or the restored best ones).
    """

    params: int | None = None
    epochs_run: int | None = None
    best_epoch: int | None = None
    stopped_early: bool | None = None
    monitor: str | None = None
    fit_seconds: float | None = None
    train: dict | None = None
    val: dict | None = None
    test: dict | None = None
    extra: dict = field(default_factory=dict)

    def to_json(self) -> dict:
        """The object metrics.json holds: a split only when it was evaluated."""
        return _fields_json(self, lambda k, v: k in SPLITS and v is None)

    @classmethod
    def from_json(cls, data: dict, warnings: list[str] | None = None) -> Metrics:
        known, extra = _known(cls, data)
        for split in SPLITS:
            if split in known and not isinstance(known[split], dict):
                if warnings is not None:
                    warnings.append(f"metrics.json: {split} is not an object")
                del known[split]
        return cls(**known, extra=extra)

    @property
    def empty(self) -> bool:
        """Nothing known: no metrics.json, or one that says nothing."""
        return self == Metrics()

    def splits(self) -> dict[str, dict]:
        """train, val and test, those present."""
        return {s: getattr(self, s) for s in SPLITS if getattr(self, s) is not None}

    def value(self, name: str) -> Any:
        """``val_accuracy`` -> val.accuracy; ``params``, ``epochs_run``, ``best_epoch``."""
        if name in ("params", "epochs_run", "best_epoch"):
            return getattr(self, name)
        split, _, metric = name.partition("_")
        return (self.splits().get(split) or {}).get(metric)


# ---------------------------------------------------------------------------
# Writing a run folder
# ---------------------------------------------------------------------------


class Run:
    """One run folder and the files in it, each written atomically."""

    def __init__(self, path: str | Path, run_id: str | None = None):
        self.path = Path(path)
        # A search trial is trained in a temporary folder and renamed when it ends:
        # its id is the final name, not the temporary one.
        self.id = run_id or self.path.name

    def file(self, name: str) -> Path:
        return self.path / name

    def write_json(self, name: str, obj: Any) -> None:
        write_json(self.file(name), obj)

    def write_text(self, name: str, text: str) -> None:
        atomic_write(self.file(name), text)

    def write_csv(self, name: str, rows: list[dict], columns: list[str] | None = None) -> None:
        write_csv(self.file(name), rows, columns)

    def write_config(self, cfg: dict) -> None:
        from dlexp.core import yamlio

        self.write_text("config.yaml", yamlio.dump(cfg))

    def write_info(self, info: RunInfo) -> None:
        self.write_json("run.json", info.to_json())

    def write_metrics(self, metrics: Metrics) -> None:
        self.write_json("metrics.json", metrics.to_json())

    def save_npz(self, name: str, **arrays: Any) -> None:
        """Arrays as an .npz file (np.load reads it), compressed at zlib's fastest level:
        about a third of np.savez_compressed's time for almost the same size."""
        import zipfile

        import numpy as np

        buf = io.BytesIO()
        with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED, compresslevel=1) as zf:
            for key, value in arrays.items():
                with zf.open(f"{key}.npy", "w") as f:
                    np.lib.format.write_array(f, np.asanyarray(value), allow_pickle=False)
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
        raise ConfigError(
            f"cannot create {str(runs_dir)!r} ({exc.strerror})", "--runs-dir"
        ) from None
    stamp = time.strftime("%Y%m%d-%H%M%S")
    while True:
        path = runs_dir / f"{stamp}-{slug(name)[:64]}-{secrets.token_hex(3)}"
        try:
            path.mkdir()
            return Run(path)
        except FileExistsError:
            continue
        except OSError as exc:
            raise ConfigError(
                f"cannot make a run folder in {str(runs_dir)!r} ({exc.strerror})", "--runs-dir"
            ) from None


def write_failed(run: Run, cfg: dict | None, error: str) -> None:
    """A run that could not even start (Keras refused its config): a folder that says
    so, so that a search lists it and does not retry it forever."""
    if cfg is not None:
        run.write_config(cfg)
    now = now_iso()
    run.write_info(
        RunInfo(
            id=run.id,
            name=(cfg or {}).get("name"),
            status=Status.FAILED,
            started=now,
            ended=now,
            duration_s=0,
            seed=(cfg or {}).get("seed"),
            versions=versions(),
            error=error,
        )
    )
    run.write_metrics(Metrics())


# ---------------------------------------------------------------------------
# Reading runs back (dlexp report, search results): never raises for a damaged folder
# ---------------------------------------------------------------------------


class RunRecord:
    """What one run folder says, read leniently: whatever is missing or damaged is
    noted in ``warnings`` instead of raising."""

    def __init__(self, path: Path, run_id: str, search: str | None = None):
        self.path = Path(path)
        self.id = run_id
        self.search = search  # the search's name, for a trial
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
        return None if self.search is None else trial_of(self.path.name)

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
            return not _alive(info.pid)
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


def _alive(pid: int) -> bool:
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


def read_run(path: str | Path, run_id: str | None = None, search: str | None = None) -> RunRecord:
    """Read a run folder without raising: a damaged, half-written or older folder gives
    a record with warnings."""
    import yaml

    from dlexp.core import yamlio

    path = Path(path)
    record = RunRecord(path, run_id or path.name, search)
    info = _read_json_leniently(record, "run.json")
    record.info = RunInfo.from_json(info) if info else None
    record.metrics = Metrics.from_json(
        _read_json_leniently(record, "metrics.json"), record.warnings
    )
    cfg_path = record.path / "config.yaml"
    if cfg_path.exists():
        try:
            cfg = yamlio.parse(yamlio.read_text(cfg_path))
            record.config = cfg if isinstance(cfg, dict) else {}
            if not isinstance(cfg, dict):
                record.damage("config.yaml", "is not a mapping")
        except (ConfigError, yaml.YAMLError) as exc:
            record.damage("config.yaml", f"is damaged ({type(exc).__name__})")
    else:
        record.warnings.append("config.yaml is missing")
    record.history = _read_history(record)
    if record.info is None:
        if not any(w.startswith("run.json") for w in record.warnings):
            record.warnings.append("run.json is missing (an older dlexp, or a half-written run)")
    elif record.status in (Status.COMPLETED, Status.DIVERGED) and record.metrics.empty:
        record.warnings.append("metrics.json is missing")
    elif record.status == Status.STALE:
        record.warnings.append(record.stale_reason)
    return record
