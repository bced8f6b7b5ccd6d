"""``dlexp search``: keras-tuner runs the search, dlexp trains each trial into a run folder.

The only module that imports keras_tuner. The pieces:

- ``PlannedOracle``: a keras-tuner Oracle for grid and random search that knows every
  point up front. It hands out the next point nobody has finished or taken, so any
  number of workers stay busy (keras-tuner's GridSearchOracle hands out one point at
  a time after the first two) and it never answers IDLE (which makes workers spin).
  Which points are finished is read from the trial folders, so a search resumes
  exactly after Ctrl-C, kill -9 or a reboot.
- Bayesian and Hyperband use keras-tuner's own oracles, with their state files
  written atomically; they resume through keras-tuner's reload.
- ``TrialRunner``: a keras-tuner BaseTuner whose ``run_trial`` trains each point (and
  each repeat) with ``dlexp.training`` into ``trials/<trial-id>/``.
- Parallel: keras-tuner's own distributed mode. The chief serves the oracle over gRPC
  (keras-tuner's OracleServicer); workers are BaseTuners whose oracle is
  keras-tuner's OracleClient, configured by KERASTUNER_TUNER_ID,
  KERASTUNER_ORACLE_IP and KERASTUNER_ORACLE_PORT.
"""

from __future__ import annotations

import contextlib
import json
import math
import os
import shutil
import socket
import statistics
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from concurrent import futures
from dataclasses import dataclass, field
from pathlib import Path

import keras_tuner as kt
from keras_tuner.src.engine import base_tuner
from keras_tuner.src.engine.oracle import synchronized

from dlexp import config as config_mod
from dlexp import data as data_mod
from dlexp import grid as grid_mod
from dlexp import runs as runs_mod
from dlexp import training
from dlexp.errors import ConfigError, show
from dlexp.grid import SearchSpec

TERMINAL = ("completed", "diverged")  # outcomes a rerun would only repeat
SPLITS = ("train", "val", "test")


# ---------------------------------------------------------------------------
# The search space in keras-tuner's terms
# ---------------------------------------------------------------------------


def hyperparameters(spec: SearchSpec) -> kt.HyperParameters:
    """keras-tuner's HyperParameters for the searched keys.

    A list of scalars of one type is a Choice of them; other lists (mappings such as
    ``{name: sgd, momentum: 0.9}``, mixed types) are a Choice of their labels; a
    range is an Int or a Float.
    """
    hp = kt.HyperParameters()
    for p in spec.params:
        if p.values is not None:
            types = {type(v) for v in p.values}
            scalar = len(types) == 1 and types <= {int, float, str, bool}
            hp.Choice(p.key, p.values if scalar else [grid_mod.label(v) for v in p.values])
        elif p.is_int_range:
            r = p.range
            hp.Int(p.key, r["min"], r["max"], step=r.get("step"),
                   sampling=r.get("sampling", "linear"))  # fmt: skip
        else:
            r = p.range
            hp.Float(p.key, float(r["min"]), float(r["max"]), step=r.get("step"),
                     sampling=r.get("sampling", "linear"))  # fmt: skip
    return hp


def decode(spec: SearchSpec, hp_values: dict) -> dict:
    """A trial's keras-tuner values back to config values (labels to mappings)."""
    out = {}
    for p in spec.params:
        value = hp_values[p.key]
        if p.values is not None:
            value = {grid_mod.label(v): v for v in p.values}.get(value, value)
        out[p.key] = value
    return out


def encode(spec: SearchSpec, values: dict) -> dict:
    """Config values to the scalars keras-tuner holds."""
    hp = hyperparameters(spec)
    out = {}
    for p in spec.params:
        choice = hp._hps[p.key][0] if p.values is not None else None
        scalar = choice is not None and values[p.key] in choice.values
        out[p.key] = values[p.key] if scalar or choice is None else grid_mod.label(values[p.key])
    return out


def planned_points(spec: SearchSpec) -> list[dict]:
    """Every point a grid or random search will train, in order.

    Random points are drawn by keras-tuner's own RandomSearchOracle from the search
    seed, all at once, so they are known up front like a grid's.
    """
    if spec.tuner == "grid":
        return spec.grid_points()
    oracle = kt.oracles.RandomSearchOracle(
        objective=kt.Objective(spec.objective, spec.direction), max_trials=spec.max_trials,
        hyperparameters=hyperparameters(spec), seed=spec.seed,
    )  # fmt: skip
    points = []
    for _ in range(spec.max_trials):
        values = oracle._random_values()
        if values is None:  # the space has fewer distinct points than max_trials
            break
        oracle._tried_so_far.add(oracle._compute_values_hash(values))
        points.append(decode(spec, values))
    return points


def objective_value(metrics: dict, name: str) -> float | None:
    """``val_accuracy`` -> metrics["val"]["accuracy"]; ``loss`` -> metrics["train"]["loss"]."""
    split, metric = ("val", name[4:]) if name.startswith("val_") else ("train", name)
    value = (metrics.get(split) or {}).get(metric)
    return None if value is None or not math.isfinite(value) else float(value)


def dotted_get(cfg: dict, key: str):
    node = cfg
    for part in key.split("."):
        if not isinstance(node, dict) or part not in node:
            return None
        node = node[part]
    return node


# ---------------------------------------------------------------------------
# The search folder
# ---------------------------------------------------------------------------


def _first_difference(old, new, path=""):
    if isinstance(old, dict) and isinstance(new, dict):
        for key in list(old) + [k for k in new if k not in old]:
            found = _first_difference(old.get(key), new.get(key), f"{path}.{key}" if path else key)
            if found:
                return found
        return None
    return None if old == new else (path, old, new)


class SearchStore:
    """``RUNS_DIR/<search>/``: search.yaml, search.json, results.csv, best.json, trials/."""

    def __init__(self, root: str | Path, spec: SearchSpec):
        self.root, self.spec = Path(root), spec
        self.trials = self.root / "trials"
        self._cache: dict[str, tuple[float, dict]] = {}

    # -- state ---------------------------------------------------------------

    def stored_spec(self) -> dict | None:
        path = self.root / "search.yaml"
        if not path.exists():
            return None
        return config_mod.read_yaml(path)

    def check_same(self) -> None:
        """Refuse to mix two different searches in one folder."""
        stored = self.stored_spec()
        if stored is None:
            return
        new = json.loads(json.dumps(self.spec.resolved()))
        diff = _first_difference(
            {k: stored.get(k) for k in ("config", "search")},
            {k: new[k] for k in ("config", "search")},
        )
        if diff:
            key, old, now = diff
            raise ConfigError(
                f"{self.spec.path.name}: the grid changed since the search in {self.root} began "
                f"({key}: was {show(old)}, now {show(now)}); rerun with --overwrite to start "
                "over, or give the search another name"
            )

    def open(self, overwrite: bool) -> None:
        """Create (or, with overwrite, recreate) the folder; check a resumed search."""
        if overwrite and self.root.exists():
            shutil.rmtree(self.root)
        self.check_same()
        try:
            self.trials.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise ConfigError(
                f"--runs-dir: cannot create {str(self.root)!r} ({exc.strerror})") from None
        # Runs that a crash left half-trained start over.
        for tmp in self.trials.glob(".*.tmp-*"):
            shutil.rmtree(tmp, ignore_errors=True)
        runs_mod.atomic_write(self.root / "search.yaml", config_mod.dump(self.spec.resolved()))

    def write_state(self, status: str, **extra) -> None:
        path = self.root / "search.json"
        state = runs_mod.read_json(path) if path.exists() else {}
        state.update({"name": self.spec.name, "tuner": self.spec.tuner, "status": status,
                      **extra})  # fmt: skip
        if status == "running":
            state.setdefault("started", runs_mod.now_iso())
            state.pop("ended", None)
        else:
            state["ended"] = runs_mod.now_iso()
        state["versions"] = runs_mod.versions()
        runs_mod.write_json(path, state)

    def state(self) -> dict:
        path = self.root / "search.json"
        return runs_mod.read_json(path) if path.exists() else {}

    # -- trials ----------------------------------------------------------------

    def read_run(self, name: str) -> dict | None:
        """run.json, metrics.json and config.yaml of a finished run folder, or None."""
        folder = self.trials / name
        info_path = folder / "run.json"
        try:
            mtime = info_path.stat().st_mtime
        except OSError:
            return None
        cached = self._cache.get(name)
        if cached and cached[0] == mtime:
            return cached[1]
        try:
            run = {"info": runs_mod.read_json(info_path),
                   "metrics": runs_mod.read_json(folder / "metrics.json"),
                   "config": config_mod.read_yaml(folder / "config.yaml")}  # fmt: skip
        except (OSError, ValueError, ConfigError):
            return None
        self._cache[name] = (mtime, run)
        return run

    def run_status(self, name: str) -> str | None:
        run = self.read_run(name)
        return run["info"].get("status") if run else None

    def trial_done(self, trial_id: str) -> bool:
        return all(self.run_status(n) in TERMINAL for n in self.spec.run_names(trial_id))

    def train(self, name: str, cfg: dict, data_cache: dict, on_epoch=None, weights=None,
              initial_epoch: int = 0) -> training.Outcome:  # fmt: skip
        """Train one run into trials/<name>/, through a temporary folder renamed at the end,
        so that a trial folder that exists is a finished one."""
        key = json.dumps([cfg["data"], cfg["seed"]], sort_keys=True)
        if key not in data_cache:
            data_cache.clear()
            data_cache[key] = data_mod.load(cfg["data"], cfg["seed"])
        exp = training.prepare(cfg, data_cache[key], weights=weights)
        tmp = self.trials / f".{name}.tmp-{os.getpid()}"
        shutil.rmtree(tmp, ignore_errors=True)
        tmp.mkdir(parents=True)
        outcome = training.fit(exp, runs_mod.Run(tmp), on_epoch, initial_epoch=initial_epoch)
        final = self.trials / name
        if final.exists():
            shutil.rmtree(final)
        os.replace(tmp, final)
        outcome.run = runs_mod.Run(final)
        return outcome

    # -- results -----------------------------------------------------------------

    def trial_ids(self) -> list[str]:
        ids = set()
        for folder in self.trials.iterdir() if self.trials.exists() else ():
            if folder.name.startswith(".") or not folder.is_dir():
                continue
            tid = folder.name
            if self.spec.repeats > 1 and "-r" in tid:
                tid = tid.rsplit("-r", 1)[0]
            ids.add(tid)
        return sorted(ids)

    def row(self, trial_id: str) -> dict | None:
        """One results.csv row: searched values, mean (and std) of every final metric."""
        spec = self.spec
        runs = [(n, self.read_run(n)) for n in spec.run_names(trial_id)]
        runs = [(n, r) for n, r in runs if r is not None]
        if not runs:
            return None
        statuses = [r["info"].get("status") for _, r in runs]
        if len(runs) < spec.repeats:
            statuses.append("incomplete")
        status = next((s for s in statuses if s != "completed"), "completed")
        cfg = runs[0][1]["config"]
        row: dict = {"trial": trial_id, "status": status}
        for p in spec.params:
            row[p.key] = dotted_get(cfg, p.key)
        if spec.tuner == "hyperband":
            row["train.epochs"] = dotted_get(cfg, "train.epochs")
        completed = [r for _, r in runs if r["info"].get("status") == "completed"]
        scores = [objective_value(r["metrics"], spec.objective) for r in completed]
        scores = [s for s in scores if s is not None]
        ok = status == "completed" and len(scores) == spec.repeats
        row["score"] = statistics.fmean(scores) if ok else None
        if spec.repeats > 1:
            row["score_std"] = statistics.stdev(scores) if ok else None
        names = list(dict.fromkeys(k for r in completed for s in SPLITS
                                   for k in (r["metrics"].get(s) or {})))  # fmt: skip
        for split in SPLITS:
            for name in names:
                values = [r["metrics"].get(split, {}).get(name) for r in completed]
                values = [v for v in values if v is not None]
                if not values:
                    continue
                row[f"{split}_{name}"] = statistics.fmean(values)
                if spec.repeats > 1:
                    row[f"{split}_{name}_std"] = (
                        statistics.stdev(values) if len(values) > 1 else None)
        for key in ("epochs_run", "best_epoch"):
            values = [r["metrics"].get(key) for _, r in runs if r["metrics"].get(key) is not None]
            row[key] = (statistics.fmean(values) if spec.repeats > 1 else values[0]) \
                if values else None  # fmt: skip
        row["seconds"] = round(sum(r["info"].get("duration_s") or 0 for _, r in runs), 3)
        row["runs"] = ";".join(f"trials/{n}" for n, _ in runs)
        return row

    def rows(self) -> list[dict]:
        return [r for r in (self.row(t) for t in self.trial_ids()) if r is not None]

    def ranked(self, rows: list[dict]) -> list[dict]:
        scored = [r for r in rows if r.get("score") is not None]
        return sorted(scored, key=lambda r: r["score"], reverse=self.spec.direction == "max")

    def write_results(self) -> list[dict]:
        """Rewrite results.csv and best.json from the trial folders."""
        rows = self.rows()
        columns = list(dict.fromkeys(k for r in rows for k in r))
        runs_mod.write_csv(self.root / "results.csv", rows, columns or ["trial", "status"])
        ranked = self.ranked(rows)
        if ranked:
            best = ranked[0]
            runs_mod.write_json(self.root / "best.json", {
                "trial": best["trial"],
                "objective": {"name": self.spec.objective, "direction": self.spec.direction},
                "score": best["score"],
                "params": {p.key: best.get(p.key) for p in self.spec.params},
                "runs": best["runs"].split(";"),
            })  # fmt: skip
        return rows


# ---------------------------------------------------------------------------
# Oracles
# ---------------------------------------------------------------------------


class _AtomicStateMixin:
    """keras-tuner's oracle and trial state files, written atomically (a kill -9 during
    a plain write would leave JSON that keras-tuner cannot reload)."""

    def save(self):
        runs_mod.write_json(self._get_oracle_fname(), self.get_state())

    def _save_trial(self, trial):
        runs_mod.write_json(Path(self._get_trial_dir(trial.trial_id)) / "trial.json",
                            trial.get_state())  # fmt: skip


class _Hooks:
    """What the chief (or the single process) does when a trial starts or ends."""

    def __init__(self):
        self.on_start: Callable[[str, str], None] = lambda trial_id, tuner_id: None
        self.on_end: Callable[[str], None] = lambda trial_id: None
        self.trial_name: Callable[[object], str] = lambda trial: trial.trial_id


class PlannedOracle(_AtomicStateMixin, kt.Oracle):
    """Hands out a fixed list of points, skipping the finished ones; never IDLE."""

    def __init__(self, spec: SearchSpec, points: list[dict], done: set[int], hooks: _Hooks,
                 **kwargs):  # fmt: skip
        super().__init__(**kwargs)
        self.spec, self.points, self.done, self.hooks = spec, points, set(done), hooks
        self._next = 0
        self._index = {grid_mod.point_key(p): i for i, p in enumerate(points)}

    def populate_space(self, trial_id):
        while self._next < len(self.points) and self._next in self.done:
            self._next += 1
        if self._next >= len(self.points):
            return {"status": "STOPPED"}
        values = encode(self.spec, self.points[self._next])
        self._next += 1
        return {"status": "RUNNING", "values": values}

    def index_of(self, values: dict) -> int:
        return self._index[grid_mod.point_key(values)]

    @synchronized
    def create_trial(self, tuner_id):
        trial = super().create_trial(tuner_id)
        if trial.status == "RUNNING":
            self.hooks.on_start(self.hooks.trial_name(trial), tuner_id)
        return trial

    @synchronized
    def end_trial(self, trial):
        super().end_trial(trial)
        self.done.add(self.index_of(decode(self.spec, self.trials[trial.trial_id]
                                           .hyperparameters.values)))  # fmt: skip
        self.hooks.on_end(self.hooks.trial_name(self.trials[trial.trial_id]))

    @synchronized
    def requeue(self, tuner_id: str) -> None:
        """A worker died: its trial goes back to the queue for another worker."""
        trial = self.ongoing_trials.pop(tuner_id, None)
        if trial is not None:
            self._retry_queue.append(trial.trial_id)

    def finished(self) -> bool:
        return len(self.done) >= len(self.points)


def _adaptive_oracle(spec: SearchSpec, hooks: _Hooks):
    """keras-tuner's Bayesian or Hyperband oracle, with atomic state and dlexp's hooks."""
    base = {"bayesian": kt.oracles.BayesianOptimizationOracle,
            "hyperband": kt.oracles.HyperbandOracle}[spec.tuner]  # fmt: skip

    class Adaptive(_AtomicStateMixin, base):
        @synchronized
        def create_trial(self, tuner_id):
            trial = super().create_trial(tuner_id)
            if trial.status == "RUNNING":
                hooks.on_start(hooks.trial_name(trial), tuner_id)
            return trial

        @synchronized
        def end_trial(self, trial):
            super().end_trial(trial)
            hooks.on_end(hooks.trial_name(self.trials[trial.trial_id]))

        @synchronized
        def requeue(self, tuner_id: str) -> None:
            trial = self.ongoing_trials.pop(tuner_id, None)
            if trial is not None:
                self._retry_queue.append(trial.trial_id)

        def finished(self) -> bool:
            return False

    kwargs = dict(objective=kt.Objective(spec.objective, spec.direction),
                  hyperparameters=hyperparameters(spec), seed=spec.seed,
                  tune_new_entries=False, allow_new_entries=False,
                  max_consecutive_failed_trials=10**9)  # fmt: skip
    if spec.tuner == "hyperband":
        return Adaptive(max_epochs=spec.base["train"]["epochs"], factor=spec.factor, **kwargs)
    return Adaptive(max_trials=spec.max_trials, **kwargs)


# ---------------------------------------------------------------------------
# The tuner: keras-tuner's BaseTuner running dlexp trials
# ---------------------------------------------------------------------------


def _trial_id_width(spec: SearchSpec) -> int:
    if spec.planned:
        return spec.trial_width(len(planned_points(spec)) if spec.tuner == "random"
                                else len(spec.grid_points()))  # fmt: skip
    return 3


class TrialRunner(base_tuner.BaseTuner):
    """Runs each keras-tuner trial as dlexp runs (one per repeat) in the search folder."""

    def __init__(self, oracle, spec: SearchSpec, store: SearchStore, name_of: Callable,
                 on_epoch: Callable | None = None, **kwargs):  # fmt: skip
        with contextlib.redirect_stdout(sys.stderr):  # keras-tuner prints "Reloading ..."
            super().__init__(oracle, directory=str(store.root), project_name="tuner", **kwargs)
        self.spec, self.store, self.name_of, self.on_epoch = spec, store, name_of, on_epoch
        self.data_cache: dict = {}
        self._idle = False
        create = self.oracle.create_trial

        def create_trial(tuner_id):
            trial = create(tuner_id)
            self._idle = trial.status == "IDLE"
            return trial

        self.oracle.create_trial = create_trial

    def pre_create_trial(self):
        if self._idle:  # keras-tuner asks again at once after IDLE; do not spin
            time.sleep(0.5)

    def save(self):
        if not self._is_worker():
            self.oracle.save()
        runs_mod.write_json(self._get_tuner_fname(), self.get_state())

    def run_trial(self, trial, *args, **kwargs):
        spec = self.spec
        hp = trial.hyperparameters.values
        values = decode(spec, hp)
        trial_id = self.name_of(trial)
        scores = []
        for repeat, name in enumerate(spec.run_names(trial_id)):
            done = self.store.read_run(name)
            if done is None or done["info"].get("status") not in TERMINAL:
                cfg = spec.point_config(values, repeat)
                weights, initial_epoch = None, 0
                if "tuner/epochs" in hp:  # Hyperband: this many epochs, maybe continuing
                    cfg["train"]["epochs"] = int(hp["tuner/epochs"])
                    if hp.get("tuner/trial_id"):
                        previous = self.store.trials / self.name_of(hp["tuner/trial_id"])
                        weights = previous / "model.keras"
                        initial_epoch = int(hp["tuner/initial_epoch"])
                        if not weights.exists():
                            weights, initial_epoch = None, 0
                hook = None
                if self.on_epoch is not None:
                    def hook(epoch, row, _n=name, _epochs=cfg["train"]["epochs"]):
                        self.on_epoch(_n, epoch, _epochs)
                outcome = self.store.train(name, cfg, self.data_cache, hook, weights,
                                           initial_epoch)  # fmt: skip
                if outcome.status == "interrupted":
                    raise KeyboardInterrupt
                done = self.store.read_run(name)
            if done and done["info"].get("status") == "completed":
                scores.append(objective_value(done["metrics"], spec.objective))
        ok = len(scores) == spec.repeats and all(s is not None for s in scores)
        return {spec.objective: statistics.fmean(scores) if ok else float("nan")}


# ---------------------------------------------------------------------------
# Running a search: one process, or a chief with workers
# ---------------------------------------------------------------------------


@dataclass
class SearchOutcome:
    status: str  # finished | interrupted | already finished | failed
    store: SearchStore
    rows: list[dict] = field(default_factory=list)
    seconds: float = 0.0
    message: str | None = None
    trained: int = 0  # trials this invocation ran (the rest were done before)

    @property
    def exit_code(self) -> int:
        return {"finished": 0, "already finished": 0, "interrupted": 130}.get(self.status, 1)


class NullView:
    """The search's live view: these calls are all the search makes of one."""

    def start(self, total: int | None, done: int) -> None: ...
    def trial_started(self, trial_id: str, worker: str) -> None: ...
    def trial_ended(self, trial_id: str, row: dict | None, best: dict | None) -> None: ...
    def epoch(self, trial_id: str, epoch: int, epochs: int) -> None: ...
    def stop(self) -> None: ...


def role() -> str | None:
    """'chief' or 'worker' in keras-tuner's distributed mode, else None."""
    if "KERASTUNER_ORACLE_IP" not in os.environ:
        return None
    from keras_tuner.src.distribute import utils as dist_utils

    try:
        return "chief" if dist_utils.is_chief_oracle() else "worker"
    except RuntimeError as exc:  # one of the three variables is missing
        raise ConfigError(f"keras-tuner distributed mode: {exc}") from None


class Search:
    """One search: its spec, its folder and its oracle."""

    def __init__(self, spec: SearchSpec, runs_dir: str | Path, view=None):
        self.spec = spec
        self.store = SearchStore(Path(runs_dir) / spec.name, spec)
        self.view = view or NullView()
        self.hooks = _Hooks()
        self.width = _trial_id_width(spec)
        self.points: list[dict] = planned_points(spec) if spec.planned else []
        self._index = {grid_mod.point_key(p): i for i, p in enumerate(self.points)}
        self.oracle = None

    def name_of(self, trial_or_id) -> str:
        """The folder name of a keras-tuner trial: its point's index for planned searches,
        keras-tuner's trial id otherwise."""
        if isinstance(trial_or_id, str):  # a keras-tuner trial id (Hyperband's tuner/trial_id)
            trial = self.oracle.get_trial(trial_or_id) if self.spec.planned else None
            return self.name_of(trial) if trial is not None else \
                f"t{int(trial_or_id):0{self.width}d}"  # fmt: skip
        if self.spec.planned:
            values = decode(self.spec, trial_or_id.hyperparameters.values)
            return f"t{self._index[grid_mod.point_key(values)]:0{self.width}d}"
        return f"t{int(trial_or_id.trial_id):0{self.width}d}"

    def _make_oracle(self, done: set[int], chief: bool):
        """The oracle, with keras-tuner's state in ``tuner/``: cleared for a planned search
        (the trial folders say what is done), reloaded to resume an adaptive one."""
        self.hooks.trial_name = self.name_of
        if self.spec.planned:
            oracle = PlannedOracle(
                self.spec, self.points, done, self.hooks,
                objective=kt.Objective(self.spec.objective, self.spec.direction),
                hyperparameters=hyperparameters(self.spec), tune_new_entries=False,
                allow_new_entries=False, max_consecutive_failed_trials=10**9,
            )  # fmt: skip
        else:
            oracle = _adaptive_oracle(self.spec, self.hooks)
        oracle.verbose = 0
        if chief:
            tuner_dir = self.store.root / "tuner"
            if self.spec.planned and tuner_dir.exists():
                shutil.rmtree(tuner_dir)
            oracle._set_project_dir(str(self.store.root), "tuner")
            if not self.spec.planned and (tuner_dir / "oracle.json").exists():
                with contextlib.redirect_stdout(sys.stderr):
                    oracle.reload()
        return oracle

    def plan(self) -> dict:
        """What --dry-run prints: the number of trials and, when known, the points."""
        spec = self.spec
        total = len(self.points) if spec.planned else None
        done = self._done_indexes() if spec.planned and self.store.stored_spec() else set()
        return {"name": spec.name, "folder": str(self.store.root), "tuner": spec.tuner,
                "objective": {"name": spec.objective, "direction": spec.direction},
                "trials": total, "repeats": spec.repeats,
                "runs": None if total is None else total * spec.repeats,
                "max_trials": spec.max_trials, "already_done": len(done),
                "points": [{"trial": f"t{i:0{self.width}d}", **p}
                           for i, p in enumerate(self.points)]}  # fmt: skip

    def _done_indexes(self) -> set[int]:
        return {i for i in range(len(self.points))
                if self.store.trial_done(f"t{i:0{self.width}d}")}  # fmt: skip

    def _on_start(self, trial_id: str, tuner_id: str) -> None:
        self.view.trial_started(trial_id, tuner_id)

    def _on_end(self, trial_id: str) -> None:
        rows = self.store.write_results()
        row = next((r for r in rows if r["trial"] == trial_id), None)
        ranked = self.store.ranked(rows)
        self.view.trial_ended(trial_id, row, ranked[0] if ranked else None)

    def run(self, workers: int = 1, overwrite: bool = False) -> SearchOutcome:
        """Run (or resume) the search; returns when it is finished or interrupted."""
        who = role()
        if who == "worker":
            return self._run_worker()
        started = time.perf_counter()
        self.store.open(overwrite)
        done = self._done_indexes() if self.spec.planned else set()
        if self.spec.planned and len(done) == len(self.points):
            rows = self.store.write_results()
            return SearchOutcome("already finished", self.store, rows)
        if not self.spec.planned and self.store.state().get("status") == "finished":
            return SearchOutcome("already finished", self.store, self.store.write_results())
        self.hooks.on_start, self.hooks.on_end = self._on_start, self._on_end
        self.oracle = self._make_oracle(done, chief=True)
        self.store.write_state("running")
        self.store.write_results()
        total = len(self.points) if self.spec.planned else self.spec.max_trials
        self.view.start(total, len(done))
        status, message = "finished", None
        try:
            if who == "chief" or workers > 1:
                message = self._serve(workers if workers > 1 else 0)
                if message:
                    status = "failed"
            else:
                runner = TrialRunner(self.oracle, self.spec, self.store, self.name_of,
                                     on_epoch=self.view.epoch, overwrite=False)  # fmt: skip
                runner.search(verbose=0)
        except KeyboardInterrupt:
            status = "interrupted"
        finally:
            self.view.stop()
        rows = self.store.write_results()
        self.store.write_state(status, trials=len(rows))
        trained = sum(1 for r in rows if r["status"] in TERMINAL) - len(done)
        return SearchOutcome(status, self.store, rows, time.perf_counter() - started, message,
                             trained)  # fmt: skip

    # -- distributed ------------------------------------------------------------

    def _serve(self, local_workers: int) -> str | None:
        """Serve the oracle with keras-tuner's OracleServicer until every trial is done.

        With local_workers > 0, start that many worker processes on this machine
        first (``--workers N``); otherwise wait for workers started elsewhere.
        """
        import grpc
        from keras_tuner.src import protos
        from keras_tuner.src.distribute.oracle_chief import OracleServicer

        if "KERASTUNER_ORACLE_IP" in os.environ:  # a chief that workers elsewhere reach
            ip, port = os.environ["KERASTUNER_ORACLE_IP"], os.environ["KERASTUNER_ORACLE_PORT"]
        else:
            ip, port = "127.0.0.1", str(_free_port())
        server = grpc.server(futures.ThreadPoolExecutor(max_workers=1))
        servicer = OracleServicer(self.oracle)
        protos.get_service_grpc().add_OracleServicer_to_server(servicer, server)
        if server.add_insecure_port(f"{ip}:{port}") == 0:
            raise ConfigError(f"KERASTUNER_ORACLE_PORT: cannot listen on {ip}:{port}")
        server.start()
        procs = self._start_workers(local_workers, ip, port) if local_workers else {}
        try:
            while True:
                time.sleep(0.2)
                for tuner_id, proc in list(procs.items()):
                    if proc.poll() is not None:
                        del procs[tuner_id]
                        if proc.returncode != 0:
                            self.oracle.requeue(tuner_id)
                if self.oracle.finished() or (servicer.stop_triggered
                                              and not self.oracle.ongoing_trials):  # fmt: skip
                    break
                if local_workers and not procs:
                    logs = self.store.root / "logs"
                    return f"every worker stopped before the search finished; see {logs}"
        finally:
            _stop_workers(procs)
            server.stop(grace=1)
        return None

    def _start_workers(self, n: int, ip: str, port: str) -> dict[str, subprocess.Popen]:
        logs = self.store.root / "logs"
        logs.mkdir(exist_ok=True)
        cmd = [sys.executable, "-m", "dlexp.cli", "search", str(self.spec.path), "--runs-dir",
               str(self.store.root.parent)]  # fmt: skip
        for override in self.spec.overrides:
            cmd += ["--set", override]
        procs = {}
        for i in range(1, n + 1):
            tuner_id = f"worker{i}"
            if ip == "0.0.0.0":
                ip = "127.0.0.1"
            env = {**os.environ, "KERASTUNER_TUNER_ID": tuner_id,
                   "KERASTUNER_ORACLE_IP": ip, "KERASTUNER_ORACLE_PORT": port,
                   "DLEXP_PARENT_PID": str(os.getpid()),
                   # one thread each: these small networks gain nothing from more, and
                   # N workers then share the cores instead of fighting over them
                   "XLA_FLAGS": os.environ.get("XLA_FLAGS",
                                               "--xla_cpu_multi_thread_eigen=false "
                                               "intra_op_parallelism_threads=1")}  # fmt: skip
            log = open(logs / f"{tuner_id}.log", "w")  # noqa: SIM115 - closed with the process
            procs[tuner_id] = subprocess.Popen(cmd, env=env, stdout=log, stderr=subprocess.STDOUT,
                                               stdin=subprocess.DEVNULL)  # fmt: skip
        return procs

    def _run_worker(self) -> SearchOutcome:
        """A worker: take trials from the chief until it says stop."""
        _exit_with_parent()
        started = time.perf_counter()
        self.oracle = self._make_oracle(set(), chief=False)
        runner = TrialRunner(self.oracle, self.spec, self.store, self.name_of, overwrite=False)
        runner.oracle.get_space()  # waits for the chief, which writes search.yaml first
        self.store.check_same()
        try:
            runner.search(verbose=0)
        except KeyboardInterrupt:
            return SearchOutcome("interrupted", self.store, seconds=time.perf_counter() - started)
        return SearchOutcome("finished", self.store, seconds=time.perf_counter() - started)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _stop_workers(procs: dict[str, subprocess.Popen]) -> None:
    for proc in procs.values():
        if proc.poll() is None:
            proc.terminate()  # SIGTERM: the worker marks its run interrupted and exits
    deadline = time.time() + 10
    for proc in procs.values():
        try:
            proc.wait(timeout=max(0.1, deadline - time.time()))
        except subprocess.TimeoutExpired:
            proc.kill()


def _exit_with_parent() -> None:
    """A local worker ends when the dlexp that started it is gone (even after kill -9)."""
    parent = os.environ.get("DLEXP_PARENT_PID")
    if not parent:
        return

    def watch():
        while True:
            time.sleep(1.0)
            if os.getppid() != int(parent):
                os._exit(130)

    threading.Thread(target=watch, daemon=True).start()
