"""The config schema: every key with its type, default, allowed values and meaning.

One table serves both the validation (``SCHEMA.check``) and the manual, whose key
table is generated from it (``key_table``, called by ``docs/hooks.py``), so the two
cannot drift apart.
"""

from __future__ import annotations

from typing import Any

from dlexp.config.compound import CrossValidation, EarlyStopping, LrSchedule, Optimizer
from dlexp.config.names import (
    ACTIVATIONS,
    BUNDLED,
    DATASETS,
    EXTRA_FEATURE_NAMES,
    INITIALIZERS,
    LOSSES,
    MAX_EPOCHS,
    MAX_SEED,
    MAX_SNAPSHOTS,
    METRICS,
    PLAYGROUND_DATASETS,
    SHAPES,
    TASKS,
)
from dlexp.config.specs import (
    NON_NEGATIVE,
    POSITIVE,
    UNIT,
    UNIT_CLOSED_OPEN,
    BatchSize,
    Bool,
    Choice,
    Float,
    Int,
    ListOf,
    Name,
    Nullable,
    Section,
    Str,
    Target,
    doc,
)

# ---------------------------------------------------------------------------
# The schema: validation, defaults, and the manual's key table
# ---------------------------------------------------------------------------

SCHEMA = Section(
    {
        "name": doc(
            Nullable(Name()),
            "names the run and its folder (`--name` overrides it)",
            shown="the file's name",
        ),
        "seed": doc(
            Int(42, min=0, max=MAX_SEED),
            "seeds Python, NumPy and Keras; also the data unless `data.seed` is set",
        ),
        "data": Section(
            {
                "kind": doc(
                    Choice("moons", DATASETS),
                    "the dataset: `blobs` has k classes, `spiral` k arms, `gauss` two "
                    "Gaussian clouds; `playground` is one of TensorFlow Playground's "
                    "(`data.dataset`); `iris`, `wine`, `breast_cancer`, `digits` "
                    "(classification) and `diabetes` (regression) are scikit-learn's, "
                    "shipped with it; `csv` reads a file",
                ),
                "dataset": doc(
                    Nullable(Choice(None, PLAYGROUND_DATASETS)),
                    "for `playground`: `circle`, `xor`, `gauss`, `spiral` (classification) "
                    "or `reg-plane`, `reg-gauss` (regression), made as Playground makes them",
                    shown="`circle` (with `playground`)",
                ),
                "task": doc(
                    Choice("auto", TASKS),
                    "`classification` or `regression`; `auto` takes the dataset's own, and "
                    "for `csv` regression when the target holds numbers that are not all "
                    "integers",
                ),
                "n_samples": doc(
                    Nullable(Int(min=1)),
                    "points generated (not used for `csv` and scikit-learn's datasets)",
                    shown="2000; Playground's 500 (classification), 1200 (regression)",
                ),
                "noise": doc(
                    Nullable(Float(None, NON_NEGATIVE)),
                    "standard deviation of the noise: moons 0.2, circles 0.1, blobs 0.5, "
                    "xor 0.1, spiral 0.03, gauss 0.5; for `playground` its noise slider "
                    "over 100 (0 to 0.5; 0.15 is the slider at 15), default 0",
                    shown="per kind",
                ),
                "classes": doc(
                    Nullable(Int(min=2)),
                    "classes of `blobs` (3) and arms of `spiral` (2); the others have 2",
                    shown="per kind",
                ),
                "factor": doc(Float(0.5, UNIT), "inner/outer radius of `circles`"),
                "test_size": doc(Float(0.2, UNIT), "fraction held out for test"),
                "val_size": doc(
                    Float(0.2, UNIT_CLOSED_OPEN),
                    "fraction of the rest held out for validation (0: none)",
                ),
                "standardize": doc(
                    Bool(False),
                    "scale features to mean 0, std 1 (fitted on the training split) inside "
                    "the model, by Keras' `Normalization` as its first layer, so "
                    "`model.keras` takes raw points",
                ),
                "seed": doc(
                    Nullable(Int(min=0, max=MAX_SEED)), "a seed for the data alone (null: `seed`)"
                ),
                "path": doc(Nullable(Str()), "for `csv`: the file, relative to the config"),
                "target": doc(
                    Nullable(Target()),
                    "for `csv`: the label column (labels may be numbers or text), or the "
                    "column(s) to regress (a list for several outputs)",
                ),
                "features": doc(
                    Nullable(ListOf(Str(), min_len=1, unique=True)),
                    "for `csv`: the feature columns (null: all but the target); features "
                    "must be numbers",
                ),
                "extra_features": doc(
                    ListOf(Choice(None, EXTRA_FEATURE_NAMES), [], unique=True),
                    "TensorFlow Playground's inputs appended to (x1, x2). The model makes "
                    "them in its first layer, so it still takes plain points (`predict`, the "
                    "boundary over the original plane); with `x1^2` and `x2^2` a network "
                    "with no hidden layer separates circles. Needs 2D data",
                ),
                "cv": doc(
                    CrossValidation(None),
                    "`{folds: K, fold: i}`: validate on fold i of K stratified, seeded folds "
                    "of the train+validation data and train on the others (the test split "
                    "stays aside; `data.val_size` is then unused). `dlexp train --cv K` and "
                    "`search.cv` write it into each fold's run",
                ),
            }
        ),
        "model": Section(
            {
                "layers": doc(
                    Nullable(ListOf(Int(min=1))),
                    "hidden layer widths; `[]` is logistic regression",
                    shown="`[16, 16]`",
                ),
                "first_neuron": doc(
                    Nullable(Int(min=1)),
                    "Talos' form instead of `layers`: the first hidden layer's width",
                    shown="`16` (with the Talos form)",
                ),
                "hidden_layers": doc(
                    Nullable(Int(min=0)),
                    "Talos' form: how many more hidden layers follow the first",
                    shown="`1` (with the Talos form)",
                ),
                "shape": doc(
                    Nullable(Choice(None, SHAPES)),
                    "Talos' form: all as wide (`brick`) or shrinking toward the output (`funnel`)",
                    shown="`brick` (with the Talos form)",
                ),
                "activation": doc(
                    Choice("relu", ACTIVATIONS), "the hidden layers' activation (Keras' names)"
                ),
                "output_activation": doc(
                    Nullable(Choice(None, ACTIVATIONS)),
                    "`sigmoid` for two classes, `softmax` for more, `linear` for regression",
                    shown="from the task",
                ),
                "kernel_initializer": doc(
                    Choice("glorot_uniform", INITIALIZERS), "any Keras initializer name"
                ),
                "dropout": doc(
                    Float(0.0, UNIT_CLOSED_OPEN), "dropout rate after each hidden layer"
                ),
                "l1": doc(Float(0.0, NON_NEGATIVE), "L1 weight penalty on every Dense kernel"),
                "l2": doc(Float(0.0, NON_NEGATIVE), "L2 weight penalty on every Dense kernel"),
                "input_noise": doc(
                    Float(0.0, NON_NEGATIVE),
                    "Gaussian noise added to the inputs while training (data augmentation "
                    "for points)",
                ),
                "batch_norm": doc(Bool(False), "batch normalization after each hidden Dense layer"),
            }
        ),
        "train": Section(
            {
                "loss": doc(
                    Nullable(Choice(None, LOSSES)),
                    "`binary_crossentropy` for two classes, `categorical_crossentropy` for "
                    "more; or `mse`, `hinge`, ...; regression: `mse` (default), `mae`, "
                    "`huber`, `log_cosh`, computed on the standardized target",
                    shown="from the task",
                ),
                "optimizer": doc(
                    Optimizer("adam"),
                    "`sgd`, `adagrad`, `adadelta`, `rmsprop`, `adam`, `adamw`, `adamax`, "
                    "`nadam`, `ftrl`, `lion`, or a mapping with `name` and its arguments "
                    "(`momentum`, `nesterov`, `rho`, `beta_1`, ...)",
                ),
                "learning_rate": doc(
                    Nullable(Float(None, POSITIVE)),
                    "0.01 for sgd, 0.001 for the others",
                    shown="Keras' default",
                ),
                "lr_schedule": doc(
                    LrSchedule(None),
                    "`{kind: exponential, rate: 0.96, every: 1}`, `{kind: step, rate: 0.5, "
                    "every: 10}` (every N epochs), `{kind: plateau, rate: 0.5, patience: 5, "
                    "min_lr: 0, monitor: val_loss}`",
                ),
                "epochs": doc(Int(100, min=1, max=MAX_EPOCHS), "most epochs to train"),
                "batch_size": doc(
                    BatchSize(32),
                    "`1` (stochastic), `n` (mini-batch) or `full` (batch gradient descent)",
                ),
                "metrics": doc(
                    Nullable(ListOf(Choice(None, METRICS), unique=True)),
                    "classification: `accuracy`, `f1`, `precision`, `recall`, `auc` "
                    "(precision and recall micro-averaged over classes, f1 macro); "
                    "regression: `mae`, `rmse`, `r2`, in the target's own units",
                    shown="`[accuracy]`; regression `[rmse, r2]`",
                ),
                "snapshots": doc(
                    Int(10, min=0, max=MAX_SNAPSHOTS),
                    "for 2D data, keep about this many frames of the decision boundary while "
                    "training (epochs 1, 2, 3, 5, 8, ... spaced geometrically, and the last "
                    "epoch run), each hidden unit's output over the plane and the final "
                    "weights, in `learning.npz`; `0`: none",
                ),
                "log_every": doc(
                    Choice("epoch", ("epoch", "batch")),
                    "`batch`: also keep every batch's loss (`learning.npz`), to see "
                    "stochastic, mini-batch and batch gradient descent side by side",
                ),
                "early_stopping": doc(
                    EarlyStopping(
                        {
                            "monitor": "val_loss",
                            "patience": 20,
                            "min_delta": 0.0,
                            "restore_best_weights": True,
                        }
                    ),
                    "`false`, `true`, or a mapping of Keras' EarlyStopping settings",
                    shown="on: `{monitor: val_loss, patience: 20, min_delta: 0, "
                    "restore_best_weights: true}`",
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
    "playground": 0.0,
    "csv": 0.0,
    **{kind: 0.0 for kind in BUNDLED},
}
DEFAULT_SAMPLES = 2000
CLASS_DEFAULTS = {"blobs": 3, "spiral": 2}
TALOS_DEFAULTS = {"first_neuron": 16, "hidden_layers": 1, "shape": "brick"}
DEFAULT_LAYERS = [16, 16]


def keys(section: Section = SCHEMA, prefix: str = ""):
    """Every leaf key of the schema, dotted, with its spec, in the schema's order."""
    for key, spec in section.fields.items():
        if isinstance(spec, Section):
            yield from keys(spec, prefix + key + ".")
        else:
            yield prefix + key, spec


def _shown(value: Any) -> str:
    if value is None:
        return "`null`"
    if isinstance(value, bool):
        return f"`{str(value).lower()}`"
    if isinstance(value, list):
        return "`[" + ", ".join(str(v) for v in value) + "]`"
    return f"`{value}`"


def key_table() -> str:
    """The manual's key table (Markdown): key, type, default, allowed values, meaning."""

    def cell(text: str) -> str:
        return text.replace("|", "\\|")

    lines = ["| key | type | default | allowed | meaning |", "|---|---|---|---|---|"]
    for key, spec in keys():
        default = spec.shown if spec.shown is not None else _shown(spec.default)
        lines.append(
            f"| `{key}` | {cell(spec.kind)} | {cell(default)} | {cell(spec.expected)} "
            f"| {cell(spec.meaning)} |"
        )
    return "\n".join(lines) + "\n"
