"""Run every lesson in configs/lessons/ and draw the picture the docs show for it
into docs/images/lesson-*.png (with dlexp's own commands and report pictures).

    python docs/lessons.py            # about a minute on 2 cores
"""

from __future__ import annotations

import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
LESSONS = ROOT / "configs" / "lessons"
IMAGES = ROOT / "docs" / "images"


def dlexp(*args: str) -> None:
    subprocess.run([sys.executable, "-m", "dlexp.cli", *args, "-q"] if args[0] == "train" else
                   [sys.executable, "-m", "dlexp.cli", *args], check=True, capture_output=True,
                   cwd=ROOT)  # fmt: skip


def trials(runs: Path, search: str) -> list[Path]:
    return sorted(p for p in (runs / search / "trials").iterdir() if p.is_dir())


def setting(run: Path, key: str) -> str:
    from dlexp import config
    from dlexp.core.labels import label

    return label(config.get_dotted(config.load(run / "config.yaml"), key))


def main() -> None:
    from dlexp.report import plots
    from dlexp.runs.folder import read_run

    IMAGES.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        runs = Path(tmp)

        def search(lesson: str) -> None:
            dlexp("search", str(LESSONS / f"{lesson}.yaml"), "--runs-dir", str(runs))

        def curves(search_name: str, key: str) -> list:
            return [(setting(t, key), read_run(t).history) for t in trials(runs, search_name)]

        pictures = {}
        search("gradient_descent")
        pictures["gradient-descent"] = plots.batch_loss(
            [
                (f"batch_size={setting(t, 'train.batch_size')}", dict(np.load(t / "learning.npz")))
                for t in trials(runs, "lesson_gradient_descent")
            ],
            title="plain SGD, every batch",
        )
        search("optimizers")
        pictures["optimizers"] = plots.overlay(
            curves("lesson_optimizers", "train.optimizer"), title="the optimizers, 30 epochs"
        )
        search("activations")
        pictures["activations"] = plots.overlay(
            curves("lesson_activations", "model.activation"),
            title="six hidden layers of 8, each activation",
        )
        search("regularization")
        for t in trials(runs, "lesson_regularization"):
            l1, l2 = setting(t, "model.l1"), setting(t, "model.l2")
            if {l1, l2} == {"0.0", "0.001"}:  # L1 alone, L2 alone
                name = "l1" if l1 == "0.001" else "l2"
                pictures[f"regularization-{name}"] = plots.weights(
                    dict(np.load(t / "learning.npz")), title=f"weights with {name.upper()} 0.001"
                )
        search("dropout")
        pictures["dropout"] = plots.overlay(
            curves("lesson_dropout", "model.dropout"), title="dropout 0, 0.2 and 0.5"
        )
        dlexp("train", str(LESSONS / "early_stopping.yaml"), "--runs-dir", str(runs / "es"))
        run = next((runs / "es").iterdir())
        record = read_run(run)
        pictures["early-stopping"] = plots.learning_curves(
            record.history,
            title="early stopping: patience 20",
            best_epoch=record.metrics.best_epoch,
            stopped_early=bool(record.metrics.stopped_early),
        )
        search("playground_features")
        for t in trials(runs, "lesson_features"):
            extra = setting(t, "data.extra_features")
            name = "features-squares" if "x1^2" in extra else "features-line"
            pictures[name] = plots.boundary(
                dict(np.load(t / "boundary.npz")), title=f"extra_features: {extra}"
            )
        for name, png in pictures.items():
            (IMAGES / f"lesson-{name}.png").write_bytes(png)
            print(f"docs/images/lesson-{name}.png")


if __name__ == "__main__":
    main()
