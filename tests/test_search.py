"""dlexp search: keras-tuner's loop with dlexp's oracle, resume, workers, and real searches."""

import csv
import json
import signal
import subprocess
import sys
import time

import pytest
from click.testing import CliRunner
from helpers import SMALL

from dlexp.cli import cli
from dlexp.core.errors import ConfigError
from dlexp.runs import folder as runs
from dlexp.search import engine, oracles, plan, space, store
from dlexp.search import spec as grid
from dlexp.train import fit as training


class FakeTrainer:
    """Stands in for training (as keras-tuner's own grid tests replace run_trial): a
    trainer handed to the search that writes finished run folders whose score is a
    function of the point."""

    def __init__(self, stop_after=None):
        self.trained, self.stop_after, self.calls = [], stop_after, []

    def __call__(self, jobs):
        self.calls.append([job.name for job in jobs])
        outcomes = []
        for job in jobs:
            if self.stop_after is not None and len(self.trained) >= self.stop_after:
                outcomes.append(training.Outcome(job.run, runs.Status.INTERRUPTED))
                break
            self.trained.append(job.name)
            cfg = job.cfg
            score = cfg["model"]["first_neuron"] / 100 + (cfg["seed"] % 7) / 1000
            split = {"loss": 1 - score, "accuracy": score}
            metrics = runs.Metrics(
                epochs_run=2, best_epoch=2, params=1, train=split, val=split, test=split
            )
            job.run.write_config(cfg)
            job.run.write_metrics(metrics)
            job.run.write_info(
                runs.RunInfo(id=job.name, status=runs.Status.COMPLETED, duration_s=0.01)
            )
            outcomes.append(training.Outcome(job.run, runs.Status.COMPLETED, metrics))
            job.ended(outcomes[-1])
        return outcomes


@pytest.fixture
def fake():
    return FakeTrainer()


def run_search(spec, runs_dir, trainer, stack=1, **kwargs):
    return engine.Search(spec, runs_dir, trainer=trainer, stack=stack).run(**kwargs)


def read_results(folder):
    with open(folder / "results.csv") as f:
        return list(csv.DictReader(f))


def test_every_point_once_with_results_and_best(small, tmp_path, fake):
    spec = grid.load(small)
    out = run_search(spec, tmp_path, fake)
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


def test_resume_after_interruption_skips_finished_points(small, tmp_path):
    spec = grid.load(small)
    out = run_search(spec, tmp_path, FakeTrainer(stop_after=2))
    assert out.status == "interrupted" and out.exit_code == 130
    assert len(read_results(tmp_path / "small")) == 2
    second = FakeTrainer()
    out = run_search(grid.load(small), tmp_path, second)
    assert out.status == "finished" and out.trained == 4
    assert second.trained == ["t002", "t003", "t004", "t005"]
    again = run_search(grid.load(small), tmp_path, second)
    assert again.status == "already finished" and again.exit_code == 0
    assert second.trained == ["t002", "t003", "t004", "t005"]


def test_changed_grid_is_refused_and_overwrite_starts_over(small, tmp_path, fake, write):
    run_search(grid.load(small), tmp_path, fake)
    changed = write("small.yaml", small.read_text().replace("[4, 8, 16]", "[4, 8]"))
    with pytest.raises(
        ConfigError,
        match=r"the grid changed since the search .* began "
        r"\(search.params.model.first_neuron: was \[4, 8, 16\]",
    ):
        run_search(grid.load(changed), tmp_path, fake)
    out = run_search(grid.load(changed), tmp_path, fake, overwrite=True)
    assert out.status == "finished" and len(out.rows) == 4


def test_repeats_give_mean_and_std(write, tmp_path, fake):
    g = write(
        "rep.yaml",
        SMALL.replace("  objective: val_accuracy", "  objective: val_accuracy\n  repeats: 3"),
    )
    out = run_search(grid.load(g), tmp_path, fake)
    assert fake.trained[:3] == ["t000-r0", "t000-r1", "t000-r2"]
    row = read_results(tmp_path / "small")[0]
    # seeds 1, 2, 3: scores 0.041, 0.042, 0.043
    assert float(row["score"]) == pytest.approx(0.042)
    assert float(row["score_std"]) == pytest.approx(0.001)
    assert row["runs"] == "trials/t000-r0;trials/t000-r1;trials/t000-r2"
    assert out.status == "finished"


def test_planned_oracle_keeps_every_worker_busy_and_never_idles(small, tmp_path):
    spec = grid.load(small)
    s = engine.Search(spec, tmp_path)
    oracle = oracles.make_oracle(spec, s.space, s.plan, {1}, s.hooks, tmp_path / "tuner")
    trials = [oracle.create_trial(f"worker{i}") for i in range(5)]
    assert all(t.status == "RUNNING" for t in trials)  # five points at once, no waiting
    indexes = [
        s.plan.index[grid.point_key(s.space.decode(t.hyperparameters.values))] for t in trials
    ]
    assert indexes == [0, 2, 3, 4, 5]  # point 1 was finished before
    # nothing left to hand out, but five held: wait, one may come back
    assert oracle.create_trial("worker9").status == "IDLE"
    oracle.release("worker0")  # worker0 died: its point goes to the next asker
    assert not oracle.idle()  # a trial waits to run again
    again = oracle.create_trial("worker9")
    assert again.status == "RUNNING" and again.trial_id == trials[0].trial_id


def test_trials_are_named_by_their_point_or_id(small, tmp_path):
    s = engine.Search(grid.load(small), tmp_path)
    oracle = oracles.make_oracle(s.spec, s.space, s.plan, {0}, s.hooks, tmp_path / "tuner")
    trial = oracle.create_trial("worker0")  # point 0 is done: point 1 comes first
    assert s.names(trial) == s.plan.name(1) == "t001"
    assert s.names("4") == "t004"  # Hyperband's tuner/trial_id


def _fields(protocol) -> set[str]:
    return {k for k in vars(protocol) if not k.startswith("_")} | set(
        getattr(protocol, "__annotations__", {})
    )


def test_the_parts_a_search_is_handed_match_its_protocols():
    """Nothing type-checks the Protocols: each implementation has their every name."""
    import dataclasses
    import inspect

    from dlexp.cli.display import SearchView
    from dlexp.search import protocols
    from dlexp.train.stack import StackTrainer

    job_fields = {f.name for f in dataclasses.fields(training.TrialJob)} | {"ended"}
    assert _fields(protocols.Job) <= job_fields
    assert _fields(protocols.Outcome) <= {f.name for f in dataclasses.fields(training.Outcome)}
    for view in (SearchView, engine.NullView):
        assert _fields(protocols.LiveView) <= set(dir(view)), view
    assert _fields(protocols.TrialSpace) <= set(dir(space.Space))
    for trainer in (training.TrialTrainer, StackTrainer):  # trainer(jobs) -> outcomes
        assert list(inspect.signature(trainer.__call__).parameters) == ["self", "jobs"]


@pytest.mark.parametrize("seed", [0, 5])
def test_random_points_are_keras_tuners_draws_fixed_by_the_seed(write, seed):
    g = write(
        "r.yaml",
        SMALL.replace(
            "  objective: val_accuracy",
            f"  objective: val_accuracy\n  tuner: random\n  max_trials: 4\n  seed: {seed}",
        ),
    )
    spec = grid.load(g)
    a = plan.planned_points(spec)
    b = plan.planned_points(spec)
    assert a == b and len(a) == 4  # seed 0 too: keras-tuner alone would draw a random seed
    assert len({grid.point_key(p) for p in a}) == 4


def test_mixed_value_types_round_trip(write):
    g = write(
        "m.yaml",
        SMALL.replace("[4, 8, 16]", "[4, 8]").replace(
            "train.optimizer: [adam, {name: sgd, momentum: 0.9}]",
            "model.dropout: [0, 0.25]\n    train.batch_size: [16, full]",
        ),
    )
    spec = grid.load(g)
    space_ = space.Space(spec)
    for point in spec.grid_points():
        assert space_.decode(space_.encode(point)) == point


def test_a_point_keras_refuses_is_a_failed_trial_not_a_crash(write, tmp_path, monkeypatch):
    g = write(
        "f.yaml",
        SMALL.replace(
            "train.optimizer: [adam, {name: sgd, momentum: 0.9}]", "model.activation: [relu]"
        ),
    )
    spec = grid.load(g)
    original = training.prepare

    def refuse(cfg, data, weights=None):
        if cfg["model"]["first_neuron"] == 8:
            raise ConfigError("Keras refused this config: no", "model")
        return original(cfg, data, weights)

    monkeypatch.setattr(training, "prepare", refuse)
    out = engine.Search(spec, tmp_path, stack=1).run()
    statuses = {r["trial"]: r["status"] for r in out.rows}
    assert statuses == {"t000": "completed", "t001": "failed", "t002": "completed"}
    info = json.loads((tmp_path / "small" / "trials" / "t001" / "run.json").read_text())
    assert "Keras refused" in info["error"]
    again = engine.Search(grid.load(g), tmp_path, stack=1).run()
    assert again.status == "already finished"  # a failed trial is not retried forever


def test_a_second_chief_on_the_same_folder_is_refused(small, tmp_path, fake):
    first = store.SearchStore(tmp_path / "small", grid.load(small))
    first.open(overwrite=False)
    try:
        with pytest.raises(ConfigError, match="another dlexp search is running"):
            run_search(grid.load(small), tmp_path, fake)
    finally:
        first.close()


def test_dry_run_trains_nothing(small, tmp_path):
    result = CliRunner().invoke(
        cli,
        [
            "search",
            str(small),
            "--runs-dir",
            str(tmp_path / "runs"),
            "--dry-run",
            "--format",
            "json",
        ],
    )
    assert result.exit_code == 0, result.output
    plan = json.loads(result.stdout)
    assert plan["trials"] == 6 and len(plan["points"]) == 6
    assert plan["points"][1]["train.optimizer"] == {"name": "sgd", "momentum": 0.9}
    assert not (tmp_path / "runs").exists()


def test_bad_grid_on_the_cli(write, tmp_path):
    g = write("bad.yaml", SMALL.replace("[4, 8, 16]", "[4, eight]"))
    result = CliRunner().invoke(cli, ["search", str(g), "--runs-dir", str(tmp_path / "runs")])
    assert result.exit_code == 2
    assert (
        "search.params.model.first_neuron[1]: expected a positive integer, got 'eight'"
        in result.stderr
    )
    assert "Traceback" not in result.output and not (tmp_path / "runs").exists()


# --- real searches -------------------------------------------------------------


@pytest.mark.slow
def test_real_search_end_to_end(small, tmp_path):
    result = CliRunner().invoke(
        cli, ["search", str(small), "--runs-dir", str(tmp_path), "--format", "json"]
    )
    assert result.exit_code == 0, result.output
    record = json.loads(result.stdout)
    assert record["status"] == "finished" and len(record["trials"]) == 6
    folder = tmp_path / "small"
    for i in range(6):
        trial = folder / "trials" / f"t{i:03d}"
        assert {p.name for p in trial.iterdir()} >= {
            "config.yaml",
            "run.json",
            "history.csv",
            "metrics.json",
            "model.keras",
        }
        info = json.loads((trial / "run.json").read_text())
        assert info["status"] == "completed"
        with open(trial / "history.csv") as f:
            assert len(list(csv.DictReader(f))) == 2
    rows = read_results(folder)
    best = json.loads((folder / "best.json").read_text())
    assert best["score"] == max(float(r["score"]) for r in rows)
    assert float(rows[0]["val_accuracy"]) == float(rows[0]["score"])


@pytest.mark.slow
@pytest.mark.parametrize("stack", ["1", "2"])
def test_two_workers_finish_every_point_exactly_once(small, tmp_path, stack):
    args = ["search", str(small), "--stack", stack]
    result = CliRunner().invoke(cli, [*args, "--runs-dir", str(tmp_path), "--workers", "2"])
    assert result.exit_code == 0, result.output
    folder = tmp_path / "small"
    assert len(read_results(folder)) == 6
    # keras-tuner's own record: one trial per point, each completed once
    trials = [json.loads(p.read_text()) for p in (folder / "tuner").glob("trial_*/trial.json")]
    assert len(trials) == 6 and all(t["status"] == "COMPLETED" for t in trials)
    assert len({json.dumps(t["hyperparameters"]["values"], sort_keys=True) for t in trials}) == 6
    infos = [json.loads(p.read_text()) for p in folder.glob("trials/*/run.json")]
    assert all((i.get("stack") or {"size": 1})["size"] <= int(stack) for i in infos)
    if stack == "1":  # shared between the two workers (a stack of 2 may go to one)
        assert {i["worker"] for i in infos} == {"local1", "local2"}
    # the same numbers as one process gives: to the last digit one run at a time; a
    # member's sums may round differently in another stack
    single = tmp_path / "single"
    CliRunner().invoke(cli, [*args, "--runs-dir", str(single)])
    ours, theirs = read_results(folder), read_results(single / "small")
    for a, b in zip(ours, theirs, strict=True):
        for key in a:
            if key == "seconds":
                continue
            if stack == "1" or not a[key].replace(".", "").isdigit():
                assert a[key] == b[key], key
            else:
                assert float(a[key]) == pytest.approx(float(b[key]), rel=1e-4, abs=1e-6), key


@pytest.mark.slow
def test_resume_after_kill_9_equals_an_uninterrupted_search(write, tmp_path):
    g = write("slow.yaml", SMALL.replace("epochs: 2", "epochs: 150").replace("240", "600"))
    # stacks of two: a kill -9 loses at most the running stack's trials
    cmd = [sys.executable, "-m", "dlexp.cli", "search", str(g), "--stack", "2", "--runs-dir"]
    proc = subprocess.Popen(
        cmd + [str(tmp_path / "a")], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
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
    extra = (
        "  tuner: bayesian\n  max_trials: 3"
        if tuner == "bayesian"
        else "  tuner: hyperband\n  factor: 3"
    )
    g = write(
        "a.yaml",
        SMALL.replace("epochs: 2", "epochs: 3").replace(
            "  objective: val_accuracy", "  objective: val_accuracy\n" + extra
        ),
    )
    out = engine.Search(grid.load(g), tmp_path).run()
    assert out.status == "finished"
    assert out.rows and all(r["status"] == "completed" for r in out.rows)
    if tuner == "hyperband":
        assert {r["train.epochs"] for r in out.rows} >= {1, 3}


def test_dry_run_of_a_grid_imports_neither_keras_nor_keras_tuner(small, tmp_path):
    code = (
        "import sys\nfrom dlexp.cli import cli\n"
        f"try: cli(['search', {str(small)!r}, '--dry-run', '--runs-dir', {str(tmp_path)!r}])\n"
        "except SystemExit: pass\n"
        "print('HEAVY', [m for m in ('tensorflow', 'keras', 'jax', 'keras_tuner', 'sklearn')"
        " if m in sys.modules])\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert "HEAVY []" in out.stdout and "t005" in out.stdout


def test_stacked_search_asks_for_many_trials_at_once_and_resumes(small, tmp_path):
    spec = grid.load(small)
    first = FakeTrainer(stop_after=3)
    out = run_search(spec, tmp_path, first, stack=4)
    assert out.status == "interrupted"
    assert first.calls[0] == ["t000", "t001", "t002", "t003"]  # four trials in one call
    done = [r["trial"] for r in read_results(tmp_path / "small")]
    assert done == ["t000", "t001", "t002"]  # each published as it ended
    second = FakeTrainer()
    out = run_search(grid.load(small), tmp_path, second, stack=4)
    assert out.status == "finished" and out.trained == 3
    assert second.calls == [["t003", "t004", "t005"]]
    # keras-tuner's record: every point once, completed, under the slots' tuner ids
    trials = [
        json.loads(p.read_text()) for p in (tmp_path / "small" / "tuner").glob("*/trial.json")
    ]
    assert len(trials) == 3 and all(t["status"] == "COMPLETED" for t in trials)
    best = json.loads((tmp_path / "small" / "best.json").read_text())
    assert best["trial"] == "t004"


def test_stacked_repeats_go_with_their_point(write, tmp_path):
    g = write(
        "rep.yaml",
        SMALL.replace("  objective: val_accuracy", "  objective: val_accuracy\n  repeats: 2"),
    )
    fake = FakeTrainer()
    out = run_search(grid.load(g), tmp_path, fake, stack=4)
    assert out.status == "finished"
    assert fake.calls[0] == ["t000-r0", "t000-r1", "t001-r0", "t001-r1"]
    assert len(read_results(tmp_path / "small")) == 6


class FailingTrainer(FakeTrainer):
    """Every run diverges."""

    def __call__(self, jobs):
        outcomes = []
        for job in jobs:
            job.run.write_config(job.cfg)
            job.run.write_metrics(runs.Metrics(epochs_run=1))
            job.run.write_info(
                runs.RunInfo(id=job.name, status=runs.Status.DIVERGED, error="the loss became nan")
            )
            outcomes.append(training.Outcome(job.run, runs.Status.DIVERGED))
            job.ended(outcomes[-1])
        return outcomes


@pytest.mark.parametrize("stack", [1, 3])
def test_a_search_where_no_trial_completes_fails_and_says_why(small, tmp_path, stack):
    import warnings

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        out = run_search(grid.load(small), tmp_path, FailingTrainer(), stack=stack)
    assert out.status == "failed" and out.exit_code == 1
    assert out.message == "no trial completed; t000 diverged: the loss became nan"
    assert not [w for w in caught if "All-NaN" in str(w.message)]
    again = run_search(grid.load(small), tmp_path, FailingTrainer(), stack=stack)
    assert again.status == "failed" and again.exit_code == 1  # not "already finished", 0


def test_json_stdout_holds_only_json_when_runs_diverge(write, tmp_path):
    """Keras prints 'Invalid loss, terminating training' on stdout; --format json keeps
    stdout for the JSON document, in train, train --repeats and search, both ways."""
    diverge = SMALL.replace(
        "train: {epochs: 2, early_stopping: false}",
        "model: {activation: linear, output_activation: linear}\n"
        "train: {epochs: 2, early_stopping: false, loss: mse, optimizer: sgd, "
        "learning_rate: 1.0e+12}",
    ).replace("train.optimizer: [adam, {name: sgd, momentum: 0.9}]", "model.l2: [0.0]")
    g = write("d.yaml", diverge)
    c = write("c.yaml", diverge.split("search:")[0])
    for args in (
        ["search", str(g), "--stack", "1"],
        ["search", str(g)],
        ["train", str(c)],
        ["train", str(c), "--repeats", "2"],
    ):
        folder = tmp_path / str(len(list(tmp_path.iterdir())))
        result = CliRunner().invoke(cli, [*args, "--runs-dir", str(folder), "--format", "json"])
        assert result.exit_code == 1, (args, result.output)
        record = json.loads(result.stdout)  # nothing else on stdout
        assert record["status"] in ("failed", "diverged"), args


def test_a_chief_refuses_a_port_in_use(monkeypatch):
    from dlexp.search import chief

    monkeypatch.setenv("KERASTUNER_ORACLE_IP", "127.0.0.1")
    monkeypatch.setenv("KERASTUNER_ORACLE_PORT", "0")
    first, _, port = chief.bind()
    try:
        monkeypatch.setenv("KERASTUNER_ORACLE_PORT", port)
        with pytest.raises(ConfigError, match=f"cannot listen on 127.0.0.1:{port} \\(in use"):
            chief.bind()
    finally:
        first.stop(grace=None)


def test_a_worker_refuses_a_trial_of_another_search(small, write, tmp_path):
    other = grid.load(write("other.yaml", SMALL.replace("n_samples: 240", "n_samples: 300")))
    theirs = engine.Search(other, tmp_path / "b", trainer=FakeTrainer(), stack=1)
    oracle = oracles.make_oracle(
        other, theirs.space, theirs.plan, set(), theirs.hooks, tmp_path / "tuner-b"
    )
    trial = oracle.create_trial("worker1")
    ours = engine.Search(grid.load(small), tmp_path / "a", trainer=FakeTrainer(), stack=1)
    ours.store.open(overwrite=False)
    from dlexp.search.tuner import TrialRunner

    runner = TrialRunner(
        oracles.make_oracle(ours.spec, ours.space, ours.plan, set(), ours.hooks),
        spec=ours.spec,
        store=ours.store,
        space=ours.space,
        names=ours.names,
        trainer=ours.trainer,
    )
    with pytest.raises(ConfigError, match="the chief's search .* is not this worker's"):
        runner._train([trial], report=False)
    assert not list((tmp_path / "a" / "small" / "trials").iterdir())  # nothing trained


class NoFolderTrainer(FakeTrainer):
    """Says its runs ended but writes no run.json (as a lost worker's would be)."""

    def __call__(self, jobs):
        outcomes = [training.Outcome(job.run, runs.Status.COMPLETED) for job in jobs]
        for job, outcome in zip(jobs, outcomes, strict=True):
            job.ended(outcome)
        return outcomes


def test_finished_only_when_every_planned_trial_has_a_folder(small, tmp_path):
    out = run_search(grid.load(small), tmp_path, NoFolderTrainer(), stack=3)
    assert out.status == "failed" and out.exit_code == 1
    assert out.message.startswith("6 of 6 planned trials have no finished folder")


def test_workers_are_capped_by_cores_and_memory(small, tmp_path):
    import os

    many = (os.cpu_count() or 1) + 1
    result = CliRunner().invoke(
        cli, ["search", str(small), "--workers", str(many), "--runs-dir", str(tmp_path)]
    )
    assert result.exit_code == 2 and f"--workers: {many} workers; at most" in result.stderr
    assert not (tmp_path / "small").exists()


def test_a_worker_without_a_chief_gives_up(small, tmp_path, monkeypatch):
    from dlexp.search import chief

    monkeypatch.setenv("KERASTUNER_ORACLE_IP", "127.0.0.1")
    monkeypatch.setenv("KERASTUNER_ORACLE_PORT", "0")
    server, _, port = chief.bind()  # a free port, then nobody listens on it
    server.stop(grace=None)
    monkeypatch.setenv("KERASTUNER_ORACLE_PORT", port)
    monkeypatch.setenv("KERASTUNER_TUNER_ID", "worker1")
    monkeypatch.setenv("DLEXP_CHIEF_TIMEOUT", "1")
    result = CliRunner().invoke(cli, ["search", str(small), "--runs-dir", str(tmp_path)])
    assert result.exit_code == 2
    assert f"no chief answered at 127.0.0.1:{port} within 1 s" in result.stderr


def test_a_grid_that_mixes_classification_and_regression_is_refused(write, tmp_path):
    """Their losses (cross-entropy, the standardized squared error) do not compare, so
    no objective ranks them: exit 2 before anything trains."""
    from helpers import invoke, one_line

    path = write(
        "mixed.yaml",
        "data: {kind: playground}\ntrain: {epochs: 1}\n"
        "search:\n  objective: val_loss\n  params:\n    data.dataset: [gauss, reg-gauss]\n",
    )
    result = invoke("search", path, "--runs-dir", tmp_path / "runs", "--dry-run")
    assert (
        result.exit_code == 2
        and "search.params: its points are classifications and regressions" in one_line(result)
    )
    assert not (tmp_path / "runs").exists()
