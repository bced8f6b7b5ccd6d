"""The dlexp command line: parse options, call the library, print. No TensorFlow at import."""

from __future__ import annotations

import json
import signal
import sys
from contextlib import contextmanager
from pathlib import Path

import click

from dlexp import __version__
from dlexp.errors import ConfigError


class BadInput(click.ClickException):
    """A user's mistake: one line on stderr, exit code 2, no traceback."""

    exit_code = 2


class DlexpGroup(click.Group):
    """Turns dlexp's ConfigError into exit 2 and Ctrl-C anywhere into exit 130."""

    def invoke(self, ctx: click.Context):
        try:
            return super().invoke(ctx)
        except ConfigError as exc:
            raise BadInput(str(exc)) from None
        except KeyboardInterrupt:
            click.echo("interrupted", err=True)
            ctx.exit(130)


@contextmanager
def sigterm_as_interrupt():
    """`kill PID` stops a run the way Ctrl-C does, so it is marked interrupted."""

    def handler(signum, frame):
        raise KeyboardInterrupt

    previous = signal.signal(signal.SIGTERM, handler)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


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
      dlexp config configs/regularized.yaml --set model.dropout=0.2
    """


def _load(config_file: str, overrides: tuple[str, ...], name: str | None) -> dict:
    from dlexp import config as config_mod

    cfg = config_mod.load(config_file, overrides)
    cfg["name"] = name or cfg["name"] or Path(config_file).stem
    return cfg


@cli.command()
@click.argument("config_file", metavar="CONFIG")
@runs_dir_option
@set_option
@click.option("--name", help="Name of the run (default: the config's name, else its file name).")
@format_option("text", "json")
@click.option("--quiet", "-q", is_flag=True, help="No progress bar.")
@click.pass_context
def train(ctx, config_file, runs_dir, overrides, name, fmt, quiet):
    """Train the network CONFIG describes and save the run in RUNS_DIR/<run-id>/.

    The run folder holds config.yaml (resolved), metrics.json, history.csv,
    model.keras, run.json and, for 2D data, boundary.npz.
    Exit codes: 0 done, 1 failed or diverged, 2 bad input, 130 interrupted.

    \b
    Examples:
      dlexp train configs/moons.yaml
      dlexp train configs/deep_mlp.yaml --set train.epochs=5 --set seed=3
      dlexp train configs/logreg.yaml --runs-dir /tmp/runs --format json
    """
    from rich.console import Console

    from dlexp import display

    cfg = _load(config_file, overrides, name)
    from dlexp import training  # imports Keras: only once the config is known to be good

    err = Console(stderr=True)
    progress = None if quiet else display.TrainProgress(err, cfg["train"]["epochs"], cfg["name"])
    with sigterm_as_interrupt():
        if progress is None:
            outcome = training.train_config(cfg, runs_dir)
        else:
            with progress:
                outcome = training.train_config(cfg, runs_dir, on_epoch=progress)
    if fmt == "json":
        click.echo(json.dumps(_outcome_record(outcome), indent=2))
    else:
        display.train_summary(Console(), outcome)
    ctx.exit(outcome.exit_code)


def _outcome_record(outcome) -> dict:
    from dlexp.runs import jsonable

    record = {"id": outcome.run.id, "path": str(outcome.run.path), "status": outcome.status,
              "error": outcome.error, **outcome.metrics}
    return jsonable(record)


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

    if config_file is None:
        if overrides:
            raise BadInput("--set needs a CONFIG file")
        cfg = config_mod.defaults()
    else:
        cfg = _load(config_file, overrides, None)
    click.echo(config_mod.dump(cfg), nl=False)


def main() -> None:
    cli(prog_name="dlexp")


if __name__ == "__main__":
    sys.exit(main())
