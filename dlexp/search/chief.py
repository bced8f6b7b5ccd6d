"""The chief of a parallel search: it serves the oracle over gRPC (keras-tuner's
OracleServicer), starts workers here and replaces those that die, and hands back the
trials of workers that are gone. See ``distributed`` for the protocol."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from concurrent import futures

from dlexp.core.errors import ConfigError
from dlexp.search import compat
from dlexp.search.distributed import lease_seconds, oracle_port
from dlexp.search.store import SearchStore

MAX_WORKER_RESTARTS = 3
STOP_GRACE_S = 30.0


def bind():
    """A gRPC server for the oracle, bound but not yet serving: (server, ip, port).

    A chief with KERASTUNER_ORACLE_IP/PORT listens there; otherwise any free port on
    127.0.0.1, for workers started here.
    """
    import grpc

    if "KERASTUNER_ORACLE_IP" in os.environ:  # a chief that workers elsewhere reach
        ip, port = os.environ["KERASTUNER_ORACLE_IP"], oracle_port()
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
