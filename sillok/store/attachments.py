"""The rows of evidence files: attachments, their chain of custody, and their data keys.

The sealed files themselves live beside the database (:mod:`sillok.records.attachments`);
an attachment's record is inserted and versioned through :mod:`sillok.store.rows`. The wrapped
data keys (``evidence_keys``, one per stored file) are wrapped and opened by
:mod:`sillok.security.evidence`. Nothing here commits: callers hold the transaction.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from sqlalchemy import Connection, Row, bindparam, select, update

from sillok.model import attachment_custody, attachments, evidence_keys
from sillok.store.dialects import Dialect
from sillok.store.rows import hooks_of, insert_rows, now

_IN_CHUNK = 500  # bound parameters per IN list


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


def evidence_key_of(conn: Connection, blob: str) -> Row[Any] | None:
    """The wrapped data key of one stored file, or None (a file sealed before the data keys)."""
    return conn.execute(select(evidence_keys).where(evidence_keys.c.blob_name == blob)).first()


def evidence_keys_by_digest(conn: Connection, digest: str) -> list[Row[Any]]:
    """The data keys of stored files with this keyed fingerprint, oldest first."""
    stmt = (
        select(evidence_keys)
        .where(evidence_keys.c.digest == digest)
        .order_by(evidence_keys.c.id)
    )
    return list(conn.execute(stmt).all())


def all_evidence_keys(conn: Connection) -> list[Row[Any]]:
    """Every wrapped data key, by id."""
    return list(conn.execute(select(evidence_keys).order_by(evidence_keys.c.id)).all())


def insert_evidence_keys(
    conn: Connection, dialect: Dialect, keys: Sequence[tuple[str, bytes, str]]
) -> None:
    """Keep the wrapped data keys of stored files, each (blob, wrapped, digest) (logged)."""
    stamp = now()
    insert_rows(
        conn,
        dialect,
        evidence_keys,
        [
            {"blob_name": blob, "wrapped": wrapped, "digest": digest, "created_at": stamp}
            for blob, wrapped, digest in keys
        ],
    )


def rewrap_evidence_keys(conn: Connection, keys: Sequence[tuple[int, bytes, str]]) -> None:
    """Replace the wrapping and fingerprint of data keys, each (id, wrapped, digest): a new
    evidence key. One statement and one batch of log entries for all (logged as updates)."""
    if not keys:
        return
    hooks = hooks_of(conn)
    changed = {key_id: (wrapped, digest) for key_id, wrapped, digest in keys}
    ids = sorted(changed)
    rows = []
    for start in range(0, len(ids), _IN_CHUNK):
        where = evidence_keys.c.id.in_(ids[start : start + _IN_CHUNK])
        for row in conn.execute(select(evidence_keys).where(where)):
            wrapped, digest = changed[int(row.id)]
            rows.append({**dict(row._mapping), "wrapped": wrapped, "digest": digest})
    if len(rows) != len(changed):
        raise RuntimeError("evidence_keys: a key to re-wrap does not exist")
    rows.sort(key=lambda r: int(r["id"]))
    hooks.prepare(conn, evidence_keys, rows)
    conn.execute(
        update(evidence_keys)
        .where(evidence_keys.c.id == bindparam("key_id"))
        .values(wrapped=bindparam("new_wrapped"), digest=bindparam("new_digest")),
        [{"key_id": r["id"], "new_wrapped": r["wrapped"], "new_digest": r["digest"]} for r in rows],
    )
    hooks.written(conn, evidence_keys, rows, "update")


def blobs_without_key(conn: Connection) -> list[str]:
    """The stored files that attachments name but that have no data key row (sealed before
    the data keys), each once."""
    stmt = (
        select(attachments.c.blob_name)
        .where(~attachments.c.blob_name.in_(select(evidence_keys.c.blob_name)))
        .group_by(attachments.c.blob_name)
        .order_by(attachments.c.blob_name)
    )
    return [str(name) for name in conn.execute(stmt).scalars()]


def recorded_sha256(conn: Connection, blob: str) -> str | None:
    """The SHA-256 (as stored: sealed or, for an older file, in the clear) that the first
    attachment of a stored file records."""
    stmt = (
        select(attachments.c.sha256)
        .where(attachments.c.blob_name == blob)
        .order_by(attachments.c.id)
        .limit(1)
    )
    value = conn.execute(stmt).scalar()
    return None if value is None else str(value)
