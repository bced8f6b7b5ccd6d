"""What matters in a search, and what is noise.

- **Within noise of the best**: with at least MIN_PAIRS repeats, a trial whose objective
  a paired t-test cannot tell from the best trial's (two-sided, 5%). Paired, because
  repeat r of every point trains with the same seed (and the same data), so the seeds
  pair the runs; with cross-validation, fold k of every point validates on the same
  rows. Two rules keep the mark honest:

  * Fewer than MIN_PAIRS pairs mark nothing, and the search says so once
    (``noise_note``). Below 6 pairs no paired test that does not assume normal noise
    can reach 5% at all (the sign test's smallest two-sided p is 2/2**n: 0.0625 at
    n = 5, and Wilcoxon's signed-rank test's is the same), so a t-test's verdict there
    rests on an assumption the few seeds cannot check; with 3 seeds its threshold is
    4.3 standard errors, and a trial with a wide spread (adadelta, 0.651 ± 0.153) is
    "not told apart" only because its spread is wide.
  * The marks are a prefix of the ranking: walking down from the best, each trial is
    tested until the first one the test tells apart; no trial below it is marked. So a
    worse trial is never marked while a better one is not (the mark is monotone in the
    mean, whatever each trial's own spread).
- **Parameter importance**: scikit-learn's permutation importance of a random forest
  fitted on the trials' searched values (each value coded by its rank among the key's
  values) against their objective: how much the forest's fit (R²) drops when one key's
  values are shuffled. Chosen over fANOVA for needing nothing beyond scikit-learn.
"""

from __future__ import annotations

import math

from dlexp.core.labels import label
from dlexp.runs import folder as runs_mod

MIN_TRIALS = 4  # fewer scored trials say nothing about importance
MIN_PAIRS = 6  # fewer paired repeats (or folds) cannot tell trials apart (see above)


def noise_note(info) -> str | None:
    """Why nothing is marked: too few repeats (or folds) per trial; None otherwise."""
    if info.repeats < 2 or info.repeats >= MIN_PAIRS or len(info.ranked()) < 2:
        return None
    what = "folds" if info.cv else "seeds"
    key = "search.cv" if info.cv else "search.repeats"
    return (
        f"{info.repeats} {what} are too few to tell trials apart; no trial is marked within "
        f"noise of the best (that needs {key}: {MIN_PAIRS} or more)"
    )


def mark_noise(info) -> None:
    """Set ``within_noise`` on the trials a paired t-test cannot tell from the best (see
    the module's docstring): True down the ranking until the first trial it tells
    apart, False from there on; None for all with fewer than MIN_PAIRS repeats, and for
    a trial with fewer than MIN_PAIRS runs paired with the best's."""
    ranked = info.ranked()
    if not ranked or info.repeats < MIN_PAIRS:
        return
    key = runs_mod.objective_key(info.objective)
    best = [r.metric(key) for r in ranked[0].records]
    ranked[0].within_noise = True
    apart = False
    for entry in ranked[1:]:
        if apart:
            entry.within_noise = False
            continue
        other = [r.metric(key) for r in entry.records]
        pairs = [(a, b) for a, b in zip(best, other, strict=False) if None not in (a, b)]
        if len(pairs) < MIN_PAIRS:
            continue
        entry.within_noise = not told_apart([a - b for a, b in pairs])
        apart = not entry.within_noise


def told_apart(diffs: list[float]) -> bool:
    """Whether the paired t-test (two-sided, 5%) says the mean difference is not 0."""
    if all(d == diffs[0] for d in diffs):  # no spread: a difference or none at all
        return diffs[0] != 0
    n = len(diffs)
    mean = sum(diffs) / n
    sd = math.sqrt(sum((d - mean) ** 2 for d in diffs) / (n - 1))
    return abs(mean) / (sd / math.sqrt(n)) >= t_critical(n - 1)


# Student's t two-sided 5% critical values for 1..30 degrees of freedom (any table),
# so that the report needs no SciPy for its table.
_T975 = (
    12.706,
    4.303,
    3.182,
    2.776,
    2.571,
    2.447,
    2.365,
    2.306,
    2.262,
    2.228,
    2.201,
    2.179,
    2.160,
    2.145,
    2.131,
    2.120,
    2.110,
    2.101,
    2.093,
    2.086,
    2.080,
    2.074,
    2.069,
    2.064,
    2.060,
    2.056,
    2.052,
    2.048,
    2.045,
    2.042,
)


def t_critical(df: int) -> float:
    """The paired t-test's threshold at 5% (two-sided) for ``df`` degrees of freedom."""
    return _T975[df - 1] if df <= len(_T975) else 1.96 + 2.37 / df


_FITTED: dict[tuple, dict[str, float]] = {}  # the last fit: the page asks twice per report


def importances(info, keys: list[str]) -> dict[str, float]:
    """Each searched key's permutation importance (see the module's docstring); {} when
    there are too few scored trials or keys. The same trials and keys are fit once."""
    scored = [(e, info.score(e)) for e in info.ranked()]
    if len(scored) < MIN_TRIALS or not keys:
        return {}
    memo = (
        info.name,
        str(info.folder),
        tuple(keys),
        tuple((e.id, s, *(label(e.hyperparameters.get(k)) for k in keys)) for e, s in scored),
    )
    if memo not in _FITTED:
        _FITTED.clear()
        _FITTED[memo] = _fit(scored, keys)
    return dict(_FITTED[memo])


def _fit(scored: list, keys: list[str]) -> dict[str, float]:
    """The forest's permutation importances over (entry, score) pairs."""
    codes = {}
    for k in keys:
        values = list(dict.fromkeys(label(e.hyperparameters.get(k)) for e, _ in scored))
        try:
            values.sort(key=float)
        except ValueError:
            values.sort()
        codes[k] = {v: i for i, v in enumerate(values)}
    x = [[codes[k][label(e.hyperparameters.get(k))] for k in keys] for e, _ in scored]
    y = [float(s) for _, s in scored]
    if max(y) == min(y):
        return {k: 0.0 for k in keys}

    def compute() -> dict[str, float]:
        import numpy as np
        from sklearn.ensemble import RandomForestRegressor
        from sklearn.inspection import permutation_importance

        forest = RandomForestRegressor(n_estimators=100, random_state=0)
        forest.fit(np.array(x), np.array(y))
        result = permutation_importance(
            forest, np.array(x), np.array(y), n_repeats=10, random_state=0
        )
        return {k: round(float(v), 6) for k, v in zip(keys, result.importances_mean, strict=True)}

    # the same trials give the same importances (random_state=0): a second report of
    # a search that has not changed neither imports scikit-learn (nor NumPy) nor fits
    from dlexp.runs.cache import memoized

    return memoized("importances", [keys, x, y], compute)
