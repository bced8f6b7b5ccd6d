"""`dlexp export RUN --format python`: a standalone, readable Keras script (plain
`keras`, NumPy and scikit-learn; no dlexp) that rebuilds the run's dataset, model and
training, for people who want to leave the tool or learn from it (its data section
is :mod:`dlexp.use.export_data`'s); and the run's model as a SavedModel or TFLite."""

from __future__ import annotations

import inspect
from pathlib import Path

from dlexp.core.errors import ConfigError
from dlexp.model import build as models
from dlexp.use.export_data import _EXTRA_CODE, data_code, split_code  # noqa: F401 (tests)

OPTIMIZER_CLASSES = {
    "sgd": "SGD",
    "adagrad": "Adagrad",
    "adadelta": "Adadelta",
    "rmsprop": "RMSprop",
    "adam": "Adam",
    "adamw": "AdamW",
    "adamax": "Adamax",
    "nadam": "Nadam",
    "ftrl": "Ftrl",
    "lion": "Lion",
}

HEADER = '''"""{name}: exported by dlexp from {run}.

Plain Keras: the dataset, the model and the training of that run, which used
seed {seed}. Run it as `python {script} [EPOCHS]` (KERAS_BACKEND chooses the
backend; dlexp trained on {backend}).
"""

import os
import sys

os.environ.setdefault("KERAS_BACKEND", "{backend}")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")  # TensorFlow's C++ log lines
if os.environ["KERAS_BACKEND"] != "tensorflow":
    # TensorFlow is not used here; Keras would import it only to seed it, and its
    # import prints C++ log lines (oneDNN, CUDA) that no setting silences.
    sys.modules["tensorflow"] = None

import keras
import numpy as np
from sklearn.model_selection import train_test_split

SEED = {seed}
EPOCHS = int(sys.argv[1]) if len(sys.argv) > 1 else {epochs}
keras.utils.set_random_seed(SEED)
if sys.modules.get("tensorflow", "") is None:
    # Keras has its answer (no TensorFlow to seed); its preprocessing layers
    # (Normalization) take a "tensorflow" in sys.modules to mean that TensorFlow is in use
    del sys.modules["tensorflow"]
'''


def _target_scale_code() -> list[str]:
    """dlexp's TargetScale layer (dlexp.model.layers), as a class of the script's own."""
    from dlexp.model.layers import TargetScale

    source = inspect.getsource(TargetScale)
    source = source[source.index("class ") :].replace(" ops.", " keras.ops.")
    return source.rstrip().splitlines()


def _model_code(cfg: dict, n_classes: int) -> str:
    """The model and its compilation; ``n_classes`` is the classes, or for regression
    the targets."""
    m, t = cfg["model"], cfg["train"]
    layout = models.output_layout(cfg, n_classes)
    widths = models.hidden_widths(m, layout.units)
    reg = f"keras.regularizers.L1L2(l1={m['l1']}, l2={m['l2']})" if m["l1"] or m["l2"] else "None"
    lines = ["", ""]
    if layout.regression:
        lines += [*_target_scale_code(), "", ""]
    lines.append("layers = [keras.Input(shape=(x_train.shape[1],))]")
    if cfg["data"]["standardize"]:
        lines += [
            "# data.standardize: the training split's statistics, inside the model",
            "layers.append(keras.layers.Normalization(mean=x_train.mean(axis=0), "
            "variance=x_train.var(axis=0)))",
        ]
    if m["input_noise"] > 0:
        lines.append(f"layers.append(keras.layers.GaussianNoise({m['input_noise']}))")
    lines.append(f"for width in {widths}:")
    dense = f"kernel_initializer={m['kernel_initializer']!r}, kernel_regularizer={reg}"
    if m["batch_norm"]:
        lines += [
            f"    layers.append(keras.layers.Dense(width, {dense}))",
            "    layers.append(keras.layers.BatchNormalization())",
            f"    layers.append(keras.layers.Activation({m['activation']!r}))",
        ]
    else:
        lines.append(
            f"    layers.append(keras.layers.Dense(width, activation={m['activation']!r}, {dense}))"
        )
    if m["dropout"] > 0:
        lines.append(f"    layers.append(keras.layers.Dropout({m['dropout']}))")
    lines.append(
        f"layers.append(keras.layers.Dense({layout.units}, activation={layout.activation!r}, "
        f"{dense}))"
    )
    if layout.regression:
        lines += [
            "# the output in standardized units, put back into the target's: z * std + mean,",
            "# the training split's (the TargetScale layer of the run's model)",
            "y_mean = y_train.astype(np.float64).mean(axis=0).astype(np.float32)",
            "y_std = y_train.astype(np.float64).std(axis=0).astype(np.float32)",
            "layers.append(TargetScale(y_mean, y_std))",
        ]
    lines.append("model = keras.Sequential(layers)")
    opt = t["optimizer"]
    name = opt if isinstance(opt, str) else opt["name"]
    args = {} if isinstance(opt, str) else {k: v for k, v in opt.items() if k != "name"}
    cls = OPTIMIZER_CLASSES[name]
    n_train = "len(x_train)"
    bs = n_train if t["batch_size"] == "full" else f"min({t['batch_size']}, {n_train})"
    lines.append(f"batch_size = {bs}")
    lr = repr(t["learning_rate"])
    schedule = t["lr_schedule"]
    if schedule and schedule["kind"] in ("exponential", "step"):
        lines.append("steps = -(-len(x_train) // batch_size)  # per epoch")
        lr = (
            f"keras.optimizers.schedules.ExponentialDecay({t['learning_rate']}, "
            f"decay_steps={schedule['every']} * steps, decay_rate={schedule['rate']}, "
            f"staircase={schedule['kind'] == 'step'})"
        )
    extra = "".join(f", {k}={v!r}" for k, v in args.items())
    metrics = {
        "accuracy": "keras.metrics.CategoricalAccuracy(name='accuracy')"
        if layout.onehot
        else "keras.metrics.BinaryAccuracy(name='accuracy')",
        "f1": f"keras.metrics.F1Score(average='macro', threshold={None if layout.onehot else 0.5},"
        " name='f1')",
        "precision": "keras.metrics.Precision(name='precision')",
        "recall": "keras.metrics.Recall(name='recall')",
        "auc": "keras.metrics.AUC(name='auc')",
        "mae": "keras.metrics.MeanAbsoluteError(name='mae')",
        "rmse": "keras.metrics.RootMeanSquaredError(name='rmse')",
        "r2": "keras.metrics.R2Score(name='r2')",
    }
    loss = repr(layout.loss)
    if layout.regression:  # dlexp's StandardizedLoss
        lines += [
            "",
            "",
            "def standardized_loss(y_true, y_pred):",
            f'    """{layout.loss} on the standardized target: both sides scaled by the training',
            "    split's mean and standard deviation, so the gradient does not depend on the",
            '    target\'s units."""',
            "    y_true = keras.ops.cast(y_true, y_pred.dtype)",
            f"    return keras.losses.get({layout.loss!r})((y_true - y_mean) / y_std, "
            "(y_pred - y_mean) / y_std)",
            "",
            "",
        ]
        loss = "standardized_loss"
    columns = layout.units if layout.regression else 1
    lines += [
        "model.compile(",
        f"    optimizer=keras.optimizers.{cls}(learning_rate={lr}{extra}),",
        f"    loss={loss},",
        f"    metrics=[{', '.join(metrics[n] for n in t['metrics'])}],",
        ")",
        "",
        "",
        "def targets(y):",
        f"    return np.eye({layout.units}, dtype=np.float32)[y]"
        if layout.onehot
        else f"    return y.astype(np.float32).reshape(-1, {columns})",
    ]
    return "\n".join(lines) + "\n"


def _fit_code(cfg: dict) -> str:
    t = cfg["train"]
    callbacks = ["keras.callbacks.TerminateOnNaN()"]
    es = t["early_stopping"]
    if es:
        callbacks.append(
            f"keras.callbacks.EarlyStopping(monitor={es['monitor']!r}, patience={es['patience']}, "
            f"min_delta={es['min_delta']}, restore_best_weights={es['restore_best_weights']})"
        )
    schedule = t["lr_schedule"]
    if schedule and schedule["kind"] == "plateau":
        callbacks.append(
            f"keras.callbacks.ReduceLROnPlateau(monitor={schedule['monitor']!r}, "
            f"factor={schedule['rate']}, patience={schedule['patience']}, "
            f"min_lr={schedule['min_lr']})"
        )
    return "\n".join(
        [
            "",
            "",
            "history = model.fit(",
            "    x_train, targets(y_train), batch_size=batch_size, epochs=EPOCHS, shuffle=True,",
            "    validation_data=None if x_val is None else (x_val, targets(y_val)),",
            f"    callbacks=[{', '.join(callbacks)}],",
            "    verbose=2,",
            ")",
            'print("test:", model.evaluate(x_test, targets(y_test), verbose=0, return_dict=True))',
            "",
        ]
    )


def python_script(run: str | Path, out: str | Path | None = None) -> str:
    """The script's text for the run folder ``run``, to be written to ``out`` (its
    docstring says to run that file; without ``out``, the script goes to stdout)."""
    from dlexp.runs import folder as runs
    from dlexp.runs import select as choose

    run = Path(run)
    cfg = choose.config_of(run)
    record = runs.read_run(run)
    info = record.info
    data = (info.data or {}) if info else {}
    n_classes = data.get("n_classes")
    if cfg["data"].get("task") == "regression":  # the outputs: one per target
        names = data.get("target_names")
        n_classes = len(names) if isinstance(names, list) and names else None
    if not isinstance(n_classes, int):
        raise ConfigError(f"{run}: run.json does not say its number of classes (not a run?)")
    backend = ((info.versions or {}).get("keras_backend") if info else None) or "jax"
    text = HEADER.format(
        name=cfg.get("name") or "run",
        run=run.name,
        seed=cfg["seed"],
        epochs=cfg["train"]["epochs"],
        backend=backend,
        script=Path(out).name if out is not None else "FILE.py",
    )
    return (
        text
        + "\n\n"
        + data_code(cfg)
        + split_code(cfg)
        + _model_code(cfg, n_classes)
        + _fit_code(cfg)
    )


def check_destination(fmt: str, out: str | Path) -> Path:
    """Before any work: ``--out`` can be written, for every format alike. A file
    (python, tflite) needs an existing folder to go in and is not itself a folder; a
    SavedModel is a new (or empty) folder, made with its parents, so its nearest
    existing ancestor must be a folder. Either way that folder is written to once (a
    probe, removed), which also finds a read-only file system.

    Raises:
        ConfigError: naming --out, the path and why it cannot be written (exit 2).
    """
    out = Path(out)

    def refuse(why: str):
        return ConfigError(f"cannot write {str(out)!r} ({why})", "--out")

    if fmt == "savedmodel":
        if out.exists() and (not out.is_dir() or any(out.iterdir())):
            raise ConfigError(f"{out}: exists and is not an empty folder", "--out")
        folder = out.parent
        while not folder.exists() and folder != folder.parent:
            folder = folder.parent
    else:
        if out.is_dir():
            raise refuse("is a folder; expected a file name")
        folder = out.parent
        if not folder.exists():
            raise refuse(f"no folder {str(folder)!r}")
    if not folder.is_dir():
        raise refuse(f"{str(folder)!r} is not a folder")
    import tempfile

    try:
        with tempfile.TemporaryFile(dir=folder, prefix=".dlexp-probe-"):
            pass
    except OSError as exc:
        raise refuse(exc.strerror or type(exc).__name__) from None
    return out


def savedmodel(run: str | Path, out: str | Path) -> Path:
    """A TensorFlow SavedModel (for TF Serving) of the run's model in ``out``, written to
    a temporary folder and renamed, through Keras' own export (TensorFlow is imported
    here, and only here)."""
    import os
    import shutil
    import tempfile

    from dlexp.use.predict import load_model

    run, out = Path(run), check_destination("savedmodel", out)
    model = load_model(run)
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{out.name}.tmp-", dir=out.parent))
    try:
        model.export(str(tmp / "model"), format="tf_saved_model", verbose=False)
        if out.exists():
            out.rmdir()
        os.replace(tmp / "model", out)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return out


def tflite(run: str | Path, out: str | Path) -> Path:
    """A TensorFlow Lite model of the run's model, converted from its SavedModel."""
    import shutil
    import tempfile

    from dlexp.core.files import atomic_write

    run, out = Path(run), check_destination("tflite", out)
    work = Path(tempfile.mkdtemp(prefix="dlexp-tflite-"))
    try:
        saved = savedmodel(run, work / "saved")
        import tensorflow as tf

        atomic_write(out, tf.lite.TFLiteConverter.from_saved_model(str(saved)).convert())
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return out
