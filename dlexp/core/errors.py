"""The errors dlexp raises on purpose, so the CLI can tell a user's mistake from a bug."""

from __future__ import annotations

import copy
import difflib
import errno
from typing import Any


class DlexpError(Exception):
    """Base class of every error dlexp raises on purpose."""


class ConfigError(DlexpError, ValueError):
    """Bad input: a config, grid, data file or argument a user can fix (exit code 2).

    A ``ValueError``, so Python code may catch it as one; ``str(error)`` is the one line
    the command line prints.

    The message reads ``[where]path: problem``. The key path is kept as data, so code
    that moves an error (a grid value checked as a config key, an error that came from
    ``--set``) reads ``.path`` and never parses the message.

    Args:
        problem: what is wrong: the value received and what was expected.
        path: the key path (``train.epochs``, ``model.layers[1]``), when the error is
            about one key.
    """

    def __init__(self, problem: str, path: str | None = None):
        self.problem, self.path, self.where = problem, path, ""
        super().__init__(problem)

    def __str__(self) -> str:
        text = f"{self.path}: {self.problem}" if self.path else self.problem
        return self.where + text

    def within(self, key: str) -> bool:
        """Whether the error is about ``key`` or a key under it (``key.x``, ``key[2]``)."""
        path = self.path or ""
        return path == key or path.startswith((f"{key}.", f"{key}["))

    def moved(self, path: str | None) -> ConfigError:
        """The same problem, reported at another key path."""
        out = copy.copy(self)
        out.path = path
        return out

    def located(self, where: str) -> ConfigError:
        """The same error, said to come from a file (``grid.yaml: ``) or ``--set ``."""
        out = copy.copy(self)
        out.where = where
        return out


class UnknownKeyError(ConfigError):
    """A key that the schema does not know (a typo, most often)."""


def show(value: Any) -> str:
    """A short, YAML-like rendering of a received value for error messages."""
    if isinstance(value, str):
        text = repr(value)
        return text if len(text) <= 80 else text[:76] + "...'"
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
    return ConfigError(f"expected {expected}, got {show(value)}", path)


def unknown_name(path: str, value: Any, options: list[str] | tuple[str, ...]) -> ConfigError:
    """An error for a name that is not one of `options`, listing them and suggesting one."""
    return ConfigError(
        f"unknown value {show(value)}{did_you_mean(value, options)}; "
        f"expected one of: {', '.join(map(str, options))}",
        path,
    )


def unknown_key(path: str, key: Any, options: list[str] | tuple[str, ...], listing: str):
    """An error for a key the schema does not know, with a did-you-mean and ``listing``
    (the valid keys, said as the place needs it)."""
    return UnknownKeyError(f"unknown key{did_you_mean(key, list(options))}; {listing}", path)


class MachineFault(DlexpError):
    """The machine failed a run (a full disk, an I/O error, no memory), not its config:
    a search stops, ends ``failed`` (exit 1), and retries that run when resumed."""


# errno values that say the machine, not the input, failed: no space, I/O, quota
_MACHINE_ERRNOS = frozenset(
    getattr(errno, name) for name in ("ENOSPC", "EIO", "EDQUOT") if hasattr(errno, name)
)


def machine_fault(exc: BaseException) -> bool:
    """Whether ``exc`` is the machine's fault: a full disk or quota, an I/O error, or
    memory running out (MemoryError, or XLA's RESOURCE_EXHAUSTED)."""
    if isinstance(exc, (MachineFault, MemoryError)):
        return True
    if isinstance(exc, OSError):
        return exc.errno in _MACHINE_ERRNOS
    return "RESOURCE_EXHAUSTED" in str(exc)[:2000]


def describe(exc: BaseException) -> str:
    """An error in one line a person can act on: which file, for a full disk."""
    if isinstance(exc, OSError) and exc.errno in _MACHINE_ERRNOS:
        what = {
            errno.ENOSPC: "no space left on the device",
            getattr(errno, "EDQUOT", -1): "the disk quota is exceeded",
        }.get(exc.errno, "an input/output error")
        where = f" writing {exc.filename}" if exc.filename else ""
        return f"{what}{where}"
    if isinstance(exc, MemoryError) or "RESOURCE_EXHAUSTED" in str(exc)[:2000]:
        return f"out of memory ({type(exc).__name__})"
    if isinstance(exc, DlexpError):
        return str(exc)
    return f"{type(exc).__name__}: {exc}"
