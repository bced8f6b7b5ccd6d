"""`--tensorboard DIR`: runs and searches as TensorBoard logs, written from the run
folders with the `tensorboard` package's own writers (no TensorFlow).

Each run gets ``DIR/<run id>/`` with its per-epoch scalars (``train/loss``,
``validation/loss``, ..., ``learning_rate``); a search also gets the HParams plugin's
data (the searched keys and the final metrics of every trial), so TensorBoard's
HParams dashboard compares the trials: ``tensorboard --logdir DIR``.
"""

from __future__ import annotations

import json
from pathlib import Path

from dlexp import runs


class _Writer:
    """An event file written with tensorboard's RecordWriter on a plain file: its
    EventFileWriter goes through tf.io.gfile, which imports TensorFlow when installed."""

    def __init__(self, folder: Path):
        import socket
        import time

        from tensorboard.compat.proto import event_pb2
        from tensorboard.summary.writer.record_writer import RecordWriter

        folder.mkdir(parents=True, exist_ok=True)
        name = f"events.out.tfevents.{int(time.time())}.{socket.gethostname()}.dlexp"
        self._file = open(folder / name, "wb")  # noqa: SIM115 - closed by close()
        self._records = RecordWriter(self._file)
        self.add_event(event_pb2.Event(wall_time=time.time(), file_version="brain.Event:2"))

    def add_event(self, event) -> None:
        self._records.write(event.SerializeToString())

    def close(self) -> None:
        self._file.close()


def _writer(folder: Path) -> _Writer:
    return _Writer(folder)


def _scalar_event(tag: str, value: float, step: int):
    from tensorboard.compat.proto import event_pb2, summary_pb2

    summary = summary_pb2.Summary(value=[summary_pb2.Summary.Value(tag=tag, simple_value=value)])
    return event_pb2.Event(step=step, summary=summary)


def _summary_event(summary):
    from tensorboard.compat.proto import event_pb2

    return event_pb2.Event(summary=summary)


def write_run(record: runs.RunRecord, logdir: Path, name: str, hparams: dict | None = None):
    """One run's history as scalars in ``logdir/name``; with ``hparams``, also the
    HParams plugin's session data (its searched values and final metrics)."""
    writer = _writer(logdir / name)
    try:
        for row in record.history:
            epoch = int(row.get("epoch") or 0)
            for key, value in row.items():
                if key in ("epoch", "seconds") or value is None:
                    continue
                if key == "learning_rate":
                    tag = key
                elif key.startswith("val_"):
                    tag = f"validation/{key[4:]}"
                else:
                    tag = f"train/{key}"
                writer.add_event(_scalar_event(tag, float(value), epoch))
        if hparams is not None:
            from tensorboard.plugins.hparams import summary_v2

            writer.add_event(_summary_event(summary_v2.hparams_pb(hparams, trial_id=name)))
            for key in runs.metric_keys([record]):
                value = record.metric(key)
                if value is not None:
                    writer.add_event(_scalar_event(f"final/{key}", value, 0))
    finally:
        writer.close()


def _hp_value(value):
    """An HParams value: a number, a bool or text (a mapping such as an optimizer as JSON)."""
    if isinstance(value, (bool, int, float, str)):
        return value
    return json.dumps(value, sort_keys=True)


def write_search(folder: Path, logdir: Path) -> int:
    """Every trial of a search folder, with the HParams dashboard's configuration.

    Returns:
        How many runs were written.
    """
    from tensorboard.plugins.hparams import summary_v2

    from dlexp.report.collect import build

    report = build(folder)
    info = next(iter(report.searches.values()))
    keys = info.keys
    written = 0
    metrics = set()
    for entry in info.entries:
        hparams = {k: _hp_value(entry.hyperparameters.get(k)) for k in keys}
        for record in entry.records:
            write_run(record, logdir, f"{info.name}/{record.path.name}", hparams)
            metrics.update(runs.metric_keys([record]))
            written += 1
    config = summary_v2.hparams_config_pb(
        hparams=[summary_v2.HParam(k) for k in keys],
        metrics=[summary_v2.Metric(f"final/{m}", display_name=m) for m in sorted(metrics)],
    )
    writer = _writer(logdir / info.name)
    try:
        writer.add_event(_summary_event(config))
    finally:
        writer.close()
    return written
