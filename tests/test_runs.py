"""The run store's files: atomic writes, strict JSON, CSV."""

import json
import subprocess
import sys
from pathlib import Path

import pytest

from dlexp.runs import folder as runs


def test_atomic_write_keeps_the_old_file_when_writing_fails(tmp_path):
    path = tmp_path / "metrics.json"
    runs.write_json(path, {"a": 1})
    with pytest.raises(RuntimeError):
        with runs.atomic_path(path) as tmp:
            tmp.write_text('{"a": 2, "half')
            raise RuntimeError("crash mid-write")
    assert json.loads(path.read_text()) == {"a": 1}
    assert [p.name for p in tmp_path.iterdir()] == ["metrics.json"]


def test_json_is_strict(tmp_path):
    import numpy as np

    path = tmp_path / "m.json"
    runs.write_json(
        path, {"nan": float("nan"), "inf": float("inf"), "np": np.float32(0.5), "n": np.int64(3)}
    )
    assert json.loads(path.read_text()) == {"nan": None, "inf": None, "np": 0.5, "n": 3}


def test_csv_columns_and_cells(tmp_path):
    path = tmp_path / "h.csv"
    runs.write_csv(path, [{"epoch": 1, "loss": 0.5}, {"epoch": 2, "loss": None, "x": [1]}])
    assert path.read_text() == "epoch,loss,x\n1,0.5,\n2,,[1]\n"


def test_versions_are_read_without_importing():
    """versions() reads the installed distributions' metadata, never the libraries: a
    fresh process that reads them has imported none of TensorFlow, Keras, JAX or
    keras-tuner (this process has, through other tests, so it cannot tell)."""
    code = (
        "import json, sys\n"
        "from dlexp.runs import folder as runs\n"
        "v = runs.versions('jax')\n"
        "heavy = [m for m in ('tensorflow', 'keras', 'jax', 'keras_tuner') if m in sys.modules]\n"
        "print(json.dumps({'versions': v, 'heavy': heavy}))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    found = json.loads(out.stdout)
    assert found["heavy"] == [], found["heavy"]
    v = found["versions"]
    assert v["python"] and v["keras"] and v["dlexp"] and v["jax"]  # read from the metadata


def test_slug():
    assert runs.slug("my run/1") == "my-run-1"
    assert runs.slug("///") == "run"


# --- the run record: one home for statuses, names, directions and the two JSON files ---

FIXTURES = Path(__file__).parent / "fixtures" / "runs"


def test_status_is_its_text_and_knows_what_finished_means():
    s = runs.Status
    assert s.read("completed") is s.COMPLETED and s.read(None) is s.UNKNOWN
    assert s.read(3) == "3" and not isinstance(s.read(3), s)  # an odd file keeps its value
    assert s.COMPLETED == "completed" and "completed" in {s.COMPLETED} and f"{s.FAILED}" == "failed"
    assert json.dumps({"status": s.DIVERGED}) == '{"status": "diverged"}'
    assert [x for x in s if x.finished] == [s.COMPLETED, s.DIVERGED, s.FAILED, s.PRUNED]
    assert not runs.is_finished("3") and runs.is_finished(s.FAILED)
    assert (s.COMPLETED.exit_code, s.INTERRUPTED.exit_code, s.DIVERGED.exit_code) == (0, 130, 1)
    assert s.PRUNED.exit_code == 0  # stopped as its search meant
    assert runs.group_status([s.COMPLETED, s.DIVERGED, s.FAILED]) == s.DIVERGED
    assert runs.group_status([s.COMPLETED, s.COMPLETED]) == s.COMPLETED


def test_names_of_trials_and_repeats():
    assert [runs.trial_width(n) for n in (1, 72, 1000, 1001)] == [3, 3, 3, 4]
    assert runs.trial_name(7, 4) == "t0007"
    assert runs.run_names("t007") == ["t007"]
    assert runs.run_names("t007", 2) == ["t007-r0", "t007-r1"]
    assert runs.trial_of("t007-r12") == "t007" == runs.trial_of("t007")


def test_direction_and_rank():
    metrics = ("val_loss", "loss", "val_error", "val_accuracy", "f1")
    assert [runs.direction(m) for m in metrics] == ["min", "min", "min", "max", "max"]
    regression = ("val_rmse", "test_mae", "rmse", "mse", "val_r2", "r2")
    assert [runs.direction(m) for m in regression] == ["min"] * 4 + ["max"] * 2
    rows = [{"s": 0.5}, {"s": None}, {"s": 0.9}, {"s": 0.5}]
    assert runs.rank(rows, lambda r: r["s"], "max") == [rows[2], rows[0], rows[3]]
    assert runs.rank(rows, lambda r: r["s"], "min") == [rows[0], rows[3], rows[2]]


@pytest.mark.parametrize(
    "folder",
    ["20260101-000000-plain-aaaaaa", "20260101-000002-blobs-cccccc", "tinygrid/trials/t001-r1"],
)
def test_files_written_before_the_record_types_round_trip_exactly(folder):
    """run.json and metrics.json as an earlier dlexp wrote them read into RunInfo and
    Metrics and write back to the same objects, keys in the same order."""
    for name, cls in (("run.json", runs.RunInfo), ("metrics.json", runs.Metrics)):
        data = json.loads((FIXTURES / folder / name).read_text())
        again = cls.from_json(data).to_json()
        assert json.dumps(again) == json.dumps(data), name


def test_odd_files_read_leniently_and_keep_unknown_keys():
    info = runs.RunInfo.from_json({"status": "completed", "id": "x", "notes": 7})
    assert info.extra == {"notes": 7} and info.to_json()["notes"] == 7
    warnings = []
    metrics = runs.Metrics.from_json({"val": [0.9], "train": {"loss": 1.0}}, warnings)
    assert metrics.val is None and metrics.value("train_loss") == 1.0
    assert warnings == ["metrics.json: val is not an object"]
    assert runs.Metrics().empty and not metrics.empty


def test_a_run_whose_process_is_gone_is_stale_at_once(tmp_path):
    import socket
    import subprocess
    import sys

    gone = subprocess.run(
        [sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True
    ).stdout.strip()
    run = runs.Run(tmp_path / "r")
    run.path.mkdir()
    info = runs.RunInfo(
        id="r", status=runs.Status.RUNNING, host=socket.gethostname(), pid=int(gone)
    )
    run.write_info(info)
    record = runs.read_run(run.path)
    assert record.status == "stale"
    assert f"its process ({gone}) is gone" in " ".join(record.warnings)
    info.pid = __import__("os").getpid()  # this process: alive, so still running
    run.write_info(info)
    assert runs.read_run(run.path).status == "running"


def test_a_run_from_before_data_task_is_not_set_apart_by_it(tmp_path):
    """An earlier dlexp's config.yaml has no data.task or data.dataset: the index reads
    them as that dlexp had them, so such a run and a new one of the same config differ
    in nothing."""
    import shutil

    import yaml

    from dlexp.runs import index

    old = FIXTURES / "20260101-000000-plain-aaaaaa"
    shutil.copytree(old, tmp_path / "old")
    shutil.copytree(old, tmp_path / "new")
    cfg = yaml.safe_load((old / "config.yaml").read_text())
    assert "task" not in cfg["data"] and "dataset" not in cfg["data"]
    cfg["data"].update(task="classification", dataset=None)
    (tmp_path / "new" / "config.yaml").write_text(yaml.safe_dump(cfg))
    report = index.build(tmp_path)
    assert len(report.entries) == 2 and report.varying == []


def test_a_run_on_other_data_is_not_also_set_apart_by_what_its_data_decides(tmp_path):
    """A regression among classifications differs in its dataset; its task and linear
    output follow from that and are not listed beside it."""
    import shutil

    import yaml

    from dlexp.runs import index

    old = FIXTURES / "20260101-000000-plain-aaaaaa"
    for name in ("a", "b", "reg"):
        shutil.copytree(old, tmp_path / name)
    cfg = yaml.safe_load((old / "config.yaml").read_text())
    cfg["data"].update(kind="playground", dataset="reg-plane", task="regression")
    cfg["model"]["output_activation"] = "linear"
    (tmp_path / "reg" / "config.yaml").write_text(yaml.safe_dump(cfg))
    report = index.build(tmp_path)
    assert {"data.task", "model.output_activation"} <= set(report.varying)
    shown = {k for pairs in index.settings(report).values() for k, _ in pairs}
    assert "data.kind" in shown and not shown & {"data.task", "model.output_activation"}
