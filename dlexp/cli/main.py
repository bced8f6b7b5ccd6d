"""The dlexp command line: parse options, call the library, print. No TensorFlow at import."""

from __future__ import annotations

import contextlib
import json
import os
import sys
from pathlib import Path

import click

from dlexp import __version__
from dlexp.core import interrupt
from dlexp.core.errors import ConfigError, DlexpError


class BadInput(click.ClickException):
    """A user's mistake: one line on stderr, exit code 2, no traceback."""

    exit_code = 2


class MachineError(click.ClickException):
    """The machine's fault (a full disk, an I/O error, no memory): one line, exit 1."""

    exit_code = 1


class DlexpGroup(click.Group):
    """Turns dlexp's ConfigError into exit 2, the machine's faults (a full disk, an I/O
    error, no memory) into exit 1, and Ctrl-C anywhere into exit 130: one line each."""

    def invoke(self, ctx: click.Context):
        from dlexp.core.errors import describe, machine_fault

        try:
            return super().invoke(ctx)
        except ConfigError as exc:
            raise BadInput(str(exc)) from None
        except KeyboardInterrupt:
            click.echo("interrupted", err=True)
            ctx.exit(130)
        except (OSError, MemoryError, DlexpError) as exc:
            if not machine_fault(exc):
                raise
            raise MachineError(describe(exc)) from None


def json_stdout_only(fmt: str):
    """With --format json, whatever a library prints while working (Keras'
    "Invalid loss, terminating training", say) goes to stderr: stdout holds the JSON."""
    return contextlib.redirect_stdout(sys.stderr) if fmt == "json" else contextlib.nullcontext()


def runs_dir_option(f):
    return click.option(
        "--runs-dir",
        type=click.Path(file_okay=False, path_type=Path),
        default=Path("runs"),
        show_default=True,
        envvar="DLEXP_RUNS_DIR",
        help="Where run folders go (or $DLEXP_RUNS_DIR).",
    )(f)


def set_option(f):
    return click.option(
        "--set",
        "overrides",
        multiple=True,
        metavar="KEY=VALUE",
        help="Override a config key (dotted path, YAML value); repeatable.",
    )(f)


def tensorboard_option(f):
    return click.option(
        "--tensorboard",
        "tensorboard_dir",
        type=click.Path(file_okay=False, path_type=Path),
        default=None,
        help="Also write TensorBoard logs here (scalars per epoch; for a search, the HParams "
        "dashboard's data): tensorboard --logdir DIR.",
    )(f)


def _tensorboard(logdir: Path | None, runs_=(), search=None) -> None:
    if logdir is None:
        return
    from dlexp.runs.folder import read_run
    from dlexp.use import tensorboard

    try:
        if search is not None:
            tensorboard.write_search(search, logdir)
        for run in runs_:
            tensorboard.write_run(read_run(run.path), logdir, run.id)
    except OSError as exc:
        raise ConfigError(
            f"cannot write in {str(logdir)!r} ({exc.strerror})", "--tensorboard"
        ) from None


def _check_tensorboard(logdir: Path | None) -> None:
    """Before any training: the folder for TensorBoard's logs can be made and written."""
    if logdir is None:
        return
    try:
        logdir.mkdir(parents=True, exist_ok=True)
        probe = logdir / ".dlexp-probe"
        probe.write_text("")
        probe.unlink()
    except OSError as exc:
        raise ConfigError(
            f"cannot write in {str(logdir)!r} ({exc.strerror})", "--tensorboard"
        ) from None


def format_option(*choices: str):
    def decorate(f):
        return click.option(
            "--format",
            "fmt",
            type=click.Choice(choices),
            default=choices[0],
            show_default=True,
            help="Output for people (text) or for scripts (json on stdout).",
        )(f)

    return decorate


@click.group(cls=DlexpGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="dlexp")
def cli():
    """Run, repeat and compare small deep-learning experiments with Keras.

    \b
    Examples:
      dlexp train configs/moons.yaml
      dlexp train configs/deep_mlp.yaml --set train.epochs=5 --set seed=3
      dlexp search configs/grid.yaml --workers 2
      dlexp report runs/
      dlexp config configs/regularized.yaml --set model.dropout=0.2
    """


def _load(config_file: str, overrides: tuple[str, ...], name: str | None) -> dict:
    from dlexp import config as config_mod

    if name is not None:
        config_mod.Name().check(name, "--name")
    cfg = config_mod.load(config_file, overrides)
    cfg["name"] = name or cfg["name"] or Path(config_file).stem
    return cfg


@cli.command()
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
@click.option("--quiet", "-q", is_flag=True, help="No progress bar.")
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

    if folds and (repeats > 1 or refit):
        raise BadInput(f"--cv: cannot be combined with {'--refit' if refit else '--repeats'}")
    cfg, search_status = _config_for_train(config_file, source, refit, overrides, name)
    _check_tensorboard(tensorboard_dir)
    from dlexp import data as data_mod

    dataset = data_mod.load(cfg["data"], cfg["seed"])  # a bad CSV is refused before Keras
    from dlexp.train import fit as training  # imports Keras: only once the config and data are good

    err = Console(stderr=True)
    progress = None if quiet else display.TrainProgress(err, cfg["train"]["epochs"], cfg["name"])
    with interrupt.handled(), json_stdout_only(fmt), progress or contextlib.nullcontext():
        if folds:
            from dlexp.train.stack import train_folds

            outcomes = train_folds(cfg, runs_dir, folds, progress)
        elif repeats > 1:
            from dlexp.train.stack import train_repeats

            outcomes = train_repeats(cfg, runs_dir, repeats, progress, dataset)
        else:
            outcome = training.train_config(cfg, runs_dir, progress, dataset)
    together = folds or repeats > 1
    searched = {} if search_status is None else {"search_status": search_status}
    _tensorboard(tensorboard_dir, [o.run for o in outcomes] if together else [outcome.run])
    if together:
        summary = display.repeats_summary(outcomes, "folds" if folds else "repeats")
        if fmt == "json":
            records = [_outcome_record(o) for o in outcomes]
            click.echo(json.dumps({**summary, "runs": records, **searched}, indent=2))
        else:
            display.print_repeats(Console(), outcomes, summary)
        ctx.exit(summary["exit_code"])
    if fmt == "json":
        click.echo(json.dumps({**_outcome_record(outcome), **searched}, indent=2))
    else:
        display.train_summary(Console(), outcome)
    ctx.exit(outcome.exit_code)


def _confirm_size(spec) -> None:
    """A grid of more than CONFIRM_RUNS runs (with no max_trials) needs --yes."""
    from dlexp.search import spec as grid_mod

    if spec.tuner != "grid" or spec.max_trials is not None:
        return
    trials = spec.n_points()
    total = trials * spec.runs_per_point
    if total <= grid_mod.CONFIRM_RUNS:
        return
    seconds = grid_mod.estimate_seconds(spec, total)
    took = "" if seconds is None else f", about {_duration(seconds)} at the rate measured here"
    raise BadInput(
        f"search: {trials:,} trials x {spec.runs_per_point} "
        f"{'folds' if spec.cv else 'repeats'} = {total:,} runs{took}; "
        "add --yes to run them, or set search.max_trials"
    )


def _duration(seconds: float) -> str:
    if seconds < 120:
        return f"{seconds:.0f} s"
    if seconds < 7200:
        return f"{seconds / 60:.0f} min"
    return f"{seconds / 3600:.1f} h"


def _config_for_train(config_file, source, refit, overrides, name) -> tuple[dict, str | None]:
    """CONFIG, or the config --from a run or search (refitted with --refit); with the
    search's status when it came from a search (a search not finished is said on
    stderr: its best may change)."""
    from dlexp import config as config_mod

    if (config_file is None) == (source is None):
        raise BadInput("give a CONFIG file or --from RUN_OR_SEARCH (one of them)")
    if refit and source is None:
        raise BadInput("--refit: needs --from RUN_OR_SEARCH")
    if source is None:
        return _load(config_file, overrides, name), None
    from dlexp.runs import select as choose

    if name is not None:
        config_mod.Name().check(name, "--name")
    cfg, run_folders, search_status = choose.source(source)
    if search_status is not None:
        _warn(choose.unfinished(Path(source), search_status))
    if refit:
        cfg = choose.refit(cfg, run_folders)
    parsed = [config_mod.parse_override(o) for o in overrides]
    try:
        cfg = config_mod.resolve(config_mod.apply_overrides(cfg, parsed))
    except ConfigError as exc:
        raise exc.located("--set ") from None
    cfg["name"] = name or cfg["name"]
    return cfg, search_status


def _warn(message: str | None) -> None:
    """A warning on stderr, one line (nothing for None)."""
    if message:
        click.echo(f"warning: {message}", err=True)


def _outcome_record(outcome) -> dict:
    from dlexp.core.files import jsonable

    record = {
        "id": outcome.run.id,
        "path": str(outcome.run.path),
        "status": outcome.status,
        "error": outcome.error,
        **outcome.metrics.to_json(),
    }
    return jsonable(record)


@cli.command()
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
@format_option("text", "json")
@click.option("--quiet", "-q", is_flag=True, help="No progress bar.")
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
    run folder as `dlexp train` writes one.

    \b
    Examples:
      dlexp search configs/grid.yaml --dry-run
      dlexp search configs/grid.yaml                # trials trained together: seconds
      dlexp search configs/grid.yaml --stack 1      # one Keras fit at a time
      dlexp search big_grid.yaml --yes              # more than 5,000 runs
      dlexp search configs/optimizers.yaml --set train.epochs=20 --format json
      KERASTUNER_TUNER_ID=chief KERASTUNER_ORACLE_IP=0.0.0.0 \\
        KERASTUNER_ORACLE_PORT=8000 dlexp search configs/grid.yaml   # see README
    """
    from rich.console import Console

    from dlexp.cli import display
    from dlexp.search import spec as grid_mod

    spec = grid_mod.load(grid_file, overrides)
    if dry_run:
        from dlexp.search import plan as plan_mod  # no keras-tuner, no Keras for a grid

        plan = plan_mod.dry_run(spec, runs_dir)
        if fmt == "json":
            click.echo(json.dumps(plan, indent=2, default=str))
        else:
            display.search_plan(Console(), plan, [p.key for p in spec.params])
        return
    if not yes:
        _confirm_size(spec)
    _check_tensorboard(tensorboard_dir)
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
        _tensorboard(tensorboard_dir, search=outcome.store.root)
    ranked = outcome.store.ranked(outcome.rows)
    if fmt == "json":
        best = ranked[0] if ranked else None
        from dlexp.core.files import jsonable

        click.echo(
            json.dumps(
                jsonable(
                    {
                        "name": spec.name,
                        "status": outcome.status,
                        "folder": str(outcome.store.root),
                        "best": best,
                        "trials": outcome.rows,
                    }
                ),
                indent=2,
            )
        )
    else:
        from dlexp.core.terminal import stdout_console

        display.search_summary(
            stdout_console(), outcome, ranked, [p.key for p in spec.params], spec.objective, top
        )
    ctx.exit(outcome.exit_code)


@cli.command()
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
@click.option("--no-html", is_flag=True, help="Only the table, no HTML page.")
def report(runs_dir, out, fmt, sort, filters, no_html):
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
        click.echo(json.dumps(report_mod.records(rep), indent=2))
        return
    if fmt == "csv":
        click.echo(report_mod.to_csv(rep), nl=False)
        return
    from dlexp.core.terminal import stdout_console

    console = stdout_console()  # piped: $COLUMNS, else wide enough to keep rows whole
    if not rep.entries:
        what = "match the filters" if filters else "are here yet"
        console.print(
            f"No runs {what} in {runs_dir}: `dlexp train configs/moons.yaml "
            f"--runs-dir {runs_dir}` makes one."
        )
    else:
        console.print(report_mod.table(rep, width=console.width))
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


@cli.command()
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
    from dlexp.core import yamlio
    from dlexp.core.files import jsonable
    from dlexp.runs import select as choose

    chosen = choose.best(search_dir, top)
    _warn(choose.unfinished(Path(search_dir), chosen[0]["search_status"]))
    if fmt == "json":
        click.echo(json.dumps(jsonable(chosen), indent=2))
        return
    docs = []
    for c in chosen:
        repeats = f", mean of {c['repeats']} repeats" if c["repeats"] > 1 else ""
        if c["folds"]:
            repeats = f", mean of {c['folds']} cross-validation folds"
        head = f"# {c['trial']}: {c['objective']} {c['score']:.6g} ({c['direction']}{repeats})\n"
        docs.append(head + yamlio.dump(c["config"]))
    click.echo("---\n".join(docs), nl=False)


@cli.command()
@click.argument("run_dir", metavar="RUN")
@click.option("--points", help='Points as "x1,x2;x1,x2" (the run\'s features, in order).')
@click.option(
    "--input",
    "input_csv",
    metavar="FILE.csv",
    help="A CSV file whose columns named as the run's features are read.",
)
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["csv", "json"]),
    default="csv",
    show_default=True,
    help="csv or json (a list of records) on stdout.",
)
def predict(run_dir, points, input_csv, fmt):
    """Predict with the model of the run in RUN: one row per point.

    Each row holds the point's features, proba_<class> for each class and the
    predicted class. Points are in the data's own units: the model carries its
    preprocessing (data.standardize is its first layer).

    \b
    Examples:
      dlexp predict runs/20260101-000000-moons-1a2b3c --points "0.5,-0.2;1,0"
      dlexp predict runs/my-run --input new_points.csv --format json
    """
    from dlexp.use import predict as predict_mod

    with json_stdout_only("json"):  # stdout holds the predictions and nothing else
        records = predict_mod.predict(run_dir, points, input_csv)
    if fmt == "json":
        click.echo(json.dumps(records, indent=2))
    else:
        click.echo(predict_mod.to_csv(records), nl=False)


@cli.command()
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
    from dlexp.cli import display
    from dlexp.core.files import jsonable
    from dlexp.use import compare

    result = compare.diff(run_a, run_b)
    if fmt == "json":
        click.echo(json.dumps(jsonable(result), indent=2))
    else:
        from rich.console import Console

        display.print_diff(Console(), result)


@cli.command("compare")
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
    from dlexp.cli import display
    from dlexp.core.files import jsonable
    from dlexp.use import compare

    a, b = compare.load_side(side_a), compare.load_side(side_b)
    compare.check_validates(a, side_a)
    compare.check_validates(b, side_b)
    if a.get("name") == b.get("name"):
        a["name"], b["name"] = f"{a.get('name') or 'run'}-A", f"{b.get('name') or 'run'}-B"
    from rich.console import Console

    epochs = repeats * (a["train"]["epochs"] + b["train"]["epochs"])
    progress = display.CompareProgress(Console(stderr=True), epochs, 2 * repeats)
    with interrupt.handled(), json_stdout_only(fmt), progress:
        outcomes_a, outcomes_b = compare.paired(a, b, repeats, runs_dir, progress.job_hook)
    rows = compare.statistics_of(outcomes_a, outcomes_b)
    done = sum(o.status == "completed" for o in outcomes_a + outcomes_b)
    line = compare.verdict(rows, repeats)
    if fmt == "json":
        click.echo(
            json.dumps(
                jsonable(
                    {
                        "verdict": line,
                        "metrics": rows,
                        "repeats": repeats,
                        "runs": {
                            "a": [str(o.run.path) for o in outcomes_a],
                            "b": [str(o.run.path) for o in outcomes_b],
                        },
                    }
                ),
                indent=2,
            )
        )
    else:
        from dlexp.core.terminal import stdout_console

        display.print_compare(stdout_console(), rows, line)
    ctx.exit(0 if done == 2 * repeats else 1)


@cli.command()
@click.argument("run_dir", metavar="RUN")
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["python", "savedmodel", "tflite"]),
    default="python",
    show_default=True,
    help="python: a standalone Keras script; savedmodel: for TF Serving; tflite.",
)
@click.option(
    "--out",
    type=click.Path(path_type=Path),
    default=None,
    help="Where: python, a file (default stdout); savedmodel, a new folder; tflite, a file.",
)
def export(run_dir, fmt, out):
    """Export the run in RUN: a standalone Keras script that rebuilds its data, model
    and training (plain keras, NumPy and scikit-learn; no dlexp), or its model as a
    TensorFlow SavedModel (TF Serving) or a TensorFlow Lite file. The two TensorFlow
    formats are the one place dlexp imports TensorFlow.

    \b
    Examples:
      dlexp export runs/<run-id> --format python --out my_run.py && python my_run.py 5
      dlexp export runs/<run-id> --format savedmodel --out serving/my_model
      dlexp export runs/<run-id> --format tflite --out my_model.tflite
    """
    from dlexp.core.files import atomic_write
    from dlexp.use import export as export_mod

    if fmt != "python" and out is None:
        raise BadInput(f"--format {fmt}: needs --out")
    if out is not None:
        export_mod.check_destination(fmt, out)  # every format, before any work
    if fmt != "python":
        with json_stdout_only("json"):  # TensorFlow's chatter goes to stderr
            done = getattr(export_mod, fmt)(run_dir, out)
        click.echo(f"wrote {done}", err=True)
        return
    text = export_mod.python_script(run_dir, out)
    if out is None:
        click.echo(text, nl=False)
        return
    try:
        atomic_write(out, text)
    except OSError as exc:
        raise ConfigError(f"cannot write {str(out)!r} ({exc.strerror})", "--out") from None
    click.echo(f"wrote {out}", err=True)


@cli.group(cls=DlexpGroup)
def explain():
    """Look inside the network: backpropagation worked step by step and checked against
    Keras' autodiff, activation functions and their derivatives, the optimizers' paths.

    \b
    Examples:
      dlexp explain backprop
      dlexp explain activations --out activations.png
      dlexp explain optimizers --surface rosenbrock --out paths.png
    """


# explain's subcommands (one per view) are added below this line.


def _check_out(out: Path) -> None:
    """Before the work: --out's folder exists (the file itself is written at the end)."""
    if not out.parent.is_dir():
        raise ConfigError(f"cannot write {str(out)!r} (no folder {str(out.parent)!r})", "--out")


def _write_png(out: Path, png: bytes) -> None:
    """Write the picture atomically, or say which --out could not be written (exit 2)."""
    from dlexp.core.files import atomic_write

    try:
        atomic_write(out, png)
    except OSError as exc:
        raise ConfigError(f"cannot write {str(out)!r} ({exc.strerror})", "--out") from None


@explain.command("activations")
@click.argument("names", nargs=-1, metavar="[NAMES]...")
@click.option(
    "--out",
    type=click.Path(dir_okay=False, path_type=Path),
    default=Path("activations.png"),
    show_default=True,
    help="Where the picture goes (PNG).",
)
@format_option("text", "json")
def explain_activations(names, out, fmt):
    """Keras' activation functions and their derivatives over [-5, 5], drawn as a
    grid of panels (f solid, f' dashed) into --out, with a table: the range, f(0),
    f'(0), the largest |f'| and f' at -5 and 5, where the gradient vanishes.

    Each function is keras.activations.get(NAME); its derivative comes from JAX's
    autodiff through that function (jax.grad). Without NAMES, the notebook's set:
    sigmoid, tanh, relu, leaky_relu, elu, selu, softplus, softsign, swish, gelu,
    linear, hard_sigmoid. --format json prints the table as JSON on stdout.

    \b
    Examples:
      dlexp explain activations
      dlexp explain activations sigmoid tanh relu --out three.png
      dlexp explain activations mish hard_silu --format json | jq '.[].vanishes'
    """
    from dlexp.core.files import jsonable
    from dlexp.explain import activations as act

    names = act.check_names(names)  # a typo is refused before Keras is imported
    _check_out(out)
    with json_stdout_only(fmt):
        curves = act.compute(names)
        png = act.draw(curves)
    _write_png(out, png)
    if fmt == "json":
        click.echo(json.dumps(jsonable(act.records(curves)), indent=2))
    else:
        from rich.console import Console

        Console(width=None if sys.stdout.isatty() else 160).print(act.table(curves))
    click.echo(f"wrote {out}", err=True)


@explain.command("optimizers")
@click.option(
    "--surface",
    default="rosenbrock",
    show_default=True,
    help="beale, rosenbrock, saddle (x² - y²) or ravine (0.1 x² + 10 y²).",
)
@click.option(
    "--optimizers",
    "optimizer_names",
    metavar="A,B,...",
    default=None,
    help="Which, comma-separated (default: all): sgd, momentum, nesterov, adagrad, "
    "adadelta, rmsprop, adam, adamax, nadam.",
)
@click.option(
    "--steps",
    type=int,
    default=None,
    help="Steps of each optimizer, 1 to 100,000 (default: the surface's, 100 to 1,000).",
)
@click.option(
    "--lr",
    type=float,
    default=None,
    help="One learning rate for every optimizer (default: each its own, per surface).",
)
@click.option(
    "--out",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="Where the picture goes (PNG; default optimizers-SURFACE.png).",
)
@format_option("text", "json")
def explain_optimizers(surface, optimizer_names, steps, lr, out, fmt):
    """The paths of Keras' optimizers minimising a function of (x, y) from the same
    start, drawn over its contours into --out, and where each ended as a table.

    Each path is the real keras.optimizers class (SGD, SGD with momentum 0.9 and
    Nesterov, Adagrad, Adadelta, RMSprop, Adam, Adamax, Nadam) updating a
    keras.Variable of shape (2,) with gradients from jax.grad. Each surface has its
    start, steps and a learning rate per optimizer chosen so that each moves
    visibly (the table shows them); --lr gives all the same rate. A path that
    overflows is drawn up to its last finite point and reported as diverged.

    \b
    Examples:
      dlexp explain optimizers
      dlexp explain optimizers --surface saddle        # who escapes a saddle point
      dlexp explain optimizers --surface ravine --optimizers sgd,momentum --lr 0.02
      dlexp explain optimizers --surface beale --steps 2000 --format json | jq .optimizers
    """
    from dlexp.core.files import jsonable
    from dlexp.explain import optimizers as opt

    opt.check(surface, optimizer_names, steps, lr)  # bad options fail before Keras loads
    out = out or Path(f"optimizers-{surface}.png")
    _check_out(out)
    with json_stdout_only(fmt):
        result = opt.run(surface, optimizer_names, steps, lr)
        png = opt.draw(result)
    _write_png(out, png)
    if fmt == "json":
        click.echo(json.dumps(jsonable({**opt.records(result), "out": str(out)}), indent=2))
    else:
        from rich.console import Console

        Console(width=None if sys.stdout.isatty() else 160).print(opt.table(result))
    click.echo(f"wrote {out}", err=True)


@explain.command("backprop")
@click.argument("spec_file", metavar="[FILE.yaml]", required=False)
@click.option(
    "--steps",
    type=int,
    default=1,
    show_default=True,
    help="Gradient-descent steps, 1 to 100,000.",
)
@format_option("text", "json")
def explain_backprop(spec_file, steps, fmt):
    """Backpropagation worked step by step on a small dense network, layer by layer:
    each unit's net input, output and delta, the loss, every weight's and bias's
    gradient and the updated weights.

    Without FILE.yaml, Matt Mazur's "A Step by Step Backpropagation Example": 2-2-2
    sigmoid units, inputs 0.05/0.10, targets 0.01/0.99, learning rate 0.5, biases
    fixed. FILE.yaml gives inputs, targets, learning_rate, loss (half_sse, mse,
    binary_crossentropy), train_biases and layers: {weights, biases, activation}
    each, weights[i][j] joining input i to unit j (Keras' layout); activations
    sigmoid, tanh, relu, linear, softmax.

    Every figure is computed by the chain rule in NumPy and again by Keras' autodiff
    (jax.grad through keras.layers.Dense, float64); they must agree within 1e-6, or
    the command fails (exit 1). Text shows step 1 in full, then for --steps N the
    loss at a few steps and the final weights. A step's loss is its forward pass's,
    before its update (Mazur's "after 10,000 steps" is step 10,000's). JSON holds
    every step up to 100 steps; beyond, the first and the last, with "loss_curve"
    and "loss_after" (after the last update).

    \b
    Exit codes: 0 agreed, 1 Keras disagreed or the steps diverged, 2 bad input.

    \b
    Examples:
      dlexp explain backprop
      dlexp explain backprop --steps 10000
      dlexp explain backprop my_net.yaml --steps 3 --format json
      dlexp explain backprop --format json | jq '.steps[0].layers[1].grad_weights'
    """
    from dlexp.explain import backprop

    spec, source = backprop.load(spec_file)
    steps = backprop.check_steps(steps)
    try:
        with json_stdout_only(fmt):
            result = backprop.run(spec, steps, source)
    except backprop.BackpropFailed as exc:
        raise click.ClickException(str(exc)) from None
    if fmt == "json":
        click.echo(json.dumps(backprop.as_json(result), indent=2))
    else:
        from rich.console import Console

        backprop.print_text(Console(), result)


@cli.command("config")
@click.argument("config_file", metavar="CONFIG", required=False)
@set_option
def show_config(config_file, overrides):
    """Check CONFIG and print it resolved: every default filled in.

    Without CONFIG, print the defaults: every key dlexp knows.

    \b
    Examples:
      dlexp config
      dlexp config configs/deep_mlp.yaml --set train.optimizer=nadam
    """
    from dlexp import config as config_mod
    from dlexp.core import yamlio

    if config_file is None:
        if overrides:
            raise BadInput("--set needs a CONFIG file")
        cfg = config_mod.defaults()
    else:
        cfg = _load(config_file, overrides, None)
    click.echo(yamlio.dump(cfg), nl=False)


def main() -> None:
    try:
        cli(prog_name="dlexp")
    finally:  # the command has ended: a Ctrl-C now would only cut short the interpreter's
        interrupt.ignore()  # own exit (JAX's clean-up at exit, with a traceback)


if __name__ == "__main__":
    sys.exit(main())
