"""``dlexp config``: a config checked and printed resolved, or the defaults."""

from __future__ import annotations

import click

from dlexp.cli.common import BadInput, set_option


@click.command("config")
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
    from dlexp.train import plan

    if config_file is None:
        if overrides:
            raise BadInput("--set needs a CONFIG file")
        cfg = config_mod.defaults()
    else:
        cfg = plan.load_config(config_file, overrides, None)
    click.echo(yamlio.dump(cfg), nl=False)
