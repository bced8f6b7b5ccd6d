"""The small real datasets scikit-learn ships with the package (``sklearn.datasets``'
``load_*``, read from its own files: no network): iris, wine, breast cancer, digits
(classification) and diabetes (regression), with their own feature and class names."""

from __future__ import annotations

import numpy as np

LOADERS = {
    "iris": "load_iris",
    "wine": "load_wine",
    "breast_cancer": "load_breast_cancer",
    "digits": "load_digits",
    "diabetes": "load_diabetes",
}
TARGETS = {"diabetes": "progression"}  # the regression target's name (sklearn: "target")


def load(kind: str):
    """(x, y, feature_names, class_names, target_names) of a bundled dataset: for
    classification y as class codes and class_names sklearn's target_names; for
    regression y as float rows and target_names the target's name."""
    from sklearn import datasets as skd

    bunch = getattr(skd, LOADERS[kind])()
    x = np.asarray(bunch.data, np.float64)
    names = [str(n) for n in getattr(bunch, "feature_names", [])] or [
        f"x{i + 1}" for i in range(x.shape[1])
    ]
    if kind in TARGETS:
        y = np.asarray(bunch.target, np.float32).reshape(-1, 1)
        return x, y, names, [], [TARGETS[kind]]
    y = np.asarray(bunch.target, np.int64)
    classes = [str(c) for c in bunch.target_names]
    return x, y, names, classes, ["class"]
