"""The report as an HTML page (``templates/index.html``, Jinja2 with autoescaping).

The page is described first (its tables, sections and pictures), then every picture is
drawn, then the page is rendered once: a picture that could not be drawn shows as a
warning in its place and in the page's list of warnings.
"""

from __future__ import annotations

import functools
import hashlib
import statistics
import time
from pathlib import Path
from typing import Any

from dlexp.core.errors import MachineFault, machine_fault
from dlexp.core.files import atomic_write
from dlexp.core.labels import MOST_RUNS, label, shown_of
from dlexp.report.images import Images, Picture
from dlexp.report.significance import noise_note
from dlexp.report.text import num, params_text, table_metrics
from dlexp.runs import folder as runs_mod
from dlexp.runs.index import Entry, Report, SearchInfo, settings, settings_text

TOP_TRIALS = 10  # trials per search drawn in full on the HTML page


@functools.lru_cache(maxsize=1)
def _template():
    import jinja2  # here, not at the top: the table, JSON and CSV do without it

    env = jinja2.Environment(
        loader=jinja2.PackageLoader("dlexp.report", "templates"),
        autoescape=jinja2.select_autoescape(["html"]),
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )
    env.filters["status_class"] = status_class
    return env.get_template("index.html")


def anchor(text: str) -> str:
    """A unique HTML id for any run id (slugs alone can collide)."""
    digest = hashlib.sha1(text.encode()).hexdigest()[:6]
    return f"{runs_mod.slug(text.replace('/', '--'))[:60]}-{digest}"


def status_class(status: str) -> str:
    """The CSS class of a status: status-completed, status-failed, ..."""
    return "status-" + "".join(c for c in status.lower() if "a" <= c <= "z")


def short_key(key: str, keys: list[str]) -> str:
    """A key's last part (``dropout``) when no other key ends the same, else the key."""
    last = key.split(".")[-1]
    return last if sum(k.split(".")[-1] == last for k in keys) == 1 else key


def _table(
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
    strip, out = None, []
    if {"xs", "ys", "snapshot_epochs", "snapshot_proba"} <= arrays:
        points = r.path / "boundary.npz"
        strip = images.add(
            f"strip-{e.id}",
            f"the decision boundary of {e.id} epoch by epoch",
            "learning_strip",
            str(npz),
            str(points) if points.exists() else None,
            title=f"the boundary while it learned: {r.path.name}",
            sources=(npz, points),
        )
    if "kernel_1" in arrays:
        out.append(
            images.add(
                f"network-{e.id}",
                f"the network of {e.id}: each hidden unit's output, links as wide as |weight|",
                "network",
                str(npz),
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


def _batch_overlay(
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


def _run_section(images: Images, e: Entry, learning: Learning) -> dict[str, Any]:
    """A run's (or trial's) learning curves and decision boundary, and how it learned."""
    pictures: list[Picture] = []
    strips: list[Picture] = []
    inside: list[Picture] = []
    for r in e.records[:1] if e.kind == "trial" else e.records:
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
                    sources=(r.path / "history.csv",),
                )
            )
        predictions = r.path / "predictions.npz"
        if predictions.exists():
            pictures.append(
                images.add(
                    f"evaluation-{e.id}",
                    f"confusion matrix and ROC curve of {e.id} on the test split",
                    "evaluation",
                    str(predictions),
                    title=f"test split: {r.path.name}",
                    sources=(predictions,),
                )
            )
        npz = r.path / "boundary.npz"
        if npz.exists():
            pictures.append(
                images.add(
                    f"boundary-{e.id}",
                    f"decision boundary of {e.id}",
                    "boundary",
                    str(npz),
                    title=f"decision boundary: {r.path.name}",
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


def _mean_history(entry: Entry) -> list[dict]:
    """The epoch-by-epoch mean over a trial's repeats (its only run's history otherwise)."""
    histories = [r.history for r in entry.records if r.history]
    if len(histories) <= 1:
        return histories[0] if histories else []
    n = min(len(h) for h in histories)
    out = []
    for i in range(n):
        row = {}
        for key in histories[0][i]:
            values = [h[i].get(key) for h in histories if h[i].get(key) is not None]
            row[key] = statistics.fmean(values) if values else None
        out.append(row)
    return out


def _overlay_metrics(entries: list[Entry]) -> list[str]:
    names = []
    for e in entries:
        for r in e.records[:1]:
            history = r.history
            names += [k for k in (history[0] if history else {}) if k in ("loss", "accuracy")]
    return list(dict.fromkeys(names)) or ["loss"]


def _search_section(
    images: Images, report: Report, info: SearchInfo, anchors: set[str], learning: Learning
) -> dict[str, Any]:
    """A search's summary, pictures of the objective, ranking and best trials."""
    entries = [e for e in report.entries if e.search == info.name]
    ranked = [e for e in info.ranked() if e in entries]
    best = ranked[0] if ranked else None
    keys = [k for k in info.keys if len({label(e.hyperparameters.get(k)) for e in entries}) > 1]
    scored = [
        {**{k: e.hyperparameters.get(k) for k in keys}, "score": info.score(e)} for e in ranked
    ]
    by_value: list[Picture] = []
    if scored and keys:
        by_value.append(
            images.add(
                f"search-{info.name}-params",
                f"{info.objective} against each searched value",
                "objective_vs_params",
                scored,
                keys,
                info.objective,
            )
        )
        if len(keys) >= 2:
            by_size = sorted(keys, key=lambda k: -len({label(s[k]) for s in scored}))
            by_value.append(
                images.add(
                    f"search-{info.name}-heatmap",
                    f"mean {info.objective} by {by_size[0]} and {by_size[1]}",
                    "heatmap",
                    scored,
                    by_size[0],
                    by_size[1],
                    info.objective,
                )
            )
    importance_note = None
    if scored and len(keys) == 1:  # one bar says nothing: the values are compared above
        importance_note = (
            f"Only {keys[0]} varies, so it alone can matter: no importance chart "
            f"(its values' {info.objective} are compared above)."
        )
    if scored and keys:
        from dlexp.report.significance import importances

        weights = importances(info, keys) if len(keys) > 1 else None
        if weights:
            by_value.append(
                images.add(
                    f"search-{info.name}-importance",
                    f"how much each searched key matters to {info.objective}",
                    "importance",
                    weights,
                    info.objective,
                )
            )
        by_value.append(
            images.add(
                f"search-{info.name}-parallel",
                f"every trial across the searched keys, coloured by {info.objective}",
                "parallel",
                scored,
                keys,
                info.objective,
            )
        )
    overlay = None
    if ranked:
        top = ranked[:TOP_TRIALS]
        curves = [
            (
                f"{e.id.split('/')[-1]} "
                + ", ".join(label(e.hyperparameters.get(k)) for k in keys),
                _mean_history(e),
            )
            for e in top
        ]
        kind = "folds" if info.cv else "repeats"
        title = "best trials" + (f" (mean over {kind})" if info.repeats > 1 else "")
        if len(ranked) > len(top):
            title += f"; the best {shown_of(len(top), len(ranked), 'trials')}"
        overlay = images.add(
            f"search-{info.name}-overlay",
            "best trials' learning curves",
            "overlay",
            curves,
            _overlay_metrics(top),
            title=title,
        )
    batches = [
        (e.id.split("/")[-1], e.records[0])
        for e in ranked[:TOP_TRIALS]
        if e.records and learning.has_batches(e.records[0], e)
    ]
    batch_overlay = _batch_overlay(
        images, f"search-{info.name}-batches", batches, "best trials: loss of every batch"
    )
    table = _table(
        report,
        ranked + [e for e in entries if e not in ranked],
        keys or None,
        table_metrics(report),
        anchors,
    )
    results = info.folder / "results.csv"
    return {
        "anchor": anchor("search/" + info.name),
        "name": info.name,
        "tuner": info.tuner or "grid",
        "trials": len(entries),
        "repeats": info.repeats,
        "per_trial": f"{info.repeats} {'folds' if info.cv else 'repeats'}",
        "objective": info.objective,
        "direction": info.direction,
        "best": best and {"anchor": anchor(best.id), "id": best.id, "score": num(info.score(best))},
        "warnings": info.warnings,
        "by_value": by_value,
        "importance_note": importance_note,
        "overlay": overlay,
        "batch_overlay": batch_overlay,
        "table": table,
        "results": str(results) if results.exists() else None,
        "noise_note": noise_note(info)
        or (
            "≈: within noise of the best (a paired t-test over the "
            + ("folds' shared splits" if info.cv else "repeats' shared seeds")
            + " cannot tell them apart at 5%)"
            if any(e.within_noise and not e.best for e in entries)
            else None
        ),
        "top": [_run_section(images, e, learning) for e in ranked[:TOP_TRIALS]],
    }


def write_html(report: Report, out: str | Path) -> tuple[Path, int]:
    """Write ``out/index.html`` with its pictures in ``out/img/``. Adds a warning to
    ``report.warnings`` for each picture that could not be drawn.

    Returns:
        The page's path and the number of pictures drawn (the rest were current).
    """
    out = Path(out)
    images = Images(out)
    runs = [e for e in report.entries if e.kind == "run"]
    metrics = table_metrics(report)
    # the rows drawn in full (so the tables link only to sections that exist)
    detailed = {e.id for e in runs}
    for info in report.searches.values():
        detailed |= {e.id for e in info.ranked()[:TOP_TRIALS]}
    anchors = {anchor(i) for i in detailed}
    nav = [{"href": "all", "text": "all runs"}]
    if len(runs) > 1:
        nav.append({"href": "compare", "text": "compare"})
    nav += [{"href": anchor("search/" + n), "text": n} for n in report.searches]
    table = _table(report, report.entries, None, metrics, anchors) if report.entries else None
    learning = Learning()
    compare = compare_batches = None
    compare_note = ""
    if len(runs) > 1:
        shown = runs[:MOST_RUNS]
        compare = images.add(
            "overlay-runs",
            "learning curves of the runs, overlaid",
            "overlay",
            [(e.id, e.records[0].history) for e in shown],
            _overlay_metrics(shown),
            total=len(runs),
        )
        if len(runs) > len(shown):
            compare_note = (
                f"{shown_of(len(shown), len(runs))}: the first {len(shown)} in the table's "
                "order (one colour each; --filter chooses others)"
            )
        batched = [(e.id, e.records[0]) for e in runs if learning.has_batches(e.records[0], e)]
        compare_batches = _batch_overlay(
            images,
            "overlay-batches",
            batched[:MOST_RUNS],
            "the loss of every batch"
            + (f", {shown_of(MOST_RUNS, len(batched))}" if len(batched) > MOST_RUNS else ""),
        )
    searches = [
        _search_section(images, report, i, anchors, learning) for i in report.searches.values()
    ]
    run_sections = [_run_section(images, e, learning) for e in runs]
    try:
        drawn = images.draw()  # every picture, before the page is rendered
    except MachineFault:  # a full disk: the old page and its pictures are kept
        images.forget()
        raise
    warnings = list(report.warnings) + learning.warnings
    warnings += [f"{src}: not drawn ({reason})" for src, reason in images.failed.items()]
    report.warnings = warnings
    page = _template().render(
        root=str(report.root.resolve()),
        filters=list(report.filters),
        runs=len(runs),
        searches=searches,
        time=time.strftime("%Y-%m-%d %H:%M"),
        nav=nav,
        warnings=warnings,
        table=table,
        compare=compare,
        compare_note=compare_note,
        compare_batches=compare_batches,
        run_sections=run_sections,
    )
    try:
        atomic_write(out / "index.html", page)
    except OSError as exc:
        if machine_fault(exc):
            images.forget()
        raise
    images.prune()
    return out / "index.html", drawn
