"""Training one config into one run folder.

This module imports Keras; the CLI imports it only when something trains. The
Keras backend defaults to JAX (set in ``dlexp/__init__.py``; ``KERAS_BACKEND``
overrides it), which fits these small networks about three times faster than the
TensorFlow backend (README, "Speed").
"""

from __future__ import annotations

import json
import math
import os
import socket
import sys
import time
import traceback
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import keras
import numpy as np

from dlexp.core import interrupt
from dlexp.core.errors import ConfigError, describe, machine_fault
from dlexp.data import Dataset
from dlexp.model import build as models
from dlexp.runs.folder import (
    Metrics,
    Run,
    RunInfo,
    Status,
    direction,
    now_iso,
    versions,
    write_failed,
)
from dlexp.train import learning

BOUNDARY_RESOLUTION = 120
EVAL_BATCH = 4096

EpochHook = Callable[[int, dict], None]


@dataclass
class Experiment:
    """A compiled model with its data, ready to fit."""

    cfg: dict
    data: Dataset
    model: object
    layout: models.OutputLayout
    batch_size: int
    steps_per_epoch: int

    @property
    def params(self) -> int:
        return int(self.model.count_params())


@dataclass
class Outcome:
    """How a run ended: its status, metrics and folder."""

    run: Run
    status: Status
    metrics: Metrics = field(default_factory=Metrics)
    error: str | None = None
    machine: bool = False  # failed for lack of disk or memory: a search retries it

    @property
    def exit_code(self) -> int:
        return self.status.exit_code


def _skip_tensorflow_on_other_backends() -> None:
    """On JAX, let Keras behave as it does where TensorFlow is not installed.

    Keras checks ``module_utils.tensorflow.available`` in set_random_seed and in model
    serialisation, which imports all of TensorFlow (3.5 s) only to seed tf.data or to
    recognise tf.TensorShape, neither of which dlexp uses. That check is one shared
    lazy module; answering "not available" for it keeps TensorFlow out of the process.
    """
    if keras.backend.backend() == "tensorflow":
        return
    try:
        from keras.src.utils import module_utils
    except ImportError:  # a Keras without that module: nothing to skip
        return
    lazy = getattr(module_utils, "tensorflow", None)
    if lazy is not None and getattr(lazy, "module", None) is None:
        lazy._available = False


_skip_tensorflow_on_other_backends()


def cache_dir() -> Path | None:
    """Where compiled XLA programs are kept between runs; None when turned off.

    ``$DLEXP_CACHE_DIR`` sets it (empty turns it off); the default is
    ``$XDG_CACHE_HOME/dlexp/xla`` (``~/.cache/dlexp/xla``).
    """
    if "DLEXP_CACHE_DIR" in os.environ:
        value = os.environ["DLEXP_CACHE_DIR"].strip()
        return Path(value) if value else None
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base) / "dlexp" / "xla"


def _enable_compilation_cache() -> None:
    """Reuse compiled train/test steps across runs and processes (JAX backend).

    Compiling takes 2-3 s of a 100-epoch run of a small network; the same model
    compiled once is then loaded from disk in milliseconds (measured on the moons
    config: 3.5 s -> 1.1 s from fit to saved run). The compiled program is the same,
    so results do not change.
    """
    path = cache_dir()
    if keras.backend.backend() != "jax" or path is None:
        return
    import jax

    try:
        path.mkdir(parents=True, exist_ok=True)
    except OSError:
        return  # a read-only home: run without the cache
    jax.config.update("jax_compilation_cache_dir", str(path))
    jax.config.update("jax_persistent_cache_min_compile_time_secs", 0)
    jax.config.update("jax_persistent_cache_min_entry_size_bytes", 0)


_enable_compilation_cache()


def seed_everything(seed: int) -> None:
    """Python, NumPy and the backend's seeds; TensorFlow also gets deterministic ops."""
    keras.utils.set_random_seed(seed)
    if keras.backend.backend() == "tensorflow":
        import tensorflow as tf

        tf.config.experimental.enable_op_determinism()


_RUNS_SINCE_RELEASE = [0]
RELEASE_EVERY = 10


def _release_compiled() -> None:
    """Drop JAX's in-memory compiled programs every few runs in one process.

    JAX keeps the compiled steps of models long gone (399 -> 494 MiB over the 72
    trials of configs/grid.yaml). Clearing before every run holds memory flat but
    slows a search (41.6 -> 59.8 s at 3 epochs a trial), since even the shared small
    programs must be reloaded; clearing every 10th run bounds memory at nearly the
    speed of never clearing (``bench/search_memory.py`` measures all three).
    """
    if keras.backend.backend() != "jax" or RELEASE_EVERY <= 0:
        return
    _RUNS_SINCE_RELEASE[0] += 1
    if _RUNS_SINCE_RELEASE[0] >= RELEASE_EVERY:
        import jax

        jax.clear_caches()
        _RUNS_SINCE_RELEASE[0] = 0


def prepare(cfg: dict, data: Dataset, weights: str | Path | None = None) -> Experiment:
    """Seed, build and compile the model for a resolved config.

    Args:
        cfg: the resolved config.
        data: its dataset.
        weights: a saved model whose weights to start from (Hyperband continues a
            trial this way).

    Raises:
        ConfigError: when Keras refuses the model the config describes.
    """
    keras.backend.clear_session()  # each run starts from a clean slate (memory, layer names)
    _release_compiled()
    seed_everything(cfg["seed"])
    layout = models.output_layout(cfg, data.n_classes)
    n_train = len(data.x_train)
    bs = cfg["train"]["batch_size"]
    batch_size = n_train if bs == "full" else min(bs, n_train)
    steps = math.ceil(n_train / batch_size)
    try:
        models.check_fits(cfg, data.n_features, data.n_classes, min(EVAL_BATCH, n_train))
        model = models.build(cfg, data.n_features, data.n_classes, data.standardize)
        # log_every: batch needs Keras to call back after every batch
        per_call = 1 if cfg["train"]["log_every"] == "batch" else steps
        models.compile_model(model, cfg, layout, per_call)
        if weights is not None:  # the optimizer's state too, so training continues
            model.optimizer.build(model.trainable_variables)
            model.load_weights(weights)
    except (ValueError, TypeError) as exc:
        raise models.refused(exc) from None
    return Experiment(cfg, data, model, layout, batch_size, steps)


def f32(value) -> float:
    """A float32 metric as the shortest decimal that reads back to it (0.01, not
    0.009999999776482582): the files stay readable and lose nothing."""
    return float(str(np.float32(value)))


def ordered(logs: dict) -> dict:
    """Loss first, then the metrics, then their validation twins (Keras sorts by name)."""

    def key(name: str):
        base = name[4:] if name.startswith("val_") else name
        return (name.startswith("val_"), base != "loss")

    return {k: logs[k] for k in sorted(logs, key=key)}


def host_state(model) -> tuple[list[np.ndarray], list[np.ndarray]]:
    """A copy, in host memory, of the model's weights and its optimizer's variables."""
    slots = model.optimizer.variables if model.optimizer is not None else []
    return model.get_weights(), [keras.ops.convert_to_numpy(v) for v in slots]


class _Recorder(keras.callbacks.Callback):
    """Keeps one row per epoch (every logged metric, the learning rate, the seconds) and
    rewrites history.csv after each epoch, so an interrupted run keeps its history;
    keeps a host copy of the weights each epoch ended with (``kept``), which an
    interrupted run saves whatever Keras was doing with its own."""

    def __init__(self, run: Run | None, on_epoch: EpochHook | None):
        super().__init__()
        self.run, self.on_epoch, self.rows = run, on_epoch, []
        self.kept: tuple[list, list] | None = None

    def on_epoch_begin(self, epoch, logs=None):
        self._t0 = time.perf_counter()

    def on_epoch_end(self, epoch, logs=None):
        logs = dict(logs or {})
        lr = logs.pop("learning_rate", None)
        if lr is None:
            lr = keras.ops.convert_to_numpy(self.model.optimizer.learning_rate)
        row = {"epoch": epoch + 1, **{k: f32(v) for k, v in ordered(logs).items()}}
        row["learning_rate"] = f32(lr)
        row["seconds"] = round(time.perf_counter() - self._t0, 4)
        self.kept = host_state(self.model)  # before the row: a row has its weights kept
        self.rows.append(row)
        if self.run is not None:
            self.run.write_csv("history.csv", self.rows)
        if self.on_epoch is not None:
            self.on_epoch(epoch + 1, row)
        interrupt.check()  # a Ctrl-C that Keras or JAX swallowed stops the run here


class _Learning(keras.callbacks.Callback):
    """Keeps the run's learning record (``learning.Record``): a frame of the boundary at
    the epochs it wants, and with log_every: batch each batch's loss, recovered from
    the running mean Keras logs (its loss tracker weighs each batch by its rows)."""

    def __init__(self, record, exp: Experiment):
        super().__init__()
        self.record, self.exp = record, exp
        self.n_train = len(exp.data.x_train)

    def on_epoch_begin(self, epoch, logs=None):
        self._seen, self._mean, self._losses = 0, 0.0, []

    def on_train_batch_end(self, batch, logs=None):
        if not self.record.by_batch or not logs or "loss" not in logs:
            return
        rows = min(self.exp.batch_size, self.n_train - self._seen)
        mean = float(logs["loss"])
        total = self._seen + rows
        self._losses.append((mean * total - self._mean * self._seen) / rows)
        self._seen, self._mean = total, mean

    def on_epoch_end(self, epoch, logs=None):
        if self.record.by_batch:
            self.record.add_batches(epoch + 1, self._losses)
        last = bool(self.model.stop_training) or epoch + 1 == self.exp.cfg["train"]["epochs"]
        if self.record.wants(epoch + 1, last):
            points = self.record.grid.points
            self.record.add_frame(epoch + 1, self.model(points, training=False))


def _callbacks(exp: Experiment, recorder: _Recorder, record=None) -> list:
    train = exp.cfg["train"]
    out: list = [keras.callbacks.TerminateOnNaN()]
    es = train["early_stopping"]
    if es:
        out.append(
            keras.callbacks.EarlyStopping(
                monitor=es["monitor"],
                patience=es["patience"],
                min_delta=es["min_delta"],
                restore_best_weights=es["restore_best_weights"],
                mode="auto",
            )
        )
    schedule = train["lr_schedule"]
    if schedule and schedule["kind"] == "plateau":
        out.append(
            keras.callbacks.ReduceLROnPlateau(
                monitor=schedule["monitor"],
                factor=schedule["rate"],
                patience=schedule["patience"],
                min_lr=schedule["min_lr"],
            )
        )
    if record is not None and record.active:  # after early stopping: it knows the last epoch
        out.append(_Learning(record, exp))
    out.append(recorder)  # last, so it sees what the others changed this epoch
    return out


def evaluate(exp: Experiment) -> dict[str, dict[str, float]]:
    """Loss and every metric on each split, with the final (or restored best) weights."""
    out = {}
    for split, (x, y) in exp.data.splits().items():
        values = exp.model.evaluate(
            x, exp.layout.targets(y), batch_size=EVAL_BATCH, verbose=0, return_dict=True
        )
        out[split] = {k: f32(v) for k, v in ordered(values).items()}
    return out


class BoundaryGrid(learning.Grid):
    """The plane boundary.npz is drawn on (``learning.Grid`` at 120 x 120), in the data's
    own units: the model takes them as they are (it standardizes its inputs itself)."""

    def __init__(self, d: Dataset):
        super().__init__(d, BOUNDARY_RESOLUTION)
        self.data = d

    def arrays(self, proba: np.ndarray) -> dict[str, np.ndarray]:
        """What boundary.npz holds, given the model's predictions on ``points``."""
        d = self.data
        arrays = {
            "xs": self.xs,
            "ys": self.ys,
            "proba": proba.reshape(len(self.ys), len(self.xs), -1).astype(np.float32),
            "class_names": np.array(d.class_names),
        }
        for split, (x, y) in d.splits().items():
            arrays[f"x_{split}"] = x.astype(np.float32)
            arrays[f"y_{split}"] = y.astype(np.int16)
        return arrays


def boundary(exp: Experiment) -> dict[str, np.ndarray]:
    """Predictions on a grid over the data's bounding box, for drawing without TensorFlow."""
    grid = BoundaryGrid(exp.data)
    return grid.arrays(exp.model.predict(grid.points, batch_size=EVAL_BATCH, verbose=0))


def best_epoch(rows: list[dict], cfg: dict) -> int | None:
    """1-based epoch with the best monitored value: early stopping's monitor, else
    val_loss. None without validation (and without early stopping): the training loss
    chooses nothing, and the model kept is the last epoch's."""
    es = cfg["train"]["early_stopping"]
    if not es and not (rows and "val_loss" in rows[0]):
        return None
    monitor = es["monitor"] if es else "val_loss"
    values = [(r.get(monitor), r["epoch"]) for r in rows if r.get(monitor) is not None]
    values = [(v, e) for v, e in values if math.isfinite(v)]
    if not values:
        return None
    return (min if direction(monitor) == "min" else max)(values)[1]


def start_info(run: Run, cfg: dict, params: int, layout, d: Dataset, **extra) -> RunInfo:
    """run.json as a run starts: what runs, who runs it, its model and its data."""
    return RunInfo(
        id=run.id,
        name=cfg.get("name"),
        status=Status.RUNNING,
        started=now_iso(),
        seed=cfg["seed"],
        command=sys.argv,
        worker=os.environ.get("KERASTUNER_TUNER_ID"),  # the search worker, if any
        host=socket.gethostname(),
        pid=os.getpid(),
        versions=versions(keras.backend.backend()),
        params=params,
        widths=models.hidden_widths(cfg["model"], layout.units),
        output={"units": layout.units, "activation": layout.activation, "loss": layout.loss},
        data={
            "n_train": len(d.x_train),
            "n_val": 0 if d.x_val is None else len(d.x_val),
            "n_test": len(d.x_test),
            "n_features": d.n_features,
            "n_classes": d.n_classes,
            "feature_names": d.feature_names,
            "class_names": d.class_names,
        },
        **extra,
    )


def fit(
    exp: Experiment, run: Run, on_epoch: EpochHook | None = None, initial_epoch: int = 0
) -> Outcome:
    """Train, evaluate and write the run folder; never raises for a failed or stopped run.

    The run ends ``completed``, ``diverged`` (the loss became NaN or infinite: Keras'
    TerminateOnNaN stops it), ``interrupted`` (Ctrl-C: the history so far is kept,
    and model.keras with the weights of the last epoch that ended) or ``failed`` (an
    exception; its traceback goes to run.json). After a first Ctrl-C, more are noted
    only (``interrupt.guarded``): the run's last files are written whole.
    """
    with interrupt.guarded():
        return _fit(exp, run, on_epoch, initial_epoch)


def _fit(exp: Experiment, run: Run, on_epoch: EpochHook | None, initial_epoch: int) -> Outcome:
    cfg, d = exp.cfg, exp.data
    started = time.time()
    info = start_info(run, cfg, exp.params, exp.layout, d)
    try:
        run.write_config(cfg)
        run.write_info(info)
    except KeyboardInterrupt:  # run.json may say running: it says interrupted now
        return end_run(run, info, Status.INTERRUPTED, None, started, Metrics(params=exp.params))
    recorder = _Recorder(run, on_epoch)
    record = learning.Record(cfg, d)
    val = None
    if d.x_val is not None:
        val = (d.x_val, exp.layout.targets(d.y_val))
    status, error = Status.COMPLETED, None
    fit_start = time.perf_counter()
    try:
        try:
            exp.model.fit(
                d.x_train,
                exp.layout.targets(d.y_train),
                batch_size=exp.batch_size,
                epochs=cfg["train"]["epochs"],
                validation_data=val,
                validation_batch_size=EVAL_BATCH,
                shuffle=True,
                verbose=0,
                callbacks=_callbacks(exp, recorder, record),
                initial_epoch=initial_epoch,
            )
        finally:
            interrupt.defer()  # from here a Ctrl-C is noted only: the run's files end whole
    except KeyboardInterrupt:
        status = Status.INTERRUPTED
    except Exception as exc:  # a bug or a resource failure, not the user's input
        status, error = Status.FAILED, describe(exc)
        info.traceback = traceback.format_exc()
        info.fault = "machine" if machine_fault(exc) else None
    fit_seconds = time.perf_counter() - fit_start
    rows = recorder.rows
    if status == Status.COMPLETED and rows and not math.isfinite(rows[-1].get("loss", 0.0)):
        status = Status.DIVERGED
        error = f"the loss became {rows[-1]['loss']} at epoch {rows[-1]['epoch']}"
    es = cfg["train"]["early_stopping"]
    metrics = Metrics(
        params=exp.params,
        epochs_run=len(rows),
        best_epoch=best_epoch(rows, cfg),
        stopped_early=bool(es)
        and status == Status.COMPLETED
        and len(rows) < cfg["train"]["epochs"] - initial_epoch,
        monitor=es["monitor"] if es else None,
        fit_seconds=round(fit_seconds, 3),
    )
    try:
        if status in (Status.COMPLETED, Status.DIVERGED):
            for split, values in evaluate(exp).items():
                setattr(metrics, split, values)
            run.save_model(exp.model)
            proba = exp.model.predict(d.x_test, batch_size=EVAL_BATCH, verbose=0)
            save_predictions(run, d, proba)
            if d.n_features == 2 and status == Status.COMPLETED:
                run.save_npz("boundary.npz", **boundary(exp))
            if record.active:
                run.save_npz("learning.npz", **record.arrays(learning.dense_weights(exp.model)))
        elif status == Status.INTERRUPTED and rows:  # what it had: its last weights
            last_metrics(metrics, rows)
            keep_last_weights(exp.model, run, recorder.kept)
        run.write_metrics(metrics)
    except Exception as exc:  # out of memory, a full disk: the run fails, and says why
        status, error = Status.FAILED, describe(exc)
        info.traceback = traceback.format_exc()
        info.fault = "machine" if machine_fault(exc) else None
    return end_run(run, info, status, error, started, metrics)


def keep_last_weights(model, run: Run, kept: tuple[list, list]) -> None:
    """An interrupted run's model.keras: the weights (and optimizer state) of the last
    epoch that ended, from the host copy ``_Recorder`` took then.

    Never from the model as the interrupt left it: on JAX, Keras' fit holds the weights
    in its own state while it trains, emptying the model's variables, and an interrupt
    as an epoch begins (or during validation) leaves them empty or halfway through an
    epoch."""
    weights, slots = kept
    model.set_weights(weights)
    for variable, value in zip(model.optimizer.variables, slots, strict=True):
        variable.assign(value)
    run.save_model(model)


def save_predictions(run: Run, d: Dataset, proba: np.ndarray) -> None:
    """predictions.npz: the test split's labels and the model's probabilities, for the
    report's confusion matrix and ROC curve."""
    run.save_npz(
        "predictions.npz",
        y_true=d.y_test.astype(np.int16),
        proba=np.asarray(proba, np.float32),
        class_names=np.array(d.class_names),
    )


def end_run(run: Run, info: RunInfo, status: Status, error, started: float, metrics) -> Outcome:
    """run.json as a run ends. A run.json that cannot be written (a full disk) leaves the
    one that says running, which readers call stale once its process is gone."""
    info.status, info.error = status, error
    info.ended, info.duration_s = now_iso(), round(time.time() - started, 3)
    try:
        run.write_info(info)
    except OSError as exc:
        status, error = Status.FAILED, f"{error + '; ' if error else ''}{describe(exc)}"
        info.fault = "machine" if machine_fault(exc) else info.fault
    return Outcome(run, status, metrics, error, info.fault == "machine")


def last_metrics(metrics: Metrics, rows: list[dict]) -> None:
    """An interrupted run's metrics: its last epoch's, from its history (no test split)."""
    last = rows[-1]
    skip = ("epoch", "learning_rate", "seconds")
    metrics.train = {k: v for k, v in last.items() if k not in skip and not k.startswith("val_")}
    val = {k[4:]: v for k, v in last.items() if k.startswith("val_")}
    metrics.val = val or None


def train_config(
    cfg: dict, runs_dir, on_epoch: EpochHook | None = None, dataset: Dataset | None = None
) -> Outcome:
    """Everything ``dlexp train`` does for a resolved config: data (unless given), model,
    run folder, fit.

    Bad input raises ConfigError before the run folder exists, so a mistake leaves
    nothing behind.
    """
    from dlexp import data as data_mod
    from dlexp.runs.folder import create_run

    if dataset is None:
        dataset = data_mod.load(cfg["data"], cfg["seed"])
    exp = prepare(cfg, dataset)
    run = create_run(runs_dir, cfg["name"] or "run")
    return fit(exp, run, on_epoch)


@dataclass
class TrialJob:
    """One run of a search to train: its resolved config and the folder to train it in."""

    name: str  # the run's name in the search (t007, t007-r1)
    cfg: dict
    run: Run  # a temporary folder, renamed to trials/<name>/ when the run has ended
    on_epoch: EpochHook | None = None
    weights: Path | None = None  # Hyperband: continue from this saved model
    initial_epoch: int = 0
    on_end: Callable[[Outcome], None] | None = None  # called once the run is committed
    # publishes the folders of runs that ended together (a stack's) as one; the search's
    on_commit: Callable[[Sequence[tuple[TrialJob, Outcome]]], None] | None = None

    def ended(self, outcome: Outcome) -> None:
        if self.on_end is not None:
            self.on_end(outcome)


def commit(ended: Sequence[tuple[TrialJob, Outcome]]) -> None:
    """Runs whose folders are complete (every member of a stack that ended, or one run):
    each ``on_commit`` publishes its jobs' folders at once, so that a kill leaves all of
    them published or none; then each job is told how it ended (``on_end``)."""
    hooks: dict[int, tuple[Callable, list]] = {}
    for job, outcome in ended:
        if job.on_commit is not None:
            hooks.setdefault(id(job.on_commit), (job.on_commit, []))[1].append((job, outcome))
    for hook, together in hooks.values():
        hook(together)
    for job, outcome in ended:
        job.ended(outcome)


def stops(outcome: Outcome) -> bool:
    """Whether the runs after this one are left untrained: Ctrl-C, or the machine
    failed it (a full disk fails the next run too)."""
    return outcome.status == Status.INTERRUPTED or outcome.machine


class TrialTrainer:
    """The search's default trainer: trains the jobs it is handed one after another,
    each exactly as ``dlexp train`` would, keeping the last dataset for the next job
    with the same data. A job whose config Keras refuses becomes a failed run; after
    an interrupted job, or one the machine failed, it stops."""

    def __init__(self):
        self._data: dict[str, Dataset] = {}
        self._base: str | None = None

    def __call__(self, jobs: Sequence[TrialJob]) -> list[Outcome]:
        outcomes = []
        for job in jobs:
            outcomes.append(self.train(job))
            commit([(job, outcomes[-1])])
            if stops(outcomes[-1]):
                break
        return outcomes

    def train(self, job: TrialJob) -> Outcome:
        try:
            exp = prepare(job.cfg, self.dataset(job.cfg), weights=job.weights)
        except ConfigError as exc:
            write_failed(job.run, job.cfg, str(exc))
            return Outcome(job.run, Status.FAILED, error=str(exc))
        return fit(exp, job.run, job.on_epoch, initial_epoch=job.initial_epoch)

    def dataset(self, cfg: dict, loaded: Dataset | None = None) -> Dataset:
        """The config's dataset, loaded once for every run with the same data (or
        ``loaded``, when the caller has it already)."""
        from dlexp import data as data_mod

        data_seed = cfg["data"]["seed"] if cfg["data"]["seed"] is not None else cfg["seed"]
        key = json.dumps({**cfg["data"], "seed": data_seed}, sort_keys=True)
        if key not in self._data:
            base = json.dumps({**cfg["data"], "seed": data_seed, "cv": None}, sort_keys=True)
            if base != self._base:  # the folds of one dataset are kept together
                self._data.clear()
                self._base = base
            self._data[key] = loaded or data_mod.load(cfg["data"], cfg["seed"])
        return self._data[key]
