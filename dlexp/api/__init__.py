"""dlexp's Python API: the functions ``train``, ``search``, ``load`` and ``compare``
and what they return (``Run``, ``Search``, ``Runs``, ``ComparisonResult``), for
notebooks and scripts. They call what the commands call, so a run trained here is the
run ``dlexp train`` writes. ``import dlexp`` loads none of this until it is used."""

from dlexp.api.collection import Runs
from dlexp.api.compare import ComparisonResult
from dlexp.api.functions import compare, load, search, train
from dlexp.api.run import Run
from dlexp.api.search import Search

__all__ = ["ComparisonResult", "Run", "Runs", "Search", "compare", "load", "search", "train"]
