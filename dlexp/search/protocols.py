"""What a search asks of the parts it is handed, as ``typing.Protocol``s: the trainer
that trains its trial runs (and the jobs and outcomes they exchange), the live view it
keeps up to date, and what the tuner reads of the searched space.

They are the search's to define, since the search is the one that calls them; their
implementations match them by shape and import nothing from here: ``dlexp.train``'s
``TrialTrainer`` and ``StackTrainer`` (with ``TrialJob`` and ``Outcome`` in
``dlexp.train.fit``), ``dlexp.cli.display.SearchView``, ``dlexp.search.space.Space``,
and a test's stand-ins. Nothing is imported here at run time.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    from dlexp.runs.folder import Run, Status


class Outcome(Protocol):
    """How one run ended, as a trainer reports it (``dlexp.train.fit.Outcome``)."""

    run: Run
    status: Status
    error: str | None
    machine: bool  # failed for lack of disk or memory: the search retries it


class Job(Protocol):
    """One run of a trial to train (``dlexp.train.fit.TrialJob``): its name in the search
    (``t007-r1``), its resolved config, the staged folder to train it in, and the calls
    a trainer makes as it goes."""

    name: str
    cfg: dict
    run: Run
    on_epoch: Callable[[int, dict], None] | None
    weights: Path | None  # Hyperband: continue from this saved model
    initial_epoch: int
    on_end: Callable[[Outcome], None] | None
    # the runs that ended together (a stack's), whose folders are published as one
    on_commit: Callable[[Sequence[tuple[Job, Outcome]]], None] | None

    def ended(self, outcome: Outcome) -> None: ...


class Trainer(Protocol):
    """Trains a list of runs, each into its ``job.run`` folder, calls ``job.on_commit``
    and then ``job.ended`` for each as soon as its folder is complete, and returns their
    outcomes. It stops early (fewer outcomes, or an interrupted one) on Ctrl-C. A run
    Keras refuses is a failed run."""

    def __call__(self, jobs: Sequence[Job]) -> list[Outcome]: ...


class LiveView(Protocol):
    """The search's live view: these calls are all the search makes of one."""

    def start(self, total: int | None, done: int) -> None: ...
    def trial_started(self, trial: str, worker: str) -> None: ...
    def trial_ended(self, trial: str, row: dict | None, best: dict | None) -> None: ...
    def epoch(self, trial: str, epoch: int, epochs: int) -> None: ...
    def stop(self) -> None: ...


class TrialSpace(Protocol):
    """What the tuner reads of the searched space (``dlexp.search.space.Space``)."""

    def check(self, trial) -> None:
        """Refuse a trial of another search (a worker that reached the wrong chief)."""

    def decode(self, hp_values: dict) -> dict:
        """A trial's keras-tuner values back to config values (dotted key -> value)."""
