"""The SQL of statements: their signatories (organizations and persons, in one order), related
events, published lists and neighbours.

Statements are records like any other (inserted and versioned through
:mod:`sillok.store.rows`); this module holds only the queries particular to them.
Nothing here commits: callers hold the transaction.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from sqlalchemy import Connection, Row, delete, func, insert, or_, select

from sillok.model import (
    archive_meta,
    events,
    person_names,
    persons,
    statement_events,
    statement_person_signatories,
    statement_signatories,
    statements,
)
from sillok.store.dialects import Dialect
from sillok.store.rows import delete_rows, insert_rows

StatementRow = Row[Any]
"""A row of the statements table, as these queries return it."""


def _published_order() -> list[Any]:
    """Newest first: by date (undated last), then by id."""
    return [
        statements.c.date_lower.is_(None),
        statements.c.date_lower.desc(),
        statements.c.id.desc(),
    ]


def list_statements(
    conn: Connection,
    published_only: bool,
    language: str | None,
    kind: str | None,
    offset: int,
    limit: int,
    member_id: int | None = None,
) -> tuple[list[Row[Any]], int]:
    """One page of statements (newest first) and how many there are in all."""
    conds: list[Any] = []
    if member_id is not None:
        conds.append(statements.c.member_id == member_id)
    if published_only:
        conds.append(statements.c.published.is_(True))
    if language:
        conds.append(statements.c.language == language)
    if kind:
        conds.append(statements.c.kind == kind)
    total = conn.execute(select(func.count()).select_from(statements).where(*conds)).scalar() or 0
    rows = conn.execute(
        select(statements).where(*conds).order_by(*_published_order()).offset(offset).limit(limit)
    ).all()
    return list(rows), int(total)


def neighbours(conn: Connection, row: Row[Any]) -> tuple[Row[Any] | None, Row[Any] | None]:
    """The published statements of the same language just older and just newer than ``row``,
    in the order of :func:`list_statements` (a coalition publishes hundreds, not millions, so
    walking their ids is cheaper than a three-way keyset condition).
    """
    ids = [
        r[0]
        for r in conn.execute(
            select(statements.c.id)
            .where(statements.c.published.is_(True), statements.c.language == row.language)
            .order_by(*_published_order())
        )
    ]
    if row.id not in ids:
        return None, None
    at = ids.index(row.id)
    older_id = ids[at + 1] if at + 1 < len(ids) else None
    newer_id = ids[at - 1] if at > 0 else None
    found = {
        r.id: r
        for r in conn.execute(
            select(statements).where(statements.c.id.in_([i for i in (older_id, newer_id) if i]))
        )
    }
    return (
        found.get(older_id) if older_id else None,
        found.get(newer_id) if newer_id else None,
    )


def translations(conn: Connection, original_id: int) -> list[Row[Any]]:
    """The original statement and every translation of it, by id."""
    return list(
        conn.execute(
            select(statements)
            .where(or_(statements.c.id == original_id, statements.c.translation_of == original_id))
            .order_by(statements.c.id)
        ).all()
    )


SIGNATORY_KINDS = ("organization", "person")
"""What can sign a statement, as the signatories tables say it."""

Signer = tuple[str, int]
"""A signatory as stored: its kind (one of :data:`SIGNATORY_KINDS`) and the row's id."""


def signatories(conn: Connection, statement_id: int) -> list[Signer]:
    """The organizations and persons that signed a statement, in the order they sign in.

    Organizations set before migration 0009 have no position and come first, in the order of
    their ids; positions are shared by both tables (:func:`set_signatories`).
    """
    orgs = conn.execute(
        select(statement_signatories.c.organization_id, statement_signatories.c.position).where(
            statement_signatories.c.statement_id == statement_id
        )
    ).all()
    people = conn.execute(
        select(
            statement_person_signatories.c.person_id, statement_person_signatories.c.position
        ).where(statement_person_signatories.c.statement_id == statement_id)
    ).all()
    ranked = [(r.position or 0, 0, r.organization_id, "organization") for r in orgs]
    ranked += [(r.position, 1, r.person_id, "person") for r in people]
    return [(kind, int(rid)) for _pos, _tie, rid, kind in sorted(ranked)]


def set_signatories(
    conn: Connection, dialect: Dialect, statement_id: int, signers: Sequence[Signer]
) -> None:
    """Replace a statement's signatories, organizations and persons, in the order given (a
    repeated one keeps its first place)."""
    delete_rows(conn, statement_signatories, "statement_id", [statement_id])
    delete_rows(conn, statement_person_signatories, "statement_id", [statement_id])
    orgs: list[dict[str, Any]] = []
    people: list[dict[str, Any]] = []
    for at, (kind, rid) in enumerate(dict.fromkeys(signers), start=1):
        if kind == "person":
            people.append({"statement_id": statement_id, "person_id": rid, "position": at})
        elif kind == "organization":
            orgs.append({"statement_id": statement_id, "organization_id": rid, "position": at})
        else:
            raise ValueError(f"unknown signatory kind {kind!r}")
    if orgs:
        insert_rows(conn, dialect, statement_signatories, orgs)
    if people:
        insert_rows(conn, dialect, statement_person_signatories, people)


def persons_called(conn: Connection, text: str) -> list[Any]:
    """The persons (id, ref, protected) whose ref is ``text``, else those with a name stored in
    the clear equal to it (a sealed name never matches), by id."""
    by_ref = conn.execute(
        select(persons.c.id, persons.c.ref, persons.c.protected).where(persons.c.ref == text)
    ).all()
    if by_ref:
        return list(by_ref)
    named = select(person_names.c.person_id).where(person_names.c.name == text)
    return list(
        conn.execute(
            select(persons.c.id, persons.c.ref, persons.c.protected)
            .where(persons.c.id.in_(named))
            .order_by(persons.c.id)
        ).all()
    )


def signing_persons(conn: Connection, person_ids: Sequence[int]) -> dict[int, Any]:
    """Each person's row (id, ref, protected), by id, for the persons given."""
    if not person_ids:
        return {}
    rows = conn.execute(
        select(persons.c.id, persons.c.ref, persons.c.protected).where(
            persons.c.id.in_(sorted(set(person_ids)))
        )
    )
    return {int(r.id): r for r in rows}


def related_events(conn: Connection, statement_id: int) -> list[Any]:
    """The events a statement concerns (id, title, ref, sharing), by id."""
    return list(
        conn.execute(
            select(events.c.id, events.c.title, events.c.ref, events.c.sharing)
            .join(statement_events, statement_events.c.event_id == events.c.id)
            .where(statement_events.c.statement_id == statement_id)
            .order_by(events.c.id)
        ).all()
    )


def set_related_events(
    conn: Connection, dialect: Dialect, statement_id: int, event_ids: Sequence[int]
) -> None:
    """Replace the events a statement concerns."""
    delete_rows(conn, statement_events, "statement_id", [statement_id])
    rows = [{"statement_id": statement_id, "event_id": eid} for eid in dict.fromkeys(event_ids)]
    if rows:
        insert_rows(conn, dialect, statement_events, rows)


def existing_event_ids(conn: Connection, event_ids: Sequence[int]) -> set[int]:
    """Which of the given event ids exist."""
    if not event_ids:
        return set()
    rows = conn.execute(select(events.c.id).where(events.c.id.in_(sorted(set(event_ids)))))
    return {r[0] for r in rows}


MEMBERS_KEY = "coalition_members"
"""The ``archive_meta`` key holding the coalition's member organizations (a JSON list of ids)."""


def member_ids(conn: Connection) -> list[int]:
    """The organization ids of the coalition's members, in the order they were set."""
    value = conn.execute(
        select(archive_meta.c.value).where(archive_meta.c.key == MEMBERS_KEY)
    ).scalar()
    return [int(i) for i in json.loads(value)] if value else []


def set_member_ids(conn: Connection, organization_ids: Sequence[int]) -> None:
    """Replace the coalition's member organizations."""
    conn.execute(delete(archive_meta).where(archive_meta.c.key == MEMBERS_KEY))
    ids = list(dict.fromkeys(int(i) for i in organization_ids))
    conn.execute(insert(archive_meta), {"key": MEMBERS_KEY, "value": json.dumps(ids)})
