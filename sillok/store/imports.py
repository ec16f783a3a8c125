"""What an import writes beyond the records themselves: names, sources of acts, perpetrators.

The records (sources, events, persons, acts) are upserted by ref through
:mod:`sillok.store.rows`; the rows here hang off them. Every insert goes through
:func:`sillok.store.rows.insert_rows`, so the write hooks seal and log them like any other.
Nothing here commits: the import holds one transaction.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from sqlalchemy import Connection, delete, select

from sillok.model import (
    act_perpetrators,
    act_sources,
    acts,
    archive_meta,
    events,
    person_names,
    persons,
    seal_keys,
    sources,
)
from sillok.store.dialects import Dialect
from sillok.store.rows import insert_rows

REKEY_REFS = "person refs to re-key"
"""The metadata key migration 0005 sets on an archive whose person refs were made before the
ref key (see :mod:`sillok.security.refs`); the first writer's import re-keys them."""


def add_person_names(
    conn: Connection, dialect: Dialect, names: Sequence[Mapping[str, Any]]
) -> None:
    """Add name rows (person_id, name, script, kind)."""
    if names:
        insert_rows(conn, dialect, person_names, names)


def add_act_sources(
    conn: Connection, dialect: Dialect, links: Sequence[Mapping[str, Any]]
) -> None:
    """Record that sources attest acts: rows of (act_id, source_id)."""
    if links:
        insert_rows(conn, dialect, act_sources, links)


def add_perpetrators(
    conn: Connection, dialect: Dialect, perpetrators: Sequence[Mapping[str, Any]]
) -> None:
    """Add the perpetrators of acts: rows of (act_id, organization_id, person_id, role)."""
    if perpetrators:
        insert_rows(conn, dialect, act_perpetrators, perpetrators)


#: the tables an import grows and then looks rows up in (by ref, id, person or act); the
#: log and the audit trail it only appends to
LOOKED_UP_BY_IMPORT = (
    persons,
    person_names,
    sources,
    events,
    acts,
    act_sources,
    act_perpetrators,
    seal_keys,
)


def refresh_statistics(conn: Connection, dialect: Dialect) -> None:
    """Let the planner see how large the import's tables have grown, inside its transaction.

    On PostgreSQL the import's lookups (``... WHERE persons.ref IN (...)``) are prepared
    statements: planned while the tables were empty, they kept a plan that scans, and each
    lookup took longer as the import grew its tables (100,000 acts took 368 s, most of it in
    these lookups). ``ANALYZE`` is allowed in a transaction, samples the transaction's own new
    rows, and invalidates the cached plans, so the next lookups use the indexes. SQLite plans
    each statement anew from its indexes and needs nothing here.
    """
    if dialect.name == "postgresql":
        conn.exec_driver_sql("ANALYZE " + ", ".join(t.name for t in LOOKED_UP_BY_IMPORT))


def name_rows(conn: Connection, person_ids: Sequence[int]) -> dict[int, list[Any]]:
    """The name rows (id, name, script, kind) of each person, in the order recorded."""
    found: dict[int, list[Any]] = {}
    unique = sorted(set(person_ids))
    for start in range(0, len(unique), 500):
        rows = conn.execute(
            select(person_names)
            .where(person_names.c.person_id.in_(unique[start : start + 500]))
            .order_by(person_names.c.id)
        )
        for row in rows:
            found.setdefault(int(row.person_id), []).append(row)
    return found


def refs_to_rekey(conn: Connection) -> bool:
    """Whether the archive's person refs still have to be re-keyed (migration 0005)."""
    stmt = select(archive_meta.c.value).where(archive_meta.c.key == REKEY_REFS)
    return conn.execute(stmt).first() is not None


def persons_to_rekey(conn: Connection) -> list[Any]:
    """Every person row (their refs are re-keyed one by one)."""
    return list(conn.execute(select(persons).order_by(persons.c.id)).all())


def refs_rekeyed(conn: Connection) -> None:
    """Note that the person refs were re-keyed."""
    conn.execute(delete(archive_meta).where(archive_meta.c.key == REKEY_REFS))
