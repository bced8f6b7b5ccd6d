"""Comparing configs: `dlexp compare` trains two sides on the same seeds and says
which is better, with a paired t-test. (`dlexp diff`, which only reads two run
folders, is :mod:`dlexp.runs.diff`.)"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from dlexp.core.errors import ConfigError
from dlexp.runs import folder as runs

__all__ = [
    "check_validates",
    "load_side",
    "paired",
    "statistics_of",
    "verdict",
]


def load_side(path: str | Path, overrides=()) -> dict:
    """A config file, or a run folder's config."""
    from dlexp import config as config_mod
    from dlexp.runs import select as choose

    path = Path(path)
    if path.is_dir():
        return choose.config_of(path)
    return config_mod.load(path, overrides)


def check_validates(cfg: dict, side: str) -> None:
    """Refuse a side without validation data: compare chooses a winner, and a choice made
    on the test split leaves no unbiased estimate of the winner (the test split is for
    reporting what was chosen, never for choosing).

    Raises:
        ConfigError: naming data.val_size, its value and what is expected.
    """
    from dlexp import config as config_mod

    if not config_mod.validates(cfg):
        raise ConfigError(
            f"{side}: data.val_size is {cfg['data']['val_size']}, so there is no validation "
            "split, and compare never chooses on the test split; expected data.val_size "
            "> 0 (e.g. 0.2)"
        )


def paired(a: dict, b: dict, repeats: int, runs_dir, on_epoch=None) -> tuple[list, list]:
    """Train A and B on the same ``repeats`` seeds (A's seed onwards, the data on A's
    seed for both), together where they can share a stack. Returns their outcomes."""
    from dlexp import config as config_mod
    from dlexp.train.fit import TrialJob
    from dlexp.train.stack import StackTrainer

    seed = a["seed"]
    jobs = {"a": [], "b": []}
    for side, cfg in (("a", a), ("b", b)):
        own = {**cfg, "seed": seed}  # the data on A's seed, unless it names its own
        base = {**own, "data": {**cfg["data"], "seed": config_mod.data_seed(own)}}
        for r in range(repeats):
            c = config_mod.repeat(base, r)
            run = runs.create_run(runs_dir, f"{c.get('name') or side}-r{r}")
            jobs[side].append(TrialJob(run.id, c, run, on_epoch))
    outcomes = StackTrainer()(jobs["a"] + jobs["b"])
    return outcomes[:repeats], outcomes[repeats:]


def statistics_of(a_outcomes, b_outcomes) -> list[dict]:
    """For each final metric both sides have: the mean of B - A over the paired seeds,
    its 95% confidence interval (Student's t) and the paired t-test's p-value."""
    import math

    from scipy import stats

    out = []
    keys = []
    for o in a_outcomes:
        for split, values in o.metrics.splits().items():
            keys += [f"{split}_{k}" for k in values]
    for key in dict.fromkeys(keys):
        split, _, name = key.partition("_")
        pairs = []
        for x, y in zip(a_outcomes, b_outcomes, strict=True):
            va = (getattr(x.metrics, split) or {}).get(name)
            vb = (getattr(y.metrics, split) or {}).get(name)
            if isinstance(va, (int, float)) and isinstance(vb, (int, float)):
                if math.isfinite(va) and math.isfinite(vb):
                    pairs.append((va, vb))
        if len(pairs) < 2:
            continue
        diffs = [vb - va for va, vb in pairs]
        n = len(diffs)
        mean = sum(diffs) / n
        sd = math.sqrt(sum((d - mean) ** 2 for d in diffs) / (n - 1))
        half = stats.t.ppf(0.975, n - 1) * sd / math.sqrt(n)
        p = (
            1.0
            if sd == 0 and mean == 0
            else float(stats.ttest_rel([y for _, y in pairs], [x for x, _ in pairs]).pvalue)
        )
        out.append(
            {
                "metric": key,
                "a": sum(x for x, _ in pairs) / n,
                "b": sum(y for _, y in pairs) / n,
                "diff": mean,
                "ci95": [mean - half, mean + half],
                "p": p if math.isfinite(p) else 0.0,
                "n": n,
            }
        )
    return out


# what the verdict is on, the first of these both sides have
MAIN_METRICS = ["val_accuracy", "val_rmse", "val_r2", "val_mae", "val_loss"]


def verdict(rows: list[dict], n: int) -> str:
    """One line: which side is better on the main metric (val_accuracy; for regression
    val_rmse, val_r2 or val_mae, in the target's units, so two losses can be told apart;
    else val_loss, else the first validation metric), or that no difference is
    detectable. Never a test metric: choosing on the test split would spoil it for
    reporting. Which way is better is the metric's (runs.direction: rmse lower, r2
    higher)."""
    if not rows:
        return "nothing to compare: no metric finished on both sides"
    order = MAIN_METRICS
    val = [r for r in rows if r["metric"].startswith("val_")]
    main = next((r for k in order for r in rows if r["metric"] == k), val[0] if val else None)
    if main is None:
        return "no verdict: no validation metric finished on both sides (test is never chosen on)"
    lo, hi = main["ci95"]
    if lo <= 0 <= hi:
        return f"no difference detectable on {main['metric']} with {n} seeds (p = {main['p']:.2g})"
    better_b = (main["diff"] > 0) == (runs.direction(main["metric"]) == "max")
    half = (hi - lo) / 2
    return (
        f"{'B' if better_b else 'A'} is better on {main['metric']} by "
        f"{abs(main['diff']):.3f} ± {half:.3f} (95% CI, paired t-test p = {main['p']:.2g}, "
        f"{n} seeds)"
    )


def sides(side_a: str | Path | dict, side_b: str | Path | dict) -> tuple[dict, dict]:
    """A's and B's configs (config files, run folders or resolved configs), each checked to have
    validation data; named NAME-A and NAME-B when their names are the same, so that
    their run folders tell them apart.

    Raises:
        ConfigError: a bad config or run folder, or a side without validation data.
    """
    a, b = (s if isinstance(s, dict) else load_side(s) for s in (side_a, side_b))
    check_validates(a, "A" if isinstance(side_a, dict) else side_a)
    check_validates(b, "B" if isinstance(side_b, dict) else side_b)
    if a.get("name") == b.get("name"):
        a["name"], b["name"] = f"{a.get('name') or 'run'}-A", f"{b.get('name') or 'run'}-B"
    return a, b


def epochs(a: dict, b: dict, repeats: int) -> int:
    """The epochs ``paired`` trains in all (a progress bar's total)."""
    return repeats * (a["train"]["epochs"] + b["train"]["epochs"])


@dataclass
class Comparison:
    """What ``paired`` trained, and what it says: each metric's statistics and a verdict."""

    repeats: int
    a: list  # A's outcomes, one per seed
    b: list
    rows: list[dict]  # statistics_of's
    verdict: str

    @classmethod
    def of(cls, a_outcomes: list, b_outcomes: list, repeats: int) -> Comparison:
        rows = statistics_of(a_outcomes, b_outcomes)
        return cls(repeats, a_outcomes, b_outcomes, rows, verdict(rows, repeats))

    @property
    def exit_code(self) -> int:
        """0 when every run of both sides completed, else 1."""
        done = sum(o.status == "completed" for o in self.a + self.b)
        return 0 if done == 2 * self.repeats else 1

    def to_json(self) -> dict:
        """``dlexp compare --format json`` (JSON-ready)."""
        from dlexp.core.files import jsonable

        return jsonable(
            {
                "verdict": self.verdict,
                "metrics": self.rows,
                "repeats": self.repeats,
                "runs": {
                    "a": [str(o.run.path) for o in self.a],
                    "b": [str(o.run.path) for o in self.b],
                },
            }
        )
