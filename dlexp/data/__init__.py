"""Datasets: the notebook's 2D toy problems, TensorFlow Playground's, and a user's CSV.

Plain NumPy and scikit-learn; no TensorFlow. Every generator is a pure function of
its settings and a seed, so the same config always gives the same points.

- :mod:`dlexp.data.dataset`: :class:`Dataset` and :func:`load` (generate or read, then split);
- :mod:`dlexp.data.generators`: moons, circles, blobs, xor, spiral, gauss;
- :mod:`dlexp.data.csv`: a user's CSV file;
- :mod:`dlexp.data.splits`: train/validation/test splits and cross-validation folds;
- :mod:`dlexp.data.features`: Playground's extra features (x1^2, sin(x1), ...).
"""

from dlexp.data.csv import MAX_CSV_BYTES, read_csv
from dlexp.data.dataset import Dataset, load
from dlexp.data.features import EXTRA_FEATURES, expand
from dlexp.data.generators import BYTES_PER_POINT, GENERATORS, check_fits
from dlexp.data.splits import fold_indices, split

__all__ = [
    "BYTES_PER_POINT",
    "EXTRA_FEATURES",
    "GENERATORS",
    "MAX_CSV_BYTES",
    "Dataset",
    "check_fits",
    "expand",
    "fold_indices",
    "load",
    "read_csv",
    "split",
]
