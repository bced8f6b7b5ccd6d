"""Specs of dlexp's own compound values: an optimizer with its arguments, early
stopping, a learning-rate schedule, a cross-validation fold."""

from __future__ import annotations

from typing import Any

from dlexp.config.names import MAX_FOLDS, OPTIMIZERS, SCHEDULES
from dlexp.config.specs import NON_NEGATIVE, UNIT, Bool, Choice, Float, Int, Section, Spec, Str
from dlexp.core.errors import ConfigError, bad_value, did_you_mean, show


class Optimizer(Spec):
    """A Keras optimizer name, or a mapping with ``name`` and that optimizer's arguments."""

    expected = "an optimizer name or a mapping with 'name' and its arguments"
    kind = "name or mapping"

    def check(self, value: Any, path: str) -> str | dict:
        names = tuple(OPTIMIZERS)
        if isinstance(value, str):
            return Choice(None, names).check(value, path)
        if not isinstance(value, dict):
            raise bad_value(path, value, self.expected)
        name = Choice(None, names).check(value.get("name", self.default), f"{path}.name")
        allowed = OPTIMIZERS[name][1]
        out: dict[str, Any] = {"name": name}
        for key, arg in value.items():
            if key == "name":
                continue
            where = f"{path}.{key}"
            if key == "learning_rate":
                raise ConfigError(f"set train.learning_rate instead, got {show(arg)}", where)
            if key not in allowed:
                raise ConfigError(
                    f"unknown argument of {name}{did_you_mean(key, list(allowed))}; "
                    f"valid: {', '.join(sorted(allowed))}",
                    where,
                )
            expected, ok = allowed[key]
            out[key] = (
                Bool().check(arg, where)
                if ok is None
                else Float(None, allowed[key]).check(arg, where)
            )
        return out


def optimizer_name(optimizer: str | dict) -> str:
    return optimizer if isinstance(optimizer, str) else optimizer["name"]


_EARLY_STOPPING = Section(
    {
        "monitor": Str("val_loss"),
        "patience": Int(20, min=0),
        "min_delta": Float(0.0, NON_NEGATIVE),
        "restore_best_weights": Bool(True),
    }
)


class EarlyStopping(Spec):
    """``false`` (off), ``true`` (defaults) or a mapping of EarlyStopping's settings."""

    expected = "false, true or a mapping (monitor, patience, min_delta, restore_best_weights)"
    kind = "boolean or mapping"

    def check(self, value: Any, path: str) -> dict | bool:
        if value is False or value is None:
            return False
        if value is True:
            value = {}
        if not isinstance(value, dict):
            raise bad_value(path, value, self.expected)
        return _EARLY_STOPPING.check(value, path)


_SCHEDULE_FIELDS = {
    "exponential": {"rate": Float(0.96, UNIT), "every": Int(1, min=1)},
    "step": {"rate": Float(0.5, UNIT), "every": Int(10, min=1)},
    "plateau": {
        "rate": Float(0.5, UNIT),
        "patience": Int(5, min=0),
        "min_lr": Float(0.0, NON_NEGATIVE),
        "monitor": Str("val_loss"),
    },
}


class CrossValidation(Spec):
    """null, or ``{folds: K, fold: i}``: this run trains on the other K-1 folds of the
    train+validation data and validates on fold i (``dlexp train --cv K`` and
    ``search.cv`` write it; a fold's config.yaml trains that fold again)."""

    expected = "null or a mapping {folds: K, fold: i} with 2 <= K <= 20 and 0 <= i < K"
    kind = "mapping or null"

    def check(self, value: Any, path: str) -> dict | None:
        if value is None:
            return None
        if not isinstance(value, dict):
            raise bad_value(path, value, self.expected)
        out = Section({"folds": Int(None, min=2, max=MAX_FOLDS), "fold": Int(0, min=0)}).check(
            value, path
        )
        if out["folds"] is None:
            raise ConfigError(f"required: the number of folds (2 to {MAX_FOLDS})", f"{path}.folds")
        if out["fold"] >= out["folds"]:
            raise ConfigError(
                f"fold {out['fold']} of {out['folds']}; expected 0 to {out['folds'] - 1}",
                f"{path}.fold",
            )
        return out


class LrSchedule(Spec):
    """null, or a mapping with ``kind`` (exponential | step | plateau) and its settings."""

    expected = "null or a mapping with 'kind' (exponential, step or plateau)"
    kind = "mapping or null"

    def check(self, value: Any, path: str) -> dict | None:
        if value is None or value is False:
            return None
        if isinstance(value, str):
            value = {"kind": value}
        if not isinstance(value, dict) or "kind" not in value:
            raise bad_value(path, value, self.expected)
        kind = Choice(None, SCHEDULES).check(value["kind"], f"{path}.kind")
        rest = {k: v for k, v in value.items() if k != "kind"}
        return {"kind": kind, **Section(_SCHEDULE_FIELDS[kind]).check(rest, path)}
