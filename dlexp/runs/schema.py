"""The run folder's schema: what ``run.json`` and ``metrics.json`` hold (``RunInfo``,
``Metrics``), what a run's status means (``Status``), which way a metric is better
(``direction``) and how search trials and their repeats are named.

Plain data and names: no file is read or written here (``dlexp.runs.folder`` writes a
run folder, ``dlexp.runs.read`` reads one back), and no TensorFlow, Keras or JAX.
"""

from __future__ import annotations

import dataclasses
import enum
import functools
import platform
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime, timezone
from importlib import metadata
from typing import Any, TypeVar

SPLITS = ("train", "val", "test")


class TextEnum(str, enum.Enum):
    """An enum that is its text: equal to it, hashed as it, printed and formatted as it
    (so a status reads and writes as the plain word files and tables hold)."""

    __hash__ = str.__hash__

    def __str__(self) -> str:
        return self.value

    def __format__(self, spec: str) -> str:
        return format(self.value, spec)


class Status(TextEnum):
    """How a run stands. The first six are written to run.json; the last three are
    what a reader says of a folder that cannot say it itself."""

    RUNNING = "running"
    COMPLETED = "completed"
    DIVERGED = "diverged"  # the loss became NaN or infinite
    FAILED = "failed"  # an exception, or a config Keras refused
    INTERRUPTED = "interrupted"  # Ctrl-C or SIGTERM
    PRUNED = "pruned"  # stopped by a search's pruner: worse than its peers at the same epoch
    UNKNOWN = "unknown"  # run.json is missing or says nothing
    STALE = "stale"  # says running, but nothing changed for an hour (killed)
    INCOMPLETE = "incomplete"  # a trial some of whose repeats have no folder yet

    @property
    def finished(self) -> bool:
        """Ended in a way a rerun would only repeat (completed, diverged, failed,
        pruned): a search does not train such a run again. An interrupted run is not
        finished."""
        return self in (Status.COMPLETED, Status.DIVERGED, Status.FAILED, Status.PRUNED)

    @property
    def exit_code(self) -> int:
        """0 completed (or pruned, as a search meant), 130 interrupted, 1 anything else."""
        return {Status.COMPLETED: 0, Status.PRUNED: 0, Status.INTERRUPTED: 130}.get(self, 1)

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


ERRORS = ("mae", "rmse", "mse")  # regression's errors, by the names dlexp logs them under


def direction(metric: str) -> str:
    """'min' for a loss or an error (lower is better: ``val_loss``, ``test_rmse``,
    ``mae``), 'max' for the rest (``accuracy``, ``r2``)."""
    base = metric.rsplit("_", 1)[-1] if "_" in metric else metric
    return "min" if "loss" in metric or "error" in metric or base in ERRORS else "max"


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
    """Versions of Python and of the libraries a run depends on (read without importing,
    once per process: a search's thousand runs do not read them a thousand times)."""
    out = dict(_installed())
    if backend:
        out["keras_backend"] = backend
    return out


@functools.cache
def _installed() -> tuple[tuple[str, str | None], ...]:
    out: dict[str, str | None] = {"python": platform.python_version()}
    for dist in VERSIONED:
        try:
            out[dist] = metadata.version(dist)
        except metadata.PackageNotFoundError:
            out[dist] = None
    return tuple(out.items())


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
