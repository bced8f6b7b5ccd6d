"""What the tests share besides fixtures: paths and small configs.

Import from here (``from helpers import ROOT``), not from conftest: pytest loads
conftest.py itself, and importing it again as a module makes a second copy.
"""

from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
CONFIGS = ROOT / "configs"

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
