"""A raw config mapping -> a validated config with every default filled in; the checks
that involve several keys, and the configs derived from one (a repeat, a fold)."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

from dlexp.config.compound import optimizer_name
from dlexp.config.names import (
    BUNDLED,
    CLASSIFICATION_METRICS,
    DEFAULT_METRICS,
    MAX_SEED,
    OPTIMIZERS,
    PLAYGROUND_CLASSIFICATION,
    PLAYGROUND_REGRESSION,
    PLAYGROUND_SAMPLES,
    REGRESSION_LOSSES,
    REGRESSION_METRICS,
    TWO_CLASS_DATASETS,
)
from dlexp.config.schema import (
    CLASS_DEFAULTS,
    DEFAULT_LAYERS,
    DEFAULT_SAMPLES,
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


def own_task(data: dict) -> str | None:
    """The task a dataset kind is made for (None: a CSV, whose target decides)."""
    kind = data["kind"]
    if kind == "playground":
        return "regression" if data["dataset"] in PLAYGROUND_REGRESSION else "classification"
    if kind in BUNDLED:
        return BUNDLED[kind]
    return None if kind == "csv" else "classification"


def _resolve_task(cfg: dict) -> str:
    """data.task as a run learns it: the dataset's own, or for a CSV its target's (read
    from the file when data.task is auto). A task the data cannot be learned as is
    refused, naming data.task or data.target."""
    data = cfg["data"]
    asked, own = data["task"], own_task(data)
    if own is not None:
        if asked not in ("auto", own):
            name = data["dataset"] if data["kind"] == "playground" else data["kind"]
            raise ConfigError(
                f"the {name} dataset is for {own}, got {show(asked)}; expected {own} or auto",
                "data.task",
            )
        return own
    if asked == "classification" and isinstance(data["target"], list):  # before the file
        raise ConfigError(
            f"{show(data['target'])} names {len(data['target'])} columns; data.task "
            "classification learns one column of labels (several are for regression)",
            "data.target",
        )
    if asked != "auto":  # checked against the file as the data is read (read_csv)
        return asked
    from dlexp.data.csv import target_task  # reads the CSV's target column

    return target_task(data["path"], data["target"], asked, data["features"])


def _check_task(cfg: dict, task: str) -> None:
    """Metrics, loss and output that belong to the task; the default metrics."""
    train, model = cfg["train"], cfg["model"]
    if train["metrics"] is None:
        train["metrics"] = list(DEFAULT_METRICS[task])
    wrong = REGRESSION_METRICS if task == "classification" else CLASSIFICATION_METRICS
    own = CLASSIFICATION_METRICS if task == "classification" else REGRESSION_METRICS
    other = "regression" if task == "classification" else "classification"
    for i, name in enumerate(train["metrics"]):
        if name in wrong:
            raise ConfigError(
                f"{show(name)} is a metric for {other}; data.task is {task}, expected one "
                f"of: {', '.join(own)}",
                f"train.metrics[{i}]",
            )
    if task == "regression":
        if train["loss"] is not None and train["loss"] not in REGRESSION_LOSSES:
            raise ConfigError(
                f"{show(train['loss'])} is not a loss for regression; expected one of: "
                f"{', '.join(REGRESSION_LOSSES)}",
                "train.loss",
            )
        if model["output_activation"] not in (None, "linear"):
            raise ConfigError(
                f"{show(model['output_activation'])} on a regression's output; expected linear "
                "(or null): the output is in standardized units, put back into the target's "
                "by the model's last layer, so it must be free to take any value",
                "model.output_activation",
            )
        model["output_activation"] = "linear"


def _resolve_cross(cfg: dict) -> dict:
    """Checks that involve several keys, and defaults that depend on other keys."""
    data, model, train = cfg["data"], cfg["model"], cfg["train"]
    kind = data["kind"]
    if data["noise"] is None:
        data["noise"] = NOISE_DEFAULTS[kind]
    if kind == "playground" and data["dataset"] is None:
        data["dataset"] = "circle"
    elif kind != "playground" and data["dataset"] is not None:
        raise ConfigError(
            f"only data.kind playground has datasets, got {show(data['dataset'])} with kind "
            f"{kind}; expected null, or kind: playground",
            "data.dataset",
        )
    if data["n_samples"] is None:
        playground = kind == "playground"
        data["n_samples"] = PLAYGROUND_SAMPLES[own_task(data)] if playground else DEFAULT_SAMPLES
    playground = kind == "playground"
    if kind in TWO_CLASS_DATASETS or (playground and data["dataset"] in PLAYGROUND_CLASSIFICATION):
        if data["classes"] not in (None, 2):
            name = f"Playground's {data['dataset']}" if playground else f"the {kind} dataset"
            raise ConfigError(
                f"{name} has 2 classes, got {show(data['classes'])}; use kind blobs or "
                "spiral for more",
                "data.classes",
            )
        data["classes"] = 2
    elif kind in CLASS_DEFAULTS and data["classes"] is None:
        data["classes"] = CLASS_DEFAULTS[kind]
    elif kind in BUNDLED or kind in ("playground", "csv"):
        data["classes"] = None  # the dataset's own, or read from the file
    if kind == "csv":
        for key in ("path", "target"):
            if data[key] is None:
                raise ConfigError("required when data.kind is csv, got null", f"data.{key}")
    data["task"] = _resolve_task(cfg)
    _check_task(cfg, data["task"])
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


def resolve(raw: Any, base: str | Path | None = None) -> dict:
    """Validate a raw config mapping and return it with every default filled in.

    Args:
        raw: the mapping, as read from YAML.
        base: the folder a relative ``data.path`` is relative to (the config file's;
            by default the working directory). The path is made absolute.

    Raises:
        ConfigError: naming the key path, the value received and what was expected.
    """
    if not isinstance(raw, dict):
        raise ConfigError(
            f"expected a mapping with sections seed, data, model, train; got {type(raw).__name__}"
            f" {show(raw)}"
        )
    cfg = SCHEMA.check(copy.deepcopy(raw), "")
    if cfg["data"]["path"] is not None:
        cfg["data"]["path"] = str((Path(base or ".") / cfg["data"]["path"]).resolve())
    return _resolve_cross(cfg)


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
