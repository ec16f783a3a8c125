"""``verify --jobs N``: the rows checked by a pool of processes give the serial report.

The pieces are made small (``CHUNK`` ids of 4 in place of 5,000) so that the small dataset
spans several chunks per table; the forked workers inherit that setting.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import text
from typer.testing import CliRunner

from sillok.archive import Archive
from sillok.cli import app
from sillok.custody import verify_pool, verify_rows
from sillok.custody.verify_report import VerifyReport
from sillok.custody.verify_rows import Piece, PieceResult
from sillok.store import ledger as store_ledger
from tests.conftest import PASSPHRASE
from tests.datasets import YODOK, write_csv

SMALL_CHUNK = 4
ROW_TABLES = ("events", "acts", "persons", "places")


@pytest.fixture
def filled(archive: Archive, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Archive:
    """The Yodok dataset with one act changed (a kept version), in chunks of 4 ids, and
    verifications that write no audit event (so every run sees the same log)."""
    archive.ingest.run(write_csv(tmp_path / "a.csv", YODOK))
    changed = [dict(r) for r in YODOK]
    changed[0]["description"] = "요덕 관리소에 3년간 수감"
    archive.ingest.run(write_csv(tmp_path / "b.csv", changed))
    monkeypatch.setattr(verify_rows, "CHUNK", SMALL_CHUNK)
    monkeypatch.setattr(archive.vault.audit, "record", lambda *_a, **_k: None)
    return archive


def sql(archive: Archive, statement: str, **params: Any) -> list[Any]:
    """Run SQL straight on the store, as an intruder with the database key would."""
    with archive.store.engine.begin() as conn:
        result = conn.execute(text(statement), params)
        return list(result) if result.returns_rows else []


def same_from_both(archive: Archive, **options: Any) -> VerifyReport:
    """Verify serially and with a pool of 2; the reports must be the same."""
    serial = archive.verification.run(jobs=1, **options)
    pooled = archive.verification.run(jobs=2, **options)
    assert without_time(pooled) == without_time(serial)
    return serial


def without_time(report: VerifyReport) -> dict[str, Any]:
    data = report.to_json()
    del data["seconds"]
    return data


def chunks(archive: Archive, table: str) -> dict[int, list[int]]:
    """The ids of a table by chunk number."""
    out: dict[int, list[int]] = {}
    for (rid,) in sql(archive, f"SELECT id FROM {table} ORDER BY id"):
        out.setdefault(int(rid) // SMALL_CHUNK, []).append(int(rid))
    return out


def test_an_untouched_archive_gives_the_same_report(filled: Archive) -> None:
    report = same_from_both(filled)
    assert report.ok, report.problems
    assert report.rows > 40 and report.versions == 1
    assert len(chunks(filled, "places")) > 3


def test_a_row_tampered_in_each_chunk_in_turn(filled: Archive) -> None:
    tried = 0
    for table in ROW_TABLES:
        for number, ids in chunks(filled, table).items():
            rid = ids[-1]
            (ref,) = sql(filled, f"SELECT ref FROM {table} WHERE id = :id", id=rid)[0]
            sql(filled, f"UPDATE {table} SET ref = :ref WHERE id = :id", ref=f"{ref}x", id=rid)
            report = same_from_both(filled)
            assert f"{table} {rid} differs from what the log recorded" in report.problems[0], (
                table, number, report.problems,
            )
            sql(filled, f"UPDATE {table} SET ref = :ref WHERE id = :id", ref=ref, id=rid)
            tried += 1
    assert tried > 6
    assert filled.verification.run().ok


def test_a_log_entry_tampered_in_each_chunk_in_turn(filled: Archive) -> None:
    with filled.store.reading() as conn:
        every = verify_rows.pieces(conn)
    assert len(every) > 15
    for piece in every:
        lo, hi = piece.bounds
        found = sql(
            filled,
            "SELECT seq, content FROM ledger_entries WHERE tbl = :t AND row_id >= :lo "
            "AND row_id < :hi AND content IS NOT NULL ORDER BY seq DESC LIMIT 1",
            t=piece.table, lo=lo, hi=hi,
        )
        if not found:
            continue
        seq, content = found[0]
        sql(filled, "UPDATE ledger_entries SET content = leaf_hash WHERE seq = :s", s=seq)
        report = same_from_both(filled)
        assert f"log entry {seq} " in report.problems[0], (piece, report.problems)
        assert any("differs from what the log recorded" in p for p in report.problems)
        sql(filled, "UPDATE ledger_entries SET content = :c WHERE seq = :s", c=content, s=seq)
    assert filled.verification.run().ok


def test_many_problems_keep_the_same_first_ones_and_count(filled: Archive) -> None:
    sql(filled, "UPDATE places SET ref = COALESCE(ref, '') || 'x' || CAST(id AS TEXT)")
    report = same_from_both(filled)
    assert len(report.problems) == 20 and report.more_problems > 10


def test_the_incremental_verify_works_with_the_pool(filled: Archive, tmp_path: Path) -> None:
    first = filled.verification.run(jobs=2, remember=True)
    assert first.ok and first.since is None
    changed = [dict(r) for r in YODOK]
    changed[1]["description"] = "a second change, after the verification"
    filled.ingest.run(write_csv(tmp_path / "more.csv", changed))
    report = same_from_both(filled, since_last=True)
    assert report.ok and report.since is not None
    assert 0 < report.unchanged_rows < report.rows
    (rid,) = sql(filled, "SELECT min(id) FROM places")[0]
    sql(filled, "UPDATE places SET ref = COALESCE(ref, '') || 'x' WHERE id = :id", id=rid)
    report = same_from_both(filled, since_last=True)
    assert report.since is not None
    assert f"places {rid} differs from what the log recorded" in report.problems[0]


def _fails_on_places_1(
    conn: Any, log: Any, piece: Piece, real: Any = verify_pool.check_piece
) -> PieceResult:
    if (piece.table, piece.number) == ("places", 1):
        raise RuntimeError("boom: a value the worker read, 김영철")
    result: PieceResult = real(conn, log, piece)
    return result


def _dies_on_places_1(
    conn: Any, log: Any, piece: Piece, real: Any = verify_pool.check_piece
) -> PieceResult:
    if (piece.table, piece.number) == ("places", 1):
        os._exit(3)
    result: PieceResult = real(conn, log, piece)
    return result


@pytest.mark.parametrize("store_kind", ["sqlcipher"], indirect=True)
def test_an_error_in_a_worker_is_reported(
    filled: Archive, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(verify_pool, "check_piece", _fails_on_places_1)
    report = filled.verification.run(jobs=2, remember=True)
    assert not report.ok
    assert report.problems == [
        "places ids 4-7 could not be verified: RuntimeError"
    ]  # the kind of error only: its message may quote a stored value
    assert filled.verification.run(jobs=1).ok  # the serial path does not use the pool


@pytest.mark.parametrize("store_kind", ["sqlcipher"], indirect=True)
def test_a_worker_that_dies_is_reported_not_waited_for(
    filled: Archive, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(verify_pool, "check_piece", _dies_on_places_1)
    report = filled.verification.run(jobs=2)
    assert not report.ok
    assert len(report.problems) == 1
    assert "a verification worker stopped" in report.problems[0]
    assert "were not verified" in report.problems[0]


@pytest.mark.parametrize("store_kind", ["postgresql"], indirect=True)
def test_postgresql_workers_read_the_parents_snapshot(
    filled: Archive, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A row changed after pass 1 began is not seen by the workers (nor by the parent)."""
    exported = store_ledger.export_snapshot

    def export_then_write(conn: Any) -> str | None:
        name = exported(conn)
        sql(
            filled,
            "UPDATE events SET ref = COALESCE(ref, '') || 'x' "
            "WHERE id = (SELECT min(id) FROM events)",
        )
        return name

    monkeypatch.setattr(store_ledger, "export_snapshot", export_then_write)
    assert filled.verification.run(jobs=2).ok
    monkeypatch.setattr(store_ledger, "export_snapshot", exported)
    after = filled.verification.run(jobs=1)
    assert "differs from what the log recorded" in after.problems[0]


def test_the_command_takes_jobs(filled: Archive) -> None:
    env = {"SILLOK_PASSPHRASE": PASSPHRASE}
    for jobs in ("1", "2"):
        result = CliRunner().invoke(
            app, ["verify", str(filled.folder), "--full", "--jobs", jobs], env=env
        )
        assert result.exit_code == 0, result.stderr
        assert "OK:" in result.stdout
    sql(
        filled,
        "UPDATE places SET ref = COALESCE(ref, '') || 'x' "
        "WHERE id = (SELECT max(id) FROM places)",
    )
    result = CliRunner().invoke(
        app, ["verify", str(filled.folder), "--full", "--jobs", "2"], env=env
    )
    assert result.exit_code == 1
    assert "FAILED: places" in result.stderr
