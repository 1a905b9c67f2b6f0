"""The sandbox and the connector never import each other, and the connector imports no developer tool.

A sandbox that imported the connector's constants would enforce the connector's mistakes, and a connector
that imported the sandbox or devtools/ would break in the image, where neither is installed. Checked twice:
every import statement in the source (AST), and a fresh interpreter importing each side alone.
"""

from __future__ import annotations

import ast
import json
import subprocess
import sys
from pathlib import Path

import pytest

from unit_tests.conftest import ROOT

CONNECTOR = ROOT / "destination_linkedin_capi"
SANDBOX = ROOT / "sandbox" / "linkedin_capi_sandbox"
DEV_ONLY = {"linkedin_capi_sandbox", "devtools", "bench", "unit_tests", "integration_tests", "pytest"}


def imported_modules(path: Path) -> set[str]:
    """Top-level names of every module `path` imports, at any depth (also inside functions and TYPE_CHECKING)."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), str(path))):
        if isinstance(node, ast.Import):
            found.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            found.add(node.module.split(".")[0])
        elif isinstance(node, ast.Call) and _dynamic_import(node):
            found.add(node.args[0].value.split(".")[0])
    return found


def _dynamic_import(call: ast.Call) -> bool:
    """`importlib.import_module("x")` or `__import__("x")` with a literal name."""
    name = getattr(call.func, "attr", getattr(call.func, "id", ""))
    literal = bool(call.args) and isinstance(call.args[0], ast.Constant) and isinstance(call.args[0].value, str)
    return name in ("import_module", "__import__") and literal


def sources(package: Path) -> list[Path]:
    files = sorted(package.rglob("*.py"))
    assert len(files) > 10, f"{package} has moved; this test would check nothing"
    return files


def test_the_scanner_sees_every_kind_of_import(tmp_path):
    probe = tmp_path / "probe.py"
    probe.write_text(
        "import a.b\nfrom c import d\nfrom . import local\nif TYPE_CHECKING:\n    from e.f import G\n"
        "def f():\n    import h\n    importlib.import_module('i.j')\n"
    )
    assert imported_modules(probe) == {"a", "c", "e", "h", "i"}


@pytest.mark.parametrize("path", sources(SANDBOX), ids=lambda p: p.name)
def test_the_sandbox_imports_nothing_of_the_connector(path):
    assert "destination_linkedin_capi" not in imported_modules(path)
    assert "destination_linkedin_capi" not in path.read_text(encoding="utf-8"), "not even by name"


@pytest.mark.parametrize("path", sources(CONNECTOR), ids=lambda p: p.name)
def test_the_connector_imports_no_sandbox_or_developer_tool(path):
    assert imported_modules(path) & DEV_ONLY == set()


# In a fresh interpreter, import every module of one side with the other side made unimportable.
_ISOLATED_IMPORT = """
import importlib, json, pkgutil, sys
package, blocked = sys.argv[1], sys.argv[2].split(",")
for name in blocked:
    sys.modules[name] = None  # `import name` now raises ImportError
root = importlib.import_module(package)
names = [package] + [m.name for m in pkgutil.walk_packages(root.__path__, package + ".")]
for name in names:
    if not name.endswith(("__main__", "pytest_plugin")):
        importlib.import_module(name)
loaded = sorted({m.split(".")[0] for m in sys.modules if sys.modules[m] is not None})
print(json.dumps({"imported": names, "loaded": loaded}))
"""


@pytest.mark.parametrize(
    ("package", "blocked"),
    [
        ("linkedin_capi_sandbox", ["destination_linkedin_capi"]),
        ("destination_linkedin_capi", sorted(DEV_ONLY)),
    ],
)
def test_each_side_imports_alone(tmp_path, package, blocked):
    done = subprocess.run(
        [sys.executable, "-c", _ISOLATED_IMPORT, package, ",".join(blocked)],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=tmp_path,  # not the checkout: only what is installed
    )
    assert done.returncode == 0, done.stderr[-3000:]
    result = json.loads(done.stdout)
    assert len(result["imported"]) > 10
    assert set(result["loaded"]) & set(blocked) == set()
