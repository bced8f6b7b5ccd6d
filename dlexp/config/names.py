"""The names a config may give, as Keras spells them, and dlexp's limits.

A test keeps the activation, initializer, loss and optimizer tables in step with the
installed Keras (``tests/test_config.py``)."""

from __future__ import annotations

from dlexp.config.specs import BOOL, NON_NEGATIVE, POSITIVE, UNIT, UNIT_CLOSED_OPEN

# The scikit-learn datasets that ship with the package (no network), and their task.
BUNDLED = {
    "iris": "classification",
    "wine": "classification",
    "breast_cancer": "classification",
    "digits": "classification",
    "diabetes": "regression",
}
DATASETS = ("moons", "circles", "blobs", "xor", "spiral", "gauss", "playground", "csv", *BUNDLED)
TWO_CLASS_DATASETS = ("moons", "circles", "xor", "gauss")
# TensorFlow Playground's datasets (its src/dataset.ts), for data.kind: playground.
PLAYGROUND_CLASSIFICATION = ("circle", "xor", "gauss", "spiral")
PLAYGROUND_REGRESSION = ("reg-plane", "reg-gauss")
PLAYGROUND_DATASETS = PLAYGROUND_CLASSIFICATION + PLAYGROUND_REGRESSION
# Playground's counts: NUM_SAMPLES_CLASSIFY and NUM_SAMPLES_REGRESS in its src/playground.ts
PLAYGROUND_SAMPLES = {"classification": 500, "regression": 1200}
TASKS = ("auto", "classification", "regression")
SHAPES = ("brick", "funnel")
CLASSIFICATION_METRICS = ("accuracy", "f1", "precision", "recall", "auc")
REGRESSION_METRICS = ("mae", "rmse", "r2")
METRICS = CLASSIFICATION_METRICS + REGRESSION_METRICS
DEFAULT_METRICS = {"classification": ["accuracy"], "regression": ["rmse", "r2"]}
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
# Those that apply to a real-valued target (data.task: regression).
REGRESSION_LOSSES = (
    "mse", "mean_squared_error", "mae", "mean_absolute_error", "huber", "log_cosh",
)  # fmt: skip

_COMMON_OPTIMIZER_ARGS = {
    "weight_decay": NON_NEGATIVE,
    "clipnorm": POSITIVE,
    "clipvalue": POSITIVE,
    "global_clipnorm": POSITIVE,
    "use_ema": BOOL,
    "ema_momentum": UNIT_CLOSED_OPEN,
}
_ADAM_ARGS = {"beta_1": UNIT_CLOSED_OPEN, "beta_2": UNIT_CLOSED_OPEN, "epsilon": POSITIVE}
# Each optimizer: its Keras default learning rate and the arguments dlexp passes on.
OPTIMIZERS: dict[str, tuple[float, dict[str, tuple]]] = {
    "sgd": (0.01, {"momentum": UNIT_CLOSED_OPEN, "nesterov": BOOL}),
    "adagrad": (0.001, {"initial_accumulator_value": NON_NEGATIVE, "epsilon": POSITIVE}),
    "adadelta": (0.001, {"rho": UNIT, "epsilon": POSITIVE}),
    "rmsprop": (
        0.001,
        {"rho": UNIT, "momentum": UNIT_CLOSED_OPEN, "epsilon": POSITIVE, "centered": BOOL},
    ),
    "adam": (0.001, {**_ADAM_ARGS, "amsgrad": BOOL}),
    "adamw": (0.001, {**_ADAM_ARGS, "amsgrad": BOOL}),
    "adamax": (0.001, dict(_ADAM_ARGS)),
    "nadam": (0.001, dict(_ADAM_ARGS)),
    "ftrl": (0.001, {"learning_rate_power": ("a number <= 0", lambda v: v <= 0)}),
    "lion": (0.001, {"beta_1": UNIT_CLOSED_OPEN, "beta_2": UNIT_CLOSED_OPEN}),
}
for _args in OPTIMIZERS.values():
    _args[1].update(_COMMON_OPTIMIZER_ARGS)

MAX_SEED = 2**32 - 1  # NumPy's and Keras' seeds are 32-bit
MAX_EPOCHS = 100_000
MAX_FOLDS = 20
MAX_SNAPSHOTS = 100  # frames of the boundary kept while training (train.snapshots)
EXTRA_FEATURE_NAMES = (
    "x1^2", "x2^2", "x1*x2", "sin(x1)", "sin(x2)", "cos(x1)", "cos(x2)",
)  # fmt: skip  # data.EXTRA_FEATURES
