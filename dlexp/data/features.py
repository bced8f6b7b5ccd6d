"""TensorFlow Playground's extra input features (x1^2, x1*x2, sin(x1), ...), made from
the two coordinates."""

from __future__ import annotations

import numpy as np

# TensorFlow Playground's inputs, from the two coordinates: each a function of x1, x2
# and a module with sin and cos (NumPy here, keras.ops in the model's layer,
# dlexp.model.layers), so that both make them from one definition.
EXTRA_FEATURES = {
    "x1^2": lambda x1, x2, m: x1 * x1,
    "x2^2": lambda x1, x2, m: x2 * x2,
    "x1*x2": lambda x1, x2, m: x1 * x2,
    "sin(x1)": lambda x1, x2, m: m.sin(x1),
    "sin(x2)": lambda x1, x2, m: m.sin(x2),
    "cos(x1)": lambda x1, x2, m: m.cos(x1),
    "cos(x2)": lambda x1, x2, m: m.cos(x2),
}


def expand(x: np.ndarray, names: list[str]) -> np.ndarray:
    """The points with the extra features appended (what the model's first layer makes)."""
    if not names:
        return x
    x1, x2 = x[:, 0:1], x[:, 1:2]
    return np.concatenate([x, *(EXTRA_FEATURES[n](x1, x2, np) for n in names)], axis=1)
