"""``dlexp config``: a config checked and printed resolved, or the defaults, or the config
a TensorFlow Playground URL describes."""

from __future__ import annotations

import click

from dlexp.cli.common import BadInput, set_option, warn


@click.command("config")
@click.argument("config_file", metavar="CONFIG", required=False)
@click.option(
    "--from-playground",
    "playground",
    metavar="URL",
    help="Print the config of a TensorFlow Playground URL (the whole URL, quoted, or the "
    "part after '#'); what it cannot carry is said on stderr.",
)
@set_option
def show_config(config_file, playground, overrides):
    """Check CONFIG and print it resolved: every default filled in.

    Without CONFIG, print the defaults: every key dlexp knows. With
    --from-playground, print the config that a playground.tensorflow.org URL
    describes (dataset, noise, training share, batch size, learning rate,
    activation, regularization, network, inputs, problem, seed), ready for
    dlexp train; `dlexp export RUN --format playground` goes back.

    \b
    Examples:
      dlexp config
      dlexp config configs/deep_mlp.yaml --set train.optimizer=nadam
      dlexp config --from-playground \\
        'https://playground.tensorflow.org/#activation=relu&dataset=xor&networkShape=4,2' \\
        > xor.yaml && dlexp train xor.yaml
      dlexp config --from-playground 'problem=regression&regDataset=reg-gauss' \\
        --set train.epochs=20
    """
    from dlexp import config as config_mod
    from dlexp.core import yamlio
    from dlexp.train import plan

    if playground is not None:
        if config_file is not None:
            raise BadInput("give a CONFIG file or --from-playground URL, not both")
        from dlexp.config import playground as pg

        try:
            raw, notes, state = pg.from_url(playground)
        except config_mod.ConfigError as exc:
            raise exc.located("--from-playground ") from None
        parsed = [config_mod.parse_override(o) for o in overrides]
        try:
            cfg = config_mod.resolve(config_mod.apply_overrides(raw, parsed))
        except config_mod.ConfigError as exc:
            raise exc.located("--set ") from None
        for note in notes:
            warn(note)
        click.echo(pg.header(state, cfg["train"]["epochs"]) + yamlio.dump(cfg), nl=False)
        return
    if config_file is None:
        if overrides:
            raise BadInput("--set needs a CONFIG file")
        cfg = config_mod.defaults()
    else:
        cfg = plan.load_config(config_file, overrides, None)
    click.echo(yamlio.dump(cfg), nl=False)
