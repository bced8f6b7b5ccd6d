"""TensorFlow Playground's datasets, made as its ``src/dataset.ts`` makes them: the same
ranges, labels and noise, drawn from NumPy's generator (``rng``) instead of the page's
``Math.random``, so the same seed gives the same points here (not the page's points).

Playground's noise slider, 0 to 50, is ``noise`` 0 to 0.5 here: ``data.noise: 0.15`` is
the slider at 15. Classification labels are Playground's -1 and 1 (classes ``-1``,
``1``: 0 and 1 here, in that order); regression labels are numbers in [-1, 1].
"""

from __future__ import annotations

import numpy as np


def _uniform(rng, a, b, n):
    return rng.uniform(a, b, size=n)


def circle(n, noise, rng):
    """Inside radius 2.5 (label 1) and a ring from 3.5 to 5 (label -1); a point's label
    is that of its noisy position, so noise flips labels near the edge."""
    radius, half = 5.0, n // 2
    parts = []
    for lo, hi, count in ((0.0, radius * 0.5, half), (radius * 0.7, radius, n - half)):
        r = _uniform(rng, lo, hi, count)
        angle = _uniform(rng, 0, 2 * np.pi, count)
        x, y = r * np.sin(angle), r * np.cos(angle)
        nx = _uniform(rng, -radius, radius, count) * noise
        ny = _uniform(rng, -radius, radius, count) * noise
        inside = np.hypot(x + nx, y + ny) < radius * 0.5
        parts.append((np.stack([x, y], axis=1), inside.astype(int)))
    return np.concatenate([p[0] for p in parts]), np.concatenate([p[1] for p in parts])


def xor(n, noise, rng):
    """Points in [-5, 5]^2 pushed 0.3 away from the axes; label 1 where x*y >= 0 (of the
    noisy position)."""
    x, y = _uniform(rng, -5, 5, n), _uniform(rng, -5, 5, n)
    x, y = x + np.where(x > 0, 0.3, -0.3), y + np.where(y > 0, 0.3, -0.3)
    nx, ny = _uniform(rng, -5, 5, n) * noise, _uniform(rng, -5, 5, n) * noise
    label = ((x + nx) * (y + ny) >= 0).astype(int)
    return np.stack([x, y], axis=1), label


def gauss(n, noise, rng):
    """Two Gaussian clouds at (2, 2) (label 1) and (-2, -2) (label -1), their variance
    0.5 at no noise to 4 at noise 0.5."""
    variance = 0.5 + (4 - 0.5) * noise / 0.5
    half = n // 2
    centers = np.concatenate([np.full(half, 2.0), np.full(n - half, -2.0)])
    x = centers[:, None] + np.sqrt(variance) * rng.standard_normal((n, 2))
    return x, (centers > 0).astype(int)


def spiral(n, noise, rng):
    """Two arms, 1.75 turns each, radius 0 to 5, the second turned by pi (label -1)."""
    half = n // 2
    xs, ys = [], []
    for delta, label, count in ((0.0, 1, half), (np.pi, 0, n - half)):
        i = np.arange(count)
        r = i / count * 5
        t = 1.75 * i / count * 2 * np.pi + delta
        x = r * np.sin(t) + _uniform(rng, -1, 1, count) * noise
        y = r * np.cos(t) + _uniform(rng, -1, 1, count) * noise
        xs.append(np.stack([x, y], axis=1))
        ys.append(np.full(count, label))
    return np.concatenate(xs), np.concatenate(ys)


def _noisy(n, noise, rng):
    """Points in [-6, 6]^2, and the noisy positions their labels are computed at."""
    x, y = _uniform(rng, -6, 6, n), _uniform(rng, -6, 6, n)
    nx, ny = _uniform(rng, -6, 6, n) * noise, _uniform(rng, -6, 6, n) * noise
    return np.stack([x, y], axis=1), x + nx, y + ny


def reg_plane(n, noise, rng):
    """The plane label = (x + y) / 10 over [-6, 6]^2 (so in [-1.2, 1.2])."""
    points, x, y = _noisy(n, noise, rng)
    return points, (x + y) / 10


GAUSSIANS = ((-4, 2.5, 1), (0, 2.5, -1), (4, 2.5, 1), (-4, -2.5, -1), (0, -2.5, 1), (4, -2.5, -1))


def reg_gauss(n, noise, rng):
    """Six bumps of height 1 or -1 on a 3 x 2 lattice, each falling linearly to 0 at a
    distance of 2; a point's label is the bump of largest magnitude."""
    points, x, y = _noisy(n, noise, rng)
    label = np.zeros(n)
    for cx, cy, sign in GAUSSIANS:
        value = sign * np.clip(1 - np.hypot(x - cx, y - cy) / 2, 0, 1)
        label = np.where(np.abs(value) > np.abs(label), value, label)
    return points, label


DATASETS = {
    "circle": circle,
    "xor": xor,
    "gauss": gauss,
    "spiral": spiral,
    "reg-plane": reg_plane,
    "reg-gauss": reg_gauss,
}
CLASS_NAMES = ["-1", "1"]  # Playground's labels, as classes 0 and 1


def generate(dataset: str, n: int, noise: float, rng) -> tuple[np.ndarray, np.ndarray]:
    """``n`` points of Playground's ``dataset`` (its name, e.g. ``reg-gauss``)."""
    x, y = DATASETS[dataset](n, noise, rng)
    return np.asarray(x, np.float64), np.asarray(y)
