"""Parallel search through keras-tuner's own distributed mode.

The chief serves the oracle over gRPC (keras-tuner's OracleServicer); workers are
BaseTuners whose oracle is keras-tuner's OracleClient, configured by
KERASTUNER_TUNER_ID, KERASTUNER_ORACLE_IP and KERASTUNER_ORACLE_PORT. ``--workers N``
starts N such workers here; workers elsewhere join with the same variables.

What dlexp adds to keras-tuner's protocol (its worker waits up to an hour a call and
its chief never learns that a worker died): every call to the chief is given up
after $DLEXP_CHIEF_TIMEOUT s (``ChiefClient``), retrying meanwhile so that a
restarted chief is found again; a worker says hello as it starts (the trials held
under its id go back to the queue), beats every few seconds while it trains, asks
before it publishes a trial folder whether the trial is still its own, and hands its
trials back as it gives up; the chief hands back the trials of a worker silent for a
lease ($DLEXP_LEASE_S) and of a local worker that died, under all its slot ids, and
removes the staged folders of workers that are gone. See oracles.py for the lease.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from concurrent import futures

from dlexp.core.errors import ConfigError, DlexpError
from dlexp.search import compat
from dlexp.search.oracles import BEAT, HELLO, held_by
from dlexp.search.store import SearchStore

MAX_WORKER_RESTARTS = 3
STOP_GRACE_S = 30.0
LEASE_S = 60.0  # $DLEXP_LEASE_S: a trial whose worker is silent this long is handed back
CHIEF_TIMEOUT_S = 60.0  # $DLEXP_CHIEF_TIMEOUT: a worker gives up a chief silent this long
HEARTBEAT_S = 5.0  # a worker beats this often (or a quarter of its lease, if shorter)


class ChiefLost(DlexpError):
    """The chief did not answer within DLEXP_CHIEF_TIMEOUT: a machine's fault (exit 1)."""


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


def wait_for_chief(timeout: float | None = None) -> None:
    """A worker's first contact: the chief must answer within ``timeout`` seconds
    ($DLEXP_CHIEF_TIMEOUT, 60 by default), or the worker says so and gives up."""
    import grpc

    timeout = chief_timeout() if timeout is None else timeout
    ip, port = os.environ["KERASTUNER_ORACLE_IP"], _port()
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
        self.address = f"{os.environ['KERASTUNER_ORACLE_IP']}:{_port()}"
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


def _port() -> str:
    """KERASTUNER_ORACLE_PORT, which must be a port number (gRPC would take 'http' for
    port 80, and 99999 without complaint)."""
    port = os.environ["KERASTUNER_ORACLE_PORT"].strip()
    if not port.isdigit() or not 0 <= int(port) <= 65535:
        raise ConfigError(
            f"expected a port number in 0..65535, got {port!r}", "KERASTUNER_ORACLE_PORT"
        )
    return port


def bind():
    """A gRPC server for the oracle, bound but not yet serving: (server, ip, port).

    A chief with KERASTUNER_ORACLE_IP/PORT listens there; otherwise any free port on
    127.0.0.1, for workers started here.
    """
    import grpc

    if "KERASTUNER_ORACLE_IP" in os.environ:  # a chief that workers elsewhere reach
        ip, port = os.environ["KERASTUNER_ORACLE_IP"], _port()
    else:
        ip, port = "127.0.0.1", "0"
    # gRPC sets SO_REUSEPORT by default: two chiefs could then serve one port, and
    # their workers take each other's trials. Off, a port in use is refused.
    server = grpc.server(
        futures.ThreadPoolExecutor(max_workers=1), options=[("grpc.so_reuseport", 0)]
    )
    try:
        bound = server.add_insecure_port(f"{ip}:{port}")
    except RuntimeError:  # gRPC's words for it: "Failed to bind to address"
        bound = 0
    if not bound:
        raise ConfigError(
            f"cannot listen on {ip}:{port} (in use by another program, or not this "
            "machine's address)",
            "KERASTUNER_ORACLE_IP/PORT",
        )
    local_ip = "127.0.0.1" if ip in ("0.0.0.0", "[::]", "::") else ip
    return server, local_ip, str(bound)


def serve(
    oracle, store: SearchStore, server_info, local_workers: int, args: tuple[str, ...] = ()
) -> str | None:
    """Serve the oracle until every trial is done.

    With local_workers > 0, start that many worker processes here (``args`` added to
    their command line), replacing one that dies (its trials, under all its slot ids,
    go to another); otherwise wait for workers elsewhere. Any worker silent for a
    lease ($DLEXP_LEASE_S) loses its trials to the queue.

    Returns:
        None when the search is done, or why it cannot go on.
    """
    lease = lease_seconds()
    server, ip, port = server_info
    servicer = compat.add_oracle_servicer(oracle, server)
    server.start()
    procs: dict[str, subprocess.Popen] = {}
    restarts = 0
    for i in range(1, local_workers + 1):
        procs[f"local{i}"] = start_worker(store, f"local{i}", ip, port, args)
    finished_at = None
    try:
        while True:
            time.sleep(0.2)
            for tuner_id, proc in list(procs.items()):
                if proc.poll() is None:
                    continue
                del procs[tuner_id]
                if proc.returncode != 0:
                    oracle.release(tuner_id)
                    worker_gone(store, proc.pid)
                    if restarts < MAX_WORKER_RESTARTS * max(local_workers, 1):
                        restarts += 1
                        new_id = f"{tuner_id.split('-')[0]}-{restarts}"
                        procs[new_id] = start_worker(store, new_id, ip, port, args)
            late = oracle.expire(lease)
            if late:
                print(
                    f"dlexp: warning: {', '.join(late)} silent for {lease:g} s "
                    "(DLEXP_LEASE_S); its trials go to other workers",
                    file=sys.stderr,
                )
                worker_gone(store)
            if oracle.finished() or (servicer.stop_triggered and oracle.idle()):
                # let every worker hear "stop" before the server goes (keras-tuner's
                # own chief waits for this too)
                finished_at = finished_at or time.time()
                nobody_left = not oracle.tuner_ids and not procs
                if nobody_left or time.time() - finished_at > STOP_GRACE_S:
                    return None
            elif local_workers and not procs:
                return f"the workers kept failing; see {store.root / 'logs'}"
    finally:
        stop_workers(procs)
        store.recover()  # a killed worker's complete stack is kept, the rest removed
        for proc in procs.values():
            store.clean_tmp(proc.pid)
        store.clean_staged(untouched_s=None)  # what workers killed meanwhile left


def worker_gone(store: SearchStore, pid: int | None = None) -> None:
    """A worker died (``pid``, here) or went silent: its staged folders are removed,
    and those of any other worker no longer running."""
    store.recover()  # first, while the staged folders a journal names are there
    if pid is not None:
        store.clean_tmp(pid)
    store.clean_staged()


def start_worker(
    store: SearchStore, tuner_id: str, ip: str, port: str, args: tuple[str, ...] = ()
) -> subprocess.Popen:
    """A `dlexp search` process of the same grid as a worker, its output in logs/."""
    spec = store.spec
    logs = store.root / "logs"
    logs.mkdir(exist_ok=True)
    cmd = [
        sys.executable,
        "-m",
        "dlexp.cli",
        "search",
        str(spec.path),
        "--runs-dir",
        str(store.root.parent),
    ]
    for override in spec.overrides:
        cmd += ["--set", override]
    cmd += list(args)
    env = {
        **os.environ,
        "KERASTUNER_TUNER_ID": tuner_id,
        "KERASTUNER_ORACLE_IP": ip,
        "KERASTUNER_ORACLE_PORT": port,
        "DLEXP_PARENT_PID": str(os.getpid()),
    }
    with open(logs / f"{tuner_id}.log", "w") as log:
        return subprocess.Popen(
            cmd, env=env, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL
        )


def stop_workers(procs: dict[str, subprocess.Popen]) -> None:
    for proc in procs.values():
        if proc.poll() is None:
            proc.terminate()  # SIGTERM: the worker marks its run interrupted and exits
    deadline = time.time() + 10
    for proc in procs.values():
        try:
            proc.wait(timeout=max(0.1, deadline - time.time()))
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


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
