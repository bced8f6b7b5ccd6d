"""What matters in a search, and what is noise.

- **Within noise of the best**: with repeats, a trial whose objective a paired t-test
  cannot tell from the best trial's (two-sided, 5%). Paired, because repeat r of every
  point trains with the same seed (and the same data), so the seeds pair the runs.
- **Parameter importance**: scikit-learn's permutation importance of a random forest
  fitted on the trials' searched values (each value coded by its rank among the key's
  values) against their objective: how much the forest's fit (R²) drops when one key's
  values are shuffled. Chosen over fANOVA for needing nothing beyond scikit-learn.
"""

from __future__ import annotations

import math

from dlexp import runs as runs_mod
from dlexp.labels import label

NOISE_P = 0.05  # the paired t-test's level
MIN_TRIALS = 4  # fewer scored trials say nothing about importance


def mark_noise(info) -> None:
    """Set ``within_noise`` on the trials a paired t-test cannot tell from the best."""
    ranked = info.ranked()
    if not ranked or info.repeats < 2:
        return
    key = runs_mod.objective_key(info.objective)
    best = [r.metric(key) for r in ranked[0].records]
    ranked[0].within_noise = True
    for entry in ranked[1:]:
        other = [r.metric(key) for r in entry.records]
        pairs = [(a, b) for a, b in zip(best, other, strict=False) if None not in (a, b)]
        if len(pairs) < 2:
            continue
        diffs = [a - b for a, b in pairs]
        if all(d == diffs[0] for d in diffs):  # no spread: a difference or none at all
            entry.within_noise = diffs[0] == 0
            continue
        from scipy import stats

        p = stats.ttest_rel([a for a, _ in pairs], [b for _, b in pairs]).pvalue
        entry.within_noise = bool(math.isfinite(p) and p >= NOISE_P)


def importances(info, keys: list[str]) -> dict[str, float]:
    """Each searched key's permutation importance (see the module's docstring); {} when
    there are too few scored trials or keys."""
    scored = [(e, info.score(e)) for e in info.ranked()]
    if len(scored) < MIN_TRIALS or not keys:
        return {}
    import numpy as np
    from sklearn.ensemble import RandomForestRegressor
    from sklearn.inspection import permutation_importance

    codes = {}
    for k in keys:
        values = list(dict.fromkeys(label(e.hyperparameters.get(k)) for e, _ in scored))
        try:
            values.sort(key=float)
        except ValueError:
            values.sort()
        codes[k] = {v: i for i, v in enumerate(values)}
    x = np.array([[codes[k][label(e.hyperparameters.get(k))] for k in keys] for e, _ in scored])
    y = np.array([s for _, s in scored])
    if np.ptp(y) == 0:
        return {k: 0.0 for k in keys}
    forest = RandomForestRegressor(n_estimators=200, random_state=0, min_samples_leaf=1)
    forest.fit(x, y)
    result = permutation_importance(forest, x, y, n_repeats=10, random_state=0)
    return {k: round(float(v), 6) for k, v in zip(keys, result.importances_mean, strict=True)}
