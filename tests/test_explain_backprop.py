"""dlexp explain backprop: Mazur's published figures, the JSON document, other networks
checked against finite differences and Keras' losses, and bad input."""

import json
import subprocess
import sys
from itertools import pairwise

import numpy as np
import pytest
from click.testing import CliRunner

from dlexp.cli import cli
from dlexp.explain import backprop


def invoke(*args):
    return CliRunner().invoke(cli, ["explain", "backprop", *map(str, args)], catch_exceptions=False)


def invoke_json(*args) -> dict:
    result = invoke(*args, "--format", "json")
    assert result.exit_code == 0, result.stderr
    return json.loads(result.stdout)  # exactly one JSON document, nothing else


@pytest.fixture(scope="module")
def mazur():
    """Mazur's example, one step, through the library."""
    spec, source = backprop.load(None)
    return backprop.run(spec, 1, source)


# ---------------------------------------------------------------------------
# Matt Mazur's "A Step by Step Backpropagation Example": the published figures.
# ---------------------------------------------------------------------------


def test_mazur_forward_pass(mazur):
    hidden, output = mazur["steps"][0]["layers"]
    assert round(hidden["net"][0], 9) == 0.3775  # net_h1
    assert round(hidden["out"][0], 9) == 0.593269992  # out_h1
    assert round(hidden["out"][1], 9) == 0.596884378  # out_h2
    assert round(output["out"][0], 9) == 0.75136507  # out_o1
    assert round(output["out"][1], 9) == 0.772928465  # out_o2
    assert round(mazur["steps"][0]["loss"], 9) == 0.298371109  # E_total


def test_mazur_gradients_and_updates(mazur):
    hidden, output = mazur["steps"][0]["layers"]
    # Keras' layout: weights[i][j] joins input i to unit j, so w5 (h1→o1) is [0][0]
    assert round(output["grad_weights"][0][0], 9) == 0.082167041  # ∂E/∂w5
    assert round(output["weights_after"][0][0], 8) == 0.35891648  # w5+
    assert round(output["weights_after"][1][0], 9) == 0.408666186  # w6+
    assert round(output["weights_after"][0][1], 9) == 0.51130127  # w7+
    assert round(output["weights_after"][1][1], 9) == 0.561370121  # w8+
    assert round(hidden["grad_weights"][0][0], 9) == 0.000438568  # ∂E/∂w1
    assert round(hidden["weights_after"][0][0], 9) == 0.149780716  # w1+
    assert round(hidden["weights_after"][1][0], 8) == 0.19956143  # w2+
    assert round(hidden["weights_after"][0][1], 8) == 0.24975114  # w3+
    assert round(hidden["weights_after"][1][1], 8) == 0.29950229  # w4+
    assert round(output["delta"][0], 9) == 0.138498562  # δo1
    # the post keeps the biases fixed
    assert hidden["biases_after"] == [0.35, 0.35] and output["biases_after"] == [0.6, 0.6]


def test_mazur_error_after_one_step(mazur):
    """The post says 0.291027924; its own updated weights give 0.291027774, which is
    what the chain rule and Keras find. 0.291027924 comes from backpropagating to
    w1..w4 through the already updated w5..w8, as shown here."""
    assert round(mazur["loss_after"], 9) == 0.291027774
    spec = backprop.validate(backprop.MAZUR)
    hidden, output = mazur["steps"][0]["layers"]
    w2_after = np.array(output["weights_after"])
    out_h = np.array(hidden["out"])
    slip_delta = (w2_after @ np.array(output["delta"])) * out_h * (1 - out_h)
    w1_slip = np.array(spec["layers"][0]["weights"]) - 0.5 * np.outer([0.05, 0.10], slip_delta)
    params = [(w1_slip, np.array([0.35, 0.35])), (w2_after, np.array([0.6, 0.6]))]
    _, outs = backprop.forward(spec, params)
    slip, _ = backprop.loss_and_gradient("half_sse", outs[-1], np.array([0.01, 0.99]))
    assert round(slip, 9) == 0.291027924


def test_mazur_agrees_with_keras(mazur):
    assert mazur["agreed"] is True
    assert mazur["autodiff_max_abs_diff"] < 1e-12  # float64 on both sides
    assert "keras.layers.Dense" in mazur["autodiff"]
    assert (
        mazur["figures_compared"] == 44
    )  # 2 layers x (6 vectors of 2 + 2 matrices of 4) + loss x 2 + outputs


def test_mazur_10000_steps_json():
    """Published: 0.0000351085 after 10,000 steps. It is the loss of step 10,000's
    forward pass (after 9,999 updates); after the 10,000th update it is 0.0000351019."""
    doc = invoke_json("--steps", 10000)
    assert doc["steps_run"] == 10000
    assert [s["step"] for s in doc["steps"]] == [1, 10000]  # first and last only
    assert round(doc["steps"][-1]["loss"], 10) == 0.0000351085
    assert round(doc["loss_after"], 10) == 0.0000351019
    assert doc["steps"][-1]["loss_after"] == doc["loss_after"]
    assert doc["agreed"] is True and doc["autodiff_max_abs_diff"] < 1e-9
    curve = {row["step"]: row["loss"] for row in doc["loss_curve"]}
    assert curve[1] == doc["steps"][0]["loss"] and curve[10000] == doc["steps"][-1]["loss"]
    assert all(a > b for a, b in pairwise(curve.values()))  # it learns


# ---------------------------------------------------------------------------
# The command: JSON and text.
# ---------------------------------------------------------------------------


def test_json_document_shape():
    doc = invoke_json("--steps", 3)
    assert {"steps", "autodiff_max_abs_diff", "agreed", "loss_after"} <= set(doc)
    assert [s["step"] for s in doc["steps"]] == [1, 2, 3]
    for step in doc["steps"]:
        assert isinstance(step["loss"], float)
        assert len(step["layers"]) == 2
        for layer in step["layers"]:
            assert set(backprop.FIELDS) <= set(layer)
            for key in ("net", "out", "delta", "grad_biases", "biases_after"):
                assert len(layer[key]) == 2 and all(isinstance(v, float) for v in layer[key])
            for key in ("grad_weights", "weights_after"):
                assert np.array(layer[key]).shape == (2, 2)
    # step 2 starts from step 1's updated weights: its loss is step 1's loss after
    assert round(doc["steps"][1]["loss"], 9) == 0.291027774
    assert "loss_after" in doc["steps"][-1] and "loss_after" not in doc["steps"][0]


@pytest.mark.parametrize("steps, shown", [(100, list(range(1, 101))), (101, [1, 101])])
def test_json_holds_every_step_up_to_100(steps, shown):
    doc = invoke_json("--steps", steps)
    assert [s["step"] for s in doc["steps"]] == shown


def test_text_output():
    result = invoke()
    assert result.exit_code == 0, result.stderr
    out = result.stdout
    for text in ("h1", "0.3775", "0.593269992", "0.082167041", "0.35891648", "0.149780716"):
        assert text in out
    assert "E = 0.298371109" in out and "0.291027774" in out
    assert "Keras' autodiff agrees" in out and "max abs diff" in out


def test_text_with_many_steps_is_a_summary():
    result = invoke("--steps", 2000)
    assert result.exit_code == 0, result.stderr
    assert "Loss over 2,000 steps" in result.stdout and "Weights after 2,000 steps" in result.stdout
    assert result.stdout.count("forward pass, layer 1") == 1  # the first step only
    assert len(result.stdout.splitlines()) < 150


def test_help_imports_no_keras():
    code = (
        "import sys\nfrom dlexp.cli import cli\n"
        "try: cli(['explain', 'backprop', '--help'])\nexcept SystemExit: pass\n"
        "print('HEAVY', [m for m in ('tensorflow', 'keras', 'jax') if m in sys.modules])\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert "HEAVY []" in out.stdout and "Examples:" in out.stdout


# ---------------------------------------------------------------------------
# Other networks: three layers, each loss, checked against finite differences.
# ---------------------------------------------------------------------------

THREE_LAYERS = """
inputs: [0.5, -1.0, 2.0]
targets: {targets}
learning_rate: 0.1
loss: {loss}
layers:
  - weights: [[0.1, -0.2, 0.3], [0.4, 0.1, -0.3], [-0.1, 0.25, 0.2]]
    biases: [0.0, 0.1, -0.1]
    activation: tanh
  - weights: [[0.3, -0.1], [0.2, 0.4], [-0.5, 0.1]]
    biases: [0.2, 0.3]
    activation: relu
  - weights: [[0.5, -0.4], [0.3, 0.2]]
    biases: [0.1, -0.1]
    activation: {last}
"""

_ACT = {
    "tanh": np.tanh,
    "relu": lambda z: np.maximum(z, 0),
    "sigmoid": lambda z: 1 / (1 + np.exp(-z)),
    "linear": lambda z: z,
    "softmax": lambda z: np.exp(z) / np.exp(z).sum(),
}


def _loss(name, out, target):
    """Written apart from dlexp: the loss of the one sample."""
    if name == "half_sse":
        return 0.5 * np.sum((target - out) ** 2)
    if name == "mse":
        return np.mean((target - out) ** 2)
    return -np.mean(target * np.log(out) + (1 - target) * np.log(1 - out))


def _finite_differences(weights, biases, acts, x, target, loss, h=1e-6):
    def total(ws, bs):
        a = x
        for w, b, act in zip(ws, bs, acts, strict=True):
            a = _ACT[act](a @ w + b)
        return _loss(loss, a, target)

    grads = []
    for i, w in enumerate(weights):
        g = np.zeros_like(w)
        for idx in np.ndindex(w.shape):
            plus = [v.copy() for v in weights]
            minus = [v.copy() for v in weights]
            plus[i][idx] += h
            minus[i][idx] -= h
            g[idx] = (total(plus, biases) - total(minus, biases)) / (2 * h)
        grads.append(g)
    return grads


@pytest.mark.parametrize(
    "loss, last, targets",
    [
        ("half_sse", "sigmoid", [0.2, 0.9]),
        ("mse", "linear", [1.5, -0.5]),
        ("binary_crossentropy", "sigmoid", [1.0, 0.0]),
        ("binary_crossentropy", "softmax", [1.0, 0.0]),
    ],
)
def test_three_layers_each_loss(write, loss, last, targets):
    path = write("net.yaml", THREE_LAYERS.format(loss=loss, last=last, targets=targets))
    doc = invoke_json(path, "--steps", 5)
    assert doc["agreed"] is True and doc["autodiff_max_abs_diff"] < 1e-12
    spec, _ = backprop.load(path)
    weights = [np.array(la["weights"]) for la in spec["layers"]]
    biases = [np.array(la["biases"]) for la in spec["layers"]]
    acts = [la["activation"] for la in spec["layers"]]
    x, target = np.array(spec["inputs"]), np.array(targets)
    first = doc["steps"][0]
    expected = _finite_differences(weights, biases, acts, x, target, loss)
    for layer, grad in zip(first["layers"], expected, strict=True):
        np.testing.assert_allclose(layer["grad_weights"], grad, atol=1e-7)
    # train_biases defaults to true: the biases move by -lr * delta
    for layer, b in zip(first["layers"], biases, strict=True):
        np.testing.assert_allclose(layer["biases_after"], b - 0.1 * np.array(layer["delta"]))
    # the loss is Keras' own (float32 Keras, so to 1e-6)
    if loss != "half_sse":
        import keras

        fn = {
            "mse": keras.losses.mean_squared_error,
            "binary_crossentropy": keras.losses.binary_crossentropy,
        }[loss]
        out = first["layers"][-1]["out"]
        assert abs(float(fn(np.array([targets]), np.array([out]))[0]) - first["loss"]) < 1e-6
    losses = [s["loss"] for s in doc["steps"]] + [doc["loss_after"]]
    assert losses[-1] < losses[0]  # it learns


def test_biases_fixed_when_asked(write):
    text = THREE_LAYERS.format(loss="half_sse", last="sigmoid", targets=[0.2, 0.9])
    doc = invoke_json(write("net.yaml", text + "train_biases: false\n"), "--steps", 2)
    assert doc["steps"][-1]["layers"][0]["biases_after"] == [0.0, 0.1, -0.1]


# ---------------------------------------------------------------------------
# Failing loudly.
# ---------------------------------------------------------------------------


def test_disagreement_with_keras_exits_1(monkeypatch):
    """A wrong sigmoid derivative in the chain rule: Keras' autodiff catches it."""
    right = backprop.derivative

    def wrong(name, net, out):
        return out if name == "sigmoid" else right(name, net, out)

    # the chain rule's own module: the package only re-exports the name
    monkeypatch.setattr(backprop.chain, "derivative", wrong)
    result = invoke("--format", "json")
    assert result.exit_code == 1
    assert result.stdout == ""
    # named where it starts: the output layer's delta, in the first step
    message = "Keras' autodiff disagrees with the chain rule at step 1, layers[1] delta[0]"
    assert message in result.stderr
    assert "tolerance 1e-06" in result.stderr and "Traceback" not in result.stderr


def test_divergence_exits_1(write):
    path = write(
        "div.yaml",
        "inputs: [1, 2]\ntargets: [1]\nlearning_rate: 10\nlayers:\n"
        "  - {weights: [[1, 1], [2, 1]], activation: linear}\n"
        "  - {weights: [[1], [2]], activation: linear}\n",
    )
    result = invoke(path, "--steps", 100)
    assert result.exit_code == 1
    assert "stopped being a finite number (the steps diverged); try a smaller" in result.stderr
    assert "learning_rate (got 10)" in result.stderr


GOOD = "inputs: [1, 2]\ntargets: [0.5]\n"


@pytest.mark.parametrize(
    "text, message",
    [
        (
            "inputs: [1, 2]\ntargets: [1]\nlayers:\n  - {weights: [[1, 1], [2, 2]]}\n"
            "  - {weights: [[1], [2], [3]]}\n",
            "layers[1].weights: expected 2 rows (one per input of the layer), got 3",
        ),
        (
            GOOD + "layers: [{weights: [[1, 2], [3]]}]\n",
            "layers[0].weights[1]: expected 2 numbers (one per unit, as in row 0), got 1",
        ),
        (
            GOOD + "lerning_rate: 0.1\nlayers: [{weights: [[1], [2]]}]\n",
            "lerning_rate: unknown key (did you mean 'learning_rate'?)",
        ),
        (
            GOOD + "layers: [{weights: [[1], [2]], bias: [1]}]\n",
            "layers[0].bias: unknown key (did you mean 'biases'?)",
        ),
        (
            GOOD + "layers: [{weights: [[1], [2]], activation: sigmod}]\n",
            "layers[0].activation: unknown value 'sigmod' (did you mean 'sigmoid'?)",
        ),
        (GOOD + "loss: hinge\nlayers: [{weights: [[1], [2]]}]\n", "loss: unknown value 'hinge'"),
        (
            "inputs: [1, .inf]\ntargets: [1]\nlayers: [{weights: [[1], [2]]}]\n",
            "inputs[1]: expected a finite number, got inf",
        ),
        (
            GOOD + "layers: [{weights: [[1], [.nan]]}]\n",
            "layers[0].weights[1][0]: expected a finite number, got nan",
        ),
        (
            "inputs: [1, x]\ntargets: [1]\nlayers: [{weights: [[1], [2]]}]\n",
            "inputs[1]: expected a finite number, got 'x'",
        ),
        (
            "inputs: [1, 2]\ntargets: [1, 0]\nlayers: [{weights: [[1], [2]]}]\n",
            "targets: expected 1 number (one per unit of the last layer), got 2",
        ),
        (
            GOOD + "layers: [{weights: [[1], [2]], biases: [0, 0]}]\n",
            "layers[0].biases: expected 1 number (one per unit), got 2",
        ),
        (
            GOOD + "learning_rate: 0\nlayers: [{weights: [[1], [2]]}]\n",
            "learning_rate: expected a number > 0, got 0",
        ),
        (
            GOOD + "train_biases: maybe\nlayers: [{weights: [[1], [2]]}]\n",
            "train_biases: expected true or false, got 'maybe'",
        ),
        (
            GOOD + "loss: binary_crossentropy\nlayers: [{weights: [[1], [2]], activation: relu}]\n",
            "layers[0].activation: binary_crossentropy needs outputs in (0, 1)",
        ),
        (
            "inputs: [1, 2]\ntargets: [2]\nloss: binary_crossentropy\n"
            "layers: [{weights: [[1], [2]]}]\n",
            "targets[0]: expected a number in [0, 1] for binary_crossentropy, got 2",
        ),
        (GOOD + "layers: []\n", "layers: expected a list of 1 to 8 layers"),
        ("targets: [1]\nlayers: [{weights: [[1], [2]]}]\n", "inputs: missing"),
        ("- 1\n- 2\n", "expected a mapping with keys inputs, targets"),
        ("inputs: [1\n", "malformed YAML"),
    ],
)
def test_bad_file_exits_2_naming_the_key(write, text, message):
    path = write("bad.yaml", text)
    result = invoke(path)
    assert result.exit_code == 2
    assert message in result.stderr
    assert str(path) in result.stderr  # the file is named too
    assert len(result.stderr.strip().splitlines()) == 1
    assert "Traceback" not in result.stderr and result.stdout == ""


@pytest.mark.parametrize(
    "args, message",
    [
        (["--steps", 0], "--steps: expected a positive integer up to 100000, got 0"),
        (["--steps", 100001], "--steps: expected a positive integer up to 100000, got 100001"),
        (["nope.yaml"], "nope.yaml: file not found"),
    ],
)
def test_bad_arguments_exit_2(args, message):
    result = invoke(*args)
    assert result.exit_code == 2
    assert message in result.stderr and len(result.stderr.strip().splitlines()) == 1


def test_numbers_as_the_post_prints_them():
    assert backprop.num(0.3775) == "0.3775"
    assert backprop.num(0.5932699921071872) == "0.593269992"
    assert backprop.num(3.510854812251261e-05) == "0.0000351085"
    assert backprop.num(-0.0) == "0"
    assert backprop.weight_names([2, 2, 2])[1] == [["w5", "w7"], ["w6", "w8"]]
