"""A raw config mapping -> a validated config with every default filled in; the checks
that involve several keys, and the configs derived from one (a repeat, a fold)."""

from __future__ import annotations

import copy
from typing import Any

from dlexp.config.compound import optimizer_name
from dlexp.config.names import MAX_SEED, OPTIMIZERS, TWO_CLASS_DATASETS
from dlexp.config.schema import (
    CLASS_DEFAULTS,
    DEFAULT_LAYERS,
    NOISE_DEFAULTS,
    SCHEMA,
    TALOS_DEFAULTS,
)
from dlexp.core.errors import ConfigError, did_you_mean, show


def logged_metrics(cfg: dict) -> list[str]:
    """Names Keras logs for this config, which an objective or monitor may name."""
    names = ["loss", *cfg["train"]["metrics"]]
    if validates(cfg):
        names += [f"val_{n}" for n in names]
    return names


def validates(cfg: dict) -> bool:
    """Whether a run of this config has validation data (its fold, or data.val_size)."""
    return cfg["data"].get("cv") is not None or cfg["data"]["val_size"] > 0


def _check_monitor(path: str, monitor: str, cfg: dict) -> None:
    valid = logged_metrics(cfg)
    if monitor not in valid:
        hint = ""
        if monitor.startswith("val_") and not validates(cfg):
            hint = " (data.val_size is 0, so nothing is validated)"
        raise ConfigError(
            f"{show(monitor)} is not a logged metric{hint}"
            f"{did_you_mean(monitor, valid)}; expected one of: {', '.join(valid)}",
            path,
        )


def _resolve_cross(cfg: dict) -> dict:
    """Checks that involve several keys, and defaults that depend on other keys."""
    data, model, train = cfg["data"], cfg["model"], cfg["train"]
    kind = data["kind"]
    if data["noise"] is None:
        data["noise"] = NOISE_DEFAULTS[kind]
    if kind in TWO_CLASS_DATASETS:
        if data["classes"] not in (None, 2):
            raise ConfigError(
                f"the {kind} dataset has 2 classes, got {show(data['classes'])}; "
                "use kind blobs or spiral for more",
                "data.classes",
            )
        data["classes"] = 2
    elif kind in CLASS_DEFAULTS and data["classes"] is None:
        data["classes"] = CLASS_DEFAULTS[kind]
    if kind == "csv":
        data["classes"] = None  # read from the file
        for key in ("path", "target"):
            if data[key] is None:
                raise ConfigError("required when data.kind is csv, got null", f"data.{key}")
    talos = {k: model[k] for k in TALOS_DEFAULTS if model[k] is not None}
    if model["layers"] is not None and talos:
        given = ", ".join(f"{k}={show(v)}" for k, v in talos.items())
        raise ConfigError(
            "give either layers or first_neuron/hidden_layers/shape, not both "
            f"(got layers={show(model['layers'])} and {given})",
            "model",
        )
    if talos:
        for key, default in TALOS_DEFAULTS.items():
            if model[key] is None:
                model[key] = default
    elif model["layers"] is None:
        model["layers"] = list(DEFAULT_LAYERS)
    if train["learning_rate"] is None:
        train["learning_rate"] = OPTIMIZERS[optimizer_name(train["optimizer"])][0]
    if train["early_stopping"]:
        _check_monitor("train.early_stopping.monitor", train["early_stopping"]["monitor"], cfg)
    schedule = train["lr_schedule"]
    if schedule and schedule["kind"] == "plateau":
        _check_monitor("train.lr_schedule.monitor", schedule["monitor"], cfg)
    return cfg


def resolve(raw: Any) -> dict:
    """Validate a raw config mapping and return it with every default filled in.

    Raises:
        ConfigError: naming the key path, the value received and what was expected.
    """
    if not isinstance(raw, dict):
        raise ConfigError(
            f"expected a mapping with sections seed, data, model, train; got {type(raw).__name__}"
            f" {show(raw)}"
        )
    return _resolve_cross(SCHEMA.check(copy.deepcopy(raw), ""))


def repeat(cfg: dict, r: int) -> dict:
    """Repeat ``r`` of a resolved config: the training on seed ``seed + r``, the data kept
    on the config's own seed, so that the spread across repeats is the training's."""
    if cfg["seed"] + r > MAX_SEED:
        raise ConfigError(
            f"{cfg['seed']} + repeat {r} is past {MAX_SEED}; expected a smaller seed", "seed"
        )
    out = copy.deepcopy(cfg)
    out["seed"] = cfg["seed"] + r
    out["data"]["seed"] = data_seed(cfg)
    return out


def fold(cfg: dict, k: int, folds: int) -> dict:
    """Fold ``k`` of ``folds`` of a resolved config: the same seed and data, validated on
    fold k of the train+validation data and trained on the others."""
    out = copy.deepcopy(cfg)
    out["data"]["cv"] = {"folds": folds, "fold": k}
    out["data"]["seed"] = data_seed(cfg)
    return out


def defaults() -> dict:
    """The config every key of which is at its default."""
    return resolve({})


def data_seed(cfg: dict) -> int:
    """The seed a resolved config's data is generated and split on: ``data.seed``, else
    the run's ``seed`` (so that repeats, which vary ``seed``, keep their data)."""
    return cfg["data"]["seed"] if cfg["data"]["seed"] is not None else cfg["seed"]
