"""Splitting the points: train/validation/test (stratified where the classes allow),
and the folds of cross-validation (``data.cv``)."""

from __future__ import annotations

import numpy as np

from dlexp.core.errors import ConfigError


def split(x, y, size, seed, stratify: bool = True):
    """A stratified split when every class allows one, else (or for regression, where
    ``stratify`` is False) a plain one."""
    from sklearn.model_selection import train_test_split  # here: a CSV is checked first

    if not stratify:
        return train_test_split(x, y, test_size=size, random_state=seed)
    try:
        return train_test_split(x, y, test_size=size, random_state=seed, stratify=y)
    except ValueError:
        return train_test_split(x, y, test_size=size, random_state=seed)


def fold_indices(
    y: np.ndarray, folds: int, seed: int, stratify: bool = True
) -> list[tuple[np.ndarray, np.ndarray]]:
    """(train rows, validation rows) of each of ``folds`` folds of labels ``y``:
    stratified when every class has a member per fold (and ``stratify``: a regression's
    folds are plain), shuffled with ``seed``."""
    from sklearn.model_selection import KFold, StratifiedKFold

    if len(y) < folds:
        raise ConfigError(
            f"{folds} folds need at least {folds} training and validation samples, got {len(y)}",
            "data.cv.folds",
        )
    stratify = stratify and np.bincount(y).min(initial=len(y)) >= folds
    splitter = (StratifiedKFold if stratify else KFold)(folds, shuffle=True, random_state=seed)
    return [(np.sort(a), np.sort(b)) for a, b in splitter.split(np.zeros(len(y)), y)]
