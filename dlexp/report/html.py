"""The report as an HTML page (``templates/index.html``, Jinja2 with autoescaping).

The page is described first (its tables, sections and pictures: :mod:`dlexp.report.sections`
and :mod:`dlexp.report.search_section`), then every picture is drawn, then the page is
rendered once: a picture that could not be drawn shows as a warning in its place and in
the page's list of warnings.
"""

from __future__ import annotations

import functools
from pathlib import Path

from dlexp.core.errors import MachineFault, machine_fault
from dlexp.core.files import atomic_write
from dlexp.core.labels import MOST_RUNS, shown_of
from dlexp.report import explore, sections
from dlexp.report.images import Images
from dlexp.report.search_section import TOP_TRIALS, search_section
from dlexp.report.text import REGRESSION_METRICS, num, table_metrics
from dlexp.runs.index import Entry, Report

__all__ = ["TOP_TRIALS", "status_class", "write_html"]


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


def status_class(status: str) -> str:
    """The CSS class of a status: status-completed, status-failed, ..."""
    return "status-" + "".join(c for c in status.lower() if "a" <= c <= "z")


def _compare(
    images: Images, runs: list[Entry], learning: sections.Learning
) -> tuple[list[dict], str]:
    """The runs compared: their learning curves overlaid and their batches' loss, a
    pair of charts for each task of which there are several runs (one task's loss says
    nothing of another's); and a note when a chart leaves runs out."""
    compare, note = [], ""
    for task, group in sections.by_task(runs):
        if len(group) < 2:
            continue
        shown = group[:MOST_RUNS]
        stem = f"-{task}" if task else ""
        picture = images.add(
            f"overlay-runs{stem}",
            f"learning curves of the {task + ' ' if task else ''}runs, overlaid",
            "overlay",
            [(e.id, e.records[0].history) for e in shown],
            sections.overlay_metrics(shown),
            title=f"{task} runs" if task else "",
            total=len(group),
        )
        batched = [(e.id, e.records[0]) for e in group if learning.has_batches(e.records[0], e)]
        batches = sections.batch_overlay(
            images,
            f"overlay-batches{stem}",
            batched[:MOST_RUNS],
            "the loss of every batch"
            + (f" ({task} runs)" if task else "")
            + (f", {shown_of(MOST_RUNS, len(batched))}" if len(batched) > MOST_RUNS else ""),
        )
        compare.append({"task": task, "picture": picture, "batches": batches})
        if len(group) > len(shown) and not note:
            note = (
                f"{shown_of(len(shown), len(group))}: the first {len(shown)} in the table's "
                "order (one colour each; --filter chooses others)"
            )
    return compare, note


def metric_note(metrics: list[str]) -> str | None:
    """What the regression columns of the tables mean (None without them)."""
    if not any(m.rsplit("_", 1)[-1] in REGRESSION_METRICS for m in metrics):
        return None
    return (
        "rmse and mae are in the target's own units (lower is better; with several targets, "
        "over them all); r2 is 1 for a perfect fit, 0 for predicting the mean (higher is "
        "better); a regression run's loss is computed on the standardized target."
    )


def write_html(
    report: Report, out: str | Path, *, live: bool = False, pictures: bool = True
) -> tuple[Path, int]:
    """Write ``out/index.html``: the searches' summary, the explorable table, parallel
    coordinates and scatter (:mod:`dlexp.report.explore`: ``data.js``, a
    ``detail/<name>.js`` per row, ``plotly.min.js``, ``explore.js``), then the still
    pictures (in ``out/img/``) of each search and run, collapsed. Adds a warning to
    ``report.warnings`` for each picture that could not be drawn.

    Args:
        live: include ``live.js`` (``dlexp serve``'s page, updated as runs go).
        pictures: draw the still pictures; without, the page is written at once and a
            trial's pictures are drawn when it is opened (``explore.draw_detail``).

    Returns:
        The page's path and the number of pictures drawn (the rest were current).
    """
    out = Path(out)
    images = Images(out)
    runs = [e for e in report.entries if e.kind == "run"]
    metrics = table_metrics(report)
    learning = sections.Learning()
    compare, compare_note, searches, run_sections = [], "", [], []
    drawn_ids: dict[str, dict] = {}
    if pictures:
        compare, compare_note = _compare(images, runs, learning)
        anchors = {sections.anchor(e.id) for e in runs}
        for info in report.searches.values():
            anchors |= {sections.anchor(e.id) for e in info.ranked()[:TOP_TRIALS]}
        searches = [
            search_section(images, report, i, anchors, learning) for i in report.searches.values()
        ]
        run_sections = [sections.run_section(images, e, learning) for e in runs]
        for s in searches:
            drawn_ids.update({t["id"]: t for t in s["top"]})
        drawn_ids.update({r["id"]: r for r in run_sections})
    try:
        drawn = images.draw()  # every picture, before the page is rendered
    except MachineFault:  # a full disk: the old page and its pictures are kept
        images.forget()
        raise
    warnings = list(report.warnings) + learning.warnings
    warnings += [f"{src}: not drawn ({reason})" for src, reason in images.failed.items()]
    report.warnings = warnings
    data = explore.page_data(report)
    data["warnings"] = warnings
    data["drawn"] = sorted(drawn_ids)
    nav = [{"href": "explore", "text": "explore"}]
    if compare:
        nav.append({"href": "compare", "text": "runs compared"})
    nav += [{"href": s["anchor"], "text": f"{s['name']} pictures"} for s in searches]
    if run_sections:
        nav.append({"href": "runs", "text": "runs' pictures"})
    fresh = not (out / "index.html").exists()  # no old page to keep
    try:
        scripts = explore.write_static(out, live=live)
        explore.write_details(
            out,
            {
                e.id: explore.detail_data(
                    e, explore.picture_dicts(drawn_ids[e.id]) if e.id in drawn_ids else []
                )
                for e in report.entries
            },
        )
        atomic_write(out / "data.js", explore.data_script(data))
        page = _template().render(
            root=str(report.root.resolve()),
            filters=list(report.filters),
            runs=len(runs),
            trials=len(report.entries) - len(runs),
            summaries=data["searches"],
            searches=searches,
            time=data["generated"],
            nav=nav,
            warnings=warnings,
            compare=compare,
            compare_note=compare_note,
            metric_note=metric_note(metrics),
            run_sections=run_sections,
            scripts=scripts,
            num=num,
        )
        atomic_write(out / "index.html", page)
    except OSError as exc:
        if machine_fault(exc):
            images.forget()
            if fresh:  # a first page that could not be written leaves none of its files
                explore.remove_page_files(out)
        raise
    images.prune()
    return out / "index.html", drawn
