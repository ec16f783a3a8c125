"""What the audit trail reads and writes: the rows of ``audit_events``.

Events are written through :mod:`sillok.store.rows`, so each is logged in the Merkle log like
a record; what an event may hold is :mod:`sillok.security.audit`'s to check.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from sqlalchemy import Connection, Row, select

from sillok.model import audit_events
from sillok.store.dialects import Dialect
from sillok.store.rows import insert_rows


def add_audit_events(
    conn: Connection, dialect: Dialect, events: Sequence[Mapping[str, Any]]
) -> None:
    """Insert events (at, actor, action, record_kind, record_id, detail as JSON text)."""
    insert_rows(conn, dialect, audit_events, events)


def newest_audit_events(
    conn: Connection,
    action: str | None = None,
    record_kind: str | None = None,
    record_id: int | None = None,
    actor: str | None = None,
    limit: int = 100,
    before: int | None = None,
) -> list[Row[Any]]:
    """The newest events first, those matching every filter given, at most ``limit``."""
    stmt = select(audit_events)
    if action:
        stmt = stmt.where(audit_events.c.action == action)
    if record_kind:
        stmt = stmt.where(audit_events.c.record_kind == record_kind)
    if record_id is not None:
        stmt = stmt.where(audit_events.c.record_id == record_id)
    if actor:
        stmt = stmt.where(audit_events.c.actor == actor)
    if before is not None:
        stmt = stmt.where(audit_events.c.id < before)
    stmt = stmt.order_by(audit_events.c.id.desc()).limit(limit)
    return list(conn.execute(stmt).all())
