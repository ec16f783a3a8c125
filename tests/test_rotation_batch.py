"""A key rotation re-wraps the field keys in one batch, and logs what key by key would log.

``keys rotate`` re-wraps every field key under the new seal master key. It did so through
``update_row`` one key at a time (a SELECT, the hooks, an UPDATE and a log append each);
now :func:`sillok.store.seals.rewrap_seal_keys` writes them all at once. These tests hold the
batch to the Merkle log the key-by-key path makes on the same archive (entries, leaves, root),
and a rotation to one batch of them that ``verify`` accepts.
"""

from __future__ import annotations

import csv
import hashlib
import json
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Connection, select

from sillok.archive import Archive
from sillok.ledger.merkle import root_hash
from sillok.model import audit_events, ledger_entries, seal_keys
from sillok.records.flatacts import COLUMNS
from sillok.store.seals import live_seal_keys, rewrap_seal_key, rewrap_seal_keys
from sillok.synthetic.acts import generate_rows

Rewrap = Callable[[Connection, Sequence[tuple[int, bytes]]], None]


def _key_by_key(conn: Connection, keys: Sequence[tuple[int, bytes]]) -> None:
    for key_id, wrapped in keys:
        rewrap_seal_key(conn, key_id, wrapped)


class _Rollback(Exception):
    """Carries what a transaction saw out of it, undoing its writes."""


@pytest.fixture
def filled(archive: Archive, tmp_path: Path) -> Archive:
    """An archive with field keys (synthetic acts: sealed informants, protected persons)."""
    path = tmp_path / "acts.csv"
    with open(path, "w", encoding="utf-8", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=COLUMNS, lineterminator="\n")
        writer.writeheader()
        writer.writerows(generate_rows(80, seed=3))
    archive.ingest.run(path)
    return archive


def _logged(archive: Archive, rewrap: Rewrap) -> dict[str, Any]:
    """What ``rewrap`` of every live key to fixed bytes logs and stores, rolled back."""
    try:
        with archive.store.transaction() as conn:
            start = archive.log.head(conn).size
            keys = [
                (int(r.id), hashlib.sha256(b"new %d" % r.id).digest() * 2)
                for r in live_seal_keys(conn)
            ]
            rewrap(conn, keys)
            entries = conn.execute(
                select(ledger_entries)
                .where(ledger_entries.c.seq >= start)
                .order_by(ledger_entries.c.seq)
            ).all()
            every_leaf = conn.execute(
                select(ledger_entries.c.leaf_hash).order_by(ledger_entries.c.seq)
            ).scalars()
            raise _Rollback(
                {
                    "keys": len(keys),
                    "entries": [tuple(e._mapping.values()) for e in entries],
                    "root": archive.log.head(conn).root,
                    "recomputed_root": root_hash([bytes(h) for h in every_leaf]),
                    "rows": sorted(tuple(r) for r in conn.execute(select(seal_keys))),
                }
            )
    except _Rollback as done:
        result: dict[str, Any] = done.args[0]
        return result


def test_the_batch_logs_what_key_by_key_logs(
    filled: Archive, monkeypatch: pytest.MonkeyPatch
) -> None:
    # the audit trail's notes of each write are logged too; without them the two logs must
    # be identical to the last byte (with them, see the next test)
    monkeypatch.setattr(filled.vault.hooks, "on_write", None)
    with filled.store.reading() as conn:
        before = filled.log.head(conn)
    one_by_one = _logged(filled, _key_by_key)
    batched = _logged(filled, rewrap_seal_keys)
    assert one_by_one["keys"] > 20
    assert len(batched["entries"]) == batched["keys"]
    assert batched["entries"] == one_by_one["entries"]
    assert batched["root"] == one_by_one["root"] == batched["recomputed_root"]
    assert batched["rows"] == one_by_one["rows"]
    with filled.store.reading() as conn:  # both rolled back
        assert filled.log.head(conn) == before


def test_the_batch_is_refused_whole_for_a_key_that_does_not_exist(filled: Archive) -> None:
    with filled.store.reading() as conn:
        before = filled.log.head(conn)
        live = [int(r.id) for r in live_seal_keys(conn)]
    with pytest.raises(RuntimeError, match="do not exist"), filled.store.transaction() as conn:
        rewrap_seal_keys(conn, [(live[0], b"x" * 60), (max(live) + 1000, b"y" * 60)])
    with filled.store.reading() as conn:
        assert filled.log.head(conn) == before


def test_a_rotation_rewraps_every_field_key_in_one_batch(filled: Archive) -> None:
    with filled.store.reading() as conn:
        start = filled.log.head(conn).size
        last_note = conn.execute(select(audit_events.c.id).order_by(audit_events.c.id.desc()))
        after_note = last_note.scalar() or 0
    done = filled.users.rotate_keys()
    assert done["field_keys"] > 20
    with filled.store.reading() as conn:
        logged = (
            conn.execute(
                select(ledger_entries.c.row_id)
                .where(ledger_entries.c.seq >= start, ledger_entries.c.tbl == "seal_keys")
                .order_by(ledger_entries.c.seq)
            )
            .scalars()
            .all()
        )
        notes = [
            json.loads(d)
            for d in conn.execute(
                select(audit_events.c.detail).where(
                    audit_events.c.id > after_note, audit_events.c.action == "write"
                )
            ).scalars()
        ]
    # one entry per field key, in id order, appended together: one note of the write
    assert len(logged) == done["field_keys"] and logged == sorted(logged)
    written = [n for n in notes if n.get("table") == "seal_keys"]
    assert [(n["op"], n["rows"]) for n in written] == [("update", done["field_keys"])]
    report = filled.verification.run()
    assert report.ok, report.problems
    # a second rotation re-wraps them all again, under its own new keys
    assert filled.users.rotate_keys()["field_keys"] == done["field_keys"]
    assert filled.verification.run().ok
