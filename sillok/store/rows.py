"""Writing and reading records: insert, update as a new version, look up by ref, history.

Every update first copies the whole current row into ``record_versions``; the row then
carries ``version + 1``. Nothing here commits: callers hold the transaction.

Every row written here passes through the archive's :class:`WriteHooks` (carried by the
connection as the ``sillok_hooks`` execution option): they seal protected values before the
insert and append each row to the Merkle log after it, in the same transaction. Doing it here,
once, covers every way in; a connection without hooks cannot write records.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from sqlalchemy import Connection, Row, Table, delete, insert, select, update

from sillok.model import RECORD_TABLES, act_perpetrators, record_versions
from sillok.store.dialects import Dialect

_BOOKKEEPING = ("id", "version", "created_by", "created_at", "updated_by", "updated_at")
_IN_CHUNK = 500  # bound parameters per IN list (SQLite's limit is far above this)
HOOKS_OPTION = "sillok_hooks"


class WriteHooks(Protocol):
    """What the archive does around every write."""

    def prepare(self, conn: Connection, table: Table, rows: Sequence[dict[str, Any]]) -> None:
        """Seal protected values in rows about to be written (in place; rows carry their ids)."""

    def written(
        self, conn: Connection, table: Table, rows: Sequence[Mapping[str, Any]], op: str
    ) -> None:
        """Log rows just inserted, updated (whole new rows) or deleted (their keys)."""

    def unchanged(
        self, conn: Connection, table: Table, current: Row[Any], changes: dict[str, Any]
    ) -> dict[str, Any]:
        """``changes`` without the sealed values that open to the same plaintext."""

    def withheld(
        self, table: Table, before: Mapping[str, Any], after: Mapping[str, Any]
    ) -> list[str]:
        """Columns sealed in ``after`` and in the clear in ``before``, or otherwise no longer
        to be kept (a protected person's earlier ref): they leave the history."""

    def stand_in(
        self, conn: Connection, table: Table, kept: Mapping[str, Any], column: str
    ) -> Any:
        """What a kept version holds in place of a withheld value (None: keep it as it is)."""


def hooks_of(conn: Connection) -> WriteHooks:
    """The write hooks the connection carries; RuntimeError if it has none."""
    hooks: WriteHooks | None = conn.get_execution_options().get(HOOKS_OPTION)
    if hooks is None:
        raise RuntimeError(
            "this connection has no write hooks: write through an open Archive, "
            "so that every change is sealed and logged"
        )
    return hooks


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
    hooks = hooks_of(conn)
    ids = dialect.allocate_ids(conn, table, len(rows))
    stamp = now()
    defaults = _defaults(table)
    full_rows = [
        {
            **defaults,
            **row,
            "id": rid,
            "version": 1,
            "created_by": actor,
            "created_at": stamp,
            "updated_by": actor,
            "updated_at": stamp,
        }
        for rid, row in zip(ids, rows, strict=True)
    ]
    hooks.prepare(conn, table, full_rows)
    # An executemany takes its columns from the first row: rows that set different columns
    # go in separate statements, or the extra values would be silently dropped.
    by_columns: dict[frozenset[str], list[dict[str, Any]]] = {}
    for full in full_rows:
        by_columns.setdefault(frozenset(full), []).append(full)
    for group in by_columns.values():
        dialect.bulk_insert(conn, table, group)
    hooks.written(conn, table, full_rows, "insert")
    return ids


def insert_rows(
    conn: Connection, dialect: Dialect, table: Table, rows: Sequence[Mapping[str, Any]]
) -> None:
    """Insert rows of a link table (names, act sources, perpetrators), all with the same columns.

    A table with a surrogate ``id`` gets its ids allocated here, so that sealed values can bind
    the row id and the log can name the row.
    """
    if not rows:
        return
    hooks = hooks_of(conn)
    full_rows = [dict(r) for r in rows]
    if "id" in table.c and table.c.id.primary_key and "id" not in full_rows[0]:
        ids = dialect.allocate_ids(conn, table, len(full_rows))
        for row, rid in zip(full_rows, ids, strict=True):
            row["id"] = rid
    hooks.prepare(conn, table, full_rows)
    dialect.bulk_insert(conn, table, full_rows)
    hooks.written(conn, table, full_rows, "insert")


def delete_rows(conn: Connection, table: Table, column: str, values: Sequence[Any]) -> int:
    """Delete the link rows whose ``column`` is one of ``values``; each deletion is logged."""
    hooks = hooks_of(conn)
    keys = list(table.primary_key.columns)
    deleted = 0
    for chunk in _chunks(list(values)):
        where = table.c[column].in_(chunk)
        gone = [dict(r._mapping) for r in conn.execute(select(*keys).where(where))]
        if gone:
            conn.execute(delete(table).where(where))
            hooks.written(conn, table, gone, "delete")
            deleted += len(gone)
    return deleted


def update_row(conn: Connection, table: Table, row_id: int, changes: Mapping[str, Any]) -> None:
    """Change a row of a table without versions (users, contacts); logged as an update."""
    hooks = hooks_of(conn)
    current = conn.execute(select(table).where(table.c.id == row_id)).first()
    if current is None:
        raise RuntimeError(f"{table.name} {row_id} does not exist")
    new_row = {**dict(current._mapping), **changes}
    hooks.prepare(conn, table, [new_row])
    conn.execute(
        update(table).where(table.c.id == row_id).values(**{k: new_row[k] for k in changes})
    )
    hooks.written(conn, table, [new_row], "update")


def delete_perpetrators(conn: Connection, act_ids: Sequence[int]) -> None:
    """Remove the perpetrators of acts (before writing their new version's)."""
    delete_rows(conn, act_perpetrators, "act_id", act_ids)


def update_record(
    conn: Connection, kind: str, current: Row[Any], changes: Mapping[str, Any], actor: str
) -> int:
    """Keep ``current`` in the history and write ``changes`` as the next version.

    Returns the new version number. The update is conditional on the version read, so a
    concurrent change is not silently overwritten. A value sealed by this change (the record
    became confidential) leaves the earlier versions too (:func:`withhold_history`).
    """
    return _update(conn, kind, current, changes, actor)[0]


def _update(
    conn: Connection, kind: str, current: Row[Any], changes: Mapping[str, Any], actor: str
) -> tuple[int, bool]:
    """:func:`update_record`; (the new version, whether earlier values left the history)."""
    table = table_of(kind)
    hooks = hooks_of(conn)
    stamp = now()
    conn.execute(
        insert(record_versions),
        {
            "record_kind": kind,
            "record_id": current.id,
            "version": current.version,
            "data": row_json(dict(current._mapping)),
            "changed_by": actor,
            "changed_at": stamp,
        },
    )
    new_version = current.version + 1
    old = dict(current._mapping)
    new_row = {**old, **changes, "version": new_version, "updated_by": actor, "updated_at": stamp}
    hooks.prepare(conn, table, [new_row])
    # Sealing may touch columns the caller did not change (a record made confidential has its
    # narrative sealed), so every column that now differs is written.
    values = {k: v for k, v in new_row.items() if k != "id" and (k in changes or v != old[k])}
    result = conn.execute(
        update(table)
        .where(table.c.id == current.id, table.c.version == current.version)
        .values(**values)
    )
    if result.rowcount != 1:
        raise RuntimeError(f"{kind} {current.id} changed while it was being updated")
    hooks.written(conn, table, [new_row], "update")
    withheld = hooks.withheld(table, old, new_row)
    withhold_history(conn, kind, current.id, withheld)
    return new_version, bool(withheld)


def withhold_history(conn: Connection, kind: str, record_id: int, columns: Sequence[str]) -> int:
    """Replace ``columns`` in every kept version of a record by what the hooks give in their
    place (a record made confidential keeps no earlier text in the clear); returns how many
    versions changed."""
    if not columns:
        return 0
    hooks, table = hooks_of(conn), table_of(kind)
    where = (record_versions.c.record_kind == kind) & (record_versions.c.record_id == record_id)
    changed = 0
    kept_rows = conn.execute(
        select(record_versions.c.id, record_versions.c.data).where(where)
    ).all()
    for kept_id, data in kept_rows:
        kept = json.loads(data)
        stand_ins = {c: hooks.stand_in(conn, table, kept, c) for c in columns}
        stand_ins = {c: v for c, v in stand_ins.items() if v is not None}
        if stand_ins:
            conn.execute(
                update(record_versions)
                .where(record_versions.c.id == kept_id)
                .values(data=row_json({**kept, **stand_ins}))
            )
            changed += 1
    return changed


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
    #: refs whose earlier text left the history (sealed now): the index must drop it too
    withheld: set[str] = field(default_factory=set)


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
    hooks = hooks_of(conn)
    table = table_of(kind)
    for ref, row in existing.items():
        result.ids[ref] = row.id
        changes = changed_fields(row, values_by_ref[ref])
        if changes:
            changes = hooks.unchanged(conn, table, row, changes)
        if changes:
            _version, withheld = _update(conn, kind, row, changes, actor)
            result.updated.add(ref)
            if withheld:
                result.withheld.add(ref)
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
