"""Value specs: each checks one config value and returns it normalised, or raises a
ConfigError naming the key path, the value and what was expected."""

from __future__ import annotations

import copy
import math
import re
from typing import Any

from dlexp.core.errors import bad_value, unknown_key, unknown_name

# Rules for a number: what it is said to be, and the test (None: a boolean).
UNIT = ("a number in (0, 1)", lambda v: 0 < v < 1)
UNIT_CLOSED_OPEN = ("a number in [0, 1)", lambda v: 0 <= v < 1)
POSITIVE = ("a number > 0", lambda v: v > 0)
NON_NEGATIVE = ("a number >= 0", lambda v: v >= 0)
BOOL = ("true or false", None)
_FLOAT_TEXT = re.compile(r"^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$")


class Spec:
    """One config value: its default and how to check it.

    ``kind`` (the type, in words), ``meaning`` and ``shown`` (the default as the docs
    say it, where the value alone would mislead) are for the manual's key table, which
    is generated from the schema (``dlexp.config.schema.key_table``)."""

    expected = "a value"
    kind = "any"
    meaning = ""
    shown: str | None = None

    def __init__(self, default: Any = None):
        self.default = default

    def check(self, value: Any, path: str) -> Any:
        raise NotImplementedError


def doc(spec: Spec, meaning: str, shown: str | None = None) -> Spec:
    """``spec``, with what the key means (and its default in words) for the docs."""
    spec.meaning, spec.shown = meaning, shown
    return spec


class Int(Spec):
    kind = "integer"

    def __init__(self, default: Any = None, *, min: int | None = None, max: int | None = None):
        super().__init__(default)
        self.min, self.max = min, max
        if min == 1 and max is None:
            self.expected = "a positive integer"
        elif min == 1:
            self.expected = f"a positive integer up to {max}"
        elif min is not None and max is not None:
            self.expected = f"an integer in [{min}, {max}]"
        elif min is not None:
            self.expected = f"an integer >= {min}"
        else:
            self.expected = "an integer"

    def check(self, value: Any, path: str) -> int:
        if isinstance(value, float) and value.is_integer():
            value = int(value)
        if isinstance(value, bool) or not isinstance(value, int):
            raise bad_value(path, value, self.expected)
        if (self.min is not None and value < self.min) or (
            self.max is not None and value > self.max
        ):
            raise bad_value(path, value, self.expected)
        return value


class Float(Spec):
    """A real number; numeric text such as ``1e-3`` is accepted too, since YAML 1.1
    (PyYAML) reads that as a string and users rightly expect it to work."""

    kind = "number"

    def __init__(self, default: Any = None, rule: tuple[str, Any] = ("a number", None)):
        super().__init__(default)
        self.expected, self.ok = rule

    def check(self, value: Any, path: str) -> float:
        number = value
        if isinstance(value, str) and _FLOAT_TEXT.match(value.strip()):
            number = float(value)
        if isinstance(number, bool) or not isinstance(number, (int, float)):
            raise bad_value(path, value, self.expected)
        number = float(number)
        if not math.isfinite(number) or (self.ok is not None and not self.ok(number)):
            raise bad_value(path, value, self.expected)
        return number


class Number(Spec):
    """An integer or a real number, kept as given (a grid range's bounds: integer
    bounds make an integer range)."""

    kind = "number"

    def __init__(self, default: Any = None, rule: tuple[str, Any] = ("a number", None)):
        super().__init__(default)
        self.expected, self.ok = rule

    def check(self, value: Any, path: str) -> int | float:
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise bad_value(path, value, self.expected)
        if not math.isfinite(value) or (self.ok is not None and not self.ok(value)):
            raise bad_value(path, value, self.expected)
        return value


class Bool(Spec):
    expected = "true or false"
    kind = "boolean"

    def check(self, value: Any, path: str) -> bool:
        if not isinstance(value, bool):
            raise bad_value(path, value, self.expected)
        return value


class Str(Spec):
    expected = "a string"
    kind = "string"

    def check(self, value: Any, path: str) -> str:
        if not isinstance(value, str) or not value.strip():
            raise bad_value(path, value, "a non-empty string")
        return value


class Name(Spec):
    """A run's or a search's name: it names folders, so letters, digits, spaces and
    ``_ . -``, starting with a letter or a digit, at most 64 characters."""

    expected = "a name of 1 to 64 letters, digits, spaces or _ . -, starting with a letter or digit"
    kind = "string"
    PATTERN = re.compile(r"[A-Za-z0-9][A-Za-z0-9 _.\-]{0,63}")

    def check(self, value: Any, path: str) -> str:
        if not isinstance(value, str) or not self.PATTERN.fullmatch(value):
            raise bad_value(path, value, self.expected)
        return value


class Choice(Spec):
    """One of a fixed set of names, matched without regard to case."""

    kind = "name"

    def __init__(self, default: Any, options: tuple[str, ...]):
        super().__init__(default)
        self.options = options
        self.expected = "one of: " + ", ".join(options)

    def check(self, value: Any, path: str) -> str:
        if not isinstance(value, str):
            raise bad_value(path, value, f"a name, {self.expected}")
        name = value.strip().lower()
        if name not in self.options:
            raise unknown_name(path, value, self.options)
        return name


class Nullable(Spec):
    def __init__(self, inner: Spec, default: Any = None):
        super().__init__(default)
        self.inner = inner
        self.expected = f"{inner.expected}, or null"
        self.kind = f"{inner.kind} or null"

    def check(self, value: Any, path: str) -> Any:
        return None if value is None else self.inner.check(value, path)


class ListOf(Spec):
    def __init__(self, item: Spec, default: Any = None, *, min_len: int = 0, unique: bool = False):
        super().__init__(default)
        self.item, self.min_len, self.unique = item, min_len, unique
        self.expected = f"a list of {item.expected}" + (f" (at least {min_len})" if min_len else "")
        self.kind = f"list of {item.kind}s"

    def check(self, value: Any, path: str) -> list:
        if not isinstance(value, list) or len(value) < self.min_len:
            raise bad_value(path, value, self.expected)
        out = [self.item.check(v, f"{path}[{i}]") for i, v in enumerate(value)]
        if self.unique and len(set(map(str, out))) != len(out):
            raise bad_value(path, value, "a list without repeats")
        return out


class Section(Spec):
    """A mapping with known keys; unknown keys are refused with a did-you-mean."""

    expected = "a mapping"
    kind = "mapping"

    def __init__(self, fields: dict[str, Spec]):
        super().__init__(None)
        self.fields = fields

    def check(self, value: Any, path: str) -> dict:
        if value is None:
            value = {}
        if not isinstance(value, dict):
            keys = ", ".join(self.fields)
            raise bad_value(path or "config", value, f"a mapping with keys {keys}")
        for key in value:
            if key not in self.fields:
                where = f"{path}.{key}" if path else str(key)
                listing = f"valid keys{' in ' + path if path else ''}: {', '.join(self.fields)}"
                raise unknown_key(where, key, list(self.fields), listing)
        out = {}
        for key, spec in self.fields.items():
            where = f"{path}.{key}" if path else key
            if key in value:
                out[key] = spec.check(value[key], where)
            elif isinstance(spec, Section):
                out[key] = spec.check({}, where)
            else:
                out[key] = copy.deepcopy(spec.default)
        return out


class BatchSize(Spec):
    """``full`` (batch gradient descent), 1 (stochastic) or n (mini-batch)."""

    expected = "a positive integer or 'full'"
    kind = "integer or `full`"

    def check(self, value: Any, path: str) -> int | str:
        if isinstance(value, str) and value.strip().lower() == "full":
            return "full"
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise bad_value(path, value, self.expected)
        return value


class Target(Spec):
    """A CSV's target: one column's name, or a list of them (several outputs, for
    regression), kept as given."""

    expected = "a column name, or a list of column names"
    kind = "string or list of strings"

    def check(self, value: Any, path: str) -> str | list[str]:
        if isinstance(value, list):
            return ListOf(Str(), min_len=1, unique=True).check(value, path)
        return Str().check(value, path)
