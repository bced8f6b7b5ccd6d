"""`--tensorboard DIR`: runs and searches as TensorBoard logs, written from the run
folders with the `tensorboard` package's own protos (no TensorFlow).

Each run gets the layout of Keras' own ``TensorBoard`` callback, so dlexp's logs and
Keras' overlay: ``DIR/<run id>/train/`` and ``DIR/<run id>/validation/`` with the
tags ``epoch_loss``, ``epoch_accuracy``, ... (and ``epoch_learning_rate`` under
``train``), one value per epoch at steps 0, 1, ... as Keras numbers them. A search
also gets the HParams plugin's data: each trial's searched values (a mapping such as
``{name: sgd, momentum: 0.9}`` flattened to ``train.optimizer``,
``train.optimizer.momentum``, ... each with its type), its final metrics and how it
ended, and the experiment's configuration with the search's objective first, so
TensorBoard's HParams dashboard compares the trials: ``tensorboard --logdir DIR``.

Writing again replaces dlexp's own event files of a folder, so every tag holds each
step once, in order.
"""

from __future__ import annotations

import socket
import time
from datetime import datetime
from pathlib import Path

from dlexp.core.files import atomic_write
from dlexp.runs import folder as runs

SUFFIX = ".dlexp"  # the end of the event files dlexp writes (and replaces)


class _Writer:
    """One event file, built in memory and written atomically on :meth:`close`, in
    place of the event files dlexp wrote in that folder before. Events go through
    tensorboard's RecordWriter on a plain buffer: its EventFileWriter goes through
    tf.io.gfile, which imports TensorFlow when installed."""

    def __init__(self, folder: Path, wall_time: float | None = None):
        import io

        from tensorboard.compat.proto import event_pb2
        from tensorboard.summary.writer.record_writer import RecordWriter

        self.folder = folder
        self.wall_time = time.time() if wall_time is None else wall_time
        self._buffer = io.BytesIO()
        self._records = RecordWriter(self._buffer)
        self.add(event_pb2.Event(wall_time=self.wall_time, file_version="brain.Event:2"))

    def add(self, event) -> None:
        if not event.wall_time:
            event.wall_time = self.wall_time
        self._records.write(event.SerializeToString())

    def close(self) -> None:
        self.folder.mkdir(parents=True, exist_ok=True)
        name = f"events.out.tfevents.{int(self.wall_time)}.{socket.gethostname()}{SUFFIX}"
        old = [p for p in self.folder.glob(f"events.out.tfevents.*{SUFFIX}") if p.name != name]
        atomic_write(self.folder / name, self._buffer.getvalue())
        for path in old:
            path.unlink(missing_ok=True)


def _scalar(tag: str, value: float, step: int, wall_time: float | None = None):
    from tensorboard.compat.proto import event_pb2, summary_pb2

    summary = summary_pb2.Summary(value=[summary_pb2.Summary.Value(tag=tag, simple_value=value)])
    return event_pb2.Event(step=step, summary=summary, wall_time=wall_time or 0.0)


def _event(summary):
    from tensorboard.compat.proto import event_pb2

    return event_pb2.Event(step=0, summary=summary)


def _plugin_event(tag: str, data):
    """An event holding the HParams plugin's ``data`` (an HParamsPluginData), as
    ``summary_v2`` builds it (whose own session_end_pb would import TensorFlow)."""
    from tensorboard.compat.proto import summary_pb2
    from tensorboard.plugins.hparams import metadata

    summary = summary_pb2.Summary()
    summary.value.add(
        tag=tag, metadata=metadata.create_summary_metadata(data), tensor=metadata.NULL_TENSOR
    )
    return _event(summary)


def _seconds(stamp: str | None) -> float | None:
    """run.json's ISO time as seconds since the epoch (None when missing or damaged)."""
    try:
        return datetime.fromisoformat(str(stamp)).timestamp() if stamp else None
    except ValueError:
        return None


def _times(record: runs.RunRecord) -> tuple[float | None, list[float | None]]:
    """When the run started, and when each epoch of its history ended (from its
    per-epoch seconds), so TensorBoard's relative time axis means something."""
    start = _seconds(record.info.started if record.info else None)
    out, clock = [], start
    for row in record.history:
        seconds = row.get("seconds")
        if clock is not None and isinstance(seconds, (int, float)):
            clock += seconds
        out.append(clock)
    return start, out


def _split(key: str) -> tuple[str, str]:
    """A history column as Keras' callback logs it: (folder, tag)."""
    if key.startswith("val_"):
        return "validation", f"epoch_{key[4:]}"
    return "train", f"epoch_{key}"


def write_run(record: runs.RunRecord, logdir: Path, name: str, session: dict | None = None):
    """One run's history as Keras' TensorBoard callback lays it out, in
    ``logdir/name/train`` and ``logdir/name/validation``.

    With ``session`` (from :func:`write_search`: ``hparams``, ``group`` and
    ``objective``), also the HParams plugin's session in ``logdir/name``: its start (the
    searched values), its final metrics (``final/<split>_<metric>``) and its end (the
    run's status)."""
    start, ends = _times(record)
    writers: dict[str, _Writer] = {}
    for i, (row, wall) in enumerate(zip(record.history, ends, strict=True)):
        epoch = row.get("epoch")
        step = int(epoch) - 1 if isinstance(epoch, (int, float)) else i  # Keras counts from 0
        for key, value in row.items():
            if key in ("epoch", "seconds") or value is None:
                continue
            folder, tag = _split(key)
            if folder not in writers:
                writers[folder] = _Writer(logdir / name / folder, start)
            writers[folder].add(_scalar(tag, float(value), step, wall))
    if session is not None:
        writers[""] = _session(record, logdir / name, session, start, ends[-1] if ends else None)
    for writer in writers.values():
        writer.close()


def _session(record, folder: Path, session: dict, start, end) -> _Writer:
    from tensorboard.plugins.hparams import api_pb2, metadata, plugin_data_pb2, summary_v2

    writer = _Writer(folder, start)
    start_info = summary_v2.hparams_pb(session["hparams"], session["group"], writer.wall_time)
    writer.add(_event(start_info))
    finals = runs.metric_keys([record])
    objective = session.get("objective")
    if objective and objective not in finals:
        finals.insert(0, objective)
    for key in finals:
        value = record.metric(key)
        if value is not None:
            writer.add(_scalar(f"final/{key}", value, 0, end))
    # HParams knows no 'aborted': a run stopped before its end (interrupted, pruned,
    # or killed: stale) did not succeed
    status = {
        runs.Status.COMPLETED: api_pb2.STATUS_SUCCESS,
        runs.Status.FAILED: api_pb2.STATUS_FAILURE,
        runs.Status.DIVERGED: api_pb2.STATUS_FAILURE,
        runs.Status.INTERRUPTED: api_pb2.STATUS_FAILURE,
        runs.Status.PRUNED: api_pb2.STATUS_FAILURE,
        runs.Status.STALE: api_pb2.STATUS_FAILURE,
        runs.Status.RUNNING: api_pb2.STATUS_RUNNING,
    }.get(record.status, api_pb2.STATUS_UNKNOWN)
    ended = _seconds(record.info.ended if record.info else None) or end or writer.wall_time
    data = plugin_data_pb2.HParamsPluginData(
        session_end_info=plugin_data_pb2.SessionEndInfo(status=status, end_time_secs=ended)
    )
    writer.add(_plugin_event(metadata.SESSION_END_INFO_TAG, data))
    return writer


def flat_hparams(key: str, value) -> dict:
    """A searched value as HParams values (numbers, bools, text): a mapping such as an
    optimizer ``{name: sgd, momentum: 0.9}`` becomes ``key`` (its name) and
    ``key.momentum``; a list, or None, its text."""
    if isinstance(value, dict):
        out = {}
        for k, v in value.items():
            out.update(flat_hparams(key if k == "name" else f"{key}.{k}", v))
        return out
    if isinstance(value, (bool, int, float, str)):
        return {key: value}
    from dlexp.core.labels import label

    return {key: label(value)}


def _domain(values: list):
    """The HParams domain of a key's values: bool, float (ints too: HParams has no int
    type) or string; a key whose values mix types is string."""
    from tensorboard.plugins.hparams import summary_v2

    if all(isinstance(v, bool) for v in values):
        return summary_v2.Discrete(sorted(set(values)), dtype=bool)
    if all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in values):
        return summary_v2.Discrete(sorted({float(v) for v in values}), dtype=float)
    return summary_v2.Discrete(sorted({str(v) for v in values}), dtype=str)


def _better(metric: str) -> str:
    """Which way a metric is better (runs.direction: a loss or rmse lower, r2 higher)."""
    return f"{'lower' if runs.direction(metric) == 'min' else 'higher'} is better"


def write_search(folder: Path, logdir: Path) -> int:
    """Every trial of a search folder, with the HParams dashboard's configuration.

    Returns:
        How many runs were written.
    """
    from tensorboard.plugins.hparams import summary_v2

    from dlexp.runs.index import build

    report = build(folder)
    info = next(iter(report.searches.values()))
    objective = runs.objective_key(info.objective) if info.objective else None
    sessions = []
    for entry in info.entries:
        hparams: dict = {}
        for k in info.keys:
            hparams.update(flat_hparams(k, entry.hyperparameters.get(k)))
        for record in entry.records:
            sessions.append((record, f"{info.name}/{record.path.name}", hparams, entry.id))
    values: dict[str, list] = {}
    for _, _, hparams, _ in sessions:
        for k, v in hparams.items():
            values.setdefault(k, []).append(v)
    domains = {k: _domain(v) for k, v in values.items()}
    metrics: list[str] = [objective] if objective else []
    for record, name, hparams, group in sessions:
        typed = {k: str(v) if domains[k].dtype is str else v for k, v in hparams.items()}
        write_run(record, logdir, name, {"hparams": typed, "group": group, "objective": objective})
        metrics += [m for m in runs.metric_keys([record]) if m not in metrics]
    declared = [
        summary_v2.Metric(f"final/{m}", display_name=m, description=_better(m)) for m in metrics
    ]
    if objective:  # first, and named as the search names it (loss: final/train_loss)
        declared[0] = summary_v2.Metric(
            f"final/{objective}",
            display_name=f"{info.objective} (objective, {info.direction})",
            description=f"the search's objective ({_better(objective)})",
        )
    config = summary_v2.hparams_config_pb(
        hparams=[summary_v2.HParam(k, domains[k]) for k in domains], metrics=declared
    )
    writer = _Writer(logdir / info.name)
    writer.add(_event(config))
    writer.close()
    return len(sessions)
