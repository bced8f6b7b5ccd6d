"""YAML in and out: every YAML file dlexp reads, and the configs it writes.

Reading is bounded: only regular files of at most 1 MiB, and documents whose aliases
expand to at most 100,000 values (a "billion laughs" is refused before it is built);
a key given twice in one mapping (PyYAML silently keeps the last) or a key that is a
list is refused too, and every failure is a ConfigError that names its source.
Writing puts mappings in block style and short lists in flow style, in order.
"""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import yaml

from dlexp.core.errors import ConfigError

MAX_BYTES = 1 << 20  # a config, grid or run folder's YAML file
MAX_VALUES = 100_000  # scalars, lists and mappings, an alias counted each time it is used


class YAMLTooLarge(yaml.YAMLError):
    """A document that would expand past MAX_VALUES (a "billion laughs" of aliases)."""

    def __init__(self, values: int):
        super().__init__(
            f"expands to more than {values:,} values (aliases count each time they are "
            "used); expected a small config"
        )


# libyaml's parser (C) where PyYAML was built with it: a thousand run folders' configs
# parse in a second rather than in ten; the bounds below hold for both
_Safe = getattr(yaml, "CSafeLoader", None) if yaml.__with_libyaml__ else None


class _Loader(_Safe or yaml.SafeLoader):  # type: ignore[misc]
    """PyYAML's safe loader that refuses a key given twice in one mapping (PyYAML keeps
    the last) or a key that is a list or a mapping, and a document whose aliases
    expand past MAX_VALUES, before anything is built from it."""

    def get_single_data(self):
        node = self.get_single_node()
        if node is None:
            return None
        _expanded_size(node, {}, MAX_VALUES)
        return self.construct_document(node)


def _expanded_size(node: yaml.Node, memo: dict, limit: int) -> int:
    """How many values ``node`` stands for with every alias expanded (counted, not built)."""
    if id(node) in memo:
        return memo[id(node)]
    memo[id(node)] = 1  # a cycle (a recursive alias) counts once, and then is refused
    total = 1
    if isinstance(node, yaml.SequenceNode):
        children = node.value
    elif isinstance(node, yaml.MappingNode):
        children = [n for pair in node.value for n in pair]
    else:
        children = []
    for child in children:
        total += _expanded_size(child, memo, limit)
        if total > limit:
            raise YAMLTooLarge(limit)
    memo[id(node)] = total
    return total


def _construct_mapping(loader: yaml.SafeLoader, node: yaml.MappingNode, deep: bool = False):
    seen = set()
    for key_node, _ in node.value:
        key = loader.construct_object(key_node, deep=deep)
        if isinstance(key, (list, dict)):
            raise yaml.constructor.ConstructorError(
                None, None, "a key is a list or a mapping; keys are names", key_node.start_mark
            )
        if key in seen:
            raise yaml.constructor.ConstructorError(
                None, None, f"key {key!r} appears twice in one mapping", key_node.start_mark
            )
        seen.add(key)
    return loader.construct_mapping(node, deep=deep)


_Loader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _construct_mapping)


def parse(text: str) -> Any:
    """Parse YAML text with the bounded loader (raises yaml.YAMLError)."""
    try:
        return yaml.load(text, Loader=_Loader)
    except RecursionError:
        raise yaml.YAMLError("nested too deeply") from None


def loads(text: str, source: str) -> Any:
    """Parse YAML text; any failure is a ConfigError that begins with ``source``."""
    try:
        return parse(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        problem = getattr(exc, "problem", None) or str(exc)
        raise ConfigError(f"{source}: malformed YAML{where}: {problem}") from None


def read_text(path: str | Path, what: str = "a YAML file", max_bytes: int = MAX_BYTES) -> str:
    """A regular file's text, at most ``max_bytes``: a device, a pipe or a folder is
    refused before anything is read."""
    path = Path(path)
    try:
        if not path.exists():
            raise ConfigError(f"{path}: file not found")
        if path.is_dir():
            raise ConfigError(f"{path}: is a directory, expected {what}")
        if not path.is_file():
            raise ConfigError(f"{path}: is not a regular file, expected {what}")
        size = path.stat().st_size
        if size > max_bytes:
            raise ConfigError(
                f"{path}: {size:,} bytes; expected {what} of at most {max_bytes:,} bytes"
            )
        with open(path, encoding="utf-8") as f:
            return f.read(max_bytes + 1)[:max_bytes]
    except ConfigError:
        raise
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{path}: cannot be read ({exc})") from None


def read_yaml(path: str | Path) -> Any:
    """Parse a YAML file, turning every failure into a ConfigError that names the file."""
    return loads(read_text(path), str(path))


_SafeDumper = (
    getattr(yaml, "CSafeDumper", yaml.SafeDumper) if yaml.__with_libyaml__ else yaml.SafeDumper
)


class _Dumper(_SafeDumper):
    """Block style for mappings, flow style for short lists of scalars: [8, 32, 128]
    (libyaml's emitter when PyYAML has it: a search writes a config per run)."""


def _represent_list(dumper: yaml.SafeDumper, data: list):
    flat = all(not isinstance(v, (list, dict)) for v in data)
    return dumper.represent_sequence("tag:yaml.org,2002:seq", data, flow_style=flat)


_Dumper.add_representer(list, _represent_list)


def dump(cfg: dict) -> str:
    """A config as YAML, in schema order, readable by ``load``."""
    return yaml.dump(cfg, Dumper=_Dumper, sort_keys=False, default_flow_style=False)


def deep_merge(base: dict, over: dict) -> dict:
    """``base`` with ``over`` laid on top, mapping by mapping (a grid file over the config
    it names as its ``base``); neither is changed."""
    out = copy.deepcopy(base)
    for key, value in over.items():
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = deep_merge(out[key], value)
        else:
            out[key] = copy.deepcopy(value)
    return out
