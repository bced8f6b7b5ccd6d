"""The generated datasets: the notebook's 2D toy problems (moons, circles, blobs) and
TensorFlow Playground's (xor, spiral, gauss).

Each generator is a pure function of its settings and a seed (``rng``), so the same
config always gives the same points: ``GENERATORS[kind](n, noise, rng, data_cfg)``
returns ``(x, y)``.
"""

from __future__ import annotations

import numpy as np

from dlexp.core.errors import ConfigError

BYTES_PER_POINT = 120  # a generated 2D point's share of the arrays made before training


def _moons(n, noise, rng, cfg):
    from sklearn import datasets as skd

    return skd.make_moons(n, noise=noise, random_state=rng)


def _circles(n, noise, rng, cfg):
    from sklearn import datasets as skd

    return skd.make_circles(n, noise=noise, factor=cfg["factor"], random_state=rng)


def _blobs(n, noise, rng, cfg):
    k = cfg["classes"]
    angles = 2 * np.pi * np.arange(k) / k
    centers = 2.0 * np.stack([np.cos(angles), np.sin(angles)], axis=1)
    from sklearn import datasets as skd

    return skd.make_blobs(n, centers=centers, cluster_std=max(noise, 1e-6), random_state=rng)


def _xor(n, noise, rng, cfg):
    x = rng.uniform(-1, 1, size=(n, 2))
    y = (x[:, 0] * x[:, 1] > 0).astype(int)
    return x + rng.normal(0, noise, size=x.shape), y


def _spiral(n, noise, rng, cfg):
    """k interleaved arms, 1.5 turns each, radius 0..1."""
    k = cfg["classes"]
    y = np.arange(n) % k
    t = rng.uniform(0.05, 1.0, size=n)
    theta = 3 * np.pi * t + 2 * np.pi * y / k
    x = np.stack([t * np.cos(theta), t * np.sin(theta)], axis=1)
    return x + rng.normal(0, noise, size=x.shape), y


def _gauss(n, noise, rng, cfg):
    """Two Gaussian clouds at (-1, -1) and (1, 1), as in TensorFlow Playground."""
    y = np.arange(n) % 2
    centers = np.where(y[:, None] == 1, 1.0, -1.0)
    return centers + rng.normal(0, noise, size=(n, 2)), y


GENERATORS = {
    "moons": _moons,
    "circles": _circles,
    "blobs": _blobs,
    "xor": _xor,
    "spiral": _spiral,
    "gauss": _gauss,
}


def check_fits(n_samples: int) -> None:
    """Refuse a dataset whose arrays would not fit in a quarter of the memory available,
    before any is made."""
    from dlexp.core.limits import budget, memory_available

    if n_samples * BYTES_PER_POINT > budget():
        raise ConfigError(
            f"{n_samples:,} points need about {n_samples * BYTES_PER_POINT / 2**30:.1f} GiB; "
            f"at most {budget() // BYTES_PER_POINT:,} fit in a quarter of the "
            f"{memory_available() / 2**30:.1f} GiB available",
            "data.n_samples",
        )
