"""TensorFlow Playground's URL (playground.tensorflow.org) and dlexp's config: the URL's
state read and checked, mapped to a raw config (``dlexp config --from-playground``), and
a state written back as a URL (``dlexp export --format playground``, whose side of the
mapping, a run's config to a state, is ``dlexp.use.playground``).

Playground keeps its settings in the page's hash, ``#name=value&name=value...``, as its
``src/state.ts`` reads and writes them: the ``State`` class's properties, each a string,
number, list of numbers, boolean or a name from a fixed table. Playground itself ignores
what it cannot read (an unknown name, ``learningRate=abc``); dlexp refuses it instead
(a ConfigError naming the parameter, its value and what was expected), since a URL that
does not say what it seems to is better caught before anything trains.

The mapping is in docs/playground.md. In short: the dataset, noise, training share,
batch size, learning rate, activation, network shape, inputs, problem type and seed go
across and come back; L1/L2 are scaled to Keras' penalty (``REGULARIZATION``); what
Playground does that dlexp does not say (its output unit, square loss, initial weights,
Math.random's points) is noted, not carried. Plain Python: no Keras, no NumPy.
"""

from __future__ import annotations

import math
import re
import urllib.parse
import zlib
from decimal import Decimal
from typing import Any

from dlexp.config.names import MAX_SEED
from dlexp.config.schema import SCHEMA
from dlexp.core.errors import ConfigError, did_you_mean, show

SITE = "https://playground.tensorflow.org/"

# Playground's State.PROPS in its order (serialize() writes them so), with the default
# each takes when the hash does not give it (state.ts' field initializers). A default
# of None is not written: no regularization, no tutorial, a seed drawn at random.
DEFAULTS: dict[str, Any] = {
    "activation": "tanh",
    "regularization": None,
    "batchSize": 10,
    "dataset": "circle",
    "regDataset": "reg-plane",
    "learningRate": 0.03,
    "regularizationRate": 0,
    "noise": 0,
    "networkShape": [4, 2],
    "seed": None,
    "showTestData": False,
    "discretize": False,
    "percTrainData": 50,
    "x": True,
    "y": True,
    "xTimesY": False,
    "xSquared": False,
    "ySquared": False,
    "cosX": False,
    "sinX": False,
    "cosY": False,
    "sinY": False,
    "collectStats": False,
    "tutorial": None,
    "problem": "classification",
    "initZero": False,
    "hideText": False,
}
# What the page shows or records but does not change what is learned.
DISPLAY_ONLY = ("showTestData", "discretize", "collectStats", "tutorial", "hideText")
# Playground's name tables (state.ts): activations, regularizations ("none" is never
# written: serialize() skips a null), datasets, regDatasets, problems.
CHOICES = {
    "activation": ("relu", "tanh", "sigmoid", "linear"),
    "regularization": ("none", "L1", "L2"),
    "dataset": ("circle", "xor", "gauss", "spiral"),
    "regDataset": ("reg-plane", "reg-gauss"),
    "problem": ("classification", "regression"),
}
# Playground's inputs beyond x and y, as dlexp's data.extra_features, in dlexp's order.
FEATURES = {
    "xSquared": "x1^2",
    "ySquared": "x2^2",
    "xTimesY": "x1*x2",
    "sinX": "sin(x1)",
    "sinY": "sin(x2)",
    "cosX": "cos(x1)",
    "cosY": "cos(x2)",
}
# The page's INPUTS (playground.ts): cosX and cosY are in the URL's state but the page
# has no such input, so there they change nothing.
PAGE_INPUTS = ("x", "y", "xSquared", "ySquared", "xTimesY", "sinX", "sinY")
# Controls a URL can hide (``<id>_hide=true``): playground.ts' HIDABLE_CONTROLS, and its
# inputs (a hidden input is also taken out of the network).
HIDABLE = (
    "showTestData", "discretize", "playButton", "stepButton", "resetButton", "learningRate",
    "activation", "regularization", "regularizationRate", "problem", "dataset",
    "percTrainData", "noise", "batchSize", "numHiddenLayers", *PAGE_INPUTS,
)  # fmt: skip
HIDE_SUFFIX = "_hide"
NOISE_MAX = 80  # the slider goes to 50; playground.ts takes up to 80 from a URL
# Playground trains until it is stopped; a config needs a number of epochs.
EPOCHS = 100
# Playground's update of a weight after a batch (nn.ts, updateWeights) is
#   w -= lr * mean over the batch of dE/dw;  then  w -= lr * rate * R'(w),
# R(w) = |w| (L1) or w^2 / 2 (L2): the mean loss plus rate * R(w), whatever the batch.
# Keras adds l1 * sum|w| + l2 * sum w^2 to the mean loss, so the same penalty (and the
# same step at the same learning rate) is l1 = rate, l2 = rate / 2. (Playground's L1
# also kills a weight that the penalty pushes across 0; Keras' does not.)
REGULARIZATION = {"L1": ("l1", 1.0), "L2": ("l2", 0.5)}  # key, factor on rate
_NUMBER = re.compile(r"^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$")
_PLAYGROUND_SEED = re.compile(r"^0\.(\d{5})$")  # Math.random().toFixed(5)
_DECIMAL_SEED = re.compile(r"^(0|[1-9]\d*)$")
SEED_DIGITS = 100_000  # seeds below this are written as Playground's 0.ddddd
DEFAULT_SEED = SCHEMA.fields["seed"].default  # dlexp's, for a URL without a seed


def tidy(value: float) -> float:
    """A float rounded to 12 significant digits: 0.1 * 3 back to 0.3, so a value that
    goes to dlexp and back (a rate halved, then doubled) reads as it did."""
    return float(f"{value:.12g}") if value else 0.0


def js_number(value: float | int) -> str:
    """A number as JavaScript's String() writes it (Playground's URL): 50, 0.03, 0.00001."""
    value = tidy(float(value))
    if value.is_integer() and abs(value) < 1e21:
        return str(int(value))
    text = repr(value)
    if "e" in text and 1e-6 <= abs(value) < 1e21:
        text = format(Decimal(text), "f")
    elif "e" in text:  # JavaScript: 1e-7, not 1e-07
        mantissa, exponent = text.split("e")
        text = f"{mantissa}e{int(exponent):+d}"
    return text


# ------------------------------------------------------------------------------ reading


def hash_part(url: str) -> str:
    """What follows the first '#' of a URL, or the text itself when it has none and is
    not a URL (``activation=tanh&...``); a URL without a hash is Playground's defaults.
    Settings after a '?' instead are refused: the page reads only its hash, so such a
    link shows its defaults, not what it seems to say."""
    text = url.strip()
    if "#" in text:
        return text.split("#", 1)[1]
    if "://" in text or text.startswith(("playground.tensorflow.org", "www.")):
        query = text.split("?", 1)[1] if "?" in text else ""
        if "=" in query:
            raise ConfigError(
                f"the settings follow '?' ({show(query[:40])}); expected them after '#', "
                "where Playground keeps them (it ignores a query and shows its defaults)",
                "URL",
            )
        return ""
    return text


def _number(name: str, value: str, expected: str, test) -> float:
    if not _NUMBER.match(value.strip()):
        raise ConfigError(f"expected {expected}, got {show(value)}", name)
    number = float(value)
    if not math.isfinite(number) or not test(number):
        raise ConfigError(f"expected {expected}, got {show(value)}", name)
    return int(number) if number.is_integer() else number


def _suggest(value: str, options) -> str:
    """A did-you-mean; Playground's names are case-sensitive, so l2 is told L2."""
    same = [o for o in options if o.lower() == value.strip().lower()]
    return f" (did you mean {same[0]!r}?)" if same else did_you_mean(value, options)


def _value(name: str, value: str) -> Any:
    """One parameter's value, read as Playground reads it, or a ConfigError."""
    if name in CHOICES:
        if value not in CHOICES[name]:
            options = CHOICES[name]
            extra = ""
            if name in ("dataset", "regDataset"):
                extra = " (Playground's own; dlexp's other datasets have no Playground URL)"
            raise ConfigError(
                f"unknown value {show(value)}{_suggest(value, options)}; expected one of: "
                f"{', '.join(options)}{extra}",
                name,
            )
        return None if value == "none" else value
    default = DEFAULTS[name]
    if isinstance(default, bool):
        if value not in ("true", "false"):
            raise ConfigError(f"expected true or false, got {show(value)}", name)
        return value == "true"
    if name == "networkShape":
        if value.strip() == "":
            return []  # serialize() writes no hidden layer as networkShape=
        widths = []
        for part in value.split(","):
            if not re.fullmatch(r"[1-9]\d{0,5}", part.strip()):
                raise ConfigError(
                    f"expected hidden layer widths as positive integers separated by commas "
                    f"(e.g. 4,2; empty for none), got {show(value)}",
                    name,
                )
            widths.append(int(part))
        return widths
    if name in ("seed", "tutorial"):
        return value
    if name == "batchSize":
        return _number(name, value, "a positive integer", lambda v: v >= 1 and v.is_integer())
    if name == "learningRate":
        return _number(name, value, "a number > 0", lambda v: v > 0)
    if name == "regularizationRate":
        return _number(name, value, "a number >= 0", lambda v: v >= 0)
    if name == "noise":
        return _number(
            name,
            value,
            f"a number in [0, {NOISE_MAX}] (the noise slider)",
            lambda v: 0 <= v <= NOISE_MAX,
        )
    if name == "percTrainData":
        return _number(
            name, value, "a number in (0, 100) (the slider's 10 to 90)", lambda v: 0 < v < 100
        )
    raise AssertionError(name)  # every name in DEFAULTS is handled above


def parse(url: str) -> tuple[dict, set[str], set[str]]:
    """A Playground URL (or the part after its '#') read as Playground reads it.

    Returns:
        The state (every parameter of ``DEFAULTS``, given or its default), the names
        given, and the controls hidden by ``<id>_hide=true``.

    Raises:
        ConfigError: naming the parameter (its path), for an unknown name (with a
            did-you-mean), a value Playground would not read as meant, a parameter given
            twice, or a piece that is not ``name=value``.
    """
    state, given, hidden = dict(DEFAULTS), set(), set()
    known = [*DEFAULTS, *(h + HIDE_SUFFIX for h in HIDABLE)]
    for piece in hash_part(url).split("&"):
        if not piece.strip():
            continue
        name, sep, raw = piece.partition("=")
        name, value = urllib.parse.unquote(name).strip(), urllib.parse.unquote(raw)
        if not sep or not name:
            raise ConfigError(f"expected name=value, got {show(piece)}")
        if name in given:
            raise ConfigError(f"given twice (the second {show(value)}); expected it once", name)
        if name.endswith(HIDE_SUFFIX) and name[: -len(HIDE_SUFFIX)] in HIDABLE:
            if value not in ("true", "false"):
                raise ConfigError(f"expected true or false, got {show(value)}", name)
            if value == "true":
                hidden.add(name[: -len(HIDE_SUFFIX)])
            given.add(name)
            continue
        if name not in DEFAULTS:
            raise ConfigError(
                f"unknown parameter{_suggest(name, known)} (value {show(value)}); "
                f"expected one of Playground's: {', '.join(DEFAULTS)}, or <control>_hide",
                name,
            )
        if value.strip() == "" and name not in ("networkShape", "seed", "tutorial"):
            raise ConfigError("expected a value, got nothing", name)
        state[name] = _value(name, value)
        given.add(name)
    return state, given, hidden


# ----------------------------------------------------------------------- the seed


def seed_from_playground(text: str | None, default: int) -> tuple[int, str | None]:
    """dlexp's integer seed for Playground's seed string, and a note when it does not
    come back as it was. ``0.ddddd`` (Math.random().toFixed(5), the page's own) is the
    integer ddddd and comes back as it was; so does a decimal integer of 100000 or more;
    a smaller integer comes back as 0.ddddd; any other string is its CRC-32."""
    if text is None or text == "":
        return default, (
            f"no seed in the URL (Playground draws one): dlexp's seed {default}, "
            f"exported back as {seed_to_playground(default)}"
        )
    match = _PLAYGROUND_SEED.match(text)
    if match:
        return int(match.group(1)), None
    if _DECIMAL_SEED.match(text) and int(text) <= MAX_SEED:
        seed = int(text)
        if seed >= SEED_DIGITS:
            return seed, None
        return (
            seed,
            f"seed={text}: dlexp's seed {seed}, exported back as {seed_to_playground(seed)}",
        )
    seed = zlib.crc32(text.encode("utf-8"))
    return seed, (
        f"seed={text!r} is not Playground's 0.ddddd: dlexp's seed {seed} (its CRC-32), "
        f"exported back as {seed_to_playground(seed)}"
    )


def seed_to_playground(seed: int) -> str:
    """Playground's seed string for dlexp's integer seed (see seed_from_playground)."""
    return f"0.{seed:05d}" if 0 <= seed < SEED_DIGITS else str(seed)


# ------------------------------------------------------------------ state -> config


def to_config(state: dict, hidden: set[str] = frozenset()) -> tuple[dict, list[str]]:
    """The raw dlexp config a Playground state describes, and notes on what it could not
    carry (one line each, for stderr).

    Playground has no validation split and trains until it is stopped, so the config has
    ``data.val_size: 0``, ``train.early_stopping: false`` and ``train.epochs: EPOCHS``.
    """
    notes: list[str] = []
    regression = state["problem"] == "regression"
    dataset = state["regDataset"] if regression else state["dataset"]
    inactive = "dataset" if regression else "regDataset"
    if state[inactive] != DEFAULTS[inactive]:
        notes.append(
            f"{inactive}={state[inactive]}: not used by a {state['problem']} problem; dropped"
        )
    for name in ("x", "y"):
        if not state[name] or name in hidden:
            why = f"{name}_hide=true" if name in hidden else f"{name}=false"
            notes.append(
                f"{why}: dlexp always feeds x1 and x2 to the network; "
                f"x{1 if name == 'x' else 2} kept"
            )
    extra = []
    for name, feature in FEATURES.items():
        if not state[name]:
            continue
        if name in hidden:
            notes.append(
                f"{name}=true is hidden ({name}_hide=true), so Playground does not feed it;"
                " nor does dlexp"
            )
            continue
        if name not in PAGE_INPUTS:
            notes.append(
                f"{name}=true: Playground's page has no {feature} input (the URL keeps it, "
                f"the network does not get it); dlexp adds {feature}"
            )
        extra.append(feature)
    batch, rate, kind = state["batchSize"], state["regularizationRate"], state["regularization"]
    penalty = {"l1": 0.0, "l2": 0.0}
    if kind is not None and rate > 0:
        key, factor = REGULARIZATION[kind]
        penalty[key] = tidy(factor * rate)
    elif kind is not None:
        notes.append(f"regularization={kind} with regularizationRate=0 adds nothing; dropped")
    elif rate > 0:
        notes.append(
            f"regularizationRate={js_number(rate)} without regularization adds nothing; dropped"
        )
    seed, note = seed_from_playground(state["seed"], DEFAULT_SEED)
    if note:
        notes.append(note)
    raw = {
        "name": f"playground-{dataset}",
        "seed": seed,
        "data": {
            "kind": "playground",
            "dataset": dataset,
            "task": state["problem"],
            "noise": tidy(state["noise"] / 100),
            "test_size": tidy((100 - state["percTrainData"]) / 100),
            "val_size": 0.0,
            "extra_features": [f for f in FEATURES.values() if f in extra],
        },
        "model": {
            "layers": list(state["networkShape"]),
            "activation": state["activation"],
            "kernel_initializer": "zeros" if state["initZero"] else "glorot_uniform",
            **penalty,
        },
        "train": {
            "optimizer": "sgd",
            "learning_rate": float(state["learningRate"]),
            "batch_size": int(batch),
            "epochs": EPOCHS,
            "early_stopping": False,
        },
    }
    return raw, notes


def from_url(url: str) -> tuple[dict, list[str], dict]:
    """``to_config`` of a parsed URL: the raw config, the notes, and the state read."""
    state, _, hidden = parse(url)
    raw, notes = to_config(state, hidden)
    return raw, notes, state


def header(state: dict, epochs: int = EPOCHS) -> str:
    """YAML comment lines for the printed config: where it came from, and what dlexp
    chose where Playground says nothing (``epochs``: the config's, after any --set)."""
    here = "" if epochs == EPOCHS else f" (here {epochs}, as set)"
    lines = [
        "dlexp config from a TensorFlow Playground URL (dlexp config --from-playground):",
        f"  {url(state)}",
        "Playground trains until it is stopped, with no validation split: dlexp chose "
        f"train.epochs {EPOCHS}{here},",
        "data.val_size 0 and no early stopping. Not carried (docs/playground.md): its output unit",
        "(tanh, square loss; linear for regression), its first weights (uniform in "
        "[-0.5, 0.5], biases",
        "0.1) and its points (dlexp draws them with NumPy from the seed, not Math.random).",
    ]
    return "".join(f"# {line}\n" for line in lines)


# ------------------------------------------------------------------ state -> URL


def _text(name: str, value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list):
        return ",".join(str(v) for v in value)
    if isinstance(value, (int, float)):
        return js_number(value)
    return urllib.parse.quote(str(value), safe=",.-_~")


def serialize(state: dict) -> str:
    """The hash Playground's State.serialize() writes for ``state``: every parameter in
    its order, but those that are None (no regularization, no tutorial, no seed)."""
    return "&".join(
        f"{name}={_text(name, state.get(name, default))}"
        for name, default in DEFAULTS.items()
        if state.get(name, default) is not None
    )


def url(state: dict) -> str:
    return f"{SITE}#{serialize(state)}"


def settings(state: dict) -> dict:
    """The parameters of a state that change what is learned (DISPLAY_ONLY left out):
    what a round trip must give back."""
    return {k: v for k, v in state.items() if k in DEFAULTS and k not in DISPLAY_ONLY}
