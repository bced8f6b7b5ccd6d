"""Keras models from a config: the hidden widths, the output layer, and compile().

``hidden_widths`` and ``output_layout`` are plain Python, so they are tested and
used (by ``dlexp search --dry-run``, by reports) without importing Keras.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from dlexp.config import optimizer_name
from dlexp.runs.folder import slug


def hidden_widths(model_cfg: dict, out_units: int = 1) -> list[int]:
    """The widths of the hidden Dense layers.

    Either ``layers`` as given, or Talos' ``first_neuron`` + ``hidden_layers`` extra
    layers shaped as a ``brick`` (all as wide as the first) or a ``funnel`` (shrinking
    in equal steps toward the output width, as Talos' ``network_shape`` does).
    """
    if model_cfg.get("layers") is not None:
        return list(model_cfg["layers"])
    first, extra = model_cfg["first_neuron"], model_cfg["hidden_layers"]
    if model_cfg["shape"] == "funnel" and extra > 0:
        step = (first - out_units) // extra
        rest = [max(first - step * (i + 1), out_units, 1) for i in range(extra)]
    else:
        rest = [first] * extra
    return [first, *rest]


@dataclass(frozen=True)
class OutputLayout:
    """How labels meet the network: one sigmoid unit, one unit per class, or (for
    regression) one linear unit per target."""

    units: int
    activation: str
    loss: str
    onehot: bool
    regression: bool = False
    # regression: the training split's (mean, std) per target, as tuples of floats
    scale: tuple[tuple[float, ...], tuple[float, ...]] | None = None

    def targets(self, y: np.ndarray) -> np.ndarray:
        """Labels encoded for this layout (float32, as Keras' metrics want): one-hot
        classes, a column of 0/1, or the regression targets as they are."""
        if self.onehot:
            return np.eye(self.units, dtype=np.float32)[y]
        return y.astype(np.float32).reshape(-1, self.units if self.regression else 1)

    @property
    def scaling(self) -> tuple[tuple[float, ...], tuple[float, ...]]:
        """A regression's (mean, std) per target: the training split's, else 0 and 1."""
        return self.scale or ((0.0,) * self.units, (1.0,) * self.units)

    def loss_object(self):
        """The loss compile() takes: its name, or for regression the loss on the
        standardized target (``StandardizedLoss``)."""
        if not self.regression:
            return self.loss
        from dlexp.model.layers import StandardizedLoss

        return StandardizedLoss(self.loss, *self.scaling, name="loss")


def output_layout(cfg: dict, n_classes: int, scale=None) -> OutputLayout:
    """The output layer and loss for a config and a number of classes (for
    regression: of targets, with ``scale``, the training split's (mean, std)).

    Two classes get one sigmoid unit and binary cross-entropy; more classes, or a
    categorical loss, get one softmax unit per class and categorical cross-entropy;
    regression one linear unit per target and the mean squared error.
    """
    loss = cfg["train"]["loss"]
    if cfg["data"].get("task") == "regression":
        return OutputLayout(
            units=n_classes,
            activation=cfg["model"]["output_activation"] or "linear",
            loss=loss or "mse",
            onehot=False,
            regression=True,
            scale=None if scale is None else tuple(tuple(float(v) for v in a) for a in scale),
        )
    onehot = n_classes > 2 or (loss is not None and loss.startswith("categorical"))
    units = n_classes if onehot else 1
    default_loss = "categorical_crossentropy" if onehot else "binary_crossentropy"
    default_activation = "softmax" if onehot else "sigmoid"
    return OutputLayout(
        units=units,
        activation=cfg["model"]["output_activation"] or default_activation,
        loss=loss or default_loss,
        onehot=onehot,
    )


def count_params(widths: list[int], n_features: int, out_units: int, batch_norm: bool = False):
    """Parameters of the Dense stack (what model.count_params() reports), without Keras."""
    total, fan_in = 0, n_features
    for w in widths:
        total += fan_in * w + w + (4 * w if batch_norm else 0)
        fan_in = w
    return total + fan_in * out_units + out_units


def check_fits(cfg: dict, n_features: int, n_classes: int, rows: int) -> None:
    """Refuse a network whose weights (with the optimizer's slots) and activations on
    ``rows`` rows would not fit in a quarter of the memory available, before Keras
    builds it."""
    from dlexp.core.errors import ConfigError
    from dlexp.core.limits import budget, memory_available

    layout = output_layout(cfg, n_classes)
    widths = hidden_widths(cfg["model"], layout.units)
    params = count_params(widths, n_features, layout.units, cfg["model"]["batch_norm"])
    need = 4 * (6 * params + 3 * rows * (sum(widths) + n_features + layout.units))
    if need > budget():
        raise ConfigError(
            f"{params:,} parameters and their activations need about {need / 2**30:.1f} GiB; "
            f"a quarter of the {memory_available() / 2**30:.1f} GiB available is "
            f"{budget() / 2**30:.1f} GiB (narrower layers fit)",
            "model.layers" if cfg["model"]["layers"] is not None else "model.first_neuron",
        )


def refused(exc: Exception):
    """A Keras error about a config (ValueError, TypeError) as the user's mistake (a
    ConfigError, itself a ValueError, as it came)."""
    from dlexp.core.errors import ConfigError

    if isinstance(exc, ConfigError):
        return exc
    return ConfigError(f"Keras refused this config: {exc}", "model")


def build(cfg: dict, n_features: int, n_classes: int, standardize=None, target_scale=None):
    """The uncompiled keras.Sequential a config describes.

    Args:
        n_classes: the classes, or for regression the targets.
        standardize: (mean, variance) per feature of the training split, for
            ``data.standardize``: the model's first layer (Keras' Normalization) scales
            its inputs, so the saved model takes raw points.
        target_scale: regression: (mean, std) per target of the training split; the
            model's last layer (``TargetScale``) puts its output into the target's
            units, so the saved model predicts in them.
    """
    import keras

    layers = _layers(cfg, n_features, n_classes, standardize, target_scale)
    return keras.Sequential(layers, name=slug(cfg.get("name") or "dlexp"))


def initial_weights(cfg: dict, n_features: int, n_classes: int, standardize=None,
                    target_scale=None) -> list[tuple]:  # fmt: skip
    """The weights ``build`` gives the model, as [(kernel, bias), ...] per Dense layer,
    without building a Keras model (a tenth of the time): the same layers are made in
    the same order, so their initializers draw the same seeds from Python's generator
    (``train.fit.seed_everything`` first, as before ``build``), and each kernel is its
    initializer's draw for its shape. Batch normalization is not covered (it trains
    alone, through ``build``)."""
    import keras
    import numpy as np

    width = n_features
    out = []
    for layer in _layers(cfg, n_features, n_classes, standardize, target_scale)[1:]:
        if isinstance(layer, keras.layers.Dense):
            kernel = layer.kernel_initializer((width, layer.units), dtype="float32")
            bias = layer.bias_initializer((layer.units,), dtype="float32")
            out.append((np.asarray(kernel), np.asarray(bias)))
            width = layer.units
        elif hasattr(layer, "names"):  # PlaygroundFeatures: x1, x2 and the extra features
            width = 2 + len(layer.names)
    return out


def _layers(cfg: dict, n_features: int, n_classes: int, standardize, target_scale) -> list:
    """The layers of ``build``'s model, in order, made in that order."""
    import keras

    m = cfg["model"]
    layout = output_layout(cfg, n_classes, target_scale)
    regularizer = keras.regularizers.L1L2(l1=m["l1"], l2=m["l2"]) if m["l1"] or m["l2"] else None
    dense = dict(kernel_initializer=m["kernel_initializer"], kernel_regularizer=regularizer)
    layers: list = [keras.Input(shape=(n_features,), name="features")]
    if cfg["data"].get("extra_features"):
        from dlexp.model.layers import PlaygroundFeatures

        layers.append(PlaygroundFeatures(cfg["data"]["extra_features"], name="features_extra"))
    if standardize is not None:
        mean, variance = standardize
        layers.append(keras.layers.Normalization(mean=mean, variance=variance, name="standardize"))
    if m["input_noise"] > 0:
        layers.append(keras.layers.GaussianNoise(m["input_noise"], name="input_noise"))
    for i, width in enumerate(hidden_widths(m, layout.units), start=1):
        if m["batch_norm"]:
            layers += [
                keras.layers.Dense(width, name=f"dense_{i}", **dense),
                keras.layers.BatchNormalization(name=f"batch_norm_{i}"),
                keras.layers.Activation(m["activation"], name=f"{m['activation']}_{i}"),
            ]
        else:
            layers.append(
                keras.layers.Dense(width, activation=m["activation"], name=f"dense_{i}", **dense)
            )
        if m["dropout"] > 0:
            layers.append(keras.layers.Dropout(m["dropout"], name=f"dropout_{i}"))
    layers.append(
        keras.layers.Dense(layout.units, activation=layout.activation, name="output", **dense)
    )
    if layout.regression:
        from dlexp.model.layers import TargetScale

        layers.append(TargetScale(*layout.scaling, name="target_scale"))
    return layers


def make_metrics(names: list[str], layout: OutputLayout) -> list:
    """Keras metric objects named as the config names them (so logs say val_f1, not ...)."""
    import keras

    k = keras.metrics
    make = {
        "accuracy": lambda: (
            k.CategoricalAccuracy(name="accuracy")
            if layout.onehot
            else k.BinaryAccuracy(name="accuracy")
        ),
        "f1": lambda: k.F1Score(
            average="macro", threshold=None if layout.onehot else 0.5, name="f1"
        ),
        "precision": lambda: k.Precision(name="precision"),
        "recall": lambda: k.Recall(name="recall"),
        "auc": lambda: k.AUC(name="auc"),
        # regression, in the target's own units (the model predicts in them)
        "mae": lambda: k.MeanAbsoluteError(name="mae"),
        "rmse": lambda: k.RootMeanSquaredError(name="rmse"),
        "r2": lambda: k.R2Score(name="r2"),
    }
    return [make[n]() for n in names]


def make_optimizer(train_cfg: dict, steps_per_epoch: int):
    """The Keras optimizer, with an exponential or step learning-rate schedule if asked."""
    import keras

    opt = train_cfg["optimizer"]
    args = {} if isinstance(opt, str) else {k: v for k, v in opt.items() if k != "name"}
    lr = train_cfg["learning_rate"]
    schedule = train_cfg["lr_schedule"]
    if schedule and schedule["kind"] in ("exponential", "step"):
        lr = keras.optimizers.schedules.ExponentialDecay(
            lr,
            decay_steps=schedule["every"] * steps_per_epoch,
            decay_rate=schedule["rate"],
            staircase=schedule["kind"] == "step",
        )
    cls = type(keras.optimizers.get(optimizer_name(opt)))
    return cls(learning_rate=lr, **args)


def compile_model(model, cfg: dict, layout: OutputLayout, steps_per_epoch: int) -> None:
    """Compile with the config's loss, optimizer and metrics.

    ``steps_per_execution`` is one epoch: Keras then calls back once per epoch instead
    of once per batch, which changes no number and saves about a third of the time.
    """
    model.compile(
        optimizer=make_optimizer(cfg["train"], steps_per_epoch),
        loss=layout.loss_object(),
        metrics=make_metrics(cfg["train"]["metrics"], layout),
        steps_per_execution=steps_per_epoch,
    )
