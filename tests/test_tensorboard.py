"""`--tensorboard`: the logs as TensorBoard itself reads them (its EventAccumulator,
its event-file inspector and the HParams plugin's protos), written from fake search
folders (the fixtures' tinygrid), and `--tensorboard` on a real tiny train."""

import json
import shutil
from pathlib import Path

import pytest
import yaml
from helpers import invoke

from dlexp.use import tensorboard

FIXTURES = Path(__file__).parent / "fixtures" / "runs"


def _accumulator(folder: Path):
    from tensorboard.backend.event_processing import event_accumulator as ea

    acc = ea.EventAccumulator(str(folder), size_guidance={ea.SCALARS: 0, ea.TENSORS: 0})
    acc.Reload()
    return acc


def _hparams(folder: Path) -> dict:
    """The HParams plugin's data in a folder's events, by tag."""
    from tensorboard.plugins.hparams import metadata, plugin_data_pb2

    acc = _accumulator(folder)
    try:
        content = acc.PluginTagToContent(metadata.PLUGIN_NAME)
    except KeyError:
        return {}
    return {tag: plugin_data_pb2.HParamsPluginData.FromString(c) for tag, c in content.items()}


@pytest.fixture
def search(tmp_path):
    """tinygrid with a third optimizer, sgd with Nesterov momentum, in place of t003's
    (its two repeats' configs say so too) and t002-r1 failed."""
    folder = tmp_path / "runs" / "tinygrid"
    shutil.copytree(FIXTURES / "tinygrid", folder, copy_function=shutil.copy)
    spec = yaml.safe_load((folder / "search.yaml").read_text())
    nesterov = {"name": "sgd", "momentum": 0.9, "nesterov": True}
    spec["search"]["params"]["train.optimizer"].append(nesterov)
    (folder / "search.yaml").write_text(yaml.safe_dump(spec))
    for run in ("t003-r0", "t003-r1"):
        path = folder / "trials" / run / "config.yaml"
        cfg = yaml.safe_load(path.read_text())
        cfg["train"]["optimizer"] = nesterov
        path.write_text(yaml.safe_dump(cfg))
    info = folder / "trials" / "t002-r1" / "run.json"
    info.write_text(json.dumps({**json.loads(info.read_text()), "status": "failed"}))
    logdir = tmp_path / "tb"
    assert tensorboard.write_search(folder, logdir) == 8
    return logdir / "tinygrid"


def _experiment(folder: Path):
    return _hparams(folder)["_hparams_/experiment"].experiment


def _start(session: Path):
    return _hparams(session)["_hparams_/session_start_info"].session_start_info


def test_optimizer_hyperparameters_flattened_with_their_types(search):
    from tensorboard.plugins.hparams import api_pb2

    start = _start(search / "t003-r0")
    assert start.hparams["train.optimizer"].string_value == "sgd"
    assert start.hparams["train.optimizer.momentum"].number_value == pytest.approx(0.9)
    assert start.hparams["train.optimizer.nesterov"].bool_value is True
    plain = _start(search / "t001-r0").hparams  # momentum alone: no nesterov
    assert plain["train.optimizer.momentum"].number_value == pytest.approx(0.9)
    assert "train.optimizer.nesterov" not in plain
    assert _start(search / "t000-r0").hparams["train.optimizer"].string_value == "adam"
    assert start.group_name == "tinygrid/t003"  # a trial's repeats are one group
    types = {h.name: h.type for h in _experiment(search).hparam_infos}
    assert types == {
        "model.first_neuron": api_pb2.DATA_TYPE_FLOAT64,
        "train.optimizer": api_pb2.DATA_TYPE_STRING,
        "train.optimizer.momentum": api_pb2.DATA_TYPE_FLOAT64,
        "train.optimizer.nesterov": api_pb2.DATA_TYPE_BOOL,
    }


def test_every_hparam_has_a_type_and_its_values(search):
    from tensorboard.plugins.hparams import api_pb2

    infos = {h.name: h for h in _experiment(search).hparam_infos}
    assert all(h.type != api_pb2.DATA_TYPE_UNSET for h in infos.values())
    values = [v.string_value for v in infos["train.optimizer"].domain_discrete.values]
    assert values == ["adam", "sgd"]


def test_the_objective_is_declared_first(search):
    metrics = _experiment(search).metric_infos
    assert metrics[0].name.tag == "final/val_accuracy"
    assert metrics[0].display_name == "val_accuracy (objective, max)"
    acc = _accumulator(search / "t000-r0")
    assert [e.step for e in acc.Scalars("final/val_accuracy")] == [0]


def test_each_session_ends_with_its_status(search):
    from tensorboard.plugins.hparams import api_pb2

    def end(run):
        return _hparams(search / run)["_hparams_/session_end_info"].session_end_info

    assert end("t000-r0").status == api_pb2.STATUS_SUCCESS
    assert end("t002-r1").status == api_pb2.STATUS_FAILURE
    assert end("t000-r0").end_time_secs >= _start(search / "t000-r0").start_time_secs


def test_keras_callback_layout_train_and_validation_overlay(search):
    train, validation = (
        _accumulator(search / "t000-r0" / "train"),
        _accumulator(search / "t000-r0" / "validation"),
    )
    assert set(train.Tags()["scalars"]) == {"epoch_loss", "epoch_accuracy", "epoch_learning_rate"}
    assert set(validation.Tags()["scalars"]) == {"epoch_loss", "epoch_accuracy"}
    history = (FIXTURES / "tinygrid" / "trials" / "t000-r0" / "history.csv").read_text()
    first = dict(zip(*[line.split(",") for line in history.splitlines()[:2]], strict=True))
    assert train.Scalars("epoch_loss")[0].value == pytest.approx(float(first["loss"]))
    assert validation.Scalars("epoch_loss")[0].value == pytest.approx(float(first["val_loss"]))
    walls = [e.wall_time for e in train.Scalars("epoch_loss")]
    assert walls == sorted(walls) and walls[0] > 1e9  # the run's own times


def _inspect(logdir: Path) -> dict:
    """`tensorboard --inspect`'s findings per folder: the out-of-order steps."""
    from tensorboard.backend.event_processing import event_file_inspector as efi

    out = {}
    for unit in efi.get_inspection_units(logdir=str(logdir)):
        found = efi.get_dict_to_print(unit.field_to_obs)
        out[unit.name] = {k: v["outoforder_steps"] for k, v in found.items() if v}
    return out


def test_inspect_finds_steps_in_order_once_even_when_written_again(search, tmp_path):
    tensorboard.write_search(tmp_path / "runs" / "tinygrid", tmp_path / "tb")  # again
    found = _inspect(search)
    assert all(steps == [] for unit in found.values() for steps in unit.values()), found
    assert len(found) == 1 + 8 * 3  # the experiment, and each run's session, train, validation
    for run in ("t000-r0", "t003-r1"):
        acc = _accumulator(search / run / "train")
        assert [e.step for e in acc.Scalars("epoch_loss")] == list(range(8))  # as Keras: 0..7
        assert len(list((search / run / "train").iterdir())) == 1


def test_a_plain_run_has_no_session(tmp_path):
    from dlexp.runs.folder import read_run

    run = FIXTURES / "20260101-000000-plain-aaaaaa"
    tensorboard.write_run(read_run(run), tmp_path, "plain")
    assert sorted(p.name for p in (tmp_path / "plain").iterdir()) == ["train", "validation"]
    assert _hparams(tmp_path / "plain" / "train") == {}


def _events(folder: Path) -> list:
    """The events of a folder's event file (TFRecord framing, read by hand)."""
    import struct

    from tensorboard.compat.proto import event_pb2

    out = []
    for path in folder.glob("events.out.tfevents.*"):
        data = path.read_bytes()
        i = 0
        while i < len(data):
            (length,) = struct.unpack("<Q", data[i : i + 8])
            out.append(event_pb2.Event.FromString(data[i + 12 : i + 12 + length]))
            i += 12 + length + 4
    return out


def test_tensorboard_logs_with_hparams_without_tensorflow(runs_dir, tmp_path):
    import subprocess
    import sys

    logdir = tmp_path / "tb"
    search = str(runs_dir / "tinygrid")
    code = (
        "import sys\nfrom pathlib import Path\nfrom dlexp.use import tensorboard\n"
        f"n = tensorboard.write_search(Path({search!r}), Path({str(logdir)!r}))\n"
        "print('RUNS', n, 'TF', 'tensorflow' in sys.modules)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert "RUNS 8 TF False" in out.stdout
    session = _events(logdir / "tinygrid" / "t000-r0")
    train = _events(logdir / "tinygrid" / "t000-r0" / "train")
    scalars = {v.tag for e in train for v in e.summary.value if v.HasField("simple_value")}
    assert {"epoch_loss", "epoch_accuracy", "epoch_learning_rate"} <= scalars
    finals = {v.tag for e in session for v in e.summary.value if v.HasField("simple_value")}
    assert "final/val_accuracy" in finals
    steps = sorted(e.step for e in train for v in e.summary.value if v.tag == "epoch_loss")
    assert steps == list(range(8))  # one per epoch, from 0 as Keras' callback
    plugins = {v.metadata.plugin_data.plugin_name for e in session for v in e.summary.value}
    assert "hparams" in plugins
    config = _events(logdir / "tinygrid")
    assert any(v.tag == "_hparams_/experiment" for e in config for v in e.summary.value)


def test_train_with_tensorboard(tiny, tmp_path):
    result = invoke(
        "train",
        tiny,
        "--runs-dir",
        tmp_path / "r",
        "--tensorboard",
        tmp_path / "tb",
        "--format",
        "json",
    )
    assert result.exit_code == 0, result.output
    run_id = json.loads(result.stdout)["id"]
    for split in ("train", "validation"):
        tags = {v.tag for e in _events(tmp_path / "tb" / run_id / split) for v in e.summary.value}
        assert "epoch_loss" in tags
    result = invoke("train", tiny, "--runs-dir", tmp_path / "r2", "--tensorboard", "/sys/tb")
    assert result.exit_code == 2 and "--tensorboard: cannot write in '/sys/tb'" in result.stderr
    assert not (tmp_path / "r2").exists()


def test_a_regression_runs_logs_hold_its_rmse_and_r2(write, tmp_path):
    config = write(
        "reg.yaml",
        "seed: 1\ndata: {kind: playground, dataset: reg-plane, n_samples: 200}\n"
        "model: {layers: [4]}\ntrain: {epochs: 3, early_stopping: false}\n",
    )
    result = invoke(
        "train", config, "--runs-dir", tmp_path / "r", "--tensorboard", tmp_path / "tb",
        "--format", "json", "-q",
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    run_id = json.loads(result.stdout)["id"]
    history = (tmp_path / "r" / run_id / "history.csv").read_text().splitlines()
    last = dict(zip(history[0].split(","), history[-1].split(","), strict=True))
    for split, prefix in (("train", ""), ("validation", "val_")):
        acc = _accumulator(tmp_path / "tb" / run_id / split)
        assert {"epoch_loss", "epoch_rmse", "epoch_r2"} <= set(acc.Tags()["scalars"])
        for name in ("rmse", "r2"):
            values = acc.Scalars(f"epoch_{name}")
            assert [v.step for v in values] == [0, 1, 2]
            assert values[-1].value == pytest.approx(float(last[prefix + name]), rel=1e-6)


def test_a_searchs_metrics_say_which_way_is_better(search):
    infos = {m.name.tag: m.description for m in _experiment(search).metric_infos}
    assert infos["final/val_accuracy"] == "the search's objective (higher is better)"
    assert infos["final/test_loss"] == "lower is better"
    assert tensorboard._better("val_rmse") == "lower is better"
    assert tensorboard._better("test_r2") == "higher is better"
