"""A user's CSV file as points and class labels (``data.kind: csv``).

(``import csv`` below is the standard library's: imports are absolute.)
"""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np

from dlexp.core.errors import ConfigError, show

MAX_CSV_BYTES = 100 << 20  # a CSV of points this tool trains small networks on


def _number(text: str) -> float | None:
    try:
        value = float(text)
    except ValueError:
        return None
    return value


def read_csv(path: str | Path, target: str, features: list[str] | None):
    """Read feature columns and a target column from a CSV file with a header row.

    Features must be numeric; the target may hold numbers or text labels (not a mix).

    Returns:
        (x, y, feature_names, class_names) with y as integer codes of sorted labels.
    """
    path = Path(path)
    if path.exists() and not path.is_file():
        raise ConfigError(f"{str(path)!r} is not a regular file, expected a CSV file", "data.path")
    if path.is_file() and path.stat().st_size > MAX_CSV_BYTES:
        raise ConfigError(
            f"{str(path)!r} holds {path.stat().st_size:,} bytes; expected a CSV file of at most "
            f"{MAX_CSV_BYTES:,} bytes",
            "data.path",
        )
    try:
        with path.open(newline="", encoding="utf-8-sig") as f:
            rows = list(csv.reader(f))
    except FileNotFoundError:
        raise ConfigError(f"data.path: file not found: {str(path)!r}") from None
    except (OSError, UnicodeDecodeError, csv.Error) as exc:
        raise ConfigError(f"data.path: cannot read {str(path)!r} as CSV ({exc})") from None
    rows = [r for r in rows if any(cell.strip() for cell in r)]
    if len(rows) < 2:
        raise ConfigError(f"{path}: expected a header row and at least one data row")
    header = [h.strip() for h in rows[0]]
    twice = next((h for i, h in enumerate(header) if h in header[:i]), None)
    if twice is not None:
        raise ConfigError(f"{path}: the column {twice!r} appears twice in the header")
    if target not in header:
        raise ConfigError(
            f"data.target: column {target!r} is not in {path.name}; columns: {', '.join(header)}"
        )
    names = features if features is not None else [h for h in header if h != target]
    missing = [n for n in names if n not in header]
    if missing:
        raise ConfigError(
            f"data.features: column {missing[0]!r} is not in {path.name}; "
            f"columns: {', '.join(header)}"
        )
    if target in names:
        raise ConfigError(f"data.features: the target column {target!r} cannot be a feature")
    if not names:
        raise ConfigError(f"{path}: no feature columns besides the target {target!r}")
    cols = [header.index(n) for n in names]
    tcol = header.index(target)
    x = np.empty((len(rows) - 1, len(cols)), dtype=np.float64)
    labels = []
    for i, row in enumerate(rows[1:], start=2):
        if len(row) != len(header):
            raise ConfigError(f"{path}: line {i}: expected {len(header)} cells, got {len(row)}")
        for j, c in enumerate(cols):
            value = _number(row[c].strip())
            if value is None or not np.isfinite(value):
                raise ConfigError(
                    f"{path}: line {i}, column {names[j]!r}: expected a number, got {show(row[c])}"
                )
            x[i - 2, j] = value
        labels.append(row[tcol].strip())
    numeric = [_number(v) for v in labels]
    if all(v is not None for v in numeric):
        keys = numeric
    elif any(v is not None for v in numeric):
        line = 2 + next(i for i, v in enumerate(numeric) if v is None)
        raise ConfigError(
            f"{path}: line {line}, column {target!r}: expected a number like the other labels, "
            f"got {show(labels[line - 2])}"
        )
    else:
        keys = labels
    classes = sorted(set(keys))
    if len(classes) < 2:
        raise ConfigError(f"{path}: column {target!r} holds a single class; expected at least 2")
    code = {c: i for i, c in enumerate(classes)}
    y = np.array([code[k] for k in keys], dtype=np.int64)
    class_names = [f"{c:g}" if isinstance(c, float) else str(c) for c in classes]
    return x, y, names, class_names
