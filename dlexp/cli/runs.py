"""Reading runs back and weighing them: ``dlexp best`` (a search's best trials as
configs), ``dlexp diff`` (two run folders) and ``dlexp compare`` (two configs trained on
paired seeds)."""

from __future__ import annotations

from pathlib import Path

import click

from dlexp.cli.common import (
    echo_json,
    format_option,
    json_stdout_only,
    runs_dir_option,
    table_console,
    warn,
)


@click.command()
@click.argument("search_dir", metavar="SEARCH")
@click.option(
    "--top",
    type=click.IntRange(min=1),
    default=1,
    show_default=True,
    help="How many of the best trials.",
)
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["yaml", "json"]),
    default="yaml",
    show_default=True,
    help="yaml: configs dlexp train takes; json: for scripts.",
)
def best(search_dir, top, fmt):
    """Print the best trial of the search in SEARCH as a config `dlexp train` accepts.

    The config is the trial's own (resolved, its seed the point's), named after the
    search and the trial; training it reproduces the trial's metrics. With repeats
    (or cv folds), the point with the best mean (its config on the usual split).
    --top K prints K configs, best first, as YAML documents (separated by ---). Reads
    folders only: never imports TensorFlow.

    \b
    Examples:
      dlexp best runs/notebook_grid > best.yaml && dlexp train best.yaml
      dlexp best runs/optimizers --top 3
      dlexp best runs/notebook_grid --format json | jq .[0].score
    """
    from dlexp.core.files import jsonable
    from dlexp.runs import select as choose

    chosen = choose.best(search_dir, top)
    warn(choose.unfinished(Path(search_dir), chosen[0]["search_status"]))
    if fmt == "json":
        echo_json(jsonable(chosen))
    else:
        click.echo(choose.as_yaml(chosen), nl=False)


@click.command()
@click.argument("run_a", metavar="RUN_A")
@click.argument("run_b", metavar="RUN_B")
@format_option("text", "json")
def diff(run_a, run_b, fmt):
    """Show what differs between two run folders: config, versions, metrics.

    Trains nothing and never imports TensorFlow or Keras.

    \b
    Examples:
      dlexp diff runs/A runs/B
      dlexp diff runs/notebook_grid/trials/t044 runs/notebook_grid/trials/t046 --format json
    """
    from dlexp.core.files import jsonable
    from dlexp.runs.diff import diff as diff_runs

    result = diff_runs(run_a, run_b)
    if fmt == "json":
        echo_json(jsonable(result))
    else:
        from rich.console import Console

        from dlexp.cli import display_runs

        display_runs.print_diff(Console(), result)


@click.command("compare")
@click.argument("side_a", metavar="A")
@click.argument("side_b", metavar="B")
@click.option(
    "--repeats",
    type=click.IntRange(min=2, max=1000),
    default=5,
    show_default=True,
    help="Paired seeds each side trains on.",
)
@runs_dir_option
@format_option("text", "json")
@click.pass_context
def compare_cmd(ctx, side_a, side_b, repeats, runs_dir, fmt):
    """Train A and B (configs or run folders) on the same seeds and say which is better.

    Both train on --repeats paired seeds (A's seed onwards, the same data), together
    where they can share a stack; for each metric the mean difference B - A, its 95%
    confidence interval and a paired t-test's p-value, and a verdict on the main
    metric (val_accuracy, else val_loss). The runs are kept in RUNS_DIR.

    \b
    Examples:
      dlexp compare configs/moons.yaml configs/regularized.yaml
      dlexp compare runs/A runs/B --repeats 10 --format json
    """
    from rich.console import Console

    from dlexp.cli import display, display_runs
    from dlexp.core import interrupt
    from dlexp.use import compare

    a, b = compare.sides(side_a, side_b)
    total = compare.epochs(a, b, repeats)
    progress = display.CompareProgress(Console(stderr=True), total, 2 * repeats)
    with interrupt.handled(), json_stdout_only(fmt), progress:
        outcomes_a, outcomes_b = compare.paired(a, b, repeats, runs_dir, progress.job_hook)
    result = compare.Comparison.of(outcomes_a, outcomes_b, repeats)
    if fmt == "json":
        echo_json(result.to_json())
    else:
        display_runs.print_compare(table_console(), result.rows, result.verdict)
    ctx.exit(result.exit_code)
