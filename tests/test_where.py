"""search.where: the expression that keeps some of a grid's points, checked and
evaluated without eval (no training here)."""

import json
import subprocess
import sys
import time

import pytest
from helpers import invoke, one_line

from dlexp.core.errors import ConfigError
from dlexp.search import plan
from dlexp.search import spec as grid
from dlexp.search.where import MAX_CHARS, Where

KEYS = ["model.hidden_layers", "model.activation", "train.learning_rate"]
BASE = """
seed: 3
data: {kind: moons, n_samples: 200}
train: {epochs: 2, early_stopping: false}
"""
SEARCH = """search:
  params:
    model.hidden_layers: [0, 1, 2]
    model.activation: [relu, tanh]
"""


def keeps(text: str, **point) -> bool:
    values = {k: point.get(k.rpartition(".")[2]) for k in KEYS}
    return Where(text, KEYS).keeps(values)


def refusal(text: str, keys=KEYS, point=None) -> str:
    with pytest.raises(ConfigError) as info:
        Where(text, keys).keeps(point or {k: 1 for k in keys})
    assert info.value.path == "search.where"
    return str(info.value)


def load(write, search: str):
    return grid.load(write("g.yaml", BASE + search))


@pytest.mark.parametrize(
    "text, point, expected",
    [
        ("model.hidden_layers > 0 or model.activation == 'relu'", (0, "relu", 0.1), True),
        ("model.hidden_layers > 0 or model.activation == 'relu'", (0, "tanh", 0.1), False),
        ("not model.hidden_layers", (0, "tanh", 0.1), True),
        ("0 < model.hidden_layers <= 2", (3, "tanh", 0.1), False),  # chained
        ("0 < model.hidden_layers <= 2", (2, "tanh", 0.1), True),
        ("model.activation in ['relu', 'elu']", (1, "elu", 0.1), True),
        ("model.activation not in ('relu', 'elu')", (1, "elu", 0.1), False),
        ("model.hidden_layers * 2 + 1 == 5 and -model.hidden_layers == -2", (2, "x", 0), True),
        ("train.learning_rate * 10 ** 3 >= 1", (1, "relu", 0.001), True),
        ("model.hidden_layers // 2 == 1 and model.hidden_layers % 2 == 1", (3, "x", 0), True),
        ("model.hidden_layers / 4 == 0.5", (2, "x", 0), True),
        ("model.activation == None or false", (1, None, 0), True),  # YAML spellings too
        ("true and model.activation != null", (1, "relu", 0), True),
        ("model.activation < 'sigmoid'", (1, "relu", 0), True),  # strings compare
    ],
)
def test_expressions(text, point, expected):
    layers, activation, lr = point
    assert keeps(text, hidden_layers=layers, activation=activation, learning_rate=lr) is expected


@pytest.mark.parametrize(
    "text, said",
    [
        ("__import__('os')", "a call (__import__('os')) is not allowed"),
        ("__import__('os').system('true')", "is not allowed"),
        ("().__class__", "().__class__: an attribute of something not a searched key"),
        ("().__class__.__bases__[0].__subclasses__()", "is not allowed"),
        ("model.activation.__class__", "model.activation.__class__ is not a searched key"),
        ("model.activation.upper() == 'RELU'", "a call"),
        ("(lambda: 1)()", "is not allowed"),
        ("lambda: 1", "a lambda"),
        ("[k for k in [1, 2]]", "a comprehension"),
        ("{k: 1 for k in 'ab'}", "a comprehension"),
        ("model.activation[0] == 'r'", "a subscript"),
        ("{'a': 1} == 1", "Dict"),
        ("f'{model.activation}' == 'relu'", "JoinedStr"),
        ("(x := 1)", "NamedExpr"),
        ("1 if model.hidden_layers else 2", "IfExp"),
        ("~model.hidden_layers == 1", "the operator Invert"),
        ("model.hidden_layers << 2 == 4", "the operator LShift"),
        ("model.hidden_layers is 1", "is / is not are not allowed"),
        ("b'x' == 1", "is not a number, string"),
        ("1j == 1", "is not a number, string"),
        ("model.hidden_layers >", "it does not parse"),
        ("model.hidden_layers > 0; import os", "it does not parse"),
        ("", "expected an expression over the searched keys"),
    ],
)
def test_refused_before_anything_runs(text, said):
    message = refusal(text)
    assert said in message, message


def test_huge_numbers_are_refused_not_computed():
    started = time.perf_counter()
    assert "too large (over 4096 bits)" in refusal("2 ** 10 ** 10 > 1")
    assert "too large (over 4096 bits)" in refusal("9 ** 9 ** 9 > 1")
    assert "too large for a float" in refusal("2.0 ** 5000 > 1")
    assert "not a real number" in refusal("(-8) ** 0.5 > 1")
    assert "* needs numbers" in refusal("'x' * 10 ** 9 == 1")  # no string repetition
    assert "+ needs numbers" in refusal("model.activation + 'x' == 1", point={k: "a" for k in KEYS})
    assert time.perf_counter() - started < 1
    assert keeps("2 ** 64 > 10 ** 19 and 10 ** -400 == 0")


def test_too_long_or_too_many_parts():
    assert f"at most {MAX_CHARS:,}" in refusal("1 == " + "1" * MAX_CHARS)
    assert "parts, at most 200" in refusal(" + ".join(["1"] * 120) + " > 0")
    assert "parts, at most 200" in refusal("-" * 900 + "1 > 0")  # deep, yet refused
    assert "too many nested parentheses" in refusal("(" * 300 + "1" + ")" * 300)


def test_unknown_names_say_what_is_searched_with_a_did_you_mean():
    message = refusal("model.hiden_layers > 0")
    assert "model.hiden_layers is not a searched key (did you mean 'model.hidden_layers'?)" in (
        message
    )
    assert "searched: model.hidden_layers, model.activation, train.learning_rate" in message
    assert "a value is quoted: 'relu'" in refusal("model.activation == relu")


def test_a_grid_keeps_the_points_where_says_in_the_grids_order(write):
    where = "model.hidden_layers > 0 or model.activation == 'relu'"
    spec = load(write, SEARCH + f'  where: "{where}"')
    points = spec.grid_points()
    assert spec.n_points() == 5 == len(points)
    assert [(p["model.hidden_layers"], p["model.activation"]) for p in points] == [
        (0, "relu"),
        (1, "relu"),
        (1, "tanh"),
        (2, "relu"),
        (2, "tanh"),
    ]
    assert [spec.point(i) for i in range(5)] == points
    assert spec.resolved()["search"]["where"].startswith("model.hidden_layers > 0")
    capped = load(write, SEARCH + "  where: 'model.hidden_layers > 0'\n  max_trials: 3")
    assert [p["model.hidden_layers"] for p in capped.grid_points()] == [1, 1, 2]


def test_without_where_search_yaml_is_as_before(write):
    spec = load(write, SEARCH)
    assert "where" not in spec.resolved()["search"] and spec.n_points() == 6


def test_a_million_point_grid_is_filtered_in_well_under_seconds(write):
    ranges = "\n".join(
        f"    {k}: {{min: 1, max: 100}}"
        for k in ("model.first_neuron", "train.batch_size", "train.epochs")
    )
    started = time.perf_counter()
    spec = load(
        write,
        "search:\n  params:\n" + ranges + "\n  where: 'model.first_neuron % 10 == 0 and "
        "train.epochs > 50'",
    )
    assert spec.n_points() == 10 * 50 * 100
    first = spec.point(0)
    assert first == {"model.first_neuron": 10, "train.batch_size": 1, "train.epochs": 51}
    assert spec.point(spec.n_points() - 1) == {
        "model.first_neuron": 100,
        "train.batch_size": 100,
        "train.epochs": 100,
    }
    assert time.perf_counter() - started < 10  # about 1 s on 2 busy cores


@pytest.mark.parametrize(
    "where, said",
    [
        ("model.hidden_layers < 'a'", "on the point model.hidden_layers=0: '<' not supported"),
        ("model.hidden_layers > 5", "keeps none of the grid's 6 points"),
        ("false", "keeps none of the grid's 6 points"),
        ("1 / (model.hidden_layers - 1) > 0", "on the point model.hidden_layers=1: division"),
        ("model.layers == [8]", "model.layers is not a searched key"),
        ("3", None),  # a number is an expression, kept when not 0
    ],
)
def test_bad_wheres_are_refused_when_the_grid_is_read(write, where, said):
    search = SEARCH + f'  where: "{where}"'
    if said is None:
        assert load(write, search).n_points() == 6
        return
    with pytest.raises(ConfigError) as info:
        load(write, search)
    assert info.value.path == "search.where" and said in str(info.value), str(info.value)


def test_where_is_refused_where_it_cannot_apply(write):
    for tuner in ("bayesian", "hyperband"):
        with pytest.raises(ConfigError, match=f"{tuner} chooses its own points"):
            load(write, SEARCH + f"  tuner: {tuner}\n  where: 'model.hidden_layers > 0'")
    with pytest.raises(ConfigError, match="expected an expression over the searched keys"):
        load(write, SEARCH + "  where: 3")
    with pytest.raises(ConfigError, match="valid keys in search: .*where"):
        load(write, SEARCH + "  wher: x")
    with pytest.raises(ConfigError, match="on the point model.activation='relu'"):
        load(write, SEARCH + '  tuner: random\n  where: "model.activation > 1"')


def test_random_search_draws_until_enough_points_are_kept(write):
    search = SEARCH.replace("[0, 1, 2]", "{min: 0, max: 20}") + "  tuner: random\n  max_trials: 5"
    drawn = plan.planned_points(load(write, search))
    kept = plan.planned_points(load(write, search + "\n  where: 'model.hidden_layers > 15'"))
    again = plan.planned_points(load(write, search + "\n  where: 'model.hidden_layers > 15'"))
    assert len(kept) == 5 and kept == again  # the seed's draws, every time
    assert all(p["model.hidden_layers"] > 15 for p in kept)
    first = [p for p in drawn if p["model.hidden_layers"] > 15]
    assert kept[: len(first)] == first  # the draws made without where, filtered, come first
    with pytest.raises(ConfigError, match="keeps none of the .* points drawn"):
        plan.planned_points(load(write, search + "\n  where: 'model.hidden_layers > 50'"))


def test_dry_run_counts_the_kept_points(write, tmp_path):
    g = write("g.yaml", BASE + SEARCH + "  where: 'model.hidden_layers != 1'")
    result = invoke("search", g, "--dry-run", "--format", "json", "--runs-dir", tmp_path)
    assert result.exit_code == 0, result.output
    shown = json.loads(result.stdout)
    assert shown["trials"] == 4 and shown["runs"] == 4
    assert [p["trial"] for p in shown["points"]] == ["t000", "t001", "t002", "t003"]
    assert {p["model.hidden_layers"] for p in shown["points"]} == {0, 2}


def test_the_command_line_says_one_line_and_exits_2(write, tmp_path):
    g = write("bad.yaml", BASE + SEARCH + "  where: \"__import__('os').system('touch pwned')\"")
    cmd = [sys.executable, "-m", "dlexp.cli", "search", str(g), "--dry-run"]
    done = subprocess.run(
        [*cmd, "--runs-dir", str(tmp_path)], capture_output=True, text=True, cwd=tmp_path
    )
    assert done.returncode == 2
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in done.stderr, done.stderr
    assert lines[0].startswith(f"Error: {g}: search.where: ") and "a call" in lines[0]
    assert not (tmp_path / "pwned").exists()
    g = write("t.yaml", BASE + SEARCH + "  where: 'model.x > 0'")
    result = invoke("search", g, "--dry-run", "--runs-dir", tmp_path)
    assert "model.x is not a searched key" in one_line(result) and result.exit_code == 2
