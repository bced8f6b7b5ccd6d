"""What a new user sees in an 80-column terminal: tables that keep every score whole,
noise marks that do not mislead, progress that says what it shows (issue 15)."""

import io
import json
import re
import shutil

import pytest
import yaml
from click.testing import CliRunner
from rich.console import Console

from dlexp import report
from dlexp.cli import cli, display
from dlexp.runs.folder import Metrics, Run, Status

SCORE = re.compile(r"\d\.\d{4} ± \d\.\d{4}")  # a search score, whole
TINYGRID = """name: tinygrid
seed: 7
data: {kind: moons, n_samples: 300}
train: {epochs: 8, learning_rate: 0.03, early_stopping: false}
search:
  objective: val_accuracy
  repeats: 2
  params:
    model.first_neuron: [4, 8]
    train.optimizer: [adam, {name: sgd, momentum: 0.9}]
"""


def _text(renderable, width: int) -> list[str]:
    console = Console(width=width, no_color=True, record=True, file=io.StringIO())
    console.print(renderable)
    return console.export_text().rstrip("\n").splitlines()


def _search_rows(runs_dir, write, trials: int = 4):
    """The fixture search's rows as dlexp search ranks them, with more searched keys
    than fit in 80 columns (the values of the last two invented, the same in every row
    but the first)."""
    from dlexp.search import spec as grid
    from dlexp.search.store import SearchStore

    spec = grid.load(write("tinygrid.yaml", TINYGRID))
    store = SearchStore(runs_dir / "tinygrid", spec)
    rows = store.ranked(store.rows())[:trials]
    for i, row in enumerate(rows):
        row["train.learning_rate"] = 0.03 if i else 0.001
        row["model.activation"] = "relu" if i else "tanh"
    keys = ["model.first_neuron", "train.optimizer", "train.learning_rate", "model.activation"]
    return rows, keys, store


@pytest.mark.parametrize("width", [60, 80])
def test_search_table_keeps_every_score_and_key_whole(runs_dir, write, width):
    from dlexp.search.engine import SearchOutcome
    from dlexp.search.store import SearchStatus

    rows, keys, store = _search_rows(runs_dir, write)
    console = Console(width=width, no_color=True, record=True, file=io.StringIO())
    outcome = SearchOutcome(SearchStatus.ALREADY_FINISHED, store, rows)
    display.search_summary(console, outcome, rows, keys, "val_accuracy", 10)
    lines = [line for line in console.export_text().splitlines() if "│" in line or "┃" in line]
    text = "\n".join(lines)
    assert all(len(line) <= width for line in lines), text
    assert "…" not in text
    assert len(SCORE.findall(text)) == len(rows)  # 0.9271 ± 0.0147, never 0.92…
    for row in rows:
        assert f"{row['score']:.4f} ± {row['score_std']:.4f}" in text
    # the values that set the rows apart are all there, whole
    assert "sgd(momentum=0.9)" in text.replace("│", "").replace("\n", "").replace(" ", "")
    for value in ("0.001", "tanh", "adam"):
        assert value in text


def test_search_table_breaks_long_headers_before_merging_the_keys(runs_dir, write):
    # configs/grid.yaml's five searched keys: their headers are wider than their values
    rows, _, _ = _search_rows(runs_dir, write)
    keys = [
        "model.first_neuron",
        "model.hidden_layers",
        "model.kernel_initializer",
        "train.optimizer",
        "model.activation",
    ]
    for i, row in enumerate(rows):
        row.update({"model.hidden_layers": i % 3, "model.kernel_initializer": "normal"})
        row["train.optimizer"] = "adam" if i % 2 else "nadam"
        row.pop("score_std")
    lines = _text(display.search_table(rows, keys, "val_accuracy", width=80), 80)
    header = " ".join(lines[:2])
    assert "settings" not in header and "kernel_" in header and "initializer" in lines[1]
    assert all(len(line) <= 80 for line in lines) and "…" not in "\n".join(lines)
    assert [line.split("│")[3].strip() for line in lines[3:]] == ["normal"] * len(rows)


def test_search_summary_says_keys_the_shown_trials_share_once(runs_dir, write):
    from dlexp.search import spec as grid
    from dlexp.search.engine import SearchOutcome
    from dlexp.search.store import SearchStatus, SearchStore

    spec = grid.load(write("tinygrid.yaml", TINYGRID))
    store = SearchStore(runs_dir / "tinygrid", spec)
    rows = store.rows()
    ranked = store.ranked(rows)
    console = Console(width=80, no_color=True, record=True, file=io.StringIO())
    outcome = SearchOutcome(SearchStatus.ALREADY_FINISHED, store, rows)
    display.search_summary(
        console, outcome, ranked, [p.key for p in spec.params], spec.objective, 2
    )
    text = console.export_text()
    # the two best (t000, t002) differ in first_neuron only: adam is said once, above
    assert "same in the 2 best trials: train.optimizer=adam" in text
    assert len(SCORE.findall(text)) == 2 and "…" not in text


@pytest.mark.parametrize("width", [60, 80])
def test_report_table_at_narrow_widths_keeps_scores_and_settings(runs_dir, width):
    rep = report.build(runs_dir)
    lines = _text(report.table(rep, width=width), width)
    text = "\n".join(lines)
    assert all(len(line) <= width for line in lines), text
    assert "…" not in text
    assert "val acc" in lines[0] and "test acc" in lines[0]  # the test column stays
    column = [h.strip() for h in lines[0].split("┃")].index("settings")
    flat = "".join(line.split("│")[column].strip() for line in lines[2:])
    # t000 and t002 differ in first_neuron alone: both values are readable
    assert "first_neuron=4" in flat and "first_neuron=8" in flat
    assert "optimizer=sgd(momentum=0.9)" in flat
    for e in rep.entries:
        for split in ("val", "test"):
            value = e.metrics.get(f"{split}_accuracy")
            if value is not None:
                assert f"{value:.3f}" in text


def test_report_honours_columns_when_piped(runs_dir, monkeypatch):
    monkeypatch.setenv("COLUMNS", "80")
    result = CliRunner().invoke(cli, ["report", str(runs_dir), "--no-html"])
    assert result.exit_code == 0, result.output
    table = [line for line in result.stdout.splitlines() if "│" in line or "┃" in line]
    assert table and all(len(line) <= 80 for line in table)
    assert "test acc" in result.stdout and "first_neuron=8" in result.stdout
    monkeypatch.delenv("COLUMNS")
    wide = CliRunner().invoke(cli, ["report", str(runs_dir), "--no-html"])
    assert "acc train val test" in wide.stdout  # piped without COLUMNS: rows kept whole


def _noise_search(root, values: dict[str, list[float]], cv: bool = False):
    """A search folder whose trials t000.. have these validation accuracies, one per
    repeat, made from the fixture's trial folders (only metrics.json differs)."""
    source = root.parent / "runs" / "tinygrid"
    folder = root / "noisy"
    folder.mkdir(parents=True)
    n = len(next(iter(values.values())))
    spec = yaml.safe_load((source / "search.yaml").read_text())
    spec["name"], spec["search"]["repeats"] = "noisy", n
    (folder / "search.yaml").write_text(yaml.safe_dump(spec))
    shutil.copy(source / "search.json", folder / "search.json")
    for trial, accuracies in values.items():
        for r, accuracy in enumerate(accuracies):
            target = folder / "trials" / f"{trial}-r{r}"
            shutil.copytree(source / "trials" / "t000-r0", target)
            metrics = json.loads((target / "metrics.json").read_text())
            metrics["val"]["accuracy"] = accuracy
            (target / "metrics.json").write_text(json.dumps(metrics))
            run = json.loads((target / "run.json").read_text())
            run["id"], run["seed"] = f"{trial}-r{r}", 7 + r
            (target / "run.json").write_text(json.dumps(run))
    return folder


def test_three_seeds_mark_nothing_and_say_so_once(runs_dir, tmp_path):
    # t001 is a little worse on every seed; t002 (adadelta: 0.651 ± 0.153) is much
    # worse but so spread that a 3-seed t-test cannot tell it from the best
    _noise_search(
        tmp_path / "s",
        {
            "t000": [0.93, 0.94, 0.92],
            "t001": [0.91, 0.925, 0.90],
            "t002": [0.80, 0.50, 0.65],
        },
    )
    rep = report.build(tmp_path / "s")
    info = rep.searches["noisy"]
    trials = {e.id: e for e in info.entries}
    assert trials["noisy/t000"].best
    assert trials["noisy/t002"].within_noise is not True  # the worst is never "≈ best"
    assert all(e.within_noise is None for e in trials.values())
    record = next(r for r in report.records(rep) if r["kind"] == "search")
    assert record["noise_note"].startswith("3 seeds are too few to tell trials apart")
    page, _ = report.write_html(rep, tmp_path / "out")
    html = page.read_text()
    assert html.count("3 seeds are too few to tell trials apart") == 1
    assert " ≈" not in html


def test_noise_marks_are_monotone_in_the_mean(runs_dir, tmp_path):
    from dlexp.report import significance as matters

    best = [0.93, 0.94, 0.92, 0.93, 0.95, 0.91]
    close = [b - d for b, d in zip(best, [0.004, -0.006, 0.01, -0.002, 0.003, 0.0], strict=True)]
    steady = [b - d for b, d in zip(best, [0.02, 0.015, 0.02, 0.018, 0.022, 0.017], strict=True)]
    spread = [0.05, 0.6, 0.02, 0.5, 0.01, 0.3]
    wide = [b - d for b, d in zip(best, spread, strict=True)]
    _noise_search(tmp_path / "s", {"t000": best, "t001": close, "t002": steady, "t003": wide})
    trials = {e.id: e for e in report.build(tmp_path / "s").searches["noisy"].entries}
    assert trials["noisy/t000"].within_noise and trials["noisy/t001"].within_noise
    assert trials["noisy/t002"].within_noise is False  # steadily worse: told apart
    assert trials["noisy/t003"].within_noise is False  # worse still: not "≈ best"
    assert not matters.told_apart(spread)  # though alone, the t-test would call it noise


def test_search_accepts_quiet(write, tmp_path):
    grid_file = write("g.yaml", TINYGRID)
    for flag in ("-q", "--quiet"):
        result = CliRunner().invoke(
            cli, ["search", str(grid_file), "--dry-run", flag, "--runs-dir", str(tmp_path)]
        )
        assert result.exit_code == 0, result.output
        assert "4 trials x 2 repeats" in result.stdout


def test_train_bar_labels_train_and_validation():
    row = {"loss": 0.2798, "accuracy": 0.9, "val_loss": 0.2687, "val_accuracy": 0.91}
    text = display.epoch_logs(row)
    assert "loss 0.2798 val 0.2687" in text and "acc 0.900 val 0.910" in text
    assert "/" not in text
    assert display.epoch_logs({"loss": 0.5}) == "loss 0.5000"
    regression = {"loss": 0.31, "r2": 0.7, "rmse": 0.2, "val_loss": 0.4, "val_rmse": 0.25}
    assert display.epoch_logs(regression) == "loss 0.3100 val 0.4000  rmse 0.2000 val 0.2500"


def test_no_best_epoch_without_validation(tmp_path):
    from dlexp.train import fit as training

    rows = [{"epoch": e, "loss": loss} for e, loss in ((1, 0.5), (2, 0.3), (3, 0.4))]
    cfg = {"train": {"early_stopping": False}}
    assert training.best_epoch(rows, cfg) is None  # the training loss chooses nothing
    with_val = [{**r, "val_loss": v} for r, v in zip(rows, (0.6, 0.2, 0.3), strict=True)]
    assert training.best_epoch(with_val, cfg) == 2
    metrics = Metrics(params=3, epochs_run=3, fit_seconds=0.5, train={"loss": 0.4})
    metrics.test = {"loss": 0.4}
    outcome = training.Outcome(Run(tmp_path), Status.COMPLETED, metrics)
    console = Console(width=200, no_color=True, record=True, file=io.StringIO())
    display.train_summary(console, outcome)
    text = console.export_text()
    assert ", best epoch" not in text
    assert "no best epoch (no validation split: the last epoch's model is kept)" in text
