"""A worker of a parallel search: its line to the chief (``ChiefClient``, in place of
keras-tuner's OracleClient), its first contact, and its end with the dlexp that
started it. See ``distributed`` for what dlexp adds to keras-tuner's protocol."""

from __future__ import annotations

import os
import signal
import threading
import time

from dlexp.core.errors import ConfigError, DlexpError
from dlexp.search import compat
from dlexp.search.distributed import chief_timeout, lease_seconds, oracle_port
from dlexp.search.oracles import BEAT, HELLO, held_by

HEARTBEAT_S = 5.0  # a worker beats this often (or a quarter of its lease, if shorter)


class ChiefLost(DlexpError):
    """The chief did not answer within DLEXP_CHIEF_TIMEOUT: a machine's fault (exit 1)."""


def wait_for_chief(timeout: float | None = None) -> None:
    """A worker's first contact: the chief must answer within ``timeout`` seconds
    ($DLEXP_CHIEF_TIMEOUT, 60 by default), or the worker says so and gives up."""
    import grpc

    timeout = chief_timeout() if timeout is None else timeout
    ip, port = os.environ["KERASTUNER_ORACLE_IP"], oracle_port()
    channel = grpc.insecure_channel(f"{ip}:{port}")
    try:
        grpc.channel_ready_future(channel).result(timeout=timeout)
    except grpc.FutureTimeoutError:
        raise ConfigError(
            f"no chief answered at {ip}:{port} within {timeout:g} s; start the chief first "
            "(KERASTUNER_TUNER_ID=chief), or check the address",
            "KERASTUNER_ORACLE_IP/PORT",
        ) from None
    finally:
        channel.close()


class ChiefClient:
    """A worker's line to the chief, in place of keras-tuner's OracleClient (the same
    calls): each call is retried until the chief answers and given up after
    DLEXP_CHIEF_TIMEOUT seconds (``ChiefLost``); every trial id it reports names the
    slot that holds it (``0003@worker1+1``), so the chief ignores a late report; a
    heartbeat thread renews its leases, and ``holds`` asks whether a trial is still
    this worker's before its folder is published."""

    _PASSED = ("objective", "max_trials", "allow_new_entries", "tune_new_entries")

    def __init__(self, oracle, tuner_id: str):
        import grpc

        self._oracle, self.tuner_id = oracle, tuner_id
        self.timeout = chief_timeout()
        self.beat_every = min(HEARTBEAT_S, lease_seconds() / 4)
        self.address = f"{os.environ['KERASTUNER_ORACLE_IP']}:{oracle_port()}"
        # reconnect within a second once a restarted chief listens (gRPC's own backoff
        # grows to two minutes)
        backoff = [(f"grpc.{k}_reconnect_backoff_ms", v) for k, v in
                   (("initial", 200), ("min", 200), ("max", 1000))]  # fmt: skip
        self._channel = grpc.insecure_channel(self.address, options=backoff)
        self._messages, stub = compat.oracle_rpc()
        self._stub = stub(self._channel)
        self._held: dict[str, tuple[str, dict]] = {}  # trial id -> (slot id, its values)
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self.lost: str | None = None  # why the heartbeat gave the chief up

    def __getattr__(self, name):
        if name in type(self)._PASSED:
            return getattr(self.__dict__["_oracle"], name)
        raise AttributeError(f"ChiefClient has no attribute {name!r}")

    def _lost(self) -> str:
        return (
            f"the chief at {self.address} did not answer for {self.timeout:g} s "
            "(DLEXP_CHIEF_TIMEOUT); run the same command again once it is back"
        )

    def _call(self, method: str, request, timeout: float | None = None):
        import grpc

        deadline = time.monotonic() + (self.timeout if timeout is None else timeout)
        while True:
            left = deadline - time.monotonic()
            try:
                call = getattr(self._stub, method)
                return call(request, timeout=max(left, 0.05), wait_for_ready=True)
            except grpc.RpcError as exc:
                gone = (grpc.StatusCode.UNAVAILABLE, grpc.StatusCode.DEADLINE_EXCEEDED)
                if exc.code() not in gone:
                    raise
                if time.monotonic() >= deadline:
                    raise ChiefLost(self._lost()) from None
                time.sleep(0.2)  # the chief went as it answered: ask again

    def _trial(self, proto):
        import keras_tuner as kt

        return kt.engine.trial.Trial.from_proto(proto)

    def _sent(self, trial_id: str) -> str:
        with self._lock:
            held = self._held.get(trial_id)
        return held_by(trial_id, held[0] if held else self.tuner_id)

    # -- keras-tuner's OracleClient calls ----------------------------------------------

    def get_space(self):
        import keras_tuner as kt

        response = self._call("GetSpace", self._messages.GetSpaceRequest())
        return kt.HyperParameters.from_proto(response.hyperparameters)

    def update_space(self, hyperparameters):
        request = self._messages.UpdateSpaceRequest(hyperparameters=hyperparameters.to_proto())
        self._call("UpdateSpace", request)

    def create_trial(self, tuner_id):
        response = self._call("CreateTrial", self._messages.CreateTrialRequest(tuner_id=tuner_id))
        trial = self._trial(response.trial)
        if trial.status == "RUNNING":
            with self._lock:
                self._held[trial.trial_id] = (tuner_id, dict(trial.hyperparameters.values))
        return trial

    def update_trial(self, trial_id, metrics, step=0):
        request = self._messages.UpdateTrialRequest(
            trial_id=self._sent(trial_id), metrics=metrics, step=step
        )
        return self._trial(self._call("UpdateTrial", request).trial)

    def end_trial(self, trial):
        proto = trial.to_proto()
        proto.trial_id = self._sent(trial.trial_id)
        self._call("EndTrial", self._messages.EndTrialRequest(trial=proto))
        with self._lock:
            self._held.pop(trial.trial_id, None)

    def get_trial(self, trial_id):
        request = self._messages.GetTrialRequest(trial_id=trial_id)
        return self._trial(self._call("GetTrial", request).trial)

    def get_best_trials(self, num_trials=1):
        request = self._messages.GetBestTrialsRequest(num_trials=num_trials)
        return [self._trial(t) for t in self._call("GetBestTrials", request).trials]

    # -- leases ------------------------------------------------------------------------

    def holds(self, trial) -> bool:
        """Whether the chief still counts ``trial`` as this worker's: not handed to
        another after a lease, nor unknown to a chief restarted since. False also when
        the chief does not answer (the heartbeat then gives it up)."""
        with self._lock:
            held = self._held.get(trial.trial_id)
        if held is None or held[1] != dict(trial.hyperparameters.values):
            return False
        try:
            answer = self.get_trial(held_by(trial.trial_id, held[0]))
        except ChiefLost:
            return False
        mine = answer.status == "RUNNING" and dict(answer.hyperparameters.values) == held[1]
        if not mine:
            with self._lock:
                self._held.pop(trial.trial_id, None)
        return mine

    def hello(self) -> None:
        """As a worker starts: what the chief holds under this id (a worker killed and
        restarted under it) goes back to the queue at once."""
        self._call("GetTrial", self._messages.GetTrialRequest(trial_id=HELLO + self.tuner_id))

    def goodbye(self) -> None:
        """As a worker gives up: its trials go back to the queue (no wait for a lease)."""
        try:
            request = self._messages.GetTrialRequest(trial_id=HELLO + self.tuner_id)
            self._call("GetTrial", request, timeout=min(self.timeout, 5.0))
        except Exception:  # noqa: BLE001 - the lease hands them back anyway
            pass

    def start_heartbeat(self, on_beat=None) -> None:
        """Renew this worker's leases every few seconds from a thread, calling
        ``on_beat`` each time; when the chief has not answered for DLEXP_CHIEF_TIMEOUT,
        set ``lost`` and interrupt the main thread (the training stops within an epoch)."""

        def beat():
            import grpc

            answered = time.monotonic()
            request = self._messages.GetTrialRequest(trial_id=BEAT + self.tuner_id)
            while not self._stop.wait(self.beat_every):
                if on_beat is not None:
                    on_beat()
                try:
                    self._call("GetTrial", request, timeout=self.beat_every)
                    answered = time.monotonic()
                except (ChiefLost, grpc.RpcError):  # noqa: PERF203 - a beat missed
                    if self._stop.is_set():
                        return
                    if time.monotonic() - answered >= self.timeout:
                        self.lost = self._lost()
                        os.kill(os.getpid(), signal.SIGINT)
                        return

        threading.Thread(target=beat, name="dlexp-heartbeat", daemon=True).start()

    def close(self) -> None:
        self._stop.set()
        self._channel.close()


def exit_with_parent() -> None:
    """A local worker ends when the dlexp that started it is gone (even after kill -9)."""
    parent = os.environ.get("DLEXP_PARENT_PID")
    if not parent:
        return

    def watch():
        while True:
            time.sleep(1.0)
            if os.getppid() != int(parent):
                os._exit(130)

    threading.Thread(target=watch, daemon=True).start()
