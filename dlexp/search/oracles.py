"""keras-tuner oracles with what dlexp adds: a planned oracle that keeps every worker
busy, state written atomically, hooks for the live view, and leases: a trial handed
to a worker that dies, or goes silent for a lease, is handed to another, and a late
report of it is ignored.

Leases travel in keras-tuner's own gRPC calls (no new messages): a worker names
itself in the trial id it sends, ``0003@worker1`` (``held_by``), so the chief can
tell the worker holding a trial from one whose lease has gone; ``GetTrial`` of
``dlexp:beat:worker1`` renews the leases of worker1 and its stack's slot ids
(``worker1+1``, ...), and ``GetTrial`` of ``dlexp:hello:worker1`` (sent as a worker
starts, and as it gives up) hands their trials back to the queue at once.
"""

from __future__ import annotations

import contextlib
import shutil
import sys
import time
from collections.abc import Callable
from pathlib import Path

import keras_tuner as kt

from dlexp.search import compat
from dlexp.search.plan import Plan
from dlexp.search.space import FINGERPRINT, Space
from dlexp.search.spec import SearchSpec, point_key


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


HELLO = "dlexp:hello:"  # GetTrial(HELLO + id): hand back every trial of id and its slots
BEAT = "dlexp:beat:"  # GetTrial(BEAT + id): renew the leases of id and its slots


def held_by(trial_id: str, tuner_id: str) -> str:
    """The trial id a worker sends: the trial and who holds it."""
    return f"{trial_id}@{tuner_id}"


def _parse(trial_id: str) -> tuple[str, str | None]:
    """(trial id, the tuner id that sent it or None for a plain keras-tuner id)."""
    trial, _, tuner = trial_id.partition("@")
    return trial, (tuner or None)


def slots_of(tuner_id: str, ids) -> list[str]:
    """The ids among ``ids`` that are ``tuner_id`` or one of its stack's slot ids."""
    return [t for t in ids if t == tuner_id or t.startswith(f"{tuner_id}+")]


class _OracleMixin(compat.AtomicStateMixin):
    """What dlexp adds to any keras-tuner oracle."""

    hooks: Hooks

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._renewed: dict[str, float] = {}  # trial id -> when its holder last spoke

    @kt.synchronized
    def create_trial(self, tuner_id):
        trial = super().create_trial(tuner_id)
        if trial.status == "RUNNING":
            self._renewed[trial.trial_id] = time.monotonic()
            self.hooks.started(trial, tuner_id)
        return trial

    def _holder(self, trial_id: str) -> str | None:
        return next((t for t, tr in self.ongoing_trials.items() if tr.trial_id == trial_id), None)

    def _accepted(self, trial_id: str) -> str | None:
        """The oracle's id of a trial a worker reports, or None when the worker no longer
        holds it (its lease went and the trial was handed back, or this chief never
        handed it out: a chief restarted since)."""
        trial, tuner = _parse(trial_id)
        if tuner is None:  # a plain keras-tuner worker: trusted as before
            return trial if trial in self.trials else None
        if trial not in self.trials or self._holder(trial) != tuner:
            return None
        self._renewed[trial] = time.monotonic()
        return trial

    def _gone(self, trial_id: str):
        """What a worker is told of a trial it no longer holds."""
        return kt.engine.trial.Trial(self.get_space(), trial_id=trial_id, status="STOPPED")

    @kt.synchronized
    def get_trial(self, trial_id):
        """keras-tuner's GetTrial, which also carries a worker's heartbeat, hello and
        lease checks: a trial it holds comes back RUNNING, one it lost STOPPED."""
        if trial_id.startswith(BEAT):
            now = time.monotonic()
            for tuner in slots_of(trial_id[len(BEAT) :], self.ongoing_trials):
                self._renewed[self.ongoing_trials[tuner].trial_id] = now
            return self._gone("")
        if trial_id.startswith(HELLO):
            self.release(trial_id[len(HELLO) :])
            return self._gone("")
        accepted = self._accepted(trial_id)
        if accepted is None:
            return self._gone(_parse(trial_id)[0])
        return super().get_trial(accepted)

    @kt.synchronized
    def update_trial(self, trial_id, metrics, step=0):
        accepted = self._accepted(trial_id)
        if accepted is None:  # a late report: ignored, never recorded twice
            return self._gone(_parse(trial_id)[0])
        return super().update_trial(accepted, metrics, step=step)

    @kt.synchronized
    def end_trial(self, trial):
        accepted = self._accepted(trial.trial_id)
        if accepted is None:  # a late report: ignored
            return
        trial.trial_id = accepted
        self._trial_ended(trial)
        super().end_trial(trial)
        self._renewed.pop(accepted, None)
        self.hooks.ended(self.trials[accepted])

    def _trial_ended(self, trial) -> None:
        """What a subclass records of a trial that ended (before keras-tuner's own)."""

    @kt.synchronized
    def release(self, tuner_id: str) -> list[str]:
        """A worker died, restarted or gave up: the trials held under its id and its
        stack's slot ids go back to the queue for another worker.

        Returns:
            The tuner ids that held a trial.
        """
        held = slots_of(tuner_id, self.ongoing_trials)
        for tuner in slots_of(tuner_id, set(self.tuner_ids) | set(self.ongoing_trials)):
            compat.requeue(self, tuner)
        if held:
            self.save()
        return held

    @kt.synchronized
    def expire(self, lease_s: float) -> list[str]:
        """Hand back the trials whose holder has not spoken for ``lease_s`` seconds.

        Returns:
            The tuner ids whose trials went back to the queue.
        """
        now = time.monotonic()
        late = [
            tuner
            for tuner, trial in self.ongoing_trials.items()
            if now - self._renewed.setdefault(trial.trial_id, now) > lease_s
        ]
        # a worker's stack goes silent as one (its beat renews every slot): all of it
        # goes back together, in order, rather than slot by slot over two sweeps
        workers = {tuner.partition("+")[0] for tuner in late}
        late = [tuner for tuner in self.ongoing_trials if tuner.partition("+")[0] in workers]
        for tuner in late:
            compat.requeue(self, tuner)
        if late:
            self.save()
        return late

    @kt.synchronized
    def idle(self) -> bool:
        """Nothing running and nothing waiting to run again."""
        return not self.ongoing_trials and not compat.retries_waiting(self)

    def finished(self) -> bool:
        return False


class PlannedOracle(_OracleMixin, kt.Oracle):
    """Hands out a fixed list of points, skipping the finished ones, to whoever asks;
    IDLE only once every point is handed out and some are still held by workers, so
    that a trial handed back when its worker dies finds a worker that waits for it.
    keras-tuner's GridSearchOracle hands out one point at a time after the first two."""

    SAVE_EVERY_S = 2.0  # oracle.json, rewritten whole (every trial's id), at most this often

    def __init__(self, space: Space, plan: Plan, done: set[int], hooks: Hooks, **kwargs):
        super().__init__(**kwargs)
        self.space, self.plan, self.hooks = space, plan, hooks
        self.done = set(done)
        self._next = 0
        self._saved_at = -self.SAVE_EVERY_S

    def save(self, force: bool = False):
        """keras-tuner's oracle.json, at most every SAVE_EVERY_S (``force``: now). A
        planned search never reads it back (the trial folders say what is done), and
        writing it after each of a thousand trials cost O(trials**2)."""
        now = time.monotonic()
        if force or now - self._saved_at >= self.SAVE_EVERY_S:
            super().save()
            self._saved_at = now

    def populate_space(self, trial_id):
        points = self.plan.points
        while self._next < len(points) and self._next in self.done:
            self._next += 1
        if self._next >= len(points):
            # nothing left to hand out; while another worker holds a trial, wait: it
            # comes back to the queue if that worker dies or goes silent for a lease
            return {"status": "IDLE" if self.ongoing_trials else "STOPPED"}
        values = self.space.encode(points[self._next])
        values[FINGERPRINT] = self.space.fingerprint
        self._next += 1
        return {"status": "RUNNING", "values": values}

    def _trial_ended(self, trial) -> None:
        values = self.space.decode(self.trials[trial.trial_id].hyperparameters.values)
        self.done.add(self.plan.index[point_key(values)])

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
