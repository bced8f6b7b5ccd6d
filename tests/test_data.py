"""Data generators and the CSV reader: shapes, classes, determinism, clear errors."""

import numpy as np
import pytest

from dlexp import config, data
from dlexp.core.errors import ConfigError


def load(**data_keys):
    cfg = config.resolve({"data": data_keys, "train": {"early_stopping": False}})
    return data.load(cfg["data"], cfg["seed"])


@pytest.mark.parametrize(
    "kind, extra, classes",
    [
        ("moons", {}, 2),
        ("circles", {}, 2),
        ("xor", {}, 2),
        ("gauss", {}, 2),
        ("blobs", {}, 3),
        ("blobs", {"classes": 5}, 5),
        ("spiral", {"classes": 3}, 3),
    ],
)
def test_generators(kind, extra, classes):
    d = load(kind=kind, n_samples=500, **extra)
    assert d.n_classes == classes and d.n_features == 2
    assert len(d.x_train) + len(d.x_val) + len(d.x_test) == 500
    assert len(d.x_test) == 100 and len(d.x_val) == 80
    for x, y in d.splits().values():
        assert x.dtype == np.float32 and x.shape[1] == 2
        assert set(np.unique(y)) <= set(range(classes))
    assert set(np.unique(d.y_train)) == set(range(classes))  # stratified: all classes seen


def test_same_seed_same_data_and_other_seed_other_data():
    a, b = load(kind="spiral", seed=3), load(kind="spiral", seed=3)
    np.testing.assert_array_equal(a.x_train, b.x_train)
    np.testing.assert_array_equal(a.y_test, b.y_test)
    c = load(kind="spiral", seed=4)
    assert not np.array_equal(a.x_train, c.x_train)


def test_noise_and_standardize():
    clean, noisy = load(kind="xor", noise=0.0), load(kind="xor", noise=0.5)
    assert np.abs(clean.x_train).max() <= 1.0 < np.abs(noisy.x_train).max()
    d = load(kind="blobs", standardize=True)  # the points stay raw; the model scales them
    mean, variance = d.standardize
    np.testing.assert_allclose(mean, d.x_train.mean(axis=0), atol=1e-5)
    np.testing.assert_allclose(variance, d.x_train.var(axis=0), rtol=1e-4)
    assert load(kind="blobs").standardize is None


def test_no_validation_split():
    d = load(val_size=0.0)
    assert d.x_val is None and list(d.splits()) == ["train", "test"]


def test_too_few_samples():
    with pytest.raises(ConfigError, match=r"data.n_samples: 2 samples are too few"):
        load(n_samples=2)


def test_csv(write):
    path = write("points.csv", "a,b,label\n" + "0,1,cat\n1,0,dog\n2,2,cat\n3,1,dog\n" * 5)
    d = load(kind="csv", path=str(path), target="label", val_size=0.0, test_size=0.25)
    assert d.n_classes == 2 and d.class_names == ["cat", "dog"]
    assert d.feature_names == ["a", "b"] and len(d.x_train) == 15
    one = load(kind="csv", path=str(path), target="label", features=["b"], val_size=0.0)
    assert one.n_features == 1


@pytest.mark.parametrize(
    "text, keys, message",
    [
        (
            "a,b,y\n1,2,0\n",
            {"target": "label"},
            r"data.target: column 'label' is not in bad.csv; columns: a, b, y",
        ),
        (
            "a,b,y\n1,x,0\n2,3,1\n",
            {"target": "y"},
            r"bad.csv: line 2, column 'b': expected a number, got 'x'",
        ),
        ("a,b,y\n1,2,0\n2,3\n", {"target": "y"}, r"bad.csv: line 3: expected 3 cells, got 2"),
        ("a,b,y\n1,2,0\n2,3,0\n", {"target": "y"}, r"holds a single class"),
        (
            "a,b,y\n1,2,0\n2,3,one\n",
            {"target": "y"},
            r"line 3, column 'y': expected a number like the other labels, got 'one'",
        ),
        (
            "a,b,y\n1,2,0\n2,3,1\n",
            {"target": "y", "features": ["c"]},
            r"data.features: column 'c' is not in bad.csv",
        ),
        ("", {"target": "y"}, r"expected a header row and at least one data row"),
    ],
)
def test_csv_errors(write, text, keys, message):
    path = write("bad.csv", text)
    with pytest.raises(ConfigError, match=message):
        load(kind="csv", path=str(path), **keys)


def test_csv_missing_file(tmp_path):
    with pytest.raises(ConfigError, match=r"data.path: file not found: '.*nope.csv'"):
        load(kind="csv", path=str(tmp_path / "nope.csv"), target="y")
