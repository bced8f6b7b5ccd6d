"""The report's pictures of how a run learned, drawn from the learning.npz that the
plain and regularized fixture runs keep (made by training their own config.yaml with
``train.log_every: batch``): no training, no TensorFlow."""

import shutil
import zipfile
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

from dlexp import report
from dlexp.cli import cli
from dlexp.report import plots
from dlexp.report.images import LEARNING, load_npz

FIXTURES = Path(__file__).parent / "fixtures" / "runs"
PLAIN = "20260101-000000-plain-aaaaaa"
REGULARIZED = "20260101-000001-regularized-bbbbbb"
WITHOUT = ("20260101-000002-blobs-cccccc", "old-version-run")  # no learning.npz


def learning(run: str = PLAIN, kind: str | None = None) -> dict:
    return load_npz(str(FIXTURES / run / "learning.npz"), LEARNING[kind] if kind else None)


def _is_png(data: bytes) -> bool:
    return data[:8] == b"\x89PNG\r\n\x1a\n"


def _texts(fig) -> list[str]:
    texts = [t.get_text() for t in fig.texts]
    for ax in fig.axes:
        texts += [t.get_text() for t in ax.texts]
    return texts


# --- the boundary epoch by epoch ------------------------------------------------------


def test_the_strip_has_a_panel_per_snapshot_epoch_in_order():
    arrays = learning(kind="learning_strip")
    points = load_npz(str(FIXTURES / PLAIN / "boundary.npz"), LEARNING["learning_strip"])
    epochs = arrays["snapshot_epochs"].tolist()
    assert epochs == [1, 2, 3, 5, 6, 8, 11, 15]  # the fixture's 15 epochs, 10 asked for
    fig = plots.learning_strip_figure(arrays, points, title="t")
    panels = [t for t in _texts(fig) if t.startswith("epoch ")]
    assert panels == [f"epoch {e}" for e in epochs]
    assert "diverged" not in _texts(fig)
    assert _is_png(plots.learning_strip(arrays, points))


def test_a_long_strip_shows_thirty_frames_with_the_first_and_last():
    assert plots.strip_frames(list(range(1, 11))) == list(range(10))
    shown = plots.strip_frames(list(range(1, 101)))
    assert len(shown) == plots.MOST_FRAMES and shown[0] == 0 and shown[-1] == 99
    assert shown == sorted(set(shown))


def test_a_diverged_frame_is_blank_with_a_word_not_a_crash():
    arrays = learning()
    frames = arrays["snapshot_proba"].copy()
    frames[-2:] = np.nan  # the run diverged near its end
    arrays["snapshot_proba"] = frames
    fig = plots.learning_strip_figure(arrays)
    assert _texts(fig).count("diverged") == 2
    assert _is_png(plots.learning_strip(arrays))
    # the network's output is the last frame: diverged too; NaN weights draw no line
    arrays["kernel_2"] = np.full_like(arrays["kernel_2"], np.nan)
    arrays["hidden_2"] = np.full_like(arrays["hidden_2"], np.nan)
    fig, drawn = plots.network_figure(arrays)
    assert "diverged" in _texts(fig)
    n1 = len(drawn["units"][0]) * len(drawn["units"][1])
    n2 = len(drawn["units"][1]) * len(drawn["units"][2])
    assert (drawn["widths"][n1 : n1 + n2] == 0).all()
    assert _is_png(plots.network(arrays)) and _is_png(plots.weights(arrays))
    for key in ("kernel_1", "kernel_3"):
        arrays[key] = np.full_like(arrays[key], np.nan)
    assert "diverged" in _texts(plots.weights_figure(arrays))


# --- the network, as TensorFlow Playground draws it -----------------------------------


def test_link_styles_width_follows_abs_weight_and_colour_its_sign():
    widths, colours = plots.link_styles(np.array([0.5, -1.0, 0.25, np.nan, 0.0]))
    assert widths.tolist() == pytest.approx([2.0, 4.0, 1.0, 0.0, 0.0])
    assert colours[:3] == [plots.BLUE, plots.ORANGE, plots.BLUE]
    widths, _ = plots.link_styles(np.array([0.5, -1.0]), largest=2.0)
    assert widths.tolist() == pytest.approx([1.0, 2.0])


def test_the_network_draws_every_link_as_wide_as_its_weight():
    arrays = learning(kind="network")
    fig, drawn = plots.network_figure(arrays)
    assert drawn["units"] == [[0, 1], list(range(8)), list(range(8)), [0]]
    assert drawn["more"] == [0, 0, 0, 0]
    expected = np.concatenate(
        [
            arrays[f"kernel_{layer}"].T.ravel()  # for each unit, every link into it
            for layer in (1, 2, 3)
        ]
    )
    widths, colours = drawn["widths"], drawn["colours"]
    assert len(widths) == len(expected) == 2 * 8 + 8 * 8 + 8
    ratio = plots.LINK_WIDTH / np.abs(expected).max()
    assert widths / np.abs(expected) == pytest.approx(ratio)
    assert colours == [plots.BLUE if w > 0 else plots.ORANGE for w in expected]
    # the picture's lines are those links
    lines = fig.axes[0].collections[0]
    assert lines.get_linewidths() == pytest.approx(widths)
    assert "x1" in _texts(fig) and "x2" in _texts(fig)
    assert any("2 → 8 → 8 → 1" in t for t in _texts(fig))
    assert _is_png(plots.network(arrays))


def test_a_wide_layer_shows_its_strongest_units_and_how_many_more():
    rng = np.random.RandomState(0)
    into, out = rng.normal(size=(8, 32)) * 0.01, rng.normal(size=(32, 4)) * 0.01
    into[:, [3, 30]] = 5.0  # two strong units
    shown = plots.shown_units(into, out)
    assert len(shown) == plots.MOST_UNITS
    assert {3, 30} <= set(shown) and shown == sorted(shown)
    arrays = learning(kind="network")
    wide = {k: v for k, v in arrays.items() if not k.startswith(("kernel_", "hidden_"))}
    wide.update(
        kernel_1=rng.normal(size=(2, 32)).astype(np.float32),
        kernel_2=rng.normal(size=(32, 20)).astype(np.float32),
        kernel_3=rng.normal(size=(20, 1)).astype(np.float32),
        hidden_1=rng.normal(size=(60, 60, 32)).astype(np.float16),
        hidden_2=rng.normal(size=(60, 60, 20)).astype(np.float16),
    )
    fig, drawn = plots.network_figure(wide)
    assert drawn["more"] == [0, 16, 4, 0]
    assert "+16 more" in _texts(fig) and "+4 more" in _texts(fig)
    assert len(drawn["widths"]) == 2 * 16 + 16 * 16 + 16


# --- the weights' histogram: L1's zeros -----------------------------------------------


def test_the_weight_histogram_counts_the_weights_near_zero():
    arrays = learning(REGULARIZED, kind="weights")
    assert plots.near_zero(np.array([0.0, 5e-4, -9e-4, 1e-3, -0.5, np.nan])) == 3
    total = sum(arrays[f"kernel_{i}"].size for i in (1, 2, 3))
    before = sum(plots.near_zero(arrays[f"kernel_{i}"]) for i in (1, 2, 3))
    fig = plots.weights_figure(arrays)
    assert f"{before} of {total} with |w| < 0.001" in fig.axes[0].get_title(loc="left")
    sparse = dict(arrays)
    kernel = arrays["kernel_2"].copy()
    kernel[:4] = 1e-5  # L1's doing: half of layer 2 switched off
    sparse["kernel_2"] = kernel
    zeros = plots.near_zero(kernel)
    assert zeros >= 32
    fig = plots.weights_figure(sparse)
    after = before - plots.near_zero(arrays["kernel_2"]) + zeros
    assert f"{after} of {total} with |w| < 0.001" in fig.axes[0].get_title(loc="left")
    legend = [t.get_text() for t in fig.axes[0].get_legend().get_texts()]
    assert legend[1] == f"hidden 2 (8×8): {zeros} near 0" and legend[2].startswith("output (8×1)")


# --- learning curves with the best epoch and where early stopping stopped ------------


def test_learning_curves_mark_the_best_epoch_and_the_stop():
    from dlexp.runs import folder as runs

    history = runs.read_run(FIXTURES / PLAIN).history
    fig = plots.learning_curves_figure(history, best_epoch=9, stopped_early=True)
    legend = [t.get_text() for t in fig.axes[0].get_legend().get_texts()]
    assert legend == ["train", "validation", "best epoch 9", "stopped: patience ran out"]
    lines = [ln for ln in fig.axes[1].get_lines() if ln.get_linestyle() in ("--", ":")]
    assert [ln.get_xdata()[0] for ln in lines] == [9, 15]  # every chart has both
    fig = plots.learning_curves_figure(history, best_epoch=15)
    legend = [t.get_text() for t in fig.axes[0].get_legend().get_texts()]
    assert legend == ["train", "validation", "best epoch 15"]
    assert _is_png(plots.learning_curves(history, title="plain"))  # as before, too


# --- every batch's loss ---------------------------------------------------------------


def test_batches_fall_within_their_epoch():
    x = plots.batch_x([1, 1, 1, 2, 2, 3])
    assert x.tolist() == pytest.approx([1 / 3, 2 / 3, 1.0, 1.5, 2.0, 3.0])
    arrays = learning(kind="batch_loss")
    x = plots.batch_x(arrays["batch_epoch"])
    assert len(x) == len(arrays["batch_loss"]) == 15 * 6  # 180 points, batches of 32
    assert x.max() == 15 and x.min() == pytest.approx(1 / 6) and (np.diff(x) > 0).all()
    one = plots.batch_loss([("plain, batch 32", arrays)])
    both = plots.batch_loss([("a", arrays), ("b", learning(REGULARIZED, "batch_loss"))])
    assert _is_png(one) and _is_png(both)


# --- the page --------------------------------------------------------------------------


def test_the_page_shows_how_runs_with_learning_npz_learned(runs_dir, tmp_path):
    rep = report.build(runs_dir)
    page, _ = report.write_html(rep, tmp_path / "out")
    text = page.read_text()
    assert not any("learning.npz" in w for w in rep.warnings)
    for run in (PLAIN, REGULARIZED):
        for alt in (
            f"the decision boundary of {run} epoch by epoch",
            f"the network of {run}",
            f"histogram of the kernel weights of {run}",
            f"the loss of every batch of {run}",
        ):
            assert alt in text, alt
        for stem in ("strip", "network", "weights", "batches"):
            assert f"img/{stem}-{run}-" in text
    for run in WITHOUT:
        assert f"img/strip-{run}" not in text and f"img/network-{run}" not in text
        assert f"of the kernel weights of {run}" not in text
    # in the comparison area, beside the overlaid learning curves
    compare = text[text.index("<summary id='compare'>") : text.index("Search tinygrid: still")]
    assert "img/overlay-runs-" in compare and "img/overlay-batches-" in compare
    assert "no picture of" not in text
    for img in (tmp_path / "out" / "img").glob("*.png"):
        assert _is_png(img.read_bytes())
    _, again = report.write_html(report.build(runs_dir), tmp_path / "out")
    assert again == 0  # the new pictures are cached like the others


def test_a_searchs_best_trials_get_their_batches_overlaid(runs_dir, tmp_path):
    for trial in ("t000-r0", "t002-r0"):
        shutil.copy(FIXTURES / PLAIN / "learning.npz", runs_dir / "tinygrid" / "trials" / trial)
    page, _ = report.write_html(report.build(runs_dir), tmp_path / "out")
    text = page.read_text()
    assert "img/search-tinygrid-batches-" in text
    assert "the decision boundary of tinygrid/t000 epoch by epoch" in text
    assert "the decision boundary of tinygrid/t001 epoch by epoch" not in text


def test_a_damaged_learning_npz_is_a_warning_not_a_crash(runs_dir, tmp_path):
    plain, reg = runs_dir / PLAIN, runs_dir / REGULARIZED
    npz = plain / "learning.npz"
    npz.write_bytes(npz.read_bytes()[:500])  # cut short: not a zip file
    # a readable index, but frames that would need unpickling to be read
    with zipfile.ZipFile(reg / "learning.npz") as z:
        members = {name: z.read(name) for name in z.namelist()}
    with zipfile.ZipFile(reg / "learning.npz", "w") as z:
        for name, data in members.items():
            with z.open(name, "w") as f:
                if name == "snapshot_proba.npy":
                    np.save(f, np.array([object()], dtype=object), allow_pickle=True)
                else:
                    f.write(data)
    result = CliRunner().invoke(cli, ["report", str(runs_dir), "--out", str(tmp_path / "o")])
    assert result.exit_code == 0, result.output
    assert f"{PLAIN}: learning.npz is damaged (BadZipFile)" in result.stderr
    assert "not drawn" in result.stderr
    text = (tmp_path / "o" / "index.html").read_text()
    assert text.count("learning.npz is damaged (BadZipFile)") == 2  # the list, the section
    assert f"img/strip-{PLAIN}" not in text and f"curves of {PLAIN}" in text
    assert f"no picture of the decision boundary of {REGULARIZED} epoch by epoch" in text
    assert f"img/network-{REGULARIZED}" in text  # what could be drawn still is


def test_a_learning_npz_without_weights_or_frames_draws_what_it_has(runs_dir, tmp_path):
    arrays = learning()
    only_batches = {k: arrays[k] for k in ("batch_loss", "batch_epoch")}
    np.savez(runs_dir / PLAIN / "learning.npz", **only_batches)
    np.savez(runs_dir / REGULARIZED / "learning.npz")  # empty: nothing to draw
    rep = report.build(runs_dir)
    page, _ = report.write_html(rep, tmp_path / "out")
    text = page.read_text()
    assert f"the loss of every batch of {PLAIN}" in text
    assert f"img/strip-{PLAIN}" not in text and f"img/network-{PLAIN}" not in text
    assert f"img/strip-{REGULARIZED}" not in text and f"img/batches-{REGULARIZED}" not in text
    assert "img/overlay-batches-" not in text  # one batch-logged run: nothing to overlay
    assert not rep.warnings or not any("learning.npz" in w for w in rep.warnings)
