"""The notebooks of docs/notebooks/: saved without outputs, as build.py writes them, and
(slow tier) executed top to bottom by a real Jupyter kernel (nbclient + ipykernel)."""

import importlib.util
import json
import os
import sys
import time
from pathlib import Path

import nbformat
import pytest

ROOT = Path(__file__).resolve().parents[1]
FOLDER = ROOT / "docs" / "notebooks"
NOTEBOOKS = sorted(FOLDER.glob("*.ipynb"))
MOST_BYTES = 60_000  # a notebook without outputs is its cells: a few tens of KB at most


def test_the_notebooks_are_there():
    assert {p.stem for p in NOTEBOOKS} >= {"quickstart", "perceptron_to_mlp"}


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_a_saved_notebook_carries_no_outputs_and_is_small(path):
    assert path.stat().st_size < MOST_BYTES, path.stat().st_size
    nb = nbformat.read(path, as_version=4)
    nbformat.validate(nb)
    for i, cell in enumerate(nb.cells):
        if cell.cell_type == "code":
            assert cell.outputs == [] and cell.execution_count is None, (i, cell.source)
        assert "attachments" not in cell, i  # no pasted images either


def test_the_saved_notebooks_are_what_build_py_writes():
    spec = importlib.util.spec_from_file_location("notebooks_build", FOLDER / "build.py")
    build = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(build)
    for name in build.NOTEBOOKS:
        saved = (FOLDER / f"{name}.ipynb").read_text(encoding="utf-8")
        assert saved == build.text(name), f"run `python docs/notebooks/build.py`: {name} is stale"


def _kernel(where: Path) -> str:
    """A kernelspec for this very Python (whatever kernels the machine has), under
    ``where``; its name."""
    spec = where / "kernels" / "dlexp-test"
    spec.mkdir(parents=True)
    argv = [sys.executable, "-m", "ipykernel_launcher", "-f", "{connection_file}"]
    spec.joinpath("kernel.json").write_text(
        json.dumps({"argv": argv, "display_name": "dlexp test", "language": "python"})
    )
    return "dlexp-test"


@pytest.mark.slow
@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_a_notebook_runs_top_to_bottom_in_a_kernel(path, tmp_path, monkeypatch):
    from nbclient import NotebookClient
    from nbclient.exceptions import CellExecutionError

    work = tmp_path / "work"
    work.mkdir()
    monkeypatch.setenv("JUPYTER_PATH", str(tmp_path / "jupyter"))
    monkeypatch.setenv("DLEXP_RUNS_DIR", str(work / "runs"))
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")]))
    name = _kernel(tmp_path / "jupyter")
    nb = nbformat.read(path, as_version=4)
    client = NotebookClient(
        nb, kernel_name=name, timeout=600, resources={"metadata": {"path": str(work)}}
    )
    start = time.perf_counter()
    try:
        client.execute()
    except CellExecutionError as error:
        failed = next(
            (
                (i, c.source)
                for i, c in enumerate(nb.cells)
                if c.cell_type == "code" and any(o.output_type == "error" for o in c.outputs)
            ),
            ("?", ""),
        )
        pytest.fail(f"{path.name}, cell {failed[0]}:\n{failed[1]}\n\n{error}", pytrace=False)
    seconds = time.perf_counter() - start
    print(f"{path.name}: executed in {seconds:.1f} s")
    # a cell ending in run.plot(...) shows its picture inline, as a PNG (dlexp draws its
    # Figures without pyplot, and registers how IPython shows them)
    pictures = [
        i
        for i, c in enumerate(nb.cells)
        if c.cell_type == "code" and ".plot(" in c.source.splitlines()[-1]
    ]
    assert pictures, "the notebook draws nothing"
    for i in pictures:
        shown = [o for o in nb.cells[i].outputs if "image/png" in o.get("data", {})]
        assert shown, (i, nb.cells[i].source, nb.cells[i].outputs)
