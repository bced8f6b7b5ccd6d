"""How trained runs are summed up: one run's record (``dlexp train --format json``),
repeats or cross-validation folds of one config as mean and standard deviation, and a
regression's task line. Reads the outcomes and run folders only (no Keras)."""

from __future__ import annotations

import math

from dlexp.runs.folder import Status


def outcome_json(outcome) -> dict:
    """One run's record: id, path, status, error and its metrics (JSON-ready)."""
    from dlexp.core.files import jsonable

    record = {
        "id": outcome.run.id,
        "path": str(outcome.run.path),
        "status": outcome.status,
        "error": outcome.error,
        **outcome.metrics.to_json(),
    }
    return jsonable(record)


def group_summary(outcomes, kind: str = "repeats") -> dict:
    """How repeats (or cross-validation folds, ``kind`` "folds") of one config ended:
    their status (the first that did not complete), and each split's metrics as mean
    and standard deviation."""
    import statistics

    from dlexp.runs.folder import group_status

    status = group_status([o.status for o in outcomes]) if outcomes else Status.INTERRUPTED
    mean: dict[str, dict] = {}
    std: dict[str, dict] = {}
    for split in ("train", "val", "test"):
        names = list(dict.fromkeys(k for o in outcomes for k in (getattr(o.metrics, split) or {})))
        for name in names:
            values = [(getattr(o.metrics, split) or {}).get(name) for o in outcomes]
            values = [v for v in values if isinstance(v, (int, float)) and math.isfinite(v)]
            if values:
                mean.setdefault(split, {})[name] = statistics.fmean(values)
                std.setdefault(split, {})[name] = (
                    statistics.stdev(values) if len(values) > 1 else None
                )
    return {
        "status": str(status),
        "exit_code": status.exit_code if isinstance(status, Status) else 1,
        kind: len(outcomes),
        "mean": mean,
        "std": std,
    }


def train_json(outcome, search_status: str | None = None) -> dict:
    """``dlexp train --format json`` for one run (with the search's status when its
    config came from a search)."""
    searched = {} if search_status is None else {"search_status": search_status}
    return {**outcome_json(outcome), **searched}


def group_json(outcomes, summary: dict, search_status: str | None = None) -> dict:
    """``dlexp train --repeats/--cv --format json``: the summary, then each run's record."""
    searched = {} if search_status is None else {"search_status": search_status}
    return {**summary, "runs": [outcome_json(o) for o in outcomes], **searched}


def task_line(run_path) -> str:
    """'task: regression of progression', with how a CSV's task was chosen ('(auto:
    column 'y' holds numbers that are not all integers)'); '' for a classification run,
    whose summary says nothing new with it."""
    from dlexp.runs.read import read_run

    info = read_run(run_path).info
    data = (info.data if info is not None else None) or {}
    if data.get("task") != "regression":
        return ""
    names = data.get("target_names") or []
    line = "task: regression" + (f" of {', '.join(map(str, names))}" if names else "")
    note = data.get("task_note")
    return line + (f" ({note})" if note else "")
