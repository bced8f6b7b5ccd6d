"""dlexp and Keras: the environment Keras starts in, and every private Keras name dlexp uses.

Two steps, both idempotent and both explicit:

- ``defaults()`` sets environment defaults that Keras, TensorFlow and gRPC read once, when
  they are first imported. It imports nothing, so ``dlexp/__init__.py`` calls it: any
  dlexp module may be the first to ``import keras`` (the models, the stack's layers, a
  test or a user's script importing them), and only the package's ``__init__`` is sure
  to run before all of them. It only sets defaults: a user's own value wins.
- ``setup()`` is everything else dlexp does to Keras before it trains or loads a model:
  it imports Keras (and on JAX, jax), keeps TensorFlow out of the process on other
  backends, and turns on JAX's compilation cache. Training (``train.fit.seed_everything``,
  which both one run and a stack call first) and loading a model (``use.predict``) call
  it; the command line calls it only where it uses Keras, so ``--help`` and the report
  never import Keras.

Private names (each may move in any Keras release, which is why ``pyproject.toml`` pins
Keras below its next minor version; this module is the only one that may use them):

- ``keras.src.utils.module_utils.tensorflow``: the lazy module through which Keras asks
  whether TensorFlow is installed, and its ``module`` and ``_available`` attributes
  (``_skip_tensorflow_on_other_backends``).
"""

from __future__ import annotations

import os
from pathlib import Path

_READY = [False]


def defaults() -> None:
    """Environment defaults, before anything imports Keras; imports nothing."""
    # Keras reads KERAS_BACKEND once, at its first import. dlexp defaults to JAX, which
    # trains these small networks about three times faster than TensorFlow on a CPU
    # (docs/performance.md); a user's own KERAS_BACKEND wins.
    os.environ.setdefault("KERAS_BACKEND", "jax")
    # TensorFlow (when it is the backend) and XLA log chatter on import; keep it quiet.
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    # gRPC's C core logs a port it cannot bind on stderr; dlexp says it in one line.
    os.environ.setdefault("GRPC_VERBOSITY", "NONE")


def setup() -> None:
    """Keras as dlexp trains with it: the environment defaults, then Keras imported with
    TensorFlow kept out on other backends and JAX's compilation cache on. Call it before
    training or loading a model; once per process does the work, later calls return."""
    defaults()
    if _READY[0]:
        return
    import keras

    _skip_tensorflow_on_other_backends(keras)
    _enable_compilation_cache(keras)
    _READY[0] = True


def _skip_tensorflow_on_other_backends(keras) -> None:
    """On JAX, let Keras behave as it does where TensorFlow is not installed.

    Keras checks ``module_utils.tensorflow.available`` in set_random_seed and in model
    serialisation, which imports all of TensorFlow (3.5 s) only to seed tf.data or to
    recognise tf.TensorShape, neither of which dlexp uses. That check is one shared
    lazy module; answering "not available" for it keeps TensorFlow out of the process.

    Private: ``keras.src.utils.module_utils`` (no public module exposes the lazy
    module), its ``module`` (None until something imported TensorFlow through it) and
    its ``_available`` (the cached answer ``available`` returns).
    """
    if keras.backend.backend() == "tensorflow":
        return
    try:
        from keras.src.utils import module_utils
    except ImportError:  # a Keras without that module: nothing to skip
        return
    lazy = getattr(module_utils, "tensorflow", None)
    if lazy is not None and getattr(lazy, "module", None) is None:
        lazy._available = False


def cache_dir() -> Path | None:
    """Where compiled XLA programs are kept between runs; None when turned off.

    ``$DLEXP_CACHE_DIR`` sets it (empty turns it off); the default is
    ``$XDG_CACHE_HOME/dlexp/xla`` (``~/.cache/dlexp/xla``).
    """
    if "DLEXP_CACHE_DIR" in os.environ:
        value = os.environ["DLEXP_CACHE_DIR"].strip()
        return Path(value) if value else None
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base) / "dlexp" / "xla"


def _enable_compilation_cache(keras) -> None:
    """Reuse compiled train/test steps across runs and processes (JAX backend).

    Compiling takes 2-3 s of a 100-epoch run of a small network; the same model
    compiled once is then loaded from disk in milliseconds (measured on the moons
    config: 3.5 s -> 1.1 s from fit to saved run). The compiled program is the same,
    so results do not change.
    """
    path = cache_dir()
    if keras.backend.backend() != "jax" or path is None:
        return
    import jax

    try:
        path.mkdir(parents=True, exist_ok=True)
    except OSError:
        return  # a read-only home: run without the cache
    jax.config.update("jax_compilation_cache_dir", str(path))
    jax.config.update("jax_persistent_cache_min_compile_time_secs", 0)
    jax.config.update("jax_persistent_cache_min_entry_size_bytes", 0)
