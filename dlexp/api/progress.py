"""The API's progress: the command line's rich progress bars, drawn in a terminal and in
Jupyter (rich draws there with ipywidgets), nothing elsewhere; then one final line.
``verbose=False`` gives the final line alone."""

from __future__ import annotations

import contextlib
import importlib.util


def console():
    """The console a progress bar draws on, or None where none can be drawn (output
    piped to a file, or Jupyter without ipywidgets)."""
    from rich.console import Console

    out = Console(stderr=True)
    if out.is_jupyter:
        if importlib.util.find_spec("ipywidgets") is None:
            return None
        return Console(force_terminal=True, force_jupyter=True)
    return out if out.is_terminal else None


def train_bar(verbose: bool, epochs: int, label: str):
    """The bar over a training's epochs (``cli.display.TrainProgress``: the hook it
    is called as after each epoch), or None."""
    out = console() if verbose else None
    if out is None:
        return None
    from dlexp.cli import display

    return display.TrainProgress(out, epochs, label)


def search_view(verbose: bool, objective: str):
    """The live view of a search (``cli.display.SearchView``), or None."""
    out = console() if verbose else None
    if out is None:
        return None
    from dlexp.cli import display

    return display.SearchView(out, objective)


def entered(bar):
    """``bar`` as a context (started and stopped), or a context that does nothing."""
    return bar if bar is not None else contextlib.nullcontext()


def final(line: str) -> None:
    """The one line said when the work is done."""
    print(line, flush=True)
