"""dlexp best and train --from/--refit: a search's best trials as configs, trained again;
what they say of a damaged or unfinished search."""

import csv
import io
import json
from pathlib import Path

import pytest
import yaml
from helpers import invoke, one_line

from dlexp import config


def test_best_prints_a_config_train_accepts(runs_dir, tmp_path):
    result = invoke("best", runs_dir / "tinygrid")
    assert result.exit_code == 0, result.output
    assert result.stdout.startswith("# t000: val_accuracy ")
    assert "mean of 2 repeats" in result.stdout.splitlines()[0]
    cfg = yaml.safe_load(result.stdout)
    assert cfg["name"] == "tinygrid-t000" and cfg["seed"] == 7 and "search" not in cfg
    assert config.resolve(cfg)["model"]["first_neuron"] == 4
    top = json.loads(invoke("best", runs_dir / "tinygrid", "--top", "3", "--format", "json").stdout)
    assert [t["trial"] for t in top][:1] == ["t000"] and len(top) == 3
    assert top[0]["score"] >= top[1]["score"] >= top[2]["score"]
    docs = list(yaml.safe_load_all(invoke("best", runs_dir / "tinygrid", "--top", "2").stdout))
    assert [d["name"] for d in docs] == ["tinygrid-t000", "tinygrid-t002"]


def test_best_bad_input(runs_dir):
    result = invoke("best", runs_dir / "20260101-000000-plain-aaaaaa")
    assert (
        result.exit_code == 2 and "not a search folder (it holds no search.yaml)" in result.stderr
    )
    for info in (runs_dir / "tinygrid" / "trials").glob("*/run.json"):
        data = json.loads(info.read_text())
        info.write_text(json.dumps({**data, "status": "failed"}))
    result = invoke("best", runs_dir / "tinygrid")
    assert result.exit_code == 2 and "no trial has completed with a score" in result.stderr


def test_from_a_search_to_a_model_in_use(runs_dir, tmp_path):
    """search -> best -> train --from SEARCH --refit -> predict, on real (tiny) runs."""
    fresh = tmp_path / "fresh"
    result = invoke(
        "train", "--from", runs_dir / "tinygrid", "--runs-dir", fresh, "-q", "--format", "json"
    )
    assert result.exit_code == 0, result.output
    again = json.loads(result.stdout)
    trial = json.loads((runs_dir / "tinygrid" / "trials" / "t000-r0" / "metrics.json").read_text())
    # the best point's first repeat, trained again: the same metrics (to float rounding)
    assert again["val"]["accuracy"] == pytest.approx(trial["val"]["accuracy"], abs=1e-6)
    result = invoke(
        "train",
        "--from",
        runs_dir / "tinygrid",
        "--refit",
        "--runs-dir",
        fresh,
        "-q",
        "--format",
        "json",
    )
    assert result.exit_code == 0, result.output
    refit = json.loads(result.stdout)
    assert refit["epochs_run"] == 8 and "val" not in refit and "test" in refit
    cfg = yaml.safe_load((fresh / refit["id"] / "config.yaml").read_text())
    assert cfg["data"]["val_size"] == 0 and cfg["name"] == "tinygrid-t000-refit"
    run = fresh / refit["id"]
    out = invoke("predict", run, "--points", "0.5,-0.2;1,0")
    rows = list(csv.DictReader(io.StringIO(out.stdout)))
    assert out.exit_code == 0 and [r["x1"] for r in rows] == ["0.5", "1.0"]
    for r in rows:
        p0, p1 = float(r["proba_0"]), float(r["proba_1"])
        assert p0 + p1 == pytest.approx(1) and r["predicted"] == ("1" if p1 > p0 else "0")
    points = tmp_path / "p.csv"
    points.write_text("x2,note,x1\n-0.2,a,0.5\n0,b,1\n")
    by_name = json.loads(invoke("predict", run, "--input", points, "--format", "json").stdout)
    assert [r["proba_1"] for r in by_name] == [float(r["proba_1"]) for r in rows]
    for args, message in [
        (["--points", "1,2,3"], "expected 2 numbers, got 3"),
        (["--points", "1,x"], "expected a number, got 'x'"),
        (["--input", runs_dir / "nope.csv"], "not a regular file"),
        (["--points", "1,2", "--input", points], "give either --points or --input"),
    ]:
        result = invoke("predict", run, *args)
        assert result.exit_code == 2 and message in result.stderr, result.stderr
    bad = tmp_path / "bad.csv"
    bad.write_text("x1,y\n1,2\n")
    result = invoke("predict", run, "--input", bad)
    assert result.exit_code == 2 and "no column 'x2'" in result.stderr


def test_train_from_bad_input(runs_dir, tiny, tmp_path):
    result = invoke("train", "--runs-dir", tmp_path / "r")
    assert result.exit_code == 2 and "give a CONFIG file or --from" in result.stderr
    result = invoke("train", tiny, "--refit", "--runs-dir", tmp_path / "r")
    assert result.exit_code == 2 and "--refit: needs --from" in result.stderr
    result = invoke("train", "--from", tmp_path / "nope", "--runs-dir", tmp_path / "r")
    assert result.exit_code == 2 and "--from: " in result.stderr and "no such run" in result.stderr
    assert not (tmp_path / "r").exists()


def test_best_and_diff_never_import_keras(runs_dir):
    import subprocess
    import sys

    grid, a = runs_dir / "tinygrid", runs_dir / "20260101-000000-plain-aaaaaa"
    code = (
        "import sys\nfrom dlexp.cli import cli\n"
        f"for args in (['best', {str(grid)!r}], ['diff', {str(a)!r}, {str(a)!r}]):\n"
        "    try: cli(args)\n    except SystemExit as e: assert not e.code, e.code\n"
        "heavy = ('tensorflow', 'keras', 'jax', 'keras_tuner')\n"
        "print('HEAVY', [m for m in heavy if m in sys.modules])\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert "HEAVY []" in out.stdout


def _set_status(search: Path, status: str) -> None:
    state = json.loads((search / "search.json").read_text())
    state["status"] = status
    (search / "search.json").write_text(json.dumps(state))


@pytest.mark.parametrize(
    "garbage, problem",
    [
        ("}{ not: [yaml", "malformed YAML at line 1"),
        ("just some words\n", "damaged: expected a mapping with a search section"),
        ("name: tinygrid\nsearch: 3\n", "damaged: search: expected a mapping"),
        ("search: {tuner: grid, params: {}}\n", "damaged: search.objective: expected a metric"),
    ],
)
def test_best_and_train_from_name_a_garbage_search_yaml(runs_dir, tmp_path, garbage, problem):
    spec = runs_dir / "tinygrid" / "search.yaml"
    spec.write_text(garbage)
    for args in (
        ["best", runs_dir / "tinygrid"],
        ["train", "--from", runs_dir / "tinygrid", "--runs-dir", tmp_path / "r", "-q"],
    ):
        result = invoke(*args)
        assert result.exit_code == 2, result.output
        line = one_line(result)
        assert f"{spec}: " in line and problem in line and "no trial has completed" not in line
    assert not (tmp_path / "r").exists()


def test_best_of_a_binary_search_yaml_names_the_file(runs_dir):
    spec = runs_dir / "tinygrid" / "search.yaml"
    spec.write_bytes(b"\xff\xfe\x00garbage\x00")
    result = invoke("best", runs_dir / "tinygrid")
    assert result.exit_code == 2 and f"{spec}: cannot be read" in one_line(result)


def test_best_of_a_search_still_running_says_so_and_keeps_exit_0(runs_dir):
    search = runs_dir / "tinygrid"
    done = invoke("best", search, "--format", "json")
    assert done.exit_code == 0 and done.stderr == ""
    assert json.loads(done.stdout)[0]["search_status"] == "finished"
    for status in ("running", "interrupted"):
        _set_status(search, status)
        result = invoke("best", search, "--format", "json")
        assert result.exit_code == 0
        assert json.loads(result.stdout)[0]["search_status"] == status  # stdout: JSON only
        line = one_line(result)
        assert line.startswith(f"warning: {search}: the search is not finished")
        assert f"search.json says {status}" in line and "its best trial may change" in line
        yaml_out = invoke("best", search)
        assert yaml_out.exit_code == 0 and "not finished" in yaml_out.stderr
        assert yaml_out.stdout.startswith("# t000: ")
    (search / "search.json").unlink()
    result = invoke("best", search, "--format", "json")
    assert json.loads(result.stdout)[0]["search_status"] == "unknown"
    assert "not finished (has no readable search.json)" in result.stderr


def test_train_from_a_search_still_running_says_so(runs_dir, tmp_path):
    search = runs_dir / "tinygrid"
    _set_status(search, "running")
    result = invoke(
        "train", "--from", search, "--runs-dir", tmp_path / "r", "-q", "--format", "json"
    )
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["search_status"] == "running"
    assert f"warning: {search}: the search is not finished" in result.stderr
