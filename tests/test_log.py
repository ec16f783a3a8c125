"""The archive's Merkle log: every row written is an entry, appends are O(log n), heads signed."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from sqlalchemy import event, func, select, text

from sillok.archive import Archive
from sillok.ledger.checkpoint import open_checkpoint
from sillok.ledger.entries import (
    LOGGED_BY_NAME,
    OPS,
    SHAPES,
    canonical_entry,
    content_commitment,
    entry_bytes,
    entry_object,
)
from sillok.ledger.merkle import leaf_hash, root_hash
from sillok.model import acts, ledger_entries, ledger_state
from sillok.security.keys import derive_key
from sillok.store import Store
from sillok.store import rows as store_rows
from tests.datasets import YODOK, write_csv


def _entries(archive: Archive) -> list[Any]:
    with archive.store.reading() as conn:
        return list(conn.execute(select(ledger_entries).order_by(ledger_entries.c.seq)))


@given(
    table=st.sampled_from(sorted(LOGGED_BY_NAME)),
    row_id=st.integers(0, 2**53 - 1),
    row_sub=st.none() | st.integers(0, 2**53 - 1),
    version=st.none() | st.integers(1, 2**31),
    op=st.sampled_from(OPS),
    content=st.none() | st.binary(min_size=32, max_size=32),
)
def test_entry_bytes_are_the_canonical_encoding(
    table: str,
    row_id: int,
    row_sub: int | None,
    version: int | None,
    op: str,
    content: bytes | None,
) -> None:
    fast = entry_bytes(table, row_id, row_sub, version, op, content)
    assert fast == canonical_entry(entry_object(table, row_id, row_sub, version, op, content))


def test_entry_bytes_refuse_unknown_tables_and_operations() -> None:
    with pytest.raises(ValueError, match="not logged"):
        entry_bytes("search_fts", 1, None, None, "insert", None)
    with pytest.raises(ValueError, match="unknown log operation"):
        entry_bytes("acts", 1, None, 1, "drop", None)


def test_every_row_written_is_logged(archive: Archive, tmp_path: Path) -> None:
    archive.ingest.run(write_csv(tmp_path / "a.csv", YODOK))
    entries = _entries(archive)
    with archive.store.reading() as conn:
        for name in ("acts", "persons", "person_names", "sources", "events", "act_sources",
                     "act_perpetrators", "places", "organizations"):
            rows = conn.execute(text(f"SELECT count(*) FROM {name}")).scalar()
            logged = {(e.row_id, e.row_sub) for e in entries if e.tbl == name}
            assert rows and len(logged) == rows, name
    assert [e.seq for e in entries] == list(range(len(entries)))
    assert all(e.op == "insert" for e in entries)


def test_an_update_is_logged_as_the_next_version(archive: Archive, tmp_path: Path) -> None:
    archive.ingest.run(write_csv(tmp_path / "a.csv", YODOK))
    changed = [dict(r) for r in YODOK]
    changed[0]["description"] = "요덕 관리소에 3년간 수감"
    archive.ingest.run(write_csv(tmp_path / "b.csv", changed))
    updates = [e for e in _entries(archive) if e.op == "update"]
    assert [(e.tbl, e.row_version) for e in updates] == [("acts", 2)]
    with archive.store.reading() as conn:
        row = conn.execute(select(acts).where(acts.c.id == updates[0].row_id)).one()
    committed = archive.log.committed(SHAPES["acts"], row._mapping, 2)
    assert content_commitment(committed) == bytes(updates[0].content)
    # the description is committed salted, not in the clear
    assert committed["description"] != row.description and "c" in committed["description"]


def test_state_and_signed_head_match_the_entries(archive: Archive, tmp_path: Path) -> None:
    archive.ingest.run(write_csv(tmp_path / "a.csv", YODOK))
    entries = _entries(archive)
    leaves = [bytes(e.leaf_hash) for e in entries]
    for e, leaf in zip(entries, leaves, strict=True):
        canonical = entry_bytes(
            e.tbl, e.row_id, e.row_sub, e.row_version, e.op,
            None if e.content is None else bytes(e.content),
        )
        assert leaf_hash(canonical) == leaf
    with archive.store.reading() as conn:
        head = archive.log.head(conn)
    assert head.size == len(entries)
    assert head.root == root_hash(leaves)
    checkpoint = open_checkpoint(head.checkpoint, [head.verifier_key], origin=head.origin)
    assert (checkpoint.size, checkpoint.root) == (head.size, head.root)


def test_appending_reads_no_earlier_entry(archive: Archive, tmp_path: Path) -> None:
    archive.ingest.run(write_csv(tmp_path / "a.csv", YODOK[:1]))
    statements: list[str] = []

    def spy(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        statements.append(statement)

    engine = archive.store.engine
    event.listen(engine, "before_cursor_execute", spy)
    try:
        archive.ingest.run(write_csv(tmp_path / "b.csv", YODOK[1:]))
    finally:
        event.remove(engine, "before_cursor_execute", spy)
    reads = [
        s for s in statements if "ledger_entries" in s and s.lstrip().upper().startswith("SELECT")
    ]
    assert not reads
    assert any("ledger_entries" in s and "INSERT" in s.upper() for s in statements)


def test_a_connection_without_the_archive_hooks_cannot_write(
    archive: Archive, tmp_path: Path
) -> None:
    bare = Store(archive.store.dialect, derive_key(archive.keys.database, "database"))
    try:
        with bare.transaction() as conn, pytest.raises(RuntimeError, match="no write hooks"):
            store_rows.insert_records(
                conn, bare.dialect, "event", [{"title": "unlogged"}], "intruder"
            )
        with bare.reading() as conn:
            assert conn.execute(text("SELECT count(*) FROM events")).scalar() == 0
    finally:
        bare.close()


def test_the_log_survives_reopening(archive: Archive, tmp_path: Path) -> None:
    from tests.conftest import PASSPHRASE

    archive.ingest.run(write_csv(tmp_path / "a.csv", YODOK[:2]))
    folder = archive.folder
    with archive.store.reading() as conn:
        size = conn.execute(select(ledger_state.c.size)).scalar()
    archive.close()
    with Archive.open(folder, PASSPHRASE) as again:
        again.ingest.run(write_csv(tmp_path / "b.csv", YODOK[2:]))
        with again.store.reading() as conn:
            head = again.log.head(conn)
            count = conn.execute(select(func.count()).select_from(ledger_entries)).scalar()
        leaves = [bytes(e.leaf_hash) for e in _entries(again)]
        assert size is not None and head.size == count and count > size
        assert head.root == root_hash(leaves)
        assert again.verification.run().ok


@given(
    st.dictionaries(
        st.text(alphabet="abcdefghijklmnopqrstuvwxyz_", min_size=1, max_size=12),
        st.none()
        | st.booleans()
        | st.integers(-(2**53 - 1), 2**53 - 1)
        | st.text().map(lambda t: __import__("unicodedata").normalize("NFC", t))
        | st.fixed_dictionaries({"c": st.text(alphabet="0123456789abcdef", max_size=64)}),
    )
)
def test_commitments_hash_the_rfc8785_form(obj: dict[str, Any]) -> None:
    """The committed object is encoded exactly as canonical_entry (RFC 8785) encodes it."""
    from sillok.ledger.entries import _jcs

    assert _jcs(obj) == canonical_entry(obj)


def test_one_checkpoint_per_transaction(archive: Archive, tmp_path: Path) -> None:
    from sillok.model import ledger_checkpoints

    def checkpoints() -> list[int]:
        with archive.store.reading() as conn:
            return [int(s) for s in conn.execute(select(ledger_checkpoints.c.size)).scalars()]

    before = checkpoints()
    archive.ingest.run(write_csv(tmp_path / "a.csv", YODOK))  # one transaction, many appends
    after = checkpoints()
    assert len(after) == len(before) + 1
    with archive.store.reading() as conn:
        assert max(after) == archive.log.head(conn).size


def _column_values(converter: Any) -> st.SearchStrategy[Any]:
    """Values a row may carry in a column, of its own type or of one the log converts."""
    import datetime as dt

    from sillok.ledger import entries as al

    zones = st.sampled_from(
        [dt.UTC, dt.timezone(dt.timedelta(hours=9)), dt.timezone(dt.timedelta(hours=-5))]
    )
    times = st.datetimes(min_value=dt.datetime(1900, 1, 1), max_value=dt.datetime(2100, 1, 1))
    aware = st.builds(lambda t, z: t.replace(tzinfo=z), times, zones)
    nfc = st.text(max_size=20).map(lambda t: __import__("unicodedata").normalize("NFC", t))
    by_converter = {
        al._as_int: st.integers(-(2**53 - 1), 2**53 - 1) | st.booleans(),
        al._as_bool: st.booleans() | st.integers(0, 1),
        al._as_str: nfc | st.integers(0, 99),
        al._as_datetime: times | aware | times.map(lambda t: t.isoformat()),
        al._as_date: st.dates() | aware | st.dates().map(lambda d: d.isoformat()),
        al._as_hex: st.binary(max_size=8),
    }
    return st.none() | by_converter[converter]


@st.composite
def _logged_rows(draw: st.DrawFn) -> tuple[str, list[dict[str, Any]]]:
    name = draw(st.sampled_from(sorted(SHAPES)))
    shape = SHAPES[name]
    rows = []
    for n in range(draw(st.integers(1, 6))):
        row = {col: draw(_column_values(conv)) for col, conv in shape.converters}
        row.update({key: n + i for i, key in enumerate(shape.key)})
        if shape.versioned:
            row["version"] = draw(st.integers(1, 5))
        if draw(st.booleans()):
            row["not_a_column"] = "ignored"
        rows.append(row)
    if len(rows) > 1 and draw(st.booleans()):
        # values repeated in a batch, times as the same instants seen from another zone
        rows[1] = {k: _elsewhere(v) for k, v in rows[0].items()}
        rows[1].update({key: 99 for key in shape.key})
    return name, rows


def _elsewhere(value: Any) -> Any:
    import datetime as dt

    if isinstance(value, dt.datetime) and value.tzinfo is not None:
        return value.astimezone(dt.timezone(dt.timedelta(hours=13)))
    return value


@given(_logged_rows())
def test_batch_commitments_equal_the_row_by_row_ones(
    case: tuple[str, list[dict[str, Any]]],
) -> None:
    """The import's batch path commits to exactly what proofs and verify recompute per row."""
    from sillok.ledger.entries import committed_object
    from sillok.ledger.log import ArchiveLog
    from sillok.store.dialects import SqlCipherDialect

    name, rows = case
    shape = SHAPES[name]
    log = ArchiveLog(SqlCipherDialect(Path("unused")), b"s" * 32, b"k" * 32)
    expected = []
    for row in rows:
        key = shape.key_of(row)
        version = int(row["version"]) if shape.versioned else None
        committed = committed_object(shape, b"s" * 32, shape.values(row), key, version)
        expected.append((name, key[0], key[1], version, "insert", content_commitment(committed)))
    assert log.entries_for(shape.table, rows, "insert") == expected


@given(
    st.none()
    | st.booleans()
    | st.integers(-(2**53 - 1), 2**53 - 1)
    | st.text().map(lambda t: __import__("unicodedata").normalize("NFC", t))
)
def test_field_values_encode_as_the_json_encoder_does(value: Any) -> None:
    """The shortcut for one field value writes the standard encoder's bytes."""
    import json

    from sillok.ledger.entries import _jcs, _jcs_scalar

    reference = json.JSONEncoder(sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    assert _jcs_scalar(value) == _jcs(value) == reference.encode(value).encode()
    assert _jcs({"c": value, "b": [value]}) == reference.encode({"c": value, "b": [value]}).encode()
