"""`dlexp predict`: a run's model on new points, one row per point.

The model carries its preprocessing (data.standardize is its first layer), so points go
in as they are in the data's own units.
"""

from __future__ import annotations

import csv
import io
import math
from pathlib import Path

import numpy as np

from dlexp import runs
from dlexp.errors import ConfigError


def _features(run: Path) -> tuple[list[str], list[str]]:
    record = runs.read_run(run)
    data = (record.info.data if record.info else None) or {}
    names, classes = data.get("feature_names"), data.get("class_names")
    if not isinstance(names, list) or not isinstance(classes, list):
        raise ConfigError(f"{run}: run.json does not say its features and classes (not a run?)")
    return [str(n) for n in names], [str(c) for c in classes]


def parse_points(text: str, n_features: int) -> np.ndarray:
    """``"0.5,-0.2;1,0"``: points separated by ';', features by ','."""
    rows = []
    for i, chunk in enumerate(p for p in text.split(";") if p.strip()):
        cells = [c.strip() for c in chunk.split(",")]
        if len(cells) != n_features:
            raise ConfigError(
                f"point {i + 1} {chunk.strip()!r}: expected {n_features} numbers, got {len(cells)}",
                "--points",
            )
        rows.append([_number(c, f"--points: point {i + 1}") for c in cells])
    if not rows:
        raise ConfigError("expected points such as '0.5,-0.2;1,0', got none", "--points")
    return np.asarray(rows, np.float64)


def read_points(path: str | Path, names: list[str]) -> np.ndarray:
    """The feature columns of a CSV file, matched by name (other columns are ignored)."""
    from dlexp.data import MAX_CSV_BYTES

    path = Path(path)
    if not path.is_file():
        raise ConfigError(f"{path}: not a regular file, expected a CSV file", "--input")
    if path.stat().st_size > MAX_CSV_BYTES:
        raise ConfigError(f"{path}: larger than {MAX_CSV_BYTES:,} bytes", "--input")
    try:
        rows = list(csv.reader(path.open(newline="", encoding="utf-8-sig")))
    except (OSError, UnicodeDecodeError, csv.Error) as exc:
        raise ConfigError(f"{path}: cannot be read as CSV ({exc})", "--input") from None
    rows = [r for r in rows if any(c.strip() for c in r)]
    if len(rows) < 2:
        raise ConfigError(f"{path}: expected a header row and at least one point", "--input")
    header = [h.strip() for h in rows[0]]
    missing = [n for n in names if n not in header]
    if missing:
        raise ConfigError(
            f"{path}: no column {missing[0]!r}; the run's features are {', '.join(names)}",
            "--input",
        )
    cols = [header.index(n) for n in names]
    out = []
    for line, row in enumerate(rows[1:], start=2):
        if len(row) != len(header):
            raise ConfigError(f"{path}: line {line}: expected {len(header)} cells, got {len(row)}")
        out.append(
            [
                _number(row[c], f"{path}: line {line}, column {names[j]!r}")
                for j, c in enumerate(cols)
            ]
        )
    return np.asarray(out, np.float64)


def _number(text: str, where: str) -> float:
    try:
        value = float(text)
    except ValueError:
        value = math.nan
    if not math.isfinite(value):
        raise ConfigError(f"{where}: expected a number, got {text.strip()!r}")
    return value


def predict(run: str | Path, points: str | None = None, input_csv: str | None = None) -> list[dict]:
    """One record per point: its features, ``proba_<class>`` for each class, ``predicted``.

    Raises:
        ConfigError: not a run, no model, or points that do not fit the run's features.
    """
    run = Path(run)
    if not (run / "run.json").is_file():
        raise ConfigError(f"{run}: not a run folder (it holds no run.json)")
    names, classes = _features(run)
    if not (run / "model.keras").is_file():
        raise ConfigError(f"{run}: has no model.keras (the run did not finish training)")
    if (points is None) == (input_csv is None):
        raise ConfigError("give either --points or --input", "predict")
    x = parse_points(points, len(names)) if points is not None else read_points(input_csv, names)
    import keras

    import dlexp.layers  # noqa: F401 - registers dlexp's layers for load_model
    from dlexp import training  # noqa: F401 - first: Keras on dlexp's backend, no TensorFlow

    model = keras.models.load_model(run / "model.keras")
    proba = np.asarray(model.predict(x.astype(np.float32), verbose=0), np.float64)
    if proba.shape[1] == 1:  # one sigmoid unit: the probability of the second class
        proba = np.concatenate([1 - proba, proba], axis=1)
    out = []
    for point, p in zip(x, proba, strict=True):
        record = {n: float(v) for n, v in zip(names, point, strict=True)}
        record.update({f"proba_{c}": float(v) for c, v in zip(classes, p, strict=False)})
        record["predicted"] = classes[int(np.argmax(p))]
        out.append(record)
    return out


def to_csv(records: list[dict]) -> str:
    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=list(records[0]), lineterminator="\n")
    writer.writeheader()
    writer.writerows(records)
    return buf.getvalue()
