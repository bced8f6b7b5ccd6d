"""The one writer of a run folder, for a run trained alone (``fit``) and for each member
of a stack (``stack.trainer``): both write their folders through ``RunWriter``, so that
a run trained alone and the same run trained in a stack give the same files.

A run folder's life: ``start`` (config.yaml, run.json saying running), ``epoch`` for each
epoch (history.csv rewritten with the new row), then ``save`` (a completed or diverged
run's model.keras, predictions.npz, boundary.npz, learning.npz) or ``keep_last`` (an
interrupted run's last weights), ``write_metrics``, and ``end`` (run.json with how it
ended). ``failed`` and ``unwritten`` word the failures, ``divergence`` a loss that is
no longer finite.
"""

from __future__ import annotations

import math
import os
import socket
import sys
import threading
import time
import traceback
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from dlexp.core.errors import describe, machine_fault
from dlexp.core.files import atomic_write, csv_text
from dlexp.data import Dataset
from dlexp.model import build as models
from dlexp.runs.folder import Metrics, Run, RunInfo, Status, direction, now_iso, pack, versions
from dlexp.train import learning

BOUNDARY_RESOLUTION = 120


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


def epoch_row(epoch: int, logs: dict, learning_rate, seconds: float) -> dict:
    """One row of history.csv: the 1-based epoch, every logged metric (loss first), the
    learning rate and the epoch's seconds."""
    row = {"epoch": epoch, **{k: f32(v) for k, v in ordered(logs).items()}}
    row["learning_rate"] = f32(learning_rate)
    row["seconds"] = round(seconds, 4)
    return row


def divergence(row: dict) -> str | None:
    """Why a run diverged, when this epoch's loss is no longer finite (NaN or
    infinite: Keras' TerminateOnNaN stops such a run); None while it is finite."""
    loss = row.get("loss", 0.0)
    if math.isfinite(loss):
        return None
    return f"the loss became {loss} at epoch {row['epoch']}"


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


def last_metrics(metrics: Metrics, rows: list[dict]) -> None:
    """An interrupted run's metrics: its last epoch's, from its history (no test split)."""
    last = rows[-1]
    skip = ("epoch", "learning_rate", "seconds")
    metrics.train = {k: v for k, v in last.items() if k not in skip and not k.startswith("val_")}
    val = {k[4:]: v for k, v in last.items() if k.startswith("val_")}
    metrics.val = val or None


def start_info(run: Run, cfg: dict, params: int, layout, d: Dataset, **extra) -> RunInfo:
    """run.json as a run starts: what runs, who runs it, its model and its data."""
    import keras

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
            "task": d.task,
            "target_names": d.target_names,
            "task_note": d.task_note,
        },
        **extra,
    )


class BoundaryGrid(learning.Grid):
    """The plane boundary.npz is drawn on (``learning.Grid`` at 120 x 120), in the data's
    own units: the model takes them as they are (it standardizes its inputs itself)."""

    def __init__(self, d: Dataset):
        super().__init__(d, BOUNDARY_RESOLUTION)
        self.data = d

    def arrays(self, proba: np.ndarray) -> dict[str, np.ndarray]:
        """What boundary.npz holds, given the model's predictions on ``points``: the plane
        packed as uint8 from its min to max, each split's points (and a regression's
        targets) as uint16 from each column's min to max (``runs.folder.pack``; a
        scatter of them looks the same, at about half the bytes of float32)."""
        d = self.data
        plane = proba.reshape(len(self.ys), len(self.xs), -1).astype(np.float32)
        arrays = {"xs": self.xs, "ys": self.ys}
        if d.regression:  # the prediction over the plane, in the target's units
            arrays.update(pack("predicted", plane, (0, 1)))
            arrays["target_names"] = np.array(d.target_names)
        else:
            arrays.update(pack("proba", plane, (0, 1)))
            arrays["class_names"] = np.array(d.class_names)
        for split, (x, y) in d.splits().items():
            arrays.update(pack(f"x_{split}", x, (0,), "uint16"))
            if d.regression:
                arrays.update(pack(f"y_{split}", y, (0,), "uint16"))
            else:
                arrays[f"y_{split}"] = y.astype(np.int16)
        return arrays


def save_predictions(run: Run, d: Dataset, proba: np.ndarray) -> None:
    """predictions.npz: the test split's labels and the model's probabilities, for the
    report's confusion matrix and ROC curve; for regression the test split's targets
    (``y_true``) and the model's predictions (``predicted``), in the target's units,
    for predicted against actual and the residuals."""
    if d.regression:
        run.save_npz(
            "predictions.npz",
            y_true=np.asarray(d.y_test, np.float32),
            predicted=np.asarray(proba, np.float32).reshape(len(d.y_test), -1),
            target_names=np.array(d.target_names),
        )
        return
    run.save_npz(
        "predictions.npz",
        y_true=d.y_test.astype(np.int16),
        proba=np.asarray(proba, np.float32),
        class_names=np.array(d.class_names),
    )


Put = Callable[[object, str], None]  # (path, text): writes a file whole


class RunWriter:
    """Writes one run's folder, from its start to its end.

    Args:
        run: the folder.
        cfg: the run's resolved config.
        params: its model's parameters.
        layout: its output layer (``models.OutputLayout``).
        data: its dataset.
        put: how history.csv is written (``atomic_write`` by default; a stack hands it
            to its ``Background`` thread).
        stack: for a member of a stack: its group, size and position (run.json's stack).
    """

    def __init__(
        self,
        run: Run,
        cfg: dict,
        params: int,
        layout,
        data: Dataset,
        put: Put | None = None,
        stack: dict | None = None,
    ):
        self.run, self.cfg, self.params, self.data = run, cfg, params, data
        self.put = put or atomic_write
        self.t0 = time.time()
        extra = {} if stack is None else {"stack": stack}
        self.info = start_info(run, cfg, params, layout, data, **extra)
        self.record = learning.Record(cfg, data)  # learning.npz, kept while it trains
        self.rows: list[dict] = []
        self.history = ""  # history.csv as written so far
        self._columns: list[str] = []

    def start(self, started: str | None = None) -> None:
        """config.yaml and run.json saying running (``started``: the stack's time)."""
        if started is not None:
            self.info.started = started
        self.run.write_config(self.cfg)
        self.run.write_info(self.info)

    def epoch(self, row: dict) -> None:
        """Keep an epoch's row (``epoch_row``) and rewrite history.csv with it."""
        self.rows.append(row)
        if self.history and set(row) <= set(self._columns):  # only the new line
            self.history += csv_text([row], self._columns).split("\n", 1)[1]
        else:  # the first row, or new columns: the whole file, as csv_text writes it
            self.history = csv_text(self.rows)
            self._columns = list(dict.fromkeys(k for r in self.rows for k in r))
        self.put(self.run.file("history.csv"), self.history)

    def flush_history(self) -> None:
        """history.csv as kept, written now (after a background write may have been lost)."""
        if self.history:
            atomic_write(self.run.file("history.csv"), self.history)

    def metrics(self, status: Status, stopped_early: bool, fit_seconds: float) -> Metrics:
        """metrics.json's account of the training (the splits' values are added later)."""
        es = self.cfg["train"]["early_stopping"]
        return Metrics(
            params=self.params,
            epochs_run=len(self.rows),
            best_epoch=best_epoch(self.rows, self.cfg),
            stopped_early=bool(es) and status == Status.COMPLETED and stopped_early,
            monitor=es["monitor"] if es else None,
            fit_seconds=round(fit_seconds, 3),
        )

    def save(self, status: Status, model, test_proba, boundary: Callable[[], dict] | None):
        """A completed, diverged or pruned run's files, from ``model`` with its final
        weights: model.keras (not a pruned run's: it was stopped for losing, and saving
        a Keras model costs more than the rest of its files), predictions.npz
        (``test_proba``: its probabilities on the test split), boundary.npz
        (``boundary()``: its arrays, for 2D data; a completed run only) and
        learning.npz (when the run keeps its learning)."""
        if status != Status.PRUNED:
            self.run.save_model(model)
        save_predictions(self.run, self.data, test_proba)
        if boundary is not None and status == Status.COMPLETED:
            self.run.save_npz("boundary.npz", **boundary())
        if self.record.active:
            weights = learning.dense_weights(model)
            self.run.save_npz("learning.npz", **self.record.arrays(weights))

    def keep_last(self, metrics: Metrics, model) -> None:
        """An interrupted run: its last epoch's metrics (from its history) and
        model.keras from ``model``, which holds the weights that epoch ended with."""
        last_metrics(metrics, self.rows)
        self.run.save_model(model)

    def write_metrics(self, metrics: Metrics) -> None:
        self.run.write_metrics(metrics)

    def failed(self, exc: BaseException, tb: str | None = None) -> tuple[Status, str]:
        """An exception fails the run: run.json keeps its traceback (``tb``, else the
        one being handled) and whether the machine failed it. Returns (failed, why)."""
        self.fault(traceback.format_exc() if tb is None else tb, machine_fault(exc))
        return Status.FAILED, describe(exc)

    def fault(self, tb: str | None, machine: bool) -> None:
        """What run.json says of a failure: its traceback, and "machine" for lack of
        disk or memory."""
        self.info.traceback = tb
        self.info.fault = "machine" if machine else None

    def end(
        self, status: Status, error: str | None, metrics: Metrics, seconds: float | None = None
    ) -> Outcome:
        """run.json as the run ends (``seconds``: its duration, by default since this
        writer was made). Raises OSError when run.json cannot be written."""
        info = self.info
        info.status, info.error = status, error
        info.ended = now_iso()
        info.duration_s = round(time.time() - self.t0 if seconds is None else seconds, 3)
        self.run.write_info(info)
        return Outcome(self.run, status, metrics, error, info.fault == "machine")

    def unwritten(self, error: str | None, metrics: Metrics, exc: OSError) -> Outcome:
        """A run whose files cannot be written (a full disk) fails, and says why; its
        run.json may still say running, which readers call stale once its process is
        gone, so no one counts it as done."""
        why = f"{error}; {describe(exc)}" if error else describe(exc)
        machine = machine_fault(exc) or self.info.fault == "machine"
        return Outcome(self.run, Status.FAILED, metrics, why, machine)


class Background:
    """Writes files atomically on a thread of its own, so that the next epoch runs
    while the last one's history is written; only the newest text of a file waits."""

    def __init__(self):
        self._pending: dict = {}
        self._lock = threading.Lock()
        self._wake = threading.Event()
        self._closing = False
        self.error: BaseException | None = None
        self._thread = threading.Thread(target=self._loop, name="dlexp-writer", daemon=True)
        self._thread.start()

    def put(self, path, text: str) -> None:
        if self.error is not None:
            raise self.error
        with self._lock:
            self._pending[path] = text
        self._wake.set()

    def _loop(self) -> None:
        while True:
            self._wake.wait()
            with self._lock:
                items, self._pending = self._pending, {}
                self._wake.clear()
            for path, text in items.items():
                try:
                    atomic_write(path, text)
                except BaseException as exc:  # noqa: BLE001 - raised on the main thread
                    self.error = exc
            if self._closing and not self._pending:
                return

    def close(self) -> None:
        """Write what is pending, and raise what failed."""
        self._closing = True
        self._wake.set()
        self._thread.join()
        if self.error is not None:
            raise self.error
