"""What opening and creating an archive reads and writes: its metadata, whether its log and
seal keys exist, its users' rows (:mod:`sillok.store.users`), the row counts of its tables."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sqlalchemy import Connection, delete, func, insert, select

from sillok.model import archive_meta, ledger_state, seal_keys

__all__ = [
    "has_seal_keys",
    "ledger_started",
    "meta_value",
    "meta_values_under",
    "put_meta_value",
    "meta_values",
    "read_meta",
    "row_counts",
    "set_meta_values",
    "write_meta",
]


def write_meta(conn: Connection, values: dict[str, str]) -> None:
    """Insert metadata rows (a new archive's format, creation time and id)."""
    conn.execute(insert(archive_meta), [{"key": k, "value": v} for k, v in values.items()])


def meta_value(conn: Connection, key: str) -> str | None:
    """One value of the archive's metadata table."""
    value: str | None = conn.execute(
        select(archive_meta.c.value).where(archive_meta.c.key == key)
    ).scalar()
    return value


def put_meta_value(conn: Connection, key: str, value: str) -> None:
    """Set one value of the archive's metadata table (replacing any value it had)."""
    conn.execute(delete(archive_meta).where(archive_meta.c.key == key))
    conn.execute(insert(archive_meta), {"key": key, "value": value})


def meta_values_under(conn: Connection, prefix: str) -> dict[str, str]:
    """The metadata values whose keys start with ``prefix`` (a literal prefix, not a pattern)."""
    rows = conn.execute(
        select(archive_meta.c.key, archive_meta.c.value).where(
            func.substr(archive_meta.c.key, 1, len(prefix)) == prefix
        )
    )
    return {r.key: r.value for r in rows}


def read_meta(conn: Connection) -> dict[str, str]:
    """The archive's metadata table."""
    return {r.key: r.value for r in conn.execute(select(archive_meta))}


def ledger_started(conn: Connection) -> bool:
    """Whether the Merkle log was set up (archives older than the log have no state row)."""
    return conn.execute(select(ledger_state.c.id)).first() is not None


def has_seal_keys(conn: Connection) -> bool:
    """Whether any field key was ever made."""
    return conn.execute(select(seal_keys.c.id).limit(1)).first() is not None


def row_counts(conn: Connection, tables: Any) -> dict[str, int]:
    """How many rows each of ``tables`` holds, by table name."""
    return {
        t.name: int(conn.execute(select(func.count()).select_from(t)).scalar() or 0) for t in tables
    }


def meta_values(conn: Connection, prefix: str) -> dict[str, str]:
    """The metadata rows whose key starts with ``prefix`` (``site.`` for the site's settings)."""
    escaped = prefix.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    rows = conn.execute(
        select(archive_meta).where(archive_meta.c.key.like(f"{escaped}%", escape="\\"))
    )
    return {r.key: r.value for r in rows}


def set_meta_values(conn: Connection, values: Mapping[str, str | None]) -> None:
    """Set metadata rows in the caller's transaction; a value of None deletes its row."""
    if not values:
        return
    conn.execute(delete(archive_meta).where(archive_meta.c.key.in_(list(values))))
    rows = [{"key": k, "value": v} for k, v in values.items() if v is not None]
    if rows:
        conn.execute(insert(archive_meta), rows)
