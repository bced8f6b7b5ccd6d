"""Comparing runs: `dlexp diff` says, without training, what differs between two run
folders: the config keys, the library versions, and the final metrics."""

from __future__ import annotations

import json
from pathlib import Path

from dlexp.core.errors import ConfigError
from dlexp.runs import folder as runs

# The files diff compares, and what each should hold: one damaged is refused (exit 2),
# never read as empty (a diff that says nothing differs, or everything).
READS = {
    "run.json": "the run's status and versions",
    "config.yaml": "the run's resolved config",
    "metrics.json": "the run's final metrics",
}
SECTIONS = ("data", "model", "train")  # what every config.yaml dlexp writes holds


def _record(folder: str | Path) -> runs.RunRecord:
    folder = Path(folder)
    if not (folder / "run.json").is_file() and not (folder / "config.yaml").is_file():
        raise ConfigError(f"{folder}: not a run folder (no run.json or config.yaml)")
    record = runs.read_run(folder)
    for name, problem in record.damaged:
        if name in READS:
            raise ConfigError(
                f"{folder / name}: {problem.removeprefix('is ')}; expected {READS[name]} "
                "(restore the file or train the run again)"
            )
    return record


def resolved(record: runs.RunRecord) -> dict:
    """A run's config as it trained: config.yaml checked and resolved as `dlexp train`
    resolves one, with the output layer and loss it was built with (run.json's output)
    where the config left them to dlexp (``train.loss: null``)."""
    from dlexp.model.build import output_layout
    from dlexp.runs import select as choose

    path = record.path / "config.yaml"
    if not path.is_file():
        return {}
    missing = [s for s in SECTIONS if not isinstance(record.config.get(s), dict)]
    # dlexp writes whole lines: one cut short is a truncated file (read_run read the
    # file already, so it is at most yamlio's bound)
    cut = not path.read_bytes().endswith(b"\n")
    if missing or cut:
        problem = f"no {missing[0]} section" if missing else "its last line is cut short"
        raise ConfigError(
            f"{path}: damaged or truncated ({problem}); expected the run's resolved config "
            f"({', '.join(SECTIONS)}) (restore the file or train the run again)"
        )
    cfg = choose.config_of(record.path)
    output = (record.info.output if record.info else None) or {}
    classes = ((record.info.data if record.info else None) or {}).get("n_classes")
    if not output and (classes or cfg["data"]["classes"]):
        layout = output_layout(cfg, classes or cfg["data"]["classes"])
        output = {"activation": layout.activation, "loss": layout.loss}
    if cfg["train"]["loss"] is None:
        cfg["train"]["loss"] = output.get("loss")
    if cfg["model"]["output_activation"] is None:
        cfg["model"]["output_activation"] = output.get("activation")
    return cfg


def diff(a: str | Path, b: str | Path) -> dict:
    """The config keys (of the resolved configs), versions and metrics that differ
    between two run folders.

    Raises:
        ConfigError: a folder that is not a run, or a file diff reads that is damaged.
    """
    from dlexp.runs.index import flatten

    ra, rb = _record(a), _record(b)
    ca, cb = flatten(resolved(ra)), flatten(resolved(rb))
    same = lambda x, y: json.dumps(x, sort_keys=True) == json.dumps(y, sort_keys=True)  # noqa: E731
    config = [
        {"key": k, "a": ca.get(k), "b": cb.get(k)}
        for k in dict.fromkeys([*ca, *cb])
        if k != "name" and not same(ca.get(k), cb.get(k))
    ]
    va = (ra.info.versions if ra.info else None) or {}
    vb = (rb.info.versions if rb.info else None) or {}
    versions = [
        {"key": k, "a": va.get(k), "b": vb.get(k)}
        for k in dict.fromkeys([*va, *vb])
        if va.get(k) != vb.get(k)
    ]
    metrics = []
    for key in runs.metric_keys([ra, rb]):
        x, y = ra.metric(key), rb.metric(key)
        delta = None if x is None or y is None else y - x
        metrics.append({"key": key, "a": x, "b": y, "delta": delta})
    return {
        "a": str(ra.path),
        "b": str(rb.path),
        "status": {"a": str(ra.status), "b": str(rb.status)},
        "config": config,
        "versions": versions,
        "metrics": metrics,
    }


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


def verdict(rows: list[dict], n: int) -> str:
    """One line: which side is better on the main metric (val_accuracy, else val_loss,
    else the first validation metric), or that no difference is detectable. Never a
    test metric: choosing on the test split would spoil it for reporting."""
    if not rows:
        return "nothing to compare: no metric finished on both sides"
    order = ["val_accuracy", "val_loss"]
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
