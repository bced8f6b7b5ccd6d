"""Seed racing: ``search.race: {seeds: N, alpha: 0.05}``.

Every point trains on 2 seeds; then, round after round, one more seed is trained (all
of a round's runs stacked) only for the points that a paired t-test cannot yet tell
from the best point (two-sided, at ``alpha``), up to N seeds: F-race's idea
(Birattari et al. 2002), with the paired t-test dlexp's report uses. Seed r of every
point trains with the same seed and the same data, so the seeds pair the runs.

The race's state is the trial folders themselves: which points are still racing is
worked out again from their scores before each round (``standings``), so a race
resumes after Ctrl-C or ``kill -9`` as any grid does, and ``race.json`` (written
after each round) only says what the folders say: per point, its seeds, and whether
it is still within noise of the best or was told apart (and at which seed).

Plain Python: ``engine.Search`` runs the rounds (``Search._race``).
"""

from __future__ import annotations

import math
import statistics
from dataclasses import dataclass

from dlexp import config as config_mod
from dlexp.core.errors import ConfigError, bad_value, unknown_key
from dlexp.core.files import write_json

KEYS = ("seeds", "alpha")
FIRST = 2  # the seeds every point trains on before any is told apart
MAX_SEEDS = 1000


@dataclass(frozen=True)
class RaceSpec:
    seeds: int = 10
    alpha: float = 0.05

    def resolved(self) -> dict:
        return {"seeds": self.seeds, "alpha": self.alpha}


def check(value, section: dict, tuner: str) -> RaceSpec | None:
    """``search.race`` as written: None, or a mapping of KEYS."""
    where = "search.race"
    if value is None:
        return None
    if not isinstance(value, dict):
        raise bad_value(where, value, "a mapping {seeds: N, alpha: 0.05}")
    for key in value:
        if key not in KEYS:
            raise unknown_key(f"{where}.{key}", key, KEYS, f"valid keys in race: {', '.join(KEYS)}")
    seeds = config_mod.Int(min=FIRST + 1, max=MAX_SEEDS).check(
        value.get("seeds", 10), f"{where}.seeds"
    )
    alpha = value.get("alpha", 0.05)
    if isinstance(alpha, bool) or not isinstance(alpha, int | float) or not 0 < alpha < 1:
        raise bad_value(f"{where}.alpha", alpha, "a significance level between 0 and 1, e.g. 0.05")
    for other in ("repeats", "cv", "prune"):
        if section.get(other) not in (None, 1) or (other == "prune" and section.get(other)):
            raise ConfigError(
                f"a race chooses each point's seeds itself; remove search.{other} "
                f"(got {section.get(other)})",
                where,
            )
    if tuner not in ("grid", "random"):
        raise ConfigError(
            f"racing needs the points known up front (grid, random); got {tuner}", where
        )
    return RaceSpec(seeds, float(alpha))


def t_threshold(df: int, alpha: float) -> float:
    """The two-sided paired t-test's threshold at ``alpha`` for ``df`` degrees of freedom."""
    if abs(alpha - 0.05) < 1e-12:
        from dlexp.report.significance import t_critical

        return t_critical(df)
    from scipy.stats import t

    return float(t.ppf(1 - alpha / 2, df))


def apart(best: list[float], other: list[float], alpha: float) -> bool:
    """Whether a paired t-test tells ``other`` from ``best`` (the same seeds, in order)."""
    diffs = [a - b for a, b in zip(best, other, strict=True)]
    if all(d == diffs[0] for d in diffs):
        return diffs[0] != 0
    n = len(diffs)
    mean = statistics.fmean(diffs)
    sd = statistics.stdev(diffs)
    return abs(mean) / (sd / math.sqrt(n)) >= t_threshold(n - 1, alpha)


@dataclass
class Standing:
    """One point in the race: its scores by seed, and when it was told apart."""

    scores: list[float | None]
    out_at: int | None = None  # the seeds it had when told apart from the best

    @property
    def seeds(self) -> int:
        return len(self.scores)


def standings(
    scores: dict[int, list[float | None]], race: RaceSpec, direction: str
) -> tuple[dict[int, Standing], int | None]:
    """Replay the race from each point's scores (its completed seeds in order, None for
    a seed that failed or diverged): (each point's standing, the seeds the next round
    trains, or None when the race is over).

    Round s (s = FIRST+1 .. N) trains seed s-1 for the points still racing after the
    test on s-1 seeds; a point with a seed that did not complete is out at once."""
    sign = 1.0 if direction == "max" else -1.0
    table = {i: Standing(list(s)) for i, s in scores.items()}
    racing = set(table)
    for seeds in range(FIRST, race.seeds + 1):
        if any(table[i].seeds < seeds for i in racing):
            return table, seeds  # this round is not trained yet (or only in part)
        for i in sorted(racing):
            if any(v is None or math.isnan(v) for v in table[i].scores[:seeds]):
                table[i].out_at = seeds
        racing = {i for i in racing if table[i].out_at is None}
        if not racing:
            return table, None
        means = {i: statistics.fmean(table[i].scores[:seeds]) for i in racing}
        leader = max(racing, key=lambda i: (sign * means[i], -i))
        lead = [sign * v for v in table[leader].scores[:seeds]]
        for i in sorted(racing - {leader}):
            if apart(lead, [sign * v for v in table[i].scores[:seeds]], race.alpha):
                table[i].out_at = seeds
        racing = {i for i in racing if table[i].out_at is None}
        if len(racing) == 1:
            return table, None
    return _prefix(table, race.seeds, sign), None


def _prefix(table: dict[int, Standing], seeds: int, sign: float) -> dict[int, Standing]:
    """The report's rule on the points that ran all the seeds (``significance``): within
    noise down the ranking until the first that was told apart, and none below it, so
    that a worse point (with a wide spread) is never within noise while a better one
    is not."""
    full = [i for i, s in table.items() if s.seeds >= seeds and s.out_at in (None, seeds)]
    full.sort(key=lambda i: (-sign * statistics.fmean(table[i].scores[:seeds]), i))
    below = False
    for i in full:
        if below:
            table[i].out_at = table[i].out_at or seeds
        below = below or table[i].out_at is not None
    return table


def racing(table: dict[int, Standing]) -> set[int]:
    """The points not told apart from the best."""
    return {i for i, s in table.items() if s.out_at is None}


def scores_of(store, names, spec, points: int) -> dict[int, list[float | None]]:
    """Each point's objective by seed, in seed order, up to its first missing seed."""
    from dlexp.runs import folder as runs

    key = runs.objective_key(spec.objective)
    out: dict[int, list[float | None]] = {}
    for i in range(points):
        seq: list[float | None] = []
        for name in runs.run_names(names(i), spec.race.seeds):
            record = store.read_run(name)
            if record is None or not runs.is_finished(record.status):
                break
            ok = record.status == runs.Status.COMPLETED
            seq.append(record.metric(key) if ok else None)
        out[i] = seq
    return out


def write_state(store, names, table: dict[int, Standing], spec) -> None:
    """race.json: per point its seeds and whether it is within noise of the best."""
    points = {
        names(i): {
            "seeds": s.seeds,
            "within_noise": s.out_at is None,
            **({"told_apart_at": s.out_at} if s.out_at is not None else {}),
        }
        for i, s in sorted(table.items())
    }
    write_json(store.root / "race.json", {"race": spec.race.resolved(), "points": points})
