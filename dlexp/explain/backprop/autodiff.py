"""The same steps by Keras' autodiff: ``keras.layers.Dense`` layers holding the weights,
``jax.value_and_grad`` over their ``stateless_call``, in float64.

The deltas and ∂E/∂out come out as gradients with respect to a zero (a probe) added to
each layer's net input and output. Keras and JAX are imported when a KerasSteps is made,
not with this module.
"""

from __future__ import annotations

import numpy as np

from dlexp.core.errors import ConfigError, show
from dlexp.explain.backprop.records import LayerStep, Params


class KerasSteps:
    """The steps run by Keras: Dense layers holding the weights, jax.value_and_grad over
    their stateless_call, in float64; ``chunk`` steps per jitted call (a lax.scan)."""

    def __init__(self, spec: dict, chunk: int):
        import jax
        import keras

        if keras.backend.backend() != "jax":
            raise ConfigError(
                "expected jax (the autodiff check differentiates Keras with jax.grad), "
                f"got {show(keras.backend.backend())}: unset it or set KERAS_BACKEND=jax",
                "KERAS_BACKEND",
            )
        self.jax, self.keras = jax, keras
        self.float32_in_keras: list[str] = []
        with jax.enable_x64(True):
            self._build(spec, chunk)

    def _build(self, spec: dict, chunk: int) -> None:
        jax, keras = self.jax, self.keras
        jnp = jax.numpy
        fan_in, dense, acts, units = len(spec["inputs"]), [], [], []
        for i, layer in enumerate(spec["layers"]):
            n = len(layer["biases"])
            d = keras.layers.Dense(
                n,
                dtype="float64",
                kernel_initializer="zeros",
                bias_initializer="zeros",
                name=f"dlexp_backprop_{i}",
            )
            d.build((None, fan_in))
            dense.append(d)
            acts.append(self._activation(layer["activation"]))
            units.append(n)
            fan_in = n
        x = jnp.asarray([spec["inputs"]], dtype=jnp.float64)
        t = jnp.asarray([spec["targets"]], dtype=jnp.float64)
        loss_fn = self._loss_function(spec["loss"])
        lr, train_biases = spec["learning_rate"], spec["train_biases"]

        def run_forward(params, probes):
            """The loss; each layer's net and out. A probe (zero) is added to each net
            and each out, so that the loss's gradient with respect to it is ∂E/∂net
            (the delta) and ∂E/∂out."""
            h, nets, outs = x, [], []
            for layer, act, (k, b), (p_net, p_out) in zip(dense, acts, params, probes, strict=True):
                net, _ = layer.stateless_call([k, b], [], h)
                net = net + p_net
                h = act(net) + p_out
                nets.append(net[0])
                outs.append(h[0])
            return loss_fn(t, h), (nets, outs)

        grad = jax.value_and_grad(run_forward, argnums=(0, 1), has_aux=True)
        probes = [(jnp.zeros((1, n)), jnp.zeros((1, n))) for n in units]

        def step(params, _):
            (loss, (nets, outs)), (g_params, g_probes) = grad(params, probes)
            new_params, layers = [], []
            for (k, b), (gk, gb), (g_net, g_out), net, out in zip(
                params, g_params, g_probes, nets, outs, strict=True
            ):
                new_k = k - lr * gk
                new_b = b - lr * gb if train_biases else b
                new_params.append(Params(new_k, new_b))
                layers.append(
                    LayerStep(
                        net=net,
                        out=out,
                        dE_dout=g_out[0],
                        delta=g_net[0],
                        grad_weights=gk,
                        grad_biases=gb,
                        weights_after=new_k,
                        biases_after=new_b,
                    )
                )
            return new_params, (loss, layers)

        self._run = jax.jit(lambda params: jax.lax.scan(step, params, None, length=chunk))
        self._loss = jax.jit(lambda params: run_forward(params, probes))

    def _float64(self, name: str, keras_fn, jax_fn, *probe):
        """Keras' function if it computes in float64, else ``jax_fn``: the formula Keras
        applies, in jax.numpy. Keras' JAX backend promotes float64 to float32 in some
        ops (tanh, mean: keras.src.backend.common.dtypes.BIT64_TO_BIT32_DTYPE), which
        would leave its figures 1e-7 off; a probe in float64 (value and gradient) tells."""
        jax = self.jax
        jnp = jax.numpy
        probe = [jnp.asarray(p, dtype=jnp.float64) for p in probe]

        def value_and_grad(fn):
            value, grad = jax.value_and_grad(lambda v: jnp.sum(fn(*probe[:-1], v)))(probe[-1])
            return value, grad

        (ours, our_grad), (theirs, their_grad) = value_and_grad(jax_fn), value_and_grad(keras_fn)
        if all(str(a.dtype) == "float64" for a in (theirs, their_grad)) and all(
            np.allclose(np.asarray(a), np.asarray(b), rtol=1e-14, atol=1e-15)
            for a, b in ((theirs, ours), (their_grad, our_grad))
        ):
            return keras_fn
        self.float32_in_keras.append(name)
        return jax_fn

    def _activation(self, name: str):
        jax = self.jax
        keras_fn = self.keras.activations.get(name)
        jax_fn = {
            "sigmoid": jax.nn.sigmoid,
            "tanh": jax.numpy.tanh,
            "relu": jax.nn.relu,
            "linear": lambda x: x,
            "softmax": jax.nn.softmax,
        }[name]
        return self._float64(name, keras_fn, jax_fn, [[-1.3, 0.1, 0.7]])

    def _loss_function(self, name: str):
        """The loss of the one sample (a scalar): Keras', or the same in jax.numpy."""
        ops, losses, jnp = self.keras.ops, self.keras.losses, self.jax.numpy
        keras_fn = {
            "half_sse": lambda t, o: 0.5 * ops.sum(ops.square(t - o)),
            "mse": lambda t, o: ops.sum(losses.mean_squared_error(t, o)),
            "binary_crossentropy": lambda t, o: ops.sum(losses.binary_crossentropy(t, o)),
        }[name]
        # the elementwise part stays Keras' own; only the mean over outputs is jax.numpy's
        jax_fn = {
            "half_sse": lambda t, o: 0.5 * jnp.sum(jnp.square(t - o)),
            "mse": lambda t, o: jnp.sum(jnp.mean(ops.square(t - o), axis=-1)),
            "binary_crossentropy": lambda t, o: jnp.sum(
                jnp.mean(ops.binary_crossentropy(t, o), axis=-1)
            ),
        }[name]
        label = f"the mean in {name}" if name != "half_sse" else "the sum in half_sse"
        return self._float64(label, keras_fn, jax_fn, [[0.2, 0.9, 0.0]], [[0.3, 0.6, 0.25]])

    def describe(self) -> str:
        """How Keras computed, in a line."""
        text = (
            "jax.value_and_grad through keras.layers.Dense (stateless_call), keras.activations "
            f"and keras.losses in float64 (keras {self.keras.__version__}, jax "
            f"{self.jax.__version__})"
        )
        if self.float32_in_keras:
            names = list(dict.fromkeys(self.float32_in_keras))
            text += (
                f"; {' and '.join(names)} {'is' if len(names) == 1 else 'are'} jax.numpy's, "
                f"as Keras' JAX backend computes {'it' if len(names) == 1 else 'them'} "
                "in float32"
            )
        return text

    def params(self, spec: dict) -> list[Params]:
        """The file's weights and biases as float64 JAX arrays."""
        jnp = self.jax.numpy
        with self.jax.enable_x64(True):
            return [
                Params(
                    jnp.asarray(layer["weights"], dtype=jnp.float64),
                    jnp.asarray(layer["biases"], dtype=jnp.float64),
                )
                for layer in spec["layers"]
            ]

    def run(self, params: list) -> tuple[list[Params], np.ndarray, list[LayerStep]]:
        """``chunk`` steps from ``params``: the weights after them, each step's loss and
        each layer's figures, stacked over the steps."""
        with self.jax.enable_x64(True):
            params, (loss, layers) = self._run(params)
            loss = np.asarray(loss)
            layers = [LayerStep._make(np.asarray(a) for a in layer) for layer in layers]
        return params, loss, layers

    def loss_and_out(self, params: list) -> tuple[float, np.ndarray]:
        """The loss at ``params`` and the last layer's output."""
        with self.jax.enable_x64(True):
            loss, (_, outs) = self._loss(params)
            return float(loss), np.asarray(outs[-1])

    def as_params(self, layers: list[LayerStep], k: int) -> list[Params]:
        """The weights after step ``k`` of a chunk (from its records)."""
        jnp = self.jax.numpy
        with self.jax.enable_x64(True):
            return [
                Params(jnp.asarray(layer.weights_after[k]), jnp.asarray(layer.biases_after[k]))
                for layer in layers
            ]
