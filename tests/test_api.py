"""The Python API (dlexp.train, search, load, compare, explain): a test per line of issue
17's example, and the equalities with the commands (the same run folder as `dlexp
train`, results.csv, `dlexp report --format json`, `dlexp predict`, `dlexp best`)."""

import json
import re
import statistics
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from helpers import ROOT, SMALL, TINY, invoke

import dlexp


def _py(code: str, cwd=None, timeout=300) -> subprocess.CompletedProcess:
    env_code = textwrap.dedent(code)
    return subprocess.run(
        [sys.executable, "-c", env_code],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=timeout,
        env={**__import__("os").environ, "PYTHONPATH": str(ROOT)},
    )


# ------------------------------------------------------------------ import dlexp


def test_import_dlexp_is_light_and_imports_no_keras_tensorflow_jax_or_pandas():
    heavy = ("keras", "tensorflow", "jax", "pandas")
    times = []
    for _ in range(5):
        out = subprocess.run(
            [sys.executable, "-X", "importtime", "-c", "import dlexp"],
            capture_output=True,
            text=True,
            env={**__import__("os").environ, "PYTHONPATH": str(ROOT)},
        )
        assert out.returncode == 0, out.stderr
        modules = {}
        for line in out.stderr.splitlines():
            m = re.match(r"import time:\s+(\d+) \|\s+(\d+) \|(\s*)(\S+)", line)
            if m:
                modules[m.group(4)] = int(m.group(2))
        assert not [m for m in modules if m.split(".")[0] in heavy], sorted(modules)
        times.append(modules["dlexp"] / 1e6)
    assert statistics.median(times) < 0.3, times


def test_every_public_name_resolves_and_has_a_docstring():
    for name in dlexp.__all__:
        obj = getattr(dlexp, name)
        if name != "__version__":
            assert (obj.__doc__ or "").strip(), name
    for cls in (dlexp.Run, dlexp.Search, dlexp.Runs, dlexp.ComparisonResult):
        for attr, value in vars(cls).items():
            if not attr.startswith("_"):
                assert (value.__doc__ or "").strip(), f"{cls.__name__}.{attr}"
    for name in dlexp.explain.__all__:
        assert getattr(dlexp.explain, name).__doc__.strip()
    with pytest.raises(AttributeError):
        dlexp.no_such_name  # noqa: B018


def test_the_functions_named_like_subpackages_still_reach_the_subpackages():
    import dlexp.search.spec
    import dlexp.train.plan

    assert callable(dlexp.train) and callable(dlexp.search)
    assert dlexp.train.plan.load_config is not None and dlexp.search.spec.load is not None
    assert callable(dlexp.explain.backprop) and dlexp.explain.backprop.MAZUR


# ------------------------------------------------------------------------ train


@pytest.fixture(scope="module")
def api_run(tmp_path_factory):
    """run = dlexp.train(<tiny config file>, set={"train.epochs": 4})"""
    root = tmp_path_factory.mktemp("api")
    (root / "tiny.yaml").write_text(TINY)
    run = dlexp.train(root / "tiny.yaml", set={"train.epochs": 4}, runs_dir=root / "runs")
    return run


def test_train_a_path_with_set(api_run):
    assert isinstance(api_run, dlexp.Run)
    assert api_run.config["train"]["epochs"] == 4


def test_train_a_dict_config(tmp_path):
    cfg = {"data": {"kind": "circles", "n_samples": 200}, "model": {"layers": [8]}}
    run = dlexp.train({**cfg, "train": {"epochs": 2}}, runs_dir=tmp_path, verbose=False)
    assert run.status == "completed" and run.path.parent == tmp_path
    assert run.config["data"]["kind"] == "circles"


def test_status_path_config(api_run):
    assert api_run.status == "completed"
    assert isinstance(api_run.path, Path) and (api_run.path / "run.json").is_file()
    assert isinstance(api_run.config, dict) and api_run.config["model"]["layers"] == [8]


def test_metrics(api_run):
    metrics = api_run.metrics
    assert set(metrics) == {"train", "val", "test"}
    on_disk = json.loads((api_run.path / "metrics.json").read_text())
    assert all(metrics[s] == on_disk[s] for s in metrics)


def test_history_is_history_csv(api_run):
    import csv

    df = api_run.history
    rows = list(csv.DictReader(open(api_run.path / "history.csv")))
    assert len(df) == len(rows) == 4 and list(df.columns) == list(rows[0])
    assert [float(r["loss"]) for r in rows] == list(df["loss"])


def test_model_is_loaded_on_request(api_run):
    import keras

    model = api_run.model()
    assert isinstance(model, keras.Model) and api_run.model() is model


def test_predict_gives_the_numbers_dlexp_predict_prints(api_run):
    df = api_run.predict([[0.5, -0.2], [1, 0]])
    assert list(df.columns) == ["x1", "x2", "proba_0", "proba_1", "predicted"]
    result = invoke("predict", api_run.path, "--points", "0.5,-0.2;1,0", "--format", "json")
    assert result.exit_code == 0, result.output
    assert df.to_dict("records") == json.loads(result.stdout)
    assert api_run.predict(df[["x1", "x2"]]).equals(df)
    with pytest.raises(dlexp.ConfigError) as err:
        api_run.predict([[1, 2, 3]])
    assert err.value.path == "points"


def test_plot_returns_figures(api_run):
    from matplotlib.figure import Figure

    for kind in ("boundary", "curves", "evaluation", "learning", "network", "weights"):
        assert isinstance(api_run.plot(kind), Figure), kind
    with pytest.raises(dlexp.ConfigError, match="did you mean 'curves'"):
        api_run.plot("curve")
    with pytest.raises(dlexp.ConfigError, match="batch"):
        api_run.plot("batches")  # train.log_every was epoch


def test_run_shows_a_table_and_its_boundary_in_a_notebook(api_run):
    page = api_run._repr_html_()
    assert "<table" in page and "data:image/png;base64," in page and "accuracy" in page


def test_verbose_false_says_one_line(tmp_path, capsys):
    dlexp.train({"data": {"kind": "moons", "n_samples": 200}, "train": {"epochs": 2}},
                runs_dir=tmp_path, verbose=False)  # fmt: skip
    out = capsys.readouterr().out.strip().splitlines()
    assert len(out) == 1 and "-run-" in out[0] and ": completed, 2 epochs" in out[0]


def test_train_writes_the_run_folder_dlexp_train_writes(tmp_path):
    (tmp_path / "tiny.yaml").write_text(TINY)
    result = invoke("train", tmp_path / "tiny.yaml", "--runs-dir", tmp_path / "cli", "-q")
    assert result.exit_code == 0, result.output
    dlexp.train(tmp_path / "tiny.yaml", runs_dir=tmp_path / "api", verbose=False)
    same = subprocess.run(
        [sys.executable, str(ROOT / "bench" / "same_runs.py"), tmp_path / "cli", tmp_path / "api"],
        capture_output=True,
        text=True,
    )
    assert same.returncode == 0, same.stdout + same.stderr


# ------------------------------------------------------------------------ errors


def test_a_mistake_is_a_config_error_with_the_line_the_cli_prints(tmp_path):
    (tmp_path / "tiny.yaml").write_text(TINY)
    cli = invoke(
        "train", tmp_path / "tiny.yaml", "--set", "train.epochs=-1", "--runs-dir", tmp_path
    )
    with pytest.raises(dlexp.ConfigError) as err:
        dlexp.train(tmp_path / "tiny.yaml", set={"train.epochs": -1}, runs_dir=tmp_path)
    assert isinstance(err.value, ValueError) and err.value.path == "train.epochs"
    assert cli.exit_code == 2 and cli.stderr.strip() == f"Error: {err.value}"
    with pytest.raises(dlexp.ConfigError) as err:
        dlexp.train({"model": {"layers": [8]}, "train": {"epocs": 3}}, runs_dir=tmp_path)
    assert err.value.path == "train.epocs" and "did you mean 'epochs'" in str(err.value)
    assert [p.name for p in tmp_path.iterdir()] == ["tiny.yaml"]  # no run folder was begun


# ------------------------------------------------------------------------ search


@pytest.fixture(scope="module")
def api_search(tmp_path_factory):
    """s = dlexp.search(<the SMALL grid>)"""
    root = tmp_path_factory.mktemp("api-search")
    (root / "small.yaml").write_text(SMALL)
    return dlexp.search(root / "small.yaml", runs_dir=root / "runs", verbose=False)


def test_search_is_stacked_and_resumes(api_search, capsys):
    assert isinstance(api_search, dlexp.Search) and api_search.status == "finished"
    again = dlexp.search(api_search.path.parents[1] / "small.yaml",
                         runs_dir=api_search.path.parent, verbose=False)  # fmt: skip
    assert again.path == api_search.path and "already finished" in capsys.readouterr().out


def test_results_equal_results_csv(api_search):
    import pandas as pd

    df = api_search.results
    assert len(df) == 6 and df.equals(pd.read_csv(api_search.path / "results.csv"))


def test_best_is_a_run_and_best_config_is_what_dlexp_best_gives(api_search):
    best = api_search.best
    assert isinstance(best, dlexp.Run) and best.status == "completed"
    top = json.loads((api_search.path / "best.json").read_text())
    assert best.id == top["trial"]
    result = invoke("best", api_search.path, "--format", "json")
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)[0]["config"] == api_search.best_config


def test_importance_is_the_reports(api_search):
    result = invoke("report", api_search.path, "--format", "json")
    record = [r for r in json.loads(result.stdout) if r["kind"] == "search"][0]
    assert api_search.importance == record["importances"]
    assert "<table" in api_search._repr_html_()


# -------------------------------------------------------------------------- load


def test_load_a_run_or_a_search(api_run, api_search):
    assert dlexp.load(api_run.path) == api_run
    assert isinstance(dlexp.load(api_search.path), dlexp.Search)
    assert isinstance(dlexp.load(api_search.path / "trials" / "t000"), dlexp.Run)


def test_load_a_runs_folder_has_the_rows_report_json_prints(runs_dir):
    runs = dlexp.load(runs_dir)
    assert isinstance(runs, dlexp.Runs)
    result = invoke("report", runs_dir, "--format", "json", "--no-html")
    printed = [r for r in json.loads(result.stdout) if r["kind"] != "search"]
    assert runs.records == json.loads(result.stdout)
    df = runs.df
    assert list(df["id"]) == [r["id"] for r in printed] and len(runs) == len(printed)
    for (_, row), record in zip(df.iterrows(), printed, strict=True):
        assert row["status"] == record["status"]
        for key, value in record["metrics"].items():
            assert row[key] == value or (row[key] != row[key] and value != value), key
    assert [r.path for r in runs] == [Path(r["runs"][0]) for r in printed]
    assert "<table" in runs._repr_html_()


def test_filter_is_the_reports_filter(runs_dir):
    runs = dlexp.load(runs_dir).filter("kind=trial")
    result = invoke("report", runs_dir, "--format", "json", "--filter", "kind=trial")
    assert list(runs.df["id"]) == [
        r["id"] for r in json.loads(result.stdout) if r["kind"] == "trial"
    ]
    assert list(dlexp.load(runs_dir).filter(kind="trial").df["id"]) == list(runs.df["id"])
    with pytest.raises(dlexp.ConfigError, match="unknown key"):
        dlexp.load(runs_dir).filter("modle.layers=[8]")


# ----------------------------------------------------------------------- compare


def test_compare_gives_the_verdict_and_statistics(tmp_path):
    a = {"seed": 1, "data": {"kind": "moons", "n_samples": 200}, "model": {"layers": [4]},
         "train": {"epochs": 2}}  # fmt: skip
    b = {**a, "model": {"layers": [16]}}
    result = dlexp.compare(a, b, repeats=2, runs_dir=tmp_path, verbose=False)
    assert isinstance(result.verdict, str) and result.verdict
    metrics = result.to_json()["metrics"]
    assert metrics and result.df.to_dict("records") == metrics
    assert len(result.a) == len(result.b) == 2 and "<table" in result._repr_html_()


# ----------------------------------------------------------------------- explain


def test_explain_backprop_is_the_worked_example_as_data():
    worked = dlexp.explain.backprop(steps=1)
    cli = invoke("explain", "backprop", "--format", "json")
    assert worked.data == json.loads(cli.stdout)
    assert worked.steps[0]["layers"][0]["net"][0] == pytest.approx(0.3775)
    page = worked._repr_html_()
    assert "0.3775" in page and "<table" in page
    assert list(worked.layer(1, 1)["net"]) == worked.steps[0]["layers"][0]["net"]


# -------------------------------------------------------------- interrupting


INTERRUPTED = """
import os, signal, sys, threading, time
from pathlib import Path
import dlexp

def interrupt_when(path_glob, n):
    def watch():
        while len(list(Path("runs").glob(path_glob))) < n:
            time.sleep(0.05)
        os.kill(os.getpid(), signal.SIGINT)
    threading.Thread(target=watch, daemon=True).start()
"""


@pytest.mark.slow
def test_ctrl_c_during_train_leaves_the_run_interrupted_and_python_usable(tmp_path):
    code = INTERRUPTED + textwrap.dedent("""
        cfg = {"data": {"kind": "moons", "n_samples": 4000}, "model": {"layers": [32]},
               "train": {"epochs": 3000, "batch_size": 8, "early_stopping": False}}
        def watch():
            while not list(Path("runs").glob("*/history.csv")):
                time.sleep(0.05)
            time.sleep(1.0)
            os.kill(os.getpid(), signal.SIGINT)
        threading.Thread(target=watch, daemon=True).start()
        run = dlexp.train(cfg, verbose=False)
        print("STATUS", run.status, len(run.history))
        print("AFTER", dlexp.load(run.path).status)
    """)
    out = _py(code, cwd=tmp_path)
    assert out.returncode == 0, out.stdout + out.stderr
    assert "STATUS interrupted" in out.stdout and "AFTER interrupted" in out.stdout


@pytest.mark.slow
def test_ctrl_c_during_search_then_a_rerun_resumes(tmp_path):
    (tmp_path / "small.yaml").write_text(SMALL.replace("epochs: 2", "epochs: 40"))
    code = INTERRUPTED + textwrap.dedent("""
        interrupt_when("small/trials/*/metrics.json", 1)
        try:
            s = dlexp.search("small.yaml", stack=1, verbose=False)
            print("STATUS", s.status)
        except KeyboardInterrupt:
            print("RAISED")
        print("DONE", len(dlexp.load("runs/small").results))
    """)
    out = _py(code, cwd=tmp_path)
    assert out.returncode == 0, out.stdout + out.stderr
    assert "STATUS interrupted" in out.stdout or "RAISED" in out.stdout, out.stdout
    done = int(re.search(r"DONE (\d+)", out.stdout).group(1))
    assert 1 <= done < 6
    before = {
        p.name: p.stat().st_mtime
        for p in (tmp_path / "runs/small/trials").iterdir()
        if '"completed"' in (p / "run.json").read_text()
    }
    again = _py(
        'import dlexp; s = dlexp.search("small.yaml", stack=1, verbose=False); '
        "print(s.status, len(s.results))",
        cwd=tmp_path,
    )
    assert again.returncode == 0, again.stderr
    assert "finished 6" in again.stdout
    assert before  # the interrupted search had finished some trials
    for name, mtime in before.items():
        assert (tmp_path / "runs/small/trials" / name).stat().st_mtime == mtime


# ----------------------------------------------------------- more of the same paths


def test_repeats_give_the_runs_trained_together(tmp_path):
    (tmp_path / "tiny.yaml").write_text(TINY)
    runs = dlexp.train(tmp_path / "tiny.yaml", runs_dir=tmp_path / "runs", repeats=2, verbose=False)
    assert isinstance(runs, dlexp.Runs) and len(runs) == 2
    assert sorted(r.config["seed"] for r in runs) == [1, 2]
    with pytest.raises(dlexp.ConfigError, match="--repeats"):
        dlexp.train(tmp_path / "tiny.yaml", repeats=0)


def test_best_config_trains_and_training_works_outside_the_main_thread(api_search, tmp_path):
    import threading

    out = {}
    thread = threading.Thread(
        target=lambda: out.update(run=dlexp.train(api_search.best_config, runs_dir=tmp_path))
    )
    thread.start()
    thread.join()
    assert out["run"].status == "completed"
    assert out["run"].config["model"] == api_search.best.config["model"]


def test_a_search_being_written_reads_as_its_finished_trials(api_search, tmp_path):
    import os
    import shutil

    folder = Path(shutil.copytree(api_search.path, tmp_path / "small"))
    trial = Path(shutil.copytree(folder / "trials" / "t000", folder / "trials" / "t006"))
    info = json.loads((trial / "run.json").read_text())
    info.update(status="running", pid=os.getpid(), host=__import__("socket").gethostname())
    (trial / "run.json").write_text(json.dumps(info))
    (trial / "metrics.json").unlink()
    (trial / "model.keras").unlink()
    s = dlexp.load(folder)
    assert len(s.results) == 6 and s.best.id != "t006"
    assert s.importance == api_search.importance
    assert {t.id: t.status for t in s.trials()}["t006"] == "running"


@pytest.mark.slow
def test_loading_a_search_another_process_is_writing(tmp_path):
    import time

    (tmp_path / "small.yaml").write_text(SMALL.replace("epochs: 2", "epochs: 15"))
    proc = subprocess.Popen(
        [sys.executable, "-c", 'import dlexp; dlexp.search("small.yaml", stack=1, verbose=False)'],
        cwd=tmp_path,
        env={**__import__("os").environ, "PYTHONPATH": str(ROOT)},
    )
    seen = []
    try:
        while proc.poll() is None:
            if (tmp_path / "runs" / "small" / "search.yaml").is_file():
                s = dlexp.load(tmp_path / "runs" / "small")
                df = s.results
                if len(df):
                    assert set(df["status"]) <= {"completed", "diverged", "failed"}
                    assert s.best.status == "completed"
                seen.append(len(df))
            time.sleep(0.3)
    finally:
        proc.wait(timeout=300)
    assert proc.returncode == 0 and seen == sorted(seen) and len(set(seen)) > 2, seen


def test_reading_runs_imports_no_keras(runs_dir):
    out = _py(
        f"""
        import sys, dlexp
        runs = dlexp.load({str(runs_dir)!r})
        runs.df, [r.history for r in runs], runs[0].plot("boundary"), runs[0]._repr_html_()
        s = dlexp.load({str(runs_dir / "tinygrid")!r})
        s.results, s.best.metrics, s.best_config, s._repr_html_()
        print(sorted(m for m in ("keras", "tensorflow", "jax") if m in sys.modules))
        """
    )
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "[]"


def test_search_plots_are_the_reports_pictures(api_search):
    from matplotlib.figure import Figure

    for kind in ("params", "heatmap", "importance", "parallel"):
        assert isinstance(api_search.plot(kind), Figure), kind
    with pytest.raises(dlexp.ConfigError, match="did you mean 'params'"):
        api_search.plot("param")


ISSUE_EXAMPLE = """
import dlexp

run = dlexp.train("configs/moons.yaml", set={"train.epochs": 20})   # a path, or a dict config
run = dlexp.train({"data": {"kind": "circles"}, "model": {"layers": [8]}}, runs_dir="runs")
run.status, run.path, run.config          # "completed", pathlib.Path, the resolved config (dict)
run.metrics                               # {"train": {...}, "val": {...}, "test": {...}}
run.history                               # pandas.DataFrame, one row per epoch run
run.model()                               # the keras.Model, loaded on request
run.predict([[0.5, -0.2], [1, 0]])        # DataFrame: features, proba_<class>, predicted
run.plot("boundary")                      # a matplotlib Figure ("curves", "boundary", "learning", ...)

s = dlexp.search("configs/grid.yaml")     # stacked as on the command line; resumes as it does
s.results                                 # DataFrame: results.csv, one row per trial
s.best                                    # the best trial as a Run; s.best_config: a trainable dict
s.importance                              # parameter importance, as the report computes it

dlexp.load("runs/x")                      # a Run or a Search, from its folder
runs = dlexp.load("runs/")                # all runs and searches: runs.df, runs.filter(...), iteration
dlexp.compare(a, b, repeats=5)            # the paired comparison, with .verdict and .df
dlexp.explain.backprop(steps=1)           # the worked example as data (and as tables in a notebook)
"""  # noqa: E501 - the issue's lines, as written


@pytest.mark.slow
def test_the_issues_example_runs_as_written(tmp_path):
    import shutil

    shutil.copytree(ROOT / "configs", tmp_path / "configs")
    lines = ISSUE_EXAMPLE.replace('"runs/x"', "run.path").replace(
        "dlexp.compare(a, b,", "a, b = run.path, s.best.path\ndlexp.compare(a, b,"
    )
    checks = textwrap.dedent("""
        import pandas, keras, pathlib
        from matplotlib.figure import Figure
        assert run.status == "completed" and isinstance(run.path, pathlib.Path)
        assert isinstance(run.history, pandas.DataFrame) and isinstance(run.model(), keras.Model)
        assert isinstance(run.plot("boundary"), Figure) and len(s.results) == 72
        assert isinstance(s.best, dlexp.Run) and s.importance and len(runs) == 74
        assert isinstance(dlexp.load(run.path), dlexp.Run)
        assert dlexp.compare(a, b, repeats=5, verbose=False).verdict
        print("OK")
    """)
    out = _py(lines + checks, cwd=tmp_path, timeout=600)
    assert out.returncode == 0 and out.stdout.strip().endswith("OK"), out.stdout + out.stderr


# -------------------------------------------------------------------- regression

REG = {
    "seed": 1,
    "data": {"kind": "playground", "dataset": "reg-plane", "n_samples": 200},
    "model": {"layers": [4]},
    "train": {"epochs": 3, "early_stopping": False},
}


@pytest.fixture(scope="module")
def reg_run(tmp_path_factory):
    """run = dlexp.train(<a regression config as a dict>), as in a notebook."""
    return dlexp.train(REG, runs_dir=tmp_path_factory.mktemp("reg") / "runs", verbose=False)


def test_a_regression_trains_and_reads_as_one(reg_run):
    assert reg_run.status == "completed" and reg_run.task == "regression"
    assert set(reg_run.metrics["test"]) == {"loss", "rmse", "r2"}
    line = reg_run.summary_line()
    for key in ("val_rmse", "val_r2", "test_rmse", "test_r2"):
        value = reg_run.metrics[key.split("_")[0]][key.split("_")[1]]
        assert f"{key} {dlexp.api.html.number(value)}" in line, line
    assert "val_loss" not in line  # the loss on the standardized target says less
    page = reg_run._repr_html_()
    assert "<table" in page and "rmse" in page and "r2" in page
    rows = dlexp.load(reg_run.path.parent).df
    assert {"test_rmse", "test_r2"} <= set(rows.columns)


def test_a_regressions_predict_is_dlexp_predicts_in_the_targets_units(reg_run):
    df = reg_run.predict([[1, 2], [-3, 0.5]])
    assert list(df.columns) == ["x1", "x2", "predicted"]
    result = invoke("predict", reg_run.path, "--points", "1,2;-3,0.5", "--format", "json")
    assert result.exit_code == 0, result.output
    assert df.to_dict("records") == json.loads(result.stdout)


def test_a_regressions_plots_are_the_reports_regression_pictures(reg_run):
    from matplotlib.figure import Figure

    for kind in ("curves", "boundary", "evaluation", "learning", "network", "weights"):
        assert isinstance(reg_run.plot(kind), Figure), kind
    page = reg_run._repr_html_()
    assert "data:image/png;base64," in page  # the prediction over the plane


def test_compare_regressions_verdict_is_on_val_rmse(tmp_path):
    slow = {**REG, "train": {**REG["train"], "learning_rate": 0.0001}}
    result = dlexp.compare(slow, REG, repeats=2, runs_dir=tmp_path, verbose=False)
    metrics = {m["metric"] for m in result.to_json()["metrics"]}
    assert {"val_rmse", "val_r2"} <= metrics and "val_accuracy" not in metrics
    assert "on val_rmse" in result.verdict, result.verdict


def test_a_regression_search_ranks_by_val_rmse_lower_first_as_dlexp_best(tmp_path):
    grid = {
        **REG,
        "name": "regs",
        "search": {"objective": "val_rmse", "params": {"train.learning_rate": [0.0001, 0.05]}},
    }
    s = dlexp.search(grid, runs_dir=tmp_path, verbose=False)
    assert s.status == "finished"
    scores = {r["trial"]: r["score"] for r in s.results.to_dict("records")}
    assert len(scores) == 2 and all(v == v for v in scores.values())  # no NaN: all trained
    result = invoke("best", s.path, "--format", "json")
    assert result.exit_code == 0, result.output
    top = json.loads(result.stdout)[0]
    assert top["trial"] == min(scores, key=scores.get) == s.best.id  # lower rmse is better
    assert top["direction"] == "min" and top["config"] == s.best_config
    grid_file = tmp_path / "regs.yaml"
    grid_file.write_text(json.dumps(grid))  # YAML reads JSON
    again = invoke("search", grid_file, "--runs-dir", tmp_path)  # already finished: the table
    assert again.exit_code == 0, again.output
    assert "test rmse" in again.stdout and "test acc" not in again.stdout
