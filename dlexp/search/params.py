"""A grid's searched keys: a list of values or a range, each checked against the
config it changes (plain Python, as ``spec``)."""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from typing import Any

from dlexp import config as config_mod
from dlexp.core.errors import ConfigError, UnknownKeyError, bad_value, show, unknown_key

RANGE_KEYS = ("min", "max", "step", "sampling")
SAMPLINGS = ("linear", "log", "reverse_log")


@dataclass
class Param:
    """One searched key: a list of values, or a range ``{min, max, step, sampling}``."""

    key: str
    values: list | None = None
    range: dict | None = None

    @property
    def is_int_range(self) -> bool:
        r = self.range or {}
        return all(
            isinstance(r.get(k), int) and not isinstance(r.get(k), bool) for k in ("min", "max")
        ) and isinstance(r.get("step") or 1, int)

    def _walk(self) -> tuple:
        """A range as a grid walks it: (min, step, count)."""
        r = self.range
        if r.get("sampling", "linear") != "linear" or (
            r.get("step") is None and not self.is_int_range
        ):
            raise ConfigError(
                f"a grid needs a list or a linear range with a step, got {show(r)}",
                f"search.params.{self.key}",
            )
        step = r.get("step") or 1
        return r["min"], step, int(math.floor((r["max"] - r["min"]) / step + 1e-9)) + 1

    def count(self) -> int:
        """How many values the grid tries (counted, not made)."""
        return len(self.values) if self.values is not None else self._walk()[2]

    def value(self, i: int):
        """The grid's i-th value of this key."""
        if self.values is not None:
            return self.values[i]
        lo, step, _ = self._walk()
        return lo + i * step if self.is_int_range else round(lo + i * step, 12)


def point_key(values: dict) -> str:
    """A stable text key of a point's values, independent of key order."""
    return json.dumps({k: values[k] for k in sorted(values)}, sort_keys=True, default=str)


_RANGE_NUMBER = config_mod.Number()
_RANGE_STEP = config_mod.Number(None, ("a number > 0", lambda v: v > 0))
_RANGE_SAMPLING = config_mod.Choice("linear", SAMPLINGS)


def check_range(key: str, where: str, spec: dict) -> Param:
    """A range ``{min, max, step, sampling}``, checked with the config module's specs."""
    unknown = [k for k in spec if k not in RANGE_KEYS]
    if unknown:
        listing = f"a range has: {', '.join(RANGE_KEYS)}"
        raise unknown_key(f"{where}.{unknown[0]}", unknown[0], RANGE_KEYS, listing)
    for k in ("min", "max"):
        if k not in spec:
            raise ConfigError(f"a range needs min and max, got {show(spec)}", where)
        _RANGE_NUMBER.check(spec[k], f"{where}.{k}")
    if spec["min"] > spec["max"]:
        raise ConfigError(f"min {spec['min']} is above max {spec['max']}", where)
    step = spec.get("step")
    if step is not None:
        _RANGE_STEP.check(step, f"{where}.step")
    sampling = _RANGE_SAMPLING.check(spec.get("sampling", "linear"), f"{where}.sampling")
    if sampling != "linear" and spec["min"] <= 0:
        raise ConfigError(f"{sampling} sampling needs min > 0, got {spec['min']}", where)
    if sampling != "linear" and step is not None and step <= 1:
        raise bad_value(
            f"{where}.step", step, f"a factor > 1 (with {sampling} sampling the step multiplies)"
        )
    ints = all(isinstance(spec[k], int) for k in ("min", "max"))
    if ints and step is not None and not isinstance(step, int):
        raise bad_value(f"{where}.step", step, "an integer, as min and max are integers")
    checked = dict(spec)
    if "sampling" in spec:
        checked["sampling"] = sampling
    return Param(key, range=checked)


def check_param(key: Any, spec: Any, raw: dict) -> Param:
    where = f"search.params.{key}"
    if not isinstance(key, str) or not key:
        raise bad_value("search.params", key, "dotted config keys such as model.first_neuron")
    if isinstance(spec, dict):
        param = check_range(key, where, spec)
        probes = {".min": spec["min"], ".max": spec["max"]}
    elif isinstance(spec, list):
        if not spec:
            raise bad_value(where, spec, "a non-empty list of values")
        seen = set()
        for v in spec:
            if point_key({"v": v}) in seen:
                raise ConfigError(f"{show(v)} is listed twice", where)
            seen.add(point_key({"v": v}))
        param = Param(key, values=list(spec))
        probes = {f"[{i}]": v for i, v in enumerate(spec)}
    else:
        raise bad_value(where, spec, "a list of values or a range {min, max, step, sampling}")
    for index, value in probes.items():
        try:
            config_mod.resolve(config_mod.apply_overrides(raw, [(key, value)]))
        except ConfigError as exc:
            if exc.path == key:  # the value itself: say where it is in the grid
                at = "" if isinstance(exc, UnknownKeyError) else index
                raise exc.moved(f"{where}{at}") from None
            raise ConfigError(str(exc), "search.params") from None
    return param
