"""What a search trains, known before anything is imported from keras-tuner or Keras:
the points of a planned search (grid or random), their trial names, what is done
already, and the ``--dry-run`` plan."""

from __future__ import annotations

from pathlib import Path

from dlexp.runs import folder as runs
from dlexp.search.spec import SearchSpec, point_key
from dlexp.search.store import SearchStore


class Plan:
    """The points a grid or random search trains, in order, and their trial names
    (each point's index, so a trial's folder is the same on every resume). Bayesian
    and Hyperband choose as they go: no points, and keras-tuner's trial ids name them."""

    def __init__(self, spec: SearchSpec):
        self.spec = spec
        self.points: list[dict] = planned_points(spec) if spec.planned else []
        self.index = {point_key(p): i for i, p in enumerate(self.points)}
        self.width = runs.trial_width(len(self.points)) if spec.planned else 3

    def name(self, index: int) -> str:
        return runs.trial_name(index, self.width)

    def name_of(self, values: dict) -> str:
        """The trial name of a planned point's values."""
        return self.name(self.index[point_key(values)])

    def done(self, store: SearchStore) -> set[int]:
        """The indexes of the points whose trials have finished."""
        return {i for i in range(len(self.points)) if store.trial_done(self.name(i))}


def planned_points(spec: SearchSpec) -> list[dict]:
    """Every point a grid or random search trains, in order. A grid's are its
    product; random points are keras-tuner's own draws (imported only then)."""
    if spec.tuner == "grid":
        return spec.grid_points()
    from dlexp.search.space import random_points

    return random_points(spec)


SHOWN = 100  # points a dry run lists (it counts them all)


def dry_run(spec: SearchSpec, runs_dir: str | Path) -> dict:
    """What --dry-run prints: the number of trials and runs, how many are done, and the
    first SHOWN points (a grid's counted, not made)."""
    store = SearchStore(Path(runs_dir) / spec.name, spec)
    if spec.tuner == "grid":
        total = spec.n_points()
        points = spec.grid_points(limit=SHOWN)
    elif spec.planned:
        points = planned_points(spec)
        total = len(points)
    else:
        total, points = None, []
    width = runs.trial_width(total or 0) if spec.planned else 3
    done = 0
    if store.stored_spec() is not None:
        store.check_same()
        done = sum(store.trial_done(t) for t in store.trial_ids())
    return {
        "name": spec.name,
        "folder": str(store.root),
        "tuner": spec.tuner,
        "objective": {"name": spec.objective, "direction": spec.direction},
        "trials": total,
        "repeats": spec.repeats,
        "cv": spec.cv,
        "runs": None if total is None else total * spec.runs_per_point,
        "max_trials": spec.max_trials,
        "already_done": done,
        "points": [{"trial": runs.trial_name(i, width), **p} for i, p in enumerate(points[:SHOWN])],
    }
