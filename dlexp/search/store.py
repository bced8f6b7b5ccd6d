"""The search folder ``RUNS_DIR/<search>/``: search.yaml, search.json, results.csv,
best.json and trials/, one run folder per trial (or per repeat).

Plain files only (no keras-tuner, no Keras): ``--dry-run`` and the report read it too.
What is done is read from the trial folders, so a search resumes exactly after
Ctrl-C, kill -9 or a reboot.
"""

from __future__ import annotations

import contextlib
import json
import os
import secrets
import shutil
import time
from pathlib import Path

from dlexp.core import yamlio
from dlexp.core.errors import ConfigError, machine_fault, show
from dlexp.core.files import atomic_write, jsonable, read_json, write_json
from dlexp.runs import folder as runs
from dlexp.runs.read import pid_alive
from dlexp.search import naming
from dlexp.search.results import TrialResults
from dlexp.search.spec import SearchSpec

PUBLISH_PREFIX = ".publish-"  # trials/.publish-<pid>-<hex>.json: renames under way
STAGED_FRESH_S = 30.0  # a staged folder touched this recently may be a live worker's
# the staged folders and journals this process is working on (any thread): ``recover``
# leaves them alone, and only them (a dead process's may carry this pid, reused)
_IN_FLIGHT: set[Path] = set()


class SearchStatus(runs.TextEnum):
    """How a search stands (search.json), or how one invocation of it ended."""

    RUNNING = "running"
    FINISHED = "finished"
    INTERRUPTED = "interrupted"
    FAILED = "failed"
    ALREADY_FINISHED = "already finished"  # nothing was left to train

    @property
    def exit_code(self) -> int:
        """0 finished, 130 interrupted, 1 failed."""
        ok = (SearchStatus.FINISHED, SearchStatus.ALREADY_FINISHED)
        return 0 if self in ok else 130 if self == SearchStatus.INTERRUPTED else 1


def _first_difference(old, new, path=""):
    if isinstance(old, dict) and isinstance(new, dict):
        for key in list(old) + [k for k in new if k not in old]:
            found = _first_difference(old.get(key), new.get(key), f"{path}.{key}" if path else key)
            if found:
                return found
        return None
    return None if old == new else (path, old, new)


class SearchStore(TrialResults):
    """``RUNS_DIR/<search>/``: its lock, its state, its trial folders and its results."""

    def __init__(self, root: str | Path, spec: SearchSpec):
        self.root, self.spec = Path(root), spec
        self.trials = self.root / "trials"
        self._cache: dict[str, tuple[int, runs.RunRecord]] = {}
        self._lock_file = None

    # -- the folder ------------------------------------------------------------

    def stored_spec(self) -> dict | None:
        path = self.root / "search.yaml"
        if not path.exists():
            return None
        return yamlio.read_yaml(path)

    def check_same(self) -> None:
        """Refuse to mix two different searches in one folder. A grid that only adds
        points to the stored one extends it: ``spec.earlier`` gets the stored grid, so
        that its points keep their trial names (``naming.trial_numbers``)."""
        stored = self.stored_spec()
        grids = ((stored or {}).get("extended") or {}).get("grids") or []
        if not all(isinstance(g, dict) and isinstance(g.get("params"), dict) for g in grids):
            raise ConfigError(
                f"{self.root / 'search.yaml'}: damaged: extended.grids: expected grids with "
                f"params (the names of their trials), got {show(grids)}"
            )
        self.spec.earlier = list(grids)
        if stored is None:
            return
        new = json.loads(json.dumps(self.spec.resolved()))
        both = [{k: s.get(k) for k in ("config", "search")} for s in (stored, new)]
        diff = _first_difference(*both)
        keys = [list((stored.get("search") or {}).get("params") or {})]
        keys.append(list(new["search"]["params"]))
        if diff or keys[0] != keys[1]:  # keys reordered: the product's order changed
            try:
                grown, dropped = naming.extension(self.spec, stored), ""
            except ConfigError as exc:  # values removed
                grown, dropped = None, f"; {exc.problem}"
            if grown is not None:
                self.spec.earlier.append(grown)
                return
            for side in both:  # say first what an extension may not change
                side["search"] = {k: v for k, v in (side["search"] or {}).items() if k != "params"}
            key, old, now = _first_difference(*both) or diff or ("search.params", *keys)
            raise ConfigError(
                f"{self.spec.path.name}: the grid changed since the search in {self.root} began "
                f"({key}: was {show(old)}, now {show(now)}){dropped}; only values added to a "
                f"grid extend its search: {'put them back, ' * bool(dropped)}rerun with "
                "--overwrite to start over, or give the search another name"
            )

    def open(self, overwrite: bool) -> None:
        """Create (or, with overwrite, recreate) the folder, take its lock, check that a
        resumed search is the same search, and clear what a crash left half-written."""
        try:
            self.root.mkdir(parents=True, exist_ok=True)
            if not os.access(self.root, os.W_OK | os.X_OK):
                raise PermissionError(13, "Permission denied")
        except OSError as exc:
            raise ConfigError(
                f"cannot create {str(self.root)!r} ({exc.strerror})", "--runs-dir"
            ) from None
        self._lock()
        if overwrite:
            for child in self.root.iterdir():
                if child.name != ".lock":
                    shutil.rmtree(child) if child.is_dir() else child.unlink()
        self.check_same()
        self.trials.mkdir(exist_ok=True)
        self.recover()  # a complete staged stack a kill -9 cut short is published
        for tmp in self.root.glob(".*.tmp-*"):
            shutil.rmtree(tmp) if tmp.is_dir() else tmp.unlink()
        self.clean_staged()  # not a worker's that still trains (a chief restarted)
        grids = {"extended": {"grids": self.spec.earlier}} if self.spec.earlier else {}
        atomic_write(self.root / "search.yaml", yamlio.dump({**self.spec.resolved(), **grids}))

    def _lock(self) -> None:
        """One chief per search folder: a second `dlexp search` on it would train the same
        points and delete the first one's temporary folders."""
        import fcntl

        self._lock_file = open(self.root / ".lock", "a+")  # noqa: SIM115 - held until close
        try:
            fcntl.flock(self._lock_file, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            raise ConfigError(
                f"{self.root}: another dlexp search is running on this folder; "
                "add workers to it with KERASTUNER_* (see dlexp search --help)"
            ) from None

    def close(self) -> None:
        if self._lock_file is not None:
            self._lock_file.close()
            self._lock_file = None

    def write_state(self, status: SearchStatus, **extra) -> None:
        """search.json: the search's name, tuner, status, start, end and versions.

        On a disk too full for the atomic write, the end of a search is written in place
        (the old text's room is freed first), and when even that fails search.json is
        removed: it never says running after its search has ended."""
        path = self.root / "search.json"
        try:
            atomic_write(path, self._state_text(path, status, extra))
        except OSError as exc:
            if status == SearchStatus.RUNNING or not machine_fault(exc):
                raise
            try:
                state = self._state_text(path, status, extra)
                with open(path, "w", encoding="utf-8") as f:
                    f.write(state)
            except OSError:
                path.unlink(missing_ok=True)

    def _state_text(self, path: Path, status: SearchStatus, extra: dict) -> str:
        state = read_json(path) if path.exists() else {}
        state.update({"name": self.spec.name, "tuner": self.spec.tuner, "status": status, **extra})
        if status == SearchStatus.RUNNING:
            state.setdefault("started", runs.now_iso())
            state.pop("ended", None)
        else:
            state["ended"] = runs.now_iso()
        state["versions"] = runs.versions()
        return json.dumps(jsonable(state), indent=2, allow_nan=False) + "\n"

    def state(self) -> dict:
        path = self.root / "search.json"
        return read_json(path) if path.exists() else {}

    # -- trial folders -----------------------------------------------------------

    def stage(self, name: str) -> runs.Run:
        """A temporary folder for a trial run to train into; ``publish`` renames it to
        trials/<name>/ once the run has ended, so a trial folder that exists holds a
        run that has ended. One never published is cleared on the next open."""
        tmp = self.trials / f".{name}.tmp-{os.getpid()}"
        shutil.rmtree(tmp, ignore_errors=True)
        _IN_FLIGHT.add(tmp)
        tmp.mkdir(parents=True)
        return runs.Run(tmp, run_id=name)

    def publish(self, run: runs.Run) -> None:
        self.publish_all([run])

    def publish_all(self, staged: list[runs.Run]) -> None:
        """Rename staged folders to trials/<name>/ as one step: the runs of a stack are
        all published or none, so a resumed search trains the same stacks again.

        A journal (``trials/.publish-<pid>-<hex>.json``, written atomically) lists the
        renames before the first; a process killed among them leaves it, and the next
        ``open`` finishes them (``recover``)."""
        moves = [(run.path.name, run.id) for run in staged]
        if len(moves) == 1:  # one rename is atomic by itself
            self._move(*moves[0])
            return
        journal = self.trials / f"{PUBLISH_PREFIX}{os.getpid()}-{secrets.token_hex(3)}.json"
        _IN_FLIGHT.add(journal)
        try:
            write_json(journal, {"pid": os.getpid(), "moves": moves})
            for tmp, final in moves:
                self._move(tmp, final)
            journal.unlink(missing_ok=True)
        finally:
            _IN_FLIGHT.discard(journal)

    def _move(self, tmp: str, final: str) -> None:
        source, target = self.trials / tmp, self.trials / final
        if not source.exists():  # renamed before a kill (a journal finished again)
            return
        if target.exists():
            shutil.rmtree(target)
        os.replace(source, target)
        _IN_FLIGHT.discard(source)

    def recover(self) -> None:
        """What processes killed while publishing left: each journal of a process that is
        gone is finished (its renames done, then it is deleted), and a dead process's
        staged folders whose runs had all ended (a whole stack, or one run) are
        published; the rest stay staged, for ``open`` to clear. Safe to call again, and
        while this process trains (what it works on itself is left alone)."""
        for journal in sorted(self.trials.glob(f"{PUBLISH_PREFIX}*.json")):
            if journal in _IN_FLIGHT:
                continue  # this process is publishing it (another thread)
            try:
                state = read_json(journal)
                moves, pid = state["moves"], int(state["pid"])
            except FileNotFoundError:
                continue  # finished meanwhile
            except (OSError, ValueError, KeyError, TypeError):
                journal.unlink(missing_ok=True)  # never half written: atomic writes
                continue
            if pid != os.getpid() and pid_alive(pid):
                continue  # a worker still publishing
            for tmp, final in moves:
                self._move(tmp, final)
            journal.unlink(missing_ok=True)
        ended: dict[tuple, list[runs.Run]] = {}
        for tmp in sorted(self.trials.glob(".*.tmp-*")):
            name, _, pid = tmp.name[1:].rpartition(".tmp-")
            if not tmp.is_dir() or not pid.isdigit() or tmp in _IN_FLIGHT:
                continue
            alive = int(pid) != os.getpid() and pid_alive(int(pid))
            if alive or not self._complete(tmp):
                continue
            stack = runs.read_run(tmp, name).info.stack or {}
            key = (pid, stack.get("group") or name, stack.get("size", 1))
            ended.setdefault(key, []).append(runs.Run(tmp, run_id=name))
        for (_, _, size), staged in ended.items():
            if len(staged) == size:  # a stack some of whose runs had not ended is redone
                self.publish_all(staged)

    @staticmethod
    def _complete(folder: Path) -> bool:
        """A staged run folder whose run ended with every file a finished run has."""
        record = runs.read_run(folder)
        if record.info is None or not runs.is_finished(record.info.status):
            return False
        if record.machine_failed:  # its stack is trained again, all of it (as the runner)
            return False
        if record.info.status == runs.Status.FAILED:
            return (folder / "metrics.json").exists()
        files = ("config.yaml", "metrics.json", "history.csv", "model.keras", "predictions.npz")
        if record.info.status == runs.Status.PRUNED:  # a pruned run keeps no model
            files = tuple(f for f in files if f != "model.keras")
        return all((folder / f).exists() for f in files) and not record.metrics.empty

    def discard(self, run: runs.Run) -> None:
        """A staged folder whose run never ended (an interrupted stack's others)."""
        shutil.rmtree(run.path, ignore_errors=True)
        _IN_FLIGHT.discard(run.path)

    def write_failed(self, name: str, cfg: dict | None, error: str) -> None:
        """A trial whose config could not be made: a folder that says so."""
        run = self.stage(name)
        try:
            runs.write_failed(run, cfg, error)
        except BaseException:
            self.discard(run)
            raise
        self.publish(run)

    def clean_tmp(self, pid: int) -> None:
        """Remove the half-trained folders of a worker process that died."""
        for tmp in self.trials.glob(f".*.tmp-{pid}"):
            shutil.rmtree(tmp, ignore_errors=True)

    def clean_staged(self, untouched_s: float | None = STAGED_FRESH_S) -> None:
        """Remove the staged folders (``stage``) whose owner is gone: its process, the
        pid in the folder's name, is not running on this machine and (unless
        ``untouched_s`` is None) the folder was not touched for ``untouched_s`` seconds
        (a worker on another machine sharing the folder touches its own while it
        trains: ``touch_staged``)."""
        now = time.time()
        for tmp in self.trials.glob(".*.tmp-*"):
            pid = tmp.name.rpartition(".tmp-")[2]
            if pid.isdigit() and pid_alive(int(pid)):
                continue
            try:
                if untouched_s is not None and now - tmp.stat().st_mtime < untouched_s:
                    continue
            except OSError:
                continue
            shutil.rmtree(tmp, ignore_errors=True)

    def touch_staged(self) -> None:
        """Mark this process's staged folders as still in use (``clean_staged``)."""
        for tmp in self.trials.glob(f".*.tmp-{os.getpid()}"):
            with contextlib.suppress(OSError):
                os.utime(tmp)

    def read_run(self, name: str) -> runs.RunRecord | None:
        """A trial run folder, read as the report reads runs; None while it has no
        readable run.json. Cached until run.json changes."""
        info_path = self.trials / name / "run.json"
        try:
            mtime = info_path.stat().st_mtime_ns
        except OSError:
            return None
        cached = self._cache.get(name)
        if cached and cached[0] == mtime:
            return cached[1]
        record = runs.read_run(self.trials / name, name, search=self.spec.name)
        if record.info is None:
            return None
        self._cache[name] = (mtime, record)
        return record

    def run_status(self, name: str) -> runs.Status | str | None:
        record = self.read_run(name)
        return record.status if record else None

    def run_done(self, name: str) -> bool:
        """Whether a trial run has finished (completed, diverged or failed for its
        config): a resumed search does not train it again. One the machine failed (a
        full disk, no memory) is not done. Delete its folder to retry any other."""
        record = self.read_run(name)
        return record is not None and runs.is_finished(record.status) and not record.machine_failed

    def machine_failed(self) -> list[str]:
        """The trial runs that failed for lack of disk or memory (to be retried)."""
        if not self.trials.exists():
            return []
        return [
            folder.name
            for folder in sorted(self.trials.iterdir())
            if not folder.name.startswith(".")
            and (record := self.read_run(folder.name)) is not None
            and record.machine_failed
        ]

    def trial_done(self, trial: str) -> bool:
        return all(self.run_done(n) for n in self.spec.run_names(trial))
