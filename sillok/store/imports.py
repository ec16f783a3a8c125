"""What an import writes beyond the records themselves: names, sources of acts, perpetrators.

The records (sources, events, persons, acts) are upserted by ref through
:mod:`sillok.store.rows`; the rows here hang off them. Every insert goes through
:func:`sillok.store.rows.insert_rows`, so the write hooks seal and log them like any other.
Nothing here commits: the import holds one transaction.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from sqlalchemy import Connection

from sillok.model import act_perpetrators, act_sources, person_names
from sillok.store.dialects import Dialect
from sillok.store.rows import insert_rows


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
