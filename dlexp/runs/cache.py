"""An index of parsed run folders, so that reading a thousand runs does not parse a
thousand YAML files each time (``dlexp report``, ``dlexp serve``).

Each run folder's parsed files (run.json, metrics.json, config.yaml, history.csv) are
kept with the size, modification time and inode of each file; a folder whose files
changed is read again. The index is a cache and never the only copy of anything: it
lives outside the runs (``$DLEXP_INDEX_DIR``, else ``$XDG_CACHE_HOME/dlexp``, else
``~/.cache/dlexp``; an empty ``DLEXP_INDEX_DIR`` turns it off), so that a read-only
runs folder, a search folder or one run folder are indexed too and ``dlexp serve``
writes nothing under the runs: one SQLite file
(the standard library's), rebuilt from the folders when it is missing, damaged or of
another version, and skipped when it cannot be written. A run whose files changed in
the last seconds is not kept (a second write within the clock's resolution would go
unseen), so a running trial is always read afresh.
"""

from __future__ import annotations

import json
import os
import sqlite3
import time
from pathlib import Path

VERSION = 1
FILES = ("run.json", "metrics.json", "config.yaml", "history.csv")
SETTLED_S = 2.0  # files older than this are kept in the index
MAX_ROWS = 200_000  # past this the index starts over (folders long gone)


def cache_dir() -> Path | None:
    """Where the index lives (None: nowhere, the folders are read each time)."""
    if "DLEXP_INDEX_DIR" in os.environ:
        value = os.environ["DLEXP_INDEX_DIR"].strip()
        return Path(value) if value else None
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base) / "dlexp"


def signature(folder: Path) -> tuple[str, bool]:
    """The stats of a run folder's files, and whether they have settled (none changed
    in the last SETTLED_S seconds)."""
    parts, newest = [], 0
    for name in FILES:
        try:
            st = os.stat(folder / name)
        except OSError:
            parts.append("-")
            continue
        parts.append(f"{st.st_size}:{st.st_mtime_ns}:{st.st_ino}")
        newest = max(newest, st.st_mtime_ns)
    return "|".join(parts), time.time_ns() - newest > SETTLED_S * 1e9


class Index:
    """Parsed run folders by path. ``path=None`` keeps them in memory only (``dlexp
    serve`` holds one for its lifetime)."""

    def __init__(self, path: Path | None = None):
        self.path = path
        self.rows: dict[str, tuple[str, str]] = {}  # folder -> (signature, JSON)
        self.changed: dict[str, tuple[str, str]] = {}
        self.seen: set[str] = set()
        if path is not None:
            self._load()

    def _connect(self) -> sqlite3.Connection:
        assert self.path is not None
        self.path.parent.mkdir(parents=True, exist_ok=True)
        db = sqlite3.connect(self.path, timeout=1.0)
        db.execute("CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT)")
        db.execute("CREATE TABLE IF NOT EXISTS runs (folder TEXT PRIMARY KEY, sig TEXT, data TEXT)")
        return db

    def _load(self) -> None:
        """Read the whole index; a damaged one or one of another version is removed
        (it is rebuilt from the folders), an unreadable place means no index."""
        for attempt in (1, 2):
            try:
                db = self._connect()
                try:
                    version = db.execute("SELECT value FROM meta WHERE key='version'").fetchone()
                    if version is not None and version[0] != str(VERSION):
                        raise sqlite3.DatabaseError(f"index version {version[0]}")
                    self.rows = {f: (s, d) for f, s, d in db.execute("SELECT * FROM runs")}
                finally:
                    db.close()
                return
            except sqlite3.DatabaseError:
                self.rows = {}
                if attempt == 2 or not self._remove():
                    break
            except OSError:
                break
        self.path = None  # cannot be used: read the folders as if there were none

    def _remove(self) -> bool:
        try:
            for suffix in ("", "-journal", "-wal", "-shm"):
                Path(str(self.path) + suffix).unlink(missing_ok=True)
            return True
        except OSError:
            return False

    def get(self, folder: Path) -> tuple[str, bool, dict | None]:
        """(signature, settled, the parsed files if the index holds them as they are)."""
        key = str(folder)
        self.seen.add(key)
        sig, settled = signature(folder)
        row = self.rows.get(key)
        if row is not None and row[0] == sig:
            try:
                return sig, settled, json.loads(row[1])
            except ValueError:
                pass
        return sig, settled, None

    def put(self, folder: Path, sig: str, data: dict) -> None:
        """Keep a folder's parsed files, when JSON gives them back exactly as they are
        (a config with a date in it, say, is read from its folder each time)."""
        try:
            text = json.dumps(data)
        except (TypeError, ValueError):
            return
        if json.loads(text) != data:
            return
        self.rows[str(folder)] = self.changed[str(folder)] = (sig, text)

    def save(self, under: Path | None = None) -> None:
        """Write what changed, and forget the folders under ``under`` that are gone. A
        failure (a locked, full or read-only place) leaves the index as it was."""
        gone = []
        if under is not None:
            prefix = str(under).rstrip(os.sep) + os.sep
            gone = [f for f in self.rows if f.startswith(prefix) and f not in self.seen]
            for f in gone:
                del self.rows[f]
        if self.path is None or not (self.changed or gone):
            self.changed = {}
            return
        try:
            db = self._connect()
            try:
                with db:
                    if len(self.rows) > MAX_ROWS:
                        db.execute("DELETE FROM runs")
                    db.execute("INSERT OR REPLACE INTO meta VALUES ('version', ?)", (str(VERSION),))
                    db.executemany(
                        "INSERT OR REPLACE INTO runs VALUES (?, ?, ?)",
                        [(f, s, d) for f, (s, d) in self.changed.items()],
                    )
                    db.executemany("DELETE FROM runs WHERE folder = ?", [(f,) for f in gone])
            finally:
                db.close()
        except (sqlite3.Error, OSError):
            pass
        self.changed = {}


def open_index() -> Index:
    """The machine's index of run folders (in memory only when there is no place for it)."""
    where = cache_dir()
    return Index(None if where is None else where / f"runs-index-v{VERSION}.sqlite")


MEMO_ROWS = 10_000  # past this the memo starts over


def memoized(kind: str, inputs, compute):
    """``compute()``, kept in the machine's cache under ``kind`` and a digest of
    ``inputs`` (JSON): for what is slow to compute from the rows and the same for the
    same rows (a search's permutation importances). Without a usable cache, computed."""
    import hashlib

    key = f"{kind}:{hashlib.sha256(json.dumps(inputs, sort_keys=True).encode()).hexdigest()}"
    where = cache_dir()
    path = None if where is None else where / f"memo-v{VERSION}.sqlite"
    db = None
    if path is not None:
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            db = sqlite3.connect(path, timeout=1.0)
            db.execute("CREATE TABLE IF NOT EXISTS memo (key TEXT PRIMARY KEY, data TEXT)")
            row = db.execute("SELECT data FROM memo WHERE key = ?", (key,)).fetchone()
            if row is not None:
                db.close()
                return json.loads(row[0])
        except (sqlite3.Error, OSError, ValueError):
            if db is not None:
                db.close()
            db = None
            if path.exists():  # damaged: it is only a cache
                try:
                    path.unlink()
                except OSError:
                    pass
    value = compute()
    if db is not None:
        try:
            with db:
                if db.execute("SELECT count(*) FROM memo").fetchone()[0] > MEMO_ROWS:
                    db.execute("DELETE FROM memo")
                db.execute("INSERT OR REPLACE INTO memo VALUES (?, ?)", (key, json.dumps(value)))
        except (sqlite3.Error, OSError, TypeError, ValueError):
            pass
        finally:
            db.close()
    return value
