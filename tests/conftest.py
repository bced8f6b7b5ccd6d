import os
import sys
from pathlib import Path

import pytest

# Set before anything imports Keras: the backend dlexp defaults to, and a compilation
# cache private to this test session (the user's own cache is left alone).
os.environ.setdefault("KERAS_BACKEND", "jax")

ROOT = Path(__file__).resolve().parents[1]
CONFIGS = ROOT / "configs"


@pytest.fixture(scope="session", autouse=True)
def _private_cache(tmp_path_factory):
    os.environ["DLEXP_CACHE_DIR"] = str(tmp_path_factory.mktemp("xla-cache"))
    yield


@pytest.fixture
def write(tmp_path):
    """write("name.yaml", text) -> path of a file in the test's temporary folder."""

    def _write(name: str, text: str) -> Path:
        path = tmp_path / name
        path.write_text(text)
        return path

    return _write


TINY = """
seed: 1
data: {kind: moons, n_samples: 200, noise: 0.2}
model: {layers: [8]}
train: {epochs: 3, batch_size: 32, early_stopping: false}
"""


@pytest.fixture
def tiny(write):
    """A config that trains in well under a second."""
    return write("tiny.yaml", TINY)


# A grid of 6 points (3 widths, 2 optimizers) for the search tests.
SMALL = """
name: small
seed: 1
data: {kind: moons, n_samples: 240}
train: {epochs: 2, early_stopping: false}
search:
  objective: val_accuracy
  params:
    model.first_neuron: [4, 8, 16]
    train.optimizer: [adam, {name: sgd, momentum: 0.9}]
"""


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
