"""Writing and reading records: insert, update as a new version, look up by ref, history.

Every update first copies the whole current row into ``record_versions``; the row then
carries ``version + 1``. Nothing here commits: callers hold the transaction.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Connection, Row, Table, delete, insert, select, update

from sillok.model import RECORD_TABLES, act_perpetrators, record_versions
from sillok.store.dialects import Dialect

_BOOKKEEPING = ("id", "version", "created_by", "created_at", "updated_by", "updated_at")
_IN_CHUNK = 500  # bound parameters per IN list (SQLite's limit is far above this)


def now() -> dt.datetime:
    """The current time in UTC, to the second."""
    return dt.datetime.now(dt.UTC).replace(microsecond=0)


def table_of(kind: str) -> Table:
    """The table of a record kind."""
    return RECORD_TABLES[kind]


def row_json(row: Mapping[str, Any]) -> str:
    """A row as canonical JSON (sorted keys, ISO dates), as kept in the history."""
    return json.dumps({k: _jsonable(v) for k, v in row.items()}, sort_keys=True, ensure_ascii=False)


def _jsonable(value: Any) -> Any:
    if isinstance(value, dt.datetime | dt.date):
        return value.isoformat()
    return value


def _chunks(items: Sequence[Any], size: int = _IN_CHUNK) -> Iterable[Sequence[Any]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def get(conn: Connection, kind: str, record_id: int) -> Row[Any] | None:
    """One record by id, or None."""
    table = table_of(kind)
    return conn.execute(select(table).where(table.c.id == record_id)).first()


def get_many(conn: Connection, kind: str, ids: Sequence[int]) -> dict[int, Row[Any]]:
    """Records by id."""
    table = table_of(kind)
    found: dict[int, Row[Any]] = {}
    for chunk in _chunks(sorted(set(ids))):
        for row in conn.execute(select(table).where(table.c.id.in_(chunk))):
            found[row.id] = row
    return found


def by_refs(conn: Connection, kind: str, refs: Sequence[str]) -> dict[str, Row[Any]]:
    """Records by ref (refs not found are absent)."""
    table = table_of(kind)
    found: dict[str, Row[Any]] = {}
    for chunk in _chunks(sorted(set(refs))):
        for row in conn.execute(select(table).where(table.c.ref.in_(chunk))):
            found[row.ref] = row
    return found


def _defaults(table: Table) -> dict[str, Any]:
    """The scalar column defaults of a table (a driver-level insert does not apply them)."""
    return {
        c.name: c.default.arg  # type: ignore[attr-defined]
        for c in table.columns
        if c.default is not None and c.default.is_scalar
    }


def insert_records(
    conn: Connection, dialect: Dialect, kind: str, rows: Sequence[Mapping[str, Any]], actor: str
) -> list[int]:
    """Insert new records (version 1); returns their ids in order."""
    if not rows:
        return []
    table = table_of(kind)
    ids = dialect.allocate_ids(conn, table, len(rows))
    stamp = now()
    # An executemany takes its columns from the first row: rows that set different columns
    # go in separate statements, or the extra values would be silently dropped.
    by_columns: dict[frozenset[str], list[dict[str, Any]]] = {}
    defaults = _defaults(table)
    for rid, row in zip(ids, rows, strict=True):
        full = {
            **defaults,
            **row,
            "id": rid,
            "version": 1,
            "created_by": actor,
            "created_at": stamp,
            "updated_by": actor,
            "updated_at": stamp,
        }
        by_columns.setdefault(frozenset(full), []).append(full)
    for group in by_columns.values():
        dialect.bulk_insert(conn, table, group)
    return ids


def insert_rows(
    conn: Connection, dialect: Dialect, table: Table, rows: Sequence[Mapping[str, Any]]
) -> None:
    """Insert rows of a link table (names, act sources, perpetrators), all with the same columns."""
    dialect.bulk_insert(conn, table, rows)


def delete_perpetrators(conn: Connection, act_ids: Sequence[int]) -> None:
    """Remove the perpetrators of acts (before writing their new version's)."""
    for chunk in _chunks(list(act_ids)):
        conn.execute(delete(act_perpetrators).where(act_perpetrators.c.act_id.in_(chunk)))


def update_record(
    conn: Connection, kind: str, current: Row[Any], changes: Mapping[str, Any], actor: str
) -> int:
    """Keep ``current`` in the history and write ``changes`` as the next version.

    Returns the new version number. The update is conditional on the version read, so a
    concurrent change is not silently overwritten.
    """
    table = table_of(kind)
    conn.execute(
        insert(record_versions),
        {
            "record_kind": kind,
            "record_id": current.id,
            "version": current.version,
            "data": row_json(dict(current._mapping)),
            "changed_by": actor,
            "changed_at": now(),
        },
    )
    new_version = current.version + 1
    result = conn.execute(
        update(table)
        .where(table.c.id == current.id, table.c.version == current.version)
        .values(**changes, version=new_version, updated_by=actor, updated_at=now())
    )
    if result.rowcount != 1:
        raise RuntimeError(f"{kind} {current.id} changed while it was being updated")
    return new_version


def changed_fields(current: Row[Any], values: Mapping[str, Any]) -> dict[str, Any]:
    """The values that differ from the stored row."""
    mapping = current._mapping
    return {k: v for k, v in values.items() if k not in _BOOKKEEPING and mapping[k] != v}


@dataclass
class UpsertResult:
    """What :func:`upsert_by_ref` did."""

    ids: dict[str, int] = field(default_factory=dict)
    created: set[str] = field(default_factory=set)
    updated: set[str] = field(default_factory=set)


def upsert_by_ref(
    conn: Connection,
    dialect: Dialect,
    kind: str,
    values_by_ref: Mapping[str, Mapping[str, Any]],
    actor: str,
) -> UpsertResult:
    """Create the records whose ref is new; write a new version of those whose values changed."""
    result = UpsertResult()
    existing = by_refs(conn, kind, list(values_by_ref))
    new_refs = [ref for ref in values_by_ref if ref not in existing]
    new_ids = insert_records(
        conn, dialect, kind, [{**values_by_ref[r], "ref": r} for r in new_refs], actor
    )
    result.ids.update(zip(new_refs, new_ids, strict=True))
    result.created.update(new_refs)
    for ref, row in existing.items():
        result.ids[ref] = row.id
        changes = changed_fields(row, values_by_ref[ref])
        if changes:
            update_record(conn, kind, row, changes, actor)
            result.updated.add(ref)
    return result


def history(conn: Connection, kind: str, record_id: int) -> list[dict[str, Any]]:
    """Every version of a record, oldest first; the last one is the current row."""
    rows = conn.execute(
        select(record_versions)
        .where(record_versions.c.record_kind == kind, record_versions.c.record_id == record_id)
        .order_by(record_versions.c.version)
    ).all()
    versions = [
        {**json.loads(r.data), "_changed_by": r.changed_by, "_changed_at": r.changed_at}
        for r in rows
    ]
    current = get(conn, kind, record_id)
    if current is not None:
        versions.append({k: _jsonable(v) for k, v in current._mapping.items()})
    return versions
