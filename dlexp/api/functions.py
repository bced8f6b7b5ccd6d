"""The API's functions: ``train``, ``search``, ``load`` and ``compare``, each the code
path of its command (``dlexp train``, ``dlexp search``, ``dlexp report``'s reading,
``dlexp compare``), returning objects instead of printing tables.

Keras is imported by the first call that trains or loads a model, never at import."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path
from typing import Any

from dlexp.api import progress as bars
from dlexp.api.collection import Runs
from dlexp.api.compare import ComparisonResult
from dlexp.api.run import Run
from dlexp.api.search import Search
from dlexp.core.errors import ConfigError


def _runs_dir(runs_dir: str | Path | None) -> Path:
    """``runs_dir``, else $DLEXP_RUNS_DIR, else ``runs`` (as the command line's default)."""
    return Path(runs_dir if runs_dir is not None else os.environ.get("DLEXP_RUNS_DIR", "runs"))


def _config(config: Any, overrides: list[str], name: str | None) -> dict:
    from dlexp.train import plan

    if isinstance(config, Run):
        config = config.path
    if isinstance(config, dict):
        return plan.config_from_dict(config, overrides, name)
    if isinstance(config, (str, Path)):
        path = Path(config)
        if path.is_dir():  # a run or search folder: its config, as `train --from`
            cfg, _ = plan.config_for_train(None, path, False, overrides, name)
            return cfg
        return plan.load_config(path, overrides, name)
    raise ConfigError(
        f"expected a config file's path, a run folder or a dict, got {type(config).__name__}",
        "config",
    )


def train(
    config: str | Path | dict,
    set: dict | list[str] | None = None,  # noqa: A002 - the command line's --set
    runs_dir: str | Path | None = None,
    name: str | None = None,
    repeats: int = 1,
    cv: int | None = None,
    verbose: bool = True,
) -> Run | Runs:
    """Train the network a config describes, as ``dlexp train`` does, into
    ``runs_dir/<run-id>/``.

    Args:
        config: a config file's path, a config as a dict (checked exactly as a file
            is), or a run or search folder (its config; a search's best trial's).
        set: overrides, ``{"train.epochs": 20}`` (or ``["train.epochs=20"]``), as
            ``--set``.
        runs_dir: where run folders go (default: $DLEXP_RUNS_DIR, else ``runs``).
        name: the run's name (default: the config's name, else the file's name).
        repeats: train the seeds seed .. seed+N-1 together, one run folder each.
        cv: cross-validate on this many stratified folds, one run folder each.
        verbose: a progress bar (a terminal or Jupyter) and a final line; False: the
            final line alone.

    Returns:
        The run (``status`` says how it ended: ``completed``, ``diverged``,
        ``failed`` or ``interrupted``), or, with ``repeats`` > 1 or ``cv``, the
        ``Runs`` trained.

    Raises:
        ConfigError: a bad config, override or data file (before any run folder), with
            the one line ``dlexp train`` prints and the key path in ``.path``.
        KeyboardInterrupt: never for an interrupted run: the run ends ``interrupted``
            and is returned.
    """
    from dlexp.train import command, plan

    command.check_counts(repeats, cv)
    plan.check_together(cv, repeats, False)
    cfg = _config(config, plan.overrides_of(set), name)
    runs_dir = _runs_dir(runs_dir)
    dataset = command.load_data(cfg)
    bar = bars.train_bar(verbose, cfg["train"]["epochs"], cfg["name"] or "train")
    with bars.entered(bar):
        outcomes = command.train(cfg, runs_dir, repeats, cv, bar, dataset)
    runs = [Run(o.run.path) for o in outcomes]
    for run in runs:
        bars.final(run.summary_line())
    if len(runs) == 1 and not cv:
        return runs[0]
    return _group(runs_dir, runs)


def _group(runs_dir: Path, runs: list[Run]) -> Runs:
    """The runs just trained, as a Runs collection of them alone."""
    collection = Runs(runs_dir)
    wanted = {r.path.resolve() for r in runs}
    report = collection._report
    report.entries = [e for e in report.entries if e.records[0].path.resolve() in wanted]
    return collection


def _grid_spec(grid: Any, overrides: list[str]):
    """A grid file's spec, or a grid given as a dict (written to a file of its name
    for as long as the spec is loaded, so that it reads exactly as a file does)."""
    from dlexp.search import spec as grid_mod

    if isinstance(grid, (str, Path)):
        return grid_mod.load(grid, overrides), None
    if not isinstance(grid, dict):
        raise ConfigError(
            f"expected a grid file's path or a dict, got {type(grid).__name__}", "grid"
        )
    import yaml

    folder = tempfile.TemporaryDirectory(prefix="dlexp-grid-")
    path = Path(folder.name) / f"{grid.get('name') or 'grid'}.yaml"
    path.write_text(yaml.safe_dump(grid, sort_keys=False), encoding="utf-8")
    try:
        return grid_mod.load(path, overrides), folder
    except ConfigError as exc:
        folder.cleanup()
        if exc.where == f"{path}: ":
            raise exc.located("") from None
        raise
    except Exception:
        folder.cleanup()
        raise


def search(
    grid: str | Path | dict,
    set: dict | list[str] | None = None,  # noqa: A002 - the command line's --set
    runs_dir: str | Path | None = None,
    stack: int | None = None,
    overwrite: bool = False,
    yes: bool = False,
    verbose: bool = True,
) -> Search:
    """Run (or resume) the search a grid file describes, as ``dlexp search`` does, into
    ``runs_dir/<search>/``: trials trained together in stacks (``stack=1``: one Keras
    fit at a time). Running it again resumes an interrupted search.

    Args:
        grid: a grid file's path (a config plus a ``search`` section), or a dict of it.
        set: overrides of the base config, as ``--set``.
        runs_dir: where the search folder goes (default: $DLEXP_RUNS_DIR, else ``runs``).
        stack: most runs trained together (default: as many as fit in memory).
        overwrite: delete an earlier search of this name first.
        yes: run a search of more than 5,000 runs without refusing.
        verbose: the live view (a terminal or Jupyter) and a final line; False: the
            final line alone.

    Returns:
        The search folder; ``status`` says whether it completed or was interrupted.

    Raises:
        ConfigError: a bad grid or override, with the line ``dlexp search`` prints.
    """
    from dlexp.core import interrupt
    from dlexp.search import summary
    from dlexp.train import plan

    if stack is not None and (isinstance(stack, bool) or not isinstance(stack, int) or stack < 1):
        raise ConfigError(f"expected an integer of at least 1, got {stack!r}", "--stack")
    spec, folder = _grid_spec(grid, plan.overrides_of(set))
    try:
        if not yes:
            summary.check_size(spec)
        from dlexp.search import engine  # imports keras-tuner and Keras

        view = bars.search_view(verbose, spec.objective)
        with interrupt.handled():
            outcome = engine.Search(spec, _runs_dir(runs_dir), view, stack=stack).run(
                None, overwrite
            )
    finally:
        if folder is not None:
            folder.cleanup()
    result = Search(outcome.store.root)
    said = f": {outcome.message}" if outcome.message else ""
    bars.final(f"{result.name}: {outcome.status}, {len(outcome.rows)} trials{said} ({result.path})")
    return result


def load(path: str | Path) -> Run | Search | Runs:
    """What a folder holds, read as ``dlexp report`` reads it: a run folder gives a Run,
    a search folder a Search, any other folder the ``Runs`` under it.

    Raises:
        ConfigError: no such folder.
    """
    from dlexp.runs.index import is_run_folder
    from dlexp.runs.select import is_search

    folder = Path(path)
    if folder.is_dir() and is_run_folder(folder):
        return Run(folder)
    if folder.is_dir() and is_search(folder):
        return Search(folder)
    return Runs(folder)


def compare(
    a: str | Path | dict | Run,
    b: str | Path | dict | Run,
    repeats: int = 5,
    runs_dir: str | Path | None = None,
    verbose: bool = True,
) -> ComparisonResult:
    """Train A and B (config files, run folders, Runs or dict configs) on the same
    ``repeats`` seeds and say which is better, as ``dlexp compare`` does.

    Returns:
        The comparison: ``verdict``, ``df`` (each metric's mean difference, its 95%
        interval and p-value), ``a`` and ``b`` (the runs).

    Raises:
        ConfigError: a bad config, a side without validation data, or ``repeats``
            outside 2 .. 1000.
    """
    from dlexp.core import interrupt
    from dlexp.train import plan
    from dlexp.use import compare as compare_mod

    if isinstance(repeats, bool) or not isinstance(repeats, int) or not 2 <= repeats <= 1000:
        raise ConfigError(f"expected an integer from 2 to 1000, got {repeats!r}", "--repeats")
    sides = []
    for side in (a, b):
        if isinstance(side, Run):
            side = side.path
        sides.append(plan.config_from_dict(side) if isinstance(side, dict) else side)
    cfg_a, cfg_b = compare_mod.sides(*sides)
    epochs = compare_mod.epochs(cfg_a, cfg_b, repeats)
    progress = bars.compare_bar(verbose, epochs, 2 * repeats)
    with interrupt.handled(), bars.entered(progress):
        hook = progress.job_hook if progress is not None else None
        outcomes = compare_mod.paired(cfg_a, cfg_b, repeats, _runs_dir(runs_dir), hook)
    result = ComparisonResult(compare_mod.Comparison.of(*outcomes, repeats))
    bars.final(result.verdict)
    return result
