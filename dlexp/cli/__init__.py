"""dlexp's command line: a thin click layer over the library.

``main`` holds the ``dlexp`` group, which loads each command from its family's module
when it is asked for: ``train``, ``search``, ``report``, ``runs`` (best, diff, compare),
``use`` (predict, export), ``explain`` and ``config``. ``common`` holds what they share
(errors and exit codes, options, JSON out, the consoles, "cannot write"), ``display``
the progress bars and tables. What a command decides and the documents it prints live
in the library (``train.plan``, ``train.summary``, ``search.summary``, ...), so a
Python program gets the same from the same functions.
"""

from dlexp.cli.main import cli, main

__all__ = ["cli", "main"]
