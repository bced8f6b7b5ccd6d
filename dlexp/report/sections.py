"""The parts of the report's HTML page: the anchors and tables, a run's section (its
learning curves, decision boundary and test split) and the pictures of how it learned
(from learning.npz). A search's section is :mod:`dlexp.report.search_section`.

Each run is drawn as its task asks (run.json's ``data.task``; a run from before
regression, without it, is a classification): a classification's boundary, confusion
matrix and ROC; a regression's prediction over the plane, predicted against actual and
residuals."""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any

from dlexp.core.labels import label
from dlexp.report.images import Images, Picture
from dlexp.report.text import CLASSIFICATION_METRICS, REGRESSION_METRICS, num, params_text
from dlexp.runs import folder as runs_mod
from dlexp.runs.index import Entry, Report, settings, settings_text

REGRESSION = "regression"


def task_of(record: runs_mod.RunRecord) -> str:
    """A run's task, 'classification' or 'regression': run.json's ``data.task``, else
    config.yaml's ``data.task`` when it names one; a run written before regression
    says neither, and was a classification."""
    data = record.info.data if record.info is not None else None
    task = data.get("task") if isinstance(data, dict) else None
    if task is None and isinstance(record.config, dict):
        config = record.config.get("data")
        task = config.get("task") if isinstance(config, dict) else None
    return REGRESSION if task == REGRESSION else "classification"


def entry_task(e: Entry) -> str:
    """A row's task (its first run's: a trial's repeats share their config)."""
    return task_of(e.records[0]) if e.records else "classification"


def anchor(text: str) -> str:
    """A unique HTML id for any run id (slugs alone can collide)."""
    digest = hashlib.sha1(text.encode()).hexdigest()[:6]
    return f"{runs_mod.slug(text.replace('/', '--'))[:60]}-{digest}"


def short_key(key: str, keys: list[str]) -> str:
    """A key's last part (``dropout``) when no other key ends the same, else the key."""
    last = key.split(".")[-1]
    return last if sum(k.split(".")[-1] == last for k in keys) == 1 else key


def table(
    report: Report,
    entries: list[Entry],
    varying: list[str] | None,
    metrics: list[str],
    anchors: set[str],
) -> dict[str, Any]:
    """Rows with a column per key in ``varying``, or (None) one 'settings' column."""
    apart = settings(report) if varying is None else {}
    columns = ["settings"] if varying is None else [short_key(k, varying) for k in varying]
    head = ["id", "status", *columns, "params", "epochs"]
    head += [*(m.replace("_", " ") for m in metrics), "s"]
    rows = []
    for e in entries:
        if anchor(e.id) in anchors:
            href = anchor(e.id)
        elif e.search is not None:
            href = anchor("search/" + e.search)
        else:
            href = None
        if varying is None:
            cells = [settings_text(apart[e.id], limit=12)]
        else:
            cells = [label(e.hyperparameters.get(k)) for k in varying]
        numbers = [params_text(e), num(e.metrics.get("epochs_run"), digits=0)]
        numbers += [num(e.metrics.get(m), e.std.get(m)) for m in metrics]
        numbers.append(num(e.metrics.get("seconds"), digits=1))
        rows.append(
            {
                "id": e.id,
                "href": href,
                "best": e.best,
                "noise": e.within_noise,
                "status": e.status,
                "cells": cells,
                "numbers": numbers,
            }
        )
    return {
        "head": head,
        "left": 2 + len(columns),
        "value_class": "l set" if varying is None else "l",
        "rows": rows,
    }


class Learning:
    """What each run's ``learning.npz`` holds (the names of its arrays, read from the
    file's index without loading them), and a warning for one that cannot be read."""

    def __init__(self) -> None:
        self.known: dict[Path, frozenset[str] | None] = {}
        self.warnings: list[str] = []

    def arrays(self, record: runs_mod.RunRecord, entry: Entry | None = None) -> frozenset[str]:
        """The arrays in the run's learning.npz (none when it has no such file; none,
        with a warning, when the file is damaged)."""
        path = record.path / "learning.npz"
        if path not in self.known:
            self.known[path] = None
            if path.is_file():
                import numpy as np

                try:
                    with np.load(path, allow_pickle=False) as npz:
                        self.known[path] = frozenset(npz.files)
                except Exception as exc:  # noqa: BLE001 - any damage in a run's file
                    warning = f"{record.path}: learning.npz is damaged ({type(exc).__name__})"
                    self.warnings.append(warning)
                    if entry is not None:
                        entry.warnings.append(warning)
        return self.known[path] or frozenset()

    def has_batches(self, record: runs_mod.RunRecord, entry: Entry | None = None) -> bool:
        return {"batch_loss", "batch_epoch"} <= self.arrays(record, entry)


def _learning_pictures(
    images: Images, e: Entry, r: runs_mod.RunRecord, learning: Learning
) -> tuple[Picture | None, list[Picture]]:
    """How a run learned, from its learning.npz: the boundary epoch by epoch (the
    strip, which the page gives a line of its own), and the network with its weights,
    the weights' histogram and every batch's loss."""
    arrays = learning.arrays(r, e)
    npz = r.path / "learning.npz"
    regression = task_of(r) == REGRESSION
    strip, out = None, []
    if {"xs", "ys", "snapshot_epochs", "snapshot_proba"} <= arrays:
        points = r.path / "boundary.npz"
        what = "prediction" if regression else "boundary"
        strip = images.add(
            f"strip-{e.id}",
            f"the {'prediction' if regression else 'decision boundary'} of {e.id} epoch by epoch",
            "learning_strip",
            str(npz),
            str(points) if points.exists() else None,
            title=f"the {what} while it learned: {r.path.name}",
            regression=regression,
            sources=(npz, points),
        )
    if "kernel_1" in arrays:
        out.append(
            images.add(
                f"network-{e.id}",
                f"the network of {e.id}: each hidden unit's output, links as wide as |weight|",
                "network",
                str(npz),
                regression=regression,
                sources=(npz,),
            )
        )
        out.append(
            images.add(
                f"weights-{e.id}",
                f"histogram of the kernel weights of {e.id}",
                "weights",
                str(npz),
                sources=(npz,),
            )
        )
    if learning.has_batches(r, e):
        out.append(
            images.add(
                f"batches-{e.id}",
                f"the loss of every batch of {e.id}",
                "batch_loss",
                [(_batch_label(r, r.path.name), str(npz))],
                sources=(npz,),
            )
        )
    return strip, out


def _batch_label(r: runs_mod.RunRecord, name: str) -> str:
    """A run's name with its batch size (from config.yaml): 'moons-1a2b3c, batch 32'."""
    train = r.config.get("train") if isinstance(r.config, dict) else None
    size = train.get("batch_size") if isinstance(train, dict) else None
    return f"{name}, batch {label(size)}" if size is not None else name


def batch_overlay(
    images: Images, stem: str, pairs: list[tuple[str, runs_mod.RunRecord]], title: str
) -> Picture | None:
    """Several runs' per-batch loss on one chart (None for fewer than two)."""
    if len(pairs) < 2:
        return None
    npzs = [r.path / "learning.npz" for _, r in pairs]
    return images.add(
        stem,
        "the loss of every batch, runs overlaid",
        "batch_loss",
        [(_batch_label(r, name), str(npz)) for (name, r), npz in zip(pairs, npzs, strict=True)],
        title=title,
        sources=tuple(npzs),
    )


def _loss_name(r: runs_mod.RunRecord) -> str:
    """The loss a run trained on (run.json's output.loss: mse, huber, ...)."""
    output = r.info.output if r.info is not None else None
    loss = output.get("loss") if isinstance(output, dict) else None
    return loss if isinstance(loss, str) else "loss"


def run_section(images: Images, e: Entry, learning: Learning) -> dict[str, Any]:
    """A run's (or trial's) learning curves and decision boundary, and how it learned."""
    pictures: list[Picture] = []
    strips: list[Picture] = []
    inside: list[Picture] = []
    for r in e.records[:1] if e.kind == "trial" else e.records:
        regression = task_of(r) == REGRESSION
        if r.history:
            pictures.append(
                images.add(
                    f"curves-{e.id}",
                    f"learning curves of {e.id}",
                    "curves",
                    str(r.path),
                    title=r.path.name,
                    best_epoch=r.metric("best_epoch"),
                    stopped_early=r.metrics.stopped_early is True,
                    **(
                        {"loss_title": f"loss ({_loss_name(r)}, standardized)"}
                        if regression
                        else {}
                    ),
                    sources=(r.path / "history.csv",),
                )
            )
        predictions = r.path / "predictions.npz"
        if predictions.exists():
            shows = (
                "predicted against actual, and the residuals,"
                if regression
                else "confusion matrix and ROC curve"
            )
            pictures.append(
                images.add(
                    f"evaluation-{e.id}",
                    f"{shows} of {e.id} on the test split",
                    "evaluation",
                    str(predictions),
                    title=f"test split: {r.path.name}",
                    sources=(predictions,),
                )
            )
        npz = r.path / "boundary.npz"
        if npz.exists():
            shows = "prediction over the plane" if regression else "decision boundary"
            pictures.append(
                images.add(
                    f"boundary-{e.id}",
                    f"{shows} of {e.id}",
                    "boundary",
                    str(npz),
                    title=f"{shows}: {r.path.name}",
                    sources=(npz,),
                )
            )
        strip, more = _learning_pictures(images, e, r, learning)
        strips += [strip] if strip else []
        inside += more
    return {
        "anchor": anchor(e.id),
        "id": e.id,
        "status": e.status,
        "best": e.best,
        "warnings": e.warnings,
        "pictures": pictures,
        "strips": strips,
        "inside": inside,
    }


def overlay_metrics(entries: list[Entry]) -> list[str]:
    """The metrics the runs-overlaid charts show: loss, accuracy, and for regression rmse
    and r2 (mae without them), those the runs' histories have."""
    logged: set[str] = set()
    for e in entries:
        for r in e.records[:1]:
            logged |= set(r.history[0]) if r.history else set()
    names = [m for m in ("loss", *CLASSIFICATION_METRICS) if m in logged]
    names += [m for m in REGRESSION_METRICS if m in logged][:2]
    return names or ["loss"]


def by_task(entries: list[Entry]) -> list[tuple[str, list[Entry]]]:
    """The entries grouped by task, classification first: one group (named '') when
    they share one, since one task's loss says nothing of another's."""
    groups: dict[str, list[Entry]] = {}
    for e in entries:
        groups.setdefault(entry_task(e), []).append(e)
    if len(groups) <= 1:
        return [("", list(entries))]
    return sorted(groups.items(), key=lambda kv: kv[0] == REGRESSION)
