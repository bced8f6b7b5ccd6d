"""TensorFlow Playground's URL and back: `dlexp config --from-playground URL` prints the
config a URL describes, `dlexp export RUN --format playground` the URL of a run, and a
URL copied from the site round-trips through a real training to the same settings."""

import json
import subprocess
import sys

import pytest
import yaml
from helpers import invoke, one_line

from dlexp import config as config_mod
from dlexp.config import playground as pg
from dlexp.use import playground as export_pg

# The site's default state, as State.serialize() writes it (state.ts' defaults; the seed
# is the page's Math.random().toFixed(5)).
DEFAULT_URL = (
    "https://playground.tensorflow.org/#activation=tanh&batchSize=10&dataset=circle"
    "&regDataset=reg-plane&learningRate=0.03&regularizationRate=0&noise=0&networkShape=4,2"
    "&seed=0.67134&showTestData=false&discretize=false&percTrainData=50&x=true&y=true"
    "&xTimesY=false&xSquared=false&ySquared=false&cosX=false&sinX=false&cosY=false"
    "&sinY=false&collectStats=false&problem=classification&initZero=false&hideText=false"
)
REGRESSION_URL = (
    DEFAULT_URL.replace("problem=classification", "problem=regression")
    .replace("regDataset=reg-plane", "regDataset=reg-gauss")
    .replace("activation=tanh", "activation=relu")
    .replace("noise=0", "noise=10")
    .replace("seed=0.67134", "seed=0.00311")
)
FEATURES_URL = (
    DEFAULT_URL.replace("activation=tanh", "activation=tanh&regularization=L2")
    .replace("regularizationRate=0", "regularizationRate=0.003")
    .replace("dataset=circle", "dataset=spiral")
    .replace("xSquared=false&ySquared=false", "xSquared=true&ySquared=true")
    .replace("sinX=false", "sinX=true")
    .replace("networkShape=4,2", "networkShape=6,4,2")
    .replace("percTrainData=50", "percTrainData=70")
    .replace("batchSize=10", "batchSize=20")
    .replace("learningRate=0.03", "learningRate=0.1")
)


def settings(url: str) -> dict:
    """What a URL sets, parameter by parameter (display-only ones left out)."""
    return pg.settings(pg.parse(url)[0])


def config_of(url: str) -> dict:
    raw, _, _ = pg.from_url(url)
    return config_mod.resolve(raw)


# ------------------------------------------------------------------- URL -> config


def test_the_default_url_is_playgrounds_default_setup():
    raw, notes, state = pg.from_url(DEFAULT_URL)
    assert notes == []
    assert raw["seed"] == 67134
    assert raw["data"] == {
        "kind": "playground",
        "dataset": "circle",
        "task": "classification",
        "noise": 0.0,
        "test_size": 0.5,
        "val_size": 0.0,
        "extra_features": [],
    }
    assert raw["model"] == {
        "layers": [4, 2],
        "activation": "tanh",
        "kernel_initializer": "glorot_uniform",
        "l1": 0.0,
        "l2": 0.0,
    }
    assert raw["train"] == {
        "optimizer": "sgd",
        "learning_rate": 0.03,
        "batch_size": 10,
        "epochs": pg.EPOCHS,
        "early_stopping": False,
    }
    cfg = config_mod.resolve(raw)
    assert cfg["data"]["n_samples"] == 500  # Playground's NUM_SAMPLES_CLASSIFY
    assert pg.url(state) == DEFAULT_URL  # serialize() writes what deserialize() read


def test_regression_features_and_l2_are_mapped():
    cfg = config_of(REGRESSION_URL)
    assert (cfg["data"]["dataset"], cfg["data"]["task"]) == ("reg-gauss", "regression")
    assert cfg["data"]["n_samples"] == 1200 and cfg["data"]["noise"] == pytest.approx(0.1)
    assert cfg["model"]["activation"] == "relu" and cfg["seed"] == 311
    cfg = config_of(FEATURES_URL)
    assert cfg["data"]["extra_features"] == ["x1^2", "x2^2", "sin(x1)"]
    assert cfg["data"]["test_size"] == pytest.approx(0.3)
    assert cfg["model"]["layers"] == [6, 4, 2]
    # rate 0.003 halved: Playground's rate * w^2 / 2 as Keras' l2 * w^2, whatever the batch
    assert cfg["model"]["l2"] == pytest.approx(0.003 / 2) and cfg["model"]["l1"] == 0
    l1 = config_of(FEATURES_URL.replace("regularization=L2", "regularization=L1"))
    assert l1["model"]["l1"] == pytest.approx(0.003) and l1["model"]["l2"] == 0


def test_the_hash_alone_or_the_whole_url_say_the_same():
    whole = pg.from_url(FEATURES_URL)[0]
    hash_ = FEATURES_URL.split("#", 1)[1]
    assert pg.from_url(hash_)[0] == whole == pg.from_url("#" + hash_)[0]
    assert pg.from_url("https://playground.tensorflow.org/")[0]["model"]["layers"] == [4, 2]


def test_no_hidden_layer_is_an_empty_network_shape():
    assert config_of("networkShape=&seed=0.12345")["model"]["layers"] == []
    state = dict(pg.DEFAULTS, networkShape=[], seed="0.1")
    assert "&networkShape=&" in pg.serialize(state)  # as Playground writes it


def test_seed_mapping():
    assert pg.seed_from_playground("0.67134", 42) == (67134, None)
    assert pg.seed_to_playground(67134) == "0.67134" and pg.seed_to_playground(7) == "0.00007"
    assert pg.seed_from_playground("123456", 42) == (123456, None)
    assert pg.seed_to_playground(123456) == "123456"
    seed, note = pg.seed_from_playground("hello", 42)
    assert seed == pg.seed_from_playground("hello", 0)[0] and "CRC-32" in note
    assert pg.seed_to_playground(seed) in note
    assert "0.00042" in pg.seed_from_playground(None, 42)[1]  # Playground would draw one


def test_display_only_parameters_are_read_and_ignored():
    plain = pg.from_url(DEFAULT_URL)[0]
    shown = (
        DEFAULT_URL.replace("showTestData=false", "showTestData=true")
        .replace("hideText=false", "hideText=true")
        .replace("collectStats=false", "collectStats=true")
    )
    extra = "&tutorial=dataset&noise_hide=true&playButton_hide=false"
    assert pg.from_url(shown + extra) == (plain, [], pg.parse(shown + extra)[0])


@pytest.mark.parametrize(
    "url, notes",
    [
        ("x=false", ["x=false", "x1 kept"]),
        ("y_hide=true", ["y_hide=true", "x2 kept"]),
        ("xSquared=true&xSquared_hide=true", ["hidden", "nor does dlexp"]),
        ("cosX=true", ["no cos(x1) input", "dlexp adds cos(x1)"]),
        ("regularizationRate=0.1", ["without regularization", "dropped"]),
        ("regularization=L1&regularizationRate=0", ["adds nothing"]),
        ("problem=classification&regDataset=reg-gauss", ["regDataset=reg-gauss", "not used"]),
    ],
)
def test_what_dlexp_cannot_carry_is_said(url, notes):
    got = pg.from_url(url + "&seed=0.11111")[1]
    assert len(got) == 1 and all(part in got[0] for part in notes), got


@pytest.mark.parametrize(
    "url, message",
    [
        ("networkShape=4,x", "--from-playground networkShape: expected hidden layer widths"),
        ("networkShape=4,0", "'4,0'"),
        ("learningRate=abc", "--from-playground learningRate: expected a number > 0, got 'abc'"),
        ("learningRate=0", "learningRate: expected a number > 0"),
        ("dataset=moons", "--from-playground dataset: unknown value 'moons'"),
        ("regDataset=reg-plain", "did you mean 'reg-plane'?"),
        ("activation=elu", "expected one of: relu, tanh, sigmoid, linear"),
        ("learnigRate=0.1", "learnigRate: unknown parameter (did you mean 'learningRate'?)"),
        ("x=yes", "--from-playground x: expected true or false, got 'yes'"),
        ("batchSize=2.5", "batchSize: expected a positive integer, got '2.5'"),
        ("noise=90", "noise: expected a number in [0, 80]"),
        ("percTrainData=100", "percTrainData: expected a number in (0, 100)"),
        ("regularization=l2", "did you mean 'L2'?"),
        ("seed=1&seed=2", "seed: given twice"),
        ("activation", "expected name=value, got 'activation'"),
        ("batchSize=", "batchSize: expected a value"),
        ("problem=regression&regDataset=reg-maximum", "regDataset: unknown value"),
    ],
)
def test_unknown_or_malformed_parameters_exit_2_naming_them(url, message):
    result = invoke("config", "--from-playground", url)
    assert result.exit_code == 2 and result.stdout == ""
    assert message in one_line(result)


def test_config_from_playground_prints_yaml_and_notes_apart(tmp_path):
    result = invoke("config", "--from-playground", DEFAULT_URL.replace("x=true", "x=false"))
    assert result.exit_code == 0, result.output
    assert result.stdout.startswith("# dlexp config from a TensorFlow Playground URL")
    printed = yaml.safe_load(result.stdout)
    assert printed == config_mod.resolve(printed)  # resolved already, as `dlexp config`
    assert printed["train"]["early_stopping"] is False and printed["data"]["val_size"] == 0
    assert result.stderr.startswith("warning: x=false") and "x=false" not in yaml.dump(printed)
    path = tmp_path / "pg.yaml"
    path.write_text(result.stdout)
    assert config_mod.load(path)["model"] == printed["model"]  # dlexp train reads it
    result = invoke("config", "--from-playground", DEFAULT_URL, "--set", "train.epochs=3")
    assert yaml.safe_load(result.stdout)["train"]["epochs"] == 3
    result = invoke("config", "--from-playground", DEFAULT_URL, "--set", "train.epochs=0")
    assert result.exit_code == 2 and "--set train.epochs" in one_line(result)
    result = invoke("config", path, "--from-playground", DEFAULT_URL)
    assert result.exit_code == 2 and "not both" in one_line(result)


def test_help_texts_show_both_directions_with_examples():
    config_help = invoke("config", "--help").output
    assert "--from-playground URL" in config_help
    assert "dlexp config --from-playground" in config_help.split("Examples:")[1]
    export_help = invoke("export", "--help").output
    assert "playground" in export_help
    assert "--format playground" in export_help.split("Examples:")[1]


def test_reading_a_url_imports_no_keras():
    code = (
        "import sys\nfrom dlexp.cli import cli\n"
        f"try: cli(['config', '--from-playground', {DEFAULT_URL!r}])\n"
        "except SystemExit: pass\n"
        "print('HEAVY', [m for m in ('tensorflow', 'keras', 'jax') if m in sys.modules])\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert "HEAVY []" in out.stdout


def test_numbers_are_written_as_javascript_writes_them():
    assert [pg.js_number(v) for v in (50, 0.03, 0.00001, 15.000000000000002, 1e-7)] == [
        "50",
        "0.03",
        "0.00001",
        "15",
        "1e-7",
    ]


# ------------------------------------------------------------------- config -> URL


@pytest.mark.parametrize(
    "url",
    [
        DEFAULT_URL,
        REGRESSION_URL,
        FEATURES_URL,
        FEATURES_URL.replace("regularization=L2", "regularization=L1"),
        DEFAULT_URL.replace("networkShape=4,2", "networkShape=").replace(
            "initZero=false", "initZero=true"
        ),
        DEFAULT_URL.replace("learningRate=0.03", "learningRate=0.00001")
        .replace("activation=tanh", "activation=sigmoid")
        .replace("seed=0.67134", "seed=0.00000"),
    ],
)
def test_a_config_from_a_url_gives_the_url_back_with_nothing_dropped(url):
    state, notes = export_pg.state_of(config_of(url))
    assert notes == []
    assert pg.settings(state) == settings(url)


@pytest.mark.parametrize(
    "change, note",
    [
        ({"train": {"optimizer": "adam"}}, "train.optimizer 'adam' dropped: Playground trains"),
        ({"train": {"optimizer": {"name": "sgd", "momentum": 0.9}}}, "arguments"),
        ({"model": {"dropout": 0.2}}, "model.dropout 0.2 dropped"),
        ({"model": {"batch_norm": True}}, "model.batch_norm true dropped"),
        ({"model": {"activation": "elu"}}, "model.activation 'elu' dropped"),
        ({"model": {"l1": 0.001, "l2": 0.001}}, "model.l1 0.001 dropped"),
        ({"train": {"lr_schedule": {"kind": "exponential"}}}, "train.lr_schedule"),
        ({"train": {"early_stopping": {"monitor": "loss"}}}, "train.early_stopping true dropped"),
        ({"data": {"val_size": 0.2}}, "data.val_size 0.2 dropped"),
        ({"data": {"n_samples": 300}}, "data.n_samples 300 dropped"),
        ({"data": {"standardize": True}}, "data.standardize true dropped"),
        ({"data": {"seed": 7}}, "data.seed 7 dropped"),
        ({"train": {"learning_rate": 0.02}}, "learningRate=0.02: the URL carries it"),
        ({"model": {"layers": [16]}}, "at most 6 layers of 8 neurons"),
        ({"train": {"batch_size": "full"}}, "batchSize=250"),
    ],
)
def test_what_playground_has_no_place_for_is_said(change, note):
    raw = pg.from_url(DEFAULT_URL)[0]
    for section, values in change.items():
        raw[section].update(values)
    state, notes = export_pg.state_of(config_mod.resolve(raw))
    assert any(note in n for n in notes), notes
    assert pg.url(state).startswith(pg.SITE + "#activation=")


def test_l2_with_full_batch_is_the_same_rate():
    raw = pg.from_url(FEATURES_URL)[0]
    raw["train"]["batch_size"] = "full"
    state, _ = export_pg.state_of(config_mod.resolve(raw))
    assert state["batchSize"] == 350  # 70% of 500
    assert state["regularizationRate"] == pytest.approx(raw["model"]["l2"] * 2) == 0.003


def test_a_run_on_other_data_has_no_playground_url(runs_dir):
    result = invoke("export", runs_dir / "20260101-000000-plain-aaaaaa", "--format", "playground")
    assert result.exit_code == 2 and result.stdout == ""
    line = one_line(result)
    assert "data.kind: 'moons' has no Playground URL; expected playground" in line
    result = invoke("export", runs_dir / "tinygrid", "--format", "playground")
    assert result.exit_code == 2 and "not a run folder" in one_line(result)


# --------------------------------------------------------------- the round trip


def round_trip(url: str, tmp_path) -> tuple[str, str]:
    """URL -> `dlexp config --from-playground` -> YAML file -> `dlexp train` (2 epochs)
    -> `dlexp export --format playground`: the URL it gives, and export's stderr."""
    result = invoke("config", "--from-playground", url)
    assert result.exit_code == 0, result.output
    config = tmp_path / "from-playground.yaml"
    config.write_text(result.stdout)
    result = invoke(
        "train", config, "--runs-dir", tmp_path / "runs", "--set", "train.epochs=2", "-q",
        "--format", "json",
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    run = tmp_path / "runs" / json.loads(result.stdout)["id"]
    assert (
        json.loads((run / "run.json").read_text())["data"]["task"] == config_of(url)["data"]["task"]
    )
    out = tmp_path / "url.txt"
    result = invoke("export", run, "--format", "playground", "--out", out)
    assert result.exit_code == 0, result.output
    printed = invoke("export", run, "--format", "playground")
    assert printed.stdout == out.read_text()
    return printed.stdout.strip(), printed.stderr


def test_the_sites_default_url_round_trips_through_a_run(tmp_path):
    back, said = round_trip(DEFAULT_URL, tmp_path)
    assert said == ""  # nothing dropped
    assert settings(back) == settings(DEFAULT_URL)
    assert back == DEFAULT_URL  # display-only ones too, at the site's defaults


@pytest.mark.slow
@pytest.mark.parametrize("url", [REGRESSION_URL, FEATURES_URL])
def test_regression_and_features_with_l2_round_trip_through_a_run(url, tmp_path):
    back, said = round_trip(url, tmp_path)
    assert said == ""
    assert settings(back) == settings(url)


def test_settings_after_a_question_mark_are_refused_not_read_as_the_defaults():
    result = invoke(
        "config", "--from-playground", "https://playground.tensorflow.org/?activation=relu"
    )
    assert result.exit_code == 2 and result.stdout == ""
    assert "URL: the settings follow '?' ('activation=relu'); expected them after '#'" in (
        one_line(result)
    )
    assert pg.hash_part("https://playground.tensorflow.org/") == ""  # the defaults


def test_the_header_gives_the_epochs_the_config_holds():
    result = invoke("config", "--from-playground", "problem=regression", "--set", "train.epochs=20")
    assert result.exit_code == 0, result.output
    assert "dlexp chose train.epochs 100 (here 20, as set)," in result.stdout
    assert "epochs: 20" in result.stdout
