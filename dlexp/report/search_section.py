"""A search's section of the report's HTML page: its summary, the objective against
each searched value (heatmap and importance), the best trials' curves overlaid, and
the best trials drawn in full (the page's one table is explore.js's). The page's
interactive parallel coordinates and scatter show every trial against every value, so
the still pictures of the same (slow to draw at a thousand trials: 7 of a first page's
40 s on 1,152) are left to the notebook and the Python API (``dlexp.Search.plot``)."""

from __future__ import annotations

import statistics
from typing import Any

from dlexp.core.labels import label, shown_of
from dlexp.report import sections
from dlexp.report.images import Images, Picture
from dlexp.report.significance import noise_note
from dlexp.report.text import num
from dlexp.runs.index import Entry, Report, SearchInfo

TOP_TRIALS = 5  # trials per search drawn in full on the HTML page (dlexp serve: any)
OVERLAID = 10  # the best trials whose learning curves are overlaid


def mean_history(entry: Entry) -> list[dict]:
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


def search_section(
    images: Images, report: Report, info: SearchInfo, anchors: set[str], learning: sections.Learning
) -> dict[str, Any]:
    """A search's summary, pictures of the objective, ranking and best trials."""
    entries = [e for e in report.entries if e.search == info.name]
    shown = {id(e) for e in entries}  # by identity: comparing Entry dataclasses is slow
    ranked = [e for e in info.ranked() if id(e) in shown]
    best = ranked[0] if ranked else None
    keys = [k for k in info.keys if len({label(e.hyperparameters.get(k)) for e in entries}) > 1]
    scored = [
        {**{k: e.hyperparameters.get(k) for k in keys}, "score": info.score(e)} for e in ranked
    ]
    by_value: list[Picture] = []
    if scored and keys:
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
            f"(its values' {info.objective} are in the scatter above)."
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
    overlay = None
    if ranked:
        top = ranked[:OVERLAID]
        curves = [
            (
                f"{e.id.split('/')[-1]} "
                + ", ".join(label(e.hyperparameters.get(k)) for k in keys),
                mean_history(e),
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
            sections.overlay_metrics(top),
            title=title,
        )
    batches = [
        (e.id.split("/")[-1], e.records[0])
        for e in ranked[:OVERLAID]
        if e.records and learning.has_batches(e.records[0], e)
    ]
    batch_overlay = sections.batch_overlay(
        images, f"search-{info.name}-batches", batches, "best trials: loss of every batch"
    )
    results = info.folder / "results.csv"
    return {
        "anchor": sections.anchor("search/" + info.name),
        "name": info.name,
        "tuner": info.tuner or "grid",
        "trials": len(entries),
        "repeats": info.repeats,
        "per_trial": f"{info.repeats} {'folds' if info.cv else 'repeats'}",
        "objective": info.objective,
        "direction": info.direction,
        "best": best
        and {"anchor": sections.anchor(best.id), "id": best.id, "score": num(info.score(best))},
        "warnings": info.warnings,
        "by_value": by_value,
        "importance_note": importance_note,
        "overlay": overlay,
        "batch_overlay": batch_overlay,
        "results": str(results) if results.exists() else None,
        "noise_note": noise_note(info)
        or (
            "≈: within noise of the best (a paired t-test over the "
            + ("folds' shared splits" if info.cv else "repeats' shared seeds")
            + " cannot tell them apart at 5%)"
            if any(e.within_noise and not e.best for e in entries)
            else None
        ),
        "top": [sections.run_section(images, e, learning) for e in ranked[:TOP_TRIALS]],
    }
