"""The command line through click's CliRunner: help, exit codes, messages, nothing left behind."""

import json
import re
import subprocess
import sys

import pytest
from click.testing import CliRunner
from helpers import ROOT

from dlexp.cli import cli


def invoke(*args):
    return CliRunner().invoke(cli, [str(a) for a in args], catch_exceptions=False)


def commands():
    """Every command's name: the group loads its commands lazily (cli.commands is empty)."""
    import click

    return cli.list_commands(click.Context(cli))


@pytest.mark.parametrize("command", [None, *commands()])
def test_every_command_has_help_with_examples(command):
    result = invoke(*([command] if command else []), "--help")
    assert result.exit_code == 0
    assert "Examples:" in result.output and "dlexp " in result.output


def test_help_does_not_import_tensorflow_or_keras():
    code = (
        "import sys\nfrom dlexp.cli import cli\n"
        "for args in (['--help'], ['train', '--help'], ['config', '--help'],\n"
        "             ['search', '--help'], ['report', '--help']):\n"
        "    try: cli(args)\n    except SystemExit: pass\n"
        "heavy = [m for m in ('tensorflow', 'keras', 'jax', 'sklearn') if m in sys.modules]\n"
        "print('HEAVY', heavy)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert "HEAVY []" in out.stdout


def test_a_mistyped_command_is_told_the_closest_one():
    import click

    if not hasattr(click.exceptions, "NoSuchCommand"):  # click < 8.2 suggests nothing
        pytest.skip("click suggests commands from 8.2")
    result = CliRunner().invoke(cli, ["trian"])
    assert result.exit_code == 2
    assert "No such command 'trian'. Did you mean 'train'?" in result.output


@pytest.mark.parametrize(
    "text, sets, message",
    [
        (
            "train: {epochs: ten}\n",
            [],
            "train.epochs: expected a positive integer up to 100000, got 'ten'",
        ),
        ("train: {epoch: 5}\n", [], "train.epoch: unknown key (did you mean 'epochs'?)"),
        ("model: {activation: rleu}\n", [], "model.activation: unknown value 'rleu'"),
        ("train: [1\n", [], "malformed YAML"),
        ("- 1\n- 2\n", [], "expected a mapping with sections"),
        (
            "{}\n",
            ["train.epochs=0"],
            "--set train.epochs: expected a positive integer up to 100000, got 0",
        ),
        ("{}\n", ["train.epochs"], "--set 'train.epochs': expected KEY=VALUE"),
        ("data: {kind: csv, path: missing.csv, target: y}\n", [], "data.path: file not found"),
    ],
)
def test_bad_input_exits_2_with_one_line_and_no_run(write, tmp_path, text, sets, message):
    cfg = write("c.yaml", text)
    runs = tmp_path / "runs"
    args = ["train", cfg, "--runs-dir", runs, *[x for s in sets for x in ("--set", s)]]
    result = invoke(*args)
    assert result.exit_code == 2
    assert message in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
    assert "Traceback" not in result.output + result.stderr
    assert not runs.exists() or not any(runs.iterdir())


def test_missing_config_file(tmp_path):
    result = invoke("train", tmp_path / "nope.yaml", "--runs-dir", tmp_path / "runs")
    assert result.exit_code == 2
    assert "nope.yaml: file not found" in result.stderr
    assert not (tmp_path / "runs").exists()


def test_unknown_option_is_a_usage_error(tiny):
    result = invoke("train", tiny, "--epochs", "3")
    assert result.exit_code == 2 and "No such option '--epochs'" in result.stderr


def test_config_command_prints_resolved_yaml(tiny):
    import yaml

    result = invoke("config", tiny, "--set", "train.epochs=7")
    assert result.exit_code == 0
    cfg = yaml.safe_load(result.output)
    assert cfg["train"]["epochs"] == 7 and cfg["model"]["activation"] == "relu"
    assert cfg["name"] == "tiny"
    defaults = yaml.safe_load(invoke("config").output)
    assert defaults["data"]["kind"] == "moons"


def test_config_command_bad_input(tiny):
    result = invoke("config", tiny, "--set", "model.dropout=2")
    assert result.exit_code == 2
    assert "model.dropout: expected a number in [0, 1), got 2" in result.stderr


@pytest.mark.slow
def test_train_json_output(tiny, tmp_path):
    result = invoke("train", tiny, "--runs-dir", tmp_path, "--format", "json", "--name", "t")
    assert result.exit_code == 0, result.stderr
    record = json.loads(result.stdout)
    assert record["status"] == "completed" and record["epochs_run"] == 3
    assert set(record["test"]) == {"loss", "accuracy"}
    assert re.fullmatch(r"\d{8}-\d{6}-t-[0-9a-f]{6}", record["id"]), record["id"]
    assert (tmp_path / record["id"] / "metrics.json").exists()


@pytest.mark.slow
def test_train_text_output(tiny, tmp_path):
    result = invoke("train", tiny, "--runs-dir", tmp_path)
    assert result.exit_code == 0, result.stderr
    assert "completed: 3 epochs" in result.stdout
    assert "run folder:" in result.stdout and "test" in result.stdout


def test_runs_dir_that_cannot_be_made(tiny, tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("")
    result = invoke("train", tiny, "--runs-dir", blocker / "runs")
    assert result.exit_code == 2
    assert "--runs-dir: cannot create" in result.stderr


@pytest.mark.slow
def test_same_config_same_metrics_across_processes(tiny, tmp_path):
    """Two separate `dlexp train` processes (the second reads the compilation cache the
    first wrote) give the same metrics to the last bit."""
    records = []
    for _ in range(2):
        out = subprocess.run(
            [
                sys.executable,
                "-m",
                "dlexp.cli",
                "train",
                str(tiny),
                "--runs-dir",
                str(tmp_path),
                "--format",
                "json",
            ],
            capture_output=True,
            text=True,
            check=True,
        )
        records.append(json.loads(out.stdout))
    a, b = records
    assert a["id"] != b["id"]
    for key in ("train", "val", "test", "best_epoch", "params"):
        assert a[key] == b[key]


def laughs(levels: int = 9) -> str:
    """A "billion laughs": a few hundred bytes whose aliases expand to 9**levels values."""
    names = "abcdefghij"
    parts = ["&a [x, x, x, x, x, x, x, x, x]"]
    for i in range(1, levels):
        ref = f"*{names[i - 1]}"
        parts.append(f"&{names[i]} [" + ", ".join([ref] * 9) + "]")
    return "[" + ", ".join(parts) + "]"


@pytest.mark.parametrize(
    "text, sets, message",
    [
        (f"name: {laughs()}\n", [], "c.yaml: malformed YAML: expands to more than 100,000 values"),
        (f"train: {{optimizer: {laughs()}}}\n", [], "expands to more than 100,000 values"),
        ("{}\n", [f"name={laughs()}"], "--set name: malformed YAML: expands to more than"),
        ("? [a]\n: 1\n", [], "a key is a list or a mapping; keys are names"),
    ],
)
def test_hostile_yaml_is_refused_before_it_is_built(write, tmp_path, text, sets, message):
    import time

    cfg = write("c.yaml", text)
    start = time.perf_counter()
    result = invoke(
        "train", cfg, "--runs-dir", tmp_path / "runs", *[a for s in sets for a in ("--set", s)]
    )
    assert time.perf_counter() - start < 5
    assert result.exit_code == 2 and message in result.stderr, result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
    assert not (tmp_path / "runs").exists()


def test_only_regular_files_of_bounded_size_are_read(write, tmp_path):
    result = invoke("train", "/dev/zero", "--runs-dir", tmp_path / "runs")
    assert result.exit_code == 2 and "/dev/zero: is not a regular file" in result.stderr
    big = write("big.yaml", "# " + "x" * (1 << 20) + "\n")
    result = invoke("train", big, "--runs-dir", tmp_path / "runs")
    assert (
        result.exit_code == 2 and "expected a YAML file of at most 1,048,576 bytes" in result.stderr
    )
    grid = write("g.yaml", f"name: {laughs()}\nsearch: {{params: {{model.dropout: [0.1]}}}}\n")
    result = invoke("search", grid, "--dry-run", "--runs-dir", tmp_path / "runs")
    assert result.exit_code == 2 and "expands to more than 100,000 values" in result.stderr


@pytest.mark.parametrize(
    "args, message",
    [
        (["--set", "seed=4294967296"], "--set seed: expected an integer in [0, 4294967295]"),
        (
            ["--set", "data.seed=4294967296"],
            "--set data.seed: expected an integer in [0, 4294967295]",
        ),
        (["--name", "x" * 300], "--name: expected a name of 1 to 64 letters, digits, spaces or"),
        (["--name", "../../x"], "--name: expected a name of 1 to 64 letters, digits, spaces or"),
        (["--set", "data.n_samples=1000000000"], "data.n_samples: 1,000,000,000 points need about"),
        (["--runs-dir", "/sys"], "--runs-dir: cannot make a run folder in '/sys'"),
        (
            ["--set", "data.kind=csv", "--set", "data.path=/dev/zero", "--set", "data.target=y"],
            "data.path: '/dev/zero' is not a regular file, expected a CSV file",
        ),
    ],
)
def test_more_bad_input_gets_one_line_and_exit_2(tiny, tmp_path, args, message):
    if "--runs-dir" not in args:
        args = [*args, "--runs-dir", str(tmp_path / "runs")]
    result = invoke("train", tiny, *args)
    assert result.exit_code == 2, result.output
    assert message in result.stderr and len(result.stderr.strip().splitlines()) == 1
    assert "Traceback" not in result.output + result.stderr
    assert not (tmp_path / "runs").exists() or not any((tmp_path / "runs").iterdir())


def test_data_and_name_are_checked_before_keras_is_imported(write, tmp_path):
    bad = write("bad.csv", "a,b,y\n1,x,0\n2,3,1\n")
    cfg = write("c.yaml", f"data: {{kind: csv, path: {bad}, target: y}}\n")
    code = (
        "import sys\nfrom dlexp.cli import cli\n"
        f"try: cli(['train', {str(cfg)!r}, '--runs-dir', {str(tmp_path / 'runs')!r}])\n"
        "except SystemExit as e: print('EXIT', e.code)\n"
        "heavy = ('keras', 'jax', 'tensorflow', 'sklearn')\n"
        "print('HEAVY', [m for m in heavy if m in sys.modules])\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert "EXIT 2" in out.stdout and "HEAVY []" in out.stdout, out
    assert "line 2, column 'b': expected a number, got 'x'" in out.stderr


def test_huge_grids_are_counted_not_made(write, tmp_path):
    import time

    text = (
        "data: {kind: moons, n_samples: 500}\ntrain: {epochs: 5}\nsearch:\n  params:\n"
        "    model.first_neuron: {min: 1, max: 100000, step: 1}\n"
        "    train.learning_rate: [0.01, 0.02, 0.03, 0.04, 0.05, 0.06, 0.07, 0.08, 0.09, 0.1]\n"
    )
    g = write("huge.yaml", text)
    start = time.perf_counter()
    result = invoke("search", g, "--dry-run", "--format", "json", "--runs-dir", tmp_path)
    assert time.perf_counter() - start < 5 and result.exit_code == 0
    plan = json.loads(result.stdout)
    assert plan["trials"] == 1_000_000 and len(plan["points"]) == 100
    assert plan["points"][11] == {
        "trial": "t000011",
        "model.first_neuron": 2,
        "train.learning_rate": 0.02,
    }
    result = invoke("search", g, "--runs-dir", tmp_path)
    assert result.exit_code == 2
    assert "1,000,000 runs, about" in result.stderr and "add --yes" in result.stderr
    assert not (tmp_path / "huge").exists()
    result = invoke("search", write("g2.yaml", text.replace("100000", "1000000000")), "--dry-run")
    assert result.exit_code == 2 and "the range walks 1,000,000,000 values" in result.stderr


def test_one_files_fast_run_names_the_command_for_its_slow_tests():
    # `pytest tests/test_training.py` deselects that file's slow tests by marker: the
    # summary must say so, with the command that runs them, not run nothing silently.
    out = subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            "-q",
            "-p",
            "no:cacheprovider",
            "--co",
            "tests/test_training.py",
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    ).stdout
    assert "not run here: pytest -m slow tests/test_training.py" in out
