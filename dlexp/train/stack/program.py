"""The compiled program of a stack: one template model for every member, the
members' variables padded to it and stacked, and the epoch, evaluation and
prediction steps ``jax.vmap``-ed over the members.

Everything a member computes goes through Keras' stateless APIs: the template's
``stateless_call``, each optimizer's ``stateless_apply``, each metric's
``stateless_update_state``/``stateless_result`` and the loss ``dlexp train``
compiles (Keras' loss function, or for regression ``StandardizedLoss``). dlexp
writes the loop: the scan over batches, the masks, and the per-member settings.
"""

from __future__ import annotations

import json

import keras
import numpy as np

from dlexp.data import Dataset
from dlexp.model import build as models
from dlexp.train.stack.initial import Initial
from dlexp.train.stack.layers import (
    Gate,
    PickActivation,
    RateDropout,
    ScaleNoise,
    ScaleTarget,
    Standardize,
)


def _dense(model) -> list:
    """A model's Dense layers in order, the output layer last (an ``initial.Initial``'s
    stand-ins for them)."""
    if isinstance(model, Initial):
        return model.dense
    return [layer for layer in model.layers if isinstance(layer, keras.layers.Dense)]


class Program:
    """The template, the stacked variables and the compiled steps of one stack.

    Args:
        members: each member's config and its own model (from ``models.build``).
        datas: each member's dataset: one shared by all, or (cross-validation) each
            fold's own, of the same sizes.
        batch_size: the members' batch size (the same for all).
    """

    def __init__(self, members: list[tuple[dict, object]], datas: list[Dataset], batch_size: int):
        import jax

        self.jax, self.data, self.datas = jax, datas[0], datas
        self.shared = all(d is datas[0] for d in datas)  # else each member's rows are its own
        data = datas[0]
        self.cfgs = [cfg for cfg, _ in members]
        self.models = [model for _, model in members]
        cfg0 = self.cfgs[0]
        self.layout = models.output_layout(cfg0, data.n_outputs, data.target_scale)
        n_train = len(data.x_train)
        self.batch_size = batch_size
        self.steps, self.rest = divmod(n_train, batch_size)
        self.lanes = np.arange(len(self.cfgs), dtype=np.int32)  # each slot's member
        self._template()
        self._optimizers()
        self._metrics()

    # -- the shared model ----------------------------------------------------------

    def _template(self) -> None:
        k = keras
        widths = [models.hidden_widths(c["model"], self.layout.units) for c in self.cfgs]
        depth = max(len(w) for w in widths)
        self.depths = [len(w) for w in widths]
        self.gated = len(set(self.depths)) > 1
        if self.gated:  # a layer passed through needs as many units out as in
            self.widths = [max(max(w) for w in widths)] * depth
        else:
            self.widths = [max(w[i] for w in widths) for i in range(depth)]
        self.activations = list(dict.fromkeys(c["model"]["activation"] for c in self.cfgs))
        inputs = k.Input(shape=(self.data.n_features,), name="features")
        h = inputs
        if self.data.extra_features:  # the same data, so the same for every member
            from dlexp.model.layers import PlaygroundFeatures

            h = PlaygroundFeatures(self.data.extra_features, name="features_extra")(h)
        self.standardize = None
        if self.data.standardize is not None and self.shared:  # the same for every member
            mean, variance = self.data.standardize
            h = k.layers.Normalization(mean=mean, variance=variance, name="standardize")(h)
        elif self.data.standardize is not None:  # each fold's own statistics
            self.standardize = Standardize(name="standardize")
            h = self.standardize(h)
        self.noise = None
        if any(c["model"]["input_noise"] > 0 for c in self.cfgs):
            self.noise = ScaleNoise(name="input_noise")
            h = self.noise(h)
        dropout = any(c["model"]["dropout"] > 0 for c in self.cfgs)
        self.picks, self.dropouts, self.gates, self.dense = [], [], [], []
        for i, width in enumerate(self.widths, start=1):
            self.dense.append(k.layers.Dense(width, name=f"dense_{i}"))
            self.picks.append(PickActivation(self.activations, name=f"activation_{i}"))
            y = self.picks[-1](self.dense[-1](h))
            if dropout:
                self.dropouts.append(RateDropout(name=f"dropout_{i}"))
                y = self.dropouts[-1](y)
            if self.gated and i > 1:
                self.gates.append(Gate(name=f"gate_{i}"))
                y = self.gates[-1]([y, h])
            h = y
        self.dense.append(
            k.layers.Dense(self.layout.units, activation=self.layout.activation, name="output")
        )
        out = self.dense[-1](h)
        self.target_scale = None
        if self.layout.regression:  # as models.build ends: predictions in the target's units
            self.target_scale = ScaleTarget(name="target_scale")
            out = self.target_scale(out)
        self.template = k.Model(inputs, out, name="stack")
        tv = self.template.trainable_variables
        self.kernels = [i for i, v in enumerate(tv) if v.path.endswith("kernel")]

    def _optimizers(self) -> None:
        """One Keras optimizer per distinct optimizer config; each member uses its own
        (chosen per member, like the activation). The learning rate is a variable."""
        texts = [json.dumps(c["train"]["optimizer"], sort_keys=True) for c in self.cfgs]
        configs = list(dict.fromkeys(texts))
        self.opt_of = np.asarray([configs.index(t) for t in texts], np.int32)
        self.optimizers = []
        for text in configs:
            train = {**self.cfgs[0]["train"], "optimizer": json.loads(text), "lr_schedule": None}
            opt = models.make_optimizer(train, 1)
            opt.build(self.template.trainable_variables)
            self.optimizers.append(opt)
        paths = [v.path for v in self.optimizers[0].variables]
        self.it_index = next(i for i, p in enumerate(paths) if p.endswith("/iteration"))
        self.lr_indexes = [
            next(i for i, v in enumerate(o.variables) if v.path.endswith("/learning_rate"))
            for o in self.optimizers
        ]

    def _metrics(self) -> None:
        train = self.cfgs[0]["train"]
        self.metrics = models.make_metrics(train["metrics"], self.layout)
        probe = np.zeros((1, self.layout.units), np.float32)
        # some (F1Score, R2Score) make their variables on first use, shaped by the
        # output's units (R2Score: one sum per regression target)
        for metric in self.metrics:
            metric.update_state(probe, probe)
            metric.reset_state()
        self.loss_fn = self._loss()

    def _loss(self):
        """The per-sample loss ``(y, y_pred, ntv) -> values``, which the steps mask and
        average as Keras' ``sum_over_batch_size`` does.

        For regression this is what ``dlexp train`` compiles, ``StandardizedLoss``: Keras'
        loss on the target and the prediction standardized by the training split's mean
        and std, here each member's own, read from the template's ``ScaleTarget``
        variables (a fold's are its own).
        """
        fn = keras.losses.get(self.layout.loss)
        if not self.layout.regression:
            return lambda y, y_pred, ntv: fn(y, y_pred)
        paths = [v.path for v in self.template.non_trainable_variables]
        at_mean = paths.index(self.target_scale.mean.path)
        at_std = paths.index(self.target_scale.std.path)

        def values(y, y_pred, ntv):
            mean, std = ntv[at_mean], ntv[at_std]
            y = keras.ops.cast(y, y_pred.dtype)
            return fn((y - mean) / std, (y_pred - mean) / std)

        return values

    # -- the members' variables, stacked ------------------------------------------------

    def initial_state(self, members: list[int] | None = None) -> dict:
        """Every member's weights padded into the template (zeros elsewhere) with the
        masks that keep the padding at zero, its settings, and fresh optimizer state;
        ``members``: those members only, in that order (the slots of a stack that
        refills them, ``refill``), each slot's member in ``lanes``."""
        jnp = self.jax.numpy
        members = list(range(len(self.cfgs))) if members is None else members
        tv_paths = [v.path for v in self.template.trainable_variables]
        tv, masks, ntv = [], [], []
        ntv_vars = self.template.non_trainable_variables
        for i in members:
            cfg, model, data = self.cfgs[i], self.models[i], self.datas[i]
            values, ones = {}, {}
            own = _dense(model)
            placed = [*range(len(own) - 1), len(self.dense) - 1]  # hidden layers, then output
            for layer, slot in zip(own, placed, strict=True):
                for w, var in zip(layer.get_weights(), self.dense[slot].weights, strict=True):
                    full, mask = np.zeros(var.shape, np.float32), np.zeros(var.shape, np.float32)
                    index = tuple(slice(0, n) for n in w.shape)
                    full[index], mask[index] = w, 1.0
                    values[var.path], ones[var.path] = full, mask
            for var in self.template.trainable_variables:  # layers this member lacks
                values.setdefault(var.path, np.zeros(var.shape, np.float32))
                ones.setdefault(var.path, np.zeros(var.shape, np.float32))
            tv.append([values[p] for p in tv_paths])
            masks.append([ones[p] for p in tv_paths])
            ntv.append([self._setting(var, cfg, data) for var in ntv_vars])
        ov = []
        for j, opt in enumerate(self.optimizers):
            rows = []
            for i in members:
                row = [np.asarray(v.value) for v in opt.variables]  # (Nadam's u_product is 1)
                lr = self.cfgs[i]["train"]["learning_rate"]
                row[self.lr_indexes[j]] = np.asarray(lr, np.float32)
                rows.append(row)
            ov.append(rows)

        def stack(rows):
            return [jnp.asarray(np.stack(column)) for column in zip(*rows, strict=True)]

        return {
            "tv": stack(tv),
            "masks": stack(masks),
            "ntv": stack(ntv),
            "ov": [stack(rows) for rows in ov],
        }

    def _setting(self, var, cfg: dict, data: Dataset) -> np.ndarray:
        """A member's value of one of the template's non-trainable variables."""
        model, seed, depth = cfg["model"], cfg["seed"], len(models.hidden_widths(cfg["model"]))
        if self.target_scale is not None:
            if var is self.target_scale.mean:
                return np.asarray(data.target_scale[0], np.float32)
            if var is self.target_scale.std:
                return np.asarray(data.target_scale[1], np.float32)
        if self.standardize is not None:
            if var is self.standardize.mean:
                return data.standardize[0]
            if var is self.standardize.variance:
                return data.standardize[1]
        for layer in self.picks:
            if var is layer.pick:
                return np.float32(self.activations.index(model["activation"]))
        for i, layer in enumerate(self.dropouts):
            if var is layer.rate:
                return np.float32(model["dropout"])
            if var is layer.seed_generator.state:
                return _seed_state(seed, i + 1)
        for i, layer in enumerate(self.gates):
            if var is layer.on:
                return np.float32(i + 2 <= depth)
        if self.noise is not None:
            if var is self.noise.stddev:
                return np.float32(model["input_noise"])
            if var is self.noise.seed_generator.state:
                return _seed_state(seed, 0)
        return np.asarray(var.value)

    def hyper(self, steps_per_epoch: int, members: list[int] | None = None) -> dict:
        """Per-member numbers the step reads: penalties, the optimizer, and the decay
        of an exponential or step schedule (rate 1: none); ``members`` as for
        ``initial_state``."""
        members = list(range(len(self.cfgs))) if members is None else members
        self.lanes = np.asarray(members, np.int32)
        out: dict[str, list] = {"l1": [], "l2": [], "rate": [], "every": [], "staircase": []}
        for cfg in (self.cfgs[i] for i in members):
            schedule = cfg["train"]["lr_schedule"]
            decays = schedule is not None and schedule["kind"] in ("exponential", "step")
            out["l1"].append(cfg["model"]["l1"])
            out["l2"].append(cfg["model"]["l2"])
            out["rate"].append(schedule["rate"] if decays else 1.0)
            out["every"].append(schedule["every"] * steps_per_epoch if decays else 1.0)
            out["staircase"].append(1.0 if decays and schedule["kind"] == "step" else 0.0)
        hp = {k: np.asarray(v, np.float32) for k, v in out.items()}
        hp["opt"] = self.opt_of[self.lanes]
        return {k: self.jax.numpy.asarray(v) for k, v in hp.items()}

    def base_learning_rates(self, ov) -> np.ndarray:
        """Each member's learning rate before a schedule's decay (a copy)."""
        base = np.stack([np.asarray(ov[j][self.lr_indexes[j]]) for j in range(len(ov))])
        return base[self.opt_of[self.lanes], np.arange(len(self.lanes))].astype(np.float32)

    def learning_rates(self, ov, hp) -> np.ndarray:
        """Each member's learning rate now (a schedule's at the current step)."""
        base = self.base_learning_rates(ov)
        it = np.asarray(ov[0][self.it_index], np.float32)
        p = it / np.asarray(hp["every"])
        p = np.where(np.asarray(hp["staircase"]) > 0, np.floor(p), p)
        return base * np.power(np.asarray(hp["rate"]), p)

    def set_learning_rates(self, ov, lrs: np.ndarray):
        """The stacked optimizer states with these base learning rates."""
        ov = [list(o) for o in ov]
        for j, index in enumerate(self.lr_indexes):
            ov[j][index] = self.jax.numpy.asarray(lrs.astype(np.float32))
        return ov

    # -- the compiled steps ------------------------------------------------------------

    def compile(self):
        """jit-compiled (epoch, evaluate, predict) for this stack."""
        jax, jnp = self.jax, self.jax.numpy
        template, metrics, loss_fn, kernels = (
            self.template,
            self.metrics,
            self.loss_fn,
            self.kernels,
        )
        optimizers, lr_indexes, it_index = self.optimizers, self.lr_indexes, self.it_index
        metric_init = [[jnp.asarray(v.value) for v in m.variables] for m in metrics]
        if self.shared:
            x_train = jnp.asarray(self.data.x_train)
            y_train = jnp.asarray(self.layout.targets(self.data.y_train))
        else:  # each member's own rows, stacked: vmapped with the member
            x_train = jnp.asarray(np.stack([d.x_train for d in self.datas]))
            y_train = jnp.asarray(np.stack([self.layout.targets(d.y_train) for d in self.datas]))
        axis = None if self.shared else 0

        def penalty(tv, hp):
            total = 0.0
            for i in kernels:
                total += hp["l1"] * jnp.sum(jnp.abs(tv[i])) + hp["l2"] * jnp.sum(jnp.square(tv[i]))
            return total

        def forward(tv, ntv, hp, x, y, w, training):
            y_pred, ntv = template.stateless_call(tv, ntv, x, training=training)
            losses = loss_fn(y, y_pred, ntv)  # a regression's scale is in ntv, unchanged
            loss = jnp.mean(losses) if w is None else jnp.sum(losses * w) / jnp.sum(w)
            return loss + penalty(tv, hp), (y_pred, ntv)

        def update(mv, y, y_pred, w=None):
            return [
                m.stateless_update_state(v, y, y_pred, sample_weight=w)
                for m, v in zip(metrics, mv, strict=True)
            ]

        def results(mv):
            return [m.stateless_result(v) for m, v in zip(metrics, mv, strict=True)]

        def step(state, idx, hp, active, x_rows, y_rows):
            tv, ntv, ov, mv, loss_sum, count, masks = state
            x, y = x_rows[idx], y_rows[idx]
            grad_fn = jax.value_and_grad(forward, has_aux=True)
            (loss, (y_pred, ntv2)), grads = grad_fn(tv, ntv, hp, x, y, None, True)
            grads = [g * m for g, m in zip(grads, masks, strict=True)]
            p = ov[0][it_index].astype(jnp.float32) / hp["every"]  # Keras' ExponentialDecay
            decay = jnp.power(hp["rate"], jnp.where(hp["staircase"] > 0, jnp.floor(p), p))
            new_tv, new_ov = None, []
            for j, opt in enumerate(optimizers):
                opt_vars = list(ov[j])
                base = opt_vars[lr_indexes[j]]
                opt_vars[lr_indexes[j]] = base * decay
                tv_j, ov_j = opt.stateless_apply(opt_vars, grads, tv)
                ov_j = list(ov_j)
                ov_j[lr_indexes[j]] = base
                new_ov.append(ov_j)
                mine = hp["opt"] == j
                new_tv = (
                    tv_j
                    if new_tv is None
                    else [jnp.where(mine, a, b) for a, b in zip(tv_j, new_tv, strict=True)]
                )
            keep = lambda new, old: jnp.where(active, new, old)  # noqa: E731 - frozen members
            tv2 = [keep(a, b) for a, b in zip(new_tv, tv, strict=True)]
            ov2 = [
                [keep(a, b) for a, b in zip(n, o, strict=True)]
                for n, o in zip(new_ov, ov, strict=True)
            ]
            n = jnp.float32(idx.shape[0])
            carry = (tv2, ntv2, ov2, update(mv, y, y_pred), loss_sum + loss * n, count + n, masks)
            return carry, loss

        vstep = jax.vmap(step, in_axes=(0, 0, 0, 0, axis, axis))

        def epoch(state, hp, active, perms, rest):
            tv, ntv, ov, masks = state["tv"], state["ntv"], state["ov"], state["masks"]
            members = active.shape[0]
            mv = [[jnp.broadcast_to(v, (members, *v.shape)) for v in m] for m in metric_init]
            zeros = jnp.zeros((members,), jnp.float32)
            carry = (tv, ntv, ov, mv, zeros, zeros, masks)
            carry, losses = jax.lax.scan(
                lambda c, idx: vstep(c, idx, hp, active, x_train, y_train), carry, perms
            )
            if rest is not None:
                carry, last = vstep(carry, rest, hp, active, x_train, y_train)
                losses = jnp.concatenate([losses, last[None]])
            tv, ntv, ov, mv, loss_sum, count, _ = carry
            new = {**state, "tv": tv, "ntv": ntv, "ov": ov}
            return new, loss_sum / count, jax.vmap(results)(mv), losses  # losses: per batch

        def evaluate(tv, ntv, hp, x, y, w):
            def one(tv, ntv, hp):
                loss, (y_pred, _) = forward(tv, ntv, hp, x, y, w, False)
                return loss, results(update([list(v) for v in metric_init], y, y_pred, w))

            return jax.vmap(one)(tv, ntv, hp)

        def evaluate_own(tv, ntv, hp, x, y, w):  # each member's own rows (folds)
            def one(tv, ntv, hp, x, y, w):
                loss, (y_pred, _) = forward(tv, ntv, hp, x, y, w, False)
                return loss, results(update([list(v) for v in metric_init], y, y_pred, w))

            return jax.vmap(one)(tv, ntv, hp, x, y, w)

        def predict(tv, ntv, x):
            def one(tv, ntv):
                return template.stateless_call(tv, ntv, x, training=False)[0]

            return jax.vmap(one)(tv, ntv)

        return jax.jit(epoch), jax.jit(evaluate if self.shared else evaluate_own), jax.jit(predict)

    def unpadded(self, i: int, tv: list[np.ndarray], lane: int | None = None) -> list[np.ndarray]:
        """Member i's own weights (its model's get_weights order) from the stacked ones
        (in slot ``lane``, by default its own index)."""
        lane = i if lane is None else lane
        paths = [v.path for v in self.template.trainable_variables]
        own = _dense(self.models[i])
        placed = [*range(len(own) - 1), len(self.dense) - 1]
        out = []
        for layer, slot in zip(own, placed, strict=True):
            for w, var in zip(layer.get_weights(), self.dense[slot].weights, strict=True):
                out.append(tv[paths.index(var.path)][lane][tuple(slice(0, n) for n in w.shape)])
        return out


def _seed_state(seed: int, layer: int) -> np.ndarray:
    """A member's own random stream for one layer (dropout, input noise)."""
    return np.asarray([seed % (2**32), 7919 * layer + 1], np.uint32)
