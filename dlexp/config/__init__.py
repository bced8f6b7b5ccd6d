"""Experiment configs: YAML in, a validated and fully resolved dict out.

Everything here is plain Python (no TensorFlow, no Keras import), so a mistyped
config is refused in milliseconds, before anything trains. The package's parts:
``specs`` (checking one value), ``names`` (Keras' names and dlexp's limits),
``compound`` (an optimizer, early stopping, a schedule, a fold), ``schema`` (every
key: type, default, meaning; the docs' key table is generated from it), ``resolve``
(defaults that depend on other keys, repeats and folds) and ``load`` (a file and its
``--set`` overrides). ``from dlexp import config`` then ``config.load(...)``: every
public name is here.
"""

from dlexp.config.compound import (
    CrossValidation,
    EarlyStopping,
    LrSchedule,
    Optimizer,
    optimizer_name,
)
from dlexp.config.load import (
    apply_overrides,
    get_dotted,
    load,
    located,
    parse_override,
    resolve_paths,
    set_dotted,
)
from dlexp.config.names import (
    ACTIVATIONS,
    DATASETS,
    EXTRA_FEATURE_NAMES,
    INITIALIZERS,
    LOSSES,
    MAX_EPOCHS,
    MAX_FOLDS,
    MAX_SEED,
    MAX_SNAPSHOTS,
    METRICS,
    OPTIMIZERS,
    SCHEDULES,
    SHAPES,
    TWO_CLASS_DATASETS,
)
from dlexp.config.resolve import (
    data_seed,
    defaults,
    fold,
    logged_metrics,
    repeat,
    resolve,
    validates,
)
from dlexp.config.schema import (
    CLASS_DEFAULTS,
    DEFAULT_LAYERS,
    NOISE_DEFAULTS,
    SCHEMA,
    TALOS_DEFAULTS,
    key_table,
    keys,
)
from dlexp.config.specs import (
    BatchSize,
    Bool,
    Choice,
    Float,
    Int,
    ListOf,
    Name,
    Nullable,
    Number,
    Section,
    Spec,
    Str,
    doc,
)
from dlexp.core.errors import ConfigError
from dlexp.core.yamlio import loads, read_yaml

__all__ = [
    "ACTIVATIONS",
    "CLASS_DEFAULTS",
    "DATASETS",
    "DEFAULT_LAYERS",
    "EXTRA_FEATURE_NAMES",
    "INITIALIZERS",
    "LOSSES",
    "MAX_EPOCHS",
    "MAX_FOLDS",
    "MAX_SEED",
    "MAX_SNAPSHOTS",
    "METRICS",
    "NOISE_DEFAULTS",
    "OPTIMIZERS",
    "SCHEDULES",
    "SCHEMA",
    "SHAPES",
    "TALOS_DEFAULTS",
    "TWO_CLASS_DATASETS",
    "BatchSize",
    "Bool",
    "Choice",
    "ConfigError",
    "CrossValidation",
    "EarlyStopping",
    "Float",
    "Int",
    "ListOf",
    "LrSchedule",
    "Name",
    "Nullable",
    "Number",
    "Optimizer",
    "Section",
    "Spec",
    "Str",
    "apply_overrides",
    "defaults",
    "doc",
    "fold",
    "get_dotted",
    "key_table",
    "keys",
    "load",
    "loads",
    "located",
    "logged_metrics",
    "optimizer_name",
    "parse_override",
    "read_yaml",
    "data_seed",
    "repeat",
    "resolve",
    "resolve_paths",
    "set_dotted",
    "validates",
]
