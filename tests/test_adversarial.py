"""Hostile and mistaken input, tried as an adversary would: every case gets exit 2 and
one line naming the key or file, the value and what was expected, in well under the
time Keras takes to import, and leaves nothing behind. The cases are the table of the
docs' "Bad input" page (docs/bad-input.md)."""

import re
import time

import pytest
from click.testing import CliRunner

from dlexp.cli import cli

GRID = "search: {params: {model.dropout: [0.0, 0.1]}}\n"

# (id, command, files {name: text}, extra arguments, message fragment)
CASES = [
    # configs
    ("batch 0", "train", {"c.yaml": "train: {batch_size: 0}\n"}, [],
     "train.batch_size: expected a positive integer or 'full', got 0"),
    ("negative width", "train", {"c.yaml": "model: {layers: [8, -1]}\n"}, [],
     "model.layers[1]: expected a positive integer, got -1"),
    ("momentum 1.5", "train", {"c.yaml": "train: {optimizer: {name: sgd, momentum: 1.5}}\n"}, [],
     "train.optimizer.momentum: expected a number in [0, 1), got 1.5"),
    ("learning rate NaN", "train", {"c.yaml": "train: {learning_rate: .nan}\n"}, [],
     "train.learning_rate: expected a number > 0, got nan"),
    ("learning rate inf", "train", {"c.yaml": "train: {learning_rate: .inf}\n"}, [],
     "train.learning_rate: expected a number > 0, got inf"),
    ("epochs 1e12", "train", {"c.yaml": "train: {epochs: 1.0e+12}\n"}, [],
     "train.epochs: expected a positive integer up to 100000, got 1000000000000"),
    ("width 1e8", "train", {"c.yaml": "model: {layers: [100000000]}\n"}, [],
     "model.layers: 400,000,001 parameters and their activations need about"),
    ("name is a number", "train", {"c.yaml": "name: 42\n"}, [],
     "name: expected a name of 1 to 64 letters, digits, spaces or _ . -"),
    ("tab indentation", "train", {"c.yaml": "train:\n\tepochs: 5\n"}, [], "malformed YAML"),
    ("empty --set value", "train", {"c.yaml": "{}\n"}, ["--set", "train.epochs="],
     "--set train.epochs: expected a positive integer up to 100000, got null"),
    ("section replaced", "train", {"c.yaml": "{}\n"}, ["--set", "model=5"],
     "--set model: expected a mapping with keys layers, first_neuron"),
    ("--set into a number", "train", {"c.yaml": "{}\n"}, ["--set", "seed.x=1"],
     "--set seed: expected an integer in [0, 4294967295], got {'x': 1}"),
    # CSV files
    ("CSV is a folder", "train", {"c.yaml": "data: {kind: csv, path: ., target: y}\n"}, [],
     "is not a regular file, expected a CSV file"),
    ("CSV target only", "train",
     {"c.yaml": "data: {kind: csv, path: t.csv, target: y}\n", "t.csv": "y\n0\n1\n"}, [],
     "no feature columns besides the target 'y'"),
    ("CSV NaN feature", "train",
     {"c.yaml": "data: {kind: csv, path: t.csv, target: y}\n", "t.csv": "a,y\nnan,0\n1,1\n"},
     [], "t.csv: line 2, column 'a': expected a number, got 'nan'"),
    ("CSV column twice", "train",
     {"c.yaml": "data: {kind: csv, path: t.csv, target: y}\n", "t.csv": "a,a,y\n1,2,0\n3,4,1\n"},
     [], "t.csv: the column 'a' appears twice in the header"),
    ("CSV binary", "train",
     {"c.yaml": "data: {kind: csv, path: t.csv, target: y}\n", "t.csv": "\udcff\udcfe"}, [],
     "data.path: cannot read"),
    # grids
    ("range step 0", "search",
     {"g.yaml": "search: {params: {model.dropout: {min: 0.1, max: 0.5, step: 0}}}\n"}, [],
     "search.params.model.dropout.step: expected a number > 0, got 0"),
    ("layers not a list", "search", {"g.yaml": "search: {params: {model.layers: [[8], 8]}}\n"},
     [], "search.params.model.layers[1]: expected a list of a positive integer, got 8"),
    ("max_trials 0", "search",
     {"g.yaml": "search: {max_trials: 0, params: {model.dropout: [0.1]}}\n"}, [],
     "search.max_trials: expected a positive integer, got 0"),
    ("a million repeats", "search",
     {"g.yaml": "search: {repeats: 1000000, params: {model.dropout: [0.1]}}\n"}, [],
     "1 trials x 1000000 repeats = 1,000,000 runs, about"),
    ("base is a device", "search", {"g.yaml": "base: /dev/null\n" + GRID}, [],
     "/dev/null: is not a regular file, expected a YAML file"),
    ("base missing", "search", {"g.yaml": "base: nope.yaml\n" + GRID}, [],
     "nope.yaml: file not found"),
    ("objective unknown", "search",
     {"g.yaml": "search: {objective: val_f1, params: {model.dropout: [0.1]}}\n"}, [],
     "search.objective: 'val_f1' is not a logged metric"),
    ("cv with repeats", "search",
     {"g.yaml": "search: {cv: 5, repeats: 3, params: {model.dropout: [0.1]}}\n"}, [],
     "search.cv: choose repeats (seeds) or cv (folds) for a point, not both"),
    ("cv past 20 folds", "search",
     {"g.yaml": "search: {cv: 1000, params: {model.dropout: [0.1]}}\n"}, [],
     "search.cv: expected an integer in [2, 20], got 1000"),
    ("a fold past the folds", "train", {"c.yaml": "data: {cv: {folds: 3, fold: 7}}\n"}, [],
     "data.cv.fold: fold 7 of 3; expected 0 to 2"),
    ("features of 3D data", "train",
     {"c.yaml": "data: {kind: csv, path: t.csv, target: y, extra_features: [x1^2]}\n",
      "t.csv": "a,b,c,y\n1,2,3,0\n2,3,4,1\n3,4,5,0\n4,5,6,1\n5,6,7,0\n"}, [],
     "data.extra_features: ['x1^2'] are made from two features x1, x2; the data has 3"),
    ("snapshots 1e6", "train", {"c.yaml": "train: {snapshots: 1000000}\n"}, [],
     "train.snapshots: expected an integer in [0, 100], got 1000000"),
    # distributed mode
    ("no port", "search", {"g.yaml": GRID}, ["@env", "KERASTUNER_ORACLE_IP=127.0.0.1"],
     "keras-tuner distributed mode: Environment variable \"KERASTUNER_ORACLE_IP\" was set"),
    ("port not a number", "search", {"g.yaml": GRID},
     ["@env", "KERASTUNER_ORACLE_IP=127.0.0.1", "KERASTUNER_ORACLE_PORT=http",
      "KERASTUNER_TUNER_ID=chief"],
     "KERASTUNER_ORACLE_PORT: expected a port number in 0..65535, got 'http'"),
    ("port out of range", "search", {"g.yaml": GRID},
     ["@env", "KERASTUNER_ORACLE_IP=127.0.0.1", "KERASTUNER_ORACLE_PORT=99999",
      "KERASTUNER_TUNER_ID=worker1"],
     "KERASTUNER_ORACLE_PORT: expected a port number in 0..65535, got '99999'"),
    # reports
    ("report of a file", "report", {"r.txt": "x"}, [], "r.txt: expected a folder of runs"),
    ("filter without =", "report", {"r/x": ""}, ["--filter", "model.activation"],
     "--filter 'model.activation': expected KEY=VALUE"),
]  # fmt: skip


@pytest.mark.parametrize("name, command, files, extra, message", CASES, ids=[c[0] for c in CASES])
def test_hostile_input_exit_2_one_line_nothing_left(tmp_path, monkeypatch, name, command,
                                                    files, extra, message):  # fmt: skip
    for file, text in files.items():
        path = tmp_path / file
        path.parent.mkdir(parents=True, exist_ok=True)
        if "\udcff" in text:
            path.write_bytes(b"\xff\xfe\x00\x01")
        else:
            path.write_text(text)
    if extra[:1] == ["@env"]:
        for pair in extra[1:]:
            key, _, value = pair.partition("=")
            monkeypatch.setenv(key, value)
        extra = []
    monkeypatch.chdir(tmp_path)
    target = next(iter(files))
    if command == "report":
        target = "r" if "r/x" in files else target
        args = ["report", target, *extra, "--no-html"]
    else:
        args = [command, target, *extra, "--runs-dir", str(tmp_path / "runs")]
    start = time.perf_counter()
    result = CliRunner().invoke(cli, args)
    seconds = time.perf_counter() - start
    assert result.exit_code == 2, (result.output, result.exception)
    assert message in result.stderr, result.stderr
    assert len(result.stderr.strip().splitlines()) == 1 and "Traceback" not in result.output
    assert not (tmp_path / "runs").exists() or not any((tmp_path / "runs").rglob("*.json"))
    assert seconds < 5, seconds


def test_the_docs_list_every_case():
    from helpers import ROOT

    page = (ROOT / "docs" / "bad-input.md").read_text()
    missing = [c[0] for c in CASES if f"| {c[0]} |" not in page]
    assert not missing, missing
    rows = re.findall(r"^\| ([^|]+?) \| `dlexp ", page, re.M)  # and no row that nothing runs
    assert len(rows) == len(CASES) and set(rows) == {c[0] for c in CASES}, rows


def test_json_output_of_a_bad_command_is_no_json(tmp_path):
    """With --format json a mistake still says so on stderr and writes nothing on stdout."""
    (tmp_path / "c.yaml").write_text("train: {epochs: ten}\n")
    result = CliRunner().invoke(cli, ["train", str(tmp_path / "c.yaml"), "--format", "json"])
    assert result.exit_code == 2 and result.stdout == ""
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in result.stderr
    assert "train.epochs" in lines[0] and "'ten'" in lines[0]
