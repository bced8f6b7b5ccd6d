"""The trial runner: keras-tuner's BaseTuner loop, each trial trained by a trainer
handed to the search (``training.TrialTrainer`` unless a test or a faster trainer
gives another)."""

from __future__ import annotations

import contextlib
import statistics
import sys
import time
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING

import keras_tuner as kt

from dlexp import runs
from dlexp.errors import ConfigError
from dlexp.search import compat
from dlexp.training import Outcome, TrialJob

if TYPE_CHECKING:
    from dlexp.search.engine import Search

Trainer = Callable[[Sequence[TrialJob]], list[Outcome]]
"""Trains a list of trial runs (a trial's repeats, say), each into its ``job.run``
folder, and returns one Outcome per job it trained, in order. It stops early (fewer
outcomes, or an interrupted one) on Ctrl-C. A job Keras refuses is a failed run."""


class TrialRunner(kt.engine.base_tuner.BaseTuner):
    """Runs each keras-tuner trial as dlexp runs (one per repeat) in the search folder."""

    def __init__(
        self,
        oracle,
        owner: Search,
        trainer: Trainer,
        on_epoch: Callable[[str, int, int], None] | None = None,
    ):
        with contextlib.redirect_stdout(sys.stderr):  # keras-tuner prints "Reloading ..."
            super().__init__(
                oracle, directory=str(owner.store.root), project_name="tuner", overwrite=False
            )
        self.owner, self.spec, self.store = owner, owner.spec, owner.store
        self.trainer, self.on_epoch = trainer, on_epoch
        self._idle = False
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

    def run_trial(self, trial, *args, **kwargs):
        spec = self.spec
        hp = trial.hyperparameters.values
        names = runs.run_names(self.owner.name_of(trial), spec.repeats)
        todo = [(r, name) for r, name in enumerate(names) if not self.store.run_done(name)]
        if todo:
            self._train(todo, self.owner.space.decode(hp), hp)
        objective = runs.objective_key(spec.objective)
        scores = []
        for name in names:
            record = self.store.read_run(name)
            if record and record.status == runs.Status.COMPLETED:
                scores.append(record.metric(objective))
        ok = len(scores) == spec.repeats and all(s is not None for s in scores)
        return {spec.objective: statistics.fmean(scores) if ok else float("nan")}

    def _train(self, todo: list[tuple[int, str]], values: dict, hp: dict) -> None:
        """Train these repeats of one point, together, through the trainer."""
        planned = []
        for repeat, name in todo:
            try:
                cfg = self.spec.point_config(values, repeat)
            except ConfigError as exc:  # a point dlexp refuses: a failed trial
                self.store.write_failed(name, None, str(exc))
                continue
            weights, initial_epoch = None, 0
            if "tuner/epochs" in hp:  # Hyperband: this many epochs, maybe continuing a trial
                cfg["train"]["epochs"] = int(hp["tuner/epochs"])
                if hp.get("tuner/trial_id"):
                    previous = self.store.trials / self.owner.name_of(hp["tuner/trial_id"])
                    if (previous / "model.keras").exists():
                        weights = previous / "model.keras"
                        initial_epoch = int(hp["tuner/initial_epoch"])
            planned.append((name, cfg, weights, initial_epoch))
        if not planned:
            return
        with self.store.staging([name for name, *_ in planned]) as staged:
            jobs = [
                TrialJob(name, cfg, run, self._hook(name, cfg), weights, initial_epoch)
                for (name, cfg, weights, initial_epoch), run in zip(planned, staged, strict=True)
            ]
            outcomes = self.trainer(jobs)
        if len(outcomes) < len(jobs) or any(o.status == runs.Status.INTERRUPTED for o in outcomes):
            raise KeyboardInterrupt

    def _hook(self, name: str, cfg: dict):
        if self.on_epoch is None:
            return None
        epochs = cfg["train"]["epochs"]
        return lambda epoch, row: self.on_epoch(name, epoch, epochs)
