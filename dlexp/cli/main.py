"""The dlexp command line: the ``dlexp`` group and its entry point. Each command lives
in a module of its family (train, search, report, runs, use, explain, config), loaded
only when that command runs or a help lists it. No TensorFlow, Keras or JAX at import."""

from __future__ import annotations

import importlib
import sys

import click

from dlexp import __version__
from dlexp.cli.common import DlexpGroup
from dlexp.core import interrupt

# Each command's name and where it lives (module:attribute), in dlexp.cli.
COMMANDS = {
    "train": "train:train",
    "search": "search:search",
    "report": "report:report",
    "serve": "serve:serve",
    "best": "runs:best",
    "diff": "runs:diff",
    "compare": "runs:compare_cmd",
    "predict": "use:predict",
    "export": "use:export",
    "explain": "explain:explain",
    "config": "config:show_config",
}


class LazyGroup(DlexpGroup):
    """A group whose subcommands are imported when one is asked for (click's
    "Lazily Loading Subcommands"): ``dlexp train`` never imports the report's module."""

    def __init__(self, *args, lazy_subcommands: dict[str, str] | None = None, **kwargs):
        super().__init__(*args, **kwargs)
        self.lazy_subcommands = lazy_subcommands or {}

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted({*super().list_commands(ctx), *self.lazy_subcommands})

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        if cmd_name in self.lazy_subcommands:
            return self._lazy_load(cmd_name)
        return super().get_command(ctx, cmd_name)

    def resolve_command(self, ctx: click.Context, args: list[str]):
        try:
            return super().resolve_command(ctx, args)
        except click.UsageError as exc:  # "did you mean" reads self.commands: none yet
            no_such = getattr(click.exceptions, "NoSuchCommand", None)  # click >= 8.2
            if no_such is None or not isinstance(exc, no_such):
                raise
            names = self.list_commands(ctx)
            raise no_such(exc.command_name, possibilities=names, ctx=ctx) from None

    def _lazy_load(self, cmd_name: str) -> click.Command:
        module_name, attribute = self.lazy_subcommands[cmd_name].split(":")
        command = getattr(importlib.import_module(f"dlexp.cli.{module_name}"), attribute)
        if not isinstance(command, click.Command):
            raise ValueError(f"dlexp.cli.{module_name}:{attribute} is not a click command")
        return command


@click.group(
    cls=LazyGroup,
    lazy_subcommands=COMMANDS,
    context_settings={"help_option_names": ["-h", "--help"]},
)
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


def main() -> None:
    interrupt.ignore_after()  # a Ctrl-C after the command's own handling: the exit's
    try:
        cli(prog_name="dlexp")
    finally:  # the command has ended: a Ctrl-C now would only cut short the interpreter's
        interrupt.ignore()  # own exit (JAX's clean-up at exit, with a traceback)


if __name__ == "__main__":
    sys.exit(main())
