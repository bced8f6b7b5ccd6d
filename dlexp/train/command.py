"""What ``dlexp train`` and ``dlexp.train`` do once the config is decided: its data
(a bad CSV is refused before Keras is imported), then one run, N repeats trained
together or K cross-validation folds, with Ctrl-C handled as the command line does.

Imports Keras only when it trains (after the config and its data are good)."""

from __future__ import annotations

from collections.abc import Callable

from dlexp.core.errors import ConfigError

EpochHook = Callable[[int, dict], None]


def check_counts(repeats: int, folds: int | None) -> None:
    """``repeats`` at least 1, ``folds`` none or 2 .. 20, as the command line's options.

    Raises:
        ConfigError: naming --repeats or --cv.
    """
    if isinstance(repeats, bool) or not isinstance(repeats, int) or repeats < 1:
        raise ConfigError(f"expected an integer of at least 1, got {repeats!r}", "--repeats")
    if folds is not None and (
        isinstance(folds, bool) or not isinstance(folds, int) or not 2 <= folds <= 20
    ):
        raise ConfigError(f"expected an integer from 2 to 20, got {folds!r}", "--cv")


def load_data(cfg: dict):
    """The config's data (``data.Dataset``): a bad CSV is refused here, before Keras.

    Raises:
        ConfigError: a CSV that cannot be read or does not fit the config.
    """
    from dlexp import data as data_mod

    return data_mod.load(cfg["data"], cfg["seed"])


def train(
    cfg: dict,
    runs_dir,
    repeats: int = 1,
    folds: int | None = None,
    on_epoch: EpochHook | None = None,
    dataset=None,
) -> list:
    """Train a resolved config into run folders under ``runs_dir``: one run, or the seeds
    seed .. seed+N-1 together (``repeats``), or K folds (``folds``).

    Within, SIGINT and SIGTERM end the runs ``interrupted`` (``core.interrupt``; in the
    main thread, as a Jupyter kernel runs its cells); ``on_epoch(epoch, row)`` is called
    after each epoch (a progress bar). ``dataset``: the config's data, when
    :func:`dataset` read it already.

    Returns:
        The outcomes (``train.writer.Outcome``), one per run folder.

    Raises:
        ConfigError: a bad config or data file, before any run folder exists.
    """
    from dlexp.core import interrupt

    if dataset is None:
        dataset = load_data(cfg)
    from dlexp.train import fit as training  # imports Keras: only once the config and data are good

    with interrupt.handled():
        if folds:
            from dlexp.train.stack import train_folds

            return train_folds(cfg, runs_dir, folds, on_epoch)
        if repeats > 1:
            from dlexp.train.stack import train_repeats

            return train_repeats(cfg, runs_dir, repeats, on_epoch, dataset)
        return [training.train_config(cfg, runs_dir, on_epoch, dataset)]
