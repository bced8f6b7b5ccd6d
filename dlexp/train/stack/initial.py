"""A refilled stack's member before its Keras model is needed: the weights it starts
from (``models.initial_weights``, exactly ``models.build``'s) and, only when its run
folder keeps a model.keras, the Keras model itself.

A pruned search trains a thousand small members of which most are pruned, and a
pruned run keeps no model.keras: building each member's Keras model up front took a
fifth of such a search.
"""

from __future__ import annotations

import numpy as np

from dlexp.data import Dataset
from dlexp.model import build as models


class _Dense:
    """What the stack's program reads of one Dense layer: its weights."""

    def __init__(self, kernel: np.ndarray, bias: np.ndarray):
        self.weights = [kernel, bias]

    def get_weights(self) -> list[np.ndarray]:
        return list(self.weights)


class Initial:
    """A member's model as the stack needs it (``program`` reads ``dense``); ``keras()``
    builds the Keras model with the weights set last (``set_weights``)."""

    def __init__(self, cfg: dict, data: Dataset):
        self.cfg, self.data = cfg, data
        args = (data.n_features, data.n_outputs, data.standardize, data.target_scale)
        self.dense = [_Dense(k, b) for k, b in models.initial_weights(cfg, *args)]

    def count_params(self) -> int:
        """As the Keras model's count_params: its Dense layers' weights (the layers
        ``models.build`` puts around them hold none)."""
        return sum(w.size for layer in self.dense for w in layer.weights)

    def set_weights(self, weights: list[np.ndarray]) -> None:
        for i, layer in enumerate(self.dense):
            layer.weights = [np.asarray(weights[2 * i]), np.asarray(weights[2 * i + 1])]

    def dense_weights(self) -> list[np.ndarray]:
        """``learning.dense_weights``: the Dense kernels and biases in order."""
        return [w for layer in self.dense for w in layer.weights]

    def keras(self):
        """The Keras model ``models.build`` makes, with these weights."""
        from dlexp.train.fit import seed_everything

        seed_everything(self.cfg["seed"])  # its layers' seeds, as when it was first made
        d = self.data
        model = models.build(self.cfg, d.n_features, d.n_outputs, d.standardize, d.target_scale)
        model.set_weights(self.dense_weights())
        return model


def keras_model(model):
    """A member's Keras model (``Initial.keras()``, or the model it already is)."""
    return model.keras() if isinstance(model, Initial) else model
