"""Parallel search through keras-tuner's own distributed mode.

The chief serves the oracle over gRPC (keras-tuner's OracleServicer); workers are
BaseTuners whose oracle is keras-tuner's OracleClient, configured by
KERASTUNER_TUNER_ID, KERASTUNER_ORACLE_IP and KERASTUNER_ORACLE_PORT. ``--workers N``
starts N such workers here; workers elsewhere join with the same variables.

What dlexp adds to keras-tuner's protocol (its worker waits up to an hour a call and
its chief never learns that a worker died): every call to the chief is given up
after $DLEXP_CHIEF_TIMEOUT s (``worker.ChiefClient``), retrying meanwhile so that a
restarted chief is found again; a worker says hello as it starts (the trials held
under its id go back to the queue), beats every few seconds while it trains, asks
before it publishes a trial folder whether the trial is still its own, and hands its
trials back as it gives up; the chief hands back the trials of a worker silent for a
lease ($DLEXP_LEASE_S) and of a local worker that died, under all its slot ids, and
removes the staged folders of workers that are gone. See oracles.py for the lease.

This module holds what both sides read: the role of this process, the variables'
values and the number of workers that fit here. ``chief`` serves the oracle and
starts workers; ``worker`` is a worker's line to the chief.
"""

from __future__ import annotations

import os

from dlexp.core.errors import ConfigError
from dlexp.search import compat

LEASE_S = 60.0  # $DLEXP_LEASE_S: a trial whose worker is silent this long is handed back
CHIEF_TIMEOUT_S = 60.0  # $DLEXP_CHIEF_TIMEOUT: a worker gives up a chief silent this long


def _seconds(name: str, default: float) -> float:
    raw = os.environ.get(name)
    if raw is None or raw.strip() == "":
        return default
    try:
        value = float(raw)
    except ValueError:
        value = -1.0
    if not 0 < value < float("inf"):
        raise ConfigError(f"expected a number of seconds above 0, got {raw!r}", name)
    return value


def lease_seconds() -> float:
    return _seconds("DLEXP_LEASE_S", LEASE_S)


def chief_timeout() -> float:
    return _seconds("DLEXP_CHIEF_TIMEOUT", CHIEF_TIMEOUT_S)


def role() -> str | None:
    """'chief' or 'worker' in keras-tuner's distributed mode, else None."""
    try:
        return compat.role()
    except RuntimeError as exc:  # one of the three variables is missing
        raise ConfigError(f"keras-tuner distributed mode: {exc}") from None


WORKER_BYTES = 700 << 20  # one worker process: Keras, JAX and its stacks (measured ~600 MiB)


def check_workers(workers: int | None) -> None:
    """At most one worker per core, and as many as fit in the memory available."""
    from dlexp.core.limits import budget

    if not workers or workers <= 1:
        return
    cores = os.cpu_count() or 1
    fit = max(1, budget() * 2 // WORKER_BYTES)  # half the available memory for workers
    most = min(cores, fit)
    if workers > most:
        raise ConfigError(
            f"{workers} workers; at most {most} here ({cores} cores, room for {fit} workers "
            f"of about {WORKER_BYTES >> 20} MiB in half the memory available)",
            "--workers",
        )


def oracle_port() -> str:
    """KERASTUNER_ORACLE_PORT, which must be a port number (gRPC would take 'http' for
    port 80, and 99999 without complaint)."""
    port = os.environ["KERASTUNER_ORACLE_PORT"].strip()
    if not port.isdigit() or not 0 <= int(port) <= 65535:
        raise ConfigError(
            f"expected a port number in 0..65535, got {port!r}", "KERASTUNER_ORACLE_PORT"
        )
    return port
