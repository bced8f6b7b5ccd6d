"""dlexp report from run folders kept as fixtures: no training, no TensorFlow."""

import csv
import io
import json
import os
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest
from click.testing import CliRunner
from rich.console import Console

from dlexp import report
from dlexp.cli import cli
from dlexp.core import labels
from dlexp.report import plots
from dlexp.report.plots import style
from dlexp.runs import folder as runs

FIXTURES = Path(__file__).parent / "fixtures" / "runs"
GOLDEN = Path(__file__).parent / "golden" / "report_table.txt"


def render(rep, width=170) -> str:
    console = Console(
        width=width, no_color=True, force_terminal=False, record=True, file=io.StringIO()
    )
    console.print(report.table(rep))
    return console.export_text()


def test_every_run_and_trial_is_listed_with_warnings_for_bad_folders(runs_dir):
    rep = report.build(runs_dir)
    ids = [e.id for e in rep.entries]
    assert ids[:6] == [
        "20260101-000000-plain-aaaaaa",
        "20260101-000001-regularized-bbbbbb",
        "20260101-000002-blobs-cccccc",
        "20260101-000003-damaged-dddddd",
        "20260101-000004-halfway-eeeeee",
        "old-version-run",
    ]
    assert ids[6:] == [f"tinygrid/t00{i}" for i in range(4)]
    status = {e.id: e.status for e in rep.entries}
    assert status["20260101-000003-damaged-dddddd"] == "unknown"
    assert status["20260101-000004-halfway-eeeeee"] == "running"
    warnings = "\n".join(rep.warnings)
    assert "run.json is damaged" in warnings
    assert "old-version-run: run.json is missing" in warnings
    trial = next(e for e in rep.entries if e.id == "tinygrid/t000")
    assert len(trial.records) == 2 and trial.std["val_accuracy"] is not None
    assert sum(e.best for e in rep.entries) == 1


def test_table_golden(runs_dir):
    text = render(report.build(runs_dir))
    if os.environ.get("DLEXP_UPDATE_GOLDEN"):
        GOLDEN.write_text(text)
    assert text == GOLDEN.read_text()


def test_varying_keys_only(runs_dir):
    rep = report.build(runs_dir, filters=("search=tinygrid",))
    assert rep.varying == ["model.first_neuron", "train.optimizer"]
    text = render(rep)
    assert "first_neuron" in text and "sgd(momentum=0.9)" in text and "±" in text
    assert "activation" not in text


def test_sort_and_filter(runs_dir):
    rep = report.build(runs_dir, filters=("kind=run", "status=completed"), sort="test_accuracy")
    values = [e.metrics["test_accuracy"] for e in rep.entries]
    assert values == sorted(values, reverse=True) and len(values) == 3
    by_loss = report.build(runs_dir, sort="val_loss", filters=("kind=run",))
    losses = [e.metrics.get("val_loss") for e in by_loss.entries if e.metrics.get("val_loss")]
    assert losses == sorted(losses)
    sgd = report.build(runs_dir, filters=("train.optimizer=sgd",))
    assert {e.id for e in sgd.entries} == {"tinygrid/t001", "tinygrid/t003"}


@pytest.mark.parametrize(
    "args, message",
    [
        (["--sort", "val_acc"], "--sort: unknown metric 'val_acc' (did you mean 'val_accuracy'?)"),
        (
            ["--filter", "model.activaton=relu"],
            "--filter model.activaton: unknown key (did you mean 'model.activation'?)",
        ),
        (["--filter", "relu"], "--filter 'relu': expected KEY=VALUE"),
        (["--format", "xml"], "Invalid value for '--format'"),
    ],
)
def test_bad_arguments_exit_2(runs_dir, args, message):
    result = CliRunner().invoke(cli, ["report", str(runs_dir), *args])
    assert result.exit_code == 2
    assert message in result.stderr and "Traceback" not in result.output


def test_missing_and_empty_folders(tmp_path):
    result = CliRunner().invoke(cli, ["report", str(tmp_path / "nope")])
    assert result.exit_code == 2 and "no such folder" in result.stderr
    (tmp_path / "empty").mkdir()
    result = CliRunner().invoke(cli, ["report", str(tmp_path / "empty"), "--no-html"])
    assert result.exit_code == 0 and "No runs are here yet" in result.stdout
    result = CliRunner().invoke(cli, ["report", str(tmp_path / "empty"), "--format", "json"])
    assert result.exit_code == 0 and json.loads(result.stdout) == []


def test_json_records(runs_dir):
    result = CliRunner().invoke(cli, ["report", str(runs_dir), "--format", "json"])
    assert result.exit_code == 0
    records = json.loads(result.stdout)  # stdout holds the JSON and nothing else
    assert len(records) == 11 and records[-1]["kind"] == "search"
    search = records.pop()
    assert set(search) == {
        "id",
        "kind",
        "objective",
        "direction",
        "trials",
        "importances",
        "noise_note",
        "winner",
        "warnings",
    }
    assert set(search["importances"]) == {"model.first_neuron", "train.optimizer"}
    for r in records:
        assert set(r) == {
            "id",
            "kind",
            "status",
            "search",
            "best",
            "within_noise_of_best",
            "hyperparameters",
            "metrics",
            "runs",
            "warnings",
        }
        assert all(isinstance(v, (int, float)) for v in r["metrics"].values())
    plain = records[0]
    assert plain["hyperparameters"]["model.layers"] == [8, 8]
    assert 0 <= plain["metrics"]["test_accuracy"] <= 1 and plain["metrics"]["params"] == 105
    trial = next(r for r in records if r["id"] == "tinygrid/t000")
    assert "val_accuracy_std" in trial["metrics"] and len(trial["runs"]) == 2
    assert "warning" in result.stderr  # warnings go to stderr, not into the JSON


def test_csv_records(runs_dir):
    result = CliRunner().invoke(cli, ["report", str(runs_dir), "--format", "csv"])
    rows = list(csv.DictReader(io.StringIO(result.stdout)))
    assert len(rows) == 10
    assert list(rows[0])[:5] == ["id", "kind", "status", "search", "best"]
    assert {"model.first_neuron", "test_accuracy", "val_loss", "seconds"} <= set(rows[0])
    assert rows[7]["train.optimizer"] == '{"name": "sgd", "momentum": 0.9}'


def _png_size(data: bytes) -> tuple[int, int]:
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    return int.from_bytes(data[16:20], "big"), int.from_bytes(data[20:24], "big")


def test_plots_from_run_folders(runs_dir):
    import numpy as np

    plain = runs.read_run(runs_dir / "20260101-000000-plain-aaaaaa")
    w, h = _png_size(plots.learning_curves(plain.history, title="plain"))
    assert w > 300 and h > 150
    for name in ("20260101-000000-plain-aaaaaa", "20260101-000002-blobs-cccccc"):
        with np.load(runs_dir / name / "boundary.npz") as npz:
            assert _png_size(plots.boundary({k: npz[k] for k in npz.files}))[0] > 200
    rows = [
        {"model.first_neuron": n, "train.optimizer": o, "score": s}
        for n, o, s in [(4, "adam", 0.8), (8, "adam", 0.9), (4, {"name": "sgd"}, 0.7)]
    ]
    assert (
        _png_size(
            plots.objective_vs_params(
                rows, ["model.first_neuron", "train.optimizer"], "val_accuracy"
            )
        )[0]
        > 300
    )
    assert (
        _png_size(plots.heatmap(rows, "model.first_neuron", "train.optimizer", "val_accuracy"))[0]
        > 200
    )
    assert (
        _png_size(
            plots.overlay([("a", plain.history), ("b", plain.history)], ["loss", "accuracy"])
        )[0]
        > 500
    )


def test_html_page_and_picture_cache(runs_dir, tmp_path):
    rep = report.build(runs_dir)
    page, drawn = report.write_html(rep, tmp_path / "out")
    text = page.read_text()
    assert text.startswith("<!DOCTYPE html>") and "Search tinygrid" in text
    images = sorted((tmp_path / "out" / "img").glob("*.png"))
    assert drawn == len(images) >= 10
    for img in images:
        assert f"img/{img.name}" in text
    assert "decision boundary" in text and "Objective by searched value" in text
    _, again = report.write_html(report.build(runs_dir), tmp_path / "out")
    assert again == 0  # nothing changed: no picture drawn again


def test_report_never_imports_tensorflow(runs_dir, tmp_path):
    code = (
        "import sys\nfrom dlexp.cli import cli\n"
        f"try: cli(['report', {str(runs_dir)!r}, '--out', {str(tmp_path / 'o')!r}])\n"
        "except SystemExit: pass\n"
        "print('HEAVY', [m for m in ('tensorflow', 'keras', 'jax', 'keras_tuner')"
        " if m in sys.modules])\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert "HEAVY []" in out.stdout
    assert (tmp_path / "o" / "index.html").exists()


# --- the page in a real browser ---------------------------------------------------


def _browser():
    """A headless Chromium driven by Selenium, or the reason there is none."""
    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    driver = shutil.which("chromedriver")
    try:
        from selenium import webdriver
        from selenium.webdriver.chrome.service import Service
    except ImportError:
        return None, "selenium is not installed (pip install -e '.[test]')"
    if not chromium or not driver:
        return None, (
            "no chromium/chromedriver on PATH (Debian: apt-get install chromium "
            "chromium-driver; .ci/run installs them)"
        )
    options = webdriver.ChromeOptions()
    options.binary_location = chromium
    for flag in (
        "--headless=new",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-dev-shm-usage",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--no-first-run",
        "--window-size=1400,1000",
        "--enable-unsafe-swiftshader",  # software WebGL for Plotly's parallel coordinates
    ):
        options.add_argument(flag)
    return webdriver.Chrome(service=Service(driver), options=options), None


def test_html_page_loads_in_a_real_browser(runs_dir, tmp_path):
    page, _ = report.write_html(report.build(runs_dir), tmp_path / "out")
    browser, why = _browser()
    if browser is None:
        if os.environ.get("DLEXP_REQUIRE_BROWSER"):
            pytest.fail(f"the browser test must run here: {why}")
        pytest.skip(why)
    try:
        browser.get(page.as_uri())
        assert browser.title == "dlexp report"
        images = "return Array.from(document.images).map(i => [i.complete, i.naturalWidth, i.alt])"
        # the still pictures are below, collapsed: none is loaded when the page opens
        assert not [alt for done, width, alt in browser.execute_script(images) if width > 0]
        browser.execute_script(
            "document.querySelectorAll('details').forEach(d => d.open = true);"
            "document.querySelectorAll('img').forEach(i => i.loading = 'eager')"
        )
        time.sleep(1)
        state = browser.execute_script(images)
        assert len(state) >= 10
        broken = [alt for complete, width, alt in state if not (complete and width > 0)]
        assert not broken, f"pictures that did not load: {broken}"
        rows = browser.execute_script("return document.querySelectorAll('#table tbody tr').length")
        assert rows == 10  # every run and trial
        assert "Search tinygrid" in browser.find_element("tag name", "body").text
    finally:
        browser.quit()


# --- damaged and odd folders never stop the report ------------------------------------


def _edit_json(path: Path, **changes):
    data = json.loads(path.read_text())
    data.update(changes)
    path.write_text(json.dumps(data))


def test_odd_values_are_warnings_not_crashes(runs_dir, tmp_path):
    plain = runs_dir / "20260101-000000-plain-aaaaaa"
    blobs = runs_dir / "20260101-000002-blobs-cccccc"
    reg = runs_dir / "20260101-000001-regularized-bbbbbb"
    (blobs / "boundary.npz").write_bytes((blobs / "boundary.npz").read_bytes()[:300])
    _edit_json(plain / "metrics.json", val=[0.9], params=float("inf"))
    _edit_json(reg / "run.json", status=3)
    (reg / "config.yaml").write_text((reg / "config.yaml").read_text() + "notes: 2026-01-01\n")
    trial = runs_dir / "tinygrid" / "trials" / "t001-r1" / "metrics.json"
    _edit_json(trial, val={"loss": float("nan"), "accuracy": float("nan")})
    (runs_dir / "[odd]").mkdir()
    shutil.copytree(plain, runs_dir / "[odd]" / "<b>run</b>")
    result = CliRunner().invoke(cli, ["report", str(runs_dir), "--out", str(tmp_path / "o")])
    assert result.exit_code == 0, result.output
    assert "metrics.json: val is not an object" in result.stderr
    assert "not drawn" in result.stderr  # the damaged boundary.npz cost its picture only
    page = (tmp_path / "o" / "index.html").read_text()
    assert "<b>run</b>" not in page and "&lt;b&gt;run&lt;/b&gt;" in page
    assert "no picture of decision boundary of 20260101-000002-blobs-cccccc" in page
    records = json.loads(
        CliRunner().invoke(cli, ["report", str(runs_dir), "--format", "json"]).stdout
    )
    reg_record = next(r for r in records if r["id"] == "20260101-000001-regularized-bbbbbb")
    assert reg_record["status"] == "3" and reg_record["hyperparameters"]["notes"] == "2026-01-01"
    t001 = next(r for r in records if r["id"] == "tinygrid/t001")
    assert "val_accuracy_std" not in t001["metrics"]  # one finite value: no spread


def test_a_search_or_a_run_given_directly_and_links(runs_dir, monkeypatch):
    monkeypatch.chdir(runs_dir / "tinygrid")
    rep = report.build(".")
    assert [e.id for e in rep.entries] == [f"tinygrid/t00{i}" for i in range(4)]
    assert all(len(e.records) == 2 for e in rep.entries)
    monkeypatch.chdir(runs_dir / "20260101-000000-plain-aaaaaa")
    assert [e.id for e in report.build(".").entries] == ["20260101-000000-plain-aaaaaa"]


def test_same_search_name_in_two_folders_and_link_loops(runs_dir):
    (runs_dir / "2025").mkdir()
    shutil.copytree(runs_dir / "tinygrid", runs_dir / "2025" / "tinygrid")
    (runs_dir / "loop").symlink_to(runs_dir)
    rep = report.build(runs_dir)
    assert set(rep.searches) == {"tinygrid", "2025/tinygrid"}
    assert all(len(e.records) == 2 for e in rep.entries if e.kind == "trial")
    assert len(rep.entries) == 14  # 6 runs + 2 x 4 trials, the link loop read once


def test_filter_reads_numbers_as_numbers(runs_dir):
    rep = report.build(runs_dir, filters=("train.learning_rate=3e-2", "kind=trial"))
    assert len(rep.entries) == 4


def test_out_folder_keeps_other_pictures(runs_dir, tmp_path):
    (tmp_path / "docs" / "img").mkdir(parents=True)
    (tmp_path / "docs" / "img" / "logo.png").write_bytes(b"mine")
    report.write_html(report.build(runs_dir), tmp_path / "docs")
    assert (tmp_path / "docs" / "img" / "logo.png").read_bytes() == b"mine"


def test_odd_search_yaml_is_a_warning(runs_dir):
    (runs_dir / "tinygrid" / "search.yaml").write_text(
        "search: {params: [{model.first_neuron: [4]}], objective: {name: 5}, repeats: two}\n"
    )
    rep = report.build(runs_dir)
    info = rep.searches["tinygrid"]
    assert info.keys == [] and info.objective is None and info.repeats == 1
    assert len([e for e in rep.entries if e.search == "tinygrid"]) == 4
    (runs_dir / "tinygrid" / "search.yaml").write_text("[1, 2]\n")
    assert "no search section" in " ".join(report.build(runs_dir).warnings)


# --- labels and escaping --------------------------------------------------------------


@pytest.mark.parametrize(
    "value, text",
    [
        ({"name": "sgd", "momentum": 0.9}, "sgd(momentum=0.9)"),
        ({"name": "sgd", "momentum": 0.9, "nesterov": True}, "sgd(momentum=0.9, nesterov=True)"),
        ({"name": "sgd"}, "sgd"),
        ({"a": 1, "b": 2}, "{a=1, b=2}"),
        (True, "true"),
        (False, "false"),
        (None, "-"),
        ([8, 16], "[8, 16]"),
        ([True, None, {"name": "adam"}], "[true, -, adam]"),
        ([], "[]"),
        (0.001, "0.001"),
        (0.2, "0.2"),
        (3, "3"),
        ("relu", "relu"),
    ],
)
def test_label(value, text):
    assert labels.label(value) == text
    assert report.label is labels.label  # one label, in tables, plots and search tables


def test_html_escapes_ids_names_and_values(runs_dir, tmp_path):
    config = runs_dir / "20260101-000000-plain-aaaaaa" / "config.yaml"
    config.write_text(config.read_text() + "notes: <b>bold</b>\n")
    shutil.copytree(runs_dir / "tinygrid", runs_dir / "<script>alert(1)</script>")
    shutil.copytree(runs_dir / "20260101-000000-plain-aaaaaa", runs_dir / "<b>run</b>")
    rep = report.build(runs_dir)
    assert "<script>alert(1)</script>" in rep.searches
    page, _ = report.write_html(rep, tmp_path / "out")
    text = page.read_text()
    for raw in ("<script>alert(1)</script>", "<b>run</b>", "<b>bold</b>"):
        assert raw not in text
    # the page's only scripts are its own files beside it
    assert set(re.findall(r"<script[^>]*>", text)) == {
        "<script src='data.js'>",
        "<script src='plotly.min.js'>",
        "<script src='explore.js'>",
    }
    assert "<b>" not in text
    assert "Search &lt;script&gt;alert(1)&lt;/script&gt;</h2>" in text
    assert "&lt;script&gt;alert(1)&lt;/script&gt;/t000" in text  # trial ids and links
    assert "&lt;b&gt;run&lt;/b&gt; <small>" in text
    # the table's data: JSON whose '</' cannot end a script (explore.js escapes each cell)
    data = (tmp_path / "out" / "data.js").read_text()
    assert "<b>bold</b>" in data.replace("<\\/", "</") and "</" not in data
    for detail in (tmp_path / "out" / "detail").glob("*.js"):
        assert "</" not in detail.read_text()


def test_a_run_folder_with_a_yaml_bomb_is_a_warning(runs_dir):
    from test_cli import laughs

    (runs_dir / "20260101-000000-plain-aaaaaa" / "config.yaml").write_text(f"name: {laughs()}\n")
    (runs_dir / "tinygrid" / "search.yaml").write_text(f"name: {laughs()}\n")
    rep = report.build(runs_dir)
    text = " ".join(rep.warnings)
    assert "config.yaml is damaged (YAMLTooLarge)" in text and "search.yaml: unreadable" in text


def test_csv_writes_booleans_and_whole_numbers_as_people_mean_them(runs_dir):
    result = CliRunner().invoke(cli, ["report", str(runs_dir), "--format", "csv"])
    rows = list(csv.DictReader(io.StringIO(result.stdout)))
    assert {r["best"] for r in rows} == {"true", "false"}
    plain = next(r for r in rows if r["id"] == "20260101-000000-plain-aaaaaa")
    assert plain["params"] == "105" and plain["epochs_run"] == "15"
    trial = next(r for r in rows if r["id"] == "tinygrid/t000")
    assert trial["params"] == "37" and trial["epochs_run"] == "8"  # means of two equal ints


def test_a_filtered_page_never_replaces_the_full_one(runs_dir):
    CliRunner().invoke(cli, ["report", str(runs_dir)])
    full = (runs_dir / "report" / "index.html").read_text()
    result = CliRunner().invoke(cli, ["report", str(runs_dir), "--filter", "search=tinygrid"])
    assert result.exit_code == 0, result.output
    assert (runs_dir / "report" / "index.html").read_text() == full
    filtered = (runs_dir / "report" / "filtered" / "index.html").read_text()
    assert "filtered: search=tinygrid" in filtered and "plain-aaaaaa" not in filtered


@pytest.mark.parametrize("width", [80, 200])
def test_table_fits_the_terminal(runs_dir, width):
    rep = report.build(runs_dir)
    console = Console(width=width, no_color=True, record=True, file=io.StringIO())
    console.print(report.table(rep, width=width))
    lines = console.export_text().rstrip("\n").splitlines()
    assert all(len(line) <= width for line in lines)
    rows = [line for line in lines if "│" in line]
    if width == 80:  # the narrow table: a row may take more lines, its scores whole
        assert any(line.startswith("tinygrid/t000 ★") for line in rows)
        assert "completed" in lines[2] and "val acc" in lines[0] and "test acc" in lines[0]
        assert "…" not in "\n".join(lines)
    else:
        assert "loss train val test" in lines[0] and "acc train val test" in lines[0]


def test_long_plot_titles_are_shortened_to_fit():
    assert style.fit("short", 3.0, 10) == "short"
    title = "decision boundary: 20260101-000001-a-very-long-regularized-run-name-bbbbbb"
    fitted = style.fit(title, 2.9, 9)
    assert len(fitted) <= int(2.9 * 72 / (9 * 0.6)) and "…" in fitted
    assert fitted.startswith("decision boundary") and fitted.endswith("bbbbbb")


def test_what_matters_and_what_is_noise(runs_dir, tmp_path):
    from dlexp.report import significance as matters

    rep = report.build(runs_dir)
    info = rep.searches["tinygrid"]
    trials = {e.id: e for e in info.entries}
    assert trials["tinygrid/t000"].best
    # two repeats each are too few to tell trials apart: nothing is marked, and it says so
    assert all(e.within_noise is None for e in trials.values())
    assert matters.noise_note(info).startswith("2 seeds are too few to tell trials apart")
    weights = matters.importances(info, ["model.first_neuron", "train.optimizer"])
    assert set(weights) == {"model.first_neuron", "train.optimizer"}
    assert matters.importances(info, []) == {}
    runs_only = [e for e in rep.entries if e.kind == "run"]
    assert all(e.within_noise is None for e in runs_only)
    page, _ = report.write_html(rep, tmp_path / "out")
    text = page.read_text()
    assert "how much each searched key matters" in text  # the importance chart
    assert "-parallel-" not in text  # the page's own parallel coordinates show every trial


def test_confusion_matrix_and_roc_from_a_runs_predictions(tmp_path):
    import numpy as np

    rng = np.random.RandomState(0)
    y = rng.randint(0, 3, 60)
    proba = rng.dirichlet([1, 1, 1], 60).astype(np.float32)
    proba[np.arange(60), y] += 1  # mostly right
    arrays = {
        "y_true": y,
        "proba": proba / proba.sum(1, keepdims=True),
        "class_names": np.array(["a", "b", "c"]),
    }
    assert _png_size(plots.evaluation(arrays, title="t"))[0] > 400
    binary = {"y_true": y % 2, "proba": proba[:, :1]}
    assert _png_size(plots.evaluation(binary))[0] > 400


@pytest.mark.slow
def test_a_trained_run_gets_its_evaluation_pictures(tiny, tmp_path):
    result = CliRunner().invoke(
        cli, ["train", str(tiny), "--runs-dir", str(tmp_path / "r"), "--format", "json", "-q"]
    )
    run = tmp_path / "r" / json.loads(result.stdout)["id"]
    assert (run / "predictions.npz").exists()
    page, _ = report.write_html(report.build(tmp_path / "r"), tmp_path / "out")
    assert "confusion matrix and ROC curve of" in page.read_text()


def test_pictures_are_drawn_without_forking_a_process_that_runs_jax(runs_dir, tmp_path):
    """JAX warns that os.fork() of a process running its threads can deadlock (a
    notebook, the tests, a report written after a search): the drawing workers are then
    spawned, and no fork warning is raised."""
    import warnings

    import jax.numpy as jnp

    jnp.zeros(1).block_until_ready()  # JAX loaded and its threads running
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        _, drawn = report.write_html(report.build(runs_dir), tmp_path / "out")
    assert drawn > 6  # enough pictures for the worker processes
    forks = [w for w in caught if "os.fork()" in str(w.message)]
    assert not forks, forks[0].message
