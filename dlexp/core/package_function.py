"""A function of the API that shares its name with a subpackage: ``dlexp.train`` (the
function) and ``dlexp/train/`` (the package), ``dlexp.search``, and
``dlexp.explain.backprop``. Python binds a package's attribute to a subpackage when the
subpackage is first imported, so the name is bound once, after that, to a
``PackageFunction``: called, it is the function; any other attribute is the
subpackage's (``dlexp.train.fit``, ``dlexp.search.spec``), so code and tests that
reach modules through the dotted path keep working. Imports nothing heavy."""

from __future__ import annotations

import functools
import importlib


class PackageFunction:
    """``function`` under the name of the subpackage ``package``.

    Args:
        function: the API's function (its signature and docstring are shown as its own).
        package: the dotted name of the subpackage whose attributes it also gives.
    """

    def __init__(self, function, package: str):
        functools.update_wrapper(self, function)
        self._function = function
        self._package = package

    def __call__(self, *args, **kwargs):
        return self._function(*args, **kwargs)

    def __getattr__(self, name: str):
        if name.startswith("__") or name in ("_function", "_package"):
            raise AttributeError(name)
        return getattr(importlib.import_module(self._package), name)

    def __setattr__(self, name: str, value) -> None:  # a test patching dlexp.train.fit
        if name.startswith("_") or name in functools.WRAPPER_ASSIGNMENTS:
            object.__setattr__(self, name, value)
        else:
            setattr(importlib.import_module(self._package), name, value)

    @property
    def __signature__(self):
        import inspect  # here: ``import dlexp`` does not pay for it

        return inspect.signature(self._function)

    def __repr__(self) -> str:
        return f"<function {self._function.__module__}.{self._function.__qualname__}>"
