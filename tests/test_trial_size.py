"""What a trial keeps on disk: learning.npz's and boundary.npz's planes packed as uint8
and the split's points as uint16 (``runs.folder.pack``), read back by one decoder
(``runs.folder.read_npz``, which ``report.images.load_npz`` is) that reads the float
files of runs from before too; the pictures drawn from either look the same."""

import io
from pathlib import Path

import numpy as np
import pytest
import yaml
from PIL import Image

from dlexp import config, data
from dlexp.report import plots
from dlexp.report.images import LEARNING, load_npz
from dlexp.runs.folder import Run, pack, unpack
from dlexp.train import learning
from dlexp.train.writer import BoundaryGrid

FIXTURES = Path(__file__).parent / "fixtures" / "runs"
PLAIN = "20260101-000000-plain-aaaaaa"  # written before packing: float16 and float32
CFG = """
seed: 3
data: {kind: moons, n_samples: 2000, noise: 0.2}
model: {layers: [8, 8], activation: tanh}
train: {epochs: 20, snapshots: 10, early_stopping: false}
"""


def _png(data: bytes) -> np.ndarray:
    return np.asarray(Image.open(io.BytesIO(data)).convert("RGB"), np.float32)


def _same_to_the_eye(a: bytes, b: bytes) -> None:
    """Two pictures alike: on average under a 255th of a level apart, and at most one
    pixel in 500 (a contour a pixel over) visibly so."""
    a, b = _png(a), _png(b)
    assert a.shape == b.shape
    diff = np.abs(a - b).max(axis=2)
    assert diff.mean() < 1.0 and (diff > 16).mean() < 0.002, (diff.mean(), (diff > 16).mean())


def _save(tmp_path: Path, name: str, arrays: dict) -> Path:
    tmp_path.mkdir(parents=True, exist_ok=True)
    run = Run(tmp_path)
    run.save_npz(name, **arrays)
    return tmp_path / name


@pytest.fixture(scope="module")
def moons():
    cfg = config.resolve(yaml.safe_load(CFG))
    return cfg, data.load(cfg["data"], cfg["seed"])


def _smooth(points: np.ndarray, sharpness: float) -> np.ndarray:
    """A probability over the plane like a moons boundary's: a logistic of a curve."""
    x, y = points[:, 0], points[:, 1]
    return (1 / (1 + np.exp(-sharpness * (y - 0.5 * np.sin(2 * x) - 0.25))))[:, None]


# --- the packing ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("shape", "axes", "dtype"),
    [
        ((9, 60, 60, 1), (1, 2), "uint8"),  # snapshot_proba: each frame's each unit
        ((60, 60, 8), (0, 1), "uint8"),  # hidden_i: each unit's plane
        ((1280, 2), (0,), "uint16"),  # x_train: each coordinate
    ],
)
def test_a_packed_array_decodes_within_half_a_step_of_each_slices_range(shape, axes, dtype):
    rng = np.random.default_rng(0)
    a = (rng.normal(size=shape) * rng.uniform(0.01, 10, size=shape[-1])).astype(np.float32)
    packed = pack("v", a, axes, dtype)
    assert packed["v"].dtype == dtype and packed["v"].nbytes < a.nbytes
    decoded = unpack(packed)
    assert set(decoded) == {"v"} and decoded["v"].shape == a.shape
    span = a.max(axis=axes, keepdims=True) - a.min(axis=axes, keepdims=True)
    err = np.abs(decoded["v"] - a) / (span / np.iinfo(dtype).max)
    assert err.max() <= 0.51  # half a step, and float32's rounding


def test_a_plane_of_little_range_keeps_its_detail_beside_a_wide_one():
    plane = np.linspace(0, 1, 3600, dtype=np.float32).reshape(60, 60)
    a = np.stack([plane * 9, 0.499 + plane * 0.002], axis=-1)  # a wide unit, a flat one
    decoded = unpack(pack("h", a, (0, 1)))["h"]
    assert np.abs(decoded[..., 1] - a[..., 1]).max() <= 0.002 / 255
    assert len(np.unique(decoded[..., 1])) == 256  # all of its levels, not one


def test_a_constant_plane_and_a_diverged_one_come_back_as_they_were():
    flat = np.full((60, 60, 2), 0.25, np.float32)
    np.testing.assert_array_equal(unpack(pack("p", flat, (0, 1)))["p"], flat)
    nan = flat.copy()
    nan[3, 4, 0] = np.nan
    packed = pack("p", nan, (0, 1))
    assert set(packed) == {"p"} and packed["p"].dtype == np.float32  # kept as floats
    np.testing.assert_array_equal(unpack(packed)["p"], nan)


def test_files_from_before_packing_read_as_they_were():
    for name in ("learning.npz", "boundary.npz"):
        path = FIXTURES / PLAIN / name
        with np.load(path) as npz:
            raw = {k: npz[k] for k in npz.files}
        assert any(v.dtype in (np.float16, np.float32) and v.ndim == 3 for v in raw.values())
        read = load_npz(str(path))
        assert set(read) == set(raw)
        for k, v in raw.items():
            assert read[k].dtype == v.dtype
            np.testing.assert_array_equal(read[k], v)


# --- the writer's files, against the floats it wrote before -----------------------------


def test_boundary_npz_is_a_quarter_of_its_floats_and_draws_the_same(moons, tmp_path):
    cfg, d = moons
    grid = BoundaryGrid(d)
    proba = _smooth(grid.points, 4.0)
    new = _save(tmp_path / "new", "boundary.npz", grid.arrays(proba))
    old = {  # as boundary.npz was written before, by hand
        "xs": grid.xs,
        "ys": grid.ys,
        "proba": proba.reshape(120, 120, 1).astype(np.float32),
        "class_names": np.array(d.class_names),
    }
    for split, (x, y) in d.splits().items():
        old[f"x_{split}"], old[f"y_{split}"] = x.astype(np.float32), y.astype(np.int16)
    old_path = _save(tmp_path / "old", "boundary.npz", old)
    assert new.stat().st_size * 3 < old_path.stat().st_size
    a, b = load_npz(str(old_path)), load_npz(str(new))
    assert set(a) == set(b)
    assert np.abs(a["proba"] - b["proba"]).max() <= 0.51 / 255
    span = np.ptp(a["x_train"], axis=0)
    assert (np.abs(a["x_train"] - b["x_train"]) <= span / 65535).all()
    np.testing.assert_array_equal(a["y_train"], b["y_train"])
    _same_to_the_eye(plots.boundary(a), plots.boundary(b))


def test_learning_npz_is_a_fifth_of_its_floats_and_draws_the_same(moons, tmp_path):
    cfg, d = moons
    record = learning.Record(cfg, d)
    epochs = learning.snapshot_epochs(20, 10)
    for e in epochs:
        record.add_frame(e, _smooth(record.grid.points, 0.3 * e))
    rng = np.random.default_rng(1)
    shapes = [(2, 8), (8,), (8, 8), (8,), (8, 1), (1,)]
    weights = [rng.normal(size=s).astype(np.float32) for s in shapes]
    arrays = record.arrays(weights)
    assert arrays["snapshot_proba"].dtype == np.uint8 and arrays["hidden_2"].dtype == np.uint8
    new = _save(tmp_path / "new", "learning.npz", arrays)
    old = unpack(arrays)  # as learning.npz was written before: the planes as float16
    old["snapshot_proba"] = np.stack(record.frames).astype(np.float16)
    hidden = learning.hidden_outputs(record, weights[0:4:2], weights[1:4:2])
    old.update({f"hidden_{i}": h.astype(np.float16) for i, h in enumerate(hidden, 1)})
    old_path = _save(tmp_path / "old", "learning.npz", old)
    assert new.stat().st_size * 4 < old_path.stat().st_size
    for kind in ("learning_strip", "network", "weights"):
        a, b = load_npz(str(old_path), LEARNING[kind]), load_npz(str(new), LEARNING[kind])
        assert set(a) == set(b)
        for k in a:
            if a[k].dtype.kind == "f":
                step = float(np.ptp(a[k].astype(np.float32))) / 255
                assert np.abs(a[k].astype(np.float32) - b[k]).max() <= step + 1e-3, k
        _same_to_the_eye(getattr(plots, kind)(a), getattr(plots, kind)(b))
