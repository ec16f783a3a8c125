"""What sealing reads and writes: the wrapped field keys (``seal_keys``), and which persons
are protected (whose names are sealed).

The keys are stored wrapped under the seal master key; wrapping and unwrapping is
:mod:`sillok.security.seal`'s. A shredded key keeps its row, with no wrapped bytes. Every
write goes through :mod:`sillok.store.rows`, so the Merkle log covers each one.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any

from sqlalchemy import Connection, Row, bindparam, select, update

from sillok.model import persons, seal_keys
from sillok.store.dialects import Dialect
from sillok.store.rows import hooks_of, insert_rows, now, update_row

_IN_CHUNK = 500  # bound parameters per IN list


def protected_persons(conn: Connection, ids: Sequence[int]) -> set[int]:
    """Those of ``ids`` that are persons marked protected."""
    found: set[int] = set()
    for start in range(0, len(ids), _IN_CHUNK):
        chunk = ids[start : start + _IN_CHUNK]
        found.update(
            r[0]
            for r in conn.execute(
                select(persons.c.id).where(persons.c.id.in_(chunk), persons.c.protected.is_(True))
            )
        )
    return found


def seal_keys_of(conn: Connection, subjects: Sequence[str]) -> Iterator[Row[Any]]:
    """The stored keys (id, subject, wrapped or None if shredded) of the subjects that have one."""
    for start in range(0, len(subjects), _IN_CHUNK):
        chunk = subjects[start : start + _IN_CHUNK]
        yield from conn.execute(select(seal_keys).where(seal_keys.c.subject.in_(chunk)))


def seal_key(conn: Connection, key_id: int) -> Row[Any] | None:
    """One stored key by id, or None."""
    return conn.execute(select(seal_keys).where(seal_keys.c.id == key_id)).first()


def seal_key_of(conn: Connection, subject: str) -> Row[Any] | None:
    """The stored key of one subject, or None."""
    return conn.execute(select(seal_keys).where(seal_keys.c.subject == subject)).first()


def live_seal_keys(conn: Connection) -> list[Row[Any]]:
    """Every stored key that was not shredded, by id."""
    stmt = select(seal_keys).where(seal_keys.c.wrapped.is_not(None)).order_by(seal_keys.c.id)
    return list(conn.execute(stmt).all())


def new_seal_key_ids(conn: Connection, dialect: Dialect, count: int) -> list[int]:
    """Ids for keys about to be made (a key's id is bound into its wrapping)."""
    return dialect.allocate_ids(conn, seal_keys, count)


def insert_seal_keys(
    conn: Connection, dialect: Dialect, keys: Sequence[tuple[int, str, bytes]]
) -> None:
    """Store new keys, each (id, subject, wrapped key), stamped now (logged)."""
    stamp = now()
    insert_rows(
        conn,
        dialect,
        seal_keys,
        [
            {
                "id": key_id,
                "subject": subject,
                "wrapped": wrapped,
                "created_at": stamp,
                "shredded_at": None,
            }
            for key_id, subject, wrapped in keys
        ],
    )


def rewrap_seal_key(conn: Connection, key_id: int, wrapped: bytes) -> None:
    """Replace the wrapped bytes of one key (a new readers' copy, a kept commit key)."""
    update_row(conn, seal_keys, key_id, {"wrapped": wrapped})


def rewrap_seal_keys(conn: Connection, keys: Sequence[tuple[int, bytes]]) -> None:
    """Replace the wrapped bytes of many keys, each (id, wrapped): a new seal master key.

    One SELECT per 500 ids, one UPDATE statement for all, and one batch of log entries,
    in id order: the entries are those :func:`rewrap_seal_key` makes key by key in that
    order (the same rows, logged as updates); the audit trail notes one write of them all.
    """
    if not keys:
        return
    hooks = hooks_of(conn)
    changed = dict(keys)
    if len(changed) != len(keys):
        raise RuntimeError("seal_keys: a key to re-wrap is named twice")
    ids = sorted(changed)
    rows = []
    for start in range(0, len(ids), _IN_CHUNK):
        where = seal_keys.c.id.in_(ids[start : start + _IN_CHUNK])
        for row in conn.execute(select(seal_keys).where(where)):
            rows.append({**dict(row._mapping), "wrapped": changed[int(row.id)]})
    if len(rows) != len(changed):
        missing = sorted(set(changed) - {int(r["id"]) for r in rows})
        raise RuntimeError(f"seal_keys {missing[:5]} to re-wrap do not exist")
    rows.sort(key=lambda r: int(r["id"]))
    hooks.prepare(conn, seal_keys, rows)
    conn.execute(
        update(seal_keys)
        .where(seal_keys.c.id == bindparam("key_id"))
        .values(wrapped=bindparam("new_wrapped")),
        [{"key_id": r["id"], "new_wrapped": r["wrapped"]} for r in rows],
    )
    hooks.written(conn, seal_keys, rows, "update")


def shred_seal_key(conn: Connection, key_id: int) -> None:
    """Destroy the wrapped bytes of one key, noting when (logged)."""
    update_row(conn, seal_keys, key_id, {"wrapped": None, "shredded_at": now()})
