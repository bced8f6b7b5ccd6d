"""A stack whose slots are refilled: a search's pruner frees them, and the next points
take them, so that pruning shortens the search instead of leaving slots idle.

The program is compiled once for every member the stack will train (its template as
wide and as deep as the largest, with every activation and optimizer among them), but
steps only ``size`` of them at a time. When members end (pruned, stopped early, their
epochs done or diverged), their run folders are written and published at once, and
each freed slot gets the next member: its own initial weights, settings, fresh
optimizer state and data order, exactly as it would start in a stack of its own.

Members of a refilled stack share one dataset (a search's points on its seeds);
cross-validation folds, whose rows differ, train in stacks of their own.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Sequence

import numpy as np

from dlexp.core import interrupt
from dlexp.data import Dataset
from dlexp.runs import folder as runs
from dlexp.runs.folder import Status
from dlexp.train.fit import Outcome, TrialJob
from dlexp.train.stack.trainer import Member, Stack, _expand, _restores
from dlexp.train.writer import Background

SMALL = 8  # the narrowest program the members that end together are evaluated in


class RefillStack(Stack):
    """``Stack`` with ``size`` slots over all of ``members``, refilled as they end.

    Args:
        members: each job with its own model, in the order they take slots.
        data: the dataset they share.
        group: the stack's name in each member's run.json.
        size: how many members train at once.
        commit: publishes the folders of members that ended together
            (``fit.commit``), called as they end.
    """

    def __init__(
        self,
        members: Sequence[tuple[TrialJob, object]],
        data: Dataset,
        group: str,
        size: int,
        commit: Callable[[list[tuple[TrialJob, Outcome]]], None],
    ):
        super().__init__(members, data, group)
        self.size = max(1, min(size, len(self.members)))
        self.commit = commit
        self.lane_of = list(range(self.size))  # the member in each slot
        self.queue = deque(range(self.size, len(self.members)))
        self.committed: set[int] = set()
        self._on_end = None
        for m in self.members:
            m.writer.info.stack["size"] = self.size

    def _slots(self) -> list[Member]:
        return [self.members[j] for j in self.lane_of]

    def train(self, on_end) -> list[Outcome]:
        """Train every member; the outcomes of those that ended (a Ctrl-C leaves the
        members never given a slot without one, and without a folder)."""
        self._on_end = on_end
        outcomes = super().train(on_end)
        rest = [m for m in self.members if m.outcome is not None and m.index not in self.committed]
        if rest:
            self._publish(rest)
        return outcomes

    def _publish(self, ended: list[Member]) -> None:
        self.committed.update(m.index for m in ended)
        self.commit([(m.job, m.outcome) for m in ended])

    def _write_start(self) -> None:
        started = runs.now_iso()
        for m in self._slots():
            self._enter(m, started)

    def _enter(self, m: Member, started: str) -> None:
        m.writer.start(started)
        m.started = True

    def _order(self, j: int) -> np.random.RandomState:
        """Member j's data order, as ``Stack._fit`` draws it (Keras' after its seed)."""
        rng = np.random.RandomState(self.members[j].cfg["seed"])
        rng.permutation(len(self.data.x_train))
        return rng

    def _metrics(self, m: Member, seconds: float):
        return m.writer.metrics(m.status, m.stopped_early, m.fit_seconds)

    def _end(self, m: Member, status, error, metrics, seconds, on_end) -> Outcome:
        m.writer.info.stack["seconds"] = round(m.fit_seconds, 3)
        m.outcome = m.writer.end(status, error, metrics, m.fit_seconds)
        on_end(m, m.outcome)
        return m.outcome

    def _finish(self, tv, ntv, hp, started: float, on_end) -> list[Outcome]:
        return [m.outcome for m in self.members if m.outcome is not None]  # all ended

    def _fit(self):
        jnp = self.program.jax.numpy
        p = self.program
        self._epoch, self._evaluate, self._predict = p.compile()
        self._steps = p.steps + (1 if p.rest else 0)
        state = p.initial_state(self.lane_of)
        hp = p.hyper(self._steps, self.lane_of)
        best = list(state["tv"])
        active = np.ones(self.size, bool)
        rngs = [self._order(j) for j in self.lane_of]
        val = None
        if self.data.x_val is not None:
            y_val = self.layout.targets(self.data.y_val)
            val = (jnp.asarray(self.data.x_val), jnp.asarray(y_val), None)
        while active.any():
            state, best, was_active = self._run_epoch(state, hp, best, active, rngs, val)
            ended = [int(i) for i in np.flatnonzero(was_active & ~active)]
            if ended:
                state, hp, best = self._turn(ended, state, hp, best, active, rngs)
        return state["tv"], state["ntv"], hp

    def _turn(self, ended: list[int], state, hp, best, active, rngs):
        """The members in slots ``ended`` have ended: their folders written and
        published (whole, whatever Ctrl-C says meanwhile), and their slots refilled."""
        jnp = self.program.jax.numpy
        slots = self._slots()
        tv = state["tv"]
        restore = np.zeros(self.size, bool)
        restore[ended] = [_restores(slots[i]) for i in ended]
        if restore.any():
            mask = jnp.asarray(restore)
            tv = [jnp.where(_expand(mask, b), b, a) for a, b in zip(tv, best, strict=True)]
        with interrupt.held():
            self.background.close()  # their history.csv written before the folders move
            try:
                self._close_slots(ended, tv, state["ntv"], hp)
            finally:
                self.background = Background()
            self._publish([slots[i] for i in ended])
        fresh = []
        for i in ended:
            if not self.queue:
                break
            self.lane_of[i] = self.queue.popleft()
            fresh.append(i)
        if not fresh:
            return state, hp, best
        started = runs.now_iso()
        for i in fresh:
            self._enter(self.members[self.lane_of[i]], started)
            active[i], rngs[i] = True, self._order(self.lane_of[i])
        new = self.program.initial_state([self.lane_of[i] for i in fresh])

        def put(old, rows):  # on the host: a scatter compiled for each count costs more
            out = []
            for a, b in zip(old, rows, strict=True):
                a = np.array(a)
                a[fresh] = np.asarray(b)
                out.append(jnp.asarray(a))
            return out

        state = {
            "tv": put(state["tv"], new["tv"]),
            "masks": put(state["masks"], new["masks"]),
            "ntv": put(state["ntv"], new["ntv"]),
            "ov": [put(o, n) for o, n in zip(state["ov"], new["ov"], strict=True)],
        }
        return state, self.program.hyper(self._steps, self.lane_of), put(best, new["tv"])

    def _close_slots(self, ended: list[int], tv, ntv, hp) -> None:
        """Write the folders of the members in slots ``ended``: the completed ones (whose
        boundary is drawn over the plane) apart from the others, each evaluated in a
        program only as wide as they need (``_gather``)."""
        slots = self._slots()
        completed = [i for i in ended if slots[i].status == Status.COMPLETED]
        for part in (completed, [i for i in ended if i not in completed]):
            if part:
                pairs = [(k, slots[i]) for k, i in enumerate(part)]
                g_tv, g_ntv, g_hp = self._gather(part, tv, ntv, hp)
                self._close(pairs, g_tv, g_ntv, g_hp, None, self._on_end)

    def _gather(self, lanes: list[int], tv, ntv, hp=None):
        """The variables of the members in ``lanes``, in that order, padded (with the
        first's) to a power of two of at least SMALL slots, at most all: the members
        that end together are evaluated in a program as wide as they need, compiled
        once per width. Taken on the host, as ``put``."""
        jnp = self.program.jax.numpy
        width = SMALL
        while width < len(lanes):
            width *= 2
        width = min(width, self.size)
        at = np.asarray(lanes + [lanes[0]] * (width - len(lanes)))

        def take(v):
            return jnp.asarray(np.asarray(v)[at])

        out_hp = None if hp is None else {k: take(v) for k, v in hp.items()}
        return [take(v) for v in tv], [take(v) for v in ntv], out_hp

    def _frames(self, state, slots: list[int], points: np.ndarray) -> np.ndarray:
        tv, ntv, _ = self._gather(slots, state["tv"], state["ntv"])
        return self._predict_all(tv, ntv, points)[: len(slots)]
