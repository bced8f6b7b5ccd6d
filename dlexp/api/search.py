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
    def winner(self) -> dict | None:
        """The best trial said honestly, as ``dlexp report --format json``'s search record
        holds it: its validation and test score (``scores``), its ``lead`` over the median
        trial, the lead's ``noise`` (95% half-width; None from one seed) and
        ``noise_share``, the trials ``within_noise`` of it, and ``text``, the report's
        lines; None when no trial has a score yet."""
        from dlexp.report.winner import winner

        best = winner(self._info())
        return best.record() if best else None

    @property
    def importance(self) -> dict[str, float]:
        """Each searched key's permutation importance for the objective, as the report
        computes it (``dlexp report --format json``); {} with too few scored trials."""
        info, keys, _ = self._scored()
        return _importances(info, keys)

    def _scored(self) -> tuple:
        from dlexp.core.labels import label

        info = self._info()
        keys = [
            k for k in info.keys if len({label(e.hyperparameters.get(k)) for e in info.entries}) > 1
        ]
        rows = [
            {**{k: e.hyperparameters.get(k) for k in keys}, "score": info.score(e)}
            for e in info.ranked()
        ]
        return info, keys, rows

    def plot(self, kind: str = "params"):
        """One of the report's pictures of this search, as a ``matplotlib.figure.Figure``
        (shown inline in a notebook): ``params`` (the objective against each searched
        value), ``heatmap`` (the two keys with the most values), ``importance`` or
        ``parallel`` (every trial across the searched keys).

        Raises:
            ConfigError: an unknown kind, no scored trial yet, or too few varying keys.
        """
        from dlexp.core.errors import unknown_name
        from dlexp.core.labels import label
        from dlexp.report import plots

        kinds = ("params", "heatmap", "importance", "parallel")
        if kind not in kinds:
            raise unknown_name("kind", kind, list(kinds))
        info, keys, rows = self._scored()
        if not rows or not keys:
            raise ConfigError(f"{self.path}: no scored trial over a varying key yet", "kind")
        if kind == "params":
            fig = plots.objective_vs_params_figure(rows, keys, info.objective)
        elif kind == "parallel":
            fig = plots.parallel_figure(rows, keys, info.objective)
        elif len(keys) < 2:
            raise ConfigError(f"{self.path}: {kind} needs two searched keys that vary", "kind")
        elif kind == "heatmap":
            by_size = sorted(keys, key=lambda k: -len({label(r[k]) for r in rows}))
            fig = plots.heatmap_figure(rows, by_size[0], by_size[1], info.objective)
        else:
            weights = _importances(info, keys)
            if not weights:
                raise ConfigError(f"{self.path}: too few scored trials for importance", "kind")
            fig = plots.importance_figure(weights, info.objective)
        return show.inline(fig)

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


def _importances(info, keys: list[str]) -> dict[str, float]:
    from dlexp.report.significance import importances

    return importances(info, keys) if info.objective else {}
