"""Datasets: the notebook's 2D toy problems, TensorFlow Playground's, and a user's CSV.

Plain NumPy and scikit-learn; no TensorFlow. Every generator is a pure function of
its settings and a seed, so the same config always gives the same points.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from dlexp.config import data_seed
from dlexp.core.errors import ConfigError, show


@dataclass
class Dataset:
    """Train/validation/test splits with integer class labels 0..n_classes-1."""

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

    @property
    def n_features(self) -> int:
        return self.x_train.shape[1]

    def splits(self) -> dict[str, tuple[np.ndarray, np.ndarray]]:
        out = {"train": (self.x_train, self.y_train)}
        if self.x_val is not None:
            out["val"] = (self.x_val, self.y_val)
        out["test"] = (self.x_test, self.y_test)
        return out


def _moons(n, noise, rng, cfg):
    from sklearn import datasets as skd

    return skd.make_moons(n, noise=noise, random_state=rng)


def _circles(n, noise, rng, cfg):
    from sklearn import datasets as skd

    return skd.make_circles(n, noise=noise, factor=cfg["factor"], random_state=rng)


def _blobs(n, noise, rng, cfg):
    k = cfg["classes"]
    angles = 2 * np.pi * np.arange(k) / k
    centers = 2.0 * np.stack([np.cos(angles), np.sin(angles)], axis=1)
    from sklearn import datasets as skd

    return skd.make_blobs(n, centers=centers, cluster_std=max(noise, 1e-6), random_state=rng)


def _xor(n, noise, rng, cfg):
    x = rng.uniform(-1, 1, size=(n, 2))
    y = (x[:, 0] * x[:, 1] > 0).astype(int)
    return x + rng.normal(0, noise, size=x.shape), y


def _spiral(n, noise, rng, cfg):
    """k interleaved arms, 1.5 turns each, radius 0..1."""
    k = cfg["classes"]
    y = np.arange(n) % k
    t = rng.uniform(0.05, 1.0, size=n)
    theta = 3 * np.pi * t + 2 * np.pi * y / k
    x = np.stack([t * np.cos(theta), t * np.sin(theta)], axis=1)
    return x + rng.normal(0, noise, size=x.shape), y


def _gauss(n, noise, rng, cfg):
    """Two Gaussian clouds at (-1, -1) and (1, 1), as in TensorFlow Playground."""
    y = np.arange(n) % 2
    centers = np.where(y[:, None] == 1, 1.0, -1.0)
    return centers + rng.normal(0, noise, size=(n, 2)), y


# TensorFlow Playground's inputs, from the two coordinates: each a function of x1, x2
# and a sine, so that NumPy (here) and keras.ops (the model's layer, dlexp.model.layers) make
# them from one definition.
EXTRA_FEATURES = {
    "x1^2": lambda x1, x2, sin: x1 * x1,
    "x2^2": lambda x1, x2, sin: x2 * x2,
    "x1*x2": lambda x1, x2, sin: x1 * x2,
    "sin(x1)": lambda x1, x2, sin: sin(x1),
    "sin(x2)": lambda x1, x2, sin: sin(x2),
}


def expand(x: np.ndarray, names: list[str]) -> np.ndarray:
    """The points with the extra features appended (what the model's first layer makes)."""
    if not names:
        return x
    x1, x2 = x[:, 0:1], x[:, 1:2]
    return np.concatenate([x, *(EXTRA_FEATURES[n](x1, x2, np.sin) for n in names)], axis=1)


GENERATORS = {
    "moons": _moons,
    "circles": _circles,
    "blobs": _blobs,
    "xor": _xor,
    "spiral": _spiral,
    "gauss": _gauss,
}


MAX_CSV_BYTES = 100 << 20  # a CSV of points this tool trains small networks on
BYTES_PER_POINT = 120  # a generated 2D point's share of the arrays made before training


def check_fits(n_samples: int) -> None:
    """Refuse a dataset whose arrays would not fit in a quarter of the memory available,
    before any is made."""
    from dlexp.core.limits import budget, memory_available

    if n_samples * BYTES_PER_POINT > budget():
        raise ConfigError(
            f"{n_samples:,} points need about {n_samples * BYTES_PER_POINT / 2**30:.1f} GiB; "
            f"at most {budget() // BYTES_PER_POINT:,} fit in a quarter of the "
            f"{memory_available() / 2**30:.1f} GiB available",
            "data.n_samples",
        )


def _number(text: str) -> float | None:
    try:
        value = float(text)
    except ValueError:
        return None
    return value


def read_csv(path: str | Path, target: str, features: list[str] | None):
    """Read feature columns and a target column from a CSV file with a header row.

    Features must be numeric; the target may hold numbers or text labels (not a mix).

    Returns:
        (x, y, feature_names, class_names) with y as integer codes of sorted labels.
    """
    path = Path(path)
    if path.exists() and not path.is_file():
        raise ConfigError(f"{str(path)!r} is not a regular file, expected a CSV file", "data.path")
    if path.is_file() and path.stat().st_size > MAX_CSV_BYTES:
        raise ConfigError(
            f"{str(path)!r} holds {path.stat().st_size:,} bytes; expected a CSV file of at most "
            f"{MAX_CSV_BYTES:,} bytes",
            "data.path",
        )
    try:
        with path.open(newline="", encoding="utf-8-sig") as f:
            rows = list(csv.reader(f))
    except FileNotFoundError:
        raise ConfigError(f"data.path: file not found: {str(path)!r}") from None
    except (OSError, UnicodeDecodeError, csv.Error) as exc:
        raise ConfigError(f"data.path: cannot read {str(path)!r} as CSV ({exc})") from None
    rows = [r for r in rows if any(cell.strip() for cell in r)]
    if len(rows) < 2:
        raise ConfigError(f"{path}: expected a header row and at least one data row")
    header = [h.strip() for h in rows[0]]
    twice = next((h for i, h in enumerate(header) if h in header[:i]), None)
    if twice is not None:
        raise ConfigError(f"{path}: the column {twice!r} appears twice in the header")
    if target not in header:
        raise ConfigError(
            f"data.target: column {target!r} is not in {path.name}; columns: {', '.join(header)}"
        )
    names = features if features is not None else [h for h in header if h != target]
    missing = [n for n in names if n not in header]
    if missing:
        raise ConfigError(
            f"data.features: column {missing[0]!r} is not in {path.name}; "
            f"columns: {', '.join(header)}"
        )
    if target in names:
        raise ConfigError(f"data.features: the target column {target!r} cannot be a feature")
    if not names:
        raise ConfigError(f"{path}: no feature columns besides the target {target!r}")
    cols = [header.index(n) for n in names]
    tcol = header.index(target)
    x = np.empty((len(rows) - 1, len(cols)), dtype=np.float64)
    labels = []
    for i, row in enumerate(rows[1:], start=2):
        if len(row) != len(header):
            raise ConfigError(f"{path}: line {i}: expected {len(header)} cells, got {len(row)}")
        for j, c in enumerate(cols):
            value = _number(row[c].strip())
            if value is None or not np.isfinite(value):
                raise ConfigError(
                    f"{path}: line {i}, column {names[j]!r}: expected a number, got {show(row[c])}"
                )
            x[i - 2, j] = value
        labels.append(row[tcol].strip())
    numeric = [_number(v) for v in labels]
    if all(v is not None for v in numeric):
        keys = numeric
    elif any(v is not None for v in numeric):
        line = 2 + next(i for i, v in enumerate(numeric) if v is None)
        raise ConfigError(
            f"{path}: line {line}, column {target!r}: expected a number like the other labels, "
            f"got {show(labels[line - 2])}"
        )
    else:
        keys = labels
    classes = sorted(set(keys))
    if len(classes) < 2:
        raise ConfigError(f"{path}: column {target!r} holds a single class; expected at least 2")
    code = {c: i for i, c in enumerate(classes)}
    y = np.array([code[k] for k in keys], dtype=np.int64)
    class_names = [f"{c:g}" if isinstance(c, float) else str(c) for c in classes]
    return x, y, names, class_names


def _split(x, y, size, seed):
    """A stratified split when every class allows one, else a plain one."""
    from sklearn.model_selection import train_test_split  # here: a CSV is checked first

    try:
        return train_test_split(x, y, test_size=size, random_state=seed, stratify=y)
    except ValueError:
        return train_test_split(x, y, test_size=size, random_state=seed)


def fold_indices(y: np.ndarray, folds: int, seed: int) -> list[tuple[np.ndarray, np.ndarray]]:
    """(train rows, validation rows) of each of ``folds`` folds of labels ``y``:
    stratified when every class has a member per fold, shuffled with ``seed``."""
    from sklearn.model_selection import KFold, StratifiedKFold

    if len(y) < folds:
        raise ConfigError(
            f"{folds} folds need at least {folds} training and validation samples, got {len(y)}",
            "data.cv.folds",
        )
    stratify = np.bincount(y).min(initial=len(y)) >= folds
    splitter = (StratifiedKFold if stratify else KFold)(folds, shuffle=True, random_state=seed)
    return [(np.sort(a), np.sort(b)) for a, b in splitter.split(np.zeros(len(y)), y)]


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
    if kind == "csv":
        x, y, feature_names, class_names = read_csv(
            data_cfg["path"], data_cfg["target"], data_cfg["features"]
        )
    else:
        check_fits(data_cfg["n_samples"])
        rng = np.random.RandomState(seed)
        x, y = GENERATORS[kind](data_cfg["n_samples"], data_cfg["noise"], rng, data_cfg)
        feature_names = ["x1", "x2"]
        class_names = [str(i) for i in range(int(y.max()) + 1)]
    n_classes = len(class_names)
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
    x_rest, x_test, y_rest, y_test = _split(x, y, data_cfg["test_size"], seed)
    x_val = y_val = None
    cv = data_cfg.get("cv")
    if cv is not None:
        train, val = fold_indices(y_rest, cv["folds"], seed)[cv["fold"]]
        x_rest, x_val, y_rest, y_val = x_rest[train], x_rest[val], y_rest[train], y_rest[val]
    elif data_cfg["val_size"] > 0:
        x_rest, x_val, y_rest, y_val = _split(x_rest, y_rest, data_cfg["val_size"], seed)
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
    )
