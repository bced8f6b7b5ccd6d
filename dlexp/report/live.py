"""The report of a folder kept fresh for ``dlexp serve`` (:mod:`dlexp.report.serve`):
rebuilt in a background thread while the page asks for its rows, at most once a second
and never more than half the time, and the page's data and detail scripts made from it.
Reads the runs only."""

from __future__ import annotations

import hashlib
import json
import os
import sys
import threading
import time
from pathlib import Path

from dlexp.core.errors import describe

__all__ = ["INTERVAL_S", "LiveReport"]

INTERVAL_S = 1.0  # the report is rebuilt at most this often
IDLE_AFTER_S = 10.0  # nobody asked for rows for this long: stop rebuilding until one does


def _signature(entry) -> tuple:
    """What changes when a row's runs change: each run folder's files, sizes and times
    (and the row's status: a run left running turns stale with time alone)."""
    files = []
    for record in entry.records:
        try:
            with os.scandir(record.path) as items:
                files += sorted((i.name, i.stat().st_mtime_ns, i.stat().st_size) for i in items)
        except OSError:
            files.append((str(record.path), None, None))
    return (str(entry.status), tuple(files))


class LiveReport:
    """The report of a folder, rebuilt in a background thread while rows are asked for,
    and the page's data and detail scripts made from it.

    Args:
        runs_dir: the folder read (``dlexp.runs.index.build``'s root).
        page: the page's folder, where the detail pictures are drawn.
        interval: the least time between two rebuilds, in seconds.
    """

    def __init__(self, runs_dir: Path, page: Path, interval: float = INTERVAL_S):
        self.runs_dir, self.page, self.interval = runs_dir, page, interval
        self.report = None
        self.rows: bytes = b""
        self.etag = ""
        self.error: str | None = None  # why the last rebuild failed (the data kept is older)
        self.builds = 0
        self._asked = threading.Event()
        self._stop = threading.Event()
        self._last_ask = 0.0
        self.built_at = 0.0  # time.time() when the report's reading began
        self._lock = threading.Lock()  # the report and its rows change together
        self._built = threading.Condition(self._lock)  # notified when a report is read
        self._draw = threading.Lock()  # matplotlib draws one picture at a time
        self._details: dict[str, tuple[tuple, bytes]] = {}
        self._names: dict[str, str] = {}  # detail name -> row id
        self._thread = threading.Thread(target=self._loop, name="dlexp-serve-rows", daemon=True)
        from dlexp.runs.cache import open_index

        # one index for the server's life: the runs read again are those that changed
        self._index = open_index()

    def refresh(self):
        """Rebuild the report now (raises what building it raises) and return it."""
        from dlexp.report import explore
        from dlexp.runs.index import build

        started = time.time()
        report = build(self.runs_dir, index=self._index)
        data = explore.page_data(report)
        data["warnings"] = list(report.warnings)
        data["drawn"] = []  # the served page draws a row's pictures when it is opened
        rows = json.dumps(data, separators=(",", ":"), allow_nan=False).encode("utf-8")
        names = {explore.detail_name(e.id): e.id for e in report.entries}
        with self._lock:
            self.report, self.rows, self._names = report, rows, names
            self.etag = '"' + hashlib.sha1(rows).hexdigest()[:20] + '"'
            self.error = None
            self.builds += 1
            self.built_at = started  # what changed after this is not in this report
            self._built.notify_all()
        return report

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._asked.set()
        if self._thread.is_alive():
            self._thread.join(timeout=5)

    def ask(self) -> tuple[bytes, str]:
        """The latest rows and their ETag; asks the background thread for fresher ones."""
        self._last_ask = time.monotonic()
        self._asked.set()
        with self._lock:
            return self.rows, self.etag

    def _loop(self) -> None:
        while not self._stop.is_set():
            self._asked.wait()
            if self._stop.is_set():
                return
            if time.monotonic() - self._last_ask > IDLE_AFTER_S:
                self._asked.clear()  # nobody polls: wait for the next ask
                continue
            self._asked.clear()
            started = time.monotonic()
            try:
                self.refresh()
            except Exception as exc:  # a folder removed, a disk gone: keep the last rows
                message = describe(exc) if isinstance(exc, OSError) else str(exc)
                if message != self.error:
                    print(f"warning: the runs could not be read again: {message}", file=sys.stderr)
                self.error = message
            took = time.monotonic() - started
            self._stop.wait(max(self.interval, took))
            self._asked.set()  # once more while someone still polls (checked above)

    def detail(self, name: str) -> bytes | None:
        """The detail script ``detail/<name>`` of a row (None when no row has that name),
        its pictures drawn into the page's folder; from a report read after the row's
        runs last changed (waiting for the next one when they changed since)."""
        from dlexp.report import explore

        entry, report = self._entry(name)
        if entry is None:
            return None
        signature = _signature(entry)
        newest = max((f[1] or 0 for f in signature[1]), default=0) / 1e9
        if newest >= self.built_at:  # the run changed after this report was read
            self.ask()
            with self._built:
                self._built.wait_for(lambda: self.built_at > newest, timeout=120)
            entry, report = self._entry(name)
            if entry is None:
                return None
            signature = _signature(entry)
        cached = self._details.get(name)
        if cached is not None and cached[0] == signature:
            return cached[1]
        with self._draw:
            data = explore.draw_detail(report, entry.id, self.page)
        script = explore.detail_script(data).encode("utf-8")
        self._details[name] = (signature, script)
        return script

    def _entry(self, name: str):
        with self._lock:
            report, entry_id = self.report, self._names.get(name)
        if report is None or entry_id is None:
            return None, report
        return next(e for e in report.entries if e.id == entry_id), report
