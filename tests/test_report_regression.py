"""dlexp report over real regression runs (tiny trainings, once per module: slow): the
prediction over the plane and its frames as heatmaps, predicted against actual and the
residuals, rmse/r2 in the tables; mixed with a classification run written as before
regression (no ``task`` in its run.json or config.yaml), which still reports as one.
The charts' own rules (colour scales, which way is better) are fast tests."""

import io
import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from helpers import FIXTURES, TINY, invoke
from rich.console import Console

from dlexp import report
from dlexp.report import plots, sections
from dlexp.report import text as report_text
from dlexp.report.images import LEARNING, load_npz
from dlexp.report.plots import style
from dlexp.runs import folder as runs_mod

PLAIN = "20260101-000000-plain-aaaaaa"  # a classification run written before regression
slow = pytest.mark.slow

PLANE = """
seed: 1
data: {kind: playground, dataset: reg-plane, n_samples: 200}
model: {layers: [4], activation: tanh}
train: {epochs: 3, batch_size: 20, early_stopping: false}
"""

# three features (no plane to draw) and two targets in different units
MULTI = """
seed: 1
data: {kind: csv, path: two.csv, target: [t1, t2], task: regression}
model: {layers: [8]}
train: {epochs: 2, metrics: [rmse, r2, mae], early_stopping: false}
"""


def _train(root: Path, name: str, text: str) -> Path:
    (root / f"{name}.yaml").write_text(text)
    result = invoke(
        "train", root / f"{name}.yaml", "--runs-dir", root / "runs", "-q", "--format", "json"
    )
    assert result.exit_code == 0, result.output
    return root / "runs" / json.loads(result.stdout)["id"]


@pytest.fixture(scope="module")
def trained(tmp_path_factory) -> dict[str, Path]:
    """A 2D regression run, a run of two targets, and the old classification run."""
    root = tmp_path_factory.mktemp("regression")
    rng = np.random.default_rng(0)
    x = rng.normal(size=(120, 3))
    t1, t2 = 2 * x[:, 0] + x[:, 1], 10 + 5 * np.sin(x[:, 2])
    rows = [",".join(f"{v:.4f}" for v in (*r, u, w)) for r, u, w in zip(x, t1, t2, strict=True)]
    (root / "two.csv").write_text("\n".join(["a,b,c,t1,t2", *rows]) + "\n")
    runs = {"plane": _train(root, "plane", PLANE), "multi": _train(root, "multi", MULTI)}
    old = runs["old"] = _train(root, "moons", TINY)
    info = json.loads((old / "run.json").read_text())  # as a run from before regression
    del info["data"]["task"], info["data"]["target_names"]
    (old / "run.json").write_text(json.dumps(info))
    config = (old / "config.yaml").read_text()
    (old / "config.yaml").write_text(config.replace("  task: classification\n", ""))
    return runs


@pytest.fixture(scope="module")
def page(trained, tmp_path_factory):
    """The report of the three runs: its HTML, the report and the sections by run."""
    rep = report.build(trained["plane"].parent)
    out = tmp_path_factory.mktemp("out")
    path, drawn = report.write_html(rep, out)
    return path.read_text(), rep, drawn


def _section(text: str, run_id: str) -> str:
    """The HTML of a run's section, up to the next one."""
    start = text.index(f"id='{sections.anchor(run_id)}'")
    end = text.find("<h3 id=", start + 1)
    return text[start : end if end > 0 else len(text)]


@slow
def test_tasks_are_read_from_run_json_and_old_runs_are_classification(trained):
    tasks = {k: sections.task_of(runs_mod.read_run(p)) for k, p in trained.items()}
    assert tasks == {"plane": "regression", "multi": "regression", "old": "classification"}
    assert "task" not in json.loads((trained["old"] / "run.json").read_text())["data"]
    assert "task:" not in (trained["old"] / "config.yaml").read_text()


@slow
def test_a_mixed_report_draws_each_run_as_its_task_asks(trained, page):
    text, rep, drawn = page
    assert not [w for w in rep.warnings if "not drawn" in w], rep.warnings
    assert drawn >= 12
    plane = _section(text, trained["plane"].name)
    assert "predicted against actual, and the residuals," in plane
    assert "prediction over the plane of" in plane
    assert "the prediction of" in plane and "epoch by epoch" in plane  # the frames
    assert "confusion" not in plane and "ROC" not in plane and "decision boundary" not in plane
    multi = _section(text, trained["multi"].name)
    assert "predicted against actual" in multi and "over the plane" not in multi  # 3 features
    assert "confusion" not in multi
    old = _section(text, trained["old"].name)
    assert "confusion matrix and ROC curve of" in old and "decision boundary of" in old
    assert "predicted against actual" not in old and "prediction" not in old


@slow
def test_a_mixed_report_has_each_tasks_metrics_and_a_comparison_per_task(trained, page):
    """The page's one table holds each task's metrics (its data, data.js) and says what
    rmse and r2 mean; the runs are compared per task."""
    from dlexp.report import explore

    text, rep, _ = page
    data = explore.page_data(rep)
    rows = {r["id"]: r for r in data["rows"]}
    plane, old = rows[trained["plane"].name], rows[trained["old"].name]
    assert {"val_accuracy", "val_rmse", "test_r2"} <= set(data["metrics"])
    assert "val_rmse" in plane["metrics"] and "test_r2" in plane["metrics"]
    assert "val_accuracy" not in plane["metrics"]
    assert "val_accuracy" in old["metrics"] and "val_rmse" not in old["metrics"]
    assert "in the target&#39;s own units" in text  # what rmse and r2 mean
    compared = text[text.index("id='compare'") :]
    assert "learning curves of the regression runs, overlaid" in compared
    # one classification run: nothing to compare it with
    assert "learning curves of the classification runs" not in compared


@slow
def test_the_text_table_shows_rmse_and_r2_and_each_rows_score_when_narrow(trained):
    rep = report.build(trained["plane"].parent)
    mixed = _render(report.table(rep, width=70), 70)
    assert "acc 0." in mixed and "rmse " in mixed  # each row its own task's score
    rep.entries = [e for e in rep.entries if sections.entry_task(e) == "regression"]
    wide = _render(report.table(rep), 200)
    assert "rmse train val test" in wide and "r2 train val test" in wide and "acc" not in wide
    narrow = _render(report.table(rep, width=70), 70)
    assert "val rmse" in narrow and "acc" not in narrow


def _render(table, width: int) -> str:
    console = Console(width=width, no_color=True, record=True, file=io.StringIO())
    console.print(table)
    return console.export_text()


@slow
def test_the_prediction_over_the_plane_and_its_points_share_one_scale(trained):
    arrays = load_npz(str(trained["plane"] / "boundary.npz"))
    assert "predicted" in arrays and arrays["y_train"].dtype == np.float32
    fig = plots.boundary_figure(arrays, "t")
    ax, bar = fig.axes
    top = float(np.abs(arrays["y_train"]).max())  # Playground's targets: centred on 0
    assert bar.get_ylim() == pytest.approx((-top, top))
    train, test = ax.collections  # each point coloured by its target on the plane's scale
    for points, split in ((train, "train"), (test, "test")):
        assert np.allclose(points.get_array(), arrays[f"y_{split}"][:, 0])
        assert (points.norm.vmin, points.norm.vmax) == pytest.approx((-top, top))
        assert points.cmap.name == "playground"
    heat = np.asarray(ax.images[0].get_array())
    scale = style.value_scale(arrays["y_train"])
    assert np.allclose(heat, style.value_rgb(arrays["predicted"][..., 0], scale))
    assert "plane predicted, points actual" in bar.get_ylabel()


def test_a_target_away_from_zero_gets_a_sequential_scale():
    cmap, lo, hi = style.value_scale(np.array([10.0, 12.0, 15.0]))
    assert cmap.name == "viridis" and (lo, hi) == (10.0, 15.0)
    cmap, lo, hi = style.value_scale(np.array([-0.5, 0.1, 1.0]))
    assert cmap.name == "playground" and (lo, hi) == (-1.0, 1.0)
    cmap, lo, hi = style.value_scale(np.array([-30.0, 45.0, 50.0, 55.0, 130.0]))  # 50 ± 40
    assert cmap.name == "viridis" and (lo, hi) == (-30.0, 130.0)
    rgb = style.value_rgb(np.array([[np.nan, 15.0]]), (plt_viridis(), 10.0, 15.0), pale=0.0)
    assert rgb[0, 0].tolist() == [1.0, 1.0, 1.0] and rgb[0, 1] == pytest.approx(
        np.array(plt_viridis()(1.0)[:3])
    )


def plt_viridis():
    import matplotlib

    return matplotlib.colormaps["viridis"]


@slow
def test_predicted_against_actual_and_residuals_agree_with_the_runs_metrics(trained):
    record = runs_mod.read_run(trained["plane"])
    arrays = load_npz(str(trained["plane"] / "predictions.npz"))
    scores = plots.regression_scores(arrays["y_true"][:, 0], arrays["predicted"][:, 0])
    # the report's numpy and Keras's metrics, in the target's units, on the same split
    assert scores["rmse"] == pytest.approx(record.metric("test_rmse"), rel=1e-3)
    assert scores["r2"] == pytest.approx(record.metric("test_r2"), rel=1e-3, abs=1e-4)
    fig = plots.evaluation_figure(arrays, "t")
    against, residuals = fig.axes
    assert f"rmse {scores['rmse']:.3g}\n" in against.texts[0].get_text()
    (dots,) = against.collections
    assert np.allclose(dots.get_offsets(), np.c_[arrays["y_true"], arrays["predicted"]])
    line = against.lines[0].get_xydata()
    assert np.allclose(line[:, 0], line[:, 1])  # y = x
    (dots,) = residuals.collections
    error = arrays["y_true"] - arrays["predicted"]
    assert np.allclose(dots.get_offsets(), np.c_[arrays["predicted"], error])


@slow
def test_two_targets_get_a_row_each_in_their_own_units(trained):
    arrays = load_npz(str(trained["multi"] / "predictions.npz"))
    assert arrays["predicted"].shape[1] == 2
    fig = plots.evaluation_figure(arrays)
    assert len(fig.axes) == 4
    titles = [ax.get_title() for ax in fig.axes[::2]]
    assert titles == ["t1: predicted against actual", "t2: predicted against actual"]
    assert all(ax.texts[0].get_text().startswith("rmse ") for ax in fig.axes[::2])
    assert fig.axes[2].get_xlabel() == "actual t2"


@slow
def test_the_frames_of_a_regression_are_heatmaps_with_their_scale(trained):
    frames = load_npz(str(trained["plane"] / "learning.npz"), LEARNING["learning_strip"])
    points = load_npz(str(trained["plane"] / "boundary.npz"), LEARNING["learning_strip"])
    fig = plots.learning_strip_figure(frames, points, "t")  # regression: from the points
    texts = [t.get_text() for t in fig.texts]
    top = float(np.abs(points["y_train"]).max())
    assert "colour: label" in texts and f"{-top:.3g}" in texts and f"{top:.3g}" in texts
    alone = plots.learning_strip_figure(frames, None, "t", regression=True)  # no points
    last = float(np.abs(frames["snapshot_proba"][-1].astype(np.float32)).max())
    assert {"colour: predicted", f"{last:.3g}"} <= {t.get_text() for t in alone.texts}
    unknown = plots.learning_strip_figure(frames, None, "t")  # nothing says regression
    assert not any(t.get_text().startswith("colour") for t in unknown.texts)
    old = load_npz(str(FIXTURES / PLAIN / "boundary.npz"), LEARNING["learning_strip"])
    assert not plots.is_regression(old) and plots.is_regression(points)


@slow
def test_the_network_colours_a_regression_output_by_its_value(trained):
    arrays = load_npz(str(trained["plane"] / "learning.npz"), LEARNING["network"])
    assert "kernel_1" in arrays
    assert plots.network(arrays, regression=True)[:4] == b"\x89PNG"


@pytest.mark.parametrize(
    ("objective", "cmap", "words"),
    [("val_rmse", "viridis_r", "lower is better"), ("val_r2", "viridis", "higher is better")],
)
def test_search_charts_say_which_way_is_better(objective, cmap, words):
    rows = [
        {"model.width": w, "train.lr": lr, "score": 0.1 * w + lr}
        for w in (1, 2)
        for lr in (0.1, 0.2)
    ]
    fig = plots.heatmap_figure(rows, "model.width", "train.lr", objective)
    assert fig.axes[0].images[0].cmap.name == cmap and words in fig.axes[0].get_title()
    fig = plots.objective_vs_params_figure(rows, ["model.width"], objective)
    assert words in fig.axes[0].get_ylabel()
    fig = plots.parallel_figure(rows, ["model.width", "train.lr"], objective)
    assert any(words in t.get_text() for t in fig.axes[0].get_xticklabels())


@slow
def test_report_of_regression_runs_never_imports_tensorflow(trained, tmp_path):
    code = (
        "import sys\nfrom dlexp.cli import cli\n"
        f"try: cli(['report', {str(trained['plane'].parent)!r}, '--out', {str(tmp_path)!r}])\n"
        "except SystemExit: pass\n"
        "print('HEAVY', [m for m in ('tensorflow', 'keras', 'jax', 'keras_tuner')"
        " if m in sys.modules])\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert "HEAVY []" in out.stdout and "not drawn" not in out.stdout + out.stderr


@pytest.mark.parametrize(
    ("logged", "shown"),
    [
        (["accuracy"], ["accuracy"]),
        (["rmse", "r2"], ["rmse", "r2"]),
        (["mae", "r2", "rmse"], ["rmse", "r2"]),
        (["mae"], ["mae"]),
        (["accuracy", "rmse", "r2"], ["accuracy", "rmse", "r2"]),  # a mixed report
        (["auc"], ["auc"]),  # any other metric: the first logged, as before
        ([], []),
    ],
)
def test_the_tables_show_each_tasks_metrics_beside_the_loss(logged, shown):
    keys = ["train_loss", "val_loss", "params", "best_epoch"]
    keys += [f"{split}_{m}" for m in logged for split in ("train", "val", "test")]
    assert report_text.headline(keys) == shown
