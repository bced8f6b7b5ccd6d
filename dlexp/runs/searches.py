"""What the report knows of a search: search.yaml's objective, direction, searched keys,
tuner and seeds per point (``SearchInfo``), and a race's verdicts (race.json)."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from dlexp.core import yamlio
from dlexp.core.errors import ConfigError
from dlexp.runs import folder as runs_mod


@dataclass
class SearchInfo:
    name: str
    folder: Path
    objective: str | None
    direction: str
    keys: list[str]  # the searched config keys
    tuner: str | None
    repeats: int  # runs per trial: its repeats, or its folds
    entries: list = field(default_factory=list)  # its trials: runs.index.Entry
    cv: int | None = None  # each trial cross-validated on this many folds
    warnings: list[str] = field(default_factory=list)
    raced: dict[str, bool] | None = None  # a race's verdicts: trial -> within noise of the best

    def ranked(self) -> list:
        """The trials that have a score, best first (of a race, those it kept)."""
        entries = self.entries
        if self.raced is not None:
            entries = [e for e in entries if self.raced.get(e.id.rsplit("/", 1)[-1], True)]
        return runs_mod.rank(entries, self.score, self.direction)

    def score(self, entry) -> float | None:
        if not self.objective or entry.status != runs_mod.Status.COMPLETED:
            return None
        return entry.metrics.get(runs_mod.objective_key(self.objective))


def read_search(name: str, folder: Path) -> SearchInfo:
    """search.yaml's objective, direction, searched keys, tuner and repeats, leniently."""
    info = SearchInfo(name, folder, None, "max", [], None, 1)
    path = folder / "search.yaml"
    try:
        spec = yamlio.parse(yamlio.read_text(path))
    except (ConfigError, yaml.YAMLError) as exc:
        info.warnings.append(f"{path}: unreadable ({type(exc).__name__})")
        return info
    section = spec.get("search") if isinstance(spec, dict) else None
    if not isinstance(section, dict):
        info.warnings.append(f"{path}: no search section")
        return info
    objective = section.get("objective")
    name_ = objective.get("name") if isinstance(objective, dict) else objective
    if isinstance(name_, str):
        info.objective = name_
        direction = objective.get("direction") if isinstance(objective, dict) else None
        info.direction = direction if direction in ("min", "max") else runs_mod.direction(name_)
    params = section.get("params")
    if isinstance(params, dict):
        info.keys = [k for k in params if isinstance(k, str)]
    tuner = section.get("tuner")
    info.tuner = tuner if isinstance(tuner, str) else None
    repeats = section.get("repeats")
    info.repeats = repeats if isinstance(repeats, int) and repeats > 0 else 1
    cv = section.get("cv")
    if isinstance(cv, int) and not isinstance(cv, bool) and cv > 1:  # folds: runs per point
        info.cv, info.repeats = cv, cv
    if isinstance(section.get("race"), dict):
        info.raced = race_marks(folder / "race.json", info.warnings)
    return info


def race_marks(path: Path, warnings: list[str] | None = None) -> dict[str, bool] | None:
    """race.json's verdicts (trial -> within noise of the best), leniently; None while
    the race has not written it, or (said in ``warnings``) when it cannot be read."""
    try:
        points = json.loads(path.read_text())["points"]
        return {str(t): bool(p["within_noise"]) for t, p in points.items()}
    except FileNotFoundError:
        return None
    except (OSError, ValueError, KeyError, TypeError, AttributeError) as exc:
        if warnings is not None:
            warnings.append(f"{path}: unreadable ({type(exc).__name__})")
        return None
