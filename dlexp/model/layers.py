"""dlexp's own Keras layers that a saved model.keras may hold: importing this module
registers them, so ``keras.models.load_model`` reads the model back."""

from __future__ import annotations

import keras
from keras import ops

from dlexp.data import EXTRA_FEATURES


@keras.saving.register_keras_serializable(package="dlexp")
class PlaygroundFeatures(keras.layers.Layer):
    """TensorFlow Playground's inputs: the two coordinates, then the extra features
    named (``x1^2``, ``x2^2``, ``x1*x2``, ``sin(x1)``, ``cos(x2)``, ...), computed inside
    the model so that it takes plain (x1, x2) points (``data.extra_features``)."""

    def __init__(self, names, **kwargs):
        super().__init__(**kwargs)
        unknown = [n for n in names if n not in EXTRA_FEATURES]
        if unknown:
            raise ValueError(f"unknown extra features {unknown}; known: {list(EXTRA_FEATURES)}")
        self.names = list(names)

    def call(self, x):
        x1, x2 = x[:, 0:1], x[:, 1:2]
        made = [EXTRA_FEATURES[n](x1, x2, ops) for n in self.names]
        return ops.concatenate([x1, x2, *made], axis=1)

    def compute_output_shape(self, input_shape):
        return (input_shape[0], 2 + len(self.names))

    def get_config(self):
        return {**super().get_config(), "names": self.names}


@keras.saving.register_keras_serializable(package="dlexp")
class TargetScale(keras.layers.Layer):
    """A regression model's last layer: its output unit(s) in standardized units, put
    back into the target's own (``z * std + mean``, the training split's mean and
    standard deviation per output), so that model.keras predicts in the data's units."""

    def __init__(self, mean, std, **kwargs):
        super().__init__(**kwargs)
        self.mean = [float(v) for v in mean]
        self.std = [float(v) for v in std]

    def call(self, z):
        return z * ops.convert_to_tensor(self.std, z.dtype) + ops.convert_to_tensor(
            self.mean, z.dtype
        )

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self):
        return {**super().get_config(), "mean": self.mean, "std": self.std}


@keras.saving.register_keras_serializable(package="dlexp")
class StandardizedLoss(keras.losses.Loss):
    """A regression loss (``mse``, ``mae``, ``huber``, ...) computed in standardized
    units: both the target and the prediction (in the data's units) are scaled by the
    training split's mean and standard deviation first, so that the gradient does not
    depend on the target's units (a target in the hundreds trains as one near 1)."""

    def __init__(
        self, base="mse", mean=(0.0,), std=(1.0,), name=None, reduction="sum_over_batch_size"
    ):
        super().__init__(name=name or base, reduction=reduction)
        self.base = base
        self.mean = [float(v) for v in mean]
        self.std = [float(v) for v in std]
        self._fn = keras.losses.get(base)

    def call(self, y_true, y_pred):
        mean = ops.convert_to_tensor(self.mean, y_pred.dtype)
        std = ops.convert_to_tensor(self.std, y_pred.dtype)
        y_true = ops.cast(y_true, y_pred.dtype)
        return self._fn((y_true - mean) / std, (y_pred - mean) / std)

    def get_config(self):
        return {
            "base": self.base,
            "mean": self.mean,
            "std": self.std,
            "name": self.name,
            "reduction": self.reduction,
        }
