"""MkDocs hook: the parts of the manual that are generated from the code at build time,
so they cannot go stale. A page asks for one with a marker on a line of its own:

    <!-- generated: config-keys -->          the config key table (dlexp.config.schema)
    <!-- generated: help train -->           `dlexp train --help`, as click prints it
    <!-- generated: help explain backprop --> a subcommand's
    <!-- generated: help-all -->             every command and subcommand, walked from the group
    <!-- generated: modules -->              dlexp/'s modules, each with its docstring's first
                                             sentence and its length in lines
    <!-- generated: bench -->                bench/'s scripts, each with its docstring's first
                                             sentence
    <!-- generated: notebook quickstart -->  docs/notebooks/quickstart.ipynb's cells as
                                             markdown (never executed: its text and code)

A marker naming a command that does not exist, or a module without a docstring, is an
error (a warning, which `mkdocs build --strict` turns into a failure).
"""

from __future__ import annotations

import ast
import logging
import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
MARKER = re.compile(r"^<!-- generated: ([\w-]+)((?: [\w-]+)*) -->$", re.M)
WIDTH = 100  # columns click wraps the help to
log = logging.getLogger("mkdocs.hooks.dlexp")

if str(ROOT) not in sys.path:  # the checkout's dlexp, even without an editable install
    sys.path.insert(0, str(ROOT))


def on_page_markdown(markdown: str, page, config, files) -> str:
    def replace(match: re.Match) -> str:
        what, args = match.group(1), match.group(2).split()
        where = page.file.src_uri
        if what == "config-keys":
            from dlexp.config import key_table

            return key_table()
        if what == "help":
            return help_block(args, where)
        if what == "help-all":
            return "\n".join(
                f"## dlexp {' '.join(path)}\n\n{help_block(path, where)}" for path in commands()
            )
        if what == "modules":
            return modules(where)
        if what == "bench":
            return scripts(where)
        if what == "notebook":
            return notebook(args, where)
        log.warning("%s: unknown marker %r", where, match.group(0))
        return match.group(0)

    return MARKER.sub(replace, markdown)


def commands(group=None, path: tuple[str, ...] = ()):
    """Every command's path under the click group (``dlexp.cli.cli``), depth first, in
    the order ``--help`` lists them; through list_commands/get_command, so lazily
    loaded subcommands are found too."""
    import click

    if group is None:
        from dlexp.cli import cli as group
    ctx = click.Context(group, info_name=" ".join(("dlexp", *path)))
    for name in group.list_commands(ctx):
        command = group.get_command(ctx, name)
        if command is None or getattr(command, "hidden", False):
            continue
        yield (*path, name)
        if isinstance(command, click.Group):
            yield from commands(command, (*path, name))


def help_block(path: list[str] | tuple[str, ...], where: str) -> str:
    """``dlexp PATH --help``, exactly as click prints it at WIDTH columns, as a code block."""
    from click.testing import CliRunner

    from dlexp.cli import cli

    result = CliRunner().invoke(cli, [*path, "--help"], prog_name="dlexp", terminal_width=WIDTH)
    if result.exit_code != 0:
        log.warning("%s: `dlexp %s --help` failed: %s", where, " ".join(path), result.output)
    command = " ".join(("dlexp", *path, "--help"))
    return f"```text\n$ {command}\n{result.output.rstrip()}\n```\n"


def first_sentence(docstring: str) -> str:
    paragraph = " ".join(docstring.strip().split("\n\n")[0].split())
    end = re.search(r"(?<!e\.g)(?<!i\.e)\.(\s|$)", paragraph)
    return paragraph[: end.start() + 1] if end else paragraph


def described(path: Path, where: str) -> str:
    """The first sentence of a Python file's docstring (a warning where it has none)."""
    docstring = ast.get_docstring(ast.parse(path.read_text(encoding="utf-8")))
    if not docstring:
        log.warning("%s: %s has no docstring to describe it", where, path.relative_to(ROOT))
        return ""
    return first_sentence(docstring).replace("|", "\\|")


def scripts(where: str) -> str:
    """bench/'s scripts, one line each: the command that runs it, what it measures."""
    rows = [
        f"| `python bench/{path.name}` | {described(path, where)} |"
        for path in sorted((ROOT / "bench").glob("*.py"))
    ]
    return "| command | what it measures |\n|---|---|\n" + "\n".join(rows) + "\n"


def modules(where: str) -> str:
    """dlexp/'s tree, one line per module: its path, its lines, its docstring's first
    sentence."""
    rows = []
    for path in sorted((ROOT / "dlexp").rglob("*.py")):
        lines = len(path.read_text(encoding="utf-8").splitlines())
        rel = path.relative_to(ROOT).as_posix()
        rows.append(f"| `{rel}` | {lines} | {described(path, where)} |")
    return "| module | lines | what it holds |\n|---|--:|---|\n" + "\n".join(rows) + "\n"


def notebook(args: list[str], where: str) -> str:
    """A notebook of docs/notebooks/ as markdown, from its JSON alone (nothing is
    executed, and neither Jupyter nor nbconvert is needed): markdown cells as they are,
    their headings one level down (the page has its own title), code cells as Python
    blocks. Saved notebooks carry no outputs (tests/test_notebooks.py), so none is shown."""
    import json

    path = ROOT / "docs" / "notebooks" / f"{args[0] if args else ''}.ipynb"
    if len(args) != 1 or not path.is_file():
        log.warning("%s: no notebook docs/notebooks/%s.ipynb", where, " ".join(args))
        return ""
    parts = []
    for cell in json.loads(path.read_text(encoding="utf-8"))["cells"]:
        source = "".join(cell["source"]).strip("\n")
        if not source:
            continue
        if cell["cell_type"] == "markdown":
            parts.append(re.sub(r"^(#{1,5}) ", r"#\1 ", source, flags=re.M))
        elif cell["cell_type"] == "code":
            parts.append(f"```python\n{source}\n```")
    return "\n\n".join(parts) + "\n"
