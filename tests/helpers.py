"""What the tests share besides fixtures: paths and small configs.

Import from here (``from helpers import ROOT``), not from conftest: pytest loads
conftest.py itself, and importing it again as a module makes a second copy.
"""

from pathlib import Path

from click.testing import CliRunner

from dlexp.cli import cli

ROOT = Path(__file__).resolve().parents[1]
CONFIGS = ROOT / "configs"
FIXTURES = ROOT / "tests" / "fixtures" / "runs"  # real runs and searches, made by make_fixtures.py


def invoke(*args):
    """``dlexp ARGS`` in this process; exceptions become the result's exit code."""
    return CliRunner().invoke(cli, [str(a) for a in args])


def one_line(result) -> str:
    """stderr of a refused command: one line, no traceback."""
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in result.output, result.output
    return lines[0]


TINY = """
seed: 1
data: {kind: moons, n_samples: 200, noise: 0.2}
model: {layers: [8]}
train: {epochs: 3, batch_size: 32, early_stopping: false}
"""

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
