"""Reading a config file and its ``--set`` overrides; dotted keys in nested mappings."""

from __future__ import annotations

import copy
import re
from pathlib import Path
from typing import Any

from dlexp.config.resolve import resolve
from dlexp.core.errors import ConfigError, show
from dlexp.core.yamlio import loads, read_yaml


def parse_override(text: str) -> tuple[str, Any]:
    """``train.epochs=5`` -> ("train.epochs", 5); the value is parsed as YAML."""
    key, sep, value = text.partition("=")
    key = key.strip()
    if not sep or not key or not re.fullmatch(r"[A-Za-z_][\w]*(\.[A-Za-z_][\w]*)*", key):
        raise ConfigError(
            f"--set {text!r}: expected KEY=VALUE with a dotted key, e.g. train.epochs=5"
        )
    return key, loads(value, f"--set {key}") if value.strip() else None


def set_dotted(raw: dict, key: str, value: Any) -> None:
    """Set ``a.b.c`` in a nested mapping, creating mappings on the way.

    A string on the way becomes ``{name: string}`` (so ``train.optimizer.momentum=0.9``
    works on ``optimizer: sgd``); false or null becomes an empty mapping (so setting
    ``train.early_stopping.patience`` turns early stopping on).
    """
    parts = key.split(".")
    node = raw
    for i, part in enumerate(parts[:-1]):
        child = node.get(part)
        if isinstance(child, str):
            child = {"name": child}
        elif child is None or child is False or child is True:
            child = {}
        elif not isinstance(child, dict):
            where = ".".join(parts[: i + 1])
            raise ConfigError(f"{where} is {show(child)}, not a mapping", key)
        node[part] = child
        node = child
    node[parts[-1]] = value


def get_dotted(cfg: dict, key: str) -> Any:
    """The value at ``a.b.c`` in a nested mapping; None where there is none."""
    node = cfg
    for part in key.split("."):
        if not isinstance(node, dict) or part not in node:
            return None
        node = node[part]
    return node


def apply_overrides(raw: dict, overrides: list[tuple[str, Any]]) -> dict:
    raw = copy.deepcopy(raw)
    for key, value in overrides:
        set_dotted(raw, key, value)
    return raw


def load(path: str | Path, overrides: list[str] | tuple[str, ...] = ()) -> dict:
    """Read, override and resolve a config file.

    Args:
        path: the YAML file.
        overrides: ``KEY=VALUE`` strings, as given to ``--set``.

    Returns:
        The resolved config; a CSV path in it is made absolute.
    """
    path = Path(path)
    raw = read_yaml(path)
    if raw is None:
        raw = {}
    if not isinstance(raw, dict):
        raise ConfigError(
            f"{path}: expected a mapping with sections seed, data, model, train; "
            f"got {type(raw).__name__} {show(raw)}"
        )
    parsed = [parse_override(o) for o in overrides]
    try:
        return resolve(apply_overrides(raw, parsed), path.parent)
    except ConfigError as exc:
        raise located(exc, path, parsed) from None


def located(exc: ConfigError, path: Path, overrides: list[tuple[str, Any]]) -> ConfigError:
    """An error in a file or its ``--set`` overrides, said to come from the one it did."""
    from_set = any(
        exc.within(key) or (exc.path and key.startswith(f"{exc.path}.")) for key, _ in overrides
    )
    return exc.located("--set " if from_set else f"{path}: ")


def resolve_paths(cfg: dict, config_file: Path) -> dict:
    """Make a CSV path in a resolved config absolute: it is read relative to the file.
    (``resolve(raw, base)`` does so itself; a path already absolute is kept.)"""
    if cfg["data"]["path"] is not None:
        cfg["data"]["path"] = str((Path(config_file).parent / cfg["data"]["path"]).resolve())
    return cfg
