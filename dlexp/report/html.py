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

from dlexp import runs as runs_mod
from dlexp.files import atomic_write
from dlexp.labels import label
from dlexp.report.collect import Entry, Report, SearchInfo, settings, settings_text
from dlexp.report.images import Images, Picture
from dlexp.report.text import num, params_text, table_metrics

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


def _run_section(images: Images, e: Entry) -> dict[str, Any]:
    """A run's (or trial's) learning curves and decision boundary."""
    pictures: list[Picture] = []
    for r in e.records[:1] if e.kind == "trial" else e.records:
        if r.history:
            pictures.append(
                images.add(
                    f"curves-{e.id}",
                    f"learning curves of {e.id}",
                    "curves",
                    str(r.path),
                    title=r.path.name,
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
    return {
        "anchor": anchor(e.id),
        "id": e.id,
        "status": e.status,
        "best": e.best,
        "warnings": e.warnings,
        "pictures": pictures,
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
    images: Images, report: Report, info: SearchInfo, anchors: set[str]
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
    if scored and keys:
        from dlexp.report.matters import importances

        weights = importances(info, keys)
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
        overlay = images.add(
            f"search-{info.name}-overlay",
            "best trials' learning curves",
            "overlay",
            curves,
            _overlay_metrics(top),
            title=title,
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
        "overlay": overlay,
        "table": table,
        "results": str(results) if results.exists() else None,
        "noise_note": (
            "≈: within noise of the best (a paired t-test over the "
            + ("folds' shared splits" if info.cv else "repeats' shared seeds")
            + " cannot tell them apart at 5%)"
            if any(e.within_noise and not e.best for e in entries)
            else None
        ),
        "top": [_run_section(images, e) for e in ranked[:TOP_TRIALS]],
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
    compare = None
    if len(runs) > 1:
        shown = runs[:12]
        compare = images.add(
            "overlay-runs",
            "learning curves of the runs, overlaid",
            "overlay",
            [(e.id, e.records[0].history) for e in shown],
            _overlay_metrics(shown),
        )
    searches = [_search_section(images, report, i, anchors) for i in report.searches.values()]
    run_sections = [_run_section(images, e) for e in runs]
    drawn = images.draw()  # every picture, before the page is rendered
    warnings = list(report.warnings)
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
        run_sections=run_sections,
    )
    atomic_write(out / "index.html", page)
    return out / "index.html", drawn
