"""dlexp: run, repeat and compare small deep-learning experiments with Keras.

The Python API (for notebooks and scripts), loaded on first use so that
``import dlexp`` stays light (no Keras, no pandas):

- :func:`train` a config (a file or a dict) into a :class:`Run`;
- :func:`search` a grid into a :class:`Search`;
- :func:`load` a run folder (a :class:`Run`), a search folder (a :class:`Search`) or a
  runs folder (:class:`Runs`);
- :func:`compare` two configs on paired seeds (a :class:`ComparisonResult`);
- :mod:`explain`: the worked backpropagation example, activations, optimizers;
- :class:`ConfigError`: a user's mistake (a ``ValueError`` with the key path as ``.path``).
"""

from __future__ import annotations

import importlib

from dlexp import backend as _backend
from dlexp.core.errors import ConfigError

__version__ = "0.1.0"

# Environment defaults only (KERAS_BACKEND=jax unless the user set it, quiet TensorFlow
# and gRPC): they must be set before the first `import keras`, and any dlexp module may
# be the one that imports it. Nothing is imported; ``backend.setup()`` does the rest,
# explicitly, where dlexp trains or loads a model.
_backend.defaults()

# The API's functions and classes (dlexp.api; light: no Keras, no pandas until used).
# ``train`` and ``search`` share their names with the subpackages dlexp/train/ and
# dlexp/search/: those are imported first (their __init__s import nothing), so that
# Python binds the names once, here, to functions that also give the subpackages'
# attributes (``dlexp.train.fit``; see dlexp.core.package_function).
import dlexp.search  # noqa: E402, F401 - bound before the function of the same name
import dlexp.train  # noqa: E402, F401
from dlexp.api import functions as _functions  # noqa: E402
from dlexp.api.collection import Runs  # noqa: E402
from dlexp.api.compare import ComparisonResult  # noqa: E402
from dlexp.api.run import Run  # noqa: E402
from dlexp.api.search import Search  # noqa: E402
from dlexp.core.package_function import PackageFunction as _PackageFunction  # noqa: E402

train = _PackageFunction(_functions.train, "dlexp.train")
search = _PackageFunction(_functions.search, "dlexp.search")
load = _functions.load
compare = _functions.compare

__all__ = [
    "ComparisonResult",
    "ConfigError",
    "Run",
    "Runs",
    "Search",
    "__version__",
    "compare",
    "explain",
    "load",
    "search",
    "train",
]


def __getattr__(name: str):
    if name == "explain":  # dlexp.explain.backprop(...) and friends, on first use
        return importlib.import_module("dlexp.explain")
    raise AttributeError(f"module 'dlexp' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
