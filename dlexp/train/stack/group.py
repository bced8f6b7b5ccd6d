"""Which runs train together, and in stacks of what size.

``stack_key`` says what runs must share to be one stack; ``StackTrainer`` groups the
jobs it is handed by it, cuts each group into stacks that fit in memory, and trains
each as one program (``trainer.Stack``), or one at a time (``fit.TrialTrainer``) where
a run cannot be stacked. ``train_repeats`` and ``train_folds`` are ``dlexp train
--repeats`` and ``--cv``: the runs of one config, trained together.
"""

from __future__ import annotations

import json
from collections.abc import Sequence

import keras

from dlexp import config
from dlexp.core import limits
from dlexp.core.errors import ConfigError
from dlexp.model import build as models
from dlexp.runs import folder as runs
from dlexp.runs.folder import Status
from dlexp.train.fit import Outcome, TrialJob, TrialTrainer, commit, seed_everything, stops

SLOTS_MIN = 16  # the fewest runs a refilled stack trains at once (unless given --stack)


def stack_key(cfg: dict) -> str | None:
    """What runs must share to be trained in one stack (as JSON text); None for a run
    that trains alone (batch normalization, or a backend other than JAX)."""
    model, train = cfg["model"], cfg["train"]
    if keras.backend.backend() != "jax" or model["batch_norm"]:
        return None
    data_seed = config.data_seed(cfg)
    data = dict(cfg["data"])
    if data.get("cv") is not None:  # the folds of one dataset train together
        data["cv"] = data["cv"]["folds"]
    return json.dumps(
        {
            "data": [data, data_seed],
            "no_hidden_layer": not models.hidden_widths(model),
            "output_activation": model["output_activation"],
            "loss": train["loss"],
            "metrics": train["metrics"],
            "batch_size": train["batch_size"],
        },
        sort_keys=True,
    )


def run_bytes(cfg: dict, n_features: int, n_rows: int) -> int:
    """A generous estimate of one member's memory in a stack: its weights with every
    optimizer slot, best weights and masks, and its activations on ``n_rows`` rows."""
    widths = models.hidden_widths(cfg["model"]) or [1]
    params = models.count_params(widths, n_features, 8)
    return 4 * (12 * params + 4 * n_rows * (sum(widths) + n_features + 8))


class StackTrainer:
    """Trains runs together: groups them by ``stack_key`` into stacks of at most
    ``max_stack`` runs (None: as many as fit in a quarter of the memory available)
    and trains each stack as one program. Runs that cannot be stacked, and stacks of
    one, go to ``TrialTrainer``: exactly what ``dlexp train`` does."""

    MAX_DEFAULT = 512

    def __init__(self, max_stack: int | None = None):
        self.max_stack = max_stack
        self.single = TrialTrainer()

    def __call__(self, jobs: Sequence[TrialJob]) -> list[Outcome]:
        groups: dict[str | None, list[TrialJob]] = {}
        for job in jobs:
            fresh = job.weights is None and job.initial_epoch == 0
            groups.setdefault(stack_key(job.cfg) if fresh else None, []).append(job)
        ended: dict[int, Outcome] = {}  # id(job) -> its outcome
        for key, members in groups.items():
            refill = key is not None and _refills(members)
            chunks = [members] if refill else self.chunks(members)
            for chunk in [[job] for job in members] if key is None else chunks:
                done = self._train(chunk, self.slots(chunk) if refill else None)
                ended.update(done)
                if len(done) < len(chunk) or any(stops(o) for o in done.values()):
                    break
            else:
                continue
            break
        return [ended[id(job)] for job in jobs if id(job) in ended]  # in the jobs' order

    def chunks(self, jobs: list[TrialJob]) -> list[list[TrialJob]]:
        """The stacks these jobs (of one group) train in."""
        size = self.max_stack
        if size is None:
            data = self.single.dataset(jobs[0].cfg)
            rows = max(max(len(x) for x, _ in data.splits().values()), 4096)
            per_run = max(run_bytes(j.cfg, data.n_features, rows) for j in jobs)
            size = max(1, min(self.MAX_DEFAULT, limits.budget() // per_run))
        return [jobs[i : i + size] for i in range(0, len(jobs), size)]

    def slots(self, jobs: list[TrialJob]) -> int:
        """How many runs a refilled stack trains at once (``refill``): ``max_stack``, else
        an eighth of its runs (at least SLOTS_MIN) as memory allows. Fewer slots than
        runs let pruned runs hand theirs on; too few would step tiny programs."""
        if self.max_stack is not None:
            return self.max_stack
        fits = self.chunks(jobs)[0]
        return max(1, min(len(fits), max(SLOTS_MIN, -(-len(jobs) // 8))))

    def _train(self, jobs: list[TrialJob], slots: int | None = None) -> dict[int, Outcome]:
        """Train one stack (refilled, ``slots`` at a time, when given); its outcomes by
        ``id(job)``."""
        if len(jobs) == 1 and slots is None:
            return {id(job): o for job, o in zip(jobs, self.single(jobs), strict=False)}
        from dlexp.train.stack.trainer import Stack

        outcomes, members, datas = {}, [], []
        for job in jobs:  # each member's own model, its initial weights as dlexp train's
            try:
                data = self.single.dataset(job.cfg)  # a fold's own, else the one shared
            except ConfigError as exc:
                outcomes[id(job)] = _failed(job, str(exc))
                continue
            seed_everything(job.cfg["seed"])
            try:
                if slots is not None:  # its weights only: most of a pruned search's never save
                    from dlexp.train.stack.initial import Initial

                    model = Initial(job.cfg, data)
                else:
                    model = models.build(
                        job.cfg, data.n_features, data.n_outputs, data.standardize,
                        data.target_scale,
                    )  # fmt: skip
                members.append((job, model))
                datas.append(data)
            except (ValueError, TypeError) as exc:  # Keras refused this config: it fails
                outcomes[id(job)] = _failed(job, str(models.refused(exc)))
        # folds whose splits differ in size (by a row) train in separate stacks
        sizes = [(len(d.x_train), 0 if d.x_val is None else len(d.x_val)) for d in datas]
        for size in dict.fromkeys(sizes):
            group = [m for m, s in zip(members, sizes, strict=True) if s == size]
            data = [d for d, s in zip(datas, sizes, strict=True) if s == size]
            if slots is not None:
                from dlexp.train.stack.refill import RefillStack

                name = f"{group[0][0].name}..{group[-1][0].name}"
                try:
                    stack = RefillStack(group, data[0], name, slots, commit)
                except ConfigError as exc:
                    outcomes.update({id(job): _failed(job, str(exc)) for job, _ in group})
                    continue
                done = stack.train(lambda member, outcome: None)
                outcomes.update({id(m.job): m.outcome for m in stack.members if m.outcome})
                if len(done) < len(group) or any(stops(o) for o in done):
                    break
                continue
            if len(group) == 1:
                job = group[0][0]
                outcomes.update({id(job): o for o in self.single([job])})
                continue
            try:
                stack = Stack(group, data, group=f"{group[0][0].name}..{group[-1][0].name}")
            except ConfigError as exc:
                outcomes.update({id(job): _failed(job, str(exc)) for job, _ in group})
                continue
            done = stack.train(lambda member, outcome: None)
            ended = [(job, o) for (job, _), o in zip(group, done, strict=False)]
            commit(ended)  # the stack's folders published as one, then each job told
            outcomes.update({id(job): o for job, o in ended})
            if len(done) < len(group) or any(stops(o) for o in done):
                break
        return outcomes


def _refills(jobs: Sequence[TrialJob]) -> bool:
    """Whether these runs (of one group) train in a refilled stack: a search prunes
    them, and they share one dataset (not cross-validation folds)."""
    return any(j.prune is not None for j in jobs) and all(
        j.cfg["data"].get("cv") is None for j in jobs
    )


def _failed(job: TrialJob, error: str) -> Outcome:
    """A run that could not start: its folder says why."""
    runs.write_failed(job.run, job.cfg, error)
    outcome = Outcome(job.run, Status.FAILED, error=error)
    commit([(job, outcome)])
    return outcome


def train_repeats(cfg: dict, runs_dir, repeats: int, on_epoch=None, dataset=None) -> list[Outcome]:
    """``dlexp train --repeats N``: the config on seeds seed .. seed+N-1 (the data on
    the config's seed), trained together, into N run folders (<name>-r0, ...).

    Bad input raises ConfigError before any run folder exists.
    """
    configs = [config.repeat(cfg, r) for r in range(repeats)]
    return _train_together(configs, runs_dir, "r", on_epoch, dataset)


def train_folds(cfg: dict, runs_dir, folds: int, on_epoch=None) -> list[Outcome]:
    """``dlexp train --cv K``: the config on each of K stratified folds of its
    train+validation data (validated on the fold, trained on the others; the test
    split kept aside), trained together, into K run folders (<name>-f0, ...).

    Bad input raises ConfigError before any run folder exists.
    """
    if cfg["data"]["cv"] is not None:
        raise ConfigError(
            f"the config already names a fold ({cfg['data']['cv']}); remove data.cv", "--cv"
        )
    configs = [config.fold(cfg, k, folds) for k in range(folds)]
    return _train_together(configs, runs_dir, "f", on_epoch)


def _train_together(configs, runs_dir, kind: str, on_epoch, dataset=None) -> list[Outcome]:
    trainer = StackTrainer(len(configs))
    data = trainer.single.dataset(configs[0], dataset)  # a bad CSV fails before any folder
    models.check_fits(configs[0], data.n_features, data.n_outputs, 4096)
    try:
        models.build(
            configs[0], data.n_features, data.n_outputs, data.standardize, data.target_scale
        )
    except (ValueError, TypeError) as exc:
        raise models.refused(exc) from None
    for c in configs[1:]:  # every fold's data, checked before any folder is made
        trainer.single.dataset(c)
    name = configs[0]["name"] or "run"
    jobs = []
    for r, c in enumerate(configs):
        run = runs.create_run(runs_dir, f"{name}-{kind}{r}")
        jobs.append(TrialJob(run.id, c, run, on_epoch))
    return trainer(jobs)
