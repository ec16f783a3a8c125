"""SQL is written in sillok/store/ only: the ledger, security and custody wings (and the
directories) build no statement and run none; they call the store's functions."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

SILLOK = Path(__file__).resolve().parent.parent / "sillok"
#: modules that must hold no SQL (more wings join as their statements move into store/)
CHECKED = sorted(
    [
        *(SILLOK / "ledger").glob("*.py"),
        *(SILLOK / "security").glob("*.py"),
        *(SILLOK / "custody").glob("*.py"),
        SILLOK / "directory.py",
    ]
)
#: what builds or runs a statement; sqlalchemy's types (Connection, Table, Row...) may be named
STATEMENT_BUILDERS = {
    "select", "insert", "update", "delete", "text", "func", "and_", "or_", "case", "literal",
    "literal_column", "bindparam", "exists", "union", "union_all",
}  # fmt: skip
STATEMENT_RUNNERS = {"execute", "exec_driver_sql", "executemany", "raw_connection", "scalar"}


def sql_in(source: str) -> list[str]:
    """What in a module's source builds or runs SQL, one description per finding."""
    found: list[tuple[int, str]] = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("sqlalchemy"):
            names = [a.name for a in node.names if a.name in STATEMENT_BUILDERS]
            found += [(node.lineno, f"imports {name}") for name in names]
        elif isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute):
            if node.func.attr in STATEMENT_RUNNERS:
                found.append((node.lineno, f"calls .{node.func.attr}()"))
        elif isinstance(node, ast.Constant) and isinstance(node.value, str):
            words = node.value.lstrip().split(maxsplit=1)
            if words and words[0] in ("PRAGMA", "SELECT", "INSERT", "UPDATE", "DELETE"):
                found.append((node.lineno, f"SQL text {words[0]}"))
    return [f"line {line}: {what}" for line, what in sorted(found)]


def test_the_check_finds_sql() -> None:
    """The check itself: each way of writing SQL is found."""
    source = (
        "from sqlalchemy import Connection, select\n"
        "def f(conn: Connection) -> None:\n"
        "    conn.execute(select(1))\n"
        "    conn.exec_driver_sql('PRAGMA secure_delete = ON')\n"
        "    conn.execute(x, 'SELECT 1')\n"
    )
    assert sql_in(source) == [
        "line 1: imports select",
        "line 3: calls .execute()",
        "line 4: SQL text PRAGMA",
        "line 4: calls .exec_driver_sql()",
        "line 5: SQL text SELECT",
        "line 5: calls .execute()",
    ]
    assert sql_in("from sqlalchemy import Connection, Table\nx = 'Select a role'\n") == []


@pytest.mark.parametrize("path", CHECKED, ids=lambda p: str(p.relative_to(SILLOK)))
def test_no_sql_outside_the_store(path: Path) -> None:
    assert sql_in(path.read_text(encoding="utf-8")) == [], path.relative_to(SILLOK)
