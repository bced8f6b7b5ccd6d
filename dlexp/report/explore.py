"""The HTML page's explorable part: the data its script draws (``data.js``), a detail
script per run or trial (``detail/<name>.js``, loaded when the trial is opened), and the
static files beside the page (``plotly.min.js`` from Plotly's Python package, whose
Python side is never imported; ``explore.js`` and ``explore.css``).

Every file is plain JavaScript loaded by a ``<script>`` element, so the page works from
``file://`` without a server and without the network.
"""

from __future__ import annotations

import hashlib
import importlib.resources
import importlib.util
import json
import re
import shlex
import time
from pathlib import Path
from typing import Any

from dlexp.core.errors import ConfigError
from dlexp.core.files import atomic_write, jsonable
from dlexp.core.labels import label
from dlexp.runs.index import Entry, Report, SearchInfo
from dlexp.runs.schema import objective_key

__all__ = [
    "DETAIL_NAME",
    "detail_data",
    "detail_name",
    "draw_detail",
    "page_data",
    "searched_keys",
    "write_details",
    "write_static",
]

DETAIL_NAME = re.compile(r"^[A-Za-z0-9_.-]+-[0-9a-f]{10}\.js$")
STATIC = ("explore.js", "explore.css", "live.js")  # live.js: only with dlexp serve


def detail_name(entry_id: str) -> str:
    """A file name for an entry's detail script, safe on any file system and distinct
    for distinct ids (``report_grid/t0007`` -> ``report_grid_t0007-<hash>.js``)."""
    safe = re.sub(r"[^A-Za-z0-9_.-]+", "_", entry_id).strip("._") or "entry"
    digest = hashlib.sha1(entry_id.encode("utf-8")).hexdigest()[:10]
    return f"{safe[:80]}-{digest}.js"


def searched_keys(report: Report, info: SearchInfo) -> list[str]:
    """The search's keys whose values differ between its trials shown."""
    entries = [e for e in report.entries if e.search == info.name]
    return [k for k in info.keys if len({label(e.hyperparameters.get(k)) for e in entries}) > 1]


def importances(info: SearchInfo, keys: list[str]) -> dict[str, float]:
    """The searched keys' importances (none for one key: it alone varies)."""
    from dlexp.report.significance import importances as fit

    return fit(info, keys) if len(keys) > 1 else {}


def _columns(report: Report) -> list[str]:
    """The table's columns: id, status, search, every searched (or varying) key, then
    the metrics."""
    from dlexp.report.text import table_metrics

    keys: list[str] = []
    for info in report.searches.values():
        keys += info.keys
    keys += report.varying
    keys = [k for k in dict.fromkeys(keys) if k != "name"]
    metrics = table_metrics(report)
    metrics += [m for m in ("params", "epochs_run", "seconds") if m in report.metric_keys]
    return ["id", "status", "search", *keys, *dict.fromkeys(metrics)]


def _search(report: Report, info: SearchInfo) -> dict[str, Any]:
    entries = [e for e in report.entries if e.search == info.name]
    shown = {id(e) for e in entries}  # by identity: comparing Entry dataclasses is slow
    ranked = [e for e in info.ranked() if id(e) in shown]
    keys = searched_keys(report, info)
    weights = importances(info, keys) if ranked and info.objective else {}
    noise = [e for e in entries if e.within_noise]
    return {
        "name": info.name,
        "objective": info.objective,
        "objective_key": objective_key(info.objective) if info.objective else None,
        "direction": info.direction,
        "tuner": info.tuner or "grid",
        "repeats": info.repeats,
        "keys": keys,
        "trials": len(entries),
        "completed": sum(e.status == "completed" for e in entries),
        "best": ranked[0].id if ranked else None,
        "best_score": info.score(ranked[0]) if ranked else None,
        "within_noise": len(noise) if info.repeats > 1 and noise else None,
        "winner": _winner_lines(info),
        "importances": [
            {"key": k, "importance": v} for k, v in sorted(weights.items(), key=lambda kv: -kv[1])
        ],
    }


def _winner_lines(info: SearchInfo) -> list[str]:
    """The summary card's lines on the winner: its validation and test score, and how
    much of its lead over the median trial is within noise (``report.winner``)."""
    from dlexp.report.winner import winner

    best = winner(info)
    return best.lines() if best else []


def _epoch(e: Entry) -> int | None:
    history = e.records[0].history if e.records else None
    return len(history) if history else None


def page_data(report: Report) -> dict:
    """What the page's script draws: each search's summary, the table's columns and a
    row per run or trial (its searched values as labels, its metrics as numbers)."""
    columns = _columns(report)
    keys = [c for c in columns if c not in ("id", "status", "search")]
    metrics = set(report.metric_keys)
    rows = []
    for e in report.entries:
        rows.append(
            {
                "id": e.id,
                "kind": e.kind,
                "status": e.status,
                "search": e.search,
                "best": e.best,
                "within_noise": e.within_noise,
                "values": {
                    k: label(e.hyperparameters.get(k))
                    for k in keys
                    if k not in metrics and k in e.hyperparameters
                },
                "metrics": {k: v for k, v in e.metrics.items() if v is not None},
                "epoch": _epoch(e),
                "detail": "detail/" + detail_name(e.id),
            }
        )
    return jsonable(
        {
            "root": str(report.root.resolve()),
            "generated": time.strftime("%Y-%m-%d %H:%M"),
            "filters": list(report.filters),
            "searches": [_search(report, i) for i in report.searches.values()],
            "columns": columns,
            "metrics": [c for c in columns if c in metrics],
            "rows": rows,
        }
    )


def _config_text(entry: Entry) -> str:
    if not entry.records:
        return ""
    try:
        return (entry.records[0].path / "config.yaml").read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        return f"# config.yaml unreadable: {exc}"


def _history(entry: Entry) -> list[dict]:
    from dlexp.report.search_section import mean_history

    return mean_history(entry) if entry.kind == "trial" else entry.records[0].history or []


def detail_data(entry: Entry, pictures: list[dict]) -> dict:
    """A run's or trial's detail: its history (the page draws the curves), config,
    the command that trains it again, its metrics and its still pictures (``pictures``:
    ``{"src", "alt", "caption"}``, empty when none were drawn)."""
    folder = entry.records[0].path if entry.records else None
    return jsonable(
        {
            "id": entry.id,
            "kind": entry.kind,
            "status": entry.status,
            "search": entry.search,
            "best": entry.best,
            "within_noise": entry.within_noise,
            "folder": str(folder) if folder else None,
            "runs": [str(r.path) for r in entry.records],
            "history": _history(entry) if entry.records else [],
            "config": _config_text(entry),
            "command": f"dlexp train --from {shlex.quote(str(folder))}" if folder else None,
            "metrics": {k: v for k, v in entry.metrics.items() if v is not None},
            "std": {k: v for k, v in entry.std.items() if v is not None},
            "warnings": entry.warnings,
            "pictures": pictures,
        }
    )


def picture_dicts(section: dict) -> list[dict]:
    """A run_section's pictures that were drawn, as detail_data wants them."""
    out = []
    for group in ("pictures", "strips", "inside"):
        for p in section.get(group, []):
            if p.error:
                out.append({"src": None, "alt": p.alt, "caption": f"no picture: {p.error}"})
            else:
                out.append({"src": p.src, "alt": p.alt, "caption": p.alt})
    return out


def draw_detail(report: Report, entry_id: str, out: Path) -> dict:
    """Draw one entry's still pictures into ``out/img`` (those already drawn are kept)
    and return its detail_data: for ``dlexp serve``, when a trial is opened."""
    from dlexp.report import sections
    from dlexp.report.images import Images

    entry = next((e for e in report.entries if e.id == entry_id), None)
    if entry is None:
        raise ConfigError(f"no run or trial {entry_id!r} in {report.root}")
    images = Images(Path(out))
    section = sections.run_section(images, entry, sections.Learning())
    images.draw()
    return detail_data(entry, picture_dicts(section))


def data_script(data: dict) -> str:
    """data.js: ``window.DLEXP_DATA = {...};``"""
    text = json.dumps(data, separators=(",", ":"), allow_nan=False)
    text = text.replace("</", "<\\/").replace("\u2028", "\\u2028").replace("\u2029", "\\u2029")
    return f"window.DLEXP_DATA = {text};\n"


def detail_script(data: dict) -> str:
    """detail/<name>.js: ``window.dlexpDetail({...});`` (JSONP: works on file://)."""
    text = json.dumps(data, separators=(",", ":"), allow_nan=False)
    text = text.replace("</", "<\\/").replace("\u2028", "\\u2028").replace("\u2029", "\\u2029")
    return f"window.dlexpDetail({text});\n"


def _write_if_changed(path: Path, text: str) -> bool:
    data = text.encode("utf-8")
    try:
        if path.stat().st_size == len(data) and path.read_bytes() == data:
            return False
    except OSError:
        pass
    atomic_write(path, data)
    return True


def write_details(out: Path, details: dict[str, dict]) -> None:
    """detail/<name>.js for every entry (id -> detail_data); those of entries no
    longer shown are removed."""
    folder = out / "detail"
    folder.mkdir(exist_ok=True)
    names = set()
    for entry_id, data in details.items():
        name = detail_name(entry_id)
        names.add(name)
        _write_if_changed(folder / name, detail_script(data))
    for old in folder.glob("*.js"):
        if old.name not in names and DETAIL_NAME.match(old.name):
            old.unlink()


def plotly_js() -> Path:
    """Plotly's plotly.min.js, as its Python package ships it (never imported)."""
    spec = importlib.util.find_spec("plotly")
    if spec is None or not spec.submodule_search_locations:
        raise ConfigError("the HTML page needs Plotly's JavaScript: pip install plotly")
    path = Path(next(iter(spec.submodule_search_locations))) / "package_data" / "plotly.min.js"
    if not path.exists():
        raise ConfigError(f"{path} is missing: reinstall plotly (pip install -U plotly)")
    return path


def write_static(out: Path, *, live: bool = False) -> list[str]:
    """Copy plotly.min.js, explore.js, explore.css (and live.js when live and it
    exists) beside the page, each only when missing or changed. Returns the scripts the
    page includes after data.js."""
    source = plotly_js()
    target = out / "plotly.min.js"
    if not target.exists() or target.stat().st_size != source.stat().st_size:
        atomic_write(target, source.read_bytes())
    static = importlib.resources.files("dlexp.report") / "static"
    scripts = ["plotly.min.js", "explore.js"]
    for name in STATIC:
        item = static / name
        if not item.is_file() or (name == "live.js" and not live):
            continue
        _write_if_changed(out / name, item.read_text(encoding="utf-8"))
        if name == "live.js":
            scripts.append(name)
    return scripts


def remove_page_files(out: Path) -> None:
    """Remove what :func:`write_static`, :func:`write_details` and data.js wrote in
    ``out`` (a first page that failed, a full disk: no half page is left)."""
    import shutil

    for name in ("data.js", "plotly.min.js", *STATIC):
        (out / name).unlink(missing_ok=True)
    shutil.rmtree(out / "detail", ignore_errors=True)
