"""Comparing runs: `dlexp diff` says, without training, what differs between two run
folders: the config keys, the library versions, and the final metrics."""

from __future__ import annotations

import json
from pathlib import Path

from dlexp import runs
from dlexp.errors import ConfigError


def _record(folder: str | Path) -> runs.RunRecord:
    folder = Path(folder)
    if not (folder / "run.json").is_file() and not (folder / "config.yaml").is_file():
        raise ConfigError(f"{folder}: not a run folder (no run.json or config.yaml)")
    return runs.read_run(folder)


def diff(a: str | Path, b: str | Path) -> dict:
    """The config keys, versions and metrics that differ between two run folders."""
    from dlexp.report.collect import flatten

    ra, rb = _record(a), _record(b)
    ca, cb = flatten(ra.config), flatten(rb.config)
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
