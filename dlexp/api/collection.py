"""``Runs``: every run and search under a runs folder, as ``dlexp report`` reads them:
a DataFrame of its rows, filters, iteration over the rows' runs."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

from dlexp.api import html as show
from dlexp.api.run import Run


def filters_of(args: tuple, kwargs: dict) -> tuple[str, ...]:
    """``filter("model.activation=relu", status="completed")`` as the report's
    ``--filter KEY=VALUE`` strings (a keyword's ``__`` stands for a dot)."""
    import json

    out = [str(a) for a in args]
    for key, value in kwargs.items():
        text = value if isinstance(value, str) else json.dumps(value, default=str)
        out.append(f"{key.replace('__', '.')}={text}")
    return tuple(out)


class Runs:
    """The runs and searches under a folder, one row per run or search trial.

    Args:
        root: the runs folder.
        filters: ``KEY=VALUE`` strings, as ``dlexp report --filter`` takes them.

    Raises:
        ConfigError: no such folder, or an unknown filter key.
    """

    def __init__(self, root: str | Path, filters: tuple[str, ...] = ()):
        from dlexp.runs.index import build

        self.root = Path(root)
        self.filters = tuple(filters)
        self._report = build(self.root, self.filters)

    def __repr__(self) -> str:
        return f"Runs({str(self.root)!r}, {len(self)} rows)"

    def __len__(self) -> int:
        return len(self._report.entries)

    def __iter__(self) -> Iterator[Run]:
        """Each row's run: a run, or a search trial's first run folder."""
        return (Run(e.records[0].path) for e in self._report.entries)

    def __getitem__(self, i: int) -> Run:
        return Run(self._report.entries[i].records[0].path)

    @property
    def records(self) -> list[dict]:
        """The records ``dlexp report --format json`` prints: a record per row (kind run
        or trial), then one per search (kind search, with its importances)."""
        from dlexp.report import text

        return text.records(self._report)

    @property
    def df(self):
        """The rows as a ``pandas.DataFrame``: ``id``, ``kind``, ``status``, ``search``,
        ``best``, ``within_noise_of_best``, each hyperparameter (dotted key), each metric
        (``_std`` its spread over repeats) and ``path`` (the row's first run folder), the
        rows and values ``dlexp report --format json`` prints."""
        import pandas as pd

        rows = []
        for e in self._report.entries:
            record = e.record()
            row = {k: record[k] for k in ("id", "kind", "status", "search", "best")}
            row["within_noise_of_best"] = record["within_noise_of_best"]
            row.update(record["hyperparameters"])
            row.update(record["metrics"])
            row["path"] = record["runs"][0] if record["runs"] else None
            rows.append(row)
        return pd.DataFrame.from_records(rows)

    @property
    def searches(self) -> dict:
        """Each search under the folder by name, as a ``dlexp.Search``."""
        from dlexp.api.search import Search

        return {name: Search(info.folder) for name, info in self._report.searches.items()}

    @property
    def warnings(self) -> list[str]:
        """What the report would warn of: damaged or half-written files."""
        return list(self._report.warnings)

    def filter(self, *filters: str, **equal) -> Runs:
        """The rows where each ``KEY=VALUE`` holds, as the report's ``--filter``: a config
        key (``"model.activation=relu"``, or ``model__activation="relu"``), ``status``,
        ``kind`` (run, trial), ``search`` or ``name``.

        Raises:
            ConfigError: an unknown key (with the keys one can filter on).
        """
        return Runs(self.root, self.filters + filters_of(filters, equal))

    def _repr_html_(self) -> str:
        df = self.df
        note = f"{len(self)} rows" + (
            f", filtered by {', '.join(self.filters)}" if self.filters else ""
        )
        if not len(df):
            return show.heading(f"Runs in {self.root}", note) + "<div>no runs</div>"
        shown = ["id", "status", *[c for c in df.columns if c.startswith(("val_", "test_"))][:4]]
        return show.heading(f"Runs in {self.root}", note) + show.frame(df[shown], 20)
