"""``dlexp report``: the runs and searches of a folder as a table, JSON or CSV, and an
HTML page. Never imports TensorFlow, Keras or JAX."""

from __future__ import annotations

from pathlib import Path

import click

from dlexp.cli.common import echo_json_rows, table_console


@click.command()
@click.argument("runs_dir", metavar="RUNS_DIR", default="runs", required=False)
@click.option(
    "--out",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help="Folder for the HTML page (default: RUNS_DIR/report; with --filter, "
    "RUNS_DIR/report/filtered, so the full page is kept).",
)
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["table", "json", "csv"]),
    default="table",
    show_default=True,
    help="table: a table here and the HTML page; json or csv: records on stdout only.",
)
@click.option("--sort", metavar="METRIC", help="Sort by a metric, e.g. test_accuracy, val_loss.")
@click.option(
    "--filter",
    "filters",
    multiple=True,
    metavar="KEY=VALUE",
    help="Keep rows where a config key (model.activation=relu), status, kind "
    "(run|trial), search or name has this value; repeatable.",
)
@click.option(
    "--limit",
    type=click.IntRange(min=0),
    default=50,
    show_default=True,
    help="Rows the table shows at most (0: all): the runs, then each search's best "
    "trials (with --sort, the first by it). JSON, CSV and the page hold every row.",
)
@click.option("--no-html", is_flag=True, help="Only the table, no HTML page.")
def report(runs_dir, out, fmt, sort, filters, limit, no_html):
    """Compare the runs and searches in RUNS_DIR: a table, JSON or CSV, and an HTML page.

    The page (RUNS_DIR/report/index.html, opens without a server) shows learning
    curves (the best epoch and an early stop marked), runs overlaid, decision
    boundaries of 2D runs, and for each search its objective against each searched
    value, a heatmap and a ranking. From a run's learning.npz: its boundary epoch by
    epoch, the network with each unit's output and its weights, a histogram of the
    weights, and every batch's loss (runs overlaid). Pictures whose runs have not
    changed are not drawn again. Never imports TensorFlow.

    \b
    Examples:
      dlexp report runs/
      dlexp report runs/ --sort test_accuracy --filter model.activation=relu
      dlexp report runs/notebook_grid --format csv > grid.csv
      dlexp report runs/ --format json | jq '.[] | select(.best)'
    """
    from rich.console import Console
    from rich.markup import escape

    from dlexp import report as report_mod

    rep = report_mod.build(runs_dir, filters, sort)
    err = Console(stderr=True, highlight=False, soft_wrap=True)
    for warning in rep.warnings:
        err.print(f"[yellow]warning[/]: {escape(warning)}")
    if fmt == "json":
        echo_json_rows(report_mod.records(rep))
        return
    if fmt == "csv":
        click.echo(report_mod.to_csv(rep), nl=False)
        return
    console = table_console()  # piped: $COLUMNS, else wide enough to keep rows whole
    if not rep.entries:
        what = "match the filters" if filters else "are here yet"
        console.print(
            f"No runs {what} in {runs_dir}: `dlexp train configs/moons.yaml "
            f"--runs-dir {runs_dir}` makes one."
        )
    else:
        shown, left = report_mod.limited(rep, limit)
        console.print(report_mod.table(shown, width=console.width))
        from dlexp.report.text import winner_lines

        for line in winner_lines(rep):  # each search's winner: val and test, its lead's noise
            console.print(escape(line), highlight=False, soft_wrap=True)
        if left:
            console.print(
                f"{left:,} more rows not shown: --limit 0 shows them all, --format csv "
                "writes them all, the HTML page sorts and filters them.",
                highlight=False,
            )
    if not no_html or out is not None:
        shown = len(rep.warnings)
        # a filtered page goes beside the full one, never over it
        default = Path(runs_dir) / "report" / ("filtered" if filters else "")
        page, drawn = report_mod.write_html(rep, out or default)
        for warning in rep.warnings[shown:]:  # pictures that could not be drawn
            err.print(f"[yellow]warning[/]: {escape(warning)}")
        console.print(
            f"HTML report: [bold]{escape(str(page))}[/] ({drawn} pictures drawn)", highlight=False
        )
