"""``dlexp search``: keras-tuner runs the search, dlexp trains each trial into a run folder.

The modules, in the order a search uses them:

- ``plan``: the points of a grid or random search and their trial names; ``--dry-run``
  (no keras-tuner, no Keras).
- ``store``: the search folder: lock, state, trial folders, results.csv, best.json
  (no keras-tuner).
- ``space``: the searched keys as keras-tuner HyperParameters; random points.
- ``oracles``: keras-tuner oracles with dlexp's additions.
- ``runner``: keras-tuner's BaseTuner loop, each trial trained by a trainer (the seam
  where trials are trained: ``training.TrialTrainer`` by default).
- ``distributed``: the chief serving the oracle, and worker processes.
- ``engine``: ``Search``, which wires these together.
- ``compat``: every use of keras-tuner's private names.

Nothing is imported here, so ``dlexp search --dry-run`` imports ``plan`` alone.
"""
