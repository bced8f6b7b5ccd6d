"""dlexp predict: a run's model on new points; a damaged or diverged model refused, the
class given with its label's type; a regression's ``predicted`` in the target's units
(``predicted_<target>`` for several); a bundled dataset's columns matched by its names."""

import json

import pytest
from helpers import invoke, one_line


def test_predict_bad_input(runs_dir):
    plain = runs_dir / "20260101-000000-plain-aaaaaa"
    result = invoke("predict", plain, "--points", "1,2")
    assert result.exit_code == 2 and "has no model.keras" in result.stderr
    result = invoke("predict", runs_dir, "--points", "1,2")
    assert result.exit_code == 2 and "not a run folder" in result.stderr


def test_a_truncated_model_is_named_as_damaged_by_predict_and_export(run, tmp_path):
    model = run / "model.keras"
    model.write_bytes(model.read_bytes()[: model.stat().st_size // 2])
    result = invoke("predict", run, "--points", "0.5,0.2")
    assert result.exit_code == 2
    line = one_line(result)
    assert f"{model}: damaged or unreadable" in line and "train the run again" in line
    for fmt, out in (("savedmodel", tmp_path / "sm"), ("tflite", tmp_path / "m.tflite")):
        result = invoke("export", run, "--format", fmt, "--out", out)
        assert result.exit_code == 2, result.output
        assert f"{model}: damaged or unreadable" in one_line(result)
        assert not out.exists()
    assert not list(tmp_path.glob(".*tmp*"))


def test_predict_json_gives_the_class_with_the_labels_type(run):
    result = invoke("predict", run, "--points", "0.5,0.2;-1,0.5", "--format", "json")
    good = json.loads(result.stdout)
    assert [type(r["predicted"]) for r in good] == [int, int]
    assert all(r["predicted"] == int(r["proba_1"] > r["proba_0"]) for r in good)
    rows = invoke("predict", run, "--points", "0.5,0.2;-1,0.5").stdout.splitlines()
    assert [r.split(",")[-1] for r in rows[1:]] == [str(r["predicted"]) for r in good]


def test_label_value_keeps_the_labels_type():
    from dlexp.use.predict import label_value

    assert [label_value(c) for c in ("0", "12", "2.5", "setosa", "nan")] == [
        0,
        12,
        2.5,
        "setosa",
        "nan",
    ]


def test_predict_refuses_a_diverged_model(run):
    # the weights of a run whose loss became NaN, as TerminateOnNaN leaves them
    import keras
    import numpy as np

    from dlexp import backend

    backend.setup()  # Keras set up as dlexp sets it up (backend, cache)

    model = keras.models.load_model(run / "model.keras")
    model.set_weights([np.full_like(w, np.nan) for w in model.get_weights()])
    model.save(run / "model.keras")
    info = json.loads((run / "run.json").read_text())
    info.update(status="diverged", error="the loss became nan at epoch 2")
    (run / "run.json").write_text(json.dumps(info))
    for fmt in ("json", "csv"):
        result = invoke("predict", run, "--points", "0.5,0.2", "--format", fmt)
        assert result.exit_code == 2 and result.stdout == ""
        line = one_line(result)
        assert "the model's outputs are not finite" in line and "the run diverged" in line
        assert "the loss became nan at epoch 2" in line


# ----------------------------------------------------------------------- regression

REG_PLANE = """
seed: 1
data: {kind: playground, dataset: reg-plane, n_samples: 200}
model: {layers: [4]}
train: {epochs: 3, batch_size: 32, early_stopping: false}
"""


def _train(config, tmp_path):
    result = invoke("train", config, "--runs-dir", tmp_path / "r", "-q", "--format", "json")
    assert result.exit_code == 0, result.output
    return tmp_path / "r" / json.loads(result.stdout)["id"]


@pytest.mark.slow
def test_a_regression_predicts_in_the_targets_units_in_csv_and_json(write, tmp_path):
    import keras
    import numpy as np

    run = _train(write("reg.yaml", REG_PLANE), tmp_path)
    result = invoke("predict", run, "--points", "1,2;-3,0.5", "--format", "json")
    assert result.exit_code == 0, result.output
    records = json.loads(result.stdout)
    assert [list(r) for r in records] == [["x1", "x2", "predicted"]] * 2
    # model.keras (its last layer TargetScale, compiled with StandardizedLoss) loads back
    # and predicts the same numbers: in the target's units, not standardized
    model = keras.models.load_model(run / "model.keras")
    want = model.predict(np.array([[1, 2], [-3, 0.5]], np.float32), verbose=0)[:, 0]
    assert [r["predicted"] for r in records] == pytest.approx(want.tolist(), rel=1e-6)
    layer = model.layers[-1]
    assert type(layer).__name__ == "TargetScale" and layer.std[0] != 1.0
    rows = invoke("predict", run, "--points", "1,2;-3,0.5").stdout.splitlines()
    assert rows[0] == "x1,x2,predicted"
    assert [float(r.split(",")[-1]) for r in rows[1:]] == pytest.approx(
        [r["predicted"] for r in records]
    )


@pytest.mark.slow
def test_several_targets_each_get_a_predicted_column(write, tmp_path):
    import numpy as np

    rng = np.random.RandomState(0)
    x = rng.uniform(-1, 1, (120, 2))
    lines = ["a,b,up,down"] + [f"{p},{q},{p + q + 0.5},{p - q - 3.25}" for p, q in x]
    (tmp_path / "two.csv").write_text("\n".join(lines) + "\n")
    config = write(
        "two.yaml",
        "seed: 1\ndata: {kind: csv, path: two.csv, target: [up, down]}\n"
        "model: {layers: [4]}\ntrain: {epochs: 2, early_stopping: false}\n",
    )
    run = _train(config, tmp_path)
    result = invoke("predict", run, "--points", "0.5,0.5", "--format", "json")
    assert result.exit_code == 0, result.output
    (record,) = json.loads(result.stdout)
    assert list(record) == ["a", "b", "predicted_up", "predicted_down"]


def test_a_bundled_datasets_input_columns_are_its_own_feature_names(write, tmp_path):
    run = _train(
        write(
            "iris.yaml",
            "seed: 1\ndata: {kind: iris}\nmodel: {layers: [4]}\n"
            "train: {epochs: 2, early_stopping: false}\n",
        ),
        tmp_path,
    )
    names = json.loads((run / "run.json").read_text())["data"]["feature_names"]
    assert names[0] == "sepal length (cm)"
    points = tmp_path / "flowers.csv"
    points.write_text("note," + ",".join(reversed(names)) + "\nx,0.2,1.4,3.5,5.1\n")
    result = invoke("predict", run, "--input", points, "--format", "json")
    assert result.exit_code == 0, result.output
    (record,) = json.loads(result.stdout)
    assert [record[n] for n in names] == [5.1, 3.5, 1.4, 0.2]  # matched by name, not place
    assert record["predicted"] in ("setosa", "versicolor", "virginica")
    points.write_text("sepal length (cm),sepal width (cm)\n5.1,3.5\n")
    result = invoke("predict", run, "--input", points)
    assert result.exit_code == 2
    assert "no column 'petal length (cm)'; the run's features are sepal length (cm)" in one_line(
        result
    )
