"""``Search``: a search folder as Python sees it: its trials as a DataFrame
(results.csv), the best trial as a Run, its config ready to train, and what mattered.

Read from the folder when asked, as ``dlexp report`` reads it: a search another
process is still writing gives the trials finished so far, never a half-written one."""

from __future__ import annotations

from pathlib import Path

from dlexp.api import html as show
from dlexp.api.run import Run
from dlexp.core.errors import ConfigError


class Search:
    """A search folder (``RUNS_DIR/<search>/``, as ``dlexp search`` writes one).

    Args:
        path: the search folder (it holds search.yaml).

    Raises:
        ConfigError: ``path`` is not a search folder.
    """

    def __init__(self, path: str | Path):
        from dlexp.runs.select import is_search

        self.path = Path(path)
        if not self.path.is_dir() or not is_search(self.path):
            raise ConfigError(f"{self.path}: not a search folder (it holds no search.yaml)")

    def __repr__(self) -> str:
        return f"Search({str(self.path)!r}, status={self.status!r})"

    @property
    def name(self) -> str:
        """The search's name (its folder's)."""
        return self.path.name

    @property
    def status(self) -> str:
        """search.json's status: ``running``, ``completed``, ``interrupted``, ``failed``
        (``unknown`` when it says nothing readable)."""
        from dlexp.runs.select import search_status

        return search_status(self.path)

    def _info(self):
        from dlexp.runs.index import build

        return next(iter(build(self.path).searches.values()))

    @property
    def objective(self) -> str | None:
        """What the search ranks its trials by (``val_accuracy``, ``val_loss`` ...)."""
        return self._info().objective

    @property
    def results(self):
        """results.csv as a ``pandas.DataFrame``: one row per trial (its searched
        values, status, the objective and each metric's mean); empty before a first
        trial ends. The file is rewritten whole after each trial, never half."""
        import pandas as pd

        path = self.path / "results.csv"
        if not path.is_file() or not path.stat().st_size:
            return pd.DataFrame()
        return pd.read_csv(path)

    def trials(self) -> list[Run]:
        """Every trial's (first) run folder, as a Run, in trial order; finished or not."""
        return [Run(e.records[0].path) for e in self._info().entries]

    def _best(self) -> dict:
        from dlexp.runs.select import best

        return best(self.path)[0]

    @property
    def best(self) -> Run:
        """The best trial (by the objective) as a Run: its first run folder (a trial of
        several repeats or folds has one each).

        Raises:
            ConfigError: no trial has completed with a score yet.
        """
        trial = self._best()["trial"]
        folder = self.path / "trials" / trial
        if not folder.is_dir():
            folder = sorted(p for p in self.path.glob(f"trials/{trial}-*") if p.is_dir())[0]
        return Run(folder)

    @property
    def best_config(self) -> dict:
        """The best trial's config, resolved and ready to train (``dlexp.train(s.best_config)``),
        as ``dlexp best`` gives it.

        Raises:
            ConfigError: no trial has completed with a score yet.
        """
        return self._best()["config"]

    @property
    def importance(self) -> dict[str, float]:
        """Each searched key's permutation importance for the objective, as the report
        computes it (``dlexp report --format json``); {} with too few scored trials."""
        from dlexp.core.labels import label
        from dlexp.report.significance import importances

        info = self._info()
        keys = [
            k for k in info.keys if len({label(e.hyperparameters.get(k)) for e in info.entries}) > 1
        ]
        return importances(info, keys) if info.objective else {}

    def _repr_html_(self) -> str:
        info = self._info()
        ranked = info.ranked()
        note = f"{self.status}, {len(info.entries)} trials, objective {info.objective}"
        parts = [show.heading(f"Search {self.name}", note)]
        if ranked:
            rows = []
            for e in ranked[:10]:
                values = [e.hyperparameters.get(k) for k in info.keys]
                rows.append([e.id.split("/")[-1], *map(_cell, values), info.score(e)])
            parts.append(show.table(["trial", *info.keys, info.objective or "score"], rows))
            if len(ranked) > 10:
                parts.append(f'<div style="color:#777">... {len(ranked) - 10} more trials</div>')
        else:
            parts.append("<div>no trial has completed with a score yet</div>")
        return "".join(parts)


def _cell(value):
    from dlexp.core.labels import label

    return (
        value if isinstance(value, (int, float)) and not isinstance(value, bool) else label(value)
    )
