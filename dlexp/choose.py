"""From results to a config: a search's best points as configs `dlexp train` accepts,
a run folder's config, and the config that refits a run on train+validation.

Reads run and search folders only (no Keras).
"""

from __future__ import annotations

import copy
from pathlib import Path

from dlexp import config as config_mod
from dlexp import runs
from dlexp.errors import ConfigError


def is_search(folder: Path) -> bool:
    return (folder / "search.yaml").is_file()


def best(search: str | Path, top: int = 1) -> list[dict]:
    """The ``top`` best trials of a search folder, best first: each as {trial, score,
    objective, direction, config}, the config the trial's first run trained with (its
    repeats differ by seed alone), named after the search and the trial.

    Raises:
        ConfigError: not a search folder, or no trial with a score.
    """
    from dlexp.report.collect import build

    folder = Path(search)
    if not folder.is_dir() or not is_search(folder):
        raise ConfigError(f"{folder}: not a search folder (it holds no search.yaml)")
    report = build(folder)
    info = next(iter(report.searches.values()))
    ranked = info.ranked()
    if not ranked:
        raise ConfigError(
            f"{folder}: no trial has completed with a score for {info.objective}; "
            "nothing to choose from yet"
        )
    out = []
    for entry in ranked[:top]:
        trial = entry.id.split("/")[-1]
        cfg = config_of(entry.records[0].path)
        if len(entry.records) > 1:  # repeats: back to the point's own seed
            cfg["seed"] = min(r.config.get("seed", cfg["seed"]) for r in entry.records)
        cfg["name"] = f"{folder.name}-{trial}"
        out.append(
            {
                "trial": trial,
                "score": info.score(entry),
                "objective": info.objective,
                "direction": info.direction,
                "repeats": len(entry.records),
                "config": cfg,
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
    try:
        return config_mod.resolve(raw)
    except ConfigError as exc:
        raise exc.located(f"{path}: ") from None


def source(run_or_search: str | Path) -> tuple[dict, Path | None]:
    """`dlexp train --from`: the config of a run folder, or of a search's best trial;
    with the run folder it came from (for --refit)."""
    folder = Path(run_or_search)
    if not folder.exists():
        raise ConfigError(f"{folder}: no such run or search folder", "--from")
    if is_search(folder):
        chosen = best(folder)[0]
        trial = folder / "trials" / chosen["trial"]
        runs_of = sorted(folder.glob(f"trials/{chosen['trial']}*"))
        return chosen["config"], (trial if trial.is_dir() else (runs_of[0] if runs_of else None))
    return config_of(folder), folder


def refit(cfg: dict, run: Path | None) -> dict:
    """The config that trains on train+validation for the epochs the run chose (its
    best epoch when early stopping chose one, else the epochs it ran), to report the
    test split, as is usual before a model is put to use."""
    out = copy.deepcopy(cfg)
    record = runs.read_run(run) if run is not None else None
    epochs = None
    if record is not None:
        chosen = record.metric("best_epoch") if cfg["train"]["early_stopping"] else None
        epochs = chosen or record.metric("epochs_run")
    if not epochs:
        raise ConfigError(
            f"{run}: no finished epochs recorded to refit for (metrics.json)", "--refit"
        )
    out["data"]["val_size"] = 0.0  # the validation split joins the training split
    out["train"]["epochs"] = int(epochs)
    out["train"]["early_stopping"] = False
    schedule = out["train"]["lr_schedule"]
    if schedule and schedule["kind"] == "plateau" and schedule["monitor"].startswith("val_"):
        schedule["monitor"] = schedule["monitor"][4:]  # no validation: watch training
    out["name"] = f"{cfg.get('name') or 'run'}-refit"
    return config_mod.resolve(out)
