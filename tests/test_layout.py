"""The package's layout, read from its source with ``ast`` (nothing is imported):
no import cycle between modules, no module over MAX_LINES lines, and Keras' and
keras-tuner's private names (``keras.src``, ``keras_tuner.src``) each imported in one
module only.

The import graph has an edge a -> b for every ``dlexp.*`` import anywhere in module a:
at module level, inside a function, under ``if TYPE_CHECKING:`` (a cycle of type names
is still two modules that each need the other to be read), a literal
``importlib.import_module("dlexp...")``, and an entry-point string ``"dlexp.x:name"``
(a lazily loaded command); ``"-m", "dlexp.cli"`` starts a process, and is no import.
``from dlexp.x import y`` is an edge to the module ``dlexp.x.y`` when there is one,
else to ``dlexp.x``.

Package ``__init__`` files are modules like any other, with one rule: importing
``dlexp.a.b`` is an edge to ``dlexp.a.b`` alone, not to the packages above it, although
Python runs ``dlexp/a/__init__.py`` first. Otherwise every submodule would depend on its
package, and a package that re-exports its own submodules (``from dlexp.a.b import X``
in ``dlexp/a/__init__.py``) would be a cycle with each of them. A submodule that
imports a *name* from its own package's ``__init__`` while that ``__init__`` imports
the submodule is a cycle, and is reported.
"""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "dlexp"
MAX_LINES = 450

# Modules allowed over MAX_LINES for good: a schema table that reads better whole.
# Each entry says which table. Empty for now.
LONG_TABLES: dict[str, str] = {}

# Private names of Keras and keras-tuner: where each may be imported.
KERAS_PRIVATE = {"dlexp.backend"}  # the one module that may import keras.src (why: its docstring)
KERAS_TUNER_PRIVATE = {"dlexp.search.compat"}


def module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def sources() -> dict[str, tuple[Path, ast.Module]]:
    """Every module under dlexp/, by its dotted name: (path, parsed source)."""
    found = {}
    for path in sorted(PACKAGE.rglob("*.py")):
        found[module_name(path)] = (path, ast.parse(path.read_text(), str(path)))
    return found


def imported(name: str, path: Path, tree: ast.Module, modules=()) -> set[str]:
    """The dotted names module ``name`` imports anywhere in its source, made absolute.
    ``from x import y`` is ``x.y`` when that is one of ``modules``, else ``x``."""
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:  # relative: from .x import y, from .. import z
                package = name if path.name == "__init__.py" else name.rpartition(".")[0]
                parts = package.split(".")
                base = ".".join(parts[: len(parts) - node.level + 1] + ([base] if base else []))
            for alias in node.names:
                full = f"{base}.{alias.name}"
                found.add(full if full in modules else base)
        elif (
            isinstance(node, ast.Call)
            and getattr(node.func, "attr", getattr(node.func, "id", None)) == "import_module"
            and node.args
            and isinstance(node.args[0], ast.Constant)
            and isinstance(node.args[0].value, str)
        ):
            found.add(node.args[0].value)
        elif isinstance(node, ast.Constant) and isinstance(node.value, str):
            target, colon, attr = node.value.partition(":")  # "dlexp.cli.train:train"
            if colon and target in modules and attr.isidentifier():
                found.add(target)
    return found


def graph() -> dict[str, set[str]]:
    """Module -> the dlexp modules it imports (not itself, not the packages above)."""
    modules = sources()
    return {
        name: {t for t in imported(name, path, tree, modules) if t in modules and t != name}
        for name, (path, tree) in modules.items()
    }


def cycles(edges: dict[str, set[str]]) -> list[set[str]]:
    """The strongly connected components of more than one module (Tarjan's)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[set[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in sorted(edges[v]):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = set()
            while True:
                w = stack.pop()
                on_stack.discard(w)
                component.add(w)
                if w == v:
                    break
            if len(component) > 1:
                found.append(component)

    for v in sorted(edges):
        if v not in index:
            visit(v)
    return found


def _path_in(component: set[str], edges: dict[str, set[str]]) -> list[str]:
    """One cycle through the component, to show: a -> b -> ... -> a."""
    start = min(component)
    previous = {start: None}
    queue = [start]
    while queue:
        v = queue.pop(0)
        for w in sorted(edges[v] & component):
            if w == start:
                path = [v]
                while previous[path[-1]] is not None:
                    path.append(previous[path[-1]])
                return [start, *reversed(path[:-1]), start] if len(path) > 1 else [start, v, start]
            if w not in previous:
                previous[w] = v
                queue.append(w)
    return sorted(component)


def test_the_graph_sees_every_kind_of_import():
    edges = graph()
    # module level, resolved to the submodule: from dlexp.runs import folder as runs
    assert "dlexp.runs.folder" in edges["dlexp.search.plan"]
    # inside a function: plan imports space only for random points
    assert "dlexp.search.space" in edges["dlexp.search.plan"]
    # a name in a module: from dlexp.search.spec import SearchSpec
    assert "dlexp.search.spec" in edges["dlexp.search.store"]
    # a worker process started with python -m dlexp.cli is no import
    assert "dlexp.cli" not in edges["dlexp.search.chief"]
    # an entry-point string is one (click's lazy loading of a command)
    tree = ast.parse('COMMANDS = {"train": "dlexp.search.plan:dry_run"}')
    assert imported("m", PACKAGE / "m.py", tree, sources()) == {"dlexp.search.plan"}
    assert not any(m in edges["dlexp.search.plan"] for m in ("dlexp", "dlexp.search"))


def test_cycles_are_found():
    edges = {"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}, "e": set()}
    assert cycles(edges) == [{"a", "b", "c"}]
    assert _path_in({"a", "b", "c"}, edges) == ["a", "b", "c", "a"]
    assert cycles({"a": {"b"}, "b": {"a"}}) == [{"a", "b"}]


def test_no_import_cycle():
    edges = graph()
    found = cycles(edges)
    assert not found, "import cycles:\n" + "\n".join(" -> ".join(_path_in(c, edges)) for c in found)


def test_no_long_module():
    lengths = {name: len(path.read_text().splitlines()) for name, (path, _) in sources().items()}
    allowed = set(LONG_TABLES)
    long = {n: k for n, k in lengths.items() if k > MAX_LINES and n not in allowed}
    assert not long, f"modules over {MAX_LINES} lines (split them): {long}"
    stale = sorted(n for n in allowed if lengths.get(n, 0) <= MAX_LINES)
    assert not stale, f"no longer over {MAX_LINES} lines; remove from the allowlist: {stale}"


class _Every:
    """Every ``from x import y`` read as ``x.y``: ``from keras import src`` is keras.src."""

    def __contains__(self, name: str) -> bool:
        return True


def _private_users(prefix: str) -> set[str]:
    users = set()
    for name, (path, tree) in sources().items():
        for target in imported(name, path, tree, _Every()):
            if target == prefix or target.startswith(prefix + "."):
                users.add(name)
    return users


def test_keras_private_names_in_one_module():
    users = _private_users("keras.src")
    assert users <= KERAS_PRIVATE, f"keras.src imported in {sorted(users)}"


def test_keras_tuner_private_names_only_in_compat():
    users = _private_users("keras_tuner.src")
    assert users <= KERAS_TUNER_PRIVATE, f"keras_tuner.src imported in {sorted(users)}"
