"""`dlexp predict`: a run's model on new points, one row per point.

The model carries its preprocessing (data.standardize is its first layer), so points go
in as they are in the data's own units; a regression model's last layer (TargetScale)
puts its output back into the target's units, so ``predicted`` comes out in them.
"""

from __future__ import annotations

import csv
import io
import math
from pathlib import Path

import numpy as np

from dlexp.core.errors import ConfigError
from dlexp.runs import folder as runs


def _data(run: Path) -> dict:
    record = runs.read_run(run)
    return (record.info.data if record.info else None) or {}


def _features(run: Path) -> tuple[list[str], list[str]]:
    data = _data(run)
    names, classes = data.get("feature_names"), data.get("class_names")
    if not isinstance(names, list) or not isinstance(classes, list):
        raise ConfigError(f"{run}: run.json does not say its features and classes (not a run?)")
    return [str(n) for n in names], [str(c) for c in classes]


def targets(run: str | Path) -> list[str] | None:
    """A regression run's target names (run.json data.target_names), None for a
    classification run (an older run's run.json, which has no task, is one)."""
    data = _data(Path(run))
    if data.get("task") != "regression":
        return None
    names = data.get("target_names")
    return [str(n) for n in names] if isinstance(names, list) and names else ["target"]


def predicted_columns(names: list[str]) -> list[str]:
    """The columns a regression's predictions are given under: ``predicted`` for one
    target, ``predicted_<name>`` for each of several."""
    return ["predicted"] if len(names) == 1 else [f"predicted_{n}" for n in names]


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
    """One record per point: its features, then ``proba_<class>`` for each class and the
    ``predicted`` class; for regression ``predicted`` (``predicted_<target>`` for each of
    several targets), in the target's units.

    Raises:
        ConfigError: not a run, no model or a damaged one, points that do not fit the
            run's features, or a model whose outputs are not finite (a diverged run).
    """
    run = Path(run)
    if not (run / "run.json").is_file():
        raise ConfigError(f"{run}: not a run folder (it holds no run.json)")
    names, classes = _features(run)
    if not (run / "model.keras").is_file():
        raise ConfigError(
            f"{run}: has no model.keras (the run did not finish training, or a search pruned "
            "it: `dlexp train --from` the folder trains it in full)"
        )
    if (points is None) == (input_csv is None):
        raise ConfigError("give either --points or --input", "predict")
    x = parse_points(points, len(names)) if points is not None else read_points(input_csv, names)
    return predict_points(run, x, names, classes)


def features(run: str | Path) -> tuple[list[str], list[str]]:
    """The run's feature names and class names, as its run.json says them.

    Raises:
        ConfigError: not a run folder, or one whose run.json does not say them.
    """
    run = Path(run)
    if not (run / "run.json").is_file():
        raise ConfigError(f"{run}: not a run folder (it holds no run.json)")
    return _features(run)


def predict_points(
    run: str | Path, x: np.ndarray, names: list[str], classes: list[str], model=None
) -> list[dict]:
    """:func:`predict` for points already read (one row of ``names`` features each),
    with the run's ``model`` when it is loaded already."""
    run = Path(run)
    model = load_model(run) if model is None else model
    proba = np.asarray(model.predict(x.astype(np.float32), verbose=0), np.float64)
    if not np.isfinite(proba).all():
        raise ConfigError(_not_finite(run, int(np.argmin(np.isfinite(proba).all(axis=1))) + 1))
    regressed = targets(run)
    if regressed is not None:
        columns = predicted_columns(regressed)
        if proba.shape[1] != len(columns):
            raise ConfigError(
                f"{run}: the model has {proba.shape[1]} outputs, run.json names "
                f"{len(columns)} targets ({', '.join(regressed)}); train the run again"
            )
        return [
            {
                **{n: float(v) for n, v in zip(names, point, strict=True)},
                **{c: float(v) for c, v in zip(columns, out, strict=True)},
            }
            for point, out in zip(x, proba, strict=True)
        ]
    if proba.shape[1] == 1:  # one sigmoid unit: the probability of the second class
        proba = np.concatenate([1 - proba, proba], axis=1)
    out = []
    for point, p in zip(x, proba, strict=True):
        record = {n: float(v) for n, v in zip(names, point, strict=True)}
        record.update({f"proba_{c}": float(v) for c, v in zip(classes, p, strict=False)})
        record["predicted"] = label_value(classes[int(np.argmax(p))])
        out.append(record)
    return out


def load_model(run: str | Path):
    """The run's Keras model, loaded on dlexp's backend (so that loading imports nothing
    more).

    Raises:
        ConfigError: no model.keras, or one that Keras cannot read (truncated by a full
            disk or a copy cut short, or not a Keras file at all).
    """
    run = Path(run)
    path = run / "model.keras"
    if not path.is_file():
        raise ConfigError(
            f"{run}: has no model.keras (the run did not finish training, or a search pruned "
            "it: `dlexp train --from` the folder trains it in full)"
        )
    from dlexp import backend

    backend.setup()  # first: Keras on dlexp's backend, no TensorFlow
    import keras

    import dlexp.model.layers  # noqa: F401 - registers dlexp's layers for load_model

    try:
        return keras.models.load_model(path)
    except Exception as exc:  # noqa: BLE001 - Keras raises anything for a damaged archive
        reason = "not a complete .keras archive" if not _is_zip(path) else type(exc).__name__
        raise ConfigError(
            f"{path}: damaged or unreadable ({reason}); train the run again "
            f"(dlexp train --from {run})"
        ) from None


def _is_zip(path: Path) -> bool:
    import zipfile

    try:
        with zipfile.ZipFile(path) as zf:
            return zf.testzip() is None
    except (OSError, zipfile.BadZipFile, EOFError):
        return False


def _not_finite(run: Path, point: int) -> str:
    """Why a model whose outputs are NaN or infinite is not used (its run diverged)."""
    info = runs.read_run(run).info
    error = info.error if info is not None and info.status == runs.Status.DIVERGED else None
    why = (
        f"the run diverged ({error})" if error else "the run diverged (its weights are not finite)"
    )
    return (
        f"{run}: the model's outputs are not finite (NaN or infinity) for point {point}: "
        f"{why}; train it again, e.g. with a smaller train.learning_rate"
    )


def label_value(name: str) -> int | float | str:
    """A class as its label's own type: ``1`` for the integer label 1 (run.json keeps
    class names as text), ``2.5`` for a number, the text for a text label. Labels are
    all numbers or all text (data.read_csv refuses a mix), so the type is the data's."""
    for kind in (int, float):
        try:
            value = kind(name)
        except ValueError:
            continue
        if math.isfinite(value):
            return value
    return name


def to_csv(records: list[dict]) -> str:
    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=list(records[0]), lineterminator="\n")
    writer.writeheader()
    writer.writerows(records)
    return buf.getvalue()
