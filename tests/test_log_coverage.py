"""The log covers the seal keys and each person's commit key, and legitimate key changes verify."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from sqlalchemy import select

from sillok.archive import Archive
from sillok.model import ledger_entries, seal_keys
from sillok.security.seal import commit_subject, readers_subject
from tests.security.conftest import import_yodok


def _key_row(archive: Archive, subject: str) -> Any:
    with archive.store.reading() as conn:
        return conn.execute(select(seal_keys).where(seal_keys.c.subject == subject)).first()


def _victim(archive: Archive) -> int:
    return next(h.id for h in archive.searcher.search("김여정") if h.kind == "person")


def test_protect_moves_the_commit_key_to_the_seal_holders_and_verifies(
    archive: Archive, tmp_path: Path
) -> None:
    import_yodok(archive, tmp_path)
    victim = _victim(archive)
    readers = _key_row(archive, readers_subject(victim))
    assert readers is not None and readers.wrapped is not None
    assert _key_row(archive, commit_subject(victim)) is None
    archive.protection.protect(victim)
    assert _key_row(archive, readers_subject(victim)).wrapped is None
    assert _key_row(archive, commit_subject(victim)).wrapped is not None
    report = archive.verification.run()
    assert report.ok, report.problems


def test_a_shred_is_a_logged_update_and_the_archive_still_verifies(
    archive: Archive, tmp_path: Path
) -> None:
    import_yodok(archive, tmp_path)
    victim = _victim(archive)
    archive.protection.protect(victim)
    with archive.store.reading() as conn:
        logged_before = conn.execute(
            select(ledger_entries.c.seq).where(ledger_entries.c.tbl == "seal_keys")
        ).all()
    assert archive.protection.shred(victim)
    assert _key_row(archive, commit_subject(victim)).wrapped is None
    with archive.store.reading() as conn:
        ops = conn.execute(
            select(ledger_entries.c.op).where(
                ledger_entries.c.tbl == "seal_keys",
                ledger_entries.c.seq > max(s for (s,) in logged_before),
            )
        ).scalars()
        assert set(ops) == {"update"}
    report = archive.verification.run()
    assert report.ok, report.problems
    assert archive.records.show("person", victim, reveal=True)["names"][0]["name"] == "[erased]"
