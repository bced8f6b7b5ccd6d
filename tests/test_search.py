"""dlexp search: keras-tuner's loop with dlexp's oracle, resume, workers, and real searches."""

import csv
import json
import signal
import subprocess
import sys
import time

import pytest
from click.testing import CliRunner

from dlexp import config, grid, runs, search, training
from dlexp.cli import cli
from dlexp.errors import ConfigError

SMALL = """
name: small
seed: 1
data: {kind: moons, n_samples: 240}
train: {epochs: 2, early_stopping: false}
search:
  objective: val_accuracy
  params:
    model.first_neuron: [4, 8, 16]
    train.optimizer: [adam, {name: sgd, momentum: 0.9}]
"""


@pytest.fixture
def small(write):
    return write("small.yaml", SMALL)


class FakeTrainer:
    """Stands in for training (as keras-tuner's own grid tests replace run_trial):
    writes a finished run folder whose score is a function of the point."""

    def __init__(self, stop_after=None):
        self.trained, self.stop_after = [], stop_after

    def __call__(self, store, name, cfg, data_cache, on_epoch=None, weights=None,
                 initial_epoch=0):
        if self.stop_after is not None and len(self.trained) >= self.stop_after:
            raise KeyboardInterrupt
        self.trained.append(name)
        run = runs.Run(store.trials / name)
        run.path.mkdir(parents=True, exist_ok=True)
        score = cfg["model"]["first_neuron"] / 100 + (cfg["seed"] % 7) / 1000
        run.write_text("config.yaml", config.dump(cfg))
        metrics = {"epochs_run": 2, "best_epoch": 2, "params": 1,
                   **{s: {"loss": 1 - score, "accuracy": score} for s in ("train", "val", "test")}}
        run.write_json("metrics.json", metrics)
        run.write_json("run.json", {"status": "completed", "duration_s": 0.01})
        return training.Outcome(run, "completed", metrics)


@pytest.fixture
def fake(monkeypatch):
    trainer = FakeTrainer()
    monkeypatch.setattr(search.SearchStore, "train", lambda self, *a, **k: trainer(self, *a, **k))
    return trainer


def read_results(folder):
    with open(folder / "results.csv") as f:
        return list(csv.DictReader(f))


def test_every_point_once_with_results_and_best(small, tmp_path, fake):
    spec = grid.load(small)
    out = search.Search(spec, tmp_path).run()
    assert out.status == "finished" and out.exit_code == 0
    assert fake.trained == [f"t{i:03d}" for i in range(6)]
    rows = read_results(tmp_path / "small")
    assert [r["trial"] for r in rows] == [f"t{i:03d}" for i in range(6)]
    assert rows[1]["train.optimizer"] == '{"name": "sgd", "momentum": 0.9}'
    assert rows[4]["model.first_neuron"] == "16" and float(rows[4]["score"]) == 0.161
    best = json.loads((tmp_path / "small" / "best.json").read_text())
    assert best["trial"] == "t004" and best["params"]["model.first_neuron"] == 16
    assert (tmp_path / "small" / "search.yaml").exists()
    assert json.loads((tmp_path / "small" / "search.json").read_text())["status"] == "finished"


def test_resume_after_interruption_skips_finished_points(small, tmp_path, monkeypatch):
    first = FakeTrainer(stop_after=2)
    monkeypatch.setattr(search.SearchStore, "train", lambda s, *a, **k: first(s, *a, **k))
    spec = grid.load(small)
    out = search.Search(spec, tmp_path).run()
    assert out.status == "interrupted" and out.exit_code == 130
    assert len(read_results(tmp_path / "small")) == 2
    second = FakeTrainer()
    monkeypatch.setattr(search.SearchStore, "train", lambda s, *a, **k: second(s, *a, **k))
    out = search.Search(grid.load(small), tmp_path).run()
    assert out.status == "finished" and out.trained == 4
    assert second.trained == ["t002", "t003", "t004", "t005"]
    again = search.Search(grid.load(small), tmp_path).run()
    assert again.status == "already finished" and again.exit_code == 0
    assert second.trained == ["t002", "t003", "t004", "t005"]


def test_changed_grid_is_refused_and_overwrite_starts_over(small, tmp_path, fake, write):
    search.Search(grid.load(small), tmp_path).run()
    changed = write("small.yaml", small.read_text().replace("[4, 8, 16]", "[4, 8]"))
    with pytest.raises(ConfigError, match=r"the grid changed since the search .* began "
                                          r"\(search.params.model.first_neuron: was \[4, 8, 16\]"):
        search.Search(grid.load(changed), tmp_path).run()
    out = search.Search(grid.load(changed), tmp_path).run(overwrite=True)
    assert out.status == "finished" and len(out.rows) == 4


def test_repeats_give_mean_and_std(write, tmp_path, fake):
    g = write("rep.yaml", SMALL.replace("  objective: val_accuracy",
                                        "  objective: val_accuracy\n  repeats: 3"))
    out = search.Search(grid.load(g), tmp_path).run()
    assert fake.trained[:3] == ["t000-r0", "t000-r1", "t000-r2"]
    row = read_results(tmp_path / "small")[0]
    # seeds 1, 2, 3: scores 0.041, 0.042, 0.043
    assert float(row["score"]) == pytest.approx(0.042)
    assert float(row["score_std"]) == pytest.approx(0.001)
    assert row["runs"] == "trials/t000-r0;trials/t000-r1;trials/t000-r2"
    assert out.status == "finished"


def test_planned_oracle_keeps_every_worker_busy_and_never_idles(small, tmp_path):
    spec = grid.load(small)
    s = search.Search(spec, tmp_path)
    oracle = s._make_oracle(done={1}, chief=True)
    trials = [oracle.create_trial(f"worker{i}") for i in range(5)]
    assert all(t.status == "RUNNING" for t in trials)  # five points at once, no waiting
    indexes = [s.index[grid.point_key(s.space.decode(t.hyperparameters.values))]
               for t in trials]
    assert indexes == [0, 2, 3, 4, 5]  # point 1 was finished before
    assert oracle.create_trial("worker9").status == "STOPPED"  # nothing left: stop, not IDLE
    oracle.requeue("worker0")  # worker0 died: its point goes to the next asker
    again = oracle.create_trial("worker9")
    assert again.status == "RUNNING" and again.trial_id == trials[0].trial_id


@pytest.mark.parametrize("seed", [0, 5])
def test_random_points_are_keras_tuners_draws_fixed_by_the_seed(write, seed):
    g = write("r.yaml", SMALL.replace("  objective: val_accuracy",
                                      f"  objective: val_accuracy\n  tuner: random\n"
                                      f"  max_trials: 4\n  seed: {seed}"))
    spec = grid.load(g)
    a = search.planned_points(spec, search.Space(spec))
    b = search.planned_points(spec, search.Space(spec))
    assert a == b and len(a) == 4  # seed 0 too: keras-tuner alone would draw a random seed
    assert len({grid.point_key(p) for p in a}) == 4


def test_mixed_value_types_round_trip(write):
    g = write("m.yaml", SMALL.replace("[4, 8, 16]", "[4, 8]").replace(
        "train.optimizer: [adam, {name: sgd, momentum: 0.9}]",
        "model.dropout: [0, 0.25]\n    train.batch_size: [16, full]"))
    spec = grid.load(g)
    space = search.Space(spec)
    for point in spec.grid_points():
        assert space.decode(space.encode(point)) == point


def test_a_point_keras_refuses_is_a_failed_trial_not_a_crash(write, tmp_path):
    g = write("f.yaml", SMALL.replace("train.optimizer: [adam, {name: sgd, momentum: 0.9}]",
                                      "model.activation: [relu]"))
    spec = grid.load(g)
    s = search.Search(spec, tmp_path)
    original = training.prepare

    def refuse(cfg, data, weights=None):
        if cfg["model"]["first_neuron"] == 8:
            raise ConfigError("model: Keras refused this config: no")
        return original(cfg, data, weights)

    import dlexp.search as search_mod
    monkey = pytest.MonkeyPatch()
    monkey.setattr(search_mod.training, "prepare", refuse)
    try:
        out = s.run()
    finally:
        monkey.undo()
    statuses = {r["trial"]: r["status"] for r in out.rows}
    assert statuses == {"t000": "completed", "t001": "failed", "t002": "completed"}
    info = json.loads((tmp_path / "small" / "trials" / "t001" / "run.json").read_text())
    assert "Keras refused" in info["error"]
    again = search.Search(grid.load(g), tmp_path).run()
    assert again.status == "already finished"  # a failed trial is not retried forever


def test_a_second_chief_on_the_same_folder_is_refused(small, tmp_path, fake):
    first = search.SearchStore(tmp_path / "small", grid.load(small))
    first.open(overwrite=False)
    try:
        with pytest.raises(ConfigError, match="another dlexp search is running"):
            search.Search(grid.load(small), tmp_path).run()
    finally:
        first.close()


def test_dry_run_trains_nothing(small, tmp_path):
    result = CliRunner().invoke(cli, ["search", str(small), "--runs-dir", str(tmp_path / "runs"),
                                      "--dry-run", "--format", "json"])
    assert result.exit_code == 0, result.output
    plan = json.loads(result.stdout)
    assert plan["trials"] == 6 and len(plan["points"]) == 6
    assert plan["points"][1]["train.optimizer"] == {"name": "sgd", "momentum": 0.9}
    assert not (tmp_path / "runs").exists()


def test_bad_grid_on_the_cli(write, tmp_path):
    g = write("bad.yaml", SMALL.replace("[4, 8, 16]", "[4, eight]"))
    result = CliRunner().invoke(cli, ["search", str(g), "--runs-dir", str(tmp_path / "runs")])
    assert result.exit_code == 2
    assert "search.params.model.first_neuron[1]: expected a positive integer, got 'eight'" \
        in result.stderr
    assert "Traceback" not in result.output and not (tmp_path / "runs").exists()


# --- real searches -------------------------------------------------------------


@pytest.mark.slow
def test_real_search_end_to_end(small, tmp_path):
    result = CliRunner().invoke(cli, ["search", str(small), "--runs-dir", str(tmp_path),
                                      "--format", "json"])
    assert result.exit_code == 0, result.output
    record = json.loads(result.stdout)
    assert record["status"] == "finished" and len(record["trials"]) == 6
    folder = tmp_path / "small"
    for i in range(6):
        trial = folder / "trials" / f"t{i:03d}"
        assert {p.name for p in trial.iterdir()} >= {"config.yaml", "run.json", "history.csv",
                                                     "metrics.json", "model.keras"}
        info = json.loads((trial / "run.json").read_text())
        assert info["status"] == "completed"
        with open(trial / "history.csv") as f:
            assert len(list(csv.DictReader(f))) == 2
    rows = read_results(folder)
    best = json.loads((folder / "best.json").read_text())
    assert best["score"] == max(float(r["score"]) for r in rows)
    assert float(rows[0]["val_accuracy"]) == float(rows[0]["score"])


@pytest.mark.slow
def test_two_workers_finish_every_point_exactly_once(small, tmp_path):
    result = CliRunner().invoke(cli, ["search", str(small), "--runs-dir", str(tmp_path),
                                      "--workers", "2"])
    assert result.exit_code == 0, result.output
    folder = tmp_path / "small"
    assert len(read_results(folder)) == 6
    # keras-tuner's own record: one trial per point, each completed once
    trials = [json.loads(p.read_text()) for p in (folder / "tuner").glob("trial_*/trial.json")]
    assert len(trials) == 6 and all(t["status"] == "COMPLETED" for t in trials)
    assert len({json.dumps(t["hyperparameters"]["values"], sort_keys=True) for t in trials}) == 6
    # ...shared between the two workers
    workers = {json.loads(p.read_text())["worker"] for p in folder.glob("trials/*/run.json")}
    assert workers == {"local1", "local2"}
    # the same numbers as one process gives
    single = tmp_path / "single"
    CliRunner().invoke(cli, ["search", str(small), "--runs-dir", str(single)])
    strip = lambda rows: [{k: v for k, v in r.items() if k != "seconds"} for r in rows]  # noqa: E731
    assert strip(read_results(folder)) == strip(read_results(single / "small"))


@pytest.mark.slow
def test_resume_after_kill_9_equals_an_uninterrupted_search(write, tmp_path):
    g = write("slow.yaml", SMALL.replace("epochs: 2", "epochs: 150").replace("240", "600"))
    cmd = [sys.executable, "-m", "dlexp.cli", "search", str(g), "--runs-dir"]
    proc = subprocess.Popen(cmd + [str(tmp_path / "a")], stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
    trials = tmp_path / "a" / "small" / "trials"
    deadline = time.time() + 120
    while time.time() < deadline and len(list(trials.glob("t*"))) < 2:
        time.sleep(0.2)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    done_before = len(list(trials.glob("t*")))
    assert 2 <= done_before < 6
    subprocess.run(cmd + [str(tmp_path / "a")], check=True, capture_output=True)
    subprocess.run(cmd + [str(tmp_path / "b")], check=True, capture_output=True)
    strip = lambda rows: [{k: v for k, v in r.items() if k != "seconds"} for r in rows]  # noqa: E731
    resumed = read_results(tmp_path / "a" / "small")
    straight = read_results(tmp_path / "b" / "small")
    assert len(resumed) == 6 and strip(resumed) == strip(straight)
    assert not list(trials.glob(".*"))  # no half-trained folder left


@pytest.mark.slow
@pytest.mark.parametrize("tuner", ["bayesian", "hyperband"])
def test_adaptive_tuners_run(write, tmp_path, tuner):
    extra = "  tuner: bayesian\n  max_trials: 3" if tuner == "bayesian" else \
        "  tuner: hyperband\n  factor: 3"
    g = write("a.yaml", SMALL.replace("epochs: 2", "epochs: 3").replace(
        "  objective: val_accuracy", "  objective: val_accuracy\n" + extra))
    out = search.Search(grid.load(g), tmp_path).run()
    assert out.status == "finished"
    assert out.rows and all(r["status"] == "completed" for r in out.rows)
    if tuner == "hyperband":
        assert {r["train.epochs"] for r in out.rows} >= {1, 3}
