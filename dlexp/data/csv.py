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


def _targets(target: str | list[str]) -> list[str]:
    return [target] if isinstance(target, str) else list(target)


def read_table(path: str | Path, target: str | list[str], features: list[str] | None):
    """Read feature columns and the target column(s) from a CSV file with a header row.

    Features must be numeric. Returns (x, labels, feature_names): labels holds each
    target column's cells as text (a list per column)."""
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
    targets = _targets(target)
    for t in targets:
        if t not in header:
            raise ConfigError(
                f"data.target: column {t!r} is not in {path.name}; columns: {', '.join(header)}"
            )
    names = features if features is not None else [h for h in header if h not in targets]
    missing = [n for n in names if n not in header]
    if missing:
        raise ConfigError(
            f"data.features: column {missing[0]!r} is not in {path.name}; "
            f"columns: {', '.join(header)}"
        )
    inside = [t for t in targets if t in names]
    if inside:
        raise ConfigError(f"data.features: the target column {inside[0]!r} cannot be a feature")
    if not names:
        raise ConfigError(f"{path}: no feature columns besides the target {target!r}")
    cols = [header.index(n) for n in names]
    tcols = [header.index(t) for t in targets]
    x = np.empty((len(rows) - 1, len(cols)), dtype=np.float64)
    labels: list[list[str]] = [[] for _ in targets]
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
        for column, c in zip(labels, tcols, strict=True):
            column.append(row[c].strip())
    return x, labels, names


MAX_CLASSES = 1000  # distinct labels a target learned as classes may hold


def _kind_of(path: Path, target: str, labels: list[str]) -> str:
    """'text', 'integers' or 'reals' (numbers not all integers); a mix is refused."""
    numeric = [_number(v) for v in labels]
    if all(v is not None for v in numeric):
        finite = all(np.isfinite(v) for v in numeric)
        if finite and all(float(v).is_integer() for v in numeric):
            return "integers"
        return "reals"
    if any(v is not None for v in numeric):
        line = 2 + next(i for i, v in enumerate(numeric) if v is None)
        raise ConfigError(
            f"{path}: line {line}, column {target!r}: expected a number like the other labels, "
            f"got {show(labels[line - 2])}"
        )
    return "text"


def target_task(
    path: str | Path, target: str | list[str], asked: str, features: list[str] | None = None
) -> str:
    """The task a CSV's target is learned as: ``asked``, checked against the column
    (regression needs numbers; classification labels, one column: config.resolve
    refuses several before the file is read), or for ``auto``
    regression when the numbers are not all integers (or there are several targets).

    Raises:
        ConfigError: naming data.target, when the target cannot be learned as asked.
    """
    path = Path(path)
    _, labels, _ = _cached(path, target, features)
    targets = _targets(target)
    kinds = [_kind_of(path, t, col) for t, col in zip(targets, labels, strict=True)]
    distinct = len(set(labels[0]))
    if asked == "auto":
        if kinds[0] == "integers" and len(targets) == 1 and distinct > _most_classes(labels[0]):
            raise ConfigError(
                f"column {target!r} of {path.name} holds {distinct} distinct integers in "
                f"{len(labels[0])} rows, too many to be classes for data.task auto; expected "
                "data.task: regression to regress them (or classification to learn each as "
                "a class)",
                "data.target",
            )
        asked = "regression" if _auto_regresses(targets, kinds) else "classification"
    if asked == "regression":
        for t, kind in zip(targets, kinds, strict=True):
            if kind == "text":
                raise ConfigError(
                    f"column {t!r} of {path.name} holds text labels; data.task regression "
                    "expects numbers (data.task: classification learns labels)",
                    "data.target",
                )
        return "regression"
    if kinds[0] == "reals" and distinct > _most_classes(labels[0]):
        raise ConfigError(
            f"column {target!r} of {path.name} holds {distinct} distinct numbers in "
            f"{len(labels[0])} rows; data.task classification expects class labels "
            "(data.task: regression learns numbers)",
            "data.target",
        )
    return "classification"


def _auto_regresses(targets: list[str], kinds: list[str]) -> str | None:
    """Why data.task auto regresses a CSV's target (several columns, or numbers that are
    not all integers); None when it learns classes."""
    if len(targets) > 1:
        return f"{len(targets)} target columns, {', '.join(map(repr, targets))}"
    if kinds[0] == "reals":
        return f"column {targets[0]!r} holds numbers that are not all integers"
    return None


def regression_note(path: str | Path, target: str | list[str], features=None) -> str:
    """What a run's summary says of a CSV regressed: why auto chose it, or that
    data.task asked for it (a column of integers)."""
    path = Path(path)
    _, labels, _ = _cached(path, target, features)
    targets = _targets(target)
    kinds = [_kind_of(path, t, col) for t, col in zip(targets, labels, strict=True)]
    why = _auto_regresses(targets, kinds)
    return f"auto: {why}" if why else f"data.task: regression of column {targets[0]!r}"


def _most_classes(labels: list[str]) -> int:
    """The most distinct labels a column of numbers may hold and be learned as classes:
    half its rows, at most MAX_CLASSES."""
    return min(MAX_CLASSES, len(labels) // 2)


_CACHE: dict = {}


def _cached(path: Path, target, features=None):
    """read_table, kept for a file unchanged since (a search resolves many configs)."""
    try:
        st = path.stat()
        key = (str(path), st.st_size, st.st_mtime_ns, str(target), str(features))
    except OSError:
        key = None
    if key is not None and key in _CACHE:
        return _CACHE[key]
    out = read_table(path, target, features)
    if key is not None:
        _CACHE.clear()
        _CACHE[key] = out
    return out


def read_csv(
    path: str | Path,
    target: str | list[str],
    features: list[str] | None,
    task: str = "classification",
):
    """Read feature columns and a target column from a CSV file with a header row.

    Features must be numeric. For classification the target may hold numbers or text
    labels (not a mix); for regression numbers, in one column or several.

    Returns:
        (x, y, feature_names, class_names): for classification y as integer codes of
        sorted labels; for regression y as float32 rows of the target column(s), and
        class_names empty.
    """
    path = Path(path)
    x, labels, names = _cached(path, target, features)
    target_task(path, target, task, features)  # the task checked against the column(s)
    if task == "regression":
        targets = _targets(target)
        y = np.array([[float(v) for v in col] for col in labels], np.float64).T
        bad = np.argwhere(~np.isfinite(y))
        if len(bad):
            row, col = bad[0]
            raise ConfigError(
                f"{path}: line {row + 2}, column {targets[col]!r}: expected a finite number, "
                f"got {show(labels[col][row])}"
            )
        return x, y.astype(np.float32), names, []
    labels = labels[0]
    numeric = [_number(v) for v in labels]
    keys = numeric if all(v is not None for v in numeric) else labels
    classes = sorted(set(keys))
    if len(classes) < 2:
        raise ConfigError(f"{path}: column {target!r} holds a single class; expected at least 2")
    code = {c: i for i, c in enumerate(classes)}
    y = np.array([code[k] for k in keys], dtype=np.int64)
    class_names = [f"{c:g}" if isinstance(c, float) else str(c) for c in classes]
    return x, y, names, class_names
