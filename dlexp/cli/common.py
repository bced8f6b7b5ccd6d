"""What every command module shares: the errors and their exit codes, the group that
maps dlexp's errors to them, the options several commands take, and the output helpers
(a JSON document on stdout, the console tables are printed to, "cannot write").

Imports click alone (and dlexp.core): ``dlexp --help`` loads every command module."""

from __future__ import annotations

import contextlib
import json
import sys
from pathlib import Path

import click

from dlexp.core.errors import ConfigError, DlexpError

# ---------------------------------------------------------------------------- errors


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


# --------------------------------------------------------------------------- options


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


def quiet_option(f):
    return click.option("--quiet", "-q", is_flag=True, help="No progress bar.")(f)


# ---------------------------------------------------------------------------- output


def json_stdout_only(fmt: str):
    """With --format json, whatever a library prints while working (Keras'
    "Invalid loss, terminating training", say) goes to stderr: stdout holds the JSON."""
    return contextlib.redirect_stdout(sys.stderr) if fmt == "json" else contextlib.nullcontext()


def echo_json(document, **options) -> None:
    """A JSON document on stdout, indented by 2 (``options`` go to json.dumps)."""
    click.echo(json.dumps(document, indent=2, **options))


def echo_json_rows(rows: list) -> None:
    """A JSON list on stdout, one element a line: as readable as indented JSON for a
    list of flat-ish records, and written by json's C encoder (indent makes it use the
    Python one: half a second for a thousand trials)."""
    if not rows:
        click.echo("[]")
        return
    click.echo("[\n  " + ",\n  ".join(json.dumps(r) for r in rows) + "\n]")


def table_console():
    """The console results are printed to, for tables that fit themselves to a width
    (report, search, compare): the terminal's, else $COLUMNS, else wide enough to keep
    rows whole (core.terminal says why)."""
    from dlexp.core.terminal import stdout_console

    return stdout_console()


def wide_console():
    """The console for tables that do not fold their columns (explain's): the
    terminal's width, else PIPED_WIDTH (a table piped to a file keeps its rows whole,
    whatever $COLUMNS says)."""
    from rich.console import Console

    from dlexp.core.terminal import PIPED_WIDTH

    return Console(width=None if sys.stdout.isatty() else PIPED_WIDTH)


def warn(message: str | None) -> None:
    """A warning on stderr, one line (nothing for None)."""
    if message:
        click.echo(f"warning: {message}", err=True)


def cannot_write(target: Path, exc: OSError, option: str, folder: bool = False) -> ConfigError:
    """The one message for a file (or, with ``folder``, a folder to write in) that an
    option names and that cannot be written: exit 2, naming the option and the reason."""
    where = "in " if folder else ""
    return ConfigError(f"cannot write {where}{str(target)!r} ({exc.strerror})", option)


def check_out(out: Path) -> None:
    """Before the work: --out's folder exists (the file itself is written at the end)."""
    if not out.parent.is_dir():
        raise ConfigError(f"cannot write {str(out)!r} (no folder {str(out.parent)!r})", "--out")


def write_out(out: Path, content: str | bytes) -> None:
    """Write --out atomically, or say it could not be written (exit 2)."""
    from dlexp.core.files import atomic_write

    try:
        atomic_write(out, content)
    except OSError as exc:
        raise cannot_write(out, exc, "--out") from None


# ----------------------------------------------------------------------- tensorboard


def check_tensorboard(logdir: Path | None) -> None:
    """Before any training: the folder for TensorBoard's logs can be made and written."""
    if logdir is None:
        return
    try:
        logdir.mkdir(parents=True, exist_ok=True)
        probe = logdir / ".dlexp-probe"
        probe.write_text("")
        probe.unlink()
    except OSError as exc:
        raise cannot_write(logdir, exc, "--tensorboard", folder=True) from None


def write_tensorboard(logdir: Path | None, runs_=(), search=None) -> None:
    """TensorBoard's logs of these runs (and of a search folder's HParams) into logdir."""
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
        raise cannot_write(logdir, exc, "--tensorboard", folder=True) from None
