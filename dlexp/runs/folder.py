"""The run folder: writing it. Its schema is :mod:`dlexp.runs.schema`, reading it back
:mod:`dlexp.runs.read`; both are re-exported here, so ``from dlexp.runs import folder as
runs`` gives ``runs.Status``, ``runs.read_run`` and the rest.

A run folder holds ``config.yaml``, ``run.json``, ``history.csv``, ``metrics.json``,
``model.keras`` and, for 2D data, ``boundary.npz``; every file is written atomically
(``dlexp.core.files``). No TensorFlow here: ``dlexp report`` reads runs through it.
"""

from __future__ import annotations

import io
import secrets
import time
from pathlib import Path
from typing import Any

from dlexp.core.errors import ConfigError
from dlexp.core.files import atomic_path, atomic_write, write_csv, write_json
from dlexp.runs.read import (
    MACHINE_ERRORS,
    MAX_FILE_BYTES,
    STALE_AFTER_S,
    RunRecord,
    aggregate,
    metric_keys,
    read_run,
)
from dlexp.runs.schema import (
    SPLITS,
    VERSIONED,
    Metrics,
    RunInfo,
    Status,
    TextEnum,
    direction,
    group_status,
    is_finished,
    now_iso,
    objective_key,
    rank,
    run_names,
    slug,
    trial_name,
    trial_of,
    trial_width,
    versions,
)

__all__ = [
    # the schema (dlexp.runs.schema)
    "SPLITS",
    "VERSIONED",
    "Metrics",
    "RunInfo",
    "Status",
    "TextEnum",
    "direction",
    "group_status",
    "is_finished",
    "now_iso",
    "objective_key",
    "rank",
    "run_names",
    "slug",
    "trial_name",
    "trial_of",
    "trial_width",
    "versions",
    # reading back (dlexp.runs.read)
    "MACHINE_ERRORS",
    "MAX_FILE_BYTES",
    "STALE_AFTER_S",
    "RunRecord",
    "aggregate",
    "metric_keys",
    "read_run",
    # the atomic writes a run folder's files use (dlexp.core.files)
    "atomic_path",
    "atomic_write",
    "write_csv",
    "write_json",
    # writing (here)
    "Run",
    "create_run",
    "write_failed",
]

# ---------------------------------------------------------------------------
# Writing a run folder
# ---------------------------------------------------------------------------


class Run:
    """One run folder and the files in it, each written atomically."""

    def __init__(self, path: str | Path, run_id: str | None = None):
        self.path = Path(path)
        # A search trial is trained in a temporary folder and renamed when it ends:
        # its id is the final name, not the temporary one.
        self.id = run_id or self.path.name

    def file(self, name: str) -> Path:
        return self.path / name

    def write_json(self, name: str, obj: Any) -> None:
        write_json(self.file(name), obj)

    def write_text(self, name: str, text: str) -> None:
        atomic_write(self.file(name), text)

    def write_csv(self, name: str, rows: list[dict], columns: list[str] | None = None) -> None:
        write_csv(self.file(name), rows, columns)

    def write_config(self, cfg: dict) -> None:
        from dlexp.core import yamlio

        self.write_text("config.yaml", yamlio.dump(cfg))

    def write_info(self, info: RunInfo) -> None:
        self.write_json("run.json", info.to_json())

    def write_metrics(self, metrics: Metrics) -> None:
        self.write_json("metrics.json", metrics.to_json())

    def save_npz(self, name: str, **arrays: Any) -> None:
        """Arrays as an .npz file (np.load reads it; ``read_npz`` decodes what ``pack``
        packed), deflated at zlib's level 6: for a trial's packed learning.npz and
        boundary.npz 48 KB in 20 ms, against 58 KB in 11 ms at level 1 (and 9's 80 ms
        for 0.3 KB less)."""
        import zipfile

        import numpy as np

        buf = io.BytesIO()
        with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED, compresslevel=6) as zf:
            for key, value in arrays.items():
                with zf.open(f"{key}.npy", "w") as f:
                    np.lib.format.write_array(f, np.asanyarray(value), allow_pickle=False)
        atomic_write(self.file(name), buf.getvalue())

    def save_model(self, model: Any, name: str = "model.keras") -> None:
        with atomic_path(self.file(name)) as tmp:
            model.save(tmp)


RANGE, AXES = "__range", "__axes"  # a packed array's companions: ``pack``, ``read_npz``


def pack(name: str, a: Any, axes: tuple[int, ...], dtype: str = "uint8") -> dict:
    """An array of floats as unsigned integers spanning each slice's own min to max
    (``axes``: the axes a slice spans, e.g. a plane's rows and columns), for
    ``read_npz`` to decode to within about half a step of that range (1/510 of it for uint8,
    1/131070 for uint16): a colour map, a contour or a scatter of it looks the same.

    Stored as ``name`` (the integers with ``axes`` moved last, each value the
    difference from the one before it along the last, modulo the dtype: a smooth plane
    then deflates to a fraction), ``name + RANGE`` (float32 ``[min, max]`` stacked on a
    first axis, each with ``axes`` kept as 1s) and ``name + AXES`` (``axes``). An array
    with NaN or inf (a diverged run's) is kept as float32."""
    import numpy as np

    a = np.asarray(a, np.float32)
    if a.size == 0 or not np.isfinite(a).all():
        return {name: a}
    axes = tuple(ax % a.ndim for ax in axes)
    lo = a.min(axis=axes, keepdims=True)
    hi = a.max(axis=axes, keepdims=True)
    levels = np.iinfo(dtype).max
    step = np.where(hi > lo, (hi - lo) / levels, 1.0)
    q = np.clip(np.rint((a - lo) / step), 0, levels).astype(dtype)
    q = np.moveaxis(q, axes, range(-len(axes), 0))
    q = np.diff(q, axis=-1, prepend=np.zeros_like(q[..., :1]))  # wraps in the dtype
    bounds = np.stack([lo, hi]).astype(np.float32)
    return {name: np.ascontiguousarray(q), name + RANGE: bounds, name + AXES: np.int8(axes)}


def unpack(arrays: dict) -> dict:
    """``arrays`` (an .npz's) with each packed one (``pack``) decoded to float32 and its
    companions gone; arrays from before packing (floats) pass as they are."""
    import numpy as np

    out = {k: v for k, v in arrays.items() if not k.endswith((RANGE, AXES))}
    for key, q in out.items():
        if key + RANGE not in arrays or key + AXES not in arrays or q.dtype.kind != "u":
            continue
        axes = [int(ax) for ax in np.atleast_1d(arrays[key + AXES])]
        q = np.cumsum(q, axis=-1, dtype=q.dtype)  # undoes the differences, modulo too
        q = np.moveaxis(q, range(-len(axes), 0), axes)
        lo, hi = (b.astype(np.float32) for b in arrays[key + RANGE])
        out[key] = lo + q.astype(np.float32) * ((hi - lo) / np.iinfo(q.dtype).max)
    return out


def read_npz(path: str | Path, keys: tuple[str, ...] | None = None) -> dict:
    """A run's .npz file's arrays (those named, or starting as named, in ``keys``),
    decoded (``unpack``), never unpickling anything: the one way its arrays are read."""
    import numpy as np

    with np.load(path, allow_pickle=False) as npz:
        names = [k for k in npz.files if keys is None or any(k.startswith(w) for w in keys)]
        return unpack({k: npz[k] for k in names})


def create_run(runs_dir: str | Path, name: str) -> Run:
    """Make a new, empty run folder ``RUNS_DIR/<time>-<name>-<random>``.

    The id is unique even for runs started in the same second by several processes:
    ``os.mkdir`` fails if the folder exists, and then another random suffix is drawn.
    """
    runs_dir = Path(runs_dir)
    try:
        runs_dir.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise ConfigError(
            f"cannot create {str(runs_dir)!r} ({exc.strerror})", "--runs-dir"
        ) from None
    stamp = time.strftime("%Y%m%d-%H%M%S")
    while True:
        path = runs_dir / f"{stamp}-{slug(name)[:64]}-{secrets.token_hex(3)}"
        try:
            path.mkdir()
            return Run(path)
        except FileExistsError:
            continue
        except OSError as exc:
            raise ConfigError(
                f"cannot make a run folder in {str(runs_dir)!r} ({exc.strerror})", "--runs-dir"
            ) from None


def write_failed(run: Run, cfg: dict | None, error: str) -> None:
    """A run that could not even start (Keras refused its config): a folder that says
    so, so that a search lists it and does not retry it forever."""
    if cfg is not None:
        run.write_config(cfg)
    now = now_iso()
    run.write_info(
        RunInfo(
            id=run.id,
            name=(cfg or {}).get("name"),
            status=Status.FAILED,
            started=now,
            ended=now,
            duration_s=0,
            seed=(cfg or {}).get("seed"),
            versions=versions(),
            error=error,
        )
    )
    run.write_metrics(Metrics())
