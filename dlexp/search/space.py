"""The searched keys in keras-tuner's terms, and the points a planned search trains."""

from __future__ import annotations

import hashlib
import json

import keras_tuner as kt

from dlexp.core.errors import ConfigError
from dlexp.search import compat
from dlexp.search.spec import SearchSpec, point_key

FINGERPRINT = "dlexp/fingerprint"


class ForeignTrial(ConfigError, kt.errors.FatalError):
    """A trial of another search: fatal to keras-tuner's loop too (it would otherwise
    mark the trial invalid and go on)."""


class Space:
    """The searched keys as keras-tuner HyperParameters, and the way between config
    values and the scalars keras-tuner holds.

    A list of scalars of one type is a Choice of those values (ordered, so Bayesian
    optimisation sees 9 < 10 < 11); any other list (mappings such as
    ``{name: sgd, momentum: 0.9}``, or ints mixed with floats) is a Choice of each
    value's JSON text. A range is an Int or a Float.
    """

    def __init__(self, spec: SearchSpec):
        self.spec = spec
        resolved = json.dumps(spec.resolved(), sort_keys=True, default=str)
        self.fingerprint = hashlib.sha1(resolved.encode()).hexdigest()[:16]
        self.hp = kt.HyperParameters()
        self._to: dict[str, dict[str, object]] = {}  # key -> point_key(value) -> hp value
        self._from: dict[str, dict[object, object]] = {}  # key -> hp value -> value
        for p in spec.params:
            if p.values is not None:
                types = {type(v) for v in p.values}
                scalar = len(types) == 1 and types <= {int, float, str, bool}
                held = p.values if scalar else [json.dumps(v, sort_keys=True) for v in p.values]
                self.hp.Choice(p.key, held)
                self._to[p.key] = {
                    point_key({"v": v}): h for v, h in zip(p.values, held, strict=True)
                }
                self._from[p.key] = dict(zip(held, p.values, strict=True))
            else:
                r = p.range
                lo, hi = (
                    (r["min"], r["max"]) if p.is_int_range else (float(r["min"]), float(r["max"]))
                )
                make = self.hp.Int if p.is_int_range else self.hp.Float
                make(p.key, lo, hi, step=r.get("step"), sampling=r.get("sampling", "linear"))

    def served(self) -> kt.HyperParameters:
        """The space the search's oracle serves: the searched keys and, fixed, the
        search's fingerprint, so that a worker can tell a trial of another search."""
        hp = self.hp.copy()
        hp.Fixed(FINGERPRINT, self.fingerprint)
        return hp

    def check(self, trial) -> None:
        """Refuse a trial of another search (a worker that reached the wrong chief)."""
        theirs = trial.hyperparameters.values.get(FINGERPRINT)
        if theirs != self.fingerprint:
            raise ForeignTrial(
                f"the chief's search ({theirs}) is not this worker's ({self.fingerprint}): "
                "check KERASTUNER_ORACLE_IP/PORT and the grid file",
                "KERASTUNER_ORACLE_PORT",
            )

    def objective(self) -> kt.Objective:
        return kt.Objective(self.spec.objective, self.spec.direction)

    def decode(self, hp_values: dict) -> dict:
        """A trial's keras-tuner values back to config values."""
        out = {}
        for p in self.spec.params:
            value = hp_values[p.key]
            out[p.key] = self._from[p.key].get(value, value) if p.key in self._from else value
        return out

    def encode(self, values: dict) -> dict:
        """Config values to the scalars keras-tuner holds."""
        return {
            k: self._to[k][point_key({"v": v})] if k in self._to else v for k, v in values.items()
        }


def random_points(spec: SearchSpec) -> list[dict]:
    """The points a random search trains, in order: drawn by keras-tuner's own
    RandomSearchOracle from the search seed, all at once, so that they are known up
    front like a grid's (and a resumed search draws the same ones)."""
    space = Space(spec)
    oracle = kt.oracles.RandomSearchOracle(
        objective=space.objective(), max_trials=spec.max_trials, hyperparameters=space.hp
    )
    compat.seed_oracle(oracle, spec.seed)
    return [space.decode(v) for v in compat.draw_random_points(oracle, spec.max_trials)]
