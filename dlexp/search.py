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
import os
import shutil
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

# Outcomes a rerun would only repeat: these trials are not trained again on resume
# (delete a trial's folder, or use --overwrite, to retry a failed one).
TERMINAL = ("completed", "diverged", "failed")


# ---------------------------------------------------------------------------
# The search space in keras-tuner's terms
# ---------------------------------------------------------------------------


class Space:
    """The searched keys in keras-tuner's terms, and the way between config values and
    the scalars keras-tuner holds.

    A list of scalars of one type is a Choice of those values (ordered, so Bayesian
    optimisation sees 9 < 10 < 11); any other list (mappings such as
    ``{name: sgd, momentum: 0.9}``, or ints mixed with floats) is a Choice of each
    value's JSON text. A range is an Int or a Float.
    """

    def __init__(self, spec: SearchSpec):
        self.spec = spec
        self.hp = kt.HyperParameters()
        self._to: dict[str, dict[str, object]] = {}  # key -> point_key(value) -> hp value
        self._from: dict[str, dict[object, object]] = {}  # key -> hp value -> value
        for p in spec.params:
            if p.values is not None:
                types = {type(v) for v in p.values}
                scalar = len(types) == 1 and types <= {int, float, str, bool}
                held = p.values if scalar else [json.dumps(v, sort_keys=True) for v in p.values]
                self.hp.Choice(p.key, held)
                self._to[p.key] = {grid_mod.point_key({"v": v}): h
                                   for v, h in zip(p.values, held, strict=True)}  # fmt: skip
                self._from[p.key] = dict(zip(held, p.values, strict=True))
            else:
                r, make = p.range, (self.hp.Int if p.is_int_range else self.hp.Float)
                lo, hi = (r["min"], r["max"]) if p.is_int_range else (float(r["min"]),
                                                                        float(r["max"]))
                make(p.key, lo, hi, step=r.get("step"), sampling=r.get("sampling", "linear"))

    def decode(self, hp_values: dict) -> dict:
        """A trial's keras-tuner values back to config values."""
        out = {}
        for p in self.spec.params:
            value = hp_values[p.key]
            out[p.key] = self._from[p.key].get(value, value) if p.key in self._from else value
        return out

    def encode(self, values: dict) -> dict:
        """Config values to the scalars keras-tuner holds."""
        return {k: self._to[k][grid_mod.point_key({"v": v})] if k in self._to else v
                for k, v in values.items()}  # fmt: skip


def _seeded(oracle, seed: int):
    """keras-tuner reads a seed of 0 as "no seed" and draws one; set it after the fact."""
    oracle.seed = oracle._seed_state = seed
    return oracle


def planned_points(spec: SearchSpec, space: Space) -> list[dict]:
    """Every point a grid or random search will train, in order.

    Random points are drawn by keras-tuner's own RandomSearchOracle from the search
    seed, all at once, so they are known up front like a grid's.
    """
    if spec.tuner == "grid":
        return spec.grid_points()
    oracle = _seeded(kt.oracles.RandomSearchOracle(
        objective=kt.Objective(spec.objective, spec.direction), max_trials=spec.max_trials,
        hyperparameters=space.hp,
    ), spec.seed)  # fmt: skip
    points = []
    for _ in range(spec.max_trials):
        values = oracle._random_values()
        if values is None:  # the space has fewer distinct points than max_trials
            break
        oracle._tried_so_far.add(oracle._compute_values_hash(values))
        points.append(space.decode(values))
    return points


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
        """Create (or, with overwrite, recreate) the folder, take its lock, check that a
        resumed search is the same search, and clear what a crash left half-written."""
        try:
            self.root.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise ConfigError(
                f"--runs-dir: cannot create {str(self.root)!r} ({exc.strerror})") from None
        self._lock()
        if overwrite:
            for child in self.root.iterdir():
                if child.name != ".lock":
                    shutil.rmtree(child) if child.is_dir() else child.unlink()
        self.check_same()
        self.trials.mkdir(exist_ok=True)
        for tmp in [*self.trials.glob(".*.tmp-*"), *self.root.glob(".*.tmp-*")]:
            shutil.rmtree(tmp) if tmp.is_dir() else tmp.unlink()
        runs_mod.atomic_write(self.root / "search.yaml", config_mod.dump(self.spec.resolved()))

    def _lock(self) -> None:
        """One chief per search folder: a second `dlexp search` on it would train the same
        points and delete the first one's temporary folders."""
        import fcntl

        self._lock_file = open(self.root / ".lock", "a+")  # noqa: SIM115 - held until exit
        try:
            fcntl.flock(self._lock_file, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            raise ConfigError(f"{self.root}: another dlexp search is running on this folder; "
                              "add workers to it with KERASTUNER_* (see README)") from None

    def close(self) -> None:
        lock = getattr(self, "_lock_file", None)
        if lock is not None:
            lock.close()
            self._lock_file = None

    def clean_tmp(self, pid: int) -> None:
        """Remove the half-trained folder of a worker process that died."""
        for tmp in self.trials.glob(f".*.tmp-{pid}"):
            shutil.rmtree(tmp, ignore_errors=True)

    @contextlib.contextmanager
    def _publish(self, name: str):
        """Yield a Run in a temporary folder; rename it to trials/<name>/ when the block
        ends, so that a trial folder that exists holds a run that has ended."""
        tmp = self.trials / f".{name}.tmp-{os.getpid()}"
        shutil.rmtree(tmp, ignore_errors=True)
        tmp.mkdir(parents=True)
        yield runs_mod.Run(tmp)
        final = self.trials / name
        if final.exists():
            shutil.rmtree(final)
        os.replace(tmp, final)

    def write_failed(self, name: str, cfg: dict | None, error: str) -> None:
        """A trial that could not even start (Keras refused its config): a run folder that
        says so, so that results.csv lists it and a resume does not retry it forever."""
        with self._publish(name) as run:
            if cfg is not None:
                run.write_text("config.yaml", config_mod.dump(cfg))
            now = runs_mod.now_iso()
            run.write_json("run.json", {"id": name, "status": "failed", "error": error,
                                        "started": now, "ended": now, "duration_s": 0,
                                        "versions": runs_mod.versions()})  # fmt: skip
            run.write_json("metrics.json", {})

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

    def read_run(self, name: str) -> runs_mod.RunRecord | None:
        """A trial run folder, read as the report reads runs; None while it has no
        readable run.json. Cached until run.json changes."""
        info_path = self.trials / name / "run.json"
        try:
            mtime = info_path.stat().st_mtime_ns
        except OSError:
            return None
        cached = self._cache.get(name)
        if cached and cached[0] == mtime:
            return cached[1]
        record = runs_mod.read_run(self.trials / name, name, search=self.spec.name)
        if not record.info:
            return None
        self._cache[name] = (mtime, record)
        return record

    def run_status(self, name: str) -> str | None:
        record = self.read_run(name)
        return record.status if record else None

    def trial_done(self, trial_id: str) -> bool:
        return all(self.run_status(n) in TERMINAL for n in self.spec.run_names(trial_id))

    def train(self, name: str, cfg: dict, data_cache: dict, on_epoch=None, weights=None,
              initial_epoch: int = 0) -> training.Outcome:  # fmt: skip
        """Train one run into trials/<name>/ (published when it ends)."""
        data_seed = cfg["data"]["seed"] if cfg["data"]["seed"] is not None else cfg["seed"]
        key = json.dumps([cfg["data"], data_seed], sort_keys=True)
        if key not in data_cache:
            data_cache.clear()
            data_cache[key] = data_mod.load(cfg["data"], cfg["seed"])
        exp = training.prepare(cfg, data_cache[key], weights=weights)
        with self._publish(name) as run:
            outcome = training.fit(exp, run, on_epoch, initial_epoch=initial_epoch)
        outcome.run = runs_mod.Run(self.trials / name)
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
        """One results.csv row: searched values, the objective, mean (and std over
        repeats) of every final metric, epochs, seconds, status."""
        spec = self.spec
        runs = [(n, r) for n in spec.run_names(trial_id) if (r := self.read_run(n))]
        if not runs:
            return None
        records = [r for _, r in runs]
        statuses = [r.status for r in records] + ["incomplete"] * (spec.repeats - len(runs))
        status = next((s for s in statuses if s != "completed"), "completed")
        row: dict = {"trial": trial_id, "status": status}
        for p in spec.params:
            row[p.key] = dotted_get(records[0].config, p.key)
        if spec.tuner == "hyperband":
            row["train.epochs"] = dotted_get(records[0].config, "train.epochs")
        objective = runs_mod.objective_key(spec.objective)
        keys = runs_mod.metric_keys(records)
        means, stds = runs_mod.aggregate(records, [objective, *keys, "epochs_run", "best_epoch"])
        scores = [r.metric(objective) for r in records]
        ok = status == "completed" and None not in scores
        row["score"] = means[objective] if ok else None
        if spec.repeats > 1:
            row["score_std"] = stds[objective] if ok else None
        for key in keys:
            row[key] = means[key]
            if spec.repeats > 1:
                row[f"{key}_std"] = stds[key]
        for key in ("epochs_run", "best_epoch"):
            row[key] = means[key] if spec.repeats > 1 else records[0].metric(key)
        row["seconds"] = round(sum(r.metric("seconds") or 0 for r in records), 3)
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


class _Hooks:
    """What the chief (or the single process) does when a trial starts or ends.
    A hook that fails is reported, never raised: it runs inside keras-tuner's lock,
    which an exception would leave held."""

    def __init__(self):
        self.on_start: Callable[[str, str], None] = lambda trial_id, tuner_id: None
        self.on_end: Callable[[str], None] = lambda trial_id: None
        self.trial_name: Callable[[object], str] = lambda trial: trial.trial_id

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


class _OracleMixin:
    """What dlexp adds to any keras-tuner oracle: state files written atomically (a
    kill -9 during a plain write leaves JSON keras-tuner cannot reload), the hooks,
    and handing a dead worker's trial to another."""

    hooks: _Hooks

    def save(self):
        runs_mod.write_json(self._get_oracle_fname(), self.get_state())

    def _save_trial(self, trial):
        runs_mod.write_json(Path(self._get_trial_dir(trial.trial_id)) / "trial.json",
                            trial.get_state())  # fmt: skip

    @synchronized
    def create_trial(self, tuner_id):
        trial = super().create_trial(tuner_id)
        if trial.status == "RUNNING":
            self.hooks.started(trial, tuner_id)
        return trial

    @synchronized
    def end_trial(self, trial):
        super().end_trial(trial)
        self.hooks.ended(self.trials[trial.trial_id])

    @synchronized
    def requeue(self, tuner_id: str) -> None:
        """A worker died: its trial goes back to the queue for another worker."""
        trial = self.ongoing_trials.pop(tuner_id, None)
        if trial is not None:
            self._retry_queue.append(trial.trial_id)

    @synchronized
    def idle(self) -> bool:
        """Nothing running and nothing waiting to run again."""
        return not self.ongoing_trials and not self._retry_queue

    def finished(self) -> bool:
        return False


class PlannedOracle(_OracleMixin, kt.Oracle):
    """Hands out a fixed list of points, skipping the finished ones; never IDLE."""

    def __init__(self, space: Space, points: list[dict], index: dict[str, int], done: set[int],
                 hooks: _Hooks, **kwargs):  # fmt: skip
        super().__init__(**kwargs)
        self.space, self.points, self.index, self.hooks = space, points, index, hooks
        self.done = set(done)
        self._next = 0

    def populate_space(self, trial_id):
        while self._next < len(self.points) and self._next in self.done:
            self._next += 1
        if self._next >= len(self.points):
            return {"status": "STOPPED"}
        values = self.space.encode(self.points[self._next])
        self._next += 1
        return {"status": "RUNNING", "values": values}

    @synchronized
    def end_trial(self, trial):
        values = self.space.decode(self.trials[trial.trial_id].hyperparameters.values)
        self.done.add(self.index[grid_mod.point_key(values)])
        super().end_trial(trial)

    def finished(self) -> bool:
        return len(self.done) >= len(self.points)


def _adaptive_oracle(spec: SearchSpec, space: Space, hooks: _Hooks):
    """keras-tuner's Bayesian or Hyperband oracle, with dlexp's additions."""
    base = {"bayesian": kt.oracles.BayesianOptimizationOracle,
            "hyperband": kt.oracles.HyperbandOracle}[spec.tuner]  # fmt: skip
    cls = type(f"Dlexp{base.__name__}", (_OracleMixin, base), {})
    kwargs = dict(objective=kt.Objective(spec.objective, spec.direction),
                  hyperparameters=space.hp, tune_new_entries=False, allow_new_entries=False,
                  max_consecutive_failed_trials=10**9)  # fmt: skip
    if spec.tuner == "hyperband":
        oracle = cls(max_epochs=spec.base["train"]["epochs"], factor=spec.factor, **kwargs)
    else:
        oracle = cls(max_trials=spec.max_trials, **kwargs)
    oracle.hooks = hooks
    return _seeded(oracle, spec.seed)


# ---------------------------------------------------------------------------
# The tuner: keras-tuner's BaseTuner running dlexp trials
# ---------------------------------------------------------------------------


class TrialRunner(base_tuner.BaseTuner):
    """Runs each keras-tuner trial as dlexp runs (one per repeat) in the search folder."""

    def __init__(self, oracle, owner: Search, on_epoch: Callable | None = None):
        with contextlib.redirect_stdout(sys.stderr):  # keras-tuner prints "Reloading ..."
            super().__init__(oracle, directory=str(owner.store.root), project_name="tuner",
                             overwrite=False)  # fmt: skip
        self.owner, self.spec, self.store = owner, owner.spec, owner.store
        self.on_epoch = on_epoch
        self.data_cache: dict = {}
        self._idle = False
        create = self.oracle.create_trial

        def create_trial(tuner_id):
            trial = create(tuner_id)
            self._idle = trial.status == "IDLE"
            return trial

        self.oracle.create_trial = create_trial

    def reload(self):
        pass  # the chief has reloaded the oracle already; this tuner keeps no state

    def pre_create_trial(self):
        if self._idle:  # keras-tuner asks again at once after IDLE (Hyperband); do not spin
            time.sleep(0.5)

    def save(self):
        if not self._is_worker():
            self.oracle.save()

    def run_trial(self, trial, *args, **kwargs):
        spec = self.spec
        hp = trial.hyperparameters.values
        values = self.owner.space.decode(hp)
        trial_id = self.owner.name_of(trial)
        scores = []
        for repeat, name in enumerate(spec.run_names(trial_id)):
            done = self.store.read_run(name)
            if done is None or done.status not in TERMINAL:
                self._train(name, values, repeat, hp)
                done = self.store.read_run(name)
            if done and done.status == "completed":
                scores.append(done.metric(runs_mod.objective_key(spec.objective)))
        ok = len(scores) == spec.repeats and all(s is not None for s in scores)
        return {spec.objective: statistics.fmean(scores) if ok else float("nan")}

    def _train(self, name: str, values: dict, repeat: int, hp: dict) -> None:
        cfg = None
        try:
            cfg = self.spec.point_config(values, repeat)
            weights, initial_epoch = None, 0
            if "tuner/epochs" in hp:  # Hyperband: this many epochs, maybe continuing a trial
                cfg["train"]["epochs"] = int(hp["tuner/epochs"])
                if hp.get("tuner/trial_id"):
                    previous = self.store.trials / self.owner.name_of(hp["tuner/trial_id"])
                    if (previous / "model.keras").exists():
                        weights = previous / "model.keras"
                        initial_epoch = int(hp["tuner/initial_epoch"])
            hook = None
            if self.on_epoch is not None:
                def hook(epoch, row, _n=name, _epochs=cfg["train"]["epochs"]):
                    self.on_epoch(_n, epoch, _epochs)
            outcome = self.store.train(name, cfg, self.data_cache, hook, weights, initial_epoch)
        except ConfigError as exc:  # a point Keras or dlexp refuses
            self.store.write_failed(name, cfg, str(exc))
            return
        if outcome.status == "interrupted":
            raise KeyboardInterrupt


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


MAX_WORKER_RESTARTS = 3
STOP_GRACE_S = 30.0


class Search:
    """One search: its spec, its folder, its oracle, and the processes that train it."""

    def __init__(self, spec: SearchSpec, runs_dir: str | Path, view=None):
        self.spec = spec
        self.store = SearchStore(Path(runs_dir) / spec.name, spec)
        self.view = view or NullView()
        self.space = Space(spec)
        self.points: list[dict] = planned_points(spec, self.space) if spec.planned else []
        self.index = {grid_mod.point_key(p): i for i, p in enumerate(self.points)}
        self.width = spec.trial_width(len(self.points)) if spec.planned else 3
        self.hooks = _Hooks()
        self.hooks.trial_name = self.name_of
        self.oracle = None

    def name_of(self, trial_or_id) -> str:
        """A trial's folder name: its point's index for a planned search (so it is the
        same on every resume), keras-tuner's trial id otherwise."""
        if isinstance(trial_or_id, str):  # Hyperband's tuner/trial_id
            return f"t{int(trial_or_id):0{self.width}d}"
        if self.spec.planned:
            values = self.space.decode(trial_or_id.hyperparameters.values)
            return f"t{self.index[grid_mod.point_key(values)]:0{self.width}d}"
        return f"t{int(trial_or_id.trial_id):0{self.width}d}"

    def _make_oracle(self, done: set[int], chief: bool):
        """The oracle, with keras-tuner's state in ``tuner/``: cleared for a planned search
        (the trial folders say what is done), reloaded to resume an adaptive one."""
        if self.spec.planned:
            oracle = PlannedOracle(
                self.space, self.points, self.index, done, self.hooks,
                objective=kt.Objective(self.spec.objective, self.spec.direction),
                hyperparameters=self.space.hp, tune_new_entries=False,
                allow_new_entries=False, max_consecutive_failed_trials=10**9,
            )  # fmt: skip
        else:
            oracle = _adaptive_oracle(self.spec, self.space, self.hooks)
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
        done = set()
        if self.store.stored_spec() is not None:
            self.store.check_same()
            done = self._done_indexes() if spec.planned else set()
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

    def run(self, workers: int | None = None, overwrite: bool = False) -> SearchOutcome:
        """Run (or resume) the search; returns when it is finished or interrupted.

        Args:
            workers: worker processes to start here; None is one, in this process
                (none for a chief, which serves workers started elsewhere).
            overwrite: delete an earlier search of the same name first.
        """
        who = role()
        if who == "worker":
            return self._run_worker()
        distributed = who == "chief" or (workers or 1) > 1
        server = self._bind() if distributed else None  # a port problem leaves no folder
        try:
            self.store.open(overwrite)
            return self._run(server, (workers or 0) if distributed else 1)
        finally:
            if server is not None:
                server[0].stop(grace=1)
            self.store.close()

    def _run(self, server, workers: int) -> SearchOutcome:
        started = time.perf_counter()
        before = [r for r in self.store.rows() if r["status"] in TERMINAL]
        done = self._done_indexes() if self.spec.planned else set()
        if self.spec.planned and len(done) == len(self.points):
            return SearchOutcome("already finished", self.store, self.store.write_results())
        if not self.spec.planned and self.store.state().get("status") == "finished":
            return SearchOutcome("already finished", self.store, self.store.write_results())
        self.hooks.on_start, self.hooks.on_end = self._on_start, self._on_end
        self.oracle = self._make_oracle(done, chief=True)
        self.store.write_state("running")
        self.store.write_results()
        total = len(self.points) if self.spec.planned else self.spec.max_trials
        self.view.start(total, len(before))
        status, message = "finished", None
        try:
            if server is not None:
                message = self._serve(server, workers)
                status = "failed" if message else "finished"
            else:
                TrialRunner(self.oracle, self, on_epoch=self.view.epoch).search(verbose=0)
        except KeyboardInterrupt:
            status = "interrupted"
        finally:
            self.view.stop()
        rows = self.store.write_results()
        self.store.write_state(status, trials=len(rows))
        trained = sum(1 for r in rows if r["status"] in TERMINAL) - len(before)
        return SearchOutcome(status, self.store, rows, time.perf_counter() - started, message,
                             trained)  # fmt: skip

    # -- distributed ------------------------------------------------------------

    def _bind(self):
        """A gRPC server for keras-tuner's OracleServicer, bound but not yet serving."""
        import grpc

        if "KERASTUNER_ORACLE_IP" in os.environ:  # a chief that workers elsewhere reach
            ip, port = os.environ["KERASTUNER_ORACLE_IP"], os.environ["KERASTUNER_ORACLE_PORT"]
        else:
            ip, port = "127.0.0.1", "0"  # any free port, for workers started here
        server = grpc.server(futures.ThreadPoolExecutor(max_workers=1))
        try:
            bound = server.add_insecure_port(f"{ip}:{port}")
        except RuntimeError as exc:
            raise ConfigError(f"KERASTUNER_ORACLE_IP/PORT: cannot listen on {ip}:{port} "
                              f"({exc})") from None  # fmt: skip
        if not bound:
            raise ConfigError(f"KERASTUNER_ORACLE_IP/PORT: cannot listen on {ip}:{port}")
        local_ip = "127.0.0.1" if ip in ("0.0.0.0", "[::]", "::") else ip
        return server, local_ip, str(bound)

    def _serve(self, server_info, local_workers: int) -> str | None:
        """Serve the oracle until every trial is done (keras-tuner's own servicer; its
        start_server polls every 20 s and offers no hook for the live view).

        With local_workers > 0, start that many worker processes here, replacing one
        that dies (its trial goes to another); otherwise wait for workers elsewhere.
        """
        from keras_tuner.src import protos
        from keras_tuner.src.distribute.oracle_chief import OracleServicer

        server, ip, port = server_info
        servicer = OracleServicer(self.oracle)
        protos.get_service_grpc().add_OracleServicer_to_server(servicer, server)
        server.start()
        procs: dict[str, subprocess.Popen] = {}
        restarts = 0
        for i in range(1, local_workers + 1):
            procs[f"local{i}"] = self._start_worker(f"local{i}", ip, port)
        finished_at = None
        try:
            while True:
                time.sleep(0.2)
                for tuner_id, proc in list(procs.items()):
                    if proc.poll() is None:
                        continue
                    del procs[tuner_id]
                    if proc.returncode != 0:
                        self.oracle.requeue(tuner_id)
                        self.store.clean_tmp(proc.pid)
                        if restarts < MAX_WORKER_RESTARTS * max(local_workers, 1):
                            restarts += 1
                            new_id = f"{tuner_id.split('-')[0]}-{restarts}"
                            procs[new_id] = self._start_worker(new_id, ip, port)
                done = self.oracle.finished() or (servicer.stop_triggered and self.oracle.idle())
                if done:
                    # let every worker hear "stop" before the server goes (keras-tuner's
                    # own chief waits for this too)
                    finished_at = finished_at or time.time()
                    if (not self.oracle.tuner_ids and not procs) or \
                            time.time() - finished_at > STOP_GRACE_S:  # fmt: skip
                        return None
                elif local_workers and not procs:
                    return (f"the workers kept failing; see {self.store.root / 'logs'}")
        finally:
            _stop_workers(procs)
            for proc in procs.values():
                self.store.clean_tmp(proc.pid)

    def _start_worker(self, tuner_id: str, ip: str, port: str) -> subprocess.Popen:
        logs = self.store.root / "logs"
        logs.mkdir(exist_ok=True)
        cmd = [sys.executable, "-m", "dlexp.cli", "search", str(self.spec.path), "--runs-dir",
               str(self.store.root.parent)]  # fmt: skip
        for override in self.spec.overrides:
            cmd += ["--set", override]
        env = {**os.environ, "KERASTUNER_TUNER_ID": tuner_id, "KERASTUNER_ORACLE_IP": ip,
               "KERASTUNER_ORACLE_PORT": port, "DLEXP_PARENT_PID": str(os.getpid())}
        with open(logs / f"{tuner_id}.log", "w") as log:
            return subprocess.Popen(cmd, env=env, stdout=log, stderr=subprocess.STDOUT,
                                    stdin=subprocess.DEVNULL)  # fmt: skip

    def _run_worker(self) -> SearchOutcome:
        """A worker: take trials from the chief until it says stop."""
        _exit_with_parent()
        started = time.perf_counter()
        self.oracle = self._make_oracle(set(), chief=False)
        runner = TrialRunner(self.oracle, self)
        runner.oracle.get_space()  # waits for the chief, which writes search.yaml first
        self.store.check_same()
        try:
            runner.search(verbose=0)
        except KeyboardInterrupt:
            return SearchOutcome("interrupted", self.store, seconds=time.perf_counter() - started)
        return SearchOutcome("finished", self.store, seconds=time.perf_counter() - started)


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
            proc.wait()


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
