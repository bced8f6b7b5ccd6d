"""The data section of `dlexp export --format python`'s script: the code that makes
the run's points (its generator, Playground's, scikit-learn's ``load_*``, or the CSV
read as the run read it), its extra features, and its train/validation/test split."""

from __future__ import annotations

import inspect
import json

from dlexp import data as data_mod
from dlexp.config import data_seed
from dlexp.data import bundled, playground


def data_code(cfg: dict) -> str:
    d = cfg["data"]
    seed = data_seed(cfg)
    regression = d.get("task") == "regression"
    if d["kind"] == "csv":
        return _csv_code(d, regression)
    if d["kind"] in bundled.LOADERS:
        return _bundled_code(d["kind"], regression)
    if d["kind"] == "playground":
        return _playground_code(d, seed, regression)
    gen = inspect.getsource(data_mod.GENERATORS[d["kind"]]).replace(
        f"def _{d['kind']}(", "def generate("
    )
    return (
        gen
        + "\n\ndef load():\n"
        + f"    cfg = {json.dumps({k: d[k] for k in ('classes', 'factor')})}\n"
        + f"    rng = np.random.RandomState({seed})\n"
        + f"    x, y = generate({d['n_samples']}, {d['noise']}, rng, cfg)\n"
        + "    return x.astype(np.float32), y\n"
    )


def _csv_code(d: dict, regression: bool) -> str:
    target, features = d["target"], d["features"]
    targets = [target] if isinstance(target, str) else list(target)
    lines = [
        "import csv",
        "",
        "",
        "def load():",
        f"    with open({d['path']!r}, newline='', encoding='utf-8-sig') as f:",
        "        rows = list(csv.DictReader(f))",
        f"    features = {features!r} or [c for c in rows[0] if c not in {targets!r}]",
        "    x = np.array([[float(r[c]) for c in features] for r in rows], np.float32)",
    ]
    if regression:  # the target column(s) as numbers, one column per target
        lines.append(
            f"    return x, np.array([[float(r[t]) for t in {targets!r}] for r in rows], "
            "np.float32)"
        )
        return "\n".join(lines) + "\n"
    lines += [
        f"    labels = [r[{targets[0]!r}].strip() for r in rows]",
        "    try:",
        "        keys = [float(v) for v in labels]",
        "    except ValueError:",
        "        keys = labels",
        "    classes = sorted(set(keys))",
        "    return x, np.array([classes.index(k) for k in keys])",
    ]
    return "\n".join(lines) + "\n"


def _bundled_code(kind: str, regression: bool) -> str:
    """scikit-learn's own copy of the dataset (``load_iris()``, ...: no network)."""
    y = "np.asarray(bunch.target, np.float32).reshape(-1, 1)" if regression else "bunch.target"
    return (
        "\n".join(
            [
                f"from sklearn.datasets import {bundled.LOADERS[kind]}",
                "",
                "",
                "def load():",
                f"    bunch = {bundled.LOADERS[kind]}()  # shipped with scikit-learn",
                f"    return np.asarray(bunch.data, np.float64).astype(np.float32), {y}",
            ]
        )
        + "\n"
    )


def _playground_code(d: dict, seed: int, regression: bool) -> str:
    """TensorFlow Playground's generator (dlexp.data.playground's code, copied), so the
    script makes the same points from the same seed."""
    name = d["dataset"]
    fn = playground.DATASETS[name]
    parts = [inspect.getsource(playground._uniform)]
    if name.startswith("reg-"):
        parts.append(inspect.getsource(playground._noisy))
    if fn is playground.reg_gauss:
        parts.append(f"GAUSSIANS = {playground.GAUSSIANS!r}\n")
    parts.append(inspect.getsource(fn).replace(f"def {fn.__name__}(", "def generate("))
    y = "np.asarray(y, np.float32).reshape(-1, 1)" if regression else "np.asarray(y)"
    return (
        f"# TensorFlow Playground's {name} dataset, made as the run made it\n"
        + "\n\n".join(parts)
        + "\n\ndef load():\n"
        + f"    rng = np.random.RandomState({seed})\n"
        + f"    x, y = generate({d['n_samples']}, {d['noise']}, rng)\n"
        + f"    return np.asarray(x, np.float64).astype(np.float32), {y}\n"
    )


def split_code(cfg: dict) -> str:
    d = cfg["data"]
    seed = data_seed(cfg)
    regression = d.get("task") == "regression"
    if regression:  # numbers are not classes: a plain split
        splitter = [
            "def split(x, y, size):",
            f"    return train_test_split(x, y, test_size=size, random_state={seed})",
        ]
    else:
        splitter = [
            "def split(x, y, size):",
            "    try:  # stratified when every class allows it",
            f"        return train_test_split(x, y, test_size=size, random_state={seed}, "
            "stratify=y)",
            "    except ValueError:",
            f"        return train_test_split(x, y, test_size=size, random_state={seed})",
        ]
    lines = [
        "",
        "",
        *splitter,
        "",
        "",
        "x, y = load()",
        *_extra_code(d.get("extra_features") or []),
        f"x_rest, x_test, y_rest, y_test = split(x, y, {d['test_size']})",
    ]
    if d.get("cv") is not None:
        k, folds = d["cv"]["fold"], d["cv"]["folds"]
        lines += [
            f"# cross-validation: fold {k} of {folds} of the train+validation data validates",
            "from sklearn.model_selection import KFold, StratifiedKFold",
            "",
            "stratify = False  # a regression's folds are plain"
            if regression
            else f"stratify = np.bincount(y_rest).min() >= {folds}",
            f"folds = (StratifiedKFold if stratify else KFold)({folds}, shuffle=True, "
            f"random_state={seed})",
            f"train, val = [(np.sort(a), np.sort(b)) for a, b in "
            f"folds.split(np.zeros(len(y_rest)), y_rest)][{k}]",
            "x_train, x_val, y_train, y_val = x_rest[train], x_rest[val], "
            "y_rest[train], y_rest[val]",
        ]
    elif d["val_size"] > 0:
        lines.append(f"x_train, x_val, y_train, y_val = split(x_rest, y_rest, {d['val_size']})")
    else:
        lines += ["x_train, y_train = x_rest, y_rest", "x_val = y_val = None"]
    return "\n".join(lines) + "\n"


_EXTRA_CODE = {
    "x1^2": "x[:, 0] ** 2",
    "x2^2": "x[:, 1] ** 2",
    "x1*x2": "x[:, 0] * x[:, 1]",
    "sin(x1)": "np.sin(x[:, 0])",
    "sin(x2)": "np.sin(x[:, 1])",
    "cos(x1)": "np.cos(x[:, 0])",
    "cos(x2)": "np.cos(x[:, 1])",
}


def _extra_code(names: list[str]) -> list[str]:
    """data.extra_features: dlexp's model makes them in its first layer; here, NumPy."""
    if not names:
        return []
    columns = ", ".join(f"{_EXTRA_CODE[n]}" for n in names)
    return [
        f"# data.extra_features {names}: appended to (x1, x2)",
        f"x = np.concatenate([x, np.stack([{columns}], axis=1)], axis=1)",
    ]
