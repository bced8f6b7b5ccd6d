"""Trials trained together: one compiled JAX program for a stack of compatible runs.

A stack is a group of runs that share their data, their loss and output, their
metrics and their batch size (``stack_key``). Each member keeps its own model,
built by ``models.build`` from its own config and seed, so its initial weights are
exactly those ``dlexp train`` starts from. The members' variables are stacked and
one step, written with Keras' stateless APIs, is ``jax.vmap``-ed over them; an
epoch is one ``lax.scan`` over the batches (``program``). Between epochs each
member's callbacks are decided as Keras' would decide them (``callbacks``).

How members that differ share one program:

- **Widths** are padded to the widest member. A padded unit has zero weights in and
  out and its gradients are masked to zero, so it stays zero and adds nothing: the
  member computes what its own model computes, up to the order in which
  floating-point sums are added.
- **Depth**: a shallower member passes its last hidden layer's output through the
  layers it lacks (``layers.Gate``); then every hidden layer is as wide as the widest.
- **Activation, optimizer, dropout rate, input noise, learning rate, L1/L2 and the
  decay of an exponential or step schedule** are data: per-member values in the
  program's variables, the activation and the optimizer chosen per member with
  ``where`` (every optimizer in the stack steps, each member keeps its own's).
- **Data order** is each member's own: the permutations Keras' fit draws after
  ``set_random_seed(seed)``, so a member follows its one-at-a-time path.
- **A regression's target scale**: the template ends, as ``models.build``'s models do,
  with the output put into the target's units (``layers.ScaleTarget``), and the loss
  is the one ``dlexp train`` compiles (on the standardized target); the mean and std
  are per-member values, so cross-validation folds each use their own training rows'.
- **Early stopping, plateau schedules, epochs and divergence** are per member and
  decided between epochs: a member that stops (or diverges) is frozen, and its best
  weights are restored at the end when asked.

Batch normalization, a Hyperband continuation (weights to start from) and the
TensorFlow backend train one run at a time, as ``dlexp train`` does.

The modules: ``group`` (which runs train together, in stacks of what size),
``program`` (the compiled program), ``layers`` (settings as data), ``trainer`` (the
epochs and each member's run folder, written by ``train.writer`` as ``dlexp train``
writes one) and ``callbacks`` (each member's early stopping, plateau and divergence).
"""

from dlexp.train.stack.group import StackTrainer, stack_key, train_folds, train_repeats

__all__ = ["StackTrainer", "stack_key", "train_folds", "train_repeats"]
