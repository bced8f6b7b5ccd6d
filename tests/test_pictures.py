"""The report's pictures as they are drawn: their resolution and the size of their text
on the page, tick labels that never overlap, parallel coordinates inside the figure,
overlays that say what they leave out, the confusion matrix's shading and no one-bar
importance chart. Each figure is caught as it is saved and its text measured with
matplotlib's own renderer; nothing trains here (the fixtures' run folders)."""

import re
import shutil
from pathlib import Path

import numpy as np
import pytest
from matplotlib.colors import to_rgb
from matplotlib.text import Text

from dlexp import report
from dlexp.report import plots
from dlexp.report.plots import style
from dlexp.runs import folder as runs

PLAIN = "20260101-000000-plain-aaaaaa"
OPTIMIZERS = [
    "sgd",
    {"name": "sgd", "momentum": 0.9},
    {"name": "sgd", "momentum": 0.9, "nesterov": True},
    "adagrad",
    "adadelta",
    "rmsprop",
    "adam",
    "adamax",
    "nadam",
]


@pytest.fixture
def drawn(monkeypatch):
    """The figures the plotting functions save, in order (each still drawable)."""
    figures = []
    original = style.png

    def keep(fig):
        figures.append(fig)
        return original(fig)

    monkeypatch.setattr(style, "png", keep)  # every picture is saved through style.png
    return figures


def _dpi(png: bytes) -> float:
    """The pixels per inch a PNG's pHYs chunk says it was saved at."""
    at = png.index(b"pHYs")
    return round(int.from_bytes(png[at + 4 : at + 8], "big") * 0.0254, 1)


def _texts(fig):
    renderer = fig.canvas.get_renderer()
    fig.draw(renderer)
    found = [t for t in fig.findobj(Text) if t.get_visible()]
    return [t for t in found if t.get_text().strip()], renderer


def _rows():
    rng = np.random.RandomState(1)
    return [
        {"train.optimizer": o, "model.first_neuron": n, "score": float(rng.uniform(0.6, 0.97))}
        for o in OPTIMIZERS
        for n in (4, 8, 16, 32, 64, 128)
    ]


def _evaluation_arrays(k: int = 3):
    rng = np.random.RandomState(0)
    y = rng.randint(0, k, 90)
    proba = rng.dirichlet([1] * k, 90).astype(np.float32)
    proba[np.arange(90), y] += 1
    return {"y_true": y, "proba": proba / proba.sum(1, keepdims=True)}


def _regression_arrays(points: dict) -> tuple[dict, dict]:
    """boundary.npz and predictions.npz as a 2D regression writes them, over the fixture's
    plane: Playground's reg-plane target (x1 + x2) / 10 and a prediction a little off."""
    gx, gy = np.meshgrid(points["xs"], points["ys"])
    plane = {"xs": points["xs"], "ys": points["ys"], "target_names": np.array(["label"])}
    plane["predicted"] = ((gx + gy) / 10 * 0.9)[..., None].astype(np.float32)
    for split in ("train", "test"):
        x = points[f"x_{split}"]
        plane[f"x_{split}"], plane[f"y_{split}"] = x, ((x[:, :1] + x[:, 1:]) / 10).astype("f4")
    y = plane["y_test"]
    rng = np.random.RandomState(0)
    tested = {"y_true": y, "predicted": y * 0.9 + rng.normal(0, 0.02, y.shape).astype("f4")}
    return plane, {**tested, "target_names": np.array(["label"])}


def _all_pictures(runs_dir):
    """Every kind of picture the report draws from run folders, drawn once."""
    plain = runs.read_run(runs_dir / PLAIN)
    with np.load(runs_dir / PLAIN / "boundary.npz") as npz:
        points = {k: npz[k] for k in npz.files}
    rows, keys = _rows(), ["train.optimizer", "model.first_neuron"]
    yield plots.learning_curves(plain.history, title="plain", best_epoch=3)
    yield plots.overlay([("a", plain.history), ("b", plain.history)], ["loss", "accuracy"])
    yield plots.boundary(points, title="boundary")
    yield plots.objective_vs_params(rows, keys, "val_accuracy")
    yield plots.heatmap(rows, *keys, "val_accuracy")
    yield plots.importance({"train.optimizer": 0.4, "model.first_neuron": 0.1}, "val_accuracy")
    yield plots.parallel(rows, keys, "val_accuracy")
    yield plots.evaluation(_evaluation_arrays(), title="test split")
    plane, tested = _regression_arrays(points)
    yield plots.boundary(plane, title="prediction over the plane")
    yield plots.evaluation(tested, title="test split")
    yield plots.heatmap(rows, *keys, "val_rmse")
    yield plots.parallel(rows, keys, "val_rmse")


def test_pictures_are_hidpi_with_text_readable_on_the_page(runs_dir, tmp_path, drawn):
    """Saved at 200 dpi or more; shown at the page's own size (the img's width), where
    no text is under 11 pixels tall (old: 80 dpi, shown at 80 px/in, 6 pt text: 6.7 px)."""
    for png in _all_pictures(runs_dir):
        assert _dpi(png) >= 200
    for fig in drawn:
        texts, _ = _texts(fig)
        smallest = min(t.get_fontsize() for t in texts)
        assert smallest * plots.DPI / 72 >= 11, (fig, smallest)
    page, _ = report.write_html(report.build(runs_dir), tmp_path / "out")
    tags = re.findall(r"<img [^>]*>", page.read_text())
    assert len(tags) >= 10
    for tag in tags:
        src = re.search(r"src='([^']+)'", tag).group(1)
        width = re.search(r"width='(\d+)'", tag)
        width = width and width.group(1)
        png = (tmp_path / "out" / src).read_bytes()
        pixels = int.from_bytes(png[16:20], "big")
        shown = int(width) if width else pixels  # no width: one file pixel a page pixel
        per_inch = shown / (pixels / _dpi(png))  # page pixels per inch of the figure
        assert _dpi(png) >= 200 and _dpi(png) >= 2 * per_inch * 0.99 and per_inch >= 96, src


def _overlaps(labels, renderer):
    boxes = [t.get_window_extent(renderer) for t in labels if t.get_visible() and t.get_text()]
    return [
        (i, j)
        for i, a in enumerate(boxes)
        for j, b in enumerate(boxes[i + 1 :], i + 1)
        if a.overlaps(b)
    ]


@pytest.mark.parametrize(
    "picture",
    ["objective_vs_params", "heatmap", "evaluation_many_classes"],
)
def test_category_tick_labels_never_overlap(picture, drawn):
    """Long optimizer names and many values (9 optimizers, 6 sizes, 14 classes). The
    importance chart's key names (one bar each, 0.45 in apart) never overlapped."""
    rows, keys = _rows(), ["train.optimizer", "model.first_neuron"]
    if picture == "objective_vs_params":
        plots.objective_vs_params(rows, keys, "val_accuracy")
    elif picture == "heatmap":
        plots.heatmap(rows, *keys, "val_accuracy")
    else:
        arrays = _evaluation_arrays(14)
        plots.evaluation({**arrays, "class_names": np.array([f"class {i:02d}" for i in range(14)])})
    (fig,) = drawn
    _, renderer = _texts(fig)
    checked = 0
    for ax in fig.axes:
        for labels in (ax.get_xticklabels(), ax.get_yticklabels()):
            assert _overlaps(labels, renderer) == [], [t.get_text() for t in labels]
            checked += len(labels) > 1
    assert checked >= 1


def test_parallel_coordinates_labels_inside_the_figure_and_apart(drawn):
    """Inside the figure and apart held in old code too (constrained layout); there the
    values were drawn straight over the lines."""
    plots.parallel(_rows(), ["train.optimizer", "model.first_neuron"], "val_accuracy")
    (fig,) = drawn
    texts, renderer = _texts(fig)
    inside = fig.bbox.padded(0.5)
    for t in texts:
        box = t.get_window_extent(renderer)
        assert inside.contains(box.x0, box.y0) and inside.contains(box.x1, box.y1), t.get_text()
    values = fig.axes[0].texts
    assert len(values) == len(OPTIMIZERS) + 6 + 2
    assert _overlaps(values, renderer) == [], [t.get_text() for t in values]
    lines = max(line.get_zorder() for line in fig.axes[0].get_lines())
    for t in values:  # each on a white box above the lines, not drawn over by them
        patch = t.get_bbox_patch()
        assert patch is not None and t.get_zorder() > lines, t.get_text()
        assert patch.get_facecolor()[:3] == (1, 1, 1) and patch.get_alpha() >= 0.8


def test_an_overlay_of_more_runs_than_colours_says_how_many_it_shows(drawn):
    plain = runs.read_run(Path(__file__).parent / "fixtures" / "runs" / PLAIN)
    curves = [(f"run{i:02d}", plain.history) for i in range(17)]
    plots.overlay(curves, ["loss"])
    (fig,) = drawn
    ax = fig.axes[0]
    solid = [line for line in ax.get_lines() if line.get_linestyle() == "-"]
    colours = [tuple(np.round(to_rgb(line.get_color()), 3)) for line in solid]
    assert len(colours) == len(set(colours)) >= 10  # each run shown its own colour
    title = fig._suptitle.get_text() if fig._suptitle else ""
    assert f"{len(solid)} of 17 runs shown" in title


def test_the_page_says_how_many_runs_runs_compared_shows(runs_dir, tmp_path):
    for i in range(12):  # copies with their learning curves alone: fewer pictures
        copy = runs_dir / f"20260102-0000{i:02d}-copy{i}-ffffff"
        shutil.copytree(runs_dir / PLAIN, copy)
        for name in ("boundary.npz", "learning.npz", "predictions.npz"):
            (copy / name).unlink(missing_ok=True)
    rep = report.build(runs_dir, filters=("kind=run",))
    total = sum(e.kind == "run" for e in rep.entries)
    assert total > 12
    page, _ = report.write_html(rep, tmp_path / "out")
    text = page.read_text()
    start = text.index("Runs compared")
    compared = text[start : text.index("</details>", start)]
    assert f"12 of {total} runs shown" in compared


def test_confusion_matrix_shaded_by_each_rows_share_with_counts(drawn):
    y = np.array([0] * 90 + [1] * 10)
    proba = np.zeros((100, 2), np.float32)
    proba[np.arange(100), y] = 1.0
    proba[95:] = [0.9, 0.1]  # half of the rare class taken for the common one
    plots.evaluation({"y_true": y, "proba": proba})
    (fig,) = drawn
    ax = fig.axes[0]
    (image,) = ax.get_images()
    share = np.array([[1.0, 0.0], [0.5, 0.5]])
    np.testing.assert_allclose(np.asarray(image.get_array()), share)
    assert image.get_clim() == (0, 1)
    cells = [t.get_text() for t in ax.texts]
    assert [c.split()[0] for c in cells] == ["90", "0", "5", "5"]  # the counts shown
    assert any("50%" in c for c in cells)


def test_no_one_bar_importance_chart(runs_dir, tmp_path):
    """Filtered to one first_neuron, only the optimizer varies in tinygrid."""
    one = ("search=tinygrid", "model.first_neuron=4")
    page, _ = report.write_html(report.build(runs_dir, filters=one), tmp_path / "one")
    text = page.read_text()
    assert "Objective by searched value" in text
    assert "-importance-" not in text
    assert "Only train.optimizer varies" in text
    page, _ = report.write_html(report.build(runs_dir, filters=one[:1]), tmp_path / "two")
    assert "-importance-" in page.read_text()  # two keys: the chart


def test_the_roc_curve_is_scikit_learns():
    """The report draws ROC curves without importing scikit-learn (3 s a drawing
    process): the same points and area as sklearn.metrics.roc_curve and auc."""
    import numpy as np
    from sklearn.metrics import auc, roc_curve

    from dlexp.report.plots.predictions import roc_curve as ours

    rng = np.random.default_rng(0)
    for _ in range(100):
        n = int(rng.integers(2, 300))
        truth = rng.integers(0, 2, n).astype(bool)
        truth[:2] = [True, False]
        score = np.round(rng.random(n), int(rng.integers(1, 4)))  # ties too
        fpr, tpr, _ = roc_curve(truth, score, drop_intermediate=False)
        fpr2, tpr2, area = ours(truth, score)
        assert np.allclose(fpr, fpr2) and np.allclose(tpr, tpr2)
        assert abs(area - auc(fpr, tpr)) < 1e-12
