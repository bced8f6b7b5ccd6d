"""``dlexp.compare``'s result: the paired comparison ``dlexp compare`` makes
(``use.compare.Comparison``), with its statistics as a DataFrame and a notebook display."""

from __future__ import annotations

from dlexp.api import html as show
from dlexp.api.run import Run


class ComparisonResult:
    """Two configs trained on the same seeds, and what the difference says.

    Attributes:
        comparison: the ``dlexp.use.compare.Comparison`` the command line prints.
    """

    def __init__(self, comparison):
        self.comparison = comparison

    def __repr__(self) -> str:
        return f"ComparisonResult(verdict={self.verdict!r})"

    @property
    def verdict(self) -> str:
        """The one sentence on the main metric (val_accuracy; for regression val_rmse,
        val_r2 or val_mae; else val_loss): which side is better, or that the seeds
        cannot tell them apart."""
        return self.comparison.verdict

    @property
    def repeats(self) -> int:
        """The paired seeds each side trained on."""
        return self.comparison.repeats

    @property
    def df(self):
        """Each metric's statistics as a ``pandas.DataFrame`` (one row per metric: the
        means of A and B, the mean difference B - A, its 95% interval and the paired
        t-test's p-value), the rows ``dlexp compare --format json`` prints."""
        import pandas as pd

        return pd.DataFrame.from_records(self.comparison.to_json()["metrics"])

    @property
    def a(self) -> list[Run]:
        """A's runs, one per seed."""
        return [Run(o.run.path) for o in self.comparison.a]

    @property
    def b(self) -> list[Run]:
        """B's runs, one per seed."""
        return [Run(o.run.path) for o in self.comparison.b]

    def to_json(self) -> dict:
        """What ``dlexp compare --format json`` prints."""
        return self.comparison.to_json()

    def _repr_html_(self) -> str:
        df = self.df
        return (
            show.heading("Comparison", f"{self.repeats} paired seeds")
            + f"<div>{show.html.escape(self.verdict)}</div>"
            + show.frame(df, 20)
        )
