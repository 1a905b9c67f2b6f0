"""The package's layout holds: a package per wing of the record's journey, no import cycles, a mapping package and
a LinkedIn client free of the Airbyte CDK, and functions short enough to read (docs/architecture.md)."""

from __future__ import annotations

import ast
import json
import subprocess
import sys
from pathlib import Path

import pytest

from unit_tests.conftest import ROOT

PACKAGE = "destination_linkedin_capi"
SOURCE = ROOT / PACKAGE
#: The package root holds the entry and the vocabulary every wing shares; everything else lives in a wing.
ROOT_MODULES = {
    "__init__",
    "constants",
    "destination",
    "errors",
    "failures",
    "iso",
    "masking",
    "report",
    "run",
    "safety",
}
WINGS = {"airbyte", "budget", "commands", "config", "ledger", "linkedin", "mapping", "rejected", "write"}
#: Pure wings: nothing in them may load the Airbyte CDK (a fresh interpreter proves it).
CDK_FREE = ("mapping", "linkedin", "budget", "config", "ledger")
LONG_FUNCTION_LINES = 70


def module_name(path: Path) -> str:
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def modules() -> dict[str, Path]:
    return {module_name(path): path for path in sorted(SOURCE.rglob("*.py"))}


def imports_of(path: Path, known: set[str]) -> set[str]:
    """The package's modules `path` imports, wherever the import statement is (a function-level import counts: it
    would only hide a cycle); `from package import module` counts as the module."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names if alias.name in known)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module and node.module in known:
            submodules = {f"{node.module}.{alias.name}" for alias in node.names} & known
            found.update(submodules or {node.module})
    return found


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components of more than one module, or a module importing itself (Tarjan's algorithm)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        for target in graph[node]:
            if target not in index:
                visit(target)
                low[node] = min(low[node], low[target])
            elif target in stack:
                low[node] = min(low[node], index[target])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                component.append(member)
                if member == node:
                    break
            if len(component) > 1 or node in graph[node]:
                found.append(sorted(component))

    for node in graph:
        if node not in index:
            visit(node)
    return found


def test_the_root_holds_only_the_entry_and_the_shared_vocabulary():
    top = {path.stem for path in SOURCE.glob("*.py")}
    packages = {path.parent.name for path in SOURCE.glob("*/__init__.py")}
    assert top == ROOT_MODULES
    assert packages == WINGS


def test_package_inits_import_nothing():
    """Importing a module of a wing loads that module's imports, not the whole wing."""
    for init in SOURCE.glob("*/__init__.py"):
        tree = ast.parse(init.read_text(encoding="utf-8"))
        assert not [node for node in tree.body if isinstance(node, (ast.Import, ast.ImportFrom))], init


def test_the_cycle_finder_finds_a_cycle():
    assert cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]
    assert cycles({"a": {"a"}}) == [["a"]]
    assert cycles({"a": {"b"}, "b": set()}) == []


def test_no_import_cycles():
    found = modules()
    known = set(found)
    graph = {name: imports_of(path, known) - {name} for name, path in found.items()}
    assert sum(map(len, graph.values())) > 100, "the scanner sees the package's imports"
    assert cycles(graph) == []


@pytest.mark.parametrize("wing", CDK_FREE)
def test_pure_wings_load_nothing_of_the_airbyte_cdk(wing, tmp_path):
    script = (
        "import importlib, json, sys\n"
        f"names = {sorted(name for name in modules() if name.startswith(f'{PACKAGE}.{wing}'))!r}\n"
        "for name in names:\n"
        "    importlib.import_module(name)\n"
        "print(json.dumps(sorted(m for m in sys.modules if m.split('.')[0] in ('airbyte_cdk', 'airbyte_protocol'))))\n"
    )
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120, cwd=ROOT)
    assert done.returncode == 0, done.stderr[-3000:]
    assert json.loads(done.stdout) == []


def test_at_most_one_long_function():
    long = []
    for name, path in modules().items():
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                size = node.end_lineno - node.lineno + 1
                if size > LONG_FUNCTION_LINES:
                    long.append((f"{name}.{node.name}", size))
    assert len(long) <= 1, long
