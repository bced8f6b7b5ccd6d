"""Trial names: the folder under ``trials/`` that a keras-tuner trial is trained in."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from dlexp.search.plan import Plan
    from dlexp.search.protocols import TrialSpace


class TrialNames:
    """A trial's name: its point's index for a planned search (so that it is the same on
    every resume), keras-tuner's trial id otherwise; both as ``Plan.name`` writes them
    (``t007``). Called with a trial, or with a trial id (Hyperband's ``tuner/trial_id``,
    the trial a bracket continues)."""

    def __init__(self, plan: Plan, space: TrialSpace):
        self.plan, self.space = plan, space

    def __call__(self, trial_or_id) -> str:
        if isinstance(trial_or_id, str):  # Hyperband's tuner/trial_id
            return self.plan.name(int(trial_or_id))
        if self.plan.spec.planned:
            return self.plan.name_of(self.space.decode(trial_or_id.hyperparameters.values))
        return self.plan.name(int(trial_or_id.trial_id))
