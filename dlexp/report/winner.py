"""A search's winner, said honestly: its validation score next to its test score, and
how much of its lead over the median trial is within noise.

The winner is picked on the same validation scores it is reported with, so with N
noisy trials its score is the largest of N noisy draws: biased upward. Two numbers
are honest about it:

- **its test score**, which took no part in the choice;
- **the noise of its lead**: the lead is the winner's objective minus the median
  trial's (the trial halfway down the ranking), oriented so that a lead is positive.
  With repeats (or cross-validation folds) the runs pair up (repeat r of every point
  trains with the same seed; fold k of every point validates on the same rows), so the
  noise is the 95% half-width of the mean paired difference, ``t * sd / sqrt(n)`` with
  :func:`significance.t_critical`. Where the runs do not pair (trials given different
  seeds), the half-width comes from the two trials' seed spreads (Welch's standard
  error, with the fewer runs' degrees of freedom). The share of the lead within noise
  is ``noise / lead`` (at most 100%). With one run per trial the noise cannot be told,
  and the lead is an upper estimate of what the winner is better by.

The trials within noise of the winner are those :func:`significance.mark_noise` marks
(a paired t-test, with at least ``significance.MIN_PAIRS`` repeats or folds).

Only the ranking's trials can win (``SearchInfo.ranked``: completed with a score), so a
trial that failed, diverged or was stopped early by the search never does. Reads the
report's rows only: no Keras.
"""

from __future__ import annotations

import math
import statistics
from dataclasses import asdict, dataclass, field

from dlexp.report.significance import MIN_PAIRS, t_critical
from dlexp.runs import folder as runs_mod


@dataclass
class Winner:
    """A search's best trial and how far its lead can be trusted (see the module)."""

    search: str
    trial: str  # t007 (the report's row id is ``search/trial``)
    objective: str
    direction: str  # max | min
    score: float  # the objective: what picked it
    scores: dict[str, float | None] = field(default_factory=dict)  # val_accuracy, test_...
    trials: int = 1  # scored trials it was picked among
    median_trial: str | None = None
    lead: float | None = None  # over the median trial, > 0 when ahead
    noise: float | None = None  # the lead's 95% half-width
    noise_from: str | None = None  # "paired difference over 6 seeds", "seed spread ..."
    noise_share: float | None = None  # of the lead, within noise (0..1)
    within_noise: int | None = None  # other trials the paired test cannot tell from it
    runs: int = 1  # runs per trial: repeats or folds
    cv: bool = False
    note: str | None = None  # why the noise (or the count) is not known

    def record(self) -> dict:
        """The JSON object (``dlexp report --format json``'s search record, ``dlexp
        search --format json``): every field, with ``text``, the lines :meth:`lines` says."""
        return {**asdict(self), "text": self.lines()}

    def lines(self) -> list[str]:
        """What the report and ``dlexp search`` print: the scores, then the lead."""
        metric = self.objective_key.split("_", 1)[1]
        keys = list(dict.fromkeys((self.objective_key, *_splits(metric))))
        said = ", ".join(f"{k} {_num(self.scores.get(k))}" for k in keys)
        out = [f"best trial {self.trial}: {said}"]
        if self.lead is None:
            out.append(self.note or "one scored trial: no lead to weigh")
            return out
        lead = f"lead over the median trial ({self.median_trial}) {_num(self.lead)}"
        if self.noise is None:
            out.append(f"{lead}; {self.note}")
            return out
        share = self.noise_share if self.noise_share is not None else 1.0
        said = "the whole lead is" if share >= 1 else f"{share:.0%} of the lead is"
        out.append(
            f"{lead}, noise (95% half-width of the {self.noise_from}) {_num(self.noise)}: "
            f"{said} within noise"
        )
        if self.within_noise is not None:
            what = "folds" if self.cv else "seeds"
            out.append(
                f"{self.within_noise} other trials within noise of the best (a paired t-test "
                f"over {self.runs} {what} cannot tell them apart at 5%)"
            )
        elif self.note:
            out.append(self.note)
        return out

    @property
    def objective_key(self) -> str:
        return runs_mod.objective_key(self.objective)


def _splits(metric: str) -> tuple[str, str]:
    return f"val_{metric}", f"test_{metric}"


def _num(value: float | None) -> str:
    if value is None or not math.isfinite(value):
        return "-"
    return f"{value:.3f}" if value == 0 or abs(value) >= 0.001 else f"{value:.2g}"


def _by_run(entry, key: str) -> dict[str, float]:
    """A trial's runs' values of ``key``, by what sets the run apart within its trial
    (``-r3``, ``-f1``; '' for a trial of one run): repeat r and fold k of every trial
    pair up."""
    out = {}
    for r in entry.records:
        value = r.metric(key)
        if value is not None:
            out[r.name.removeprefix(r.trial or "")] = value
    return out


def half_width(diffs: list[float]) -> float:
    """The 95% half-width of the mean of ``diffs`` (at least 2): t * sd / sqrt(n)."""
    n = len(diffs)
    return t_critical(n - 1) * statistics.stdev(diffs) / math.sqrt(n)


def welch_half_width(a: list[float], b: list[float]) -> float:
    """The 95% half-width of mean(a) - mean(b) for unpaired runs (each at least 2),
    with the fewer runs' degrees of freedom (a cautious Welch)."""
    se = math.sqrt(statistics.variance(a) / len(a) + statistics.variance(b) / len(b))
    return t_critical(min(len(a), len(b)) - 1) * se


def winner(info) -> Winner | None:
    """The winner of a search (``runs.index.SearchInfo``, its trials read and marked by
    ``runs.index.build``), or None when no trial has a score."""
    ranked = info.ranked()
    if not ranked or not info.objective:
        return None
    best = ranked[0]
    key = runs_mod.objective_key(info.objective)
    metric = key.split("_", 1)[1]
    sign = 1.0 if info.direction == "max" else -1.0
    what = "folds" if info.cv else "seeds"
    out = Winner(
        search=info.name,
        trial=best.id.split("/")[-1],
        objective=info.objective,
        direction=info.direction,
        score=info.score(best),
        scores={k: best.metrics.get(k) for k in dict.fromkeys((key, *_splits(metric)))},
        trials=len(ranked),
        runs=info.repeats,
        cv=bool(info.cv),
    )
    if len(ranked) < 2:
        return out
    median = ranked[len(ranked) // 2]
    out.median_trial = median.id.split("/")[-1]
    out.lead = sign * (info.score(best) - info.score(median))
    mine, theirs = _by_run(best, key), _by_run(median, key)
    paired = [sign * (mine[k] - theirs[k]) for k in mine if k in theirs]
    if len(paired) >= 2:
        out.noise = half_width(paired)
        out.noise_from = f"paired difference over {len(paired)} {what}"
    elif len(mine) >= 2 and len(theirs) >= 2:
        out.noise = welch_half_width(list(mine.values()), list(theirs.values()))
        out.noise_from = f"seed spread over {len(mine)} and {len(theirs)} seeds"
    else:
        out.note = (
            "the noise cannot be told from one seed (search.repeats or search.cv: 2 or "
            "more tells it), so the lead is an upper estimate"
        )
        return out
    out.noise_share = 1.0 if out.lead <= 0 else min(1.0, out.noise / out.lead)
    if info.repeats >= MIN_PAIRS:
        out.within_noise = sum(e.within_noise is True for e in ranked[1:])
    else:
        key_name = "search.cv" if info.cv else "search.repeats"
        out.note = (
            f"trials within noise of the best: not counted, {info.repeats} {what} are too "
            f"few ({key_name}: {MIN_PAIRS} or more)"
        )
    return out


def of_search(folder) -> Winner | None:
    """The winner of the search in ``folder`` (a search folder, read as ``dlexp report``
    reads it), or None when no trial has a score yet."""
    from dlexp.runs.index import build

    searches = build(folder).searches
    return winner(next(iter(searches.values()))) if searches else None
