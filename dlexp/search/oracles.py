"""keras-tuner oracles with what dlexp adds: a planned oracle that keeps every worker
busy, state written atomically, hooks for the live view, and a dead worker's trial
handed to another."""

from __future__ import annotations

import contextlib
import shutil
import sys
from collections.abc import Callable
from pathlib import Path

import keras_tuner as kt

from dlexp.grid import SearchSpec, point_key
from dlexp.search import compat
from dlexp.search.plan import Plan
from dlexp.search.space import FINGERPRINT, Space


class Hooks:
    """What the chief (or the single process) does when a trial starts or ends.
    A hook that fails is reported, never raised: it runs inside keras-tuner's lock,
    which an exception would leave held."""

    def __init__(self, trial_name: Callable[[object], str]):
        self.trial_name = trial_name
        self.on_start: Callable[[str, str], None] = lambda trial, tuner_id: None
        self.on_end: Callable[[str], None] = lambda trial: None

    def started(self, trial, tuner_id: str) -> None:
        self._safely(lambda: self.on_start(self.trial_name(trial), tuner_id))

    def ended(self, trial) -> None:
        self._safely(lambda: self.on_end(self.trial_name(trial)))

    @staticmethod
    def _safely(call) -> None:
        try:
            call()
        except Exception as exc:  # noqa: BLE001 - reported, and the search goes on
            print(f"dlexp: warning: {type(exc).__name__}: {exc}", file=sys.stderr)


class _OracleMixin(compat.AtomicStateMixin):
    """What dlexp adds to any keras-tuner oracle."""

    hooks: Hooks

    @kt.synchronized
    def create_trial(self, tuner_id):
        trial = super().create_trial(tuner_id)
        if trial.status == "RUNNING":
            self.hooks.started(trial, tuner_id)
        return trial

    @kt.synchronized
    def end_trial(self, trial):
        super().end_trial(trial)
        self.hooks.ended(self.trials[trial.trial_id])

    @kt.synchronized
    def requeue(self, tuner_id: str) -> None:
        """A worker died: its trial goes back to the queue for another worker."""
        compat.requeue(self, tuner_id)

    @kt.synchronized
    def idle(self) -> bool:
        """Nothing running and nothing waiting to run again."""
        return not self.ongoing_trials and not compat.retries_waiting(self)

    def finished(self) -> bool:
        return False


class PlannedOracle(_OracleMixin, kt.Oracle):
    """Hands out a fixed list of points, skipping the finished ones, to whoever asks;
    never IDLE (which makes workers spin). keras-tuner's GridSearchOracle hands out one
    point at a time after the first two."""

    def __init__(self, space: Space, plan: Plan, done: set[int], hooks: Hooks, **kwargs):
        super().__init__(**kwargs)
        self.space, self.plan, self.hooks = space, plan, hooks
        self.done = set(done)
        self._next = 0

    def populate_space(self, trial_id):
        points = self.plan.points
        while self._next < len(points) and self._next in self.done:
            self._next += 1
        if self._next >= len(points):
            return {"status": "STOPPED"}
        values = self.space.encode(points[self._next])
        values[FINGERPRINT] = self.space.fingerprint
        self._next += 1
        return {"status": "RUNNING", "values": values}

    @kt.synchronized
    def end_trial(self, trial):
        values = self.space.decode(self.trials[trial.trial_id].hyperparameters.values)
        self.done.add(self.plan.index[point_key(values)])
        super().end_trial(trial)

    def finished(self) -> bool:
        return len(self.done) >= len(self.plan.points)


class BayesianOracle(_OracleMixin, kt.oracles.BayesianOptimizationOracle):
    """keras-tuner's Bayesian optimisation, with dlexp's additions."""


class HyperbandOracle(_OracleMixin, kt.oracles.HyperbandOracle):
    """keras-tuner's Hyperband, with dlexp's additions."""


def make_oracle(
    spec: SearchSpec,
    space: Space,
    plan: Plan,
    done: set[int],
    hooks: Hooks,
    state_dir: Path | None = None,
):
    """The search's oracle. With ``state_dir`` (the chief, or the single process) its
    state lives there: cleared for a planned search (the trial folders say what is
    done), reloaded to resume an adaptive one. Workers pass None: their oracle is
    keras-tuner's client of the chief's."""
    kwargs = dict(
        objective=space.objective(),
        hyperparameters=space.served(),
        tune_new_entries=False,
        allow_new_entries=False,
        max_consecutive_failed_trials=10**9,
    )
    if spec.planned:
        oracle = PlannedOracle(space, plan, done, hooks, **kwargs)
    elif spec.tuner == "hyperband":
        oracle = HyperbandOracle(
            max_epochs=spec.base["train"]["epochs"], factor=spec.factor, **kwargs
        )
    else:
        oracle = BayesianOracle(max_trials=spec.max_trials, **kwargs)
    if not spec.planned:
        oracle.hooks = hooks
        compat.seed_oracle(oracle, spec.seed)
    oracle.verbose = 0
    if state_dir is not None:
        if spec.planned and state_dir.exists():
            shutil.rmtree(state_dir)
        compat.set_project_dir(oracle, state_dir.parent, state_dir.name)
        if not spec.planned and (state_dir / "oracle.json").exists():
            with contextlib.redirect_stdout(sys.stderr):  # keras-tuner prints "Reloading"
                oracle.reload()
    return oracle
