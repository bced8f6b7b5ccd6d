"""``dlexp report``: compare runs and searches in a table, as JSON/CSV, and as an HTML page.

- :mod:`dlexp.runs.index` reads run and search folders into rows (:func:`build`);
- :mod:`dlexp.report.text` shows them as a rich table, JSON records or CSV;
- :mod:`dlexp.report.html` writes the HTML page (a Jinja2 template), its parts described
  by :mod:`dlexp.report.sections` and :mod:`dlexp.report.search_section`;
  :mod:`dlexp.report.images` names and draws its pictures with :mod:`dlexp.report.plots`.

Reads run folders only (``dlexp.runs.folder``): never TensorFlow, Keras or keras-tuner.
"""

from dlexp.core.labels import label
from dlexp.report.text import SPLITS, limited, records, table, table_metrics, to_csv
from dlexp.runs.index import (
    BUILTIN_FILTERS,
    Entry,
    Report,
    SearchInfo,
    build,
    flatten,
    settings,
    settings_text,
    sort_direction,
)

__all__ = [
    "BUILTIN_FILTERS",
    "PLOTS_VERSION",
    "SPLITS",
    "TOP_TRIALS",
    "Entry",
    "Report",
    "SearchInfo",
    "build",
    "flatten",
    "label",
    "limited",
    "records",
    "settings",
    "settings_text",
    "sort_direction",
    "table",
    "table_metrics",
    "to_csv",
    "write_html",
]

_LAZY = {"TOP_TRIALS": "dlexp.report.html", "write_html": "dlexp.report.html"}
_LAZY["PLOTS_VERSION"] = "dlexp.report.images"


def __getattr__(name: str):
    """The page's names, imported when first used: the table and JSON do without the
    page's modules (and NumPy)."""
    if name in _LAZY:
        import importlib

        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'dlexp.report' has no attribute {name!r}")
