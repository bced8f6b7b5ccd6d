"""Ctrl-C (and `kill`) that is never lost.

Python raises KeyboardInterrupt wherever the main thread happens to be, and a library
may swallow it there: JAX and Keras compile inside bare ``except:`` clauses, so an
interrupt that lands during a compilation can vanish and the run trains on. Here a
signal also sets a flag, which the training loops check after every epoch (``check``):
an interrupt once asked for ends the run as ``interrupted`` at the latest one epoch
later.
"""

from __future__ import annotations

import signal
import threading
from contextlib import contextmanager

_requested = threading.Event()


def requested() -> bool:
    return _requested.is_set()


def check() -> None:
    """Raise KeyboardInterrupt if an interrupt was asked for (and not yet raised here)."""
    if _requested.is_set():
        _requested.clear()
        raise KeyboardInterrupt


@contextmanager
def handled():
    """Within: SIGINT and SIGTERM raise KeyboardInterrupt and set the flag ``check``
    reads (in the main thread only, where signal handlers can be set)."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def handler(signum, frame):
        _requested.set()
        raise KeyboardInterrupt

    previous = {s: signal.signal(s, handler) for s in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield
    finally:
        for s, h in previous.items():
            signal.signal(s, h)
        _requested.clear()
