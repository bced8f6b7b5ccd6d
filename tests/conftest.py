import os
import sys
from pathlib import Path

import pytest

# Set before anything imports Keras: the backend dlexp defaults to, and a compilation
# cache private to this test session (the user's own cache is left alone).
os.environ.setdefault("KERAS_BACKEND", "jax")

import json  # noqa: E402
import shutil  # noqa: E402

from helpers import ROOT, SMALL, TINY, invoke  # noqa: E402


@pytest.fixture(scope="session", autouse=True)
def _private_cache(tmp_path_factory):
    os.environ["DLEXP_CACHE_DIR"] = str(tmp_path_factory.mktemp("xla-cache"))
    os.environ["DLEXP_INDEX_DIR"] = str(tmp_path_factory.mktemp("runs-index"))
    yield


@pytest.fixture
def write(tmp_path):
    """write("name.yaml", text) -> path of a file in the test's temporary folder."""

    def _write(name: str, text: str) -> Path:
        path = tmp_path / name
        path.write_text(text)
        return path

    return _write


@pytest.fixture
def tiny(write):
    """A config that trains in well under a second."""
    return write("tiny.yaml", TINY)


@pytest.fixture(scope="session")
def trained(tmp_path_factory) -> Path:
    """One tiny real run (3 epochs, moons), trained once for the session; tests copy it."""
    root = tmp_path_factory.mktemp("trained")
    (root / "tiny.yaml").write_text(TINY)
    result = invoke(
        "train", root / "tiny.yaml", "--runs-dir", root / "runs", "-q", "--format", "json"
    )
    assert result.exit_code == 0, result.output
    return root / "runs" / json.loads(result.stdout)["id"]


@pytest.fixture
def run(trained, tmp_path) -> Path:
    """A fresh copy of the trained run, free to damage."""
    return Path(shutil.copytree(trained, tmp_path / trained.name))


@pytest.fixture
def small(write):
    """The SMALL grid as a file."""
    return write("small.yaml", SMALL)


def python() -> str:
    return sys.executable


@pytest.fixture
def runs_dir(tmp_path):
    """A fresh copy of the fixture run folders (fresh mtimes: the half-written run reads
    as running, not stale)."""
    import shutil

    target = tmp_path / "runs"
    shutil.copytree(ROOT / "tests" / "fixtures" / "runs", target, copy_function=shutil.copy)
    return target


# The fast tier deselects the slow tests by marker (`-m 'not slow'` in pyproject), not by
# path, so `pytest tests/test_training.py` alone runs only that file's fast tests. Say so at
# the end, with the command that runs the rest, rather than run nothing silently.
_SLOW_LEFT: dict[str, int] = {}


def pytest_deselected(items):
    for item in items:
        if item.get_closest_marker("slow") is not None:
            path = os.path.relpath(str(item.path), ROOT)
            _SLOW_LEFT[path] = _SLOW_LEFT.get(path, 0) + 1


def pytest_terminal_summary(terminalreporter, exitstatus, config):
    if not _SLOW_LEFT:
        return
    n, files = sum(_SLOW_LEFT.values()), sorted(_SLOW_LEFT)
    where = " ".join(files) if len(files) <= 3 else "tests"
    terminalreporter.write_line(
        f"{n} slow test{'s' if n != 1 else ''} (real trainings) not run here: "
        f"pytest -m slow {where}",
        yellow=True,
    )
