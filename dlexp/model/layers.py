"""dlexp's own Keras layers that a saved model.keras may hold: importing this module
registers them, so ``keras.models.load_model`` reads the model back."""

from __future__ import annotations

import keras
from keras import ops

from dlexp.data import EXTRA_FEATURES


@keras.saving.register_keras_serializable(package="dlexp")
class PlaygroundFeatures(keras.layers.Layer):
    """TensorFlow Playground's inputs: the two coordinates, then the extra features
    named (``x1^2``, ``x2^2``, ``x1*x2``, ``sin(x1)``, ``sin(x2)``), computed inside
    the model so that it takes plain (x1, x2) points (``data.extra_features``)."""

    def __init__(self, names, **kwargs):
        super().__init__(**kwargs)
        unknown = [n for n in names if n not in EXTRA_FEATURES]
        if unknown:
            raise ValueError(f"unknown extra features {unknown}; known: {list(EXTRA_FEATURES)}")
        self.names = list(names)

    def call(self, x):
        x1, x2 = x[:, 0:1], x[:, 1:2]
        made = [EXTRA_FEATURES[n](x1, x2, ops.sin) for n in self.names]
        return ops.concatenate([x1, x2, *made], axis=1)

    def compute_output_shape(self, input_shape):
        return (input_shape[0], 2 + len(self.names))

    def get_config(self):
        return {**super().get_config(), "names": self.names}
