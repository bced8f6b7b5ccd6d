"""Trial names: the folder under ``trials/`` that a keras-tuner trial is trained in, and
those of an extended grid (values added since its search began), whose old points keep
their names."""

from __future__ import annotations

import json
from dataclasses import replace
from typing import TYPE_CHECKING, Protocol

from dlexp.core.errors import ConfigError, show
from dlexp.runs import folder as runs
from dlexp.search.params import Param, point_key
from dlexp.search.spec import SearchSpec

if TYPE_CHECKING:
    from dlexp.search.protocols import TrialSpace


class Plan(Protocol):
    """What TrialNames reads of ``plan.Plan`` (which imports this module)."""

    spec: SearchSpec

    def name(self, index: int) -> str: ...
    def name_of(self, values: dict) -> str: ...


class TrialNames:
    """A trial's name: its point's index for a planned search (so that it is the same on
    every resume), keras-tuner's trial id otherwise; both as ``Plan.name`` writes them
    (``t007``). Called with a trial, or with a trial id (Hyperband's ``tuner/trial_id``,
    the trial a bracket continues)."""

    def __init__(self, plan: Plan, space: TrialSpace):
        self.plan, self.space = plan, space

    def __call__(self, trial_or_id) -> str:
        if isinstance(trial_or_id, str):  # Hyperband's tuner/trial_id
            return self.plan.name(int(trial_or_id))
        if self.plan.spec.planned:
            return self.plan.name_of(self.space.decode(trial_or_id.hyperparameters.values))
        return self.plan.name(int(trial_or_id.trial_id))


# -- an extended grid: its old points keep their names, its new ones take the next ------

EXTENDS = ("params", "where", "max_trials")  # what an extension of a grid may change


def earlier_spec(spec: SearchSpec, grid: dict) -> SearchSpec:
    """The search ``spec`` was, with an earlier grid's params, where and max_trials
    (as search.yaml's ``search`` section holds them)."""
    params = [
        Param(k, values=list(v)) if isinstance(v, list) else Param(k, range=dict(v))
        for k, v in grid["params"].items()
    ]
    where, max_trials = grid.get("where"), grid.get("max_trials")
    return replace(
        spec, params=params, where=where, max_trials=max_trials, earlier=[], _points=None,
        _kept=None,
    )  # fmt: skip


def trial_numbers(spec: SearchSpec, points: list[dict]) -> tuple[list[int], int]:
    """Each point's trial number, and the names' width: the points of the first grid
    by their place in it, each later grid's new points after the highest number before
    them (``spec.earlier``, oldest first, then ``spec``), so that extending a search
    renames nothing. The width is the first grid's; a later number may be longer."""
    if not spec.earlier:
        return list(range(len(points))), runs.trial_width(len(points))
    numbers: dict[str, int] = {}
    first = None
    for grid in spec.earlier:
        old = earlier_spec(spec, grid).grid_points()
        first = len(old) if first is None else first
        for p in old:
            numbers.setdefault(point_key(p), len(numbers))
    out = [numbers.setdefault(point_key(p), len(numbers)) for p in points]
    return out, runs.trial_width(first)


def extension(spec: SearchSpec, stored: dict) -> dict | None:
    """The stored grid (search.yaml) that ``spec`` extends, or None when ``spec``
    changes more than its points (the search's config, tuner, objective, repeats...).

    Raises:
        ConfigError: ``spec`` extends the stored grid but leaves out some of its points
            (the problem says which; ``SearchStore.check_same`` says the rest).
    """
    old = stored.get("search") or {}
    new = json.loads(json.dumps(spec.resolved()))
    if spec.tuner != "grid" or old.get("tuner") != "grid" or stored.get("config") != new["config"]:
        return None
    if any(old.get(k) != v for k, v in new["search"].items() if k not in EXTENDS):
        return None
    if set(old.get("params") or {}) != {p.key for p in spec.params}:
        return None  # a key added or removed changes every point
    if any(k not in EXTENDS and k not in new["search"] for k in old):
        return None
    before = earlier_spec(spec, old)
    now = {point_key(p) for p in spec.grid_points()}
    missing = [p for p in before.grid_points() if point_key(p) not in now]
    if missing:
        dropped = []
        for b, p in zip(before.params, spec.params, strict=True):
            have = {point_key({"v": v}) for v in _values(p)}
            gone = [show(v) for v in _values(b) if point_key({"v": v}) not in have]
            dropped += [f"{b.key} {', '.join(gone)}"] if gone else []
        why = f"removes {'; '.join(dropped)}" if dropped else "its where or max_trials keeps fewer"
        shown = ", ".join(f"{k}={show(v)}" for k, v in missing[0].items())
        raise ConfigError(
            f"it leaves out {len(missing):,} point{'s' * (len(missing) != 1)} of the search "
            f"(it {why}; the first: {shown})",
            "search.params",
        )
    return {k: old[k] for k in EXTENDS if k in old}


def _values(p: Param) -> list:
    return [p.value(i) for i in range(p.count())]
