"""The floor plan (docs/design.md, "Layers as built"): what lies where, and how big.

The import graph itself is checked by ``lint-imports`` (pyproject.toml's contracts), which
``make test`` runs before the tests.
"""

from __future__ import annotations

import ast
from pathlib import Path

PACKAGE = Path(__file__).parent.parent / "sillok"

TOP_MODULES = {
    "__init__.py",
    "archive.py",
    "vault.py",
    "folder.py",
    "errors.py",
    "messages.py",
    "settings.py",
    "model.py",
    "directory.py",
    "demo.py",
    "names.py",
    "romanization.py",
}
TOP_PACKAGES = {
    "cli",
    "custody",
    "dates",
    "estimate",
    "ledger",
    "linkage",
    "migrations",
    "records",
    "security",
    "store",
    "synthetic",
    "vocab",
    "web",
}
MAX_LINES = 600

# Imports of Sillok's own modules inside functions, allowed only where the module needs an
# optional heavy dependency (each place names it in a comment).
LAZY_ALLOWED = {
    ("cli/web.py", "sillok.web"),  # FastAPI and uvicorn: the `web` extra
    ("cli/report.py", "sillok.web.pdf"),  # WeasyPrint and the templates: the `report` extra
    # Splink (the `linkage` extra): the schemas and the model are made of its comparisons
    ("linkage/archive.py", "sillok.linkage.events"),
    ("linkage/archive.py", "sillok.linkage.model"),
    ("linkage/archive.py", "sillok.linkage.schema"),
}


def _python_files() -> list[Path]:
    return [p for p in PACKAGE.rglob("*.py") if "migrations" not in p.parts]


def test_nothing_loose_at_the_top() -> None:
    modules = {p.name for p in PACKAGE.glob("*.py")}
    packages = {p.name for p in PACKAGE.iterdir() if p.is_dir() and p.name != "__pycache__"}
    assert modules == TOP_MODULES
    assert packages == TOP_PACKAGES


def test_no_file_over_the_limit() -> None:
    long = {
        str(p.relative_to(PACKAGE)): n
        for p in _python_files()
        if (n := len(p.read_text(encoding="utf-8").splitlines())) > MAX_LINES
    }
    assert long == {}


def test_imports_inside_functions_only_for_optional_dependencies() -> None:
    lazy = set()
    for path in _python_files():
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for func in ast.walk(tree):
            if not isinstance(func, ast.FunctionDef | ast.AsyncFunctionDef):
                continue
            for node in ast.walk(func):
                if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("sillok"):
                    lazy.add((str(path.relative_to(PACKAGE)), node.module))
                elif isinstance(node, ast.Import):
                    lazy.update(
                        (str(path.relative_to(PACKAGE)), a.name)
                        for a in node.names
                        if a.name.startswith("sillok")
                    )
    assert lazy <= LAZY_ALLOWED, sorted(lazy - LAZY_ALLOWED)
