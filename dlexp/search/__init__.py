"""``dlexp search``: keras-tuner runs the search, dlexp trains each trial into a run folder.

The modules, in the order a search uses them:

- ``spec``: the grid file, validated: the tuner, the objective, the searched keys.
- ``plan``: the points of a grid or random search and their trial names; ``--dry-run``
  (no keras-tuner, no Keras).
- ``store``: the search folder: lock, state, trial folders, results.csv, best.json
  (no keras-tuner).
- ``space``: the searched keys as keras-tuner HyperParameters; random points.
- ``naming``: a trial's folder name (``t007``), from its point or keras-tuner's id.
- ``oracles``: keras-tuner oracles with dlexp's additions.
- ``protocols``: what the search asks of its trainer, its live view and its space.
- ``tuner``: keras-tuner's BaseTuner loop, each trial trained by a trainer (the seam
  where trials are trained: ``dlexp.train.fit.TrialTrainer`` for a stack of 1).
- ``distributed``: the settings of a parallel search; ``chief`` serves the oracle and
  starts workers, ``worker`` is a worker's line to the chief.
- ``engine``: ``Search``, which wires these together.
- ``compat``: every use of keras-tuner's private names.

Nothing is imported here, so ``dlexp search --dry-run`` imports ``plan`` alone.
"""
