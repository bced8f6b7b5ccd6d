"""What a search trains, known before anything is imported from keras-tuner or Keras:
the points of a planned search (grid or random), their trial names, what is done
already, and the ``--dry-run`` plan."""

from __future__ import annotations

from pathlib import Path

from dlexp.core.errors import ConfigError, show
from dlexp.runs import folder as runs
from dlexp.search.naming import trial_numbers
from dlexp.search.spec import SearchSpec, point_key
from dlexp.search.store import SearchStore
from dlexp.search.where import Where


class Plan:
    """The points a grid or random search trains, in order, and their trial names
    (each point's index, so a trial's folder is the same on every resume; in an
    extended grid, the number ``naming.trial_numbers`` gives it). Bayesian and
    Hyperband choose as they go: no points, and keras-tuner's trial ids name them.

    The names are made when first asked for, after ``SearchStore.check_same`` has read
    the grids an extended search grew from (``spec.earlier``)."""

    def __init__(self, spec: SearchSpec):
        self.spec = spec
        self.points: list[dict] = planned_points(spec) if spec.planned else []
        self.index = {point_key(p): i for i, p in enumerate(self.points)}
        self._numbers: tuple[int, list[int], int] | None = None  # (len(earlier), ...)

    def _numbered(self) -> tuple[list[int], int]:
        if self._numbers is None or self._numbers[0] != len(self.spec.earlier):
            self._numbers = (len(self.spec.earlier), *trial_numbers(self.spec, self.points))
        return self._numbers[1], self._numbers[2]

    @property
    def width(self) -> int:
        return self._numbered()[1] if self.spec.planned else 3

    def name(self, index: int) -> str:
        """The name of trial number ``index`` (Hyperband's and Bayesian's trial ids)."""
        return runs.trial_name(index, self.width)

    def trial(self, position: int) -> str:
        """The trial name of the planned point at ``position`` in ``points``."""
        return runs.trial_name(self._numbered()[0][position], self.width)

    def name_of(self, values: dict) -> str:
        """The trial name of a planned point's values."""
        return self.trial(self.index[point_key(values)])

    def done(self, store: SearchStore) -> set[int]:
        """The positions of the points whose trials have finished."""
        return {i for i in range(len(self.points)) if store.trial_done(self.trial(i))}


def planned_points(spec: SearchSpec) -> list[dict]:
    """Every point a grid or random search trains, in order. A grid's are its
    product; random points are keras-tuner's own draws (imported only then)."""
    if spec.tuner == "grid":
        return spec.grid_points()
    if spec.where:
        return _random_kept(spec)
    from dlexp.search.space import random_points

    return random_points(spec)


RANDOM_DRAWS = 100  # the draws per trial a random search with a where makes, at most


def _random_kept(spec: SearchSpec) -> list[dict]:
    """A random search's first max_trials draws that search.where keeps: keras-tuner's
    draws from the seed, as ``space.random_points`` makes them, drawn on until enough
    are kept (or RANDOM_DRAWS per trial, or the space, run out)."""
    import keras_tuner as kt

    from dlexp.search import compat
    from dlexp.search.space import Space

    space, where = Space(spec), Where(spec.where, [p.key for p in spec.params])
    oracle = kt.oracles.RandomSearchOracle(
        objective=space.objective(), max_trials=spec.max_trials, hyperparameters=space.hp
    )
    compat.seed_oracle(oracle, spec.seed)
    kept, drawn = [], 0
    while len(kept) < spec.max_trials and drawn < RANDOM_DRAWS * spec.max_trials:
        batch = [space.decode(v) for v in compat.draw_random_points(oracle, spec.max_trials)]
        if not batch:
            break
        drawn += len(batch)
        kept += [p for p in batch if where.keeps(p)]
    if not kept:
        raise ConfigError(
            f"{show(spec.where)} keeps none of the {drawn:,} points drawn; expected an "
            "expression that some point meets",
            "search.where",
        ).located(f"{spec.path}: ")
    return kept[: spec.max_trials]


SHOWN = 100  # points a dry run lists (it counts them all)


def dry_run(spec: SearchSpec, runs_dir: str | Path) -> dict:
    """What --dry-run prints: the number of trials and runs, how many are done, and the
    first SHOWN points (a grid's counted, not made)."""
    store = SearchStore(Path(runs_dir) / spec.name, spec)
    done = 0
    if store.stored_spec() is not None:
        store.check_same()  # an extended grid: spec.earlier, its earlier grids
        done = sum(store.trial_done(t) for t in store.trial_ids())
    if spec.tuner == "grid" and not spec.earlier:
        total = spec.n_points()
        points = spec.grid_points(limit=SHOWN)
        names = [runs.trial_name(i, runs.trial_width(total)) for i in range(len(points))]
    elif spec.planned:  # an extended grid's names: its points made, and numbered
        plan = Plan(spec)
        points, total = plan.points, len(plan.points)
        names = [plan.trial(i) for i in range(min(SHOWN, total))]
    else:
        total, points, names = None, [], []
    return {
        "name": spec.name,
        "folder": str(store.root),
        "tuner": spec.tuner,
        "objective": {"name": spec.objective, "direction": spec.direction},
        "trials": total,
        "repeats": spec.repeats,
        "cv": spec.cv,
        "runs": None if total is None else total * spec.runs_per_point,
        "prune": spec.prune.resolved() if spec.prune else None,
        "race": spec.race.resolved() if spec.race else None,
        "max_trials": spec.max_trials,
        "already_done": done,
        "points": [{"trial": n, **p} for n, p in zip(names, points, strict=False)],
    }
