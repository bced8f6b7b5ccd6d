"""Experiment configs: YAML in, a validated and fully resolved dict out.

Everything here is plain Python (no TensorFlow, no Keras import), so a mistyped
config is refused in milliseconds, before anything trains. The names accepted
for activations, initializers, losses and optimizers are Keras' own; a test keeps
these tables in step with the installed Keras (``tests/test_config.py``).
"""

from __future__ import annotations

import copy
import math
import re
from pathlib import Path
from typing import Any

from dlexp.core.errors import ConfigError, bad_value, did_you_mean, show, unknown_key, unknown_name
from dlexp.core.yamlio import loads, read_yaml

DATASETS = ("moons", "circles", "blobs", "xor", "spiral", "gauss", "csv")
TWO_CLASS_DATASETS = ("moons", "circles", "xor", "gauss")
SHAPES = ("brick", "funnel")
METRICS = ("accuracy", "f1", "precision", "recall", "auc")
SCHEDULES = ("exponential", "step", "plateau")

# Keras' activation names (keras.activations.get accepts each of these).
ACTIVATIONS = (
    "celu", "elu", "exponential", "gelu", "glu", "hard_shrink", "hard_sigmoid", "hard_silu",
    "hard_swish", "hard_tanh", "leaky_relu", "linear", "log_sigmoid", "log_softmax", "mish",
    "relu", "relu6", "selu", "sigmoid", "silu", "soft_shrink", "softmax", "softplus",
    "softsign", "sparse_plus", "sparse_sigmoid", "sparsemax", "squareplus", "swish", "tanh",
    "tanh_shrink", "threshold",
)  # fmt: skip
# Keras' initializer names that make sense for a Dense kernel of any shape.
INITIALIZERS = (
    "glorot_uniform", "glorot_normal", "he_uniform", "he_normal", "lecun_uniform",
    "lecun_normal", "orthogonal", "random_normal", "random_uniform", "truncated_normal",
    "uniform", "normal", "variance_scaling", "zeros", "ones",
)  # fmt: skip
# Keras' loss names that apply to class labels.
LOSSES = (
    "binary_crossentropy", "categorical_crossentropy", "binary_focal_crossentropy",
    "categorical_focal_crossentropy", "mean_squared_error", "mse", "mean_absolute_error", "mae",
    "hinge", "squared_hinge", "categorical_hinge", "kl_divergence", "log_cosh", "poisson",
    "huber",
)  # fmt: skip

_UNIT = ("a number in (0, 1)", lambda v: 0 < v < 1)
_UNIT_CLOSED_OPEN = ("a number in [0, 1)", lambda v: 0 <= v < 1)
_POSITIVE = ("a number > 0", lambda v: v > 0)
_NON_NEGATIVE = ("a number >= 0", lambda v: v >= 0)
_BOOL = ("true or false", None)
_COMMON_OPTIMIZER_ARGS = {
    "weight_decay": _NON_NEGATIVE,
    "clipnorm": _POSITIVE,
    "clipvalue": _POSITIVE,
    "global_clipnorm": _POSITIVE,
    "use_ema": _BOOL,
    "ema_momentum": _UNIT_CLOSED_OPEN,
}
_ADAM_ARGS = {"beta_1": _UNIT_CLOSED_OPEN, "beta_2": _UNIT_CLOSED_OPEN, "epsilon": _POSITIVE}
# Each optimizer: its Keras default learning rate and the arguments dlexp passes on.
OPTIMIZERS: dict[str, tuple[float, dict[str, tuple]]] = {
    "sgd": (0.01, {"momentum": _UNIT_CLOSED_OPEN, "nesterov": _BOOL}),
    "adagrad": (0.001, {"initial_accumulator_value": _NON_NEGATIVE, "epsilon": _POSITIVE}),
    "adadelta": (0.001, {"rho": _UNIT, "epsilon": _POSITIVE}),
    "rmsprop": (
        0.001,
        {"rho": _UNIT, "momentum": _UNIT_CLOSED_OPEN, "epsilon": _POSITIVE, "centered": _BOOL},
    ),
    "adam": (0.001, {**_ADAM_ARGS, "amsgrad": _BOOL}),
    "adamw": (0.001, {**_ADAM_ARGS, "amsgrad": _BOOL}),
    "adamax": (0.001, dict(_ADAM_ARGS)),
    "nadam": (0.001, dict(_ADAM_ARGS)),
    "ftrl": (0.001, {"learning_rate_power": ("a number <= 0", lambda v: v <= 0)}),
    "lion": (0.001, {"beta_1": _UNIT_CLOSED_OPEN, "beta_2": _UNIT_CLOSED_OPEN}),
}
for _args in OPTIMIZERS.values():
    _args[1].update(_COMMON_OPTIMIZER_ARGS)

MAX_SEED = 2**32 - 1  # NumPy's and Keras' seeds are 32-bit
MAX_EPOCHS = 100_000
_FLOAT_TEXT = re.compile(r"^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$")


# ---------------------------------------------------------------------------
# Value specs: each checks one value and returns it normalised.
# ---------------------------------------------------------------------------


class Spec:
    """One config value: its default and how to check it."""

    expected = "a value"

    def __init__(self, default: Any = None):
        self.default = default

    def check(self, value: Any, path: str) -> Any:
        raise NotImplementedError


class Int(Spec):
    def __init__(self, default: Any = None, *, min: int | None = None, max: int | None = None):
        super().__init__(default)
        self.min, self.max = min, max
        if min == 1 and max is None:
            self.expected = "a positive integer"
        elif min == 1:
            self.expected = f"a positive integer up to {max}"
        elif min is not None and max is not None:
            self.expected = f"an integer in [{min}, {max}]"
        elif min is not None:
            self.expected = f"an integer >= {min}"
        else:
            self.expected = "an integer"

    def check(self, value: Any, path: str) -> int:
        if isinstance(value, float) and value.is_integer():
            value = int(value)
        if isinstance(value, bool) or not isinstance(value, int):
            raise bad_value(path, value, self.expected)
        if (self.min is not None and value < self.min) or (
            self.max is not None and value > self.max
        ):
            raise bad_value(path, value, self.expected)
        return value


class Float(Spec):
    """A real number; numeric text such as ``1e-3`` is accepted too, since YAML 1.1
    (PyYAML) reads that as a string and users rightly expect it to work."""

    def __init__(self, default: Any = None, rule: tuple[str, Any] = ("a number", None)):
        super().__init__(default)
        self.expected, self.ok = rule

    def check(self, value: Any, path: str) -> float:
        number = value
        if isinstance(value, str) and _FLOAT_TEXT.match(value.strip()):
            number = float(value)
        if isinstance(number, bool) or not isinstance(number, (int, float)):
            raise bad_value(path, value, self.expected)
        number = float(number)
        if not math.isfinite(number) or (self.ok is not None and not self.ok(number)):
            raise bad_value(path, value, self.expected)
        return number


class Number(Spec):
    """An integer or a real number, kept as given (a grid range's bounds: integer
    bounds make an integer range)."""

    def __init__(self, default: Any = None, rule: tuple[str, Any] = ("a number", None)):
        super().__init__(default)
        self.expected, self.ok = rule

    def check(self, value: Any, path: str) -> int | float:
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise bad_value(path, value, self.expected)
        if not math.isfinite(value) or (self.ok is not None and not self.ok(value)):
            raise bad_value(path, value, self.expected)
        return value


class Bool(Spec):
    expected = "true or false"

    def check(self, value: Any, path: str) -> bool:
        if not isinstance(value, bool):
            raise bad_value(path, value, self.expected)
        return value


class Str(Spec):
    expected = "a string"

    def check(self, value: Any, path: str) -> str:
        if not isinstance(value, str) or not value.strip():
            raise bad_value(path, value, "a non-empty string")
        return value


class Name(Spec):
    """A run's or a search's name: it names folders, so letters, digits, spaces and
    ``_ . -``, starting with a letter or a digit, at most 64 characters."""

    expected = "a name of 1 to 64 letters, digits, spaces or _ . -, starting with a letter or digit"
    PATTERN = re.compile(r"[A-Za-z0-9][A-Za-z0-9 _.\-]{0,63}")

    def check(self, value: Any, path: str) -> str:
        if not isinstance(value, str) or not self.PATTERN.fullmatch(value):
            raise bad_value(path, value, self.expected)
        return value


class Choice(Spec):
    """One of a fixed set of names, matched without regard to case."""

    def __init__(self, default: Any, options: tuple[str, ...]):
        super().__init__(default)
        self.options = options
        self.expected = "one of: " + ", ".join(options)

    def check(self, value: Any, path: str) -> str:
        if not isinstance(value, str):
            raise bad_value(path, value, f"a name, {self.expected}")
        name = value.strip().lower()
        if name not in self.options:
            raise unknown_name(path, value, self.options)
        return name


class Nullable(Spec):
    def __init__(self, inner: Spec, default: Any = None):
        super().__init__(default)
        self.inner = inner
        self.expected = f"{inner.expected}, or null"

    def check(self, value: Any, path: str) -> Any:
        return None if value is None else self.inner.check(value, path)


class ListOf(Spec):
    def __init__(self, item: Spec, default: Any = None, *, min_len: int = 0, unique: bool = False):
        super().__init__(default)
        self.item, self.min_len, self.unique = item, min_len, unique
        self.expected = f"a list of {item.expected}" + (f" (at least {min_len})" if min_len else "")

    def check(self, value: Any, path: str) -> list:
        if not isinstance(value, list) or len(value) < self.min_len:
            raise bad_value(path, value, self.expected)
        out = [self.item.check(v, f"{path}[{i}]") for i, v in enumerate(value)]
        if self.unique and len(set(map(str, out))) != len(out):
            raise bad_value(path, value, "a list without repeats")
        return out


class Section(Spec):
    """A mapping with known keys; unknown keys are refused with a did-you-mean."""

    expected = "a mapping"

    def __init__(self, fields: dict[str, Spec]):
        super().__init__(None)
        self.fields = fields

    def check(self, value: Any, path: str) -> dict:
        if value is None:
            value = {}
        if not isinstance(value, dict):
            keys = ", ".join(self.fields)
            raise bad_value(path or "config", value, f"a mapping with keys {keys}")
        for key in value:
            if key not in self.fields:
                where = f"{path}.{key}" if path else str(key)
                listing = f"valid keys{' in ' + path if path else ''}: {', '.join(self.fields)}"
                raise unknown_key(where, key, list(self.fields), listing)
        out = {}
        for key, spec in self.fields.items():
            where = f"{path}.{key}" if path else key
            if key in value:
                out[key] = spec.check(value[key], where)
            elif isinstance(spec, Section):
                out[key] = spec.check({}, where)
            else:
                out[key] = copy.deepcopy(spec.default)
        return out


class BatchSize(Spec):
    """``full`` (batch gradient descent), 1 (stochastic) or n (mini-batch)."""

    expected = "a positive integer or 'full'"

    def check(self, value: Any, path: str) -> int | str:
        if isinstance(value, str) and value.strip().lower() == "full":
            return "full"
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise bad_value(path, value, self.expected)
        return value


class Optimizer(Spec):
    """A Keras optimizer name, or a mapping with ``name`` and that optimizer's arguments."""

    expected = "an optimizer name or a mapping with 'name' and its arguments"

    def check(self, value: Any, path: str) -> str | dict:
        names = tuple(OPTIMIZERS)
        if isinstance(value, str):
            return Choice(None, names).check(value, path)
        if not isinstance(value, dict):
            raise bad_value(path, value, self.expected)
        name = Choice(None, names).check(value.get("name", self.default), f"{path}.name")
        allowed = OPTIMIZERS[name][1]
        out: dict[str, Any] = {"name": name}
        for key, arg in value.items():
            if key == "name":
                continue
            where = f"{path}.{key}"
            if key == "learning_rate":
                raise ConfigError(f"set train.learning_rate instead, got {show(arg)}", where)
            if key not in allowed:
                raise ConfigError(
                    f"unknown argument of {name}{did_you_mean(key, list(allowed))}; "
                    f"valid: {', '.join(sorted(allowed))}",
                    where,
                )
            expected, ok = allowed[key]
            out[key] = (
                Bool().check(arg, where)
                if ok is None
                else Float(None, allowed[key]).check(arg, where)
            )
        return out


def optimizer_name(optimizer: str | dict) -> str:
    return optimizer if isinstance(optimizer, str) else optimizer["name"]


_EARLY_STOPPING = Section(
    {
        "monitor": Str("val_loss"),
        "patience": Int(20, min=0),
        "min_delta": Float(0.0, _NON_NEGATIVE),
        "restore_best_weights": Bool(True),
    }
)


class EarlyStopping(Spec):
    """``false`` (off), ``true`` (defaults) or a mapping of EarlyStopping's settings."""

    expected = "false, true or a mapping (monitor, patience, min_delta, restore_best_weights)"

    def check(self, value: Any, path: str) -> dict | bool:
        if value is False or value is None:
            return False
        if value is True:
            value = {}
        if not isinstance(value, dict):
            raise bad_value(path, value, self.expected)
        return _EARLY_STOPPING.check(value, path)


_SCHEDULE_FIELDS = {
    "exponential": {"rate": Float(0.96, _UNIT), "every": Int(1, min=1)},
    "step": {"rate": Float(0.5, _UNIT), "every": Int(10, min=1)},
    "plateau": {
        "rate": Float(0.5, _UNIT),
        "patience": Int(5, min=0),
        "min_lr": Float(0.0, _NON_NEGATIVE),
        "monitor": Str("val_loss"),
    },
}


MAX_FOLDS = 20
MAX_SNAPSHOTS = 100  # frames of the boundary kept while training (train.snapshots)
EXTRA_FEATURE_NAMES = ("x1^2", "x2^2", "x1*x2", "sin(x1)", "sin(x2)")  # data.EXTRA_FEATURES


class CrossValidation(Spec):
    """null, or ``{folds: K, fold: i}``: this run trains on the other K-1 folds of the
    train+validation data and validates on fold i (``dlexp train --cv K`` and
    ``search.cv`` write it; a fold's config.yaml trains that fold again)."""

    expected = "null or a mapping {folds: K, fold: i} with 2 <= K <= 20 and 0 <= i < K"

    def check(self, value: Any, path: str) -> dict | None:
        if value is None:
            return None
        if not isinstance(value, dict):
            raise bad_value(path, value, self.expected)
        out = Section({"folds": Int(None, min=2, max=MAX_FOLDS), "fold": Int(0, min=0)}).check(
            value, path
        )
        if out["folds"] is None:
            raise ConfigError(f"required: the number of folds (2 to {MAX_FOLDS})", f"{path}.folds")
        if out["fold"] >= out["folds"]:
            raise ConfigError(
                f"fold {out['fold']} of {out['folds']}; expected 0 to {out['folds'] - 1}",
                f"{path}.fold",
            )
        return out


class LrSchedule(Spec):
    """null, or a mapping with ``kind`` (exponential | step | plateau) and its settings."""

    expected = "null or a mapping with 'kind' (exponential, step or plateau)"

    def check(self, value: Any, path: str) -> dict | None:
        if value is None or value is False:
            return None
        if isinstance(value, str):
            value = {"kind": value}
        if not isinstance(value, dict) or "kind" not in value:
            raise bad_value(path, value, self.expected)
        kind = Choice(None, SCHEDULES).check(value["kind"], f"{path}.kind")
        rest = {k: v for k, v in value.items() if k != "kind"}
        return {"kind": kind, **Section(_SCHEDULE_FIELDS[kind]).check(rest, path)}


SCHEMA = Section(
    {
        "name": Nullable(Name()),
        "seed": Int(42, min=0, max=MAX_SEED),
        "data": Section(
            {
                "kind": Choice("moons", DATASETS),
                "n_samples": Int(2000, min=1),
                "noise": Nullable(Float(None, _NON_NEGATIVE)),
                "classes": Nullable(Int(min=2)),
                "factor": Float(0.5, _UNIT),
                "test_size": Float(0.2, _UNIT),
                "val_size": Float(0.2, _UNIT_CLOSED_OPEN),
                "standardize": Bool(False),
                "seed": Nullable(Int(min=0, max=MAX_SEED)),
                "path": Nullable(Str()),
                "target": Nullable(Str()),
                "features": Nullable(ListOf(Str(), min_len=1, unique=True)),
                "extra_features": ListOf(Choice(None, EXTRA_FEATURE_NAMES), [], unique=True),
                "cv": CrossValidation(None),
            }
        ),
        "model": Section(
            {
                "layers": Nullable(ListOf(Int(min=1))),
                "first_neuron": Nullable(Int(min=1)),
                "hidden_layers": Nullable(Int(min=0)),
                "shape": Nullable(Choice(None, SHAPES)),
                "activation": Choice("relu", ACTIVATIONS),
                "output_activation": Nullable(Choice(None, ACTIVATIONS)),
                "kernel_initializer": Choice("glorot_uniform", INITIALIZERS),
                "dropout": Float(0.0, _UNIT_CLOSED_OPEN),
                "l1": Float(0.0, _NON_NEGATIVE),
                "l2": Float(0.0, _NON_NEGATIVE),
                "input_noise": Float(0.0, _NON_NEGATIVE),
                "batch_norm": Bool(False),
            }
        ),
        "train": Section(
            {
                "loss": Nullable(Choice(None, LOSSES)),
                "optimizer": Optimizer("adam"),
                "learning_rate": Nullable(Float(None, _POSITIVE)),
                "lr_schedule": LrSchedule(None),
                "epochs": Int(100, min=1, max=MAX_EPOCHS),
                "batch_size": BatchSize(32),
                "metrics": ListOf(Choice(None, METRICS), ["accuracy"], unique=True),
                "snapshots": Int(10, min=0, max=MAX_SNAPSHOTS),
                "log_every": Choice("epoch", ("epoch", "batch")),
                "early_stopping": EarlyStopping(
                    {
                        "monitor": "val_loss",
                        "patience": 20,
                        "min_delta": 0.0,
                        "restore_best_weights": True,
                    }
                ),
            }
        ),
    }
)

# Defaults that depend on the dataset kind.
NOISE_DEFAULTS = {
    "moons": 0.2,
    "circles": 0.1,
    "blobs": 0.5,
    "xor": 0.1,
    "spiral": 0.03,
    "gauss": 0.5,
    "csv": 0.0,
}
CLASS_DEFAULTS = {"blobs": 3, "spiral": 2}
TALOS_DEFAULTS = {"first_neuron": 16, "hidden_layers": 1, "shape": "brick"}
DEFAULT_LAYERS = [16, 16]


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


# ---------------------------------------------------------------------------
# Reading a config file and --set overrides
# ---------------------------------------------------------------------------


def parse_override(text: str) -> tuple[str, Any]:
    """``train.epochs=5`` -> ("train.epochs", 5); the value is parsed as YAML."""
    key, sep, value = text.partition("=")
    key = key.strip()
    if not sep or not key or not re.fullmatch(r"[A-Za-z_][\w]*(\.[A-Za-z_][\w]*)*", key):
        raise ConfigError(
            f"--set {text!r}: expected KEY=VALUE with a dotted key, e.g. train.epochs=5"
        )
    return key, loads(value, f"--set {key}") if value.strip() else None


def set_dotted(raw: dict, key: str, value: Any) -> None:
    """Set ``a.b.c`` in a nested mapping, creating mappings on the way.

    A string on the way becomes ``{name: string}`` (so ``train.optimizer.momentum=0.9``
    works on ``optimizer: sgd``); false or null becomes an empty mapping (so setting
    ``train.early_stopping.patience`` turns early stopping on).
    """
    parts = key.split(".")
    node = raw
    for i, part in enumerate(parts[:-1]):
        child = node.get(part)
        if isinstance(child, str):
            child = {"name": child}
        elif child is None or child is False or child is True:
            child = {}
        elif not isinstance(child, dict):
            where = ".".join(parts[: i + 1])
            raise ConfigError(f"{where} is {show(child)}, not a mapping", key)
        node[part] = child
        node = child
    node[parts[-1]] = value


def get_dotted(cfg: dict, key: str) -> Any:
    """The value at ``a.b.c`` in a nested mapping; None where there is none."""
    node = cfg
    for part in key.split("."):
        if not isinstance(node, dict) or part not in node:
            return None
        node = node[part]
    return node


def apply_overrides(raw: dict, overrides: list[tuple[str, Any]]) -> dict:
    raw = copy.deepcopy(raw)
    for key, value in overrides:
        set_dotted(raw, key, value)
    return raw


def load(path: str | Path, overrides: list[str] | tuple[str, ...] = ()) -> dict:
    """Read, override and resolve a config file.

    Args:
        path: the YAML file.
        overrides: ``KEY=VALUE`` strings, as given to ``--set``.

    Returns:
        The resolved config; a CSV path in it is made absolute.
    """
    path = Path(path)
    raw = read_yaml(path)
    if raw is None:
        raw = {}
    if not isinstance(raw, dict):
        raise ConfigError(
            f"{path}: expected a mapping with sections seed, data, model, train; "
            f"got {type(raw).__name__} {show(raw)}"
        )
    parsed = [parse_override(o) for o in overrides]
    try:
        cfg = resolve(apply_overrides(raw, parsed))
    except ConfigError as exc:
        raise located(exc, path, parsed) from None
    return resolve_paths(cfg, path)


def located(exc: ConfigError, path: Path, overrides: list[tuple[str, Any]]) -> ConfigError:
    """An error in a file or its ``--set`` overrides, said to come from the one it did."""
    from_set = any(
        exc.within(key) or (exc.path and key.startswith(f"{exc.path}.")) for key, _ in overrides
    )
    return exc.located("--set " if from_set else f"{path}: ")


def resolve_paths(cfg: dict, config_file: Path) -> dict:
    """Make a CSV path in a resolved config absolute: it is read relative to the file."""
    if cfg["data"]["path"] is not None:
        cfg["data"]["path"] = str((Path(config_file).parent / cfg["data"]["path"]).resolve())
    return cfg


def data_seed(cfg: dict) -> int:
    """The seed a resolved config's data is generated and split on: ``data.seed``, else
    the run's ``seed`` (so that repeats, which vary ``seed``, keep their data)."""
    return cfg["data"]["seed"] if cfg["data"]["seed"] is not None else cfg["seed"]
