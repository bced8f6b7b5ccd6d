"""What ``dlexp train`` trains, decided before any training: a config file, or the
config ``--from`` a run folder or a search's best trial (refitted on train+validation
with ``refit``), with overrides and a name. Reads files only (no Keras)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from dlexp.core.errors import ConfigError


def load_config(config_file: str | Path, overrides=(), name: str | None = None) -> dict:
    """CONFIG resolved, with the overrides (``KEY=VALUE``) applied, named ``name``, else
    the config's own name, else the file's name.

    Raises:
        ConfigError: a bad name, config or override.
    """
    from dlexp import config as config_mod

    if name is not None:
        config_mod.Name().check(name, "--name")
    cfg = config_mod.load(config_file, overrides)
    cfg["name"] = name or cfg["name"] or Path(config_file).stem
    return cfg


def check_together(folds: int | None, repeats: int, refit: bool) -> None:
    """Cross-validation trains K runs of its own: neither repeats nor a refit with it.

    Raises:
        ConfigError: naming --cv and what it was combined with.
    """
    if folds and (repeats > 1 or refit):
        raise ConfigError(f"cannot be combined with {'--refit' if refit else '--repeats'}", "--cv")


def config_for_train(
    config_file: str | Path | None = None,
    source: str | Path | None = None,
    refit: bool = False,
    overrides=(),
    name: str | None = None,
    warn: Callable[[str], None] | None = None,
) -> tuple[dict, str | None]:
    """CONFIG, or the config from ``source`` (a run or search folder; refitted with
    ``refit``), with the search's status when it came from a search. A search not
    finished is told to ``warn`` (its best may change) before the overrides are applied.

    Raises:
        ConfigError: both or neither of CONFIG and a source, ``refit`` with no source, or
            a bad config, source, name or override.
    """
    from dlexp import config as config_mod

    if (config_file is None) == (source is None):
        raise ConfigError("give a CONFIG file or --from RUN_OR_SEARCH (one of them)")
    if refit and source is None:
        raise ConfigError("--refit: needs --from RUN_OR_SEARCH")
    if source is None:
        return load_config(config_file, overrides, name), None
    from dlexp.runs import select as choose

    if name is not None:
        config_mod.Name().check(name, "--name")
    cfg, run_folders, search_status = choose.source(source)
    if search_status is not None:
        message = choose.unfinished(Path(source), search_status)
        if message and warn is not None:
            warn(message)
    if refit:
        cfg = choose.refit(cfg, run_folders)
    parsed = [config_mod.parse_override(o) for o in overrides]
    try:
        cfg = config_mod.resolve(config_mod.apply_overrides(cfg, parsed))
    except ConfigError as exc:
        raise exc.located("--set ") from None
    cfg["name"] = name or cfg["name"]
    return cfg, search_status


def overrides_of(values) -> list[str]:
    """``set=`` as the command line's ``--set KEY=VALUE`` strings: a mapping of dotted
    keys to values (``{"train.epochs": 20}``; each value written as YAML reads it back),
    or ``KEY=VALUE`` strings already."""
    import json

    if values is None:
        return []
    if isinstance(values, str):
        return [values]
    if isinstance(values, dict):
        return [f"{k}={json.dumps(v, default=str)}" for k, v in values.items()]
    return [str(v) for v in values]


def config_from_dict(raw: dict, overrides=(), name: str | None = None) -> dict:
    """A config given as a mapping (as a YAML file would hold it), checked and resolved
    exactly as a file is, with the overrides applied and named ``name``, else its own
    name. A CSV path in it is read from the current folder.

    Raises:
        ConfigError: a bad key or value (its message names the key), name or override.
    """
    import copy

    from dlexp import config as config_mod

    if not isinstance(raw, dict):
        raise ConfigError(
            f"expected a mapping with sections seed, data, model, train; got {type(raw).__name__}"
        )
    if name is not None:
        config_mod.Name().check(name, "--name")
    parsed = [config_mod.parse_override(o) for o in overrides]
    try:
        cfg = config_mod.resolve(config_mod.apply_overrides(copy.deepcopy(raw), parsed))
    except ConfigError as exc:  # from --set, said so; else the key path alone
        located = config_mod.located(exc, Path("config"), parsed)
        raise (located if located.where == "--set " else exc) from None
    cfg = config_mod.resolve_paths(cfg, Path.cwd() / "config")
    cfg["name"] = name or cfg["name"]
    return cfg
