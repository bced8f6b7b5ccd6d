"""Plain files written atomically: JSON, CSV and bytes.

Each file is written to a temporary name in the same folder and renamed over the
final name, so a crash or Ctrl-C leaves either the previous complete file or the new
complete one, never half a file. No heavy imports: the report and ``--help`` use it.
"""

from __future__ import annotations

import csv
import enum
import io
import json
import math
import os
import secrets
from contextlib import contextmanager
from pathlib import Path
from typing import Any


@contextmanager
def atomic_path(path: str | Path):
    """Yield a temporary path beside ``path``; rename it over ``path`` if the block succeeds.

    An OSError that names no file (a write to a full disk) is raised naming ``path``."""
    path = Path(path)
    tmp = path.with_name(f".{path.stem}.tmp-{os.getpid()}-{secrets.token_hex(3)}{path.suffix}")
    try:
        yield tmp
        os.replace(tmp, path)
    except OSError as exc:
        if exc.filename is not None or exc.errno is None:
            raise
        raise OSError(exc.errno, exc.strerror, str(path)) from exc
    finally:
        if tmp.exists():
            tmp.unlink()


def atomic_write(path: str | Path, data: str | bytes) -> None:
    """Write text or bytes to ``path`` atomically."""
    with atomic_path(path) as tmp:
        with open(tmp, "wb") as f:
            f.write(data.encode("utf-8") if isinstance(data, str) else data)


def jsonable(value: Any) -> Any:
    """Plain JSON: NumPy scalars become numbers, NaN and infinities null, sets lists,
    enums their value, anything else JSON lacks (a date YAML read, say) its text."""
    if isinstance(value, enum.Enum):
        value = value.value
    if isinstance(value, dict):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple, set, frozenset)):
        return [jsonable(v) for v in value]
    if hasattr(value, "item") and callable(value.item):  # NumPy scalar or 0-d array
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    return str(value)


def write_json(path: str | Path, obj: Any) -> None:
    atomic_write(path, json.dumps(jsonable(obj), indent=2, allow_nan=False) + "\n")


def read_json(path: str | Path) -> Any:
    with open(path, encoding="utf-8") as f:
        return json.load(f)


def csv_text(rows: list[dict], columns: list[str] | None = None) -> str:
    """Rows of dicts as CSV with a header; columns default to the keys in first-seen order.

    Empty for None, true/false for booleans, ``repr`` for floats (every digit kept),
    JSON for lists and mappings.
    """
    if columns is None:
        columns = list(dict.fromkeys(k for row in rows for k in row))
    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=columns, extrasaction="ignore", lineterminator="\n")
    writer.writeheader()
    for row in rows:
        writer.writerow({k: _csv_cell(row.get(k)) for k in columns})
    return buf.getvalue()


def write_csv(path: str | Path, rows: list[dict], columns: list[str] | None = None) -> None:
    atomic_write(path, csv_text(rows, columns))


def _csv_cell(value: Any) -> Any:
    if isinstance(value, enum.Enum):
        value = value.value
    if value is None:
        return ""
    if isinstance(value, bool):  # as JSON and YAML write them
        return "true" if value else "false"
    if isinstance(value, float):
        return repr(value)
    if isinstance(value, (dict, list)):
        return json.dumps(value)
    return value
