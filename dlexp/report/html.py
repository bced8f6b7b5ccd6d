"""The report as an HTML page (``templates/index.html``, Jinja2 with autoescaping).

The page is described first (its tables, sections and pictures: :mod:`dlexp.report.sections`
and :mod:`dlexp.report.search_section`), then every picture is drawn, then the page is
rendered once: a picture that could not be drawn shows as a warning in its place and in
the page's list of warnings.
"""

from __future__ import annotations

import functools
import time
from pathlib import Path

from dlexp.core.errors import MachineFault, machine_fault
from dlexp.core.files import atomic_write
from dlexp.core.labels import MOST_RUNS, shown_of
from dlexp.report import sections
from dlexp.report.images import Images
from dlexp.report.search_section import TOP_TRIALS, search_section
from dlexp.report.text import table_metrics
from dlexp.runs.index import Report

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
    anchors = {sections.anchor(i) for i in detailed}
    nav = [{"href": "all", "text": "all runs"}]
    if len(runs) > 1:
        nav.append({"href": "compare", "text": "compare"})
    nav += [{"href": sections.anchor("search/" + n), "text": n} for n in report.searches]
    table = (
        sections.table(report, report.entries, None, metrics, anchors) if report.entries else None
    )
    learning = sections.Learning()
    compare = compare_batches = None
    compare_note = ""
    if len(runs) > 1:
        shown = runs[:MOST_RUNS]
        compare = images.add(
            "overlay-runs",
            "learning curves of the runs, overlaid",
            "overlay",
            [(e.id, e.records[0].history) for e in shown],
            sections.overlay_metrics(shown),
            total=len(runs),
        )
        if len(runs) > len(shown):
            compare_note = (
                f"{shown_of(len(shown), len(runs))}: the first {len(shown)} in the table's "
                "order (one colour each; --filter chooses others)"
            )
        batched = [(e.id, e.records[0]) for e in runs if learning.has_batches(e.records[0], e)]
        compare_batches = sections.batch_overlay(
            images,
            "overlay-batches",
            batched[:MOST_RUNS],
            "the loss of every batch"
            + (f", {shown_of(MOST_RUNS, len(batched))}" if len(batched) > MOST_RUNS else ""),
        )
    searches = [
        search_section(images, report, i, anchors, learning) for i in report.searches.values()
    ]
    run_sections = [sections.run_section(images, e, learning) for e in runs]
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
