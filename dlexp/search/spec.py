"""Grid files: a config plus a ``search`` section, validated and expanded.

Plain Python (no keras-tuner, no Keras): a bad grid is refused and ``--dry-run``
prints its plan in milliseconds; ``engine`` runs what this module plans."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from dlexp import config as config_mod
from dlexp.core import yamlio
from dlexp.core.errors import (
    ConfigError,
    bad_value,
    did_you_mean,
    show,
    unknown_key,
)
from dlexp.runs import folder as runs
from dlexp.search import prune, race
from dlexp.search.params import Param, check_param, point_key  # noqa: F401 - re-exported
from dlexp.search.prune import PruneSpec
from dlexp.search.race import RaceSpec
from dlexp.search.where import Where, kept_indexes

TUNERS = ("grid", "random", "bayesian", "hyperband")
PLANNED_TUNERS = ("grid", "random")  # points known up front: exact resume, any number of workers
SEARCH_KEYS = (
    "params", "tuner", "objective", "repeats", "cv", "max_trials", "seed", "factor", "prune",
    "race", "where",
)  # fmt: skip
MAX_POINTS = 1_000_000  # a grid's points (and a range's values), counted before any is made
CHECKED = 2_000  # the grid's first points checked as configs when it is read
CONFIRM_RUNS = 5_000  # a search of more runs asks for --yes (or search.max_trials)
# One run's training step, stacked, on 2 cores: the notebook grid's 72 runs x 100 epochs
# x 43 steps in about 8 s of training (bench/search_bench.py --full).
SECONDS_PER_STEP = 26e-6


@dataclass
class SearchSpec:
    """A validated grid file: the base config, the searched keys and how to search them."""

    name: str
    path: Path
    raw: dict  # the merged raw config (base file, grid file, --set), before defaults
    base: dict  # the same, resolved
    params: list[Param]
    tuner: str = "grid"
    objective: str = "val_loss"
    direction: str = "min"
    repeats: int = 1
    cv: int | None = None  # each point on this many cross-validation folds
    max_trials: int | None = None
    seed: int = 42
    factor: int = 3
    prune: PruneSpec | None = None  # search.prune: trials stopped between epochs
    race: RaceSpec | None = None  # search.race: seeds added only where they can change the answer
    overrides: tuple[str, ...] = ()  # the --set strings, passed on to worker processes
    where: str | None = None  # the points kept (where.py): of the grid, or of random draws
    earlier: list[dict] = field(default_factory=list)  # an extended search's grids (naming)
    _points: list[dict] | None = field(default=None, repr=False)
    _kept: Any = field(default=None, repr=False)

    @property
    def planned(self) -> bool:
        return self.tuner in PLANNED_TUNERS

    @property
    def runs_per_point(self) -> int:
        """The runs each point trains: its repeats, or its folds."""
        return self.cv or self.repeats

    def run_names(self, trial: str) -> list[str]:
        return runs.run_names(trial, self.repeats, self.cv)

    def point_config(self, values: dict, repeat: int = 0) -> dict:
        """The resolved config of one point (and one repeat or fold of it).

        Repeat r trains with seed ``seed + r``; the data keeps the base seed, so the
        spread across repeats is the training's own. Fold k validates on fold k of the
        train+validation data and trains on the others.
        """
        raw = config_mod.apply_overrides(self.raw, list(values.items()))
        cfg = config_mod.resolve(raw, self.path.parent)
        if self.cv:
            cfg = config_mod.fold(cfg, repeat, self.cv)
        elif self.repeats > 1:
            cfg = config_mod.repeat(cfg, repeat)
        cfg["name"] = self.name
        return cfg

    def n_points(self) -> int:
        """How many points the grid trains (capped at max_trials), counted, not made."""
        n = math.prod(p.count() for p in self.params)
        if self.where and self.tuner == "grid" and n <= MAX_POINTS:
            n = len(self.kept())
        return min(n, self.max_trials) if self.max_trials else n

    def kept(self):
        """The indexes in the product of the points that search.where keeps."""
        if self._kept is None:
            where = Where(self.where, [p.key for p in self.params])
            total = math.prod(p.count() for p in self.params)
            self._kept = kept_indexes(where, self.params, total)
        return self._kept

    def point(self, i: int) -> dict:
        """The grid's i-th point, the first key varying slowest (as Talos and
        itertools.product order them), made without the points before it; of those
        that search.where keeps, when it is set."""
        if self.where and self.tuner == "grid":
            i = int(self.kept()[i])
        values = {}
        for p in reversed(self.params):
            i, k = divmod(i, p.count())
            values[p.key] = p.value(k)
        return {p.key: values[p.key] for p in self.params}

    def grid_points(self, limit: int | None = None) -> list[dict]:
        """The grid's points in order (the first ``limit``); capped at max_trials."""
        n = self.n_points() if limit is None else min(limit, self.n_points())
        if limit is not None:
            return [self.point(i) for i in range(n)]
        if self._points is None:
            self._points = [self.point(i) for i in range(n)]
        return self._points

    def resolved(self) -> dict:
        """What search.yaml holds; two searches with equal resolved() are the same search."""
        params = {p.key: (p.values if p.values is not None else p.range) for p in self.params}
        return {
            "name": self.name,
            "config": {k: v for k, v in self.base.items() if k != "name"},
            "search": {
                "tuner": self.tuner,
                "objective": {"name": self.objective, "direction": self.direction},
                "params": params,
                "repeats": self.race.seeds if self.race else self.repeats,
                **({"cv": self.cv} if self.cv else {}),
                "max_trials": self.max_trials,
                "seed": self.seed,
                "factor": self.factor,
                **({"prune": self.prune.resolved()} if self.prune else {}),
                **({"race": self.race.resolved()} if self.race else {}),
                **({"where": self.where} if self.where else {}),
            },
        }


def _check_search(section: Any, raw: dict, base: dict) -> dict:
    if section is None:
        raise ConfigError(
            "required: a mapping with params (config keys to lists of values), "
            "e.g. search: {params: {model.first_neuron: [8, 16]}}",
            "search",
        )
    if not isinstance(section, dict):
        raise bad_value("search", section, "a mapping with params, tuner, objective, repeats")
    for key in section:
        if key not in SEARCH_KEYS:
            listing = f"valid keys in search: {', '.join(SEARCH_KEYS)}"
            raise unknown_key(f"search.{key}", key, SEARCH_KEYS, listing)
    params = section.get("params")
    if not isinstance(params, dict) or not params:
        raise bad_value("search.params", params, "a mapping of config keys to lists of values")
    raw = {**raw, "data": {**(raw.get("data") or {}), "path": base["data"]["path"]}}  # absolute
    out: dict = {"params": [check_param(k, v, raw) for k, v in params.items()]}
    out["tuner"] = config_mod.Choice("grid", TUNERS).check(
        section.get("tuner", "grid"), "search.tuner"
    )
    out["repeats"] = config_mod.Int(min=1).check(section.get("repeats", 1), "search.repeats")
    out["race"] = race.check(section.get("race"), section, out["tuner"])
    if out["race"] is not None:  # the most seeds a point trains on
        out["repeats"] = out["race"].seeds
    cv = section.get("cv")
    out["cv"] = (
        None
        if cv is None
        else config_mod.Int(min=2, max=config_mod.MAX_FOLDS).check(cv, "search.cv")
    )
    if out["cv"] and out["repeats"] > 1:
        raise ConfigError(
            f"choose repeats (seeds) or cv (folds) for a point, not both; got repeats "
            f"{out['repeats']} and cv {out['cv']}",
            "search.cv",
        )
    if out["cv"] and (out["tuner"] == "hyperband" or base["data"]["cv"] is not None):
        raise ConfigError(
            f"cv {out['cv']}: "
            + (
                "hyperband continues trials from earlier ones, so it trains each point once"
                if out["tuner"] == "hyperband"
                else "the base config already names a fold (data.cv); remove it"
            ),
            "search.cv",
        )
    max_trials = section.get("max_trials")
    out["max_trials"] = (
        None if max_trials is None else config_mod.Int(min=1).check(max_trials, "search.max_trials")
    )
    if out["max_trials"] is None and out["tuner"] in ("random", "bayesian"):
        out["max_trials"] = 10
    out["seed"] = config_mod.Int(min=0).check(section.get("seed", base["seed"]), "search.seed")
    if out["repeats"] > 1 and any(p.key in ("seed", "data.seed") for p in out["params"]):
        raise ConfigError(
            "repeats choose the seeds (seed, seed+1, ...); search the seed or use repeats, "
            "not both",
            "search.params.seed",
        )
    if out["tuner"] == "hyperband" and section.get("max_trials") is not None:
        raise ConfigError(
            "hyperband sizes its brackets from train.epochs and factor, "
            f"got max_trials {section['max_trials']}",
            "search.max_trials",
        )
    out["factor"] = config_mod.Int(min=2).check(section.get("factor", 3), "search.factor")
    out["where"] = section.get("where")
    if out["where"] is not None:
        if out["tuner"] not in PLANNED_TUNERS:
            raise ConfigError(
                f"keeps points of a grid or random search; {out['tuner']} chooses its "
                "own points (use tuner: grid or random, or remove where)",
                "search.where",
            )
        first = {p.key: p.range["min"] if p.range else p.value(0) for p in out["params"]}
        Where(out["where"], list(first)).keeps(first)  # a random search's: at the first
    if out["tuner"] == "hyperband" and out["repeats"] > 1:
        raise ConfigError(
            "hyperband continues trials from earlier ones, so it trains each point once; "
            f"got repeats {out['repeats']}",
            "search.repeats",
        )
    if out["tuner"] == "hyperband" and any(p.key == "train.epochs" for p in out["params"]):
        raise ConfigError(
            "hyperband chooses the epochs itself (up to train.epochs); do not search them",
            "search.params.train.epochs",
        )
    validated = base["data"]["val_size"] > 0 or out["cv"]
    objective = section.get("objective", "val_loss" if validated else "loss")
    if isinstance(objective, dict):
        extra = [k for k in objective if k not in ("name", "direction")]
        if extra or "name" not in objective:
            raise bad_value(
                "search.objective",
                objective,
                "a metric name, or {name: METRIC, direction: min|max}",
            )
        name = config_mod.Str().check(objective["name"], "search.objective.name")
        direction = config_mod.Choice(None, ("min", "max")).check(
            objective.get("direction", runs.direction(name)), "search.objective.direction"
        )
    else:
        name = config_mod.Str().check(objective, "search.objective")
        direction = runs.direction(name)
    out["objective"], out["direction"] = name, direction
    epochs = base["train"]["epochs"]
    out["prune"] = prune.check(section.get("prune"), out["tuner"], epochs, name)
    return out


def _check_size(spec: SearchSpec) -> None:
    """A grid of at most MAX_POINTS points, counted before any is made, the first
    CHECKED of which are checked as configs here (a later one Keras or dlexp refuses
    is a failed trial)."""
    for p in spec.params:
        if p.count() > MAX_POINTS:
            raise ConfigError(
                f"the range walks {p.count():,} values; a grid takes at most {MAX_POINTS:,} "
                "(a larger step, or tuner: random)",
                f"search.params.{p.key}",
            )
    n = spec.n_points()
    if n > MAX_POINTS:
        raise ConfigError(
            f"the grid has {n:,} points; at most {MAX_POINTS:,} (set search.max_trials, "
            "or use tuner: random)",
            "search.params",
        )
    for point in spec.grid_points(limit=CHECKED):
        try:
            spec.point_config(point)
        except ConfigError as exc:
            shown = ", ".join(f"{k}={show(v)}" for k, v in point.items())
            raise ConfigError(
                f"the point {shown} is not a valid config: {exc}", "search.params"
            ) from None


def estimate_seconds(spec: SearchSpec, runs: int) -> float | None:
    """About how long ``runs`` runs of this search take stacked on 2 cores, at the rate
    measured on the notebook's grid (``bench/search_bench.py --full``); None for CSV data."""
    cfg = spec.base
    data = cfg["data"]
    if data["kind"] == "csv":
        return None
    held_out = 1 / spec.cv if spec.cv else data["val_size"]
    n_train = data["n_samples"] * (1 - data["test_size"]) * (1 - held_out)
    bs = cfg["train"]["batch_size"]
    steps = 1 if bs == "full" else math.ceil(n_train / bs)
    return runs * cfg["train"]["epochs"] * steps * SECONDS_PER_STEP


def _check_objective(spec: SearchSpec) -> None:
    """The objective must be logged by every point the search may train."""
    configs = [config_mod.fold(spec.base, 0, spec.cv) if spec.cv else spec.base]
    if spec.tuner == "grid":
        configs = [spec.point_config(p) for p in spec.grid_points(limit=CHECKED)]
    if len({cfg["data"]["task"] for cfg in configs}) > 1:  # whose losses do not compare
        raise ConfigError(
            "its points are classifications and regressions, whose losses and metrics do "
            "not compare; expected one task (a search of each)",
            "search.params",
        )
    for cfg in configs:
        logged = config_mod.logged_metrics(cfg)
        if spec.objective not in logged:
            raise ConfigError(
                f"{show(spec.objective)} is not a logged metric"
                f"{did_you_mean(spec.objective, logged)}; expected one of: {', '.join(logged)}",
                "search.objective",
            )


def load(path: str | Path, overrides: list[str] | tuple[str, ...] = ()) -> SearchSpec:
    """Read and validate a grid file.

    Args:
        path: the grid file; ``base:`` in it is read relative to it.
        overrides: ``KEY=VALUE`` strings applied to the base config.

    Raises:
        ConfigError: naming the file, the key path, the value and what was expected.
    """
    path = Path(path)
    raw = yamlio.read_yaml(path)
    if not isinstance(raw, dict):
        raise ConfigError(f"{path}: expected a mapping with a search section, got {show(raw)}")
    raw = dict(raw)
    base_ref = raw.pop("base", None)
    section = raw.pop("search", None)
    name = runs.slug(str(raw.get("name") or path.stem))
    if base_ref is not None:
        if not isinstance(base_ref, str):
            raise ConfigError(
                f"{path}: base: expected the path of a config file, got {show(base_ref)}"
            )
        base_path = path.parent / base_ref
        base_raw = yamlio.read_yaml(base_path) or {}
        if not isinstance(base_raw, dict):
            raise ConfigError(f"{base_path}: expected a mapping, got {show(base_raw)}")
        raw = yamlio.deep_merge(base_raw, raw)
    parsed = [config_mod.parse_override(o) for o in overrides]
    try:
        raw = config_mod.apply_overrides(raw, parsed)
        base = config_mod.resolve(raw, path.parent)
        checked = _check_search(section, raw, base)
        spec = SearchSpec(
            name=name,
            path=path.resolve(),
            raw=raw,
            base=base,
            overrides=tuple(overrides),
            **checked,
        )
        if spec.tuner == "grid":
            _check_size(spec)
        _check_objective(spec)
        return spec
    except ConfigError as exc:
        raise config_mod.located(exc, path, parsed) from None
