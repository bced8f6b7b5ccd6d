"""Config validation: every class of bad input gets one clear message; no training."""

import pytest
import yaml

from dlexp import config
from dlexp.core import yamlio
from dlexp.core.errors import ConfigError


def err(raw) -> str:
    with pytest.raises(ConfigError) as info:
        config.resolve(raw)
    return str(info.value)


def test_defaults_are_complete_and_valid():
    cfg = config.defaults()
    assert set(cfg) == {"name", "seed", "data", "model", "train"}
    assert cfg["model"]["layers"] == [16, 16]
    assert cfg["train"]["learning_rate"] == 0.001
    assert cfg["data"]["noise"] == 0.2 and cfg["data"]["classes"] == 2
    # A resolved config resolves to itself: config.yaml re-runs exactly.
    assert config.resolve(cfg) == cfg


def test_bundled_configs_resolve(tmp_path):
    from helpers import CONFIGS

    for path in CONFIGS.glob("*.yaml"):
        if path.stem in ("grid", "optimizers"):
            continue
        cfg = config.load(path)
        assert config.resolve(yaml.safe_load(yamlio.dump(cfg))) == cfg


@pytest.mark.parametrize(
    "raw, expected",
    [
        (
            {"train": {"epochs": "ten"}},
            "train.epochs: expected a positive integer up to 100000, got 'ten'",
        ),
        ({"train": {"epochs": 0}}, "train.epochs: expected a positive integer up to 100000, got 0"),
        (
            {"train": {"epochs": True}},
            "train.epochs: expected a positive integer up to 100000, got true",
        ),
        ({"model": {"dropout": 1}}, "model.dropout: expected a number in [0, 1), got 1"),
        ({"model": {"dropout": -0.1}}, "model.dropout: expected a number in [0, 1), got -0.1"),
        ({"model": {"layers": [8, 0]}}, "model.layers[1]: expected a positive integer, got 0"),
        ({"model": {"layers": 8}}, "model.layers: expected a list of a positive integer"),
        ({"data": {"n_samples": -5}}, "data.n_samples: expected a positive integer, got -5"),
        ({"data": {"test_size": 1.5}}, "data.test_size: expected a number in (0, 1), got 1.5"),
        ({"model": {"first_neuron": 0}}, "model.first_neuron: expected a positive integer, got 0"),
        (
            {"train": {"batch_size": "half"}},
            "train.batch_size: expected a positive integer or 'full', got 'half'",
        ),
        (
            {"train": {"learning_rate": "fast"}},
            "train.learning_rate: expected a number > 0, got 'fast'",
        ),
        ({"model": {"l2": -1}}, "model.l2: expected a number >= 0, got -1"),
    ],
)
def test_wrong_type_or_range_names_key_value_and_expectation(raw, expected):
    assert err(raw).startswith(expected)


@pytest.mark.parametrize(
    "raw, start, suggestion",
    [
        ({"train": {"epoch": 5}}, "train.epoch: unknown key", "did you mean 'epochs'?"),
        ({"modle": {}}, "modle: unknown key", "did you mean 'model'?"),
        (
            {"train": {"optimizer": "adamm"}},
            "train.optimizer: unknown value 'adamm'",
            "did you mean 'adam'?",
        ),
        (
            {"model": {"activation": "rleu"}},
            "model.activation: unknown value 'rleu'",
            "did you mean 'relu'?",
        ),
        ({"data": {"kind": "moon"}}, "data.kind: unknown value 'moon'", "did you mean 'moons'?"),
        (
            {"train": {"loss": "binary_crossentropyy"}},
            "train.loss: unknown value",
            "did you mean 'binary_crossentropy'?",
        ),
        (
            {"model": {"kernel_initializer": "he_normall"}},
            "model.kernel_initializer: unknown",
            "did you mean 'he_normal'?",
        ),
        (
            {"train": {"optimizer": {"name": "sgd", "momentun": 0.9}}},
            "train.optimizer.momentun: unknown argument of sgd",
            "did you mean 'momentum'?",
        ),
        (
            {"train": {"metrics": ["acuracy"]}},
            "train.metrics[0]: unknown value 'acuracy'",
            "did you mean 'accuracy'?",
        ),
    ],
)
def test_unknown_names_suggest_and_list(raw, start, suggestion):
    message = err(raw)
    assert message.startswith(start)
    assert suggestion in message


def test_unknown_name_lists_the_valid_ones():
    message = err({"train": {"optimizer": "lbfgs"}})
    for name in ("sgd", "adagrad", "adadelta", "rmsprop", "adam", "adamax", "nadam"):
        assert name in message


def test_cross_key_checks():
    assert "give either layers or first_neuron" in err(
        {"model": {"layers": [4], "first_neuron": 9}}
    )
    assert err({"data": {"kind": "moons", "classes": 3}}).startswith("data.classes: the moons")
    assert err({"data": {"kind": "csv"}}).startswith("data.path: required when data.kind is csv")
    message = err({"data": {"val_size": 0}})
    assert message.startswith("train.early_stopping.monitor: 'val_loss' is not a logged metric")
    assert "data.val_size is 0" in message
    assert "did you mean 'val_accuracy'" in err(
        {"train": {"early_stopping": {"monitor": "val_acc"}}}
    )
    assert err({"train": {"lr_schedule": {"kind": "cosine"}}}).startswith(
        "train.lr_schedule.kind: unknown value 'cosine'"
    )
    assert err({"train": {"optimizer": {"name": "sgd", "learning_rate": 0.1}}}).startswith(
        "train.optimizer.learning_rate: set train.learning_rate instead"
    )


def test_not_a_mapping():
    assert err([1, 2]).startswith("expected a mapping with sections")
    assert err({"model": [1]}).startswith("model: expected a mapping")


def test_normalisation():
    cfg = config.resolve(
        {
            "train": {
                "optimizer": "Adam",
                "learning_rate": "1e-3",
                "batch_size": "full",
                "early_stopping": True,
            },
            "model": {"first_neuron": 10},
        }
    )
    assert cfg["train"]["optimizer"] == "adam"
    assert cfg["train"]["learning_rate"] == 0.001  # YAML 1.1 reads 1e-3 as text
    assert cfg["train"]["batch_size"] == "full"
    assert cfg["train"]["early_stopping"]["patience"] == 20
    assert cfg["model"]["layers"] is None
    assert (cfg["model"]["hidden_layers"], cfg["model"]["shape"]) == (1, "brick")
    sgd = config.resolve(
        {"train": {"optimizer": {"name": "sgd", "momentum": 0.9, "nesterov": True}}}
    )
    assert sgd["train"]["optimizer"] == {"name": "sgd", "momentum": 0.9, "nesterov": True}
    assert sgd["train"]["learning_rate"] == 0.01
    plateau = config.resolve({"train": {"lr_schedule": "plateau"}})
    assert plateau["train"]["lr_schedule"]["monitor"] == "val_loss"


def test_files(write, tmp_path):
    with pytest.raises(ConfigError, match=r"nope.yaml: file not found"):
        config.load(tmp_path / "nope.yaml")
    bad = write("bad.yaml", "train:\n  epochs: 5\n    batch_size: 3\n")
    with pytest.raises(ConfigError, match=r"bad.yaml: malformed YAML at line 3"):
        config.load(bad)
    scalar = write("scalar.yaml", "just text\n")
    with pytest.raises(ConfigError, match=r"scalar.yaml: expected a mapping.*got str 'just text'"):
        config.load(scalar)
    twice = write("twice.yaml", "train:\n  epochs: 5\n  epochs: 6\n")
    with pytest.raises(ConfigError, match=r"key 'epochs' appears twice"):
        config.load(twice)
    typo = write("typo.yaml", "train:\n  epochz: 5\n")
    with pytest.raises(ConfigError, match=r"^.*typo.yaml: train.epochz: unknown key"):
        config.load(typo)
    empty = write("empty.yaml", "")
    assert config.load(empty)["train"]["epochs"] == 100


def test_overrides(tiny):
    cfg = config.load(
        tiny,
        [
            "train.epochs=5",
            "model.dropout=0.2",
            "seed=3",
            "train.optimizer=sgd",
            "train.optimizer.momentum=0.9",
            "model.layers=[4, 4]",
        ],
    )
    assert cfg["train"]["optimizer"] == {"name": "sgd", "momentum": 0.9}
    assert cfg["train"]["epochs"] == 5 and cfg["model"]["dropout"] == 0.2 and cfg["seed"] == 3
    assert cfg["model"]["layers"] == [4, 4]
    # a sub-key of a plain name turns it into a mapping, checked like any other
    with pytest.raises(ConfigError, match="momentum: unknown argument of adam"):
        config.load(tiny, ["train.optimizer.momentum=0.9"])
    with pytest.raises(
        ConfigError, match=r"^--set train.epochs: expected a positive integer up to 100000"
    ):
        config.load(tiny, ["train.epochs=ten"])
    with pytest.raises(ConfigError, match=r"^--set 'epochs': expected KEY=VALUE"):
        config.load(tiny, ["epochs"])
    with pytest.raises(ConfigError, match=r"^--set train.epoch: unknown key"):
        config.load(tiny, ["train.epoch=3"])


def test_keras_name_tables_match_keras():
    """The names dlexp accepts without importing Keras are Keras' own, and work there."""
    import inspect

    import keras
    from keras.src.activations import ALL_OBJECTS_DICT as activations

    assert set(config.ACTIVATIONS) == {k for k in activations if k.islower()}
    for name in config.ACTIVATIONS:
        assert callable(keras.activations.get(name))
    for name in config.INITIALIZERS:
        keras.initializers.get(name)
    for name in config.LOSSES:
        keras.losses.get(name)
    for name, (lr, args) in config.OPTIMIZERS.items():
        opt = keras.optimizers.get(name)
        assert float(opt.learning_rate) == pytest.approx(lr), name
        signature = inspect.signature(type(opt).__init__).parameters
        assert set(args) <= set(signature), (name, set(args) - set(signature))


def test_the_docs_document_every_key():
    """The docs' key table (docs/configs.md) is generated from the schema: every key
    needs its meaning there, and the page must ask for the table."""
    from helpers import ROOT

    keys = dict(config.keys())
    assert "train.epochs" in keys and "data.cv" in keys and len(keys) > 30
    missing = [k for k, spec in keys.items() if not spec.meaning.strip()]
    assert not missing, f"schema keys without a meaning for the docs: {missing}"
    table = config.key_table()
    assert all(f"| `{k}` |" in table for k in keys)
    assert "<!-- generated: config-keys -->" in (ROOT / "docs" / "configs.md").read_text()


def test_errors_carry_their_key_path_as_data(tiny):
    from dlexp.core.errors import UnknownKeyError

    with pytest.raises(ConfigError) as info:
        config.resolve({"model": {"layers": [8, 0]}})
    assert info.value.path == "model.layers[1]" and info.value.within("model.layers")
    assert not info.value.within("model.layer")  # a key path, not a text prefix
    with pytest.raises(UnknownKeyError) as info:
        config.resolve({"train": {"epoch": 5}})
    assert info.value.path == "train.epoch"
    # where it came from is said once, and the path stays data
    with pytest.raises(ConfigError) as info:
        config.load(tiny, ["model.layers=[4, 0]"])
    assert str(info.value) == "--set model.layers[1]: expected a positive integer, got 0"
    assert info.value.path == "model.layers[1]"
    moved = info.value.moved("search.params.model.layers[1]")
    assert str(moved).startswith("--set search.params.model.layers[1]: expected")


def test_data_task_resolves_to_the_task_the_data_is_for(write):
    """data.task: auto becomes the concrete task: the dataset's own, or for a CSV its
    target's (numbers not all integers: regression); the metrics default by task."""
    cases = [
        ({"kind": "moons"}, "classification", ["accuracy"]),
        ({"kind": "playground"}, "classification", ["accuracy"]),  # circle by default
        ({"kind": "playground", "dataset": "reg-gauss"}, "regression", ["rmse", "r2"]),
        ({"kind": "iris"}, "classification", ["accuracy"]),
        ({"kind": "diabetes", "task": "regression"}, "regression", ["rmse", "r2"]),
    ]
    for data, task, metrics in cases:
        cfg = config.resolve({"data": data})
        assert (cfg["data"]["task"], cfg["train"]["metrics"]) == (task, metrics), data
        assert cfg["model"]["output_activation"] == ("linear" if task == "regression" else None)
    path = write("reg.csv", "a,b,y\n" + "".join(f"{i},{i % 3},{i / 4}\n" for i in range(20)))
    cfg = config.resolve({"data": {"kind": "csv", "path": str(path), "target": "y"}})
    assert cfg["data"]["task"] == "regression" and cfg["train"]["metrics"] == ["rmse", "r2"]
    assert config.resolve(yaml.safe_load(yamlio.dump(cfg))) == cfg  # config.yaml re-runs
    counts = config.resolve({"data": {"kind": "playground", "dataset": "reg-plane"}})
    assert counts["data"]["n_samples"] == 1200 and counts["data"]["noise"] == 0.0
    assert config.resolve({"data": {"kind": "playground"}})["data"]["n_samples"] == 500


@pytest.mark.parametrize(
    "data, train, key, words",
    [
        (
            {"kind": "csv", "path": "{text}", "target": "label", "task": "regression"},
            {},
            "data.target",
            "holds text labels; data.task regression expects numbers",
        ),
        ({"kind": "moons", "task": "regression"}, {}, "data.task", "moons dataset is for"),
        (
            {"kind": "playground", "dataset": "reg-plane"},
            {"metrics": ["accuracy"]},
            "train.metrics[0]",
            "'accuracy' is a metric for classification; data.task is regression",
        ),
        (
            {"kind": "playground", "dataset": "reg-gauss"},
            {"loss": "binary_crossentropy"},
            "train.loss",
            "'binary_crossentropy' is not a loss for regression",
        ),
        (
            {"kind": "moons"},
            {"metrics": ["accuracy", "rmse"]},
            "train.metrics[1]",
            "'rmse' is a metric for regression",
        ),
        ({"kind": "moons", "dataset": "reg-gauss"}, {}, "data.dataset", "only data.kind playgr"),
        (
            {"kind": "playground", "dataset": "gauss", "classes": 3},
            {},
            "data.classes",
            "Playground's gauss has 2 classes",
        ),
        ({"kind": "playground", "dataset": "reg-cube"}, {}, "data.dataset", "reg-plane"),
        (
            {"kind": "csv", "path": "{ints}", "target": "price"},
            {},
            "data.target",
            "holds 40 distinct integers in 40 rows, too many to be classes",
        ),
        (
            {"kind": "csv", "path": "{text}", "target": ["a", "b"], "task": "classification"},
            {},
            "data.target",
            "names 2 columns; data.task classification learns one column",
        ),
    ],
)
def test_data_task_mistakes_exit_2_naming_the_key(write, tmp_path, data, train, key, words):
    from helpers import invoke, one_line

    text = write("animals.csv", "a,b,label\n" + "0,1,cat\n1,0,dog\n" * 10)
    ints = write("prices.csv", "a,price\n" + "".join(f"{i},{100 + 7 * i}\n" for i in range(40)))
    files = {"{text}": str(text), "{ints}": str(ints)}
    data = {k: files.get(v, v) if isinstance(v, str) else v for k, v in data.items()}
    path = write("bad.yaml", yamlio.dump({"data": data, "train": {**train, "epochs": 1}}))
    result = invoke("train", path, "--runs-dir", tmp_path / "runs")
    assert result.exit_code == 2, result.output
    line = one_line(result)
    assert f"{key}: " in line and words in line, line
    assert not (tmp_path / "runs").exists()  # refused before any run folder


def test_a_regression_output_is_linear():
    cfg = {"data": {"kind": "playground", "dataset": "reg-plane"}}
    assert config.resolve(cfg)["model"]["output_activation"] == "linear"
    with pytest.raises(ConfigError) as err:
        config.resolve({**cfg, "model": {"output_activation": "sigmoid"}})
    assert err.value.path == "model.output_activation" and "expected linear" in str(err.value)


def test_a_csv_task_given_is_not_read_again_and_an_old_run_is_a_classification(tmp_path):
    """A run's config.yaml (a concrete data.task) resolves with its CSV moved away; a
    run from before data.task (none in its config.yaml) is the classification it was,
    even when its labels are numbers with decimals (auto would regress them)."""
    from dlexp.runs import select

    data = {"kind": "csv", "path": str(tmp_path / "gone.csv"), "target": "y"}
    assert config.resolve({"data": {**data, "task": "regression"}})["data"]["task"] == (
        "regression"
    )
    (tmp_path / "gone.csv").write_text("a,y\n" + "".join(f"{i},{i % 2 + 0.5}\n" for i in range(9)))
    assert config.resolve({"data": data})["data"]["task"] == "regression"  # auto reads it
    run = tmp_path / "old-run"
    run.mkdir()
    (run / "config.yaml").write_text(yamlio.dump({"data": data, "train": {"epochs": 1}}))
    assert select.config_of(run)["data"]["task"] == "classification"
