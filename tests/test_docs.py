"""The README as a front page, and the manual in docs/: what `mkdocs build --strict`
would find wrong in the generated parts, checked without MkDocs (docs/hooks.py needs
only click)."""

import importlib.util
import logging
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]

SETUP = (
    "pip install -e . && dlexp train configs/moons.yaml",
    "pip install -e '.[test]' && pytest && pytest -m slow",
)


@pytest.fixture(scope="module")
def hooks():
    spec = importlib.util.spec_from_file_location("dlexp_docs_hooks", ROOT / "docs" / "hooks.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_the_readme_is_a_front_page_with_the_two_setup_commands():
    readme = (ROOT / "README.md").read_text()
    assert len(readme.splitlines()) < 200
    blocks = re.findall(r"```bash\n(.*?)\n```", readme, re.S)
    assert all(command in blocks for command in SETUP), blocks
    assert "pip install -e '.[docs]' && mkdocs serve" in readme
    for link in re.findall(r"\]\((docs/[^)#]+)", readme):  # its links into the manual
        assert (ROOT / link).exists(), link


def test_every_page_is_in_the_nav_and_every_nav_entry_exists():
    text = (ROOT / "mkdocs.yml").read_text()
    nav = set(re.findall(r":\s+([\w-]+\.md)\s*$", text, re.M))
    pages = {p.name for p in (ROOT / "docs").glob("*.md")}
    assert nav == pages, (nav - pages, pages - nav)


def test_every_marker_is_one_the_hook_knows(hooks):
    known = {"config-keys", "help", "help-all", "modules", "bench", "notebook"}
    for page in (ROOT / "docs").glob("*.md"):
        for what, _ in hooks.MARKER.findall(page.read_text()):
            assert what in known, (page.name, what)


def test_every_command_has_a_help_and_a_page(hooks, caplog):
    paths = list(hooks.commands())
    assert ("train",) in paths and ("explain", "backprop") in paths
    asked = set()
    for page in (ROOT / "docs").glob("*.md"):
        for what, args in hooks.MARKER.findall(page.read_text()):
            if what == "help" and page.name != "reference.md":
                asked.add(tuple(args.split()))
    assert set(paths) <= asked, set(paths) - asked  # each command is explained somewhere
    with caplog.at_level(logging.WARNING):
        for path in paths:
            block = hooks.help_block(path, "test")
            assert f"Usage: dlexp {' '.join(path)}" in block, block
    assert not caplog.records, caplog.text


def test_every_module_and_bench_script_describes_itself(hooks, caplog):
    with caplog.at_level(logging.WARNING):
        modules, scripts = hooks.modules("test"), hooks.scripts("test")
    assert not caplog.records, caplog.text  # a module without a docstring
    assert "| `dlexp/config/schema.py` |" in modules
    assert "`python bench/train_bench.py`" in scripts
