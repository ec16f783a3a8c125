"""What the Merkle log reads and writes: its state, its entries, its signed checkpoints; and
the rows it covers, read back in key order for a backfill or a verification.

The log's logic (entries, commitments, signing) is :mod:`sillok.ledger`; these are its
statements only.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence
from typing import Any

from sqlalchemy import Connection, Row, Table, delete, func, insert, select, text, update

from sillok.model import (
    archive_meta,
    attachments,
    audit_events,
    ledger_checkpoints,
    ledger_entries,
    ledger_state,
)
from sillok.model import record_versions as versions
from sillok.store.dialects import Dialect
from sillok.store.rows import now

_STATE_ID = 1  # the log's state is one row


# --- the log's state ------------------------------------------------------------------------


def create_log_state(
    conn: Connection, frontier: bytes, origin: str, verifier_key: str, signing_key: bytes
) -> None:
    """Write the state of a new, empty log (once, when the archive is created)."""
    conn.execute(
        insert(ledger_state),
        {
            "id": _STATE_ID,
            "size": 0,
            "frontier": frontier,
            "origin": origin,
            "verifier_key": verifier_key,
            "signing_key": signing_key,
        },
    )


def log_state(conn: Connection, lock: bool = False) -> Row[Any] | None:
    """The log's state (size, frontier, origin, keys), None for an archive without a log.

    ``lock`` holds the row until the transaction ends (``SELECT ... FOR UPDATE`` on
    PostgreSQL; SQLite's writing transactions are already exclusive), so two appends cannot
    extend the same frontier.
    """
    stmt = select(ledger_state).where(ledger_state.c.id == _STATE_ID)
    if lock:
        stmt = stmt.with_for_update()
    return conn.execute(stmt).first()


def advance_log_state(conn: Connection, old_size: int, size: int, frontier: bytes) -> None:
    """Record the log's new size and frontier, if it still has ``old_size`` entries."""
    conn.execute(
        update(ledger_state)
        .where(ledger_state.c.id == _STATE_ID, ledger_state.c.size == old_size)
        .values(size=size, frontier=frontier)
    )


def replace_signing_key(conn: Connection, verifier_key: str, signing_key: bytes) -> None:
    """Record the organisation's new checkpoint key (its public key and its sealed seed)."""
    conn.execute(
        update(ledger_state)
        .where(ledger_state.c.id == _STATE_ID)
        .values(verifier_key=verifier_key, signing_key=signing_key)
    )


def reseal_signing_key(conn: Connection, signing_key: bytes) -> None:
    """Record the organisation's checkpoint seed sealed under a new key."""
    conn.execute(
        update(ledger_state).where(ledger_state.c.id == _STATE_ID).values(signing_key=signing_key)
    )


_KEY_CHAIN = "checkpoint_keys"


def key_chain(conn: Connection) -> str | None:
    """The stored chain of checkpoint keys (JSON: the first key and the transition notes)."""
    value: str | None = conn.execute(
        select(archive_meta.c.value).where(archive_meta.c.key == _KEY_CHAIN)
    ).scalar()
    return value


def save_key_chain(conn: Connection, value: str) -> None:
    """Replace the stored chain of checkpoint keys."""
    conn.execute(delete(archive_meta).where(archive_meta.c.key == _KEY_CHAIN))
    conn.execute(insert(archive_meta), {"key": _KEY_CHAIN, "value": value})


# --- entries --------------------------------------------------------------------------------


def insert_entries(conn: Connection, dialect: Dialect, rows: Sequence[dict[str, Any]]) -> None:
    """Insert log entries (seq, tbl, row_id, row_sub, row_version, op, content, leaf_hash)."""
    dialect.bulk_insert(conn, ledger_entries, rows)


def leaf_hashes(conn: Connection, size: int) -> list[bytes]:
    """The first ``size`` leaf hashes, in order."""
    return [
        bytes(h)
        for (h,) in conn.execute(
            select(ledger_entries.c.leaf_hash)
            .where(ledger_entries.c.seq < size)
            .order_by(ledger_entries.c.seq)
        )
    ]


def entries_about(conn: Connection, table: str, row_id: int) -> list[Row[Any]]:
    """Every entry about one row of a table (any second key part), oldest first."""
    return list(
        conn.execute(
            select(ledger_entries)
            .where(ledger_entries.c.tbl == table, ledger_entries.c.row_id == row_id)
            .order_by(ledger_entries.c.seq)
        )
    )


_ENTRY_COLUMNS = ("seq", "tbl", "row_id", "row_sub", "row_version", "op", "content", "leaf_hash")
_ENTRIES_AFTER = text(
    f"SELECT {', '.join(_ENTRY_COLUMNS)} "
    "FROM ledger_entries WHERE seq > :last ORDER BY seq LIMIT :n"
)


def _driver_rows(
    conn: Connection, query: Any, params: dict[str, Any]
) -> Sequence[tuple[Any, ...]]:
    """The rows of a textual query as the driver's own tuples (its ``fetchall``), without
    SQLAlchemy's row objects: what a verification reads for every entry and row."""
    result = conn.execute(query, params)
    try:
        rows: Sequence[tuple[Any, ...]] = result.cursor.fetchall()
    finally:
        result.close()
    return rows


def entries_in_order(
    conn: Connection, chunk: int, start: int = 0, stop: int | None = None
) -> Iterator[tuple[Any, ...]]:
    """Every entry as a plain tuple (seq, tbl, row_id, row_sub, row_version, op, content,
    leaf_hash), in seq order, read ``chunk`` entries at a time; from ``seq >= start`` and,
    with ``stop``, below ``stop``.

    Plain rows, without the ORM's processing: a verification reads the whole log this way.
    """
    last = start - 1
    while True:
        n = chunk if stop is None else min(chunk, stop - last - 1)
        if n <= 0:
            return
        batch = _driver_rows(conn, _ENTRIES_AFTER, {"last": last, "n": n})
        if not batch:
            return
        if stop is not None and batch[-1][0] >= stop:
            batch = [r for r in batch if r[0] < stop]
            yield from batch
            return
        yield from batch
        last = batch[-1][0]


_ENTRIES_IN_RANGE = text(
    f"SELECT {', '.join(_ENTRY_COLUMNS)} FROM ledger_entries "
    "WHERE tbl = :tbl AND row_id >= :lo AND row_id < :hi ORDER BY seq"
)


def entries_in_range(
    conn: Connection, table: str, lo: int, hi: int
) -> Sequence[tuple[Any, ...]]:
    """The entries about rows ``lo <= id < hi`` of a table, as the tuples of
    :func:`entries_in_order`, in seq order.

    Plain rows read at once (one ``fetchall``), without the ORM's processing: a full
    verification reads every entry of the log this way."""
    return _driver_rows(conn, _ENTRIES_IN_RANGE, {"tbl": table, "lo": lo, "hi": hi})


def entry_id_range(conn: Connection, table: str) -> tuple[int | None, int | None]:
    """The smallest and largest row id the log's entries name in a table (None if none)."""
    lo, hi = conn.execute(
        select(func.min(ledger_entries.c.row_id), func.max(ledger_entries.c.row_id)).where(
            ledger_entries.c.tbl == table
        )
    ).one()
    return lo, hi


def raw_rows_in_range(
    conn: Connection, table: Table, key: Sequence[str], lo: int, hi: int
) -> Sequence[tuple[Any, ...]]:
    """The rows with ``lo <= key[0] < hi`` as the driver returns them (every column, no
    type processing), ordered by the ``key`` columns: what a verification fingerprints."""
    return checked_rows_in_range(conn, table, key, lo, hi)[0]


def checked_rows_in_range(
    conn: Connection, table: Table, key: Sequence[str], lo: int, hi: int
) -> tuple[Sequence[tuple[Any, ...]], list[dict[str, Any]]]:
    """The rows with ``lo <= key[0] < hi``, ordered by the ``key`` columns, read once and
    given twice: as the driver returns them (what a verification fingerprints, see
    :func:`raw_rows_in_range`) and as dicts of every column with the table's types applied
    (what :func:`rows_in_range` gives, and a verification recomputes)."""
    order = ", ".join(key)
    query = text(
        f"SELECT * FROM {table.name} WHERE {key[0]} >= :lo AND {key[0]} < :hi ORDER BY {order}"
    )
    result = conn.execute(query, {"lo": lo, "hi": hi})
    names = list(result.keys())
    raw: Sequence[tuple[Any, ...]] = result.cursor.fetchall()
    result.close()
    processors = [
        (i, proc)
        for i, name in enumerate(names)
        if name in table.c
        and (proc := table.c[name].type._cached_result_processor(conn.dialect, None)) is not None
    ]
    mappings = []
    for r in raw:
        values = list(r)
        for i, proc in processors:
            values[i] = proc(values[i])
        mappings.append(dict(zip(names, values, strict=True)))
    return raw, mappings


def export_snapshot(conn: Connection) -> str | None:
    """PostgreSQL: the name of this transaction's snapshot, for other sessions to read the
    same state (:func:`use_snapshot`); None on SQLite, which has no such thing."""
    if conn.dialect.name != "postgresql":
        return None
    return str(conn.execute(text("SELECT pg_export_snapshot()")).scalar_one())


_SNAPSHOT_NAME = re.compile(r"[0-9A-F]+(-[0-9A-F]+)+")


def use_snapshot(conn: Connection, snapshot: str) -> Connection:
    """A REPEATABLE READ transaction on ``conn`` that sees the exported ``snapshot``
    (:func:`export_snapshot`, still held open by its exporter); returns the connection to
    read with.

    Raises:
        ValueError: ``snapshot`` is not a snapshot name.
    """
    if not _SNAPSHOT_NAME.fullmatch(snapshot):
        raise ValueError(f"not a snapshot name: {snapshot!r}")
    conn = conn.execution_options(isolation_level="REPEATABLE READ")
    # a utility statement: its argument cannot be a bound parameter (checked above)
    conn.exec_driver_sql(f"SET TRANSACTION SNAPSHOT '{snapshot}'")
    return conn


_VERIFIED_PREFIX = "verified:"


def verification_record(conn: Connection, who: str) -> str | None:
    """The signed record of ``who``'s last verification (archive_meta), or None."""
    value: str | None = conn.execute(
        select(archive_meta.c.value).where(archive_meta.c.key == _VERIFIED_PREFIX + who)
    ).scalar()
    return value


def save_verification_record(conn: Connection, who: str, note: str) -> None:
    """Replace ``who``'s record of their last verification."""
    key = _VERIFIED_PREFIX + who
    conn.execute(delete(archive_meta).where(archive_meta.c.key == key))
    conn.execute(insert(archive_meta), {"key": key, "value": note})


# --- checkpoints ----------------------------------------------------------------------------


def insert_checkpoint(conn: Connection, size: int, root: bytes, note: str) -> None:
    """Keep the signed checkpoint of one tree size, stamped now."""
    conn.execute(
        insert(ledger_checkpoints),
        {"size": size, "root": root, "note": note, "signed_at": now()},
    )


def delete_checkpoint(conn: Connection, size: int) -> None:
    """Drop the checkpoint of one tree size (one signed earlier in the same transaction)."""
    conn.execute(delete(ledger_checkpoints).where(ledger_checkpoints.c.size == size))


def checkpoint_note(conn: Connection, size: int) -> str | None:
    """The signed note of one tree size, if one was signed."""
    note: str | None = conn.execute(
        select(ledger_checkpoints.c.note).where(ledger_checkpoints.c.size == size)
    ).scalar()
    return note


def newest_signed_checkpoint(conn: Connection, key_name: str) -> Row[Any] | None:
    """The newest checkpoint that carries a signature line of the key ``key_name`` (the
    organisation's key is named after the log's origin) (size, root, note), or None."""
    line = f"\n\u2014 {key_name} "
    stmt = (
        select(ledger_checkpoints)
        .where(ledger_checkpoints.c.note.contains(line, autoescape=True))
        .order_by(ledger_checkpoints.c.size.desc())
        .limit(1)
    )
    return conn.execute(stmt).first()


def checkpoints(conn: Connection) -> Iterator[tuple[int, bytes, str]]:
    """Every signed checkpoint (size, root, note), smallest first."""
    for row in conn.execute(select(ledger_checkpoints).order_by(ledger_checkpoints.c.size)):
        yield int(row.size), bytes(row.root), row.note


# --- the rows the log covers ----------------------------------------------------------------


def rows_in_key_order(conn: Connection, table: Table, key: Sequence[str]) -> list[dict[str, Any]]:
    """Every row of a table, as dicts, ordered by the ``key`` columns."""
    order = [table.c[k] for k in key]
    return [dict(r._mapping) for r in conn.execute(select(table).order_by(*order))]


def id_range(conn: Connection, table: Table, column: str) -> tuple[int | None, int | None]:
    """The smallest and largest value of a table's integer key column (None if empty)."""
    col = table.c[column]
    lo, hi = conn.execute(select(func.min(col), func.max(col))).one()
    return lo, hi


def rows_in_range(
    conn: Connection, table: Table, column: str, lo: int, hi: int
) -> list[dict[str, Any]]:
    """The rows with ``lo <= column < hi``, as dicts of every column."""
    col = table.c[column]
    names = [c.name for c in table.columns]
    return [
        dict(zip(names, r, strict=True))
        for r in conn.execute(select(table).where(col >= lo, col < hi))
    ]


def kept_versions(conn: Connection, kind: str) -> Iterator[tuple[int, str]]:
    """Every superseded version of every record of a kind: (record id, the version's JSON),
    by record and version."""
    for r in conn.execute(
        select(versions.c.record_id, versions.c.data)
        .where(versions.c.record_kind == kind)
        .order_by(versions.c.record_id, versions.c.version)
    ):
        yield int(r.record_id), r.data


def kept_versions_in_range(
    conn: Connection, kind: str, lo: int, hi: int
) -> Iterator[tuple[int, int, str]]:
    """The superseded versions of records ``lo <= id < hi`` of a kind: (record id, version,
    the version's JSON)."""
    for r in conn.execute(
        select(versions.c.record_id, versions.c.version, versions.c.data).where(
            versions.c.record_kind == kind,
            versions.c.record_id >= lo,
            versions.c.record_id < hi,
        )
    ):
        yield int(r.record_id), int(r.version), r.data


def kept_version(conn: Connection, kind: str, record_id: int, version: int) -> str | None:
    """One superseded version of a record, as its JSON, or None if it was not kept."""
    data: str | None = conn.execute(
        select(versions.c.data).where(
            versions.c.record_kind == kind,
            versions.c.record_id == record_id,
            versions.c.version == version,
        )
    ).scalar()
    return data


def attachments_after(conn: Connection, last_id: int, limit: int) -> list[Row[Any]]:
    """The next ``limit`` attachment rows with ids above ``last_id``, by id."""
    return list(
        conn.execute(
            select(attachments)
            .where(attachments.c.id > last_id)
            .order_by(attachments.c.id)
            .limit(limit)
        ).all()
    )


def author_events(conn: Connection, actions: Sequence[str]) -> list[tuple[int, str, str]]:
    """(id, action, detail JSON) of the audit events of ``actions`` (the registrations of
    authors' keys and the removals of users), oldest first."""
    stmt = (
        select(audit_events.c.id, audit_events.c.action, audit_events.c.detail)
        .where(audit_events.c.action.in_(list(actions)))
        .order_by(audit_events.c.id)
    )
    return [(int(r.id), str(r.action), str(r.detail)) for r in conn.execute(stmt)]
