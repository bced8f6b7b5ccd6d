"""The data a run trains on: :class:`Dataset` (its splits and what the model's first
layer needs) and :func:`load`, which generates or reads the points a config's ``data``
section describes and splits them."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from dlexp.config.resolve import data_seed
from dlexp.core.errors import ConfigError
from dlexp.data import bundled, playground
from dlexp.data.csv import read_csv, regression_note
from dlexp.data.features import expand
from dlexp.data.generators import GENERATORS, check_fits
from dlexp.data.splits import fold_indices, split


@dataclass
class Dataset:
    """Train/validation/test splits: for classification integer class labels
    0..n_classes-1; for regression float32 targets, one column per output."""

    x_train: np.ndarray
    y_train: np.ndarray
    x_val: np.ndarray | None
    y_val: np.ndarray | None
    x_test: np.ndarray
    y_test: np.ndarray
    n_classes: int
    feature_names: list[str] = field(default_factory=lambda: ["x1", "x2"])
    class_names: list[str] = field(default_factory=list)
    # data.standardize: the training split's mean and variance per feature, which the
    # model's first layer (Keras' Normalization) applies, so model.keras takes raw points
    standardize: tuple[np.ndarray, np.ndarray] | None = None
    # data.extra_features: Playground's inputs, made from (x1, x2) by the model's first
    # layer; the points stay 2D
    extra_features: list[str] = field(default_factory=list)
    task: str = "classification"
    # what is learned: the target column(s) of a CSV, a bundled dataset's
    target_names: list[str] = field(default_factory=lambda: ["label"])
    # regression: the training split's mean and standard deviation per output; the
    # loss is computed on the target so standardized, and the model's last layer puts
    # its output back into the target's units (dlexp.model.layers.TargetScale)
    target_scale: tuple[np.ndarray, np.ndarray] | None = None
    # how the task was chosen, for the run's summary ("" when it is the dataset's own)
    task_note: str = ""

    @property
    def n_features(self) -> int:
        return self.x_train.shape[1]

    @property
    def regression(self) -> bool:
        return self.task == "regression"

    @property
    def n_outputs(self) -> int:
        """The output layer's width as the task counts it: the classes, or the
        regression targets."""
        return self.y_train.shape[1] if self.regression else self.n_classes

    def splits(self) -> dict[str, tuple[np.ndarray, np.ndarray]]:
        out = {"train": (self.x_train, self.y_train)}
        if self.x_val is not None:
            out["val"] = (self.x_val, self.y_val)
        out["test"] = (self.x_test, self.y_test)
        return out


def load(data_cfg: dict, seed: int) -> Dataset:
    """Generate or read the data a config describes and split it.

    Args:
        data_cfg: the resolved ``data`` section.
        seed: the run's seed; ``data.seed`` overrides it for the data alone.

    Raises:
        ConfigError: an unreadable CSV, or too few samples for the splits.
    """
    seed = data_seed({"data": data_cfg, "seed": seed})
    kind = data_cfg["kind"]
    task = data_cfg.get("task") or "classification"
    regression = task == "regression"
    target_names, note = ["label"], ""
    if kind == "csv":
        x, y, feature_names, class_names = read_csv(
            data_cfg["path"], data_cfg["target"], data_cfg["features"], task
        )
        target = data_cfg["target"]
        target_names = [target] if isinstance(target, str) else list(target)
        if regression:
            note = regression_note(data_cfg["path"], target, data_cfg["features"])
    elif kind in bundled.LOADERS:
        x, y, feature_names, class_names, target_names = bundled.load(kind)
    else:
        check_fits(data_cfg["n_samples"])
        rng = np.random.RandomState(seed)
        if kind == "playground":
            x, y = playground.generate(
                data_cfg["dataset"], data_cfg["n_samples"], data_cfg["noise"], rng
            )
        else:
            x, y = GENERATORS[kind](data_cfg["n_samples"], data_cfg["noise"], rng, data_cfg)
        feature_names = ["x1", "x2"]
        if regression:
            y, class_names = np.asarray(y, np.float32).reshape(-1, 1), []
        elif kind == "playground":
            class_names = list(playground.CLASS_NAMES)
        else:
            class_names = [str(i) for i in range(int(y.max()) + 1)]
    n_classes = 0 if regression else len(class_names)
    n = len(x)
    n_test = int(np.ceil(n * data_cfg["test_size"]))
    n_val = int(np.ceil((n - n_test) * data_cfg["val_size"]))
    if data_cfg.get("cv") is not None:  # the folds replace the validation split
        n_val = int(np.ceil((n - n_test) / data_cfg["cv"]["folds"]))
    if n_test < 1 or n - n_test - n_val < 1 or (data_cfg["val_size"] > 0 and n_val < 1):
        raise ConfigError(
            f"data.n_samples: {n} samples are too few for test_size "
            f"{data_cfg['test_size']} and val_size {data_cfg['val_size']}"
        )
    x = x.astype(np.float32)
    strata = not regression  # classes are kept in proportion; numbers are not classes
    x_rest, x_test, y_rest, y_test = split(x, y, data_cfg["test_size"], seed, strata)
    x_val = y_val = None
    cv = data_cfg.get("cv")
    if cv is not None:
        train, val = fold_indices(y_rest, cv["folds"], seed, strata)[cv["fold"]]
        x_rest, x_val, y_rest, y_val = x_rest[train], x_rest[val], y_rest[train], y_rest[val]
    elif data_cfg["val_size"] > 0:
        x_rest, x_val, y_rest, y_val = split(x_rest, y_rest, data_cfg["val_size"], seed, strata)
    target_scale = None
    if regression:
        y64 = np.asarray(y_rest, np.float64)
        std = y64.std(axis=0)
        flat = [t for t, s in zip(target_names, std, strict=True) if not s > 0]
        if flat:
            raise ConfigError(
                f"{flat[0]!r} is the same number in every training row; expected a target "
                "that varies, to regress",
                "data.target",
            )
        target_scale = (y64.mean(axis=0).astype(np.float32), std.astype(np.float32))
    extra = list(data_cfg.get("extra_features") or [])
    if extra and x.shape[1] != 2:
        raise ConfigError(
            f"{extra} are made from two features x1, x2; the data has {x.shape[1]} "
            f"({', '.join(feature_names)})",
            "data.extra_features",
        )
    standardize = None
    if data_cfg["standardize"]:  # of the features the model sees, extra ones included
        x64 = expand(np.asarray(x_rest, np.float64), extra)
        standardize = (x64.mean(axis=0).astype(np.float32), x64.var(axis=0).astype(np.float32))
    f32 = lambda a: None if a is None else np.ascontiguousarray(a, dtype=np.float32)  # noqa: E731
    return Dataset(
        x_train=f32(x_rest),
        y_train=y_rest,
        x_val=f32(x_val),
        y_val=y_val,
        x_test=f32(x_test),
        y_test=y_test,
        n_classes=n_classes,
        feature_names=feature_names,
        class_names=class_names,
        standardize=standardize,
        extra_features=extra,
        task=task,
        target_names=target_names,
        target_scale=target_scale,
        task_note=note,
    )
