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

    On PostgreSQL, tables that were never analysed have no statistics: the planner guesses
    their rows from their size on disk and a default row width several times too wide, and
    may cost a scan below the 500 index probes of a lookup of 500 refs
    (``... WHERE persons.ref IN (...)``). Each batch's lookups then scanned all the rows
    written so far (100,000 acts took 368 s). ``ANALYZE`` is allowed in a transaction and
    samples the transaction's own new rows; afterwards the same lookups use the indexes (500
    refs among 100,000 rows: 25 ms scanned, 1.5 ms by the index). SQLite plans these lookups
    by the indexes without statistics.

    ``ANALYZE`` holds a lock on each table until the transaction ends that another
    ``ANALYZE`` (a second import, autovacuum) would wait for: ``SKIP_LOCKED`` (PostgreSQL 12)
    leaves out a table someone else is analysing, so two imports never wait on each other
    here; the second one then plans as before, without new statistics.
    """
    if dialect.name == "postgresql":
        tables = ", ".join(t.name for t in LOOKED_UP_BY_IMPORT)
        conn.exec_driver_sql(f"ANALYZE (SKIP_LOCKED) {tables}")


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
