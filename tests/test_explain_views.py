"""dlexp explain activations and dlexp explain optimizers: Keras' derivatives against
closed forms, the optimizers' paths against what each optimizer is known to do, the
pictures, and the commands' exits and JSON."""

import json
import math
import struct
import subprocess
import sys

import numpy as np
import pytest
from click.testing import CliRunner

from dlexp.cli import cli
from dlexp.core.errors import ConfigError
from dlexp.explain import activations as act
from dlexp.explain import optimizers as opt

POINTS = [-3.0, -1.0, -0.5, -0.1, 0.1, 0.5, 1.0, 3.0]


def invoke(*args):
    return CliRunner().invoke(cli, ["explain", *map(str, args)], catch_exceptions=False)


def png_size(data: bytes) -> tuple[int, int]:
    """Width and height from a PNG's IHDR chunk, after checking the signature."""
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    assert data[12:16] == b"IHDR"
    return struct.unpack(">II", data[16:24])


def test_modules_import_nothing_heavy():
    code = (
        "import sys\nimport dlexp.explain.activations, dlexp.explain.optimizers\n"
        "print('HEAVY', [m for m in ('keras', 'jax', 'matplotlib', 'tensorflow') "
        "if m in sys.modules])\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert "HEAVY []" in out.stdout


# --- activations ---------------------------------------------------------------------


def sigmoid(x):
    return 1 / (1 + np.exp(-x))


@pytest.mark.parametrize(
    "name, closed_form",
    [
        ("sigmoid", lambda x: sigmoid(x) * (1 - sigmoid(x))),
        ("tanh", lambda x: 1 - np.tanh(x) ** 2),
        ("relu", lambda x: (x > 0).astype(float)),
        ("leaky_relu", lambda x: np.where(x > 0, 1.0, 0.2)),  # Keras' slope is 0.2
        ("elu", lambda x: np.where(x > 0, 1.0, np.exp(x))),
        ("softplus", sigmoid),
        ("softsign", lambda x: 1 / (1 + np.abs(x)) ** 2),
        ("swish", lambda x: sigmoid(x) * (1 + x * (1 - sigmoid(x)))),
        ("linear", np.ones_like),
    ],
)
def test_autodiff_derivative_matches_the_closed_form(name, closed_form):
    x = np.array(POINTS)
    np.testing.assert_allclose(act.derivative(name, x), closed_form(x), atol=2e-6)


def test_relu_derivative_at_its_kink_is_zero_in_jax():
    assert act.derivative("relu", [0.0])[0] == 0.0


def test_records_hold_the_notebook_lesson():
    records = {r["name"]: r for r in act.records(act.compute())}
    assert list(records) == list(act.DEFAULT_NAMES)
    s = records["sigmoid"]
    assert s["f_at_0"] == pytest.approx(0.5)
    assert s["df_at_0"] == pytest.approx(0.25)
    assert s["max_abs_df"] == pytest.approx(0.25, abs=1e-6)  # vanishing gradients
    assert s["vanishes"] == "both"
    assert s["min"] == pytest.approx(sigmoid(-5), rel=1e-4)
    assert records["tanh"]["max_abs_df"] == pytest.approx(1.0)
    assert records["tanh"]["df_at_5"] == pytest.approx(1 - np.tanh(5) ** 2, abs=1e-6)
    assert records["relu"]["vanishes"] == "left"
    assert records["leaky_relu"]["vanishes"] == "none"
    assert records["linear"]["vanishes"] == "none"
    assert records["hard_sigmoid"]["max_abs_df"] == pytest.approx(1 / 6, abs=1e-6)
    assert records["swish"]["keras"] == "silu"
    caption = act.caption(act.compute(["sigmoid", "relu"]))
    assert "at most 0.25" in caption and "9.5e-07" in caption


def test_every_known_name_exists_in_the_installed_keras():
    import keras

    for name in act.KNOWN:
        assert callable(keras.activations.get(name)), name


@pytest.mark.parametrize(
    "names, expected",
    [
        (["sigmod"], "unknown value 'sigmod' (did you mean 'sigmoid'?)"),
        (["relu", "nope"], "unknown value 'nope'"),
        (["softmax"], "'softmax' works along an axis"),
    ],
)
def test_unknown_activation_is_refused_with_the_known_names(names, expected):
    with pytest.raises(ConfigError) as info:
        act.check_names(names)
    assert expected in str(info.value)
    assert "expected one of: " in str(info.value) and "tanh" in str(info.value)


def test_check_names_defaults_and_drops_duplicates():
    assert act.check_names([]) == list(act.DEFAULT_NAMES)
    assert act.check_names(["ReLU", "relu", "tanh"]) == ["relu", "tanh"]


def test_activations_picture_is_a_png():
    data = act.draw(act.compute(["sigmoid", "tanh", "relu", "elu", "gelu"]))
    width, height = png_size(data)
    assert 800 <= width <= 2000 and 300 <= height <= 2000
    assert len(data) > 20_000


# --- optimizers ----------------------------------------------------------------------


def final(result, name):
    return next(p for p in result.paths if p.name == name)


@pytest.mark.parametrize("surface", ["ravine", "rosenbrock", "beale"])
def test_adam_ends_lower_than_it_started(surface):
    result = opt.run(surface, "adam")
    adam = final(result, "adam")
    assert adam.diverged_at is None
    assert adam.final_loss < 0.01 * result.start_loss
    assert adam.loss[0] == pytest.approx(result.start_loss)


def test_momentum_gets_closer_than_sgd_on_the_ravine():
    # Same rate, same steps: SGD crawls along the ravine's floor, momentum arrives.
    same = opt.run("ravine", "sgd,momentum,nesterov", steps=100, lr=0.02)
    sgd, momentum, nesterov = (opt.distance(same, p) for p in same.paths)
    assert sgd > 2.5 and momentum < 0.1 and nesterov < 0.1
    # The defaults: SGD at 0.09 zig-zags across it and still ends farther than
    # momentum at 0.02.
    default = opt.run("ravine", "sgd,momentum")
    sgd, momentum = (opt.distance(default, p) for p in default.paths)
    assert momentum < sgd / 10
    ys = final(default, "sgd").xy[:6, 1]
    assert (np.sign(ys[1:]) != np.sign(ys[:-1])).all()  # the zig-zag


def test_adaptive_optimizers_escape_the_saddle_and_sgd_does_not():
    result = opt.run("saddle")
    assert opt.distance(result, final(result, "sgd")) < 0.1
    for name in ("adam", "rmsprop", "adagrad", "nadam"):
        assert abs(final(result, name).final[1]) > 1.0, name


def test_the_path_is_keras_own_update():
    # One plain SGD step by hand: w - lr * grad, grad of 0.1x² + 10y² at (-4, 1).
    result = opt.run("ravine", "sgd", steps=1, lr=0.01)
    np.testing.assert_allclose(result.paths[0].xy, [[-4, 1], [-3.992, 0.8]], rtol=1e-6)
    # Adam through the stateful API (keras.Variable + apply_gradients) gives the same.
    import jax
    import keras

    surface = opt.SURFACES["rosenbrock"]
    variable = keras.Variable(np.array(surface.start, dtype="float32"))
    adam = opt.make_optimizer("adam", 0.05)
    grad = jax.grad(opt.loss_fn(surface))
    for _ in range(5):
        adam.apply_gradients([(grad(variable.value), variable)])
    path = opt.run("rosenbrock", "adam", steps=5).paths[0]
    np.testing.assert_allclose(path.xy[-1], np.asarray(variable.value), rtol=1e-5)


def test_a_diverging_path_stops_at_its_last_finite_point_and_still_draws():
    result = opt.run("rosenbrock", "sgd,adam", steps=200, lr=0.01)
    sgd, adam = result.paths
    assert sgd.diverged_at is not None and 0 < sgd.diverged_at < 200
    assert len(sgd.xy) == sgd.diverged_at and np.isfinite(sgd.xy).all()
    assert math.isfinite(sgd.final_loss)
    assert adam.diverged_at is None and len(adam.xy) == 201
    record = opt.records(result)["optimizers"][0]
    assert record["status"] == "diverged" and record["diverged_at_step"] == sgd.diverged_at
    png_size(opt.draw(result))


@pytest.mark.parametrize(
    "kwargs, expected",
    [
        ({"surface": "bumpy"}, "--surface: unknown value 'bumpy'; expected one of: beale"),
        ({"optimizers": "adam,adamm"}, "--optimizers: unknown value 'adamm' (did you mean"),
        ({"optimizers": ","}, "--optimizers: expected a comma-separated list"),
        ({"steps": 0}, "--steps: expected an integer from 1 to 100,000, got 0"),
        ({"steps": 100_001}, "--steps: expected an integer from 1 to 100,000, got 100001"),
        ({"lr": 0.0}, "--lr: expected a learning rate > 0, got 0.0"),
        ({"lr": -1.0}, "--lr: expected a learning rate > 0, got -1.0"),
        ({"lr": float("nan")}, "--lr: expected a learning rate > 0, got nan"),
    ],
)
def test_bad_options_are_refused(kwargs, expected):
    args = {"surface": "ravine", "optimizers": None, "steps": None, "lr": None, **kwargs}
    with pytest.raises(ConfigError) as info:
        opt.check(args["surface"], args["optimizers"], args["steps"], args["lr"])
    assert expected in str(info.value)


@pytest.mark.slow
def test_every_surface_draws_a_png_with_defaults_that_do_not_diverge():
    for name in opt.SURFACES:
        result = opt.run(name)
        assert all(p.diverged_at is None for p in result.paths), name
        width, height = png_size(opt.draw(result))
        assert width == 1000 and height == 640


# --- the commands --------------------------------------------------------------------


@pytest.mark.parametrize("command", ["activations", "optimizers"])
def test_help_has_examples(command):
    result = invoke(command, "--help")
    assert result.exit_code == 0 and "Examples:" in result.output


def test_cli_unknown_activation_exits_2_naming_it(tmp_path):
    result = invoke("activations", "relu", "sigmod", "--out", tmp_path / "a.png")
    assert result.exit_code == 2
    assert "unknown value 'sigmod'" in result.stderr and "tanh" in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
    assert not (tmp_path / "a.png").exists()


def test_cli_activations_json_and_png(tmp_path):
    out = tmp_path / "act.png"
    result = invoke("activations", "sigmoid", "relu", "--out", out, "--format", "json")
    assert result.exit_code == 0
    records = json.loads(result.stdout)
    assert [r["name"] for r in records] == ["sigmoid", "relu"]
    assert f"wrote {out}" in result.stderr
    png_size(out.read_bytes())


def test_cli_activations_text_table(tmp_path):
    result = invoke("activations", "sigmoid", "--out", tmp_path / "a.png")
    assert result.exit_code == 0
    assert "sigmoid" in result.stdout and "0.25" in result.stdout
    assert "vanishing gradients" in result.stdout


def test_cli_optimizers_json_is_the_only_stdout(tmp_path):
    out = tmp_path / "paths.png"
    result = invoke(
        "optimizers", "--surface", "ravine", "--optimizers", "sgd,adam", "--steps", "50",
        "--out", out, "--format", "json",
    )  # fmt: skip
    assert result.exit_code == 0
    data = json.loads(result.stdout)
    assert data["surface"] == "ravine" and data["steps"] == 50 and data["out"] == str(out)
    assert [o["name"] for o in data["optimizers"]] == ["sgd", "adam"]
    assert data["optimizers"][0]["keras"] == "SGD(learning_rate=0.09)"
    assert all(o["status"] == "ok" for o in data["optimizers"])
    png_size(out.read_bytes())


@pytest.mark.parametrize(
    "args, expected",
    [
        (["--surface", "bumpy"], "--surface: unknown value 'bumpy'"),
        (["--optimizers", "adam,sgdd"], "--optimizers: unknown value 'sgdd'"),
        (["--steps", "0"], "--steps: expected an integer from 1 to 100,000, got 0"),
        (["--lr", "-0.1"], "--lr: expected a learning rate > 0, got -0.1"),
        (["--out", "/no/such/folder/x.png"], "--out: cannot write '/no/such/folder/x.png'"),
    ],
)
def test_cli_optimizers_bad_input_exits_2(args, expected):
    result = invoke("optimizers", *args)
    assert result.exit_code == 2
    assert expected in result.stderr


def test_cli_optimizers_default_out_and_text(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    result = invoke("optimizers", "--surface", "saddle", "--optimizers", "sgd,adam")
    assert result.exit_code == 0
    assert "saddle point (0, 0)" in result.stdout and "Adam" in result.stdout
    png_size((tmp_path / "optimizers-saddle.png").read_bytes())
