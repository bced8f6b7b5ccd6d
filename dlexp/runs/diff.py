"""``dlexp diff``: what differs between two run folders, without training: the config
keys (of the resolved configs), the library versions, and the final metrics.

Reads run folders only (``dlexp.runs.read``); ``dlexp compare``, which trains, is
:mod:`dlexp.use.compare`.
"""

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
    between two run folders; each metric with its direction (``min``: lower is better,
    as a loss, rmse or mae; ``max``: accuracy, r2) and which side is ``better``.

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
    # a classification's loss (cross-entropy) and a regression's (on the standardized
    # target) do not compare: neither side's is the better
    apart = ca.get("data.task", "classification") != cb.get("data.task", "classification")
    for key in runs.metric_keys([ra, rb]):
        x, y = ra.metric(key), rb.metric(key)
        delta = None if x is None or y is None else y - x
        way = runs.direction(key)  # rmse lower is better, r2 higher
        better = None if not delta else ("b" if (delta > 0) == (way == "max") else "a")
        if apart and "loss" in key:
            better = None
        metrics.append(
            {"key": key, "a": x, "b": y, "delta": delta, "direction": way, "better": better}
        )
    return {
        "a": str(ra.path),
        "b": str(rb.path),
        "status": {"a": str(ra.status), "b": str(rb.status)},
        "config": config,
        "versions": versions,
        "metrics": metrics,
    }
