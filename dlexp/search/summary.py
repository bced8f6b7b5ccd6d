"""What a search decides before it starts and says when it ends: a grid too big to run
without being asked (``check_size``), the search's JSON document (``to_json``) and the
line on a refit of its best (``refit_line``). None imports keras-tuner or Keras."""

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


def to_json(spec, outcome, ranked: list[dict], winner=None, refit=False, refitted=None) -> dict:
    """``dlexp search --format json``: the search's name, status, folder, best trial (or
    None), its ``winner`` (``report.winner``: validation and test score, the lead over
    the median trial and its noise; None with no scored trial), every trial's row
    (JSON-ready) and, with ``refit`` (--refit), the refitted run's record as ``dlexp
    train --format json`` gives it (its folder is ``path``, its test metrics ``test``;
    None when nothing was refitted)."""
    from dlexp.core.files import jsonable

    document = {
        "name": spec.name,
        "status": outcome.status,
        "folder": str(outcome.store.root),
        "best": ranked[0] if ranked else None,
        "winner": winner.record() if winner is not None else None,
        "trials": outcome.rows,
    }
    if refit:
        from dlexp.train.summary import outcome_json

        document["refit"] = outcome_json(refitted) if refitted is not None else None
    return jsonable(document)


def refit_line(refitted, winner) -> str:
    """After ``dlexp search --refit``: the refitted run's test metrics beside the best
    trial's validation and test scores, and its folder."""
    test = refitted.metrics.test or {}
    numbers = {
        k: v for k, v in test.items() if isinstance(v, (int, float)) and not isinstance(v, bool)
    }
    said = ", ".join(f"test_{k} {v:.3f}" for k, v in numbers.items())
    beside = ""
    if winner is not None:
        scores = ", ".join(
            f"{k} {v:.3f}" for k, v in winner.scores.items() if isinstance(v, (int, float))
        )
        beside = f" (the trial: {scores})"
    if refitted.error:
        said = f"{refitted.status}: {refitted.error}"
    trial = winner.trial if winner is not None else "the best trial"
    return (
        f"refit of {trial} on train+validation: {said or 'no test metrics'}{beside}; "
        f"run folder {refitted.run.path}"
    )
