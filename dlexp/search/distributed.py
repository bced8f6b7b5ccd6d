"""Parallel search through keras-tuner's own distributed mode.

The chief serves the oracle over gRPC (keras-tuner's OracleServicer); workers are
BaseTuners whose oracle is keras-tuner's OracleClient, configured by
KERASTUNER_TUNER_ID, KERASTUNER_ORACLE_IP and KERASTUNER_ORACLE_PORT. ``--workers N``
starts N such workers here; workers elsewhere join with the same variables.
"""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time
from concurrent import futures

from dlexp.errors import ConfigError
from dlexp.search import compat
from dlexp.search.store import SearchStore

MAX_WORKER_RESTARTS = 3
STOP_GRACE_S = 30.0


def role() -> str | None:
    """'chief' or 'worker' in keras-tuner's distributed mode, else None."""
    try:
        return compat.role()
    except RuntimeError as exc:  # one of the three variables is missing
        raise ConfigError(f"keras-tuner distributed mode: {exc}") from None


WORKER_BYTES = 700 << 20  # one worker process: Keras, JAX and its stacks (measured ~600 MiB)


def check_workers(workers: int | None) -> None:
    """At most one worker per core, and as many as fit in the memory available."""
    from dlexp.limits import budget

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

    timeout = float(os.environ.get("DLEXP_CHIEF_TIMEOUT", 60)) if timeout is None else timeout
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
    their command line), replacing one that dies (its trial goes to another);
    otherwise wait for workers elsewhere.

    Returns:
        None when the search is done, or why it cannot go on.
    """
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
                    oracle.requeue(tuner_id)
                    store.clean_tmp(proc.pid)
                    if restarts < MAX_WORKER_RESTARTS * max(local_workers, 1):
                        restarts += 1
                        new_id = f"{tuner_id.split('-')[0]}-{restarts}"
                        procs[new_id] = start_worker(store, new_id, ip, port, args)
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
        for proc in procs.values():
            store.clean_tmp(proc.pid)


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
