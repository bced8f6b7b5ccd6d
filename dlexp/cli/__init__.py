"""dlexp's command line: a thin click layer over the library."""

from dlexp.cli.main import cli, main

__all__ = ["cli", "main"]
