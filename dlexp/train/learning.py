"""A record of how a run learned, kept in its folder as ``learning.npz``.

For 2D data: the decision boundary at a few epochs (``train.snapshots`` frames, spaced
geometrically, since a network changes most early; the last epoch run is always one),
each hidden unit's output over the plane at the end, and every layer's weights at
the end. With ``train.log_every: batch``, the loss of every batch (any data).

``learning.npz`` holds::

    xs, ys                     the grid over the plane (the data's own units)
    snapshot_epochs            (k,) the epochs of the frames
    snapshot_proba             (k, len(ys), len(xs), units) uint8, the output
    hidden_1 .. hidden_L       (len(ys), len(xs), width) uint8, each unit's output
    kernel_1 .. kernel_L+1     each Dense layer's weights (the output layer last)
    bias_1 .. bias_L+1
    inputs                     the features the first layer takes (extra ones too)
    activation                 the hidden layers' activation
    batch_loss, batch_epoch    with log_every: batch

The planes (``snapshot_proba``, ``hidden_*``) are packed (``runs.folder.pack``): uint8
from each plane's own min to max, in ``snapshot_proba__range`` (2, k, 1, 1, units) and
``hidden_i__range`` (2, 1, 1, width); ``runs.folder.read_npz`` gives them back as
float32, and reads the float16 ones of runs from before too.

The report draws it without Keras (``plots``); here the frames are computed by
whatever predicts (Keras' model, or a stack's compiled program).
"""

from __future__ import annotations

import numpy as np

from dlexp.data import Dataset, expand
from dlexp.runs.folder import pack

RESOLUTION = 60  # a frame's grid: 60 x 60 points


def snapshot_epochs(epochs: int, frames: int) -> list[int]:
    """About ``frames`` epochs from 1 to ``epochs``, geometrically spaced (1, 2, 3, 5, 8,
    13, 22, 36, 60, 100 for 10 of 100)."""
    if frames <= 0 or epochs <= 0:
        return []
    if frames == 1:
        return [epochs]
    points = np.geomspace(1, epochs, frames)
    return sorted({int(round(p)) for p in points} | {epochs})


class Grid:
    """A grid over the plane of 2D data: its bounding box (every split) with a 10%
    margin, ``resolution`` points a side. The frames are drawn on one of 60 x 60, the
    final boundary (``writer.BoundaryGrid``) on one of 120 x 120."""

    def __init__(self, d: Dataset, resolution: int = RESOLUTION):
        allx = np.concatenate([x for x, _ in d.splits().values()])
        lo, hi = allx.min(axis=0), allx.max(axis=0)
        pad = 0.1 * np.maximum(hi - lo, 1e-6)
        self.xs = np.linspace(lo[0] - pad[0], hi[0] + pad[0], resolution, dtype=np.float32)
        self.ys = np.linspace(lo[1] - pad[1], hi[1] + pad[1], resolution, dtype=np.float32)
        gx, gy = np.meshgrid(self.xs, self.ys)
        self.points = np.stack([gx.ravel(), gy.ravel()], axis=1)

    def frame(self, proba) -> np.ndarray:
        """A plane of outputs, kept as float16 while the run trains (a stack holds every
        member's frames) and packed as uint8 when written (``Record.arrays``)."""
        proba = np.asarray(proba, np.float32)
        return proba.reshape(len(self.ys), len(self.xs), -1).astype(np.float16)


class Record:
    """What one run keeps of its learning while it trains."""

    def __init__(self, cfg: dict, d: Dataset):
        train = cfg["train"]
        self.grid = Grid(d) if d.n_features == 2 else None
        wanted = snapshot_epochs(train["epochs"], train.get("snapshots", 0))
        self.wanted = set(wanted) if self.grid is not None else set()
        self.frames: list[np.ndarray] = []
        self.frame_epochs: list[int] = []
        self.by_batch = train.get("log_every") == "batch"
        self.batch_loss: list[np.ndarray] = []
        self.batch_epoch: list[np.ndarray] = []
        self.data, self.cfg = d, cfg

    @property
    def active(self) -> bool:
        return bool(self.wanted) or self.by_batch

    def wants(self, epoch: int, last: bool) -> bool:
        """Whether epoch (1-based) is a frame: a wanted one, or the last epoch run."""
        if self.grid is None or not self.wanted:
            return False
        return (epoch in self.wanted or last) and epoch not in self.frame_epochs

    def add_frame(self, epoch: int, proba) -> None:
        self.frames.append(self.grid.frame(proba))
        self.frame_epochs.append(epoch)

    def add_batches(self, epoch: int, losses) -> None:
        losses = np.asarray(losses, np.float32).ravel()
        self.batch_loss.append(losses)
        self.batch_epoch.append(np.full(len(losses), epoch, np.int32))

    def arrays(self, weights: list[np.ndarray] | None) -> dict[str, np.ndarray]:
        """learning.npz's arrays, given the final weights (the Dense layers' kernels and
        biases in order, the output layer last; None: no weights)."""
        out: dict[str, np.ndarray] = {}
        if self.grid is not None and self.wanted:
            out["xs"], out["ys"] = self.grid.xs, self.grid.ys
            if self.frames:
                out["snapshot_epochs"] = np.asarray(self.frame_epochs, np.int32)
                out.update(pack("snapshot_proba", np.stack(self.frames), (1, 2)))
        if self.batch_loss:
            out["batch_loss"] = np.concatenate(self.batch_loss)
            out["batch_epoch"] = np.concatenate(self.batch_epoch)
        if weights is not None and self.grid is not None and self.wanted:
            kernels, biases = weights[0::2], weights[1::2]
            for i, (k, b) in enumerate(zip(kernels, biases, strict=True), start=1):
                out[f"kernel_{i}"] = np.asarray(k, np.float32)
                out[f"bias_{i}"] = np.asarray(b, np.float32)
            activation = self.cfg["model"]["activation"]
            for i, h in enumerate(hidden_outputs(self, kernels[:-1], biases[:-1]), start=1):
                out.update(pack(f"hidden_{i}", h, (0, 1)))
            out["activation"] = np.array(activation)
            extra = self.data.extra_features
            out["inputs"] = np.array([*self.data.feature_names, *extra])
        return out


def hidden_outputs(record: Record, kernels, biases) -> list[np.ndarray]:
    """Each hidden unit's output over the grid, computed from the final weights as the
    model computes it (extra features, standardization, Dense, Keras' activation;
    dropout and input noise are off at inference)."""
    import keras

    h = expand(record.grid.points, record.data.extra_features).astype(np.float32)
    if record.data.standardize is not None:
        mean, variance = record.data.standardize
        h = (h - mean) / np.maximum(np.sqrt(variance), keras.backend.epsilon())
    act = keras.activations.get(record.cfg["model"]["activation"])
    out = []
    for k, b in zip(kernels, biases, strict=True):
        h = np.asarray(keras.ops.convert_to_numpy(act(h @ k + b)), np.float32)
        out.append(record.grid.frame(h))
    return out


def dense_weights(model) -> list[np.ndarray] | None:
    """A model's Dense kernels and biases in order (None for batch normalization, whose
    hidden outputs these weights alone do not give)."""
    import keras

    if hasattr(model, "dense_weights"):  # a stack member's ``initial.Initial``
        return model.dense_weights()
    if any(isinstance(layer, keras.layers.BatchNormalization) for layer in model.layers):
        return None
    out = []
    for layer in model.layers:
        if isinstance(layer, keras.layers.Dense):
            out += [np.asarray(w) for w in layer.get_weights()]
    return out
