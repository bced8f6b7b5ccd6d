"""YAML in and out: every YAML file dlexp reads, and the configs it writes.

Reading refuses a key given twice in one mapping (PyYAML silently keeps the last) and
turns every failure into a ConfigError that names the file; writing puts mappings in
block style and short lists in flow style, in the order given.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from dlexp.errors import ConfigError


class _UniqueKeyLoader(yaml.SafeLoader):
    """A SafeLoader that refuses a key given twice in one mapping (PyYAML keeps the last)."""


def _construct_mapping(loader: yaml.SafeLoader, node: yaml.MappingNode, deep: bool = False):
    seen = set()
    for key_node, _ in node.value:
        key = loader.construct_object(key_node, deep=deep)
        if key in seen:
            mark = key_node.start_mark
            raise yaml.constructor.ConstructorError(
                None, None, f"key {key!r} appears twice in one mapping", mark
            )
        seen.add(key)
    return loader.construct_mapping(node, deep=deep)


_UniqueKeyLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _construct_mapping)


def read_yaml(path: str | Path) -> Any:
    """Parse a YAML file, turning every failure into a ConfigError that names the file."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError(f"{path}: file not found") from None
    except IsADirectoryError:
        raise ConfigError(f"{path}: is a directory, expected a YAML file") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{path}: cannot be read ({exc})") from None
    try:
        return yaml.load(text, Loader=_UniqueKeyLoader)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        problem = getattr(exc, "problem", None) or str(exc)
        raise ConfigError(f"{path}: malformed YAML{where}: {problem}") from None


class _Dumper(yaml.SafeDumper):
    """Block style for mappings, flow style for short lists of scalars: [8, 32, 128]."""


def _represent_list(dumper: yaml.SafeDumper, data: list):
    flat = all(not isinstance(v, (list, dict)) for v in data)
    return dumper.represent_sequence("tag:yaml.org,2002:seq", data, flow_style=flat)


_Dumper.add_representer(list, _represent_list)


def dump(cfg: dict) -> str:
    """A config as YAML, in schema order, readable by ``load``."""
    return yaml.dump(cfg, Dumper=_Dumper, sort_keys=False, default_flow_style=False)
