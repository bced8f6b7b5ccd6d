"""Writes the notebooks of docs/notebooks/ from the cells below, without outputs.

Run it after editing a cell: ``python docs/notebooks/build.py``. The notebooks are
generated so that they stay tidy (no outputs, no execution counts, stable cell ids,
so a diff shows only what changed); tests/test_notebooks.py checks that the saved
notebooks are what this script writes, and executes them with a Jupyter kernel.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from textwrap import dedent

import nbformat
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from cells_quickstart import CELLS as QUICKSTART  # noqa: E402
from cells_seed import CELLS as SEED  # noqa: E402

NOTEBOOKS = {"quickstart": QUICKSTART, "perceptron_to_mlp": SEED}


def formatted(code: str) -> str:
    """``code`` as ``ruff format`` leaves a notebook cell (the project's lint checks the
    notebooks too), so that the saved notebooks pass ``ruff format --check``. A cell's
    leading IPython magics (``%matplotlib inline``) are kept as they are."""
    lines = code.split("\n")
    magics = 0
    while magics < len(lines) and lines[magics].startswith("%"):
        magics += 1
    head, code = lines[:magics], "\n".join(lines[magics:])
    done = subprocess.run(
        [sys.executable, "-m", "ruff", "format", "--stdin-filename", str(HERE / "cell.py"), "-"],
        input=code,
        capture_output=True,
        text=True,
        check=True,
    )
    return "\n".join([*head, done.stdout.rstrip("\n")])


def notebook(name: str, cells: list[tuple[str, str]]) -> nbformat.NotebookNode:
    """A notebook of ``cells`` (("md" or "code", source) pairs), ids ``<name>-<i>``."""
    made = []
    for i, (kind, source) in enumerate(cells):
        source = dedent(source).strip("\n")
        if kind == "md":
            made.append(new_markdown_cell(source, id=f"{name}-{i}"))
        else:
            made.append(new_code_cell(formatted(source), id=f"{name}-{i}"))
    nb = new_notebook(cells=made)
    nb.metadata = {
        "kernelspec": {"display_name": "Python 3", "language": "python", "name": "python3"},
        "language_info": {"name": "python"},
    }
    nbformat.validate(nb)
    return nb


def text(name: str) -> str:
    """The notebook ``name`` as its .ipynb file holds it."""
    return nbformat.writes(notebook(name, NOTEBOOKS[name])) + "\n"


def main() -> None:
    for name in NOTEBOOKS:
        path = HERE / f"{name}.ipynb"
        path.write_text(text(name), encoding="utf-8")
        print(f"wrote {path}")


if __name__ == "__main__":
    main()
