"""Pruning inside the stack: ``search.prune`` read and checked, and the pruner that
decides, between epochs, which trials stop.

Two rules, both as Optuna and Ray Tune define them:

- ``median``: from epoch ``warmup`` on, every ``every`` epochs, a trial whose objective
  is worse than the median of the other trials' at the same epoch stops.
- ``asha``: the asynchronous successive halving of Li et al. (2018). Its rungs are the
  epochs ``warmup * eta**k``; a trial reaching a rung goes on only while it is in the
  top ``1/eta`` of every trial that has reached that rung so far.

Neither acts until ``min_trials`` trials have a value at that epoch (the first epochs
are noisy). A point trained on several seeds or folds is judged on their mean, once
all of them have reached the epoch. A stopped trial's runs end ``pruned``; the stack
gives its slot to the next point of the search.

Plain Python: no Keras, no NumPy.
"""

from __future__ import annotations

import math
import statistics
from dataclasses import dataclass, field

from dlexp import config as config_mod
from dlexp.core.errors import ConfigError, bad_value, show, unknown_key

KINDS = ("median", "asha")
KEYS = ("kind", "warmup", "every", "min_trials", "eta")
PRUNED_TUNERS = ("grid", "random")


@dataclass(frozen=True)
class PruneSpec:
    """``search.prune``, checked."""

    kind: str
    warmup: int = 2
    every: int = 1
    min_trials: int = 5
    eta: int = 3

    def checks(self, epoch: int) -> bool:
        """Whether trials are judged after this (1-based) epoch."""
        if epoch < self.warmup:
            return False
        if self.kind == "median":
            return (epoch - self.warmup) % self.every == 0
        rung = self.warmup
        while rung < epoch:
            rung *= self.eta
        return rung == epoch

    def resolved(self) -> dict:
        out = {"kind": self.kind, "warmup": self.warmup, "min_trials": self.min_trials}
        out.update({"every": self.every} if self.kind == "median" else {"eta": self.eta})
        return out


def check(value, tuner: str, epochs: int, objective: str) -> PruneSpec | None:
    """``search.prune`` as written: None, ``median``/``asha``, or a mapping of KEYS."""
    where = "search.prune"
    if value is None:
        return None
    if isinstance(value, str):
        value = {"kind": value}
    if not isinstance(value, dict):
        raise bad_value(where, value, "median, asha, or {kind: median|asha, warmup: E, ...}")
    for key in value:
        if key not in KEYS:
            raise unknown_key(
                f"{where}.{key}", key, KEYS, f"valid keys in prune: {', '.join(KEYS)}"
            )
    if "kind" not in value:
        raise ConfigError(f"needs a kind (median or asha), got {show(value)}", where)
    kind = config_mod.Choice(None, KINDS).check(value["kind"], f"{where}.kind")
    if kind == "median" and "eta" in value:
        raise ConfigError("eta is asha's; the median rule takes every", f"{where}.eta")
    if kind == "asha" and "every" in value:
        raise ConfigError(
            "asha judges at its rungs (warmup * eta**k); every is the median rule's",
            f"{where}.every",
        )
    spec = PruneSpec(
        kind,
        warmup=config_mod.Int(min=1).check(value.get("warmup", 2), f"{where}.warmup"),
        every=config_mod.Int(min=1).check(value.get("every", 1), f"{where}.every"),
        min_trials=config_mod.Int(min=1).check(value.get("min_trials", 5), f"{where}.min_trials"),
        eta=config_mod.Int(min=2).check(value.get("eta", 3), f"{where}.eta"),
    )
    if tuner not in PRUNED_TUNERS:
        why = (
            "Hyperband prunes by its own brackets"
            if tuner == "hyperband"
            else ("a Bayesian search asks for a few trials at a time, so no slot is refilled")
        )
        raise ConfigError(f"pruning works for grid and random searches; {why}", where)
    if spec.warmup >= epochs:
        raise bad_value(
            f"{where}.warmup", spec.warmup, f"fewer epochs than train.epochs ({epochs})"
        )
    if objective.startswith("test_"):
        raise bad_value("search.objective", objective, "a metric logged every epoch to prune on")
    return spec


@dataclass
class Pruner:
    """Decides which trials stop, from every trial's objective at each epoch.

    Args:
        spec: the rule.
        objective: the logged metric judged (``val_accuracy``).
        direction: ``max`` or ``min``.
        runs_per_point: a point's seeds or folds, averaged before it is judged.
    """

    spec: PruneSpec
    objective: str
    direction: str
    runs_per_point: int = 1
    _runs: dict = field(default_factory=dict)  # point -> epoch -> {run: value}
    _values: dict = field(default_factory=dict)  # epoch -> {point: mean value}
    pruned: set = field(default_factory=set)  # points stopped

    def seed(self, point: str, run: str, history: list[dict]) -> None:
        """What a trial trained before this search resumed: its values, no decision."""
        for row in history:
            epoch, value = row.get("epoch"), row.get(self.objective)
            if isinstance(epoch, int) and isinstance(value, int | float):
                self._note(point, run, epoch, float(value))

    def report(self, point: str, run: str, epoch: int, logs: dict) -> bool:
        """A run's objective after (1-based) ``epoch``; whether the run stops now."""
        if point in self.pruned:
            return True
        value = logs.get(self.objective)
        mean = self._note(point, run, epoch, math.nan if value is None else float(value))
        if mean is None or not self.spec.checks(epoch):
            return False
        if self._worse(point, epoch, mean):
            self.pruned.add(point)
            return True
        return False

    def _note(self, point: str, run: str, epoch: int, value: float) -> float | None:
        """Keep a value; the point's mean at that epoch once all its runs have one."""
        at = self._runs.setdefault(point, {}).setdefault(epoch, {})
        at[run] = value
        if len(at) < self.runs_per_point:
            return None
        mean = statistics.fmean(at.values())
        self._values.setdefault(epoch, {})[point] = mean
        return mean

    def _worse(self, point: str, epoch: int, value: float) -> bool:
        values = self._values[epoch]
        if len(values) < self.spec.min_trials:
            return False
        if math.isnan(value):
            return True
        sign = 1.0 if self.direction == "max" else -1.0
        others = [sign * v for p, v in values.items() if p != point and not math.isnan(v)]
        if not others:
            return False
        mine = sign * value
        if self.spec.kind == "median":
            return mine < statistics.median(others)
        keep = max(1, (len(others) + 1) // self.spec.eta)  # the top 1/eta of the rung
        better = sum(1 for v in others if v > mine)
        return better >= keep
