"""Each stack member's callbacks, decided between epochs as Keras' own would decide them.

A run trained alone gets Keras' callbacks (``train.fit``): TerminateOnNaN, EarlyStopping,
ReduceLROnPlateau and the epochs of ``fit``. In a stack one compiled program trains
every member, so these decisions are made here, per member, from the epoch's logs: the
same numbers at the same epochs, so that a member stops, restores and lowers its
learning rate exactly when its run alone would.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from dlexp.runs.folder import direction


def improved(current: float, best: float | None, mode: str, min_delta: float) -> bool:
    """Keras' ``MonitorCallback._is_improvement`` (NaN is never an improvement); the
    first value always is (Keras' ``best`` starts at +-inf)."""
    if best is None:
        return True
    if mode == "min":
        return bool(current + min_delta < best)
    return bool(current - min_delta > best)


def diverged(loss: float) -> bool:
    """``keras.callbacks.TerminateOnNaN``: the loss is NaN or infinite, and the run
    stops (here at the end of the epoch in which it happened)."""
    return not math.isfinite(loss)


@dataclass
class EarlyStopping:
    """``keras.callbacks.EarlyStopping`` (mode auto, no baseline, from the first epoch):
    ``best`` is the best monitored value so far, ``wait`` the epochs since it."""

    monitor: str
    patience: int
    min_delta: float
    restore_best_weights: bool
    best: float | None = None
    wait: int = 0

    @classmethod
    def of(cls, cfg: dict) -> EarlyStopping | None:
        es = cfg["train"]["early_stopping"]
        if not es:
            return None
        return cls(es["monitor"], es["patience"], es["min_delta"], es["restore_best_weights"])

    def update(self, epoch: int, logs: dict) -> tuple[bool, bool]:
        """After 0-based ``epoch``: (whether these are the best weights so far, whether
        the run stops), as Keras' ``on_epoch_end`` decides."""
        self.wait += 1
        current = logs[self.monitor]
        if improved(current, self.best, direction(self.monitor), self.min_delta):
            self.best, self.wait = current, 0
            return True, False
        return False, self.wait >= self.patience and epoch > 0

    @property
    def restores(self) -> bool:
        """Whether the best weights replace the last ones at the end (Keras' ``on_train_end``
        restores them when it has seen a best epoch)."""
        return self.restore_best_weights and self.best is not None


@dataclass
class Plateau:
    """``keras.callbacks.ReduceLROnPlateau`` (min_delta 1e-4, no cooldown): ``best`` is the
    best monitored value so far, ``wait`` the epochs since it."""

    monitor: str
    patience: int
    factor: float
    min_lr: float
    best: float | None = None
    wait: int = 0

    @classmethod
    def of(cls, cfg: dict) -> Plateau | None:
        schedule = cfg["train"]["lr_schedule"]
        if not schedule or schedule["kind"] != "plateau":
            return None
        return cls(schedule["monitor"], schedule["patience"], schedule["rate"], schedule["min_lr"])

    def update(self, logs: dict, lr: float) -> float | None:
        """After an epoch with learning rate ``lr``: the new learning rate, or None."""
        current = logs[self.monitor]
        if improved(current, self.best, direction(self.monitor), 1e-4):
            self.best, self.wait = current, 0
            return None
        self.wait += 1
        if self.wait < self.patience or not lr > np.float32(self.min_lr):
            return None
        self.wait = 0
        return max(lr * self.factor, self.min_lr)
