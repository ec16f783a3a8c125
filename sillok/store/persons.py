"""What protecting a person reads and writes: their name rows and their sealed contacts."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection, select

from sillok.model import person_contacts, person_names
from sillok.store.dialects import Dialect, doc_id
from sillok.store.rows import delete_rows, insert_rows


def rewrite_names(conn: Connection, dialect: Dialect, person_id: int, plain: Any) -> None:
    """Delete the person's name rows that ``plain`` selects and insert them anew (the write
    hooks then seal them, the person being protected), and drop the person from the index."""
    names = conn.execute(
        select(person_names)
        .where(person_names.c.person_id == person_id)
        .order_by(person_names.c.id)
    ).all()
    rows = [dict(r._mapping) for r in names if plain(r.name)]
    if rows:
        delete_rows(conn, person_names, "id", [r["id"] for r in rows])
        insert_rows(
            conn, dialect, person_names, [{k: v for k, v in r.items() if k != "id"} for r in rows]
        )
    dialect.unindex_documents(conn, [doc_id("person", person_id)])
    if dialect.name == "sqlcipher":
        # A contentless FTS5 delete only marks the tokens; merging the segments drops them
        # from the file.
        conn.exec_driver_sql("INSERT INTO search_fts(search_fts) VALUES ('optimize')")


def add_contact(conn: Connection, dialect: Dialect, person_id: int, kind: str, value: str) -> int:
    """Insert a contact of a person (sealed by the write hooks); returns its id."""
    (rid,) = dialect.allocate_ids(conn, person_contacts, 1)
    insert_rows(
        conn,
        dialect,
        person_contacts,
        [{"id": rid, "person_id": person_id, "kind": kind, "value": value}],
    )
    return int(rid)


def contacts_of(conn: Connection, person_id: int) -> list[dict[str, Any]]:
    """A person's contact rows."""
    rows = conn.execute(select(person_contacts).where(person_contacts.c.person_id == person_id))
    return [dict(r._mapping) for r in rows]
