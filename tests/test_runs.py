"""The run store's files: atomic writes, strict JSON, CSV."""

import json

import pytest

from dlexp import runs


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
    runs.write_json(path, {"nan": float("nan"), "inf": float("inf"), "np": np.float32(0.5),
                           "n": np.int64(3)})
    assert json.loads(path.read_text()) == {"nan": None, "inf": None, "np": 0.5, "n": 3}


def test_csv_columns_and_cells(tmp_path):
    path = tmp_path / "h.csv"
    runs.write_csv(path, [{"epoch": 1, "loss": 0.5}, {"epoch": 2, "loss": None, "x": [1]}])
    assert path.read_text() == "epoch,loss,x\n1,0.5,\n2,,[1]\n"


def test_versions_are_read_without_importing():
    v = runs.versions("jax")
    assert v["python"] and v["keras"] and v["dlexp"] and v["keras_backend"] == "jax"


def test_slug():
    assert runs.slug("my run/1") == "my-run-1"
    assert runs.slug("///") == "run"
