"""``dlexp train``: one run, repeats of it or its cross-validation folds."""

from __future__ import annotations

import contextlib

import click

from dlexp.cli.common import (
    check_tensorboard,
    echo_json,
    format_option,
    json_stdout_only,
    quiet_option,
    runs_dir_option,
    set_option,
    tensorboard_option,
    warn,
    write_tensorboard,
)


@click.command()
@click.argument("config_file", metavar="CONFIG", required=False)
@runs_dir_option
@set_option
@click.option("--name", help="Name of the run (default: the config's name, else its file name).")
@click.option(
    "--from",
    "source",
    metavar="RUN_OR_SEARCH",
    help="Train again from a run folder's config, or a search folder's best trial.",
)
@tensorboard_option
@click.option(
    "--refit",
    is_flag=True,
    help="With --from: train on train+validation for the epochs the run chose, report test.",
)
@format_option("text", "json")
@quiet_option
@click.option(
    "--repeats",
    type=click.IntRange(min=1),
    default=1,
    show_default=True,
    help="Train seeds seed .. seed+N-1 together (one run folder each) and show mean ± std.",
)
@click.option(
    "--cv",
    "folds",
    type=click.IntRange(min=2, max=20),
    default=None,
    help="Cross-validate: K stratified folds of train+validation, trained together (one run "
    "folder each), mean ± std.",
)
@click.pass_context
def train(
    ctx,
    config_file,
    runs_dir,
    overrides,
    name,
    tensorboard_dir,
    source,
    refit,
    fmt,
    quiet,
    repeats,
    folds,
):
    """Train the network CONFIG describes and save the run in RUNS_DIR/<run-id>/.

    The run folder holds config.yaml (resolved), metrics.json, history.csv,
    model.keras, run.json and, for 2D data, boundary.npz. With --repeats N the
    seeds seed .. seed+N-1 train together as one program (the data keeps the
    config's seed) into N run folders, and a table shows mean ± std. With --cv K
    each of K stratified, seeded folds of the train+validation data validates a run
    trained on the other folds (the test split stays aside); the K runs train
    together into K run folders, and the table shows mean ± std over the folds.

    \b
    Exit codes: 0 done, 1 failed or diverged, 2 bad input, 130 interrupted.

    \b
    Examples:
      dlexp train configs/moons.yaml
      dlexp train configs/deep_mlp.yaml --set train.epochs=5 --set seed=3
      dlexp train configs/logreg.yaml --runs-dir /tmp/runs --format json
      dlexp train configs/moons.yaml --repeats 5
      dlexp train configs/moons.yaml --cv 5
      dlexp train --from runs/notebook_grid --refit     # the search's best, refitted
    """
    from rich.console import Console

    from dlexp.cli import display
    from dlexp.train import command, plan, summary

    plan.check_together(folds, repeats, refit)
    cfg, search_status = plan.config_for_train(config_file, source, refit, overrides, name, warn)
    check_tensorboard(tensorboard_dir)
    dataset = command.load_data(cfg)  # a bad CSV is refused before Keras
    err = Console(stderr=True)
    progress = None if quiet else display.TrainProgress(err, cfg["train"]["epochs"], cfg["name"])
    with json_stdout_only(fmt), progress or contextlib.nullcontext():
        outcomes = command.train(cfg, runs_dir, repeats, folds, progress, dataset)
    outcome = outcomes[0]
    together = folds or repeats > 1
    write_tensorboard(tensorboard_dir, [o.run for o in outcomes] if together else [outcome.run])
    if together:
        result = summary.group_summary(outcomes, "folds" if folds else "repeats")
        if fmt == "json":
            echo_json(summary.group_json(outcomes, result, search_status))
        else:
            display.print_repeats(Console(), outcomes, result)
        ctx.exit(result["exit_code"])
    if fmt == "json":
        echo_json(summary.train_json(outcome, search_status))
    else:
        display.train_summary(Console(), outcome)
    ctx.exit(outcome.exit_code)
