"""Every use of keras-tuner's private names, in one place.

dlexp drives keras-tuner further than its public API reaches: it hands out a fixed
list of points to any number of workers, draws random points up front, writes the
oracle's state atomically, gives a dead worker's trial to another, and serves the
oracle in a chief it controls. Each function here says which private name it needs
and why. pyproject.toml pins keras-tuner below its next minor version, and
tests/test_search.py (its fast and slow tiers) exercises every function here, so an
upgrade that moves one of these names fails the tests, not a user's search.
"""

from __future__ import annotations

import os
from pathlib import Path

import keras_tuner as kt

from dlexp.core.files import write_json


def role() -> str | None:
    """'chief' or 'worker' in keras-tuner's distributed mode, else None.

    keras-tuner's own rule (``distribute.utils.is_chief_oracle``, private): the mode
    is on when KERASTUNER_ORACLE_IP is set, and the chief's KERASTUNER_TUNER_ID
    contains "chief". Raises RuntimeError naming a missing variable.
    """
    if "KERASTUNER_ORACLE_IP" not in os.environ:
        return None
    from keras_tuner.src.distribute import utils as dist_utils

    return "chief" if dist_utils.is_chief_oracle() else "worker"


def seed_oracle(oracle: kt.Oracle, seed: int) -> kt.Oracle:
    """keras-tuner reads a seed of 0 as "no seed" and draws one; set it after the fact
    (``_seed_state`` is the state its random draws advance)."""
    oracle.seed = oracle._seed_state = seed
    return oracle


def draw_random_points(oracle: kt.Oracle, n: int) -> list[dict]:
    """Up to ``n`` distinct points drawn as keras-tuner's RandomSearchOracle draws them
    (``_random_values``), all at once, so a random search is planned up front like a
    grid. Fewer when the space has fewer distinct points."""
    points = []
    for _ in range(n):
        values = oracle._random_values()
        if values is None:
            break
        oracle._tried_so_far.add(oracle._compute_values_hash(values))
        points.append(values)
    return points


class AtomicStateMixin:
    """Writes keras-tuner's oracle and trial state files atomically: a kill -9 during
    its plain writes leaves JSON that its reload cannot read. Overrides the oracle's
    ``save`` and its private ``_save_trial``, which write them."""

    def save(self):
        write_json(self._get_oracle_fname(), self.get_state())

    def _save_trial(self, trial):
        write_json(Path(self._get_trial_dir(trial.trial_id)) / "trial.json", trial.get_state())


def requeue(oracle: kt.Oracle, tuner_id: str) -> None:
    """Give the trial of a worker that died to the next worker that asks: keras-tuner's
    own retry queue (``_retry_queue``) for trials to run again. The id is forgotten
    too (``tuner_ids``, public), as a worker told to stop is: the chief does not wait
    for a dead worker to hear "stop"."""
    trial = oracle.ongoing_trials.pop(tuner_id, None)
    if trial is not None and trial.trial_id not in oracle._retry_queue:
        oracle._retry_queue.append(trial.trial_id)
    oracle.tuner_ids.discard(tuner_id)


def retries_waiting(oracle: kt.Oracle) -> bool:
    return bool(oracle._retry_queue)


def set_project_dir(oracle: kt.Oracle, directory: Path, project_name: str) -> None:
    """Where the oracle keeps its state (a tuner sets this itself; the chief that serves
    the oracle has no tuner): ``_set_project_dir``."""
    oracle._set_project_dir(str(directory), project_name)


def watch_create_trial(oracle, callback) -> None:
    """Call ``callback(trial)`` after every ``create_trial`` of this oracle object, which
    may be keras-tuner's gRPC client in a worker (a private class, so it is wrapped on
    the instance rather than subclassed)."""
    create = oracle.create_trial

    def create_trial(tuner_id):
        trial = create(tuner_id)
        callback(trial)
        return trial

    oracle.create_trial = create_trial


def add_oracle_servicer(oracle: kt.Oracle, server):
    """Serve ``oracle`` on a gRPC server with keras-tuner's own servicer (private: its
    ``start_server`` blocks, polls every 20 s and offers no hook for a live view).

    Returns:
        The servicer; its ``stop_triggered`` says a worker was told there is nothing left.
    """
    from keras_tuner.src import protos
    from keras_tuner.src.distribute.oracle_chief import OracleServicer

    servicer = OracleServicer(oracle)
    protos.get_service_grpc().add_OracleServicer_to_server(servicer, server)
    return servicer


def oracle_rpc():
    """keras-tuner's gRPC messages and stub for its oracle service (private ``protos``):
    (the module of request messages, the stub class). dlexp's worker client calls them
    with its own deadline (keras-tuner's OracleClient waits up to an hour a call)."""
    from keras_tuner.src import protos

    return protos.get_service(), protos.get_service_grpc().OracleStub
