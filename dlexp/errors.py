"""The errors dlexp raises on purpose, so the CLI can tell a user's mistake from a bug."""

from __future__ import annotations

import difflib
from typing import Any


class DlexpError(Exception):
    """Base class of every error dlexp raises on purpose."""


class ConfigError(DlexpError):
    """Bad input: a config, grid, data file or argument a user can fix (exit code 2).

    Args:
        message: what is wrong, naming the key path or file, the value received and
            what was expected.
    """


def show(value: Any) -> str:
    """A short, YAML-like rendering of a received value for error messages."""
    if isinstance(value, str):
        return repr(value)
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    text = repr(value)
    return text if len(text) <= 80 else text[:77] + "..."


def did_you_mean(word: str, options: list[str] | tuple[str, ...]) -> str:
    """' (did you mean 'x'?)' for the closest option, or '' when nothing is close."""
    close = difflib.get_close_matches(str(word), [str(o) for o in options], n=1, cutoff=0.6)
    return f" (did you mean {close[0]!r}?)" if close else ""


def bad_value(path: str, value: Any, expected: str) -> ConfigError:
    """The one error message shape for a value of the wrong type or out of range."""
    return ConfigError(f"{path}: expected {expected}, got {show(value)}")


def unknown_name(path: str, value: Any, options: list[str] | tuple[str, ...]) -> ConfigError:
    """An error for a name that is not one of `options`, listing them and suggesting one."""
    return ConfigError(
        f"{path}: unknown value {show(value)}{did_you_mean(value, options)}; "
        f"expected one of: {', '.join(map(str, options))}"
    )
