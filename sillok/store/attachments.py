"""The rows of evidence files: attachments and their chain of custody.

The sealed files themselves live beside the database (:mod:`sillok.records.attachments`);
an attachment's record is inserted and versioned through :mod:`sillok.store.rows`.
Nothing here commits: callers hold the transaction.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sqlalchemy import Connection, Row, select

from sillok.model import attachment_custody, attachments
from sillok.store.dialects import Dialect
from sillok.store.rows import insert_rows


def attachments_of(
    conn: Connection, kind: str | None = None, record_id: int | None = None
) -> list[Row[Any]]:
    """Attachments in id order: all, those on records of a kind, or those on one record."""
    stmt = select(attachments).order_by(attachments.c.id)
    if kind is not None:
        stmt = stmt.where(attachments.c.record_kind == kind)
    if record_id is not None:
        stmt = stmt.where(attachments.c.record_id == record_id)
    return list(conn.execute(stmt).all())


def attachment(conn: Connection, attachment_id: int) -> Row[Any] | None:
    """One attachment's row, or None."""
    return conn.execute(select(attachments).where(attachments.c.id == attachment_id)).first()


def custody_of(conn: Connection, attachment_id: int) -> list[Row[Any]]:
    """The chain of custody of an attachment, oldest first."""
    stmt = (
        select(attachment_custody)
        .where(attachment_custody.c.attachment_id == attachment_id)
        .order_by(attachment_custody.c.id)
    )
    return list(conn.execute(stmt).all())


def add_custody(conn: Connection, dialect: Dialect, entry: Mapping[str, Any]) -> None:
    """Add one link to an attachment's chain of custody (attachment_id, at, actor, action,
    origin)."""
    insert_rows(conn, dialect, attachment_custody, [entry])
