"""One search: its plan, its folder, its oracle, and the processes that train it."""

from __future__ import annotations

import time
import warnings
from dataclasses import dataclass, field, replace
from pathlib import Path

from dlexp.core.errors import MachineFault, describe, machine_fault
from dlexp.runs import folder as runs
from dlexp.search import chief, distributed, race, worker
from dlexp.search.naming import TrialNames
from dlexp.search.oracles import Hooks, make_oracle
from dlexp.search.plan import Plan
from dlexp.search.protocols import LiveView, Trainer
from dlexp.search.space import Space
from dlexp.search.spec import SearchSpec
from dlexp.search.store import SearchStatus, SearchStore
from dlexp.search.tuner import TrialRunner

RESULTS_EVERY_S = 0.5  # results.csv is rewritten at most this often while trials end
BAYESIAN_STACK = 4  # trials asked for at once by a Bayesian search with no --stack
HYPERBAND_STACK = 512  # runs asked for at once by a Hyperband search with no --stack
AGAIN = "free some space (or memory) and run the same command again to resume"


@dataclass
class SearchOutcome:
    status: SearchStatus
    store: SearchStore
    rows: list[dict] = field(default_factory=list)
    seconds: float = 0.0
    message: str | None = None
    trained: int = 0  # trials this invocation ran (the rest were done before)

    @property
    def exit_code(self) -> int:
        return self.status.exit_code


class NullView:
    """A live view (``protocols.LiveView``) that shows nothing."""

    def start(self, total: int | None, done: int) -> None: ...
    def trial_started(self, trial: str, worker: str) -> None: ...
    def trial_ended(self, trial: str, row: dict | None, best: dict | None) -> None: ...
    def epoch(self, trial: str, epoch: int, epochs: int) -> None: ...
    def stop(self) -> None: ...


def _any_completed(rows: list[dict]) -> bool:
    return any(r["status"] == runs.Status.COMPLETED for r in rows)


def _finished_rows(store: SearchStore, rows: list[dict]) -> list[dict]:
    """The rows of trials done: finished, and not failed by the machine (retried)."""
    return [r for r in rows if runs.is_finished(r["status"]) and store.trial_done(r["trial"])]


class Search:
    """Run (or resume) a search: one process, or a chief with workers.

    Args:
        spec: the validated grid file.
        runs_dir: the search's folder is ``runs_dir/<name>/``.
        view: the live view (``NullView`` shows nothing).
        stack: the most runs trained together (None: as many as fit in memory; 1: one
            at a time, each a Keras fit exactly as ``dlexp train`` runs it, unless the
            search prunes: its slots are then refilled, ``train.stack.refill``).
        trainer: trains trial runs (``protocols.Trainer``: ``stack.StackTrainer``, or
            ``fit.TrialTrainer`` for a stack of 1): the seam through which trials can be
            trained another way, or faked in tests.
    """

    def __init__(
        self,
        spec: SearchSpec,
        runs_dir: str | Path,
        view: LiveView | None = None,
        trainer: Trainer | None = None,
        stack: int | None = None,
    ):
        self.spec = spec
        self.store = SearchStore(Path(runs_dir) / spec.name, spec)
        self.view: LiveView = view or NullView()
        if trainer is None:
            if stack == 1 and spec.prune is None:
                from dlexp.train.fit import TrialTrainer

                trainer = TrialTrainer()
            else:
                from dlexp.train.stack import StackTrainer

                trainer = StackTrainer(stack)
        self.trainer = trainer
        self.space = Space(spec)
        self.plan = Plan(spec)
        self.stack_given = stack
        self.stack = stack if stack is not None else self._default_stack()
        if spec.prune is not None and spec.planned:  # every point at once: the trainer's
            self.stack = self._default_stack()  # slots (stack) are refilled from them
        self.names = TrialNames(self.plan, self.space)
        self.hooks = Hooks(self.names)
        self._rows: list[dict] = []
        self._results_at, self._results_every = -RESULTS_EVERY_S, RESULTS_EVERY_S
        self.oracle = None
        self.exclude: set[int] = set()  # planned points not to train (a race's, told apart)
        self.in_race = False  # one round of a race (``race.run``)

    def _default_stack(self) -> int:
        """How many runs to ask the oracle for at once when the stack is not given:
        every planned run (the trainer stacks as many as fit in memory), a Hyperband
        round (the oracle says IDLE at its end), and a few trials for Bayesian
        optimisation, which learns from each answer."""
        if self.spec.planned:
            return max(1, len(self.plan.points) * self.spec.runs_per_point)
        if self.spec.tuner == "bayesian":
            return BAYESIAN_STACK * self.spec.runs_per_point
        return HYPERBAND_STACK

    def _first_error(self, rows: list[dict]) -> str:
        """Why no trial completed: the first trial's status and error."""
        row = rows[0]
        record = self.store.read_run(row["runs"].split(";")[0].removeprefix("trials/"))
        error = (record.info.error if record and record.info else None) or "no error recorded"
        return f"no trial completed; {row['trial']} {row['status']}: {error}"

    def _on_start(self, trial: str, tuner_id: str) -> None:
        self.view.trial_started(trial, tuner_id)

    def _on_end(self, trial: str) -> None:
        """A trial ended: results.csv and best.json rewritten, at most every
        RESULTS_EVERY_S seconds, or 20 times as long as the last rewrite took (a stack
        ends many trials at once, and a refilled one ends them all along; the search
        rewrites them once more when it ends), and the live view told."""
        now = time.perf_counter()
        if now - self._results_at >= self._results_every:
            self._rows = self.store.write_results()
            self._results_at = time.perf_counter()
            self._results_every = max(RESULTS_EVERY_S, 20 * (self._results_at - now))
        else:
            self._rows = [r for r in self._rows if r["trial"] != trial]
            row = self.store.row(trial)
            self._rows += [row] if row else []
        row = next((r for r in self._rows if r["trial"] == trial), None)
        ranked = self.store.ranked(self._rows)
        self.view.trial_ended(trial, row, ranked[0] if ranked else None)

    def run(self, workers: int | None = None, overwrite: bool = False) -> SearchOutcome:
        """Run (or resume) the search; returns when it is finished or interrupted.

        Args:
            workers: worker processes to start here; None is one, in this process
                (none for a chief, which serves workers started elsewhere).
            overwrite: delete an earlier search of the same name first.
        """
        with warnings.catch_warnings():  # keras-tuner's, on a trial without a score
            warnings.filterwarnings("ignore", "All-NaN", RuntimeWarning)
            if self.spec.race is not None and not self.in_race:
                return self._race(workers, overwrite)
            return self._run_as(distributed.role(), workers, overwrite)

    def _run_as(self, who: str | None, workers: int | None, overwrite: bool) -> SearchOutcome:
        if who == "worker":
            return self._run_worker()
        parallel = who == "chief" or (workers or 1) > 1
        server = chief.bind() if parallel else None  # a port problem leaves no folder
        try:
            self.store.open(overwrite)
            return self._run(server, (workers or 0) if parallel else 1)
        finally:
            if server is not None:
                server[0].stop(grace=1)
            self.store.close()

    def _run(self, server, workers: int) -> SearchOutcome:
        started = time.perf_counter()
        before = _finished_rows(self.store, self.store.rows())
        done = (self.plan.done(self.store) | self.exclude) if self.spec.planned else set()
        finished = (
            len(done) == len(self.plan.points)
            if self.spec.planned
            else self.store.state().get("status") == SearchStatus.FINISHED
        )
        if finished:
            rows = self.store.write_results()
            if rows and not _any_completed(rows):
                message = self._first_error(rows)
                return SearchOutcome(SearchStatus.FAILED, self.store, rows, message=message)
            return SearchOutcome(SearchStatus.ALREADY_FINISHED, self.store, rows)
        self.hooks.on_start, self.hooks.on_end = self._on_start, self._on_end
        self.oracle = make_oracle(
            self.spec, self.space, self.plan, done, self.hooks, state_dir=self.store.root / "tuner"
        )
        self.store.write_state(SearchStatus.RUNNING)
        total = len(self.plan.points) if self.spec.planned else self.spec.max_trials
        status, message = SearchStatus.FINISHED, None
        try:
            self.store.write_results()
            self.view.start(total, len(before))
            if server is not None:
                args = () if self.stack_given is None else ("--stack", str(self.stack_given))
                message = chief.serve(self.oracle, self.store, server, workers, args)
                status = SearchStatus.FAILED if message else SearchStatus.FINISHED
            else:
                self._runner(self.view.epoch).search(verbose=0)
        except KeyboardInterrupt:
            status = SearchStatus.INTERRUPTED
        except Exception as exc:  # a full disk, no memory: the search fails, and says why
            if not machine_fault(exc):
                self._end_failed()
                raise
            status = SearchStatus.FAILED
            message = str(exc) if isinstance(exc, MachineFault) else f"{describe(exc)}; {AGAIN}"
        finally:
            self.view.stop()
        try:
            if self.spec.planned:
                self.oracle.save(force=True)  # keras-tuner's record, as the search ends
            self.store.recover()  # what workers killed meanwhile left: kept if complete,
            self.store.clean_staged(untouched_s=None)  # else removed
            rows = self.store.write_results()
        except OSError as exc:  # results.csv keeps its last complete text
            if not machine_fault(exc):
                self._end_failed()
                raise
            rows = self.store.rows()
            if status != SearchStatus.FAILED:
                status, message = SearchStatus.FAILED, f"{describe(exc)}; {AGAIN}"
        failed = self.store.machine_failed() if status == SearchStatus.FINISHED else []
        if failed:  # a worker's: each stops at the first (tuner.MachineStop)
            status = SearchStatus.FAILED
            message = (
                f"{len(failed)} trial runs failed for lack of disk or memory ({failed[0]}: "
                f"{self.store.read_run(failed[0]).info.error}); free some and run the same "
                "command again to retry them"
            )
        if status == SearchStatus.FINISHED and self.spec.planned:
            missing = len(self.plan.points) - len(self.plan.done(self.store) | self.exclude)
            if missing:  # a worker of another search, or a folder removed meanwhile
                status = SearchStatus.FAILED
                message = (
                    f"{missing} of {len(self.plan.points)} planned trials have no finished "
                    "folder; run the same command again to train them"
                )
        if status == SearchStatus.FINISHED and rows and not _any_completed(rows):
            status, message = SearchStatus.FAILED, self._first_error(rows)
        self.store.write_state(status, trials=len(rows))
        trained = len(_finished_rows(self.store, rows)) - len(before)
        return SearchOutcome(
            status, self.store, rows, time.perf_counter() - started, message, trained
        )

    def _race(self, workers: int | None, overwrite: bool) -> SearchOutcome:
        """Run (or resume) a race (``race``): rounds of searches, each one more seed for
        the points still racing, replayed from the trial folders before each round;
        then race.json and results.csv. The outcome counts every round's runs."""
        spec, n = self.spec, len(self.plan.points)
        if not overwrite and self.store.stored_spec() is not None:
            self.store.check_same()  # an extended grid's names are read from its folder
        names = self.plan.trial
        trained, seconds, first = 0, 0.0, True
        while True:
            fresh = {i: [] for i in range(n)} if overwrite and first else None  # starts over
            scores = fresh if fresh is not None else race.scores_of(self.store, names, spec, n)
            table, seeds = race.standings(scores, spec.race, spec.direction)
            if seeds is None:
                break
            step = Search(replace(spec, repeats=seeds), self.store.root.parent, self.view,
                          stack=self.stack_given)  # fmt: skip
            racing = race.racing(table)
            step.exclude = {i for i in range(n) if i not in racing or table[i].seeds >= seeds}
            step.in_race = True
            outcome = step.run(workers, overwrite=overwrite and first)
            first = False
            trained, seconds = trained + outcome.trained, seconds + outcome.seconds
            if outcome.status not in (SearchStatus.FINISHED, SearchStatus.ALREADY_FINISHED):
                outcome.trained, outcome.seconds = trained, seconds
                return outcome
        race.write_state(self.store, names, table, spec)  # before results.csv, which reads it
        final = Search(spec, self.store.root.parent, self.view)
        final.exclude, final.in_race = set(range(n)), True
        outcome = final.run(workers, overwrite=False)
        if trained:
            outcome.status = SearchStatus.FINISHED
        outcome.trained, outcome.seconds = trained, seconds
        return outcome

    def _runner(self, on_epoch=None) -> TrialRunner:
        """The keras-tuner loop that trains this search's trials, handed what it uses."""
        return TrialRunner(
            self.oracle, spec=self.spec, store=self.store, space=self.space, names=self.names,
            trainer=self.trainer, on_epoch=on_epoch, stack=self.stack,
        )  # fmt: skip

    def _end_failed(self) -> None:
        """search.json says failed when the search ends with an error (a bug)."""
        try:
            self.store.write_state(SearchStatus.FAILED)
        except Exception:  # noqa: BLE001 - the error that ended the search is reported
            pass

    def _run_worker(self) -> SearchOutcome:
        """A worker: take trials from the chief until it says stop. It hands its
        trials back as it gives up, and fails (exit 1) when the chief stops answering
        for DLEXP_CHIEF_TIMEOUT seconds."""
        worker.exit_with_parent()
        worker.wait_for_chief()
        started = time.perf_counter()
        self.oracle = make_oracle(self.spec, self.space, self.plan, set(), self.hooks)
        runner = self._runner()
        client = runner.oracle  # worker.ChiefClient
        status, message = SearchStatus.FINISHED, None
        try:
            client.hello()  # a worker restarted under this id: its old trials go back
            client.get_space()  # waits for the chief, which writes search.yaml first
            self.store.check_same()
            client.start_heartbeat(self.store.touch_staged)
            runner.search(verbose=0)
        except KeyboardInterrupt:
            status = SearchStatus.INTERRUPTED
            if not client.lost:
                client.goodbye()  # Ctrl-C or SIGTERM: its trials go to another worker
        except worker.ChiefLost as exc:
            status, message = SearchStatus.FAILED, str(exc)
        except BaseException:
            client.goodbye()  # a trial of another search, say: it goes to another worker
            raise
        finally:
            client.close()
        if client.lost:
            status, message = SearchStatus.FAILED, client.lost
        return SearchOutcome(
            status, self.store, seconds=time.perf_counter() - started, message=message
        )
