"""The honest winner of a search (dlexp.report.winner): its validation score beside its
test score, how much of its lead over the median trial is within noise, and
``dlexp search --refit``.

The logic is tested on search folders made by hand from the fixture's trial folders
(only metrics.json and run.json differ), read as ``dlexp report`` reads them; one tiny
real search is refitted end to end."""

import json
import math
import shutil
import statistics
import subprocess
import sys

import pytest
import yaml
from helpers import FIXTURES, invoke

from dlexp import report
from dlexp.report import winner as winner_mod
from dlexp.report.significance import t_critical


def make_search(root, trials: dict, cv: bool = False, statuses: dict | None = None):
    """A search folder ``root/w`` whose trials each hold runs {run suffix: (val_accuracy,
    test_accuracy)}; suffix '' for a trial of one run. ``statuses``: a trial's run.json
    status, when not completed."""
    source = FIXTURES / "tinygrid"
    folder = root / "w"
    folder.mkdir(parents=True)
    n = max(len(runs) for runs in trials.values())
    spec = yaml.safe_load((source / "search.yaml").read_text())
    spec["name"] = "w"
    spec["search"]["repeats"] = 1 if cv else n
    if cv:
        spec["search"]["cv"] = n
    (folder / "search.yaml").write_text(yaml.safe_dump(spec))
    shutil.copy(source / "search.json", folder / "search.json")
    for trial, runs in trials.items():
        for suffix, (val, test) in runs.items():
            target = folder / "trials" / f"{trial}{suffix}"
            shutil.copytree(source / "trials" / "t000-r0", target)
            metrics = json.loads((target / "metrics.json").read_text())
            metrics["val"]["accuracy"], metrics["test"]["accuracy"] = val, test
            (target / "metrics.json").write_text(json.dumps(metrics))
            run = json.loads((target / "run.json").read_text())
            run["id"], run["seed"] = target.name, 7 + len(suffix)
            run["status"] = (statuses or {}).get(trial, "completed")
            (target / "run.json").write_text(json.dumps(run))
    return folder


def repeats(values: list[tuple[float, float]], kind: str = "r") -> dict:
    return {f"-{kind}{i}": v for i, v in enumerate(values)}


def winner_of(folder):
    rep = report.build(folder)
    return winner_mod.winner(rep.searches["w"]), rep


def test_one_seed_gives_the_lead_as_an_upper_estimate(tmp_path):
    folder = make_search(
        tmp_path,
        {
            "t000": {"": (0.90, 0.86)},
            "t001": {"": (0.97, 0.95)},
            "t002": {"": (0.80, 0.79)},
        },
    )
    best, _ = winner_of(folder)
    assert best.trial == "t001" and best.trials == 3
    assert best.scores == {"val_accuracy": 0.97, "test_accuracy": 0.95}
    assert best.median_trial == "t000" and best.lead == pytest.approx(0.07)
    assert best.noise is None and best.noise_share is None and best.within_noise is None
    first, second = best.lines()
    assert first == "best trial t001: val_accuracy 0.970, test_accuracy 0.950"
    assert second.startswith("lead over the median trial (t000) 0.070; the noise cannot")
    assert "one seed" in second and "upper estimate" in second


def test_paired_repeats_give_the_noise_of_the_lead(tmp_path):
    # the winner leads the median trial by 0.02 on average, by 0.01 to 0.03 seed by seed
    best_val = [0.93, 0.94, 0.92, 0.93, 0.95, 0.91]
    leads = [0.02, 0.03, 0.01, 0.02, 0.03, 0.01]
    close = [0.004, -0.006, 0.01, -0.002, 0.003, 0.0]  # within noise of the best
    folder = make_search(
        tmp_path,
        {
            "t000": repeats([(v, 0.9) for v in best_val]),
            "t001": repeats([(v - d, 0.9) for v, d in zip(best_val, close, strict=True)]),
            "t002": repeats([(v - d, 0.88) for v, d in zip(best_val, leads, strict=True)]),
            "t003": repeats([(v - 0.1, 0.8) for v in best_val]),
        },
    )
    best, rep = winner_of(folder)
    assert best.trial == "t000" and best.median_trial == "t002"  # 4 trials: the third
    assert best.lead == pytest.approx(0.02)
    # t(5) * sd / sqrt(6) of the paired differences, by hand: sd = sqrt(0.00008)
    assert best.noise == pytest.approx(2.571 * math.sqrt(0.00008) / math.sqrt(6), rel=1e-3)
    assert best.noise_share == pytest.approx(best.noise / 0.02)
    assert best.noise_from == "paired difference over 6 seeds"
    # the count is the report's own marks (a paired t-test): t001 alone is within noise
    marked = [e.id for e in rep.searches["w"].entries if e.within_noise and not e.best]
    assert marked == ["w/t001"] and best.within_noise == 1
    lines = best.lines()
    assert lines[1] == (
        "lead over the median trial (t002) 0.020, noise (95% half-width of the paired "
        "difference over 6 seeds) 0.009: 47% of the lead is within noise"
    )
    assert lines[2].startswith("1 other trials within noise of the best")


def test_folds_pair_as_seeds_do_and_few_of_them_count_nothing(tmp_path):
    folder = make_search(
        tmp_path,
        {
            "t000": repeats([(0.95, 0.9), (0.93, 0.9), (0.94, 0.9)], "f"),
            "t001": repeats([(0.90, 0.9), (0.92, 0.9), (0.88, 0.9)], "f"),
        },
        cv=True,
    )
    best, _ = winner_of(folder)
    diffs = [0.05, 0.01, 0.06]
    expected = t_critical(2) * statistics.stdev(diffs) / math.sqrt(3)
    assert best.noise == pytest.approx(expected) and best.cv
    assert best.noise_from == "paired difference over 3 folds"
    assert best.noise_share == 1.0  # 4.3 standard errors: more than the lead
    assert best.within_noise is None
    assert "the whole lead is within noise" in best.lines()[1]
    assert best.lines()[2] == (
        "trials within noise of the best: not counted, 3 folds are too few (search.cv: 6 or more)"
    )


def test_runs_that_do_not_pair_give_the_noise_of_the_seed_spread(tmp_path):
    # racing seeds: the two trials share no run name, so nothing pairs
    folder = make_search(
        tmp_path,
        {
            "t000": {"-r0": (0.95, 0.9), "-r1": (0.93, 0.9), "-r2": (0.94, 0.9)},
            "t001": {"-r3": (0.90, 0.9), "-r4": (0.86, 0.9)},
        },
    )
    best, _ = winner_of(folder)
    se = math.sqrt(
        statistics.variance([0.95, 0.93, 0.94]) / 3 + statistics.variance([0.9, 0.86]) / 2
    )
    assert best.noise == pytest.approx(t_critical(1) * se)
    assert best.noise_from == "seed spread over 3 and 2 seeds"


def test_a_trial_that_did_not_complete_never_wins(tmp_path):
    folder = make_search(
        tmp_path,
        {"t000": {"": (0.99, 0.99)}, "t001": {"": (0.9, 0.88)}, "t002": {"": (0.8, 0.7)}},
        statuses={"t000": "pruned"},
    )
    best, _ = winner_of(folder)
    assert best.trial == "t001" and best.trials == 2 and best.median_trial == "t002"


def test_no_scored_trial_no_winner_and_one_trial_no_lead(tmp_path):
    folder = make_search(tmp_path / "a", {"t000": {"": (0.9, 0.8)}}, statuses={"t000": "failed"})
    assert winner_of(folder)[0] is None
    alone, _ = winner_of(make_search(tmp_path / "b", {"t000": {"": (0.9, 0.8)}}))
    assert alone.lead is None and alone.lines()[1] == "one scored trial: no lead to weigh"


def test_the_report_states_the_winner_in_its_table_json_and_page(tmp_path):
    make_search(
        tmp_path / "runs",
        {"t000": {"": (0.90, 0.86)}, "t001": {"": (0.97, 0.95)}, "t002": {"": (0.8, 0.7)}},
    )
    table = invoke("report", tmp_path / "runs", "--out", tmp_path / "page")
    assert table.exit_code == 0, table.output
    assert "w: best trial t001: val_accuracy 0.970, test_accuracy 0.950" in table.stdout
    assert "so the lead is an upper estimate" in table.stdout
    result = invoke("report", tmp_path / "runs", "--format", "json")
    (search,) = [r for r in json.loads(result.stdout) if r["kind"] == "search"]
    assert search["winner"]["trial"] == "t001" and search["winner"]["median_trial"] == "t000"
    assert search["winner"]["scores"]["test_accuracy"] == 0.95
    assert search["winner"]["text"][0].startswith("best trial t001")
    page = (tmp_path / "page" / "index.html").read_text()
    assert page.count("best trial t001: val_accuracy 0.970, test_accuracy 0.950") == 1
    assert "lead over the median trial (t000) 0.070" in page


def test_the_report_with_a_winner_imports_no_framework(tmp_path):
    make_search(tmp_path / "runs", {"t000": {"": (0.9, 0.86)}, "t001": {"": (0.97, 0.95)}})
    code = (
        "import sys\nfrom dlexp.cli import cli\n"
        f"try: cli(['report', {str(tmp_path / 'runs')!r}, '--no-html'])\n"
        "except SystemExit: pass\n"
        "heavy = [m for m in ('tensorflow', 'keras', 'jax') if m in sys.modules]\n"
        "print('HEAVY', heavy)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert "HEAVY []" in out.stdout and "best trial t001" in out.stdout


def test_refit_with_dry_run_is_refused(small, tmp_path):
    result = invoke("search", small, "--dry-run", "--refit", "--runs-dir", tmp_path)
    assert result.exit_code == 2
    assert "--refit: cannot be combined with --dry-run" in result.stderr


GRID = """
name: g
seed: 1
data: {kind: moons, n_samples: 200}
train: {epochs: 2, early_stopping: false}
search:
  objective: val_accuracy
  params:
    model.first_neuron: [4, 8]
"""


@pytest.mark.slow
def test_search_refit_trains_the_winner_and_reports_its_test(write, tmp_path):
    grid = write("g.yaml", GRID)
    runs = tmp_path / "runs"
    result = invoke("search", grid, "--refit", "--format", "json", "--runs-dir", runs)
    assert result.exit_code == 0, result.output
    document = json.loads(result.stdout)  # stdout holds the JSON alone
    winner, refit = document["winner"], document["refit"]
    assert winner["trial"] == document["best"]["trial"]
    assert set(winner["scores"]) == {"val_accuracy", "test_accuracy"}
    folder = runs / refit["id"]
    assert str(folder) == refit["path"] and refit["status"] == "completed"
    assert f"-g-{winner['trial']}-refit-" in refit["id"]  # as train --from --refit names it
    metrics = json.loads((folder / "metrics.json").read_text())
    assert "val" not in metrics and metrics["test"] == refit["test"]
    assert 0 <= refit["test"]["accuracy"] <= 1
    assert yaml.safe_load((folder / "config.yaml").read_text())["data"]["val_size"] == 0
    # a finished search refits again without training its trials, and says it in text
    again = invoke("search", grid, "--refit", "--runs-dir", runs, "-q")
    assert again.exit_code == 0, again.output
    assert f"best trial {winner['trial']}: val_accuracy" in again.stdout
    assert f"refit of {winner['trial']} on train+validation: test_" in again.stdout


@pytest.mark.slow
def test_search_refit_of_a_failed_search_refits_nothing(write, tmp_path):
    text = GRID.replace(
        "early_stopping: false", "early_stopping: false, optimizer: sgd, learning_rate: 1.0e+30"
    )
    runs = tmp_path / "runs"
    result = invoke(
        "search", write("g.yaml", text), "--refit", "--format", "json", "--runs-dir", runs
    )
    assert result.exit_code == 1
    document = json.loads(result.stdout)
    assert document["status"] == "failed" and document["refit"] is None
    assert document["winner"] is None
    assert "--refit: nothing refitted, the search ended failed" in result.stderr
    assert sorted(p.name for p in runs.iterdir()) == ["g"]  # no refit run folder


def test_the_python_api_gives_the_same_winner(tmp_path):
    import dlexp

    folder = make_search(tmp_path, {"t000": {"": (0.9, 0.86)}, "t001": {"": (0.97, 0.95)}})
    got = dlexp.Search(folder).winner
    assert got == winner_of(folder)[0].record() and got["trial"] == "t001"
