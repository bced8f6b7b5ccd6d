"""The HTML page's pictures: named by what they show, drawn (in worker processes when
there are many) before the page is written, and kept while nothing they show changes."""

from __future__ import annotations

import hashlib
import json
import multiprocessing
import os
import re
import sys
from concurrent import futures
from dataclasses import dataclass
from pathlib import Path

from dlexp.core.errors import ConfigError, MachineFault, describe, machine_fault
from dlexp.core.files import atomic_write
from dlexp.runs import folder as runs_mod

PLOTS_VERSION = 8  # part of every picture's name: raise it when the pictures change
PICTURE_NAME = re.compile(r"^[A-Za-z0-9_.-]+-[0-9a-f]{12}\.png$")


@dataclass
class Picture:
    """One picture on the page: where it is (relative to the page) and what it shows.
    ``error`` is set by :meth:`Images.draw` when it could not be drawn."""

    src: str
    alt: str
    error: str | None = None
    width: int | None = None  # its size on the page in pixels, half the file's (HiDPI)
    height: int | None = None


# what each picture drawn from learning.npz reads of it (a name, or a name's start)
LEARNING = {
    "learning_strip": ("xs", "ys", "snapshot_", "x_train", "y_train", "target_names"),
    "network": ("kernel_", "hidden_", "snapshot_", "inputs", "activation"),
    "weights": ("kernel_",),
    "batch_loss": ("batch_",),
}


def load_npz(path: str, keys: tuple[str, ...] | None = None) -> dict:
    """A .npz file's arrays (those named, or starting as named, in ``keys``), decoded
    as ``dlexp.runs.folder.read_npz`` does (packed arrays and old float ones alike),
    never unpickling anything."""
    from dlexp.runs.folder import read_npz

    return read_npz(path, keys)


def render(job: tuple[str, tuple, dict, str]) -> tuple[str, str | None, bool]:
    """Draw one picture (maybe in a worker process) and write it atomically.

    Returns:
        (path, None, False), or (path, the reason, whether the machine failed it) when it
        cannot be drawn: a damaged boundary.npz costs its picture, not the report; a full
        disk costs the report (it is the machine's fault, not the data's).
    """
    from dlexp.report import plots

    kind, args, kwargs, path = job
    try:
        if kind in ("boundary", "evaluation"):  # drawn from a run's .npz file
            data = getattr(plots, kind)(load_npz(args[0]), **kwargs)
        elif kind == "batch_loss":  # one or several runs' learning.npz
            curves = [(name, load_npz(a, LEARNING[kind])) for name, a in args[0]]
            data = plots.batch_loss(curves, **kwargs)
        elif kind in LEARNING:  # learning.npz (and boundary.npz's points for the strip)
            arrays = [None if a is None else load_npz(a, LEARNING[kind]) for a in args]
            data = getattr(plots, kind)(*arrays, **kwargs)
        elif kind == "curves":
            data = plots.learning_curves(runs_mod.read_run(args[0]).history, **kwargs)
        else:
            data = getattr(plots, kind)(*args, **kwargs)
        atomic_write(path, data)
    except Exception as exc:  # noqa: BLE001 - any damage in a run's files
        if machine_fault(exc):
            return path, describe(exc), True
        return path, f"{type(exc).__name__}: {exc}", False
    return path, None, False


class Images:
    """The page's pictures. Each is named by a hash of what it is drawn from (the job,
    its source files' sizes and times, the plotting code), so a picture is drawn again
    only when something it shows changed.

    First :meth:`add` every picture the page shows, then :meth:`draw` them all; each
    :class:`Picture` then says whether it was drawn.
    """

    def __init__(self, out: Path):
        self.dir = out / "img"
        self.made = not self.dir.exists()  # by this report (removed if it fails)
        try:
            self.dir.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise ConfigError(f"--out: cannot write to {str(out)!r} ({exc.strerror})") from None
        self.jobs: list[tuple] = []
        self.used: set[str] = set()
        self.pictures: list[Picture] = []
        self.failed: dict[str, str] = {}  # src -> reason

    def add(
        self, stem: str, alt: str, kind: str, *args, sources: tuple[Path, ...] = (), **kwargs
    ) -> Picture:
        """A picture drawn by ``plots.<kind>(*args, **kwargs)`` (``curves`` and
        ``boundary`` read a run folder's files), described by ``alt``."""
        h = hashlib.sha1(
            json.dumps([kind, args, kwargs, PLOTS_VERSION], sort_keys=True, default=str).encode()
        )
        for p in sources:
            try:
                st = p.stat()
                h.update(f"{p}:{st.st_mtime_ns}:{st.st_size}".encode())
            except OSError:
                h.update(f"{p}:missing".encode())
        name = f"{runs_mod.slug(stem)[:60]}-{h.hexdigest()[:12]}.png"
        if name not in self.used:
            self.used.add(name)
            if not (self.dir / name).exists():
                self.jobs.append((kind, args, kwargs, str(self.dir / name)))
        picture = Picture(f"img/{name}", alt)
        self.pictures.append(picture)
        return picture

    def draw(self) -> int:
        """Draw the pictures not drawn yet and mark the ones that could not be drawn.
        The ones this report no longer names stay until its page is written
        (:meth:`prune`): the old page keeps its pictures if the new one fails.

        Returns:
            The number of pictures drawn.

        Raises:
            MachineFault: a picture could not be written for lack of disk (or memory).
        """
        results: list[tuple[str, str | None, bool]] = []
        if len(self.jobs) > 6 and (os.cpu_count() or 1) > 1:
            try:
                workers = min(os.cpu_count() or 1, 4)
                with futures.ProcessPoolExecutor(workers, mp_context=_context()) as pool:
                    results = list(pool.map(render, self.jobs, chunksize=4))
            except (futures.process.BrokenProcessPool, OSError):
                results = []
        if len(results) != len(self.jobs):
            results = [render(job) for job in self.jobs]
        fault = next((error for _, error, machine in results if machine), None)
        if fault is not None:
            raise MachineFault(fault)
        for path, error, _ in results:
            if error:
                self.failed[f"img/{Path(path).name}"] = error
        for picture in self.pictures:
            picture.error = self.failed.get(picture.src)
            if not picture.error:
                size = shown_size(self.dir.parent / picture.src)
                picture.width, picture.height = size or (None, None)
        return len(self.jobs) - len(self.failed)

    def prune(self) -> None:
        """Delete the pictures this report no longer names (once its page is written)."""
        for old in self.dir.glob("*.png"):  # only pictures this report names itself
            if old.name not in self.used and PICTURE_NAME.match(old.name):
                old.unlink()

    def forget(self) -> None:
        """A report that failed leaves the folder as it was: the pictures it drew are
        removed, and img/ if it made it (no img/ without an index.html)."""
        for job in self.jobs:
            Path(job[3]).unlink(missing_ok=True)
        if self.made and not any(self.dir.iterdir()):
            self.dir.rmdir()


def shown_size(path: Path) -> tuple[int, int] | None:
    """A PNG's size on the page: its pixels at plots.SAVE_DPI shown at plots.DPI (None
    when its header cannot be read)."""
    from dlexp.report.plots.style import DPI, SAVE_DPI

    try:
        with open(path, "rb") as f:
            head = f.read(24)
    except OSError:
        return None
    if len(head) < 24 or head[:8] != b"\x89PNG\r\n\x1a\n":
        return None
    w, h = int.from_bytes(head[16:20], "big"), int.from_bytes(head[20:24], "big")
    return round(w * DPI / SAVE_DPI), round(h * DPI / SAVE_DPI)


def _context():
    """Fork, the fastest start, while this process runs no threads of JAX's (``dlexp
    report`` never imports it); spawn once JAX is loaded (a notebook, the tests, a report
    after a search), since a forked copy of JAX's threads can deadlock."""
    return multiprocessing.get_context("spawn" if "jax" in sys.modules else "fork")
