"""The trial runner: keras-tuner's BaseTuner, each trial trained by a trainer handed to
the search (``dlexp.train.fit.TrialTrainer`` one run at a time,
``dlexp.train.stack.StackTrainer`` many together, or a test's stand-in; see
``protocols.Trainer``).

With a stack of 1 the loop is keras-tuner's own: one trial asked for, trained and
reported at a time. With a larger stack, ``search`` asks the oracle for up to that
many trials at once, as that many workers would (each under its own tuner id),
trains all their runs in one call to the trainer, and reports each trial to the
oracle as soon as its runs have ended.

The runner is handed what it uses of the search: its spec, its folder (the store), the
searched space and the trial names; it knows nothing of ``engine.Search``.
"""

from __future__ import annotations

import contextlib
import math
import statistics
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import keras_tuner as kt

from dlexp.core.errors import ConfigError, MachineFault, describe, machine_fault
from dlexp.runs import folder as runs
from dlexp.search import compat
from dlexp.search.naming import TrialNames
from dlexp.search.protocols import Job, Outcome, Trainer, TrialSpace
from dlexp.search.spec import SearchSpec
from dlexp.search.store import SearchStore
from dlexp.train.fit import TrialJob


class MachineStop(MachineFault, kt.errors.FatalError):
    """A run failed for lack of disk or memory: the search stops (keras-tuner's loop
    lets a FatalError through), leaving the trial unreported, to be retried."""


@dataclass
class _Pending:
    """A trial being trained: its runs not yet ended."""

    trial: object
    names: list[str]
    waiting: set[str] = field(default_factory=set)
    lost: bool = False  # handed to another worker meanwhile: not published, not reported


class TrialRunner(kt.engine.base_tuner.BaseTuner):
    """Runs keras-tuner trials as dlexp runs (one per repeat) in the search folder."""

    def __init__(self, oracle, *, spec: SearchSpec, store: SearchStore, space: TrialSpace,
                 names: TrialNames, trainer: Trainer,
                 on_epoch: Callable[[str, int, int], None] | None = None,
                 stack: int = 1):  # fmt: skip
        with contextlib.redirect_stdout(sys.stderr):  # keras-tuner prints "Reloading ..."
            super().__init__(oracle, directory=str(store.root), project_name="tuner",
                             overwrite=False)  # fmt: skip
        self.spec, self.store, self.space, self.names = spec, store, space, names
        self.trainer, self.on_epoch, self.stack = trainer, on_epoch, stack
        self._idle = False
        self.pruner = None  # search.prune's, made when the first trial is trained
        if compat.role() == "worker":  # keras-tuner's OracleClient, with leases and deadlines
            from dlexp.search.worker import ChiefClient

            self.oracle = ChiefClient(oracle, self.tuner_id)
        compat.watch_create_trial(self.oracle, self._created)

    def _created(self, trial) -> None:
        self._idle = trial.status == "IDLE"

    def reload(self):
        pass  # the chief has reloaded the oracle already; this tuner keeps no state

    def pre_create_trial(self):
        if self._idle:  # keras-tuner asks again at once after IDLE (Hyperband); do not spin
            time.sleep(0.5)

    def save(self):
        if compat.role() != "worker":
            self.oracle.save()

    # -- one trial at a time: keras-tuner's loop ---------------------------------------

    def run_trial(self, trial, *args, **kwargs):
        self._train([trial], report=False)
        return {self.spec.objective: self._score(self.names(trial))}

    # -- many trials at a time ------------------------------------------------------------

    def search(self, *args, **kwargs):
        if self.stack <= 1:
            return super().search(*args, **kwargs)
        self.on_search_begin()
        per_trial = self.spec.runs_per_point
        slots = [self.tuner_id] + [
            f"{self.tuner_id}+{i}" for i in range(1, max(1, self.stack // per_trial))
        ]
        asked: set[str] = set()
        while True:
            trials, stopped = [], False
            for slot in slots:
                asked.add(slot)
                trial = self.oracle.create_trial(slot)
                if trial.status == "STOPPED":
                    asked.discard(slot)  # the oracle forgot this slot
                    stopped = True
                    break
                if trial.status == "IDLE":
                    break
                trials.append(trial)
            if trials:
                self._train(trials, report=True)
            elif stopped:
                break
            else:
                time.sleep(0.5)  # the oracle waits for other workers' trials (Hyperband)
        for slot in asked:  # let the oracle forget every slot, as a stopped worker
            self.oracle.create_trial(slot)
        self.on_search_end()

    def _report(self, trial) -> None:
        """Tell the oracle a trial has ended, as keras-tuner's own loop does."""
        score = self._score(self.names(trial))
        self.oracle.update_trial(trial.trial_id, {self.spec.objective: score})
        trial.status = "COMPLETED"
        self.on_trial_end(trial)

    # -- training trials ---------------------------------------------------------------------

    def _train(self, trials: list, report: bool) -> None:
        """``_train_now``; a full disk met outside a run (its folder, its first file) stops
        the search too, rather than failing one trial after another in keras-tuner's loop
        (which prints each one's traceback)."""
        try:
            self._train_now(trials, report)
        except MachineStop:
            raise
        except Exception as exc:
            if not machine_fault(exc):
                raise
            raise MachineStop(
                f"{describe(exc)}; free some space (or memory) and run the same command "
                "again to resume"
            ) from exc

    def _train_now(self, trials: list, report: bool) -> None:
        """Train every run of these trials that has not finished, in one call to the
        trainer; publish the folders of the runs that ended together (a stack's) as
        one, and (``report``) tell the oracle about each trial whose runs have all
        ended. A run the machine failed stops the search (``MachineStop``)."""
        jobs, pending = [], []
        for trial in trials:
            self.space.check(trial)
            names = self.spec.run_names(self.names(trial))
            item = _Pending(trial, names)
            pending.append(item)
            for repeat, name in enumerate(names):
                if self.store.run_done(name):
                    continue
                try:
                    job = self._job(trial, name, repeat)
                except BaseException:  # a full disk: no staged folder left behind
                    for staged in jobs:
                        self.store.discard(staged.run)
                    raise
                if job is not None:
                    item.waiting.add(name)
                    jobs.append(job)
        by_name = {name: item for item in pending for name in item.waiting}
        for item in pending:
            if report and not item.waiting:
                self._report(item.trial)
        committed: set[str] = set()

        holds = getattr(self.oracle, "holds", None)  # a worker's: is the trial still its?

        def lost(job: Job) -> bool:
            """Whether the trial's lease went (another worker trains it): its folder is
            discarded, never published twice."""
            item = by_name[job.name]
            if not item.lost and holds is not None and not holds(item.trial):
                item.lost = True
            return item.lost

        def publish(together: Sequence[tuple[Job, Outcome]]) -> None:
            """A stack the machine cut short is not published: all of it is trained
            again, in the same stack, so that its numbers are an undisturbed run's."""
            if not any(outcome.machine for _, outcome in together):
                self.store.publish_all([job.run for job, _ in together if not lost(job)])
            committed.update(job.name for job, _ in together)

        def ended(job: Job, outcome: Outcome) -> None:
            item = by_name[job.name]
            item.waiting.discard(job.name)
            if item.lost if job.name in committed else lost(job):
                self.store.discard(job.run)  # a staged folder never published
                return
            if job.name not in committed:  # a trainer that does not commit: one at a time
                self.store.publish(job.run)
            stopped = outcome.status == runs.Status.INTERRUPTED or outcome.machine
            if report and not item.waiting and not stopped:
                self._report(item.trial)

        for job in jobs:
            job.on_end = lambda outcome, job=job: ended(job, outcome)
            job.on_commit = publish
        if len(jobs) > 1 and self.on_epoch is not None:  # the live line shows the stack
            label = f"{jobs[0].name}..{jobs[-1].name}"
            for job in jobs:
                epochs = job.cfg["train"]["epochs"]
                job.on_epoch = lambda epoch, row, e=epochs: self.on_epoch(label, epoch, e)
        try:
            outcomes = self.trainer(jobs) if jobs else []
        finally:  # a run never published (its stack was cut short) is trained again
            for job in jobs:
                if job.run.path.exists():
                    self.store.discard(job.run)
        failed = next((o for o in outcomes if o.machine), None)
        if failed is not None:  # a full disk fails the next trial too: stop here
            raise MachineStop(
                f"{failed.run.id} failed: {failed.error}; free some space (or memory) and run "
                "the same command again to retry it"
            )
        if len(outcomes) < len(jobs) or any(o.status == runs.Status.INTERRUPTED for o in outcomes):
            raise KeyboardInterrupt

    def _job(self, trial, name: str, repeat: int) -> Job | None:
        """The job of one run of a trial, or None when its config cannot be made (a
        failed run is written instead)."""
        hp = trial.hyperparameters.values
        try:
            cfg = self.spec.point_config(self.space.decode(hp), repeat)
        except ConfigError as exc:  # a point dlexp refuses: a failed trial
            self.store.write_failed(name, None, str(exc))
            return None
        weights, initial_epoch = None, 0
        if "tuner/epochs" in hp:  # Hyperband: this many epochs, maybe continuing a trial
            cfg["train"]["epochs"] = int(hp["tuner/epochs"])
            if hp.get("tuner/trial_id"):
                previous = self.store.trials / self.names(hp["tuner/trial_id"])
                if (previous / "model.keras").exists():
                    weights = previous / "model.keras"
                    initial_epoch = int(hp["tuner/initial_epoch"])
        hook = None
        if self.on_epoch is not None:
            epochs = cfg["train"]["epochs"]
            hook = lambda epoch, row: self.on_epoch(name, epoch, epochs)  # noqa: E731
        job = TrialJob(name, cfg, self.store.stage(name), hook, weights, initial_epoch)
        if self.spec.prune is not None:
            pruner, trial_name = self._pruner(), self.names(trial)
            job.prune = lambda epoch, logs: pruner.report(trial_name, name, epoch, logs)
        return job

    def _pruner(self):
        """The search's pruner, told what the trials trained before a resume logged."""
        if self.pruner is None:
            from dlexp.search.prune import Pruner

            spec = self.spec
            self.pruner = Pruner(spec.prune, spec.objective, spec.direction, spec.runs_per_point)
            for trial in self.store.trial_ids():
                for name in spec.run_names(trial):
                    record = self.store.read_run(name)
                    if record is not None and runs.is_finished(record.status):
                        self.pruner.seed(trial, name, record.history or [])
        return self.pruner

    def _score(self, trial_name: str) -> float:
        """The trial's objective: the mean over its repeats, NaN unless all completed."""
        objective = runs.objective_key(self.spec.objective)
        scores = []
        for name in self.spec.run_names(trial_name):
            record = self.store.read_run(name)
            if record and record.status == runs.Status.COMPLETED:
                scores.append(record.metric(objective))
        ok = len(scores) == self.spec.runs_per_point and all(s is not None for s in scores)
        return statistics.fmean(scores) if ok else math.nan
