"""A search folder's results: each trial's row (its runs combined), the ranking,
results.csv and best.json, made from the trial folders (``SearchStore`` reads them)."""

from __future__ import annotations

from dlexp import config as config_mod
from dlexp.core.files import write_csv, write_json
from dlexp.runs import folder as runs
from dlexp.runs.searches import race_marks


class TrialResults:
    """What ``SearchStore`` makes of its trial folders (it has ``spec``, ``root``,
    ``trials`` and ``read_run``)."""

    def trial_ids(self) -> list[str]:
        ids = set()
        for folder in self.trials.iterdir() if self.trials.exists() else ():
            if not folder.name.startswith(".") and folder.is_dir():
                ids.add(runs.trial_of(folder.name) if self.spec.runs_per_point > 1 else folder.name)
        return sorted(ids, key=lambda t: (len(t.partition("-")[0]), t))  # t999 < t1000

    def row(self, trial: str) -> dict | None:
        """One results.csv row: searched values, the objective, mean (and std over
        repeats) of every final metric, epochs, seconds, status."""
        spec = self.spec
        found = [(n, r) for n in spec.run_names(trial) if (r := self.read_run(n))]
        if not found:
            return None
        records = [r for _, r in found]
        missing = [runs.Status.INCOMPLETE] * (spec.runs_per_point - len(found))
        if spec.race:  # a race gives each point its own number of seeds
            missing = []
        status = runs.group_status([r.status for r in records] + missing)
        row: dict = {"trial": trial, "status": status}
        for p in spec.params:
            row[p.key] = config_mod.get_dotted(records[0].config, p.key)
        if spec.tuner == "hyperband":
            row["train.epochs"] = config_mod.get_dotted(records[0].config, "train.epochs")
        objective = runs.objective_key(spec.objective)
        keys = runs.metric_keys(records)
        means, stds = runs.aggregate(records, [objective, *keys, "epochs_run", "best_epoch"])
        scores = [r.metric(objective) for r in records]
        ok = status == runs.Status.COMPLETED and None not in scores
        row["score"] = means[objective] if ok else None
        if spec.runs_per_point > 1:
            row["score_std"] = stds[objective] if ok else None
        for key in keys:
            row[key] = means[key]
            if spec.runs_per_point > 1:
                row[f"{key}_std"] = stds[key]
        for key in ("epochs_run", "best_epoch"):
            row[key] = means[key] if spec.runs_per_point > 1 else records[0].metric(key)
        row["seconds"] = round(sum(r.metric("seconds") or 0 for r in records), 3)
        row["runs"] = ";".join(f"trials/{n}" for n, _ in found)
        if spec.race:
            row["seeds"] = len(found)
        return row

    def rows(self) -> list[dict]:
        return [r for r in (self.row(t) for t in self.trial_ids()) if r is not None]

    def ranked(self, rows: list[dict]) -> list[dict]:
        """The rows that have a score, best first (of a race: those within noise of the
        best, once the race has said which)."""
        rows = [r for r in rows if r.get("within_noise") is not False]
        return runs.rank(rows, lambda r: r.get("score"), self.spec.direction)

    def write_results(self) -> list[dict]:
        """Rewrite results.csv and best.json from the trial folders."""
        rows = self.rows()
        marks = (race_marks(self.root / "race.json") or {}) if self.spec.race else {}
        for row in rows:
            if row["trial"] in marks:
                row["within_noise"] = marks[row["trial"]]
        columns = list(dict.fromkeys(k for r in rows for k in r))
        write_csv(self.root / "results.csv", rows, columns or ["trial", "status"])
        ranked = self.ranked(rows)
        if ranked:
            best = ranked[0]
            write_json(
                self.root / "best.json",
                {
                    "trial": best["trial"],
                    "objective": {"name": self.spec.objective, "direction": self.spec.direction},
                    "score": best["score"],
                    "params": {p.key: best.get(p.key) for p in self.spec.params},
                    "runs": best["runs"].split(";"),
                },
            )
        return rows
