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
        return out if importlib.util.find_spec("ipywidgets") is not None else None
    return out if out.is_terminal else None


def _shown(view):
    """The command line's bars are drawn on a terminal only: in Jupyter, too (rich draws
    them in a widget there; a terminal's control codes are never written)."""
    view.progress.disable = False
    return view


def train_bar(verbose: bool, epochs: int, label: str):
    """The bar over a training's epochs (``cli.display.TrainProgress``: the hook it
    is called as after each epoch), or None."""
    out = console() if verbose else None
    if out is None:
        return None
    from dlexp.cli import display

    return _shown(display.TrainProgress(out, epochs, label))


def search_view(verbose: bool, objective: str):
    """The live view of a search (``cli.display.SearchView``), or None."""
    out = console() if verbose else None
    if out is None:
        return None
    from dlexp.cli import display

    return _shown(display.SearchView(out, objective))


def compare_bar(verbose: bool, epochs: int, runs: int):
    """The bar over a comparison's epochs (``cli.display.CompareProgress``), or None."""
    out = console() if verbose else None
    if out is None:
        return None
    from dlexp.cli import display

    return _shown(display.CompareProgress(out, epochs, runs))


def entered(bar):
    """``bar`` as a context (started and stopped), or a context that does nothing."""
    return bar if bar is not None else contextlib.nullcontext()


def final(line: str) -> None:
    """The one line said when the work is done."""
    print(line, flush=True)
