"""`dlexp export RUN --format playground`: the TensorFlow Playground URL of a run, with a
note for each setting Playground has no place for (an optimizer other than SGD, dropout,
a learning-rate schedule...). The inverse of ``dlexp.config.playground.to_config``: a
config made from a URL and trained exports back to the same URL (docs/playground.md).
Reads the run's config.yaml alone (no Keras)."""

from __future__ import annotations

from pathlib import Path

from dlexp.config import optimizer_name
from dlexp.config import playground as pg
from dlexp.config.names import PLAYGROUND_DATASETS, PLAYGROUND_SAMPLES
from dlexp.core.errors import ConfigError, show
from dlexp.model.build import hidden_widths

PAGE_LAYERS, PAGE_WIDTH = 6, 8  # the most the page's +/- buttons make (playground.ts)
# The page's dropdowns (index.html); a URL may carry other values, shown blank there.
PAGE_LEARNING_RATES = (0.00001, 0.0001, 0.001, 0.003, 0.01, 0.03, 0.1, 0.3, 1, 3, 10)
PAGE_REGULARIZATION_RATES = (0, 0.001, 0.003, 0.01, 0.03, 0.1, 0.3, 1, 3, 10)


def _off_menu(what: str, value: float, menu: tuple) -> str | None:
    """A note for a rate the page's dropdown does not list (the URL still carries it)."""
    if any(abs(value - m) <= 1e-9 * max(m, 1e-12) for m in menu):
        return None
    return (
        f"{what}={pg.js_number(value)}: the URL carries it, but the page's menu lists "
        f"{', '.join(pg.js_number(m) for m in menu)}"
    )


def _training_points(cfg: dict) -> int:
    """How many points a step of 'full' batch gradient descent takes: the training share
    of the points, as Playground splits them (floor of n * percTrainData / 100)."""
    data = cfg["data"]
    return max(1, int(data["n_samples"] * (1 - data["test_size"]) + 1e-9))


def state_of(cfg: dict) -> tuple[dict, list[str]]:
    """The Playground state of a resolved config, and a note (one line) for each setting
    that it drops or changes.

    Raises:
        ConfigError: naming data.kind, for data that is not one of Playground's datasets
            (``data.kind: playground``): there is no URL for it.
    """
    data, model, train = cfg["data"], cfg["model"], cfg["train"]
    if data["kind"] != "playground":
        raise ConfigError(
            f"{show(data['kind'])} has no Playground URL; expected playground (with "
            f"data.dataset: {', '.join(PLAYGROUND_DATASETS)})",
            "data.kind",
        )
    notes: list[str] = []

    def drop(key: str, value, why: str) -> None:
        notes.append(f"{key} {show(value)} dropped: {why}")

    state = dict(pg.DEFAULTS)
    regression = data["task"] == "regression"
    state["problem"] = data["task"]
    state["regDataset" if regression else "dataset"] = data["dataset"]
    state["noise"] = pg.tidy(data["noise"] * 100)
    if state["noise"] > pg.NOISE_MAX:
        notes.append(
            f"data.noise {show(data['noise'])}: Playground takes its noise slider up to "
            f"{pg.NOISE_MAX} (0.8 here) and resets a larger one to 50"
        )
    state["percTrainData"] = pg.tidy(100 - data["test_size"] * 100)
    own = PLAYGROUND_SAMPLES[data["task"]]
    if data["n_samples"] != own:
        drop("data.n_samples", data["n_samples"], f"Playground makes {own} points")
    if data["cv"] is not None:
        drop("data.cv", data["cv"], "Playground has no validation, nor cross-validation")
    elif data["val_size"] > 0:
        drop(
            "data.val_size",
            data["val_size"],
            "Playground has no validation split (it trains on all but the test share)",
        )
    if data["standardize"]:
        drop("data.standardize", True, "Playground feeds the points as they are")
    if data["seed"] is not None and data["seed"] != cfg["seed"]:
        drop("data.seed", data["seed"], f"Playground has one seed (the run's, {cfg['seed']})")
    for name, feature in pg.FEATURES.items():
        state[name] = feature in data["extra_features"]
        if state[name] and name not in pg.PAGE_INPUTS:
            notes.append(
                f"data.extra_features {feature}: the URL carries it as {name}=true, but "
                "Playground's page has no such input"
            )
    state["seed"] = pg.seed_to_playground(cfg["seed"])

    widths = hidden_widths(model)
    state["networkShape"] = widths
    if len(widths) > PAGE_LAYERS or any(w > PAGE_WIDTH for w in widths):
        notes.append(
            f"model.layers {widths}: the URL carries them, but the page's buttons make at most "
            f"{PAGE_LAYERS} layers of {PAGE_WIDTH} neurons"
        )
    if model["activation"] in pg.CHOICES["activation"]:
        state["activation"] = model["activation"]
    else:
        drop(
            "model.activation",
            model["activation"],
            f"Playground has {', '.join(pg.CHOICES['activation'])}; the URL says its tanh",
        )
    own_output = "linear" if regression else "sigmoid"
    if model["output_activation"] not in (None, own_output):
        drop(
            "model.output_activation",
            model["output_activation"],
            "Playground's output is tanh (linear for regression)",
        )
    if model["kernel_initializer"] == "zeros":
        state["initZero"] = True
    elif model["kernel_initializer"] != "glorot_uniform":
        drop(
            "model.kernel_initializer",
            model["kernel_initializer"],
            "Playground starts from uniform weights in [-0.5, 0.5] (or zeros: initZero)",
        )
    for key in ("dropout", "input_noise"):
        if model[key] > 0:
            drop(f"model.{key}", model[key], "Playground has no such setting")
    if model["batch_norm"]:
        drop("model.batch_norm", True, "Playground has no batch normalization")

    if train["batch_size"] == "full":
        state["batchSize"] = _training_points(cfg)
        notes.append(
            f"train.batch_size 'full': batchSize={state['batchSize']}, the training points "
            "(the page's slider goes to 30)"
        )
    else:
        state["batchSize"] = train["batch_size"]
    _regularization(model, state, notes)

    opt = train["optimizer"]
    name = optimizer_name(opt)
    if name != "sgd":
        drop("train.optimizer", name, "Playground trains with plain SGD (the learning rate kept)")
    elif isinstance(opt, dict) and any(opt.get(k) for k in opt if k != "name"):
        args = {k: v for k, v in opt.items() if k != "name" and v}
        drop("train.optimizer's arguments", args, "Playground's SGD has none")
    state["learningRate"] = train["learning_rate"]
    for what, menu in (
        ("learningRate", PAGE_LEARNING_RATES),
        ("regularizationRate", PAGE_REGULARIZATION_RATES),
    ):
        note = _off_menu(what, state[what], menu)
        if note:
            notes.append(note)
    if train["lr_schedule"] is not None:
        drop("train.lr_schedule", train["lr_schedule"]["kind"], "Playground's rate is fixed")
    if train["early_stopping"]:
        drop("train.early_stopping", True, "Playground trains until it is stopped")
    if train["loss"] not in (None, "mse" if regression else "binary_crossentropy"):
        drop("train.loss", train["loss"], "Playground's loss is the square error")
    return state, notes


def _regularization(model: dict, state: dict, notes: list[str]) -> None:
    """model.l1 / model.l2 as Playground's one regularization and its rate, the inverse
    of the scaling in dlexp.config.playground.REGULARIZATION (rate = penalty / factor);
    with both, L2 is kept."""
    l1, l2 = model["l1"], model["l2"]
    if l1 and l2:
        notes.append(f"model.l1 {show(l1)} dropped: Playground has one regularization; L2 kept")
    for kind in ("L2", "L1"):
        key, factor = pg.REGULARIZATION[kind]
        if model[key]:
            state["regularization"] = kind
            state["regularizationRate"] = pg.tidy(model[key] / factor)
            return
    state["regularization"], state["regularizationRate"] = None, 0


def playground_url(run: str | Path) -> tuple[str, list[str]]:
    """The Playground URL of the run folder ``run``, and the notes on what it dropped.

    Raises:
        ConfigError: not a run folder, or a run whose data has no Playground URL.
    """
    from dlexp.runs import select as choose

    run = Path(run)
    cfg = choose.config_of(run)
    try:
        state, notes = state_of(cfg)
    except ConfigError as exc:
        raise exc.located(f"{run}: ") from None
    return pg.url(state), notes
