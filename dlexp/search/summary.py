"""What a search decides before it starts and says when it ends: a grid too big to run
without being asked (``check_size``), and the search's JSON document (``to_json``).
Neither imports keras-tuner or Keras."""

from __future__ import annotations

from dlexp.core.errors import ConfigError


def duration(seconds: float) -> str:
    """A duration as people say it: seconds, minutes, else hours."""
    if seconds < 120:
        return f"{seconds:.0f} s"
    if seconds < 7200:
        return f"{seconds / 60:.0f} min"
    return f"{seconds / 3600:.1f} h"


def check_size(spec) -> None:
    """A grid of more than spec.CONFIRM_RUNS runs (with no max_trials) must be asked for
    (``dlexp search --yes``).

    Raises:
        ConfigError: how many trials and runs, and how long they would take at the rate
            measured on this machine (when it has been).
    """
    from dlexp.search import spec as grid_mod

    if spec.tuner != "grid" or spec.max_trials is not None:
        return
    trials = spec.n_points()
    total = trials * spec.runs_per_point
    if total <= grid_mod.CONFIRM_RUNS:
        return
    seconds = grid_mod.estimate_seconds(spec, total)
    took = "" if seconds is None else f", about {duration(seconds)} at the rate measured here"
    raise ConfigError(
        f"search: {trials:,} trials x {spec.runs_per_point} "
        f"{'folds' if spec.cv else 'repeats'} = {total:,} runs{took}; "
        "add --yes to run them, or set search.max_trials"
    )


def to_json(spec, outcome, ranked: list[dict]) -> dict:
    """``dlexp search --format json``: the search's name, status, folder, best trial (or
    None) and every trial's row (JSON-ready)."""
    from dlexp.core.files import jsonable

    return jsonable(
        {
            "name": spec.name,
            "status": outcome.status,
            "folder": str(outcome.store.root),
            "best": ranked[0] if ranked else None,
            "trials": outcome.rows,
        }
    )
