#!/usr/bin/env python3
"""Compare two run folders, or two runs dirs, written by two versions of dlexp (a
refactor's check that nothing changed: issue 16 compared 9ce1032's runs with its own).

    same_runs.py OLD NEW

OLD and NEW are each a run folder (holds run.json) or any folder above run folders (a
runs dir, a search's folder). Folders are paired by name; a run folder's timestamped
name (20261203-150337-moons-36ab01) is paired by its run name (moons).

Every file present in either side must be present in both, and:

- .json / .yaml / .yml: equal after dropping time-, pid-, host- and path-like fields,
  chosen by key name (DROP_KEYS; and ``id`` when its value is a timestamped run id);
  string values have each side's root folder replaced by <ROOT>, and the time in a
  timestamped run id (a stack's group names its runs by id) replaced by <time>.
- .csv: equal after dropping the columns named in DROP_KEYS.
- .npz: the same arrays, each exactly equal (NaN equal to NaN).
- .keras (a zip): config.json equal as JSON (after the drops), metadata.json equal
  after dropping date_saved, every array of model.weights.h5 exactly equal.
- anything else: byte for byte.

Prints every difference and a count of what was dropped; exits 1 on a difference.
"""

from __future__ import annotations

import csv
import io
import json
import re
import sys
import tempfile
import zipfile
from collections import Counter
from pathlib import Path

import numpy as np
import yaml

# time-, pid-, host- and path-like keys (JSON/YAML keys and CSV columns)
DROP_KEYS = {
    "started",
    "ended",
    "duration_s",
    "seconds",
    "fit_seconds",
    "date_saved",
    "search_start",
    "trial_start",
    "pid",
    "host",
    "hostname",
    "command",
    "cwd",
    # Keras' config.json: id() of the shared dtype policy, a memory address of the process
    "shared_object_id",
}
# drawn at random by keras-tuner in every process, old code and new (its grid oracle is
# not seeded by dlexp: two runs of the old code differ here too)
DROP_IN_FILE = {"oracle.json": {"seed", "seed_state"}}
# a Python set that keras-tuner writes as a list: its order follows string hashing,
# random per process; compared sorted
SETS_IN_FILE = {"oracle.json": {"tried_so_far"}}
RUN_ID = re.compile(r"^\d{8}-\d{6}-(.*)-[0-9a-f]{6}$")
IN_TEXT = re.compile(r"\b\d{8}-\d{6}-([\w.-]*?)-[0-9a-f]{6}\b")  # run ids in a string

dropped: Counter = Counter()
problems: list[str] = []


def run_name(name: str) -> str:
    m = RUN_ID.match(name)
    return m.group(1) if m else name


def clean(obj, roots: tuple[str, ...], where: str = ""):
    """obj without the dropped keys, roots replaced in strings."""
    if isinstance(obj, dict):
        out = {}
        extra = DROP_IN_FILE.get(where.rstrip(":"), set())
        for k, v in obj.items():
            timestamped = k == "id" and isinstance(v, str) and RUN_ID.match(v)
            if k in DROP_KEYS or k in extra or timestamped:
                dropped[f"{where}{k}"] += 1
                continue
            if k in SETS_IN_FILE.get(where.rstrip(":"), set()) and isinstance(v, list):
                dropped[f"{where}{k} (order)"] += 1
                v = sorted(v)
            out[k] = clean(v, roots, where)
        return out
    if isinstance(obj, list):
        return [clean(v, roots, where) for v in obj]
    if isinstance(obj, str):
        if IN_TEXT.search(obj):  # a stack's group names its runs by their timestamped ids
            dropped[f"{where}<timestamp of a run id>"] += 1
            obj = IN_TEXT.sub(r"<time>-\1", obj)
        for root in roots:
            if root in obj:
                dropped[f"{where}<path {root}>"] += 1
                obj = obj.replace(root, "<ROOT>")
        return obj
    return obj


def first_diff(a, b, path="") -> str:
    if type(a) is not type(b):
        return f"{path or '.'}: {a!r} != {b!r}"
    if isinstance(a, dict):
        for k in list(dict.fromkeys([*a, *b])):
            if k not in a or k not in b:
                return f"{path}.{k}: only in {'new' if k not in a else 'old'}"
            d = first_diff(a[k], b[k], f"{path}.{k}")
            if d:
                return d
        if list(a) != list(b):
            return f"{path or '.'}: key order {list(a)} != {list(b)}"
        return ""
    if isinstance(a, list):
        if len(a) != len(b):
            return f"{path}: length {len(a)} != {len(b)}"
        for i, (x, y) in enumerate(zip(a, b, strict=False)):
            d = first_diff(x, y, f"{path}[{i}]")
            if d:
                return d
        return ""
    return "" if a == b or (a != a and b != b) else f"{path or '.'}: {a!r} != {b!r}"


def same_tree(a, b, what: str) -> None:
    d = first_diff(a, b)
    if d:
        problems.append(f"{what}: {d}")


def load_structured(path: Path):
    text = path.read_text()
    return json.loads(text) if path.suffix == ".json" else yaml.safe_load(text)


def csv_rows(path: Path, kind: str):
    rows = list(csv.reader(io.StringIO(path.read_text())))
    if not rows:
        return rows
    keep = [i for i, c in enumerate(rows[0]) if c not in DROP_KEYS]
    for c in rows[0]:
        if c in DROP_KEYS:
            dropped[f"{kind}:{c}"] += 1
    return [[r[i] for i in keep if i < len(r)] for r in rows]


def same_arrays(a: dict, b: dict, what: str) -> None:
    if sorted(a) != sorted(b):
        problems.append(f"{what}: arrays {sorted(a)} != {sorted(b)}")
        return
    for k in a:
        x, y = np.asarray(a[k]), np.asarray(b[k])
        if x.dtype != y.dtype or x.shape != y.shape:
            problems.append(f"{what}[{k}]: {x.dtype}{x.shape} != {y.dtype}{y.shape}")
        elif x.dtype.kind in "fc":
            if not np.array_equal(x, y, equal_nan=True):
                problems.append(f"{what}[{k}]: max |diff| {np.nanmax(np.abs(x - y))}")
        elif not np.array_equal(x, y):
            problems.append(f"{what}[{k}]: differs")


def h5_arrays(data: bytes) -> dict:
    import h5py

    out = {}
    with tempfile.NamedTemporaryFile(suffix=".h5") as tmp:
        tmp.write(data)
        tmp.flush()
        with h5py.File(tmp.name, "r") as f:
            f.visititems(
                lambda name, obj: (
                    out.__setitem__(name, obj[()]) if isinstance(obj, h5py.Dataset) else None
                )
            )
    return out


def compare_keras(a: Path, b: Path, what: str, roots) -> None:
    with zipfile.ZipFile(a) as za, zipfile.ZipFile(b) as zb:
        na, nb = sorted(za.namelist()), sorted(zb.namelist())
        if na != nb:
            problems.append(f"{what}: members {na} != {nb}")
            return
        for name in na:
            da, db = za.read(name), zb.read(name)
            if name.endswith(".json"):
                same_tree(
                    clean(json.loads(da), roots[0], "keras:"),
                    clean(json.loads(db), roots[1], "keras:"),
                    f"{what}/{name}",
                )
            elif name.endswith(".h5"):
                same_arrays(h5_arrays(da), h5_arrays(db), f"{what}/{name}")
            elif da != db:
                problems.append(f"{what}/{name}: bytes differ")


def compare_file(a: Path, b: Path, what: str, roots) -> None:
    suffix = a.suffix
    if suffix in (".json", ".yaml", ".yml"):
        kind = f"{a.name}:"
        same_tree(
            clean(load_structured(a), roots[0], kind),
            clean(load_structured(b), roots[1], kind),
            what,
        )
    elif suffix == ".csv":
        ra, rb = csv_rows(a, a.name), csv_rows(b, b.name)
        if ra != rb:
            lines = [i for i, (x, y) in enumerate(zip(ra, rb, strict=False)) if x != y]
            problems.append(
                f"{what}: {len(ra)} vs {len(rb)} rows; first differing line "
                f"{lines[0] if lines else min(len(ra), len(rb))}"
            )
    elif suffix == ".npz":
        with np.load(a, allow_pickle=False) as fa, np.load(b, allow_pickle=False) as fb:
            same_arrays(dict(fa), dict(fb), what)
    elif suffix == ".keras":
        compare_keras(a, b, what, roots)
    elif a.read_bytes() != b.read_bytes():
        problems.append(f"{what}: bytes differ")


def compare_dir(a: Path, b: Path, what: str, roots) -> int:
    def entries(d: Path) -> dict[str, list[Path]]:
        out: dict[str, list[Path]] = {}
        for p in sorted(d.iterdir()):
            out.setdefault(run_name(p.name) if p.is_dir() else p.name, []).append(p)
        return out

    ea, eb = entries(a), entries(b)
    n = 0
    for key in sorted(set(ea) | set(eb)):
        if key not in ea or key not in eb:
            problems.append(f"{what}/{key}: only in {'old' if key in ea else 'new'}")
            continue
        if len(ea[key]) != len(eb[key]):
            problems.append(f"{what}/{key}: {len(ea[key])} vs {len(eb[key])} entries")
            continue
        for pa, pb in zip(ea[key], eb[key], strict=True):
            sub = f"{what}/{key}"
            if pa.is_dir() and pb.is_dir():
                n += compare_dir(pa, pb, sub, roots)
            elif pa.is_file() and pb.is_file():
                compare_file(pa, pb, sub, roots)
                n += 1
            else:
                problems.append(f"{sub}: a file on one side, a folder on the other")
    return n


def main() -> int:
    if len(sys.argv) != 3:
        print(__doc__)
        return 2
    a, b = Path(sys.argv[1]).resolve(), Path(sys.argv[2]).resolve()
    roots = ((str(a),), (str(b),))
    n = compare_dir(a, b, ".", roots)
    print(f"compared {n} files in {a} and {b}")
    print("dropped (field: times):")
    for k, c in sorted(dropped.items()):
        print(f"  {k}: {c}")
    if problems:
        print(f"{len(problems)} DIFFERENCES:")
        for p in problems[:200]:
            print("  " + p)
        return 1
    print("IDENTICAL (but for the dropped fields)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
