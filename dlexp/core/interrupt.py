"""Ctrl-C (and `kill`) that is never lost.

Python raises KeyboardInterrupt wherever the main thread happens to be, and a library
may swallow it there: JAX and Keras compile inside bare ``except:`` clauses, so an
interrupt that lands during a compilation can vanish and the run trains on. Here a
signal also sets a flag, which the training loops check after every epoch (``check``):
an interrupt once asked for ends the run as ``interrupted`` at the latest one epoch
later. Within ``guarded`` (a run being trained) only the first interrupt raises, and
none once training has stopped (``defer``): the code that ends the run (its
model.keras, its run.json) is never cut short itself, however often Ctrl-C is pressed.
"""

from __future__ import annotations

import signal
import threading
from contextlib import contextmanager

_requested = threading.Event()
_guards = 0  # how many ``guarded`` blocks the main thread is in
_stopping = False  # within them: an interrupt was raised, and what it stopped is ending
_depth = 0  # how many ``handled`` blocks the main thread is in
_then_ignore = False  # ``ignore_after``: the process ends with the outermost ``handled``


def requested() -> bool:
    return _requested.is_set()


def check() -> None:
    """Raise KeyboardInterrupt if an interrupt was asked for (and not yet raised here)."""
    global _stopping
    if _requested.is_set():
        _requested.clear()
        _stopping = _guards > 0
        raise KeyboardInterrupt


@contextmanager
def guarded():
    """Within: the first interrupt raises KeyboardInterrupt (or ``check`` does, for one a
    library swallowed); those that follow only set the flag, so the ``except`` that
    ends what the first one stopped runs to its end."""
    global _guards, _stopping
    _guards += 1
    try:
        yield
    finally:
        _guards -= 1
        if not _guards:
            _stopping = False


def defer() -> None:
    """Within ``guarded``: from now on an interrupt is noted only, as after a first one
    (the run has stopped training, and what remains is writing its files)."""
    global _stopping
    _stopping = _guards > 0


@contextmanager
def held():
    """Within ``guarded``: a block that must end whole (a stack writing the folders of
    the runs it has ended, between epochs). An interrupt during it is noted only, and
    raised by the next ``check``."""
    global _stopping
    before = _stopping
    _stopping = _guards > 0
    try:
        yield
    finally:
        _stopping = before


@contextmanager
def handled():
    """Within: SIGINT and SIGTERM raise KeyboardInterrupt and set the flag ``check``
    reads (in the main thread only, where signal handlers can be set)."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def handler(signum, frame):
        global _stopping
        _requested.set()
        if _guards:
            if _stopping:
                return  # the run ends already: what it writes now is written whole
            _stopping = True
        raise KeyboardInterrupt

    global _depth
    previous = {s: signal.signal(s, handler) for s in (signal.SIGINT, signal.SIGTERM)}
    _depth += 1
    try:
        yield
    finally:
        _depth -= 1
        if _then_ignore and not _depth:
            previous[signal.SIGINT] = signal.SIG_IGN  # what remains is the process's exit
        for s, h in previous.items():
            signal.signal(s, h)
        _requested.clear()


def ignore_after() -> None:
    """From now on, SIGINT is ignored once the outermost ``handled`` block ends: for the
    command line, where the command's end is the process's, so that a Ctrl-C landing
    between the two cannot print a traceback over a run already ended and saved."""
    global _then_ignore
    _then_ignore = True


def ignore() -> None:
    """From now on SIGINT is ignored (in the main thread; SIGTERM and kill still stop)."""
    if threading.current_thread() is threading.main_thread():
        signal.signal(signal.SIGINT, signal.SIG_IGN)
