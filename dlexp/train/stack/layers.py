"""Keras layers whose settings are data: one value per member of a stack.

A stack trains one template model for all its members; where members differ in a
setting that Keras keeps as a Python constant (an activation, a dropout rate, the
noise on the inputs, whether a layer exists at all), these layers hold it in a
non-trainable variable instead, which is stacked like the weights.
"""

from __future__ import annotations

from collections.abc import Sequence

import keras
from keras import ops


def _setting(layer: keras.layers.Layer, name: str):
    return layer.add_weight(shape=(), initializer="zeros", trainable=False, name=name)


class PickActivation(keras.layers.Layer):
    """One of several activations, the member's chosen by the index in ``pick``
    (selected with ``where``: exact, and safe from another activation's overflow)."""

    def __init__(self, names: Sequence[str], **kwargs):
        super().__init__(**kwargs)
        self.names = list(names)
        self.functions = [keras.activations.get(n) for n in self.names]

    def build(self, input_shape):
        self.pick = _setting(self, "pick")

    def call(self, x):
        out = self.functions[0](x)
        for k, fn in enumerate(self.functions[1:], start=1):
            out = ops.where(ops.equal(self.pick, k), fn(x), out)
        return out


class RateDropout(keras.layers.Layer):
    """Dropout whose rate is a variable (0: nothing dropped)."""

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.seed_generator = keras.random.SeedGenerator(0)

    def build(self, input_shape):
        self.rate = _setting(self, "rate")

    def call(self, x, training=False):
        if not training:
            return x
        keep = keras.random.uniform(ops.shape(x), seed=self.seed_generator) >= self.rate
        return ops.where(keep, x / (1.0 - self.rate), ops.zeros_like(x))


class ScaleNoise(keras.layers.Layer):
    """Gaussian noise added to the inputs while training, its standard deviation a
    variable (0: none)."""

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.seed_generator = keras.random.SeedGenerator(0)

    def build(self, input_shape):
        self.stddev = _setting(self, "stddev")

    def call(self, x, training=False):
        if not training:
            return x
        return x + self.stddev * keras.random.normal(ops.shape(x), seed=self.seed_generator)


class Gate(keras.layers.Layer):
    """A hidden layer that a member may not have: its output where ``on`` is 1, its
    input passed through unchanged where it is 0 (a shallower member in a deeper
    template)."""

    def build(self, input_shape):
        self.on = _setting(self, "on")

    def call(self, inputs):
        layer_out, layer_in = inputs
        return ops.where(ops.greater(self.on, 0.5), layer_out, layer_in)


class Standardize(keras.layers.Layer):
    """Keras' Normalization with its mean and variance in variables: each fold of a
    cross-validation standardizes with its own training rows' statistics."""

    def build(self, input_shape):
        n = input_shape[-1]
        self.mean = self.add_weight(shape=(n,), initializer="zeros", trainable=False, name="mean")
        self.variance = self.add_weight(
            shape=(n,), initializer="ones", trainable=False, name="variance"
        )

    def call(self, x):
        return ops.divide(
            ops.subtract(x, self.mean),
            ops.maximum(ops.sqrt(self.variance), keras.backend.epsilon()),
        )


class ScaleTarget(keras.layers.Layer):
    """``dlexp.model.layers.TargetScale`` (``z * std + mean``) with the mean and standard
    deviation in variables: a regression's output put into the target's units, each
    cross-validation fold's by its own training rows' statistics. The program reads
    the same variables to standardize the target for the loss."""

    def build(self, input_shape):
        n = input_shape[-1]
        self.mean = self.add_weight(shape=(n,), initializer="zeros", trainable=False, name="mean")
        self.std = self.add_weight(shape=(n,), initializer="ones", trainable=False, name="std")

    def call(self, z):
        return z * self.std + self.mean

    def compute_output_shape(self, input_shape):
        return input_shape
