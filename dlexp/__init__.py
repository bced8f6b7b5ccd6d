"""dlexp: run, repeat and compare small deep-learning experiments with Keras."""

import os

__version__ = "0.1.0"

# Keras reads KERAS_BACKEND once, at its first import. dlexp defaults to JAX, which
# trains these small networks about three times faster than TensorFlow on a CPU
# (README, "Speed"); a user's own KERAS_BACKEND wins.
os.environ.setdefault("KERAS_BACKEND", "jax")
# TensorFlow (when it is the backend) and XLA log chatter on import; keep it quiet.
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
# gRPC's C core logs a port it cannot bind on stderr; dlexp says it in one line.
os.environ.setdefault("GRPC_VERBOSITY", "NONE")
