"""``dlexp search``: a grid (or random, Bayesian, Hyperband) search with keras-tuner."""

from __future__ import annotations

import contextlib
import os

import click

from dlexp.cli.common import (
    check_tensorboard,
    echo_json,
    format_option,
    json_stdout_only,
    quiet_option,
    runs_dir_option,
    set_option,
    table_console,
    tensorboard_option,
    warn,
    write_tensorboard,
)
from dlexp.core.errors import ConfigError


@click.command()
@click.argument("grid_file", metavar="GRID")
@runs_dir_option
@set_option
@click.option(
    "--workers",
    type=click.IntRange(min=0),
    default=None,
    help="Worker processes to start on this machine, each training its own stacks "
    "(default 1, in this process; a chief started with KERASTUNER_TUNER_ID=chief starts none).",
)
@tensorboard_option
@click.option(
    "--stack",
    type=click.IntRange(min=1),
    default=None,
    help="Most runs trained together as one program (default: as many as fit in memory; "
    "1: one Keras fit at a time, as dlexp train).",
)
@click.option("--dry-run", is_flag=True, help="Print the plan (trials, points); train nothing.")
@click.option(
    "--yes", is_flag=True, help="Run a search of more than 5,000 runs without asking first."
)
@click.option("--overwrite", is_flag=True, help="Delete an earlier search of this name first.")
@click.option(
    "--top",
    type=click.IntRange(min=1),
    default=10,
    show_default=True,
    help="Trials shown in the final table.",
)
@click.option(
    "--refit",
    is_flag=True,
    help="Then train the best trial on train+validation and report its test split "
    "(as dlexp train --from RUNS_DIR/<name> --refit).",
)
@format_option("text", "json")
@quiet_option
@click.pass_context
def search(
    ctx,
    grid_file,
    runs_dir,
    overrides,
    workers,
    tensorboard_dir,
    stack,
    dry_run,
    yes,
    overwrite,
    top,
    refit,
    fmt,
    quiet,
):
    """Search a grid of configs with keras-tuner; keep every trial in RUNS_DIR/<name>/.

    GRID is a config (inline, or `base: other.yaml`) plus a `search` section:
    `params` (dotted keys to lists of values), `tuner` (grid, random, bayesian,
    hyperband), `objective`, `repeats` (seeds per point) or `cv` (K cross-validation
    folds per point, trained together). Running the same command again resumes an
    interrupted search; a finished one says so. The folder holds search.yaml,
    results.csv (rewritten after each trial), best.json and trials/<id>/, each a
    run folder as `dlexp train` writes one. The summary gives the best trial's
    validation and test score and how much of its lead over the median trial is
    within noise; --refit then trains it on train+validation into RUNS_DIR (on a
    finished search too: it is not trained again) and reports its test split.

    \b
    Examples:
      dlexp search configs/grid.yaml --dry-run
      dlexp search configs/grid.yaml                # trials trained together: seconds
      dlexp search configs/grid.yaml --stack 1      # one Keras fit at a time
      dlexp search big_grid.yaml --yes              # more than 5,000 runs
      dlexp search configs/optimizers.yaml --set train.epochs=20 --format json
      dlexp search configs/grid.yaml --refit        # the best, refitted on train+val
      KERASTUNER_TUNER_ID=chief KERASTUNER_ORACLE_IP=0.0.0.0 \\
        KERASTUNER_ORACLE_PORT=8000 dlexp search configs/grid.yaml   # see docs/search.md
    """
    from rich.console import Console

    from dlexp.cli import display
    from dlexp.core import interrupt
    from dlexp.search import spec as grid_mod
    from dlexp.search import summary

    spec = grid_mod.load(grid_file, overrides)
    if refit and dry_run:
        raise ConfigError("cannot be combined with --dry-run (it trains nothing)", "--refit")
    if dry_run:
        from dlexp.search import plan as plan_mod  # no keras-tuner, no Keras for a grid

        plan = plan_mod.dry_run(spec, runs_dir)
        if fmt == "json":
            echo_json(plan, default=str)
        else:
            display.search_plan(Console(), plan, [p.key for p in spec.params])
        return
    if not yes:
        summary.check_size(spec)
    check_tensorboard(tensorboard_dir)
    from dlexp.search import distributed, engine  # imports keras-tuner and Keras

    distributed.check_workers(workers)

    worker = distributed.role() == "worker"
    view = None
    if fmt == "text" and not worker and not quiet:
        view = display.SearchView(Console(stderr=True), spec.objective)
    with interrupt.handled(), json_stdout_only(fmt):
        outcome = engine.Search(spec, runs_dir, view, stack=stack).run(workers, overwrite)
    if worker:
        said = f": {outcome.message}" if outcome.message else ""
        click.echo(f"{os.environ.get('KERASTUNER_TUNER_ID')}: {outcome.status}{said}", err=True)
        ctx.exit(outcome.exit_code)
    if outcome.rows:
        write_tensorboard(tensorboard_dir, search=outcome.store.root)
    ranked = outcome.store.ranked(outcome.rows)
    from dlexp.report.winner import of_search

    best = of_search(outcome.store.root) if ranked else None
    refitted = _refit(outcome, ranked, runs_dir, fmt, quiet) if refit else None
    if fmt == "json":
        echo_json(summary.to_json(spec, outcome, ranked, best, refit, refitted))
    else:
        keys = [p.key for p in spec.params]
        display.search_summary(table_console(), outcome, ranked, keys, spec.objective, top)
        for line in best.lines() if best else []:
            click.echo(line)
        if refitted is not None:
            click.echo(summary.refit_line(refitted, best))
    code = outcome.exit_code
    if refit and code == 0:  # a search that did not finish has its own code already
        code = refitted.exit_code if refitted is not None else 1
    ctx.exit(code)


def _refit(outcome, ranked: list[dict], runs_dir, fmt: str, quiet: bool):
    """The best trial trained on train+validation into ``runs_dir``, exactly as
    ``dlexp train --from SEARCH --refit`` trains it (its ``train.writer.Outcome``);
    None, said on stderr, when the search did not finish or no trial has a score."""
    from rich.console import Console

    from dlexp.cli import display
    from dlexp.train import command, plan

    if outcome.exit_code != 0:
        click.echo(f"error: --refit: nothing refitted, the search ended {outcome.status}", err=True)
        return None
    if not ranked:
        click.echo("error: --refit: nothing refitted, no trial has a score", err=True)
        return None
    cfg, _ = plan.config_for_train(source=outcome.store.root, refit=True, warn=warn)
    dataset = command.load_data(cfg)
    progress = None
    if not quiet and fmt == "text":
        progress = display.TrainProgress(Console(stderr=True), cfg["train"]["epochs"], cfg["name"])
    with json_stdout_only(fmt), progress or contextlib.nullcontext():
        return command.train(cfg, runs_dir, 1, None, progress, dataset)[0]
