"""dlexp against scikit-learn's MLPRegressor and MLPClassifier: the same network on the
same training rows, tested on the same rows.

For each dataset a bundled config is trained by ``dlexp.train`` (the path ``dlexp
train`` takes: run folders in a temporary directory), and scikit-learn's MLP is given
exactly the training rows dlexp trained on (``dlexp.data.load`` of the same config and
seed), the same hidden layers, activation, optimizer, learning rate, batch size and
epochs, and no L2 (``alpha=0``: dlexp's ``model.l2`` is 0), no momentum for plain SGD
(Keras' SGD has none; scikit-learn's default is Nesterov's 0.9), no early stopping and
no stopping on a plateau (``n_iter_no_change`` past the epochs: both run every epoch).
The validation split is set to 0 (``data.val_size: 0``, early stopping off) so that
both learn from the same rows. Where ``data.standardize`` is on, scikit-learn gets a
StandardScaler fitted on the training rows, as dlexp's Normalization layer is.

Differences that remain, by design of each library: dlexp computes a regression's
loss on the target standardized with the training rows' mean and deviation
(scikit-learn on the raw target, halved), so the same learning rate takes steps of a
different size; Adam's epsilon is 1e-7 in Keras and 1e-8 in scikit-learn.

    python bench/vs_sklearn.py                      # every dataset, seeds 42, 43, 44
    python bench/vs_sklearn.py --seeds 1 --only iris digits
    python bench/vs_sklearn.py --set train.epochs=50    # an override on every config

It prints one row per dataset: the test metric (RMSE for regression, accuracy for
classification), the median over the seeds for each library, dlexp minus
scikit-learn, and each side's median fit seconds (dlexp's ``fit_seconds``, compilation
included; scikit-learn's ``fit``).
"""

from __future__ import annotations

import argparse
import contextlib
import io
import statistics
import sys
import tempfile
import time
import warnings
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:  # this checkout's dlexp, installed or not
    sys.path.insert(0, str(ROOT))


@dataclass
class Case:
    name: str
    config: str  # under configs/
    overrides: dict = field(default_factory=dict)


CASES = [
    Case("reg-plane", "playground_regression.yaml", {"data.dataset": "reg-plane"}),
    Case("reg-gauss", "playground_regression.yaml"),
    Case("iris", "iris.yaml"),
    Case("wine", "iris.yaml", {"data.kind": "wine", "name": "wine"}),
    Case("breast_cancer", "iris.yaml", {"data.kind": "breast_cancer", "name": "breast_cancer"}),
    Case("digits", "digits.yaml"),
]
# Both learn from the same rows: no validation split, so no early stopping.
SAME_ROWS = {"data.val_size": 0.0, "train.early_stopping": False}
ACTIVATIONS = {"relu": "relu", "tanh": "tanh", "sigmoid": "logistic", "linear": "identity"}


def config(case: Case, seed: int, extra: list[str]) -> dict:
    """The case's config resolved as dlexp trains it, on ``seed`` (data and weights)."""
    from dlexp import config as dconfig

    sets = {**case.overrides, **SAME_ROWS, "seed": seed}
    overrides = [f"{k}={v}" for k, v in sets.items()] + list(extra)
    return dconfig.load(ROOT / "configs" / case.config, overrides)


def sklearn_model(cfg: dict, n_train: int):
    """scikit-learn's MLP with the settings of a resolved dlexp config."""
    from sklearn.neural_network import MLPClassifier, MLPRegressor

    model, train = cfg["model"], cfg["train"]
    optimizer = train["optimizer"]
    name = optimizer if isinstance(optimizer, str) else optimizer["name"]
    if name not in ("sgd", "adam"):
        raise SystemExit(f"{name}: scikit-learn's MLP has sgd and adam only")
    for key in ("dropout", "l1", "l2", "input_noise"):
        if model[key]:
            raise SystemExit(f"model.{key} {model[key]}: scikit-learn's MLP has no such thing")
    batch = train["batch_size"]
    epochs = train["epochs"]
    kwargs = dict(
        hidden_layer_sizes=tuple(model["layers"]),
        activation=ACTIVATIONS[model["activation"]],
        solver=name,
        learning_rate_init=train["learning_rate"],
        batch_size=n_train if batch == "full" else batch,
        max_iter=epochs,
        alpha=0.0,
        shuffle=True,
        early_stopping=False,
        tol=0.0,
        n_iter_no_change=epochs + 1,  # never stop before max_iter
        random_state=cfg["seed"],
    )
    if name == "sgd":
        kwargs.update(momentum=0.0, nesterovs_momentum=False, learning_rate="constant")
    regression = cfg["data"]["task"] == "regression"
    return (MLPRegressor if regression else MLPClassifier)(**kwargs), regression


def sklearn_fit(cfg: dict, scaled_target: bool = False) -> tuple[float, float]:
    """(test metric, fit seconds) of scikit-learn's MLP on dlexp's own split. With
    ``scaled_target`` a regression learns the target standardized as dlexp's loss
    sees it, at twice the learning rate (its squared error is halved: ``(y - p)^2 / 2``),
    so that both take the same steps; its predictions are put back into the target's
    units before they are scored."""
    from sklearn.exceptions import ConvergenceWarning
    from sklearn.preprocessing import StandardScaler

    from dlexp.config.resolve import data_seed
    from dlexp.data import load

    data = load(cfg["data"], data_seed(cfg))
    x_train, x_test = data.x_train, data.x_test
    if cfg["data"]["standardize"]:
        scaler = StandardScaler().fit(x_train)
        x_train, x_test = scaler.transform(x_train), scaler.transform(x_test)
    mlp, regression = sklearn_model(cfg, len(x_train))
    y_train = data.y_train
    mean, std = data.target_scale if regression else (0.0, 1.0)
    if regression and scaled_target:
        y_train = (y_train - mean) / std
        mlp.set_params(learning_rate_init=2 * cfg["train"]["learning_rate"])
    else:
        mean, std = 0.0, 1.0
    if regression and y_train.shape[1] == 1:
        y_train = y_train.ravel()  # one output: scikit-learn wants a vector
    start = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)  # max_iter reached: as meant
        mlp.fit(x_train, y_train)
    seconds = time.perf_counter() - start
    predicted = mlp.predict(x_test)
    if regression:
        error = predicted.reshape(data.y_test.shape) * std + mean - data.y_test
        return float(np.sqrt(np.mean(np.square(error)))), seconds
    return float(np.mean(predicted == data.y_test)), seconds


def dlexp_fit(cfg: dict, runs_dir: Path) -> tuple[float, float]:
    """(test metric, fit seconds) of ``dlexp.train`` on the resolved config."""
    import dlexp

    with contextlib.redirect_stdout(io.StringIO()):  # its final line: the table is ours
        run = dlexp.train(cfg, runs_dir=runs_dir, verbose=False)
    if run.status != "completed":
        raise SystemExit(f"{cfg['name']} seed {cfg['seed']}: the run {run.status}: {run.error}")
    metric = "rmse" if cfg["data"]["task"] == "regression" else "accuracy"
    return float(run.metrics["test"][metric]), float(run.info["fit_seconds"])


def settings(cfg: dict) -> str:
    model, train = cfg["model"], cfg["train"]
    optimizer = train["optimizer"]
    name = optimizer if isinstance(optimizer, str) else optimizer["name"]
    return (
        f"{model['layers']} {model['activation']}, {name} lr {train['learning_rate']}, "
        f"batch {train['batch_size']}, {train['epochs']} epochs"
    )


def spread(values: list[float]) -> str:
    """The median and, over several seeds, the range: ``0.9667 [0.93, 1.00]``."""
    median = f"{statistics.median(values):.4f}"
    return median if len(values) == 1 else f"{median} [{min(values):.3f}, {max(values):.3f}]"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=3, help="seeds 42, 43, ... (default 3)")
    parser.add_argument("--only", nargs="+", metavar="DATASET", help="these datasets alone")
    parser.add_argument("--set", action="append", default=[], metavar="KEY=VALUE")
    parser.add_argument(
        "--scaled-target",
        action="store_true",
        help="scikit-learn regresses the standardized target, as dlexp's loss does",
    )
    args = parser.parse_args()
    cases = [c for c in CASES if not args.only or c.name in args.only]
    seeds = list(range(42, 42 + args.seeds))
    width = 6 if args.seeds == 1 else 23
    print(
        f"test metric, median [range] of seeds {seeds[0]}..{seeds[-1]}; "
        "diff = dlexp - sklearn (medians); s = median fit seconds"
    )
    print(
        f"{'dataset':<14} {'metric':<8} {'dlexp':<{width}} {'sklearn':<{width}} {'diff':>7} "
        f"{'dlexp s':>7} {'sklearn s':>9}  settings"
    )
    with tempfile.TemporaryDirectory() as tmp:
        for case in cases:
            ours, theirs = [], []
            for seed in seeds:
                cfg = config(case, seed, args.set)
                ours.append(dlexp_fit(cfg, Path(tmp)))
                theirs.append(sklearn_fit(cfg, args.scaled_target))
            metric = "rmse" if cfg["data"]["task"] == "regression" else "accuracy"
            a, b = ([m for m, _ in side] for side in (ours, theirs))
            diff = round(statistics.median(a) - statistics.median(b), 4) + 0.0  # no -0.0000
            print(
                f"{case.name:<14} {metric:<8} {spread(a):<{width}} {spread(b):<{width}} "
                f"{diff:+7.4f} {statistics.median(s for _, s in ours):7.2f} "
                f"{statistics.median(s for _, s in theirs):9.2f}  {settings(cfg)}",
                flush=True,
            )


if __name__ == "__main__":
    main()
