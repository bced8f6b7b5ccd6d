"""The run store: one folder of plain files per run, every file written atomically.

A run folder holds ``config.yaml``, ``run.json``, ``history.csv``, ``metrics.json``,
``model.keras`` and, for 2D data, ``boundary.npz``. Each file is written to a
temporary name in the same folder and renamed over the final name, so a crash or
Ctrl-C leaves either the previous complete file or the new complete one.
No TensorFlow here: ``dlexp report`` reads runs through this module.
"""

from __future__ import annotations

import csv
import io
import json
import math
import os
import platform
import re
import secrets
import time
from contextlib import contextmanager
from datetime import datetime, timezone
from importlib import metadata
from pathlib import Path
from typing import Any

from dlexp.errors import ConfigError

RUN_FILES = ("config.yaml", "run.json", "history.csv", "metrics.json", "model.keras")
STATUSES = ("running", "completed", "failed", "interrupted", "diverged")


@contextmanager
def atomic_path(path: str | Path):
    """Yield a temporary path beside ``path``; rename it over ``path`` if the block succeeds."""
    path = Path(path)
    tmp = path.with_name(f".{path.stem}.tmp-{os.getpid()}-{secrets.token_hex(3)}{path.suffix}")
    try:
        yield tmp
        os.replace(tmp, path)
    finally:
        if tmp.exists():
            tmp.unlink()


def atomic_write(path: str | Path, data: str | bytes) -> None:
    """Write text or bytes to ``path`` atomically."""
    with atomic_path(path) as tmp:
        with open(tmp, "wb") as f:
            f.write(data.encode("utf-8") if isinstance(data, str) else data)


def jsonable(value: Any) -> Any:
    """Plain JSON: NumPy scalars become numbers, NaN and infinities become null."""
    if isinstance(value, dict):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [jsonable(v) for v in value]
    if hasattr(value, "item") and callable(value.item):  # NumPy scalar or 0-d array
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def write_json(path: str | Path, obj: Any) -> None:
    atomic_write(path, json.dumps(jsonable(obj), indent=2, allow_nan=False) + "\n")


def write_csv(path: str | Path, rows: list[dict], columns: list[str] | None = None) -> None:
    """Rows of dicts as CSV with a header; columns default to the keys in first-seen order."""
    if columns is None:
        columns = list(dict.fromkeys(k for row in rows for k in row))
    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=columns, extrasaction="ignore", lineterminator="\n")
    writer.writeheader()
    for row in rows:
        writer.writerow({k: _csv_cell(row.get(k)) for k in columns})
    atomic_write(path, buf.getvalue())


def _csv_cell(value: Any) -> Any:
    if value is None:
        return ""
    if isinstance(value, float):
        return repr(value)
    if isinstance(value, (dict, list)):
        return json.dumps(value)
    return value


def read_json(path: str | Path) -> Any:
    with open(path, encoding="utf-8") as f:
        return json.load(f)


def slug(name: str) -> str:
    """A name made safe for a folder name."""
    return re.sub(r"[^A-Za-z0-9_.-]+", "-", name).strip("-.") or "run"


def now_iso() -> str:
    return datetime.now(timezone.utc).astimezone().isoformat(timespec="seconds")


def versions(backend: str | None = None) -> dict[str, str | None]:
    """Versions of Python and of the libraries a run depends on (read without importing)."""
    out: dict[str, str | None] = {"python": platform.python_version()}
    for dist in ("dlexp", "keras", "tensorflow", "jax", "jaxlib", "keras-tuner", "numpy",
                 "scikit-learn"):  # fmt: skip
        try:
            out[dist] = metadata.version(dist)
        except metadata.PackageNotFoundError:
            out[dist] = None
    if backend:
        out["keras_backend"] = backend
    return out


class Run:
    """One run folder and the files in it."""

    def __init__(self, path: str | Path):
        self.path = Path(path)

    @property
    def id(self) -> str:
        return self.path.name

    def file(self, name: str) -> Path:
        return self.path / name

    def write_json(self, name: str, obj: Any) -> None:
        write_json(self.file(name), obj)

    def write_text(self, name: str, text: str) -> None:
        atomic_write(self.file(name), text)

    def write_csv(self, name: str, rows: list[dict], columns: list[str] | None = None) -> None:
        write_csv(self.file(name), rows, columns)

    def save_npz(self, name: str, **arrays: Any) -> None:
        import numpy as np

        buf = io.BytesIO()
        np.savez_compressed(buf, **arrays)
        atomic_write(self.file(name), buf.getvalue())

    def save_model(self, model: Any, name: str = "model.keras") -> None:
        with atomic_path(self.file(name)) as tmp:
            model.save(tmp)


def create_run(runs_dir: str | Path, name: str) -> Run:
    """Make a new, empty run folder ``RUNS_DIR/<time>-<name>-<random>``.

    The id is unique even for runs started in the same second by several processes:
    ``os.mkdir`` fails if the folder exists, and then another random suffix is drawn.
    """
    runs_dir = Path(runs_dir)
    try:
        runs_dir.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise ConfigError(f"--runs-dir: cannot create {str(runs_dir)!r} ({exc.strerror})") from None
    stamp = time.strftime("%Y%m%d-%H%M%S")
    while True:
        path = runs_dir / f"{stamp}-{slug(name)}-{secrets.token_hex(3)}"
        try:
            path.mkdir()
            return Run(path)
        except FileExistsError:
            continue
