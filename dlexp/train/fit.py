"""Training one config into one run folder.

This module imports Keras; the CLI imports it only when something trains. The
Keras backend defaults to JAX (``dlexp.backend``; ``KERAS_BACKEND`` overrides it),
which fits these small networks about three times faster than the TensorFlow backend
(docs/performance.md). Its folder is written by ``writer.RunWriter``, as a stack's are.
"""

from __future__ import annotations

import json
import math
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import keras
import numpy as np

from dlexp import backend
from dlexp.core import interrupt
from dlexp.core.errors import ConfigError
from dlexp.data import Dataset
from dlexp.model import build as models
from dlexp.runs.folder import Metrics, Run, Status, write_failed
from dlexp.train.writer import (  # noqa: F401 - Outcome, best_epoch: importers use them from here
    BoundaryGrid,
    Outcome,
    RunWriter,
    best_epoch,
    divergence,
    epoch_row,
    f32,
    ordered,
)

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


def batch_size(cfg: dict, n_train: int) -> int:
    """The rows of one batch: ``train.batch_size``, at most the training rows (all of
    them for ``full``). A run alone and a stack batch alike."""
    bs = cfg["train"]["batch_size"]
    return n_train if bs == "full" else min(bs, n_train)


def seed_everything(seed: int) -> None:
    """Python, NumPy and the backend's seeds; TensorFlow also gets deterministic ops.

    First, ``backend.setup()``: every run, alone or in a stack, seeds before it builds
    its model, so Keras is set up before it trains."""
    backend.setup()
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
    layout = models.output_layout(cfg, data.n_outputs, data.target_scale)
    n_train = len(data.x_train)
    size = batch_size(cfg, n_train)
    steps = math.ceil(n_train / size)
    try:
        models.check_fits(cfg, data.n_features, data.n_outputs, min(EVAL_BATCH, n_train))
        model = models.build(
            cfg, data.n_features, data.n_outputs, data.standardize, data.target_scale
        )
        # log_every: batch needs Keras to call back after every batch
        per_call = 1 if cfg["train"]["log_every"] == "batch" else steps
        models.compile_model(model, cfg, layout, per_call)
        if weights is not None:  # the optimizer's state too, so training continues
            model.optimizer.build(model.trainable_variables)
            model.load_weights(weights)
    except (ValueError, TypeError) as exc:
        raise models.refused(exc) from None
    return Experiment(cfg, data, model, layout, size, steps)


def host_state(model) -> tuple[list[np.ndarray], list[np.ndarray]]:
    """A copy, in host memory, of the model's weights and its optimizer's variables."""
    slots = model.optimizer.variables if model.optimizer is not None else []
    return model.get_weights(), [keras.ops.convert_to_numpy(v) for v in slots]


class _Recorder(keras.callbacks.Callback):
    """Keeps one row per epoch (every logged metric, the learning rate, the seconds) and
    rewrites history.csv after each epoch, so an interrupted run keeps its history;
    keeps a host copy of the weights each epoch ended with (``kept``), which an
    interrupted run saves whatever Keras was doing with its own."""

    def __init__(self, writer: RunWriter, on_epoch: EpochHook | None):
        super().__init__()
        self.writer, self.on_epoch = writer, on_epoch
        self.kept: tuple[list, list] | None = None

    def on_epoch_begin(self, epoch, logs=None):
        self._t0 = time.perf_counter()

    def on_epoch_end(self, epoch, logs=None):
        logs = dict(logs or {})
        lr = logs.pop("learning_rate", None)
        if lr is None:
            lr = keras.ops.convert_to_numpy(self.model.optimizer.learning_rate)
        row = epoch_row(epoch + 1, logs, lr, time.perf_counter() - self._t0)
        self.kept = host_state(self.model)  # before the row: a row has its weights kept
        self.writer.epoch(row)
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


def boundary(exp: Experiment) -> dict[str, np.ndarray]:
    """Predictions on a grid over the data's bounding box, for drawing without TensorFlow."""
    grid = BoundaryGrid(exp.data)
    return grid.arrays(exp.model.predict(grid.points, batch_size=EVAL_BATCH, verbose=0))


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
    writer = RunWriter(run, cfg, exp.params, exp.layout, d)
    try:
        writer.start()
    except KeyboardInterrupt:  # run.json may say running: it says interrupted now
        return _end(writer, Status.INTERRUPTED, None, Metrics(params=exp.params))
    recorder = _Recorder(writer, on_epoch)
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
                callbacks=_callbacks(exp, recorder, writer.record),
                initial_epoch=initial_epoch,
            )
        finally:
            interrupt.defer()  # from here a Ctrl-C is noted only: the run's files end whole
    except KeyboardInterrupt:
        status = Status.INTERRUPTED
    except Exception as exc:  # a bug or a resource failure, not the user's input
        status, error = writer.failed(exc)
    fit_seconds = time.perf_counter() - fit_start
    rows = writer.rows
    if status == Status.COMPLETED and rows and divergence(rows[-1]):
        status, error = Status.DIVERGED, divergence(rows[-1])
    stopped = len(rows) < cfg["train"]["epochs"] - initial_epoch
    metrics = writer.metrics(status, stopped, fit_seconds)
    try:
        if status in (Status.COMPLETED, Status.DIVERGED):
            for split, values in evaluate(exp).items():
                setattr(metrics, split, values)
            proba = exp.model.predict(d.x_test, batch_size=EVAL_BATCH, verbose=0)
            plane = (lambda: boundary(exp)) if d.n_features == 2 else None
            writer.save(status, exp.model, proba, plane)
        elif status == Status.INTERRUPTED and rows:  # what it had: its last weights
            restore(exp.model, recorder.kept)
            writer.keep_last(metrics, exp.model)
        writer.write_metrics(metrics)
    except Exception as exc:  # out of memory, a full disk: the run fails, and says why
        status, error = writer.failed(exc)
    return _end(writer, status, error, metrics)


def _end(writer: RunWriter, status: Status, error, metrics: Metrics) -> Outcome:
    """run.json as a run ends. A run.json that cannot be written (a full disk) leaves the
    one that says running, which readers call stale once its process is gone."""
    try:
        return writer.end(status, error, metrics)
    except OSError as exc:
        return writer.unwritten(error, metrics, exc)


def restore(model, kept: tuple[list, list]) -> None:
    """An interrupted run's weights (and optimizer state): those of the last epoch that
    ended, from the host copy ``_Recorder`` took then.

    Never the model's as the interrupt left them: on JAX, Keras' fit holds the weights
    in its own state while it trains, emptying the model's variables, and an interrupt
    as an epoch begins (or during validation) leaves them empty or halfway through an
    epoch."""
    weights, slots = kept
    model.set_weights(weights)
    for variable, value in zip(model.optimizer.variables, slots, strict=True):
        variable.assign(value)


def keep_last_weights(model, run: Run, kept: tuple[list, list]) -> None:
    """model.keras with the weights ``restore`` gives back."""
    restore(model, kept)
    run.save_model(model)


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
    prune: Callable[[int, dict], bool] | None = None  # after an epoch: whether it stops (a stack's)

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
        from dlexp import config
        from dlexp import data as data_mod

        data_seed = config.data_seed(cfg)
        key = json.dumps({**cfg["data"], "seed": data_seed}, sort_keys=True)
        if key not in self._data:
            base = json.dumps({**cfg["data"], "seed": data_seed, "cv": None}, sort_keys=True)
            if base != self._base:  # the folds of one dataset are kept together
                self._data.clear()
                self._base = base
            self._data[key] = loaded or data_mod.load(cfg["data"], cfg["seed"])
        return self._data[key]
