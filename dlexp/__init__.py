"""dlexp: run, repeat and compare small deep-learning experiments with Keras."""

from dlexp import backend as _backend

__version__ = "0.1.0"

# Environment defaults only (KERAS_BACKEND=jax unless the user set it, quiet TensorFlow
# and gRPC): they must be set before the first `import keras`, and any dlexp module may
# be the one that imports it. Nothing is imported; ``backend.setup()`` does the rest,
# explicitly, where dlexp trains or loads a model.
_backend.defaults()
