"""Views inside the network: the notebook's lessons (backpropagation worked by hand,
activation functions, the optimizers' paths) as commands, checked against Keras.

As Python functions (``dlexp.explain.backprop(steps=1)``, ``activations(...)``,
``optimizers(...)``, in :mod:`dlexp.explain.lessons`) they return data shown in a
notebook as tables and pictures. Each shares its name with the module that does the
work (``backprop/``, ``activations.py``, ``optimizers.py``): those are imported first
(none imports Keras at import), and the name is then bound to a function that also
gives the module's attributes (``dlexp.explain.backprop.run``; see
:mod:`dlexp.core.package_function`)."""

import dlexp.explain.activations
import dlexp.explain.backprop
import dlexp.explain.optimizers  # noqa: F401 - bound before the functions of their names
from dlexp.core.package_function import PackageFunction as _PackageFunction
from dlexp.explain import lessons as _lessons

backprop = _PackageFunction(_lessons.backprop, "dlexp.explain.backprop")
activations = _PackageFunction(_lessons.activations, "dlexp.explain.activations")
optimizers = _PackageFunction(_lessons.optimizers, "dlexp.explain.optimizers")

__all__ = ["activations", "backprop", "optimizers"]
