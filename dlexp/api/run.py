"""``Run``: one run folder as Python sees it: its status, resolved config, metrics,
history as a DataFrame, its Keras model on request, predictions and pictures.

Read from the folder each time it is asked (so a run another process is training
shows its latest state); Keras and pandas are imported only by what needs them."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from dlexp.api import html as show
from dlexp.core.errors import ConfigError

# Run.plot's kinds: (the file it is drawn from, what it shows)
PLOTS = {
    "curves": ("history.csv", "the learning curves (loss and metrics by epoch)"),
    "boundary": (
        "boundary.npz",
        "the decision boundary (regression: the prediction) over the plane",
    ),
    "evaluation": (
        "predictions.npz",
        "the test split's confusion matrix and ROC curve (regression: predicted against actual)",
    ),
    "learning": ("learning.npz", "the boundary epoch by epoch (train.record)"),
    "network": ("learning.npz", "the network with each hidden unit's output (train.record)"),
    "weights": ("learning.npz", "the kernel weights' histogram (train.record)"),
    "batches": ("learning.npz", "the loss of every batch (train.log_every: batch)"),
}

# the metrics summary_line shows per split: the first of these the split has; for
# regression its rmse and r2 both
SUMMARY_METRICS = {
    "classification": [("accuracy", "loss")],
    "regression": [("rmse", "mae"), ("r2",), ("loss",)],
}


class Run:
    """One run folder (as ``dlexp train`` or a search's trial writes it).

    Args:
        path: the run folder (it holds run.json; an older dlexp's, config.yaml and
            metrics.json).

    Raises:
        ConfigError: ``path`` is not a run folder.
    """

    def __init__(self, path: str | Path):
        from dlexp.runs.index import is_run_folder

        self.path = Path(path)
        if not self.path.is_dir() or not is_run_folder(self.path):
            raise ConfigError(f"{self.path}: not a run folder (it holds no run.json)")
        self._model = None

    def __repr__(self) -> str:
        return f"Run({str(self.path)!r}, status={self.status!r})"

    def __eq__(self, other) -> bool:
        return isinstance(other, Run) and self.path.resolve() == other.path.resolve()

    def __hash__(self) -> int:
        return hash(self.path.resolve())

    def _record(self):
        from dlexp.runs.read import read_run

        return read_run(self.path)

    @property
    def id(self) -> str:
        """The run's id: its folder's name (``moons-1a2b3c``, or ``t003-r1`` in a search)."""
        return self.path.name

    @property
    def status(self) -> str:
        """How the run stands: ``completed``, ``diverged``, ``failed``, ``interrupted``,
        ``running``, or ``stale`` (says running, but its process is gone)."""
        return str(self._record().status)

    @property
    def config(self) -> dict:
        """The resolved config the run trained (config.yaml): every key, defaults filled."""
        return self._record().config

    @property
    def metrics(self) -> dict[str, dict[str, float]]:
        """The final metrics by split: ``{"train": {...}, "val": {...}, "test": {...}}``
        (a split only when it was evaluated), each metric name to its value."""
        return self._record().metrics.splits()

    @property
    def info(self) -> dict:
        """How training went (metrics.json less the splits): params, epochs_run,
        best_epoch, stopped_early, monitor, fit_seconds."""
        data = self._record().metrics.to_json()
        return {k: v for k, v in data.items() if k not in ("train", "val", "test")}

    @property
    def error(self) -> str | None:
        """Why a failed run failed (run.json's error), else None."""
        info = self._record().info
        return info.error if info is not None else None

    @property
    def history(self):
        """history.csv as a ``pandas.DataFrame``: one row per epoch run (``epoch``,
        ``loss``, each metric and its ``val_`` twin, ``lr``)."""
        import pandas as pd

        path = self.path / "history.csv"
        if not path.is_file() or not path.stat().st_size:
            return pd.DataFrame()
        return pd.read_csv(path)

    def model(self):
        """The run's ``keras.Model`` (model.keras), loaded on the first call (this is
        what imports Keras) and kept.

        Raises:
            ConfigError: no model.keras, or a damaged one.
        """
        if self._model is None:
            from dlexp.use.predict import load_model

            self._model = load_model(self.path)
        return self._model

    def predict(self, points) -> Any:
        """What the model predicts for ``points`` (rows of feature values, or a
        DataFrame holding the run's feature columns): a ``pandas.DataFrame`` with the
        features, ``proba_<class>`` per class and ``predicted``, the numbers
        ``dlexp predict`` prints; for regression the features and ``predicted`` (or
        ``predicted_<target>`` for each of several), in the target's units.

        Raises:
            ConfigError: points that do not fit the run's features, no model, or a
                model whose outputs are not finite (a diverged run).
        """
        import numpy as np
        import pandas as pd

        from dlexp.use import predict as predict_mod

        names, classes = predict_mod.features(self.path)
        if isinstance(points, pd.DataFrame):
            missing = [n for n in names if n not in points.columns]
            if missing:
                raise ConfigError(
                    f"no column {missing[0]!r}; the run's features are {', '.join(names)}",
                    "points",
                )
            points = points[names].to_numpy()
        try:
            x = np.asarray(points, dtype=np.float64)
        except (TypeError, ValueError):
            raise ConfigError(
                "expected rows of numbers, e.g. [[0.5, -0.2], [1, 0]]", "points"
            ) from None
        if x.ndim == 1:
            x = x[None, :]
        if x.ndim != 2 or x.shape[1] != len(names) or not len(x):
            raise ConfigError(
                f"expected rows of {len(names)} numbers ({', '.join(names)}), "
                f"got shape {tuple(x.shape)}",
                "points",
            )
        if not np.isfinite(x).all():
            raise ConfigError("expected finite numbers, got NaN or infinity", "points")
        records = predict_mod.predict_points(self.path, x, names, classes, self.model())
        return pd.DataFrame.from_records(records)

    def plot(self, kind: str = "curves"):
        """One of the report's pictures of this run, as a ``matplotlib.figure.Figure``
        (shown inline in a notebook): ``curves``, ``boundary``, ``evaluation``,
        ``learning`` (the boundary epoch by epoch), ``network``, ``weights`` or
        ``batches``; the last four need ``train.record`` (``batches``:
        ``train.log_every: batch``). For a regression run, ``boundary`` is the
        prediction over the plane, ``evaluation`` predicted against actual and the
        residuals, ``learning`` the prediction epoch by epoch (the report's pictures).

        Raises:
            ConfigError: an unknown kind, or one the run has no data for.
        """
        return show.inline(self._figure(kind))

    @property
    def task(self) -> str:
        """``classification`` or ``regression`` (run.json's data.task; an older run's,
        which does not say, is a classification)."""
        info = self._record().info
        return ((info.data if info is not None else None) or {}).get("task") or "classification"

    def _figure(self, kind: str):
        """The Figure of ``kind`` (see :meth:`plot`)."""
        from dlexp.core.errors import unknown_name
        from dlexp.report import plots
        from dlexp.report.images import LEARNING, load_npz

        if kind not in PLOTS:
            raise unknown_name("kind", kind, list(PLOTS))
        source = self.path / PLOTS[kind][0]
        if not source.is_file():
            raise ConfigError(f"{self.path}: has no {source.name}, so no {kind} plot", "kind")
        name = self.path.name
        if kind == "curves":
            record = self._record()
            return plots.learning_curves_figure(
                record.history,
                name,
                best_epoch=record.metric("best_epoch"),
                stopped_early=record.metrics.stopped_early is True,
            )
        if kind == "boundary":  # for regression, the prediction over the plane
            what = "prediction" if self.task == "regression" else "decision boundary"
            return plots.boundary_figure(load_npz(str(source)), f"{what}: {name}")
        if kind == "evaluation":
            return plots.evaluation_figure(load_npz(str(source)), f"test split: {name}")
        if kind == "batches":
            arrays = load_npz(str(source), LEARNING["batch_loss"])
            if "batch_loss" not in arrays:
                raise ConfigError(f"{self.path}: recorded no batch losses", "kind")
            return plots.batch_loss_figure([(name, arrays)])
        key = {"learning": "learning_strip"}.get(kind, kind)
        arrays = load_npz(str(source), LEARNING[key])
        if kind == "learning":
            points = self.path / "boundary.npz"
            extra = load_npz(str(points), LEARNING[key]) if points.is_file() else None
            if "snapshot_proba" not in arrays:
                raise ConfigError(f"{self.path}: recorded no boundary snapshots", "kind")
            return plots.learning_strip_figure(
                arrays, extra, f"the boundary while it learned: {name}"
            )
        if "kernel_1" not in arrays:
            raise ConfigError(f"{self.path}: recorded no weights", "kind")
        if kind == "network":
            return plots.network_figure(arrays)[0]
        return plots.weights_figure(arrays)

    def summary_line(self) -> str:
        """One line: the run, how it ended, its epochs and its main figures."""
        record = self._record()
        m = record.metrics
        parts = [f"{self.id}: {record.status}"]
        if m.epochs_run is not None:
            parts.append(f"{m.epochs_run} epochs")
        groups = SUMMARY_METRICS[self.task if self.task in SUMMARY_METRICS else "classification"]
        for split in ("val", "test"):
            values = getattr(m, split) or {}
            shown = []
            for keys in groups:
                key = next((k for k in keys if k in values), None)
                if key is not None and (key != "loss" or not shown):  # loss when nothing else
                    shown.append(f"{split}_{key} {show.number(values[key])}")
            parts += shown
        if record.info is not None and record.info.error and record.status == "failed":
            parts.append(record.info.error.splitlines()[0][:120])
        return ", ".join(parts) + f" ({self.path})"

    def _repr_html_(self) -> str:
        record = self._record()
        splits = record.metrics.splits()
        names = list(dict.fromkeys(k for values in splits.values() for k in values))
        rows = [[n] + [splits[s].get(n) for s in splits] for n in names]
        m = record.metrics
        facts = [
            ("status", str(record.status)),
            ("params", m.params),
            ("epochs run", m.epochs_run),
            ("best epoch", m.best_epoch),
            ("stopped early", m.stopped_early),
        ]
        parts = [
            show.table(["metric", *splits], rows) if rows else "",
            show.table(["", ""], [f for f in facts if f[1] is not None]),
        ]
        npz = self.path / "boundary.npz"
        if npz.is_file():
            try:
                parts.append(show.picture(self.plot("boundary")))
            except Exception:  # noqa: BLE001 - a damaged picture costs the picture only
                pass
        return show.heading(f"Run {self.id}", str(self.path)) + show.side_by_side(*parts)
