"""Training a stack: the epochs, each member's callbacks (``callbacks``, decided as
Keras' would decide them), and each member's run folder, written by the same
``writer.RunWriter`` as a run that ``dlexp train`` trains alone."""

from __future__ import annotations

import time
import traceback
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

from dlexp.core import interrupt
from dlexp.core.errors import describe, machine_fault
from dlexp.data import Dataset
from dlexp.model import build as models
from dlexp.runs import folder as runs
from dlexp.runs.folder import Metrics, Status
from dlexp.train.fit import EVAL_BATCH, TrialJob, batch_size
from dlexp.train.stack.callbacks import EarlyStopping, Plateau, diverged
from dlexp.train.stack.initial import keras_model
from dlexp.train.stack.program import Program
from dlexp.train.writer import (
    Background,
    BoundaryGrid,
    Outcome,
    RunWriter,
    divergence,
    epoch_row,
    f32,
)


@dataclass
class Member:
    """One run in a stack: its job, its own model, its run folder's writer, and what
    its callbacks remember."""

    job: TrialJob
    model: object
    data: Dataset  # its own (a cross-validation fold's), or the one the stack shares
    writer: RunWriter
    status: Status = Status.COMPLETED
    error: str | None = None
    stopped_early: bool = False
    early: EarlyStopping | None = None
    plateau: Plateau | None = None
    outcome: Outcome | None = None  # once its run folder is complete
    index: int = 0  # its place among the stack's members (and the program's)
    started: bool = False  # in a stack that refills its slots (``refill``): given one
    fit_seconds: float = 0.0  # its share of the epochs' time

    @property
    def cfg(self) -> dict:
        return self.job.cfg

    @property
    def rows(self) -> list[dict]:
        return self.writer.rows

    @property
    def record(self):
        return self.writer.record


class Stack:
    """Members that train as one program (``Program``), each into its own run folder."""

    def __init__(
        self,
        members: Sequence[tuple[TrialJob, object]],
        data: Dataset | Sequence[Dataset],
        group: str,
    ):
        """``members``: each job with its own model, built from its config and seed;
        ``data``: the dataset they share, or each member's own (cross-validation folds:
        the same test split, train and validation rows of the same sizes)."""
        datas = [data] * len(members) if isinstance(data, Dataset) else list(data)
        self.data, self.group = datas[0], group
        self.background: Background | None = None  # history.csv, written as epochs end
        size = batch_size(members[0][0].cfg, len(self.data.x_train))
        try:
            self.program = Program([(job.cfg, model) for job, model in members], datas, size)
        except (ValueError, TypeError) as exc:
            raise models.refused(exc) from None
        self.layout = self.program.layout
        self._last = None
        self.members = []
        for i, ((job, model), d) in enumerate(zip(members, datas, strict=True)):
            stack = {"group": group, "size": len(members), "position": i}
            params = int(model.count_params())
            layout = models.output_layout(job.cfg, d.n_outputs, d.target_scale)  # its own
            writer = RunWriter(job.run, job.cfg, params, layout, d, self._put, stack)
            early, plateau = EarlyStopping.of(job.cfg), Plateau.of(job.cfg)
            member = Member(job, model, d, writer, early=early, plateau=plateau, index=i)
            self.members.append(member)

    def _put(self, path, text: str) -> None:
        self.background.put(path, text)

    def train(self, on_end: Callable[[Member, Outcome], None]) -> list[Outcome]:
        """Train every member, write its run folder, and call ``on_end`` for each once
        its folder is complete. The search publishes the folders afterwards, all
        together (``fit.commit``)."""
        with interrupt.guarded():  # after a first Ctrl-C, more are noted only
            started = time.time()
            self._write_start()
            self.background = Background()
            try:
                try:
                    tv, ntv, hp = self._fit()
                finally:
                    interrupt.defer()  # from here the runs' files are written whole
                self.background.close()
                return self._finish(tv, ntv, hp, started, on_end)
            except KeyboardInterrupt:
                return self._abort(Status.INTERRUPTED, None, started, on_end)
            except Exception as exc:  # a bug or a resource failure, not the user's input
                tb, machine = traceback.format_exc(), machine_fault(exc)
                return self._abort(Status.FAILED, describe(exc), started, on_end, tb, machine)

    def _fit(self):
        jnp = self.program.jax.numpy
        p = self.program
        self._epoch, self._evaluate, self._predict = p.compile()
        state = p.initial_state()
        steps_per_epoch = p.steps + (1 if p.rest else 0)
        hp = p.hyper(steps_per_epoch)
        best = list(state["tv"])
        active = np.ones(len(self.members), bool)
        n_train = len(self.data.x_train)
        # each member's data order: the permutations Keras' fit draws after
        # set_random_seed(seed) from NumPy's global generator, whose first draw (made
        # when fit builds its data iterator) no epoch uses
        rngs = [np.random.RandomState(m.cfg["seed"]) for m in self.members]
        for r in rngs:
            r.permutation(n_train)
        val = None  # exactly its rows: evaluated every epoch, so not padded
        if self.data.x_val is not None and p.shared:
            y_val = self.layout.targets(self.data.y_val)
            val = (jnp.asarray(self.data.x_val), jnp.asarray(y_val), None)
        elif self.data.x_val is not None:  # each fold's own validation rows
            x_val = np.stack([m.data.x_val for m in self.members])
            y_val = np.stack([self.layout.targets(m.data.y_val) for m in self.members])
            val = (jnp.asarray(x_val), jnp.asarray(y_val), None)
        for _ in range(max(m.cfg["train"]["epochs"] for m in self.members)):
            state, best, _ = self._run_epoch(state, hp, best, active, rngs, val)
            if not active.any():
                break
        tv = state["tv"]
        restore = np.array([_restores(m) for m in self.members])
        if restore.any():
            mask = jnp.asarray(restore)
            tv = [jnp.where(_expand(mask, b), b, a) for a, b in zip(tv, best, strict=True)]
        return tv, state["ntv"], hp

    def _run_epoch(self, state, hp, best, active, rngs, val):
        """One epoch of every slot (each in its own data order, ``rngs``), then each
        member's callbacks (``_end_epoch``, which clears ``active`` for those that
        stop) and learning record; returns (state, best weights, who was active)."""
        jnp = self.program.jax.numpy
        p = self.program
        n_train, cut = len(self.data.x_train), p.steps * p.batch_size
        t0 = time.perf_counter()
        order = np.stack([r.permutation(n_train) for r in rngs]).astype(np.int32)
        full = order[:, :cut].reshape(len(rngs), p.steps, p.batch_size)
        perms = jnp.asarray(np.transpose(full, (1, 0, 2)))
        rest = jnp.asarray(order[:, cut:]) if p.rest else None
        was_active = active.copy()
        state, loss, values, losses = self._epoch(state, hp, jnp.asarray(active), perms, rest)
        self._last = state  # an interrupted member keeps these weights
        logs = self._named(loss, values)
        if val is not None:
            val_loss, val_values = self._evaluate(state["tv"], state["ntv"], hp, *val)
            logs.update({f"val_{k}": v for k, v in self._named(val_loss, val_values).items()})
        lrs = p.learning_rates(state["ov"], hp)
        seconds = time.perf_counter() - t0
        better, reduced = self._end_epoch(active, logs, lrs, seconds, state["ov"])
        self._learn(state, was_active, active, losses)
        interrupt.check()  # a Ctrl-C that JAX swallowed stops the stack here
        if better.any():
            mask = jnp.asarray(better)
            best = [
                jnp.where(_expand(mask, b), a, b) for a, b in zip(state["tv"], best, strict=True)
            ]
        if reduced is not None:
            state["ov"] = p.set_learning_rates(state["ov"], reduced)
        return state, best, was_active

    def _slots(self) -> list[Member]:
        """The member in each slot of the program (``refill`` changes them)."""
        return self.members

    def _learn(self, state, was_active, active, losses) -> None:
        """Each member's learning record: a frame of its boundary at the epochs it wants
        (one prediction for the whole stack), its batches' losses when asked."""
        slots = self._slots()
        trained = [i for i, m in enumerate(slots) if was_active[i]]
        framed = [i for i in trained if slots[i].record.wants(len(slots[i].rows), not active[i])]
        if framed:
            grid = slots[framed[0]].record.grid
            proba = self._frames(state, framed, grid.points)
            for k, i in enumerate(framed):
                slots[i].record.add_frame(len(slots[i].rows), proba[k])
        batched = [i for i in trained if slots[i].record.by_batch]
        if batched:
            host = np.asarray(losses)
            for i in batched:
                slots[i].record.add_batches(len(slots[i].rows), host[:, i])

    def _frames(self, state, slots: list[int], points: np.ndarray) -> np.ndarray:
        """The predictions on ``points`` of the members in ``slots``, in that order."""
        return self._predict_all(state["tv"], state["ntv"], points)[slots]

    def _split(self, split: str, members: list[Member]):
        """A split as the final evaluation takes it: (x, y, weights), every split padded
        to the largest one's rows with weight 0, so that one compiled program evaluates
        them all (``members``: each fold's own rows)."""
        jnp = self.program.jax.numpy
        rows = max(len(a) for a, _ in self.data.splits().values())

        def padded(data):
            x, y = data.splits()[split]
            pad = rows - len(x)
            x = np.concatenate([x, np.zeros((pad, x.shape[1]), x.dtype)])
            y = np.concatenate([y, np.zeros((pad, *y.shape[1:]), y.dtype)])  # (n,) or (n, k)
            y = self.layout.targets(y)
            w = np.concatenate([np.ones(rows - pad, np.float32), np.zeros(pad, np.float32)])
            return x, y, w

        if self.program.shared:
            return tuple(jnp.asarray(a) for a in padded(self.data))
        own = [padded(m.data) for m in members]  # each fold's own rows
        return tuple(jnp.asarray(np.stack(column)) for column in zip(*own, strict=True))

    def _named(self, loss, values) -> dict[str, np.ndarray]:
        """Loss and metrics by name, the metrics in Keras' (alphabetical) order."""
        named = {m.name: np.asarray(v) for m, v in zip(self.program.metrics, values, strict=True)}
        return {"loss": np.asarray(loss), **{k: named[k] for k in sorted(named)}}

    # -- each member's callbacks, between epochs ------------------------------------------

    def _end_epoch(self, active, logs: dict, lrs, seconds: float, ov):
        """Record each active member's epoch, then decide as Keras' callbacks would
        (TerminateOnNaN, EarlyStopping, ReduceLROnPlateau, the epochs) whether it goes on,
        and as the search's pruner would (``job.prune``: it ends ``pruned``).

        Returns:
            (which members have new best weights, the base learning rates after
            plateau reductions or None when no member's was reduced)
        """
        slots = self._slots()
        better = np.zeros(len(slots), bool)
        reduced = None
        recorded = [m for i, m in enumerate(slots) if active[i]]
        for i, m in enumerate(slots):
            if not active[i]:
                continue
            epoch = len(m.rows)  # its own (0-based), as slots are refilled
            values = {k: float(v[i]) for k, v in logs.items()}
            row = epoch_row(epoch + 1, values, lrs[i], seconds)
            m.writer.epoch(row)  # history.csv rewritten (on the background thread)
            m.fit_seconds += seconds / len(slots)
            if diverged(values["loss"]):
                m.status, m.error, active[i] = Status.DIVERGED, divergence(row), False
                continue
            if m.early is not None:
                better[i], stop = m.early.update(epoch, values)
                if stop:
                    m.stopped_early, active[i] = True, False
                    continue
            last = len(m.rows) >= m.cfg["train"]["epochs"]
            if not last and m.job.prune is not None and m.job.prune(epoch + 1, values):
                m.status, active[i] = Status.PRUNED, False
                continue
            if m.plateau is not None:
                new = m.plateau.update(values, float(lrs[i]))
                if new is not None:
                    if reduced is None:
                        reduced = self.program.base_learning_rates(ov)
                    reduced[i] = new
            if len(m.rows) >= m.cfg["train"]["epochs"]:
                active[i] = False
        for m in recorded:  # after every row is kept: a Ctrl-C here loses none
            if m.job.on_epoch is not None:
                m.job.on_epoch(m.rows[-1]["epoch"], m.rows[-1])
        return better, reduced

    # -- run folders -------------------------------------------------------------------------

    def _write_start(self) -> None:
        started = runs.now_iso()  # one time for every member
        for m in self.members:
            m.writer.start(started)

    def _finish(self, tv, ntv, hp, started: float, on_end) -> list[Outcome]:
        """Final metrics on every split, each member's model and boundary, its files."""
        seconds = time.time() - started
        slots = list(enumerate(self.members))
        return self._close(slots, tv, ntv, hp, seconds, on_end)

    def _close(self, slots: list[tuple[int, Member]], tv, ntv, hp, seconds, on_end):
        """Write the run folders of ``slots`` (each member with the index of its slot in
        ``tv``, ``ntv`` and ``hp``): its final metrics on every split, its model, test
        predictions and (completed, 2D data) boundary; their outcomes."""
        members = [m for _, m in slots]
        finals = {}
        for split in self.data.splits():
            finals[split] = self._named(*self._evaluate(tv, ntv, hp, *self._split(split, members)))
        proba, grid = None, None
        if self.data.n_features == 2 and any(m.status == Status.COMPLETED for m in members):
            grid = BoundaryGrid(self.data)
            proba = self._predict_all(tv, ntv, grid.points)
        test_proba = self._predict_all(tv, ntv, self.data.x_test)
        host_tv = [np.asarray(v) for v in tv]
        outcomes = []
        for i, m in slots:
            metrics = self._metrics(m, seconds)
            if m.status in (Status.COMPLETED, Status.DIVERGED, Status.PRUNED):
                for split, named in finals.items():
                    setattr(metrics, split, {k: f32(v[i]) for k, v in named.items()})
                m.model.set_weights(self.program.unpadded(m.index, host_tv, i))
                model = m.model if m.status == Status.PRUNED else keras_model(m.model)
                boundary = None
                if proba is not None:
                    own = grid if m.data is self.data else BoundaryGrid(m.data)  # its splits
                    boundary = lambda own=own, i=i: own.arrays(proba[i])  # noqa: E731
                m.writer.save(m.status, model, test_proba[i], boundary)
            m.writer.write_metrics(metrics)
            outcomes.append(self._end(m, m.status, m.error, metrics, seconds, on_end))
        return outcomes

    def _predict_all(self, tv, ntv, points: np.ndarray) -> np.ndarray:
        """Every member's probabilities on ``points``, in chunks of one compiled shape."""
        jnp = self.program.jax.numpy
        chunks = []
        for s in range(0, len(points), EVAL_BATCH):
            chunk = points[s : s + EVAL_BATCH]
            padded = np.zeros((EVAL_BATCH, points.shape[1]), np.float32)
            padded[: len(chunk)] = chunk
            chunks.append(np.asarray(self._predict(tv, ntv, jnp.asarray(padded)))[:, : len(chunk)])
        return np.concatenate(chunks, axis=1)

    def _metrics(self, m: Member, seconds: float) -> Metrics:
        return m.writer.metrics(m.status, m.stopped_early, seconds / len(self.members))

    def _end(self, m: Member, status, error, metrics, seconds, on_end) -> Outcome:
        m.writer.info.stack["seconds"] = round(seconds, 3)
        # its share of the stack's time
        m.outcome = m.writer.end(status, error, metrics, seconds / len(self.members))
        on_end(m, m.outcome)
        return m.outcome

    def _abort(self, status, error, started, on_end, tb=None, machine=False) -> list[Outcome]:
        """Every member not yet ended ends ``status`` (interrupted, or failed with
        ``error``, ``machine`` when for lack of disk or memory), its history so far
        kept. A member whose files cannot be written (a full disk) ends failed all
        the same: its run.json still says running, so no one counts it as done."""
        try:
            self.background.close()
        except Exception:  # noqa: BLE001 - the first error is the one to report
            pass
        seconds = time.time() - started
        outcomes = []
        lanes = {id(m): i for i, m in enumerate(self._slots())}
        for m in self.members:
            if m.outcome is not None:  # its folder was complete
                outcomes.append(m.outcome)
                continue
            if id(m) not in lanes:  # never given a slot (``refill``): no folder written
                continue
            i = lanes[id(m)]
            m.status = status
            metrics = self._metrics(m, seconds)
            try:
                m.writer.flush_history()  # the background may have lost a race with the interrupt
                if status == Status.INTERRUPTED and m.rows and self._last is not None:
                    tv = [np.asarray(v) for v in self._last["tv"]]  # its last epoch's weights
                    m.model.set_weights(self.program.unpadded(m.index, tv, i))
                    m.writer.keep_last(metrics, keras_model(m.model))
                m.writer.write_metrics(metrics)
                m.writer.fault(tb, machine)
                outcome = self._end(m, status, error, metrics, seconds, on_end)
            except OSError as exc:
                if not machine_fault(exc):
                    raise
                m.outcome = m.writer.unwritten(error, metrics, exc)
                on_end(m, m.outcome)
                outcome = m.outcome
            outcomes.append(outcome)
        return outcomes


def _expand(mask, like):
    """A per-member mask shaped to broadcast against a stacked variable."""
    return mask.reshape((-1,) + (1,) * (like.ndim - 1))


def _restores(m: Member) -> bool:
    return m.early is not None and m.early.restores
