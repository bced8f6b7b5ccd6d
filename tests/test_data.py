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


def test_the_generated_points_are_those_made_before_playground_and_regression():
    """The old kinds make the very points they made before data.task and Playground's
    datasets (commit b8b36de): same seed, same split, same labels."""
    import json

    from helpers import ROOT

    golden = json.loads((ROOT / "tests" / "golden" / "points.json").read_text())
    golden.pop("about")
    assert sorted(golden) == sorted(["moons", "circles", "blobs", "xor", "spiral", "gauss"])
    for kind, splits in golden.items():
        extra = {"classes": 3} if kind in ("blobs", "spiral") else {}
        cfg = config.resolve({"seed": 7, "data": {"kind": kind, "n_samples": 60, **extra}})
        d = data.load(cfg["data"], cfg["seed"])
        assert d.task == "classification" and list(d.splits()) == list(splits), kind
        for name, (x, y) in d.splits().items():
            np.testing.assert_allclose(x, splits[name]["x"], atol=2e-6, err_msg=kind)
            assert y.tolist() == splits[name]["y"], (kind, name)


@pytest.mark.parametrize(
    "dataset, task, n",
    [
        ("circle", "classification", 500),
        ("xor", "classification", 500),
        ("gauss", "classification", 500),
        ("spiral", "classification", 500),
        ("reg-plane", "regression", 1200),
        ("reg-gauss", "regression", 1200),
    ],
)
def test_playground_datasets(dataset, task, n):
    d = load(kind="playground", dataset=dataset)  # Playground's own count by default
    assert d.task == task and d.feature_names == ["x1", "x2"]
    assert sum(len(x) for x, _ in d.splits().values()) == n
    x = np.concatenate([x for x, _ in d.splits().values()])
    y = np.concatenate([y for _, y in d.splits().values()])
    bound = {"circle": 5, "xor": 5.3, "reg-plane": 6, "reg-gauss": 6}.get(dataset, 10)
    assert np.abs(x).max() <= bound + 1e-5 and x.std() > 1  # Playground's ranges, not [-1, 1]
    if task == "classification":
        assert d.n_classes == 2 and d.class_names == ["-1", "1"] and d.n_outputs == 2
        assert y.dtype.kind == "i" and set(np.unique(y)) == {0, 1}
        assert abs(y.mean() - 0.5) < 0.15
    else:
        assert d.n_classes == 0 and d.class_names == [] and d.n_outputs == 1
        assert y.dtype == np.float32 and y.shape == (n, 1) and d.target_names == ["label"]
        mean, std = d.target_scale
        np.testing.assert_allclose(mean, d.y_train.mean(axis=0), atol=1e-5)
        np.testing.assert_allclose(std, d.y_train.std(axis=0), rtol=1e-4)
        assert np.abs(y).max() <= (1.2 if dataset == "reg-plane" else 1.0) + 1e-6


def test_playground_labels_and_noise():
    """Without noise a label is the function of the point itself; with noise it is that
    of a nearby point, so labels near an edge flip and the plane is no longer exact."""
    plane = load(kind="playground", dataset="reg-plane", noise=0.0)
    x, y = plane.x_train, plane.y_train[:, 0]
    np.testing.assert_allclose(y, (x[:, 0] + x[:, 1]) / 10, atol=1e-6)
    assert y.min() < -1.0 and y.max() > 1.0  # the plane spans about [-1.2, 1.2]
    noisy = load(kind="playground", dataset="reg-plane", noise=0.5)
    x, y = noisy.x_train, noisy.y_train[:, 0]
    assert np.abs(y - (x[:, 0] + x[:, 1]) / 10).mean() > 0.05
    assert np.abs(y).max() < 1.2 * 1.5 + 1e-6  # labelled at a point at most 3 further away

    def flipped(noise):
        d = load(kind="playground", dataset="circle", noise=noise, n_samples=1000)
        inside = np.hypot(d.x_train[:, 0], d.x_train[:, 1]) < 2.5
        return np.mean(inside != (d.y_train == 1))

    assert flipped(0.0) == 0 and 0.02 < flipped(0.5) < 0.4
    gauss = load(kind="playground", dataset="reg-gauss")
    top = np.argmax(gauss.y_train[:, 0])  # a peak of height 1 at a centre of a + bump
    assert gauss.y_train[top, 0] > 0.8
    assert min(np.hypot(*(gauss.x_train[top] - c)) for c in [(-4, 2.5), (4, 2.5), (0, -2.5)]) < 0.4


def test_playground_seed_and_count():
    a = load(kind="playground", dataset="spiral", seed=3)
    b = load(kind="playground", dataset="spiral", seed=3)
    np.testing.assert_array_equal(a.x_train, b.x_train)
    c = load(kind="playground", dataset="xor", n_samples=100, seed=3)
    assert sum(len(x) for x, _ in c.splits().values()) == 100


@pytest.mark.parametrize(
    "kind, rows, features, first_feature, classes",
    [
        ("iris", 150, 4, "sepal length (cm)", ["setosa", "versicolor", "virginica"]),
        ("wine", 178, 13, "alcohol", ["class_0", "class_1", "class_2"]),
        ("breast_cancer", 569, 30, "mean radius", ["malignant", "benign"]),
        ("digits", 1797, 64, "pixel_0_0", [str(i) for i in range(10)]),
    ],
)
def test_scikit_learn_classification_datasets(kind, rows, features, first_feature, classes):
    d = load(kind=kind)
    assert d.task == "classification" and d.n_features == features
    assert d.feature_names[0] == first_feature and len(d.feature_names) == features
    assert d.class_names == classes and d.n_classes == len(classes)
    assert sum(len(x) for x, _ in d.splits().values()) == rows
    assert len(d.x_test) == int(np.ceil(rows * 0.2))
    assert set(np.unique(d.y_train)) == set(range(len(classes)))  # stratified


def test_scikit_learn_diabetes_is_a_regression():
    d = load(kind="diabetes", standardize=True)
    assert d.task == "regression" and d.regression and d.n_outputs == 1
    assert d.n_features == 10 and d.feature_names[:3] == ["age", "sex", "bmi"]
    assert d.target_names == ["progression"] and d.class_names == []
    assert d.y_train.dtype == np.float32 and d.y_train.shape == (len(d.x_train), 1)
    assert sum(len(x) for x, _ in d.splits().values()) == 442
    assert 25 <= d.y_test.min() and d.y_test.max() <= 346  # the disease's progression
    assert d.standardize is not None


def test_csv_regression_targets(write):
    rows = "".join(f"{i},{i % 7},{i * 0.5 + 0.25},{i % 3}\n" for i in range(40))
    path = write("reg.csv", "a,b,price,count\n" + rows)
    d = load(kind="csv", path=str(path), target="price", val_size=0.0)  # reals: auto regresses
    assert d.task == "regression" and d.target_names == ["price"]
    assert d.y_train.dtype == np.float32 and d.y_train.shape == (32, 1)
    assert d.feature_names == ["a", "b", "count"]
    two = load(kind="csv", path=str(path), target=["price", "count"], val_size=0.0)
    assert two.task == "regression" and two.n_outputs == 2 and two.feature_names == ["a", "b"]
    np.testing.assert_allclose(two.y_train[:, 0] * 2 - 0.5, two.x_train[:, 0])
    ints = load(kind="csv", path=str(path), target="count")  # integers: classes under auto
    assert ints.task == "classification" and ints.class_names == ["0", "1", "2"]
    as_numbers = load(kind="csv", path=str(path), target="count", task="regression")
    assert as_numbers.task == "regression" and as_numbers.n_classes == 0
