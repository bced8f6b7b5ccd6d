"""From results to a config: a search's best points as configs `dlexp train` accepts,
a run folder's config, and the config that refits a run on train+validation.

Reads run and search folders only (no Keras).
"""

from __future__ import annotations

import copy
from pathlib import Path

from dlexp import config as config_mod
from dlexp.core.errors import ConfigError
from dlexp.runs import folder as runs


def is_search(folder: Path) -> bool:
    return (folder / "search.yaml").is_file()


def check_spec(folder: Path) -> None:
    """search.yaml as ``best`` needs it: YAML, a mapping, with a ``search`` section that
    names its objective. The report reads it leniently (a damaged one is a warning);
    choosing from a search whose objective is unknown would only say that no trial has
    a score, so here the file and what is wrong with it are named.

    Raises:
        ConfigError: naming search.yaml, the key and what was expected.
    """
    from dlexp.core.errors import show

    path = folder / "search.yaml"
    spec = config_mod.read_yaml(path)  # a ConfigError naming the file, line and problem
    expected = "as dlexp search writes it; run the search again to rewrite it"
    if not isinstance(spec, dict):
        raise ConfigError(
            f"{path}: damaged: expected a mapping with a search section ({expected}), "
            f"got {show(spec)}"
        )
    section = spec.get("search")
    if not isinstance(section, dict):
        raise ConfigError(
            f"{path}: damaged: search: expected a mapping (tuner, objective, params; "
            f"{expected}), got {show(section)}"
        )
    objective = section.get("objective")
    name = objective.get("name") if isinstance(objective, dict) else objective
    if not isinstance(name, str) or not name:
        raise ConfigError(
            f"{path}: damaged: search.objective: expected a metric name such as "
            f"val_accuracy ({expected}), got {show(objective)}"
        )


FINISHED = ("finished", "already finished")  # search.json's status of a search that ended


def search_status(folder: Path) -> str:
    """search.json's status (running, finished, interrupted, failed), read leniently:
    ``unknown`` when it is missing or says nothing readable."""
    from dlexp.core.files import read_json

    try:
        status = read_json(folder / "search.json").get("status")
    except (OSError, ValueError, AttributeError, UnicodeDecodeError):
        return "unknown"
    return status if isinstance(status, str) and status else "unknown"


def unfinished(folder: Path, status: str) -> str | None:
    """The warning for a search that has not finished (its best may change), or None."""
    if status in FINISHED:
        return None
    said = "has no readable search.json" if status == "unknown" else f"search.json says {status}"
    return (
        f"{folder}: the search is not finished ({said}): its best trial may change "
        "once the rest of its trials are trained"
    )


def best(search: str | Path, top: int = 1) -> list[dict]:
    """The ``top`` best trials of a search folder, best first: each as {trial, score,
    objective, direction, config, search_status}, the config the trial's first run
    trained with (its repeats differ by seed alone), named after the search and the
    trial. ``search_status`` is search.json's (``unfinished`` says what it means).

    Raises:
        ConfigError: not a search folder, a damaged search.yaml, or no trial with a score.
    """
    from dlexp.runs.index import build

    folder = Path(search)
    if not folder.is_dir() or not is_search(folder):
        raise ConfigError(f"{folder}: not a search folder (it holds no search.yaml)")
    check_spec(folder)
    status = search_status(folder)
    report = build(folder)
    info = next(iter(report.searches.values()))
    ranked = info.ranked()
    if not ranked:
        still = "" if status in FINISHED else f" (search.json says {status})"
        raise ConfigError(
            f"{folder}: no trial has completed with a score for {info.objective}; "
            f"nothing to choose from yet{still}"
        )
    out = []
    for entry in ranked[:top]:
        trial = entry.id.split("/")[-1]
        cfg = config_of(entry.records[0].path)
        if len(entry.records) > 1:  # repeats: back to the point's own seed
            cfg["seed"] = min(r.config.get("seed", cfg["seed"]) for r in entry.records)
        cfg["data"]["cv"] = None  # folds: the point itself, on the usual split
        cfg["name"] = f"{folder.name}-{trial}"
        out.append(
            {
                "trial": trial,
                "score": info.score(entry),
                "objective": info.objective,
                "direction": info.direction,
                "repeats": 1 if info.cv else len(entry.records),
                "folds": info.cv,
                "config": cfg,
                "search_status": status,
            }
        )
    return out


def config_of(run: str | Path) -> dict:
    """A run folder's resolved config (config.yaml), checked as `dlexp train` checks one."""
    folder = Path(run)
    path = folder / "config.yaml"
    if not path.is_file():
        raise ConfigError(f"{folder}: not a run folder (it holds no config.yaml)")
    raw = config_mod.read_yaml(path)
    if isinstance(raw, dict) and isinstance(raw.get("data"), dict):  # a run from before
        from dlexp.runs.index import BEFORE  # data.task: the classification it was

        raw["data"].setdefault("task", BEFORE["data.task"])
    try:
        return config_mod.resolve(raw)
    except ConfigError as exc:
        raise exc.located(f"{path}: ") from None


def source(run_or_search: str | Path) -> tuple[dict, list[Path], str | None]:
    """`dlexp train --from`: the config of a run folder, or of a search's best trial;
    with the run folders it came from (the trial's repeats or folds; for --refit) and,
    for a search, search.json's status (None for a run folder)."""
    folder = Path(run_or_search)
    if not folder.exists():
        raise ConfigError(f"{folder}: no such run or search folder", "--from")
    if is_search(folder):
        chosen = best(folder)[0]
        status = chosen["search_status"]
        trial = folder / "trials" / chosen["trial"]
        if trial.is_dir():
            return chosen["config"], [trial], status
        return (
            chosen["config"],
            [p for p in sorted(folder.glob(f"trials/{chosen['trial']}-*")) if p.is_dir()],
            status,
        )
    return config_of(folder), [folder], None


def refit(cfg: dict, run_folders: list[Path]) -> dict:
    """The config that trains on train+validation for the epochs the runs chose (the
    best epoch when early stopping chose one, else the epochs run; the mean over a
    trial's repeats or folds), to report the test split, as is usual before a model is
    put to use."""
    out = copy.deepcopy(cfg)
    chosen = []
    for folder in run_folders:
        record = runs.read_run(folder)
        best = record.metric("best_epoch") if cfg["train"]["early_stopping"] else None
        if best or record.metric("epochs_run"):
            chosen.append(best or record.metric("epochs_run"))
    if not chosen:
        where = run_folders[0] if run_folders else "the source"
        raise ConfigError(
            f"{where}: no finished epochs recorded to refit for (metrics.json)", "--refit"
        )
    epochs = max(1, round(sum(chosen) / len(chosen)))
    out["data"]["val_size"] = 0.0  # the validation split (or every fold) joins the training
    out["data"]["cv"] = None
    out["train"]["epochs"] = int(epochs)
    out["train"]["early_stopping"] = False
    schedule = out["train"]["lr_schedule"]
    if schedule and schedule["kind"] == "plateau" and schedule["monitor"].startswith("val_"):
        schedule["monitor"] = schedule["monitor"][4:]  # no validation: watch training
    out["name"] = f"{cfg.get('name') or 'run'}-refit"
    return config_mod.resolve(out)


def as_yaml(chosen: list[dict]) -> str:
    """``best``'s trials as YAML documents `dlexp train` accepts, separated by ``---``,
    each headed by a comment: the trial, its score and over how many runs."""
    from dlexp.core import yamlio

    docs = []
    for c in chosen:
        repeats = f", mean of {c['repeats']} repeats" if c["repeats"] > 1 else ""
        if c["folds"]:
            repeats = f", mean of {c['folds']} cross-validation folds"
        head = f"# {c['trial']}: {c['objective']} {c['score']:.6g} ({c['direction']}{repeats})\n"
        docs.append(head + yamlio.dump(c["config"]))
    return "---\n".join(docs)


# the test metric a search's table shows: accuracy, or for regression the first of these
TEST_METRICS = ("accuracy", "rmse", "r2", "mae")


def test_metric(rows: list[dict]) -> str:
    """The metric of the table's test column: accuracy where a row has it, else the
    first regression metric the rows have (rmse, r2, mae)."""
    return next(
        (m for m in TEST_METRICS if any(row.get(f"test_{m}") is not None for row in rows)),
        "accuracy",
    )
