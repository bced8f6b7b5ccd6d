"""dlexp predict: a run's model on new points; a damaged or diverged model refused, the
class given with its label's type."""

import json

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
