"""``verify --jobs N``: the log (pass 1) hashed by a pool of processes gives the serial report.

The chunks of sequence numbers (and of ids) are made small (``CHUNK`` of 8 in place of
5,000) so that the small dataset's log spans many pieces; the forked workers inherit that
setting. Most runs check the log only (``rows=False``), which is what the pool changes here.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import text

from sillok.archive import Archive
from sillok.custody import verified, verify_pool, verify_rows
from sillok.custody.verify_entries import LogPiece, LogPieceResult, verify_log
from sillok.custody.verify_pool import PiecePool
from sillok.custody.verify_report import VerifyReport
from sillok.store import ledger as store_ledger
from tests.datasets import YODOK, write_csv

SMALL_CHUNK = 8


@pytest.fixture
def logged(archive: Archive, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Archive:
    """The Yodok dataset with one act changed, in chunks of 8 sequence numbers and ids, and
    verifications that write no audit event (so every run sees the same log)."""
    archive.ingest.run(write_csv(tmp_path / "a.csv", YODOK))
    changed = [dict(r) for r in YODOK]
    changed[0]["description"] = "요덕 관리소에 3년간 수감"
    archive.ingest.run(write_csv(tmp_path / "b.csv", changed))
    monkeypatch.setattr(verified, "CHUNK", SMALL_CHUNK)
    monkeypatch.setattr(verify_rows, "CHUNK", SMALL_CHUNK)
    monkeypatch.setattr(archive.vault.audit, "record", lambda *_a, **_k: None)
    return archive


def sql(archive: Archive, *statements: str, **params: Any) -> list[Any]:
    """Run SQL straight on the store, as an intruder with the database key would; the rows
    of the last statement."""
    rows: list[Any] = []
    with archive.store.engine.begin() as conn:
        for statement in statements:
            result = conn.execute(text(statement), params)
            rows = list(result) if result.returns_rows else []
    return rows


def same_from_both(archive: Archive, rows: bool = False, **options: Any) -> VerifyReport:
    """Verify serially and with a pool of 2; the reports must be the same."""
    serial = archive.verification.run(jobs=1, rows=rows, **options)
    pooled = archive.verification.run(jobs=2, rows=rows, **options)
    assert without_time(pooled) == without_time(serial)
    return serial


def without_time(report: VerifyReport) -> dict[str, Any]:
    data = report.to_json()
    del data["seconds"]
    return data


def size(archive: Archive) -> int:
    (n,) = sql(archive, "SELECT size FROM ledger_state")[0]
    return int(n)


def test_the_log_pass_is_the_same_from_the_pool(logged: Archive) -> None:
    """Same report, same fingerprints of every chunk, same compact range."""
    n = size(logged)
    assert n > 8 * SMALL_CHUNK and n % SMALL_CHUNK  # many whole pieces, and a tail
    serial_report, pooled_report = VerifyReport(), VerifyReport()
    with PiecePool(logged.store, logged.log, 2) as pool, logged.store.reading() as conn:
        serial = verify_log(conn, serial_report)
        pooled = verify_log(conn, pooled_report, pool=pool)
    assert serial_report.ok and without_time(pooled_report) == without_time(serial_report)
    assert pooled.log == serial.log and len(serial.log) == -(-n // SMALL_CHUNK)
    assert pooled.frontier == serial.frontier and pooled.checkpoints == serial.checkpoints
    report = same_from_both(logged, rows=True)
    assert report.ok and report.entries == n


def test_an_entry_edited_in_each_chunk_in_turn(logged: Archive) -> None:
    n = size(logged)
    for seq in range(SMALL_CHUNK // 2, n, SMALL_CHUNK):
        sql(logged, "UPDATE ledger_entries SET row_id = row_id + 1000 WHERE seq = :s", s=seq)
        report = same_from_both(logged)
        assert f"log entry {seq} (" in report.problems[0], (seq, report.problems)
        assert "was edited" in report.problems[0]
        sql(logged, "UPDATE ledger_entries SET row_id = row_id - 1000 WHERE seq = :s", s=seq)
    assert same_from_both(logged).ok


def test_entries_reordered_and_removed_in_each_chunk_in_turn(logged: Archive) -> None:
    n = size(logged)
    for lo in range(0, n, SMALL_CHUNK):
        # two entries swapped across the chunk's first boundary (and inside the first chunk)
        a, b = (lo - 1, lo) if lo else (3, 4)
        swap = (
            "UPDATE ledger_entries SET seq = -1 WHERE seq = :a",
            "UPDATE ledger_entries SET seq = :a WHERE seq = :b",
            "UPDATE ledger_entries SET seq = :b WHERE seq = -1",
        )
        sql(logged, *swap, a=a, b=b)
        report = same_from_both(logged)
        assert not report.ok, lo
        sql(logged, *swap, a=a, b=b)
        # one entry taken out of the middle of the chunk and put beyond the log's end
        seq = min(lo + SMALL_CHUNK // 2, n - 1)
        move = "UPDATE ledger_entries SET seq = :to WHERE seq = :s"
        sql(logged, move, s=seq, to=1_000_000)
        report = same_from_both(logged)
        assert report.problems[0] == (
            f"log entry {seq} is missing (the next one is numbered {seq + 1})"
        ) or (seq == n - 1 and "is missing" in report.problems[0]), (lo, report.problems)
        # the moved entry is found where it is (by the verifying process, past the pieces)
        assert any("the next one is numbered 1000000" in p for p in report.problems)
        sql(logged, move, s=1_000_000, to=seq)
    assert same_from_both(logged).ok


def test_a_checkpoint_tampered_in_turn(logged: Archive) -> None:
    sizes = [int(s) for (s,) in sql(logged, "SELECT size FROM ledger_checkpoints ORDER BY size")]
    assert len(sizes) > 2
    for at in sizes:
        (note,) = sql(logged, "SELECT note FROM ledger_checkpoints WHERE size = :s", s=at)[0]
        sql(
            logged,
            "UPDATE ledger_checkpoints SET note = :n WHERE size = :s",
            n=note.replace("\n\n", "\nextra\n\n", 1),
            s=at,
        )
        report = same_from_both(logged)
        assert any(f"checkpoint at size {at}" in p for p in report.problems), report.problems
        sql(logged, "UPDATE ledger_checkpoints SET note = :n WHERE size = :s", n=note, s=at)
    # a checkpoint's root changed: the tree before it no longer has it
    at = sizes[len(sizes) // 2]
    sql(
        logged,
        "UPDATE ledger_checkpoints SET root = (SELECT root FROM ledger_checkpoints "
        "WHERE size = :o) WHERE size = :s",
        s=at,
        o=sizes[0],
    )
    report = same_from_both(logged)
    assert f"do not have the root of the checkpoint signed at size {at}" in report.problems[0]


def test_the_incremental_verify_with_the_pool(logged: Archive, tmp_path: Path) -> None:
    first = logged.verification.run(jobs=2, remember=True)
    assert first.ok and first.since is None
    assert first.size % SMALL_CHUNK  # the next one starts inside a chunk
    again = same_from_both(logged, rows=True, since_last=True)
    assert again.ok and again.since == first.size and not again.notes
    changed = [dict(r) for r in YODOK]
    for number, row in enumerate(changed):
        row["description"] = f"changed after the verification ({number})"
    logged.ingest.run(write_csv(tmp_path / "more.csv", changed))
    report = same_from_both(logged, rows=True, since_last=True)
    assert report.ok and report.since == first.size and not report.notes
    n = size(logged)
    assert n > first.size + SMALL_CHUNK  # new whole pieces, hashed by the workers
    # an entry after the last verification edited: found, from that record
    seq = n - 2
    sql(logged, "UPDATE ledger_entries SET row_id = row_id + 1000 WHERE seq = :s", s=seq)
    report = same_from_both(logged, rows=True, since_last=True)
    assert report.since == first.size
    assert f"log entry {seq} (" in report.problems[0]
    sql(logged, "UPDATE ledger_entries SET row_id = row_id - 1000 WHERE seq = :s", s=seq)
    # an entry before it edited: the verification runs in full, and finds it
    sql(logged, "UPDATE ledger_entries SET row_id = row_id + 1000 WHERE seq = 20")
    report = same_from_both(logged, rows=True, since_last=True)
    assert report.since is None and report.notes
    assert "log entry 20 (" in report.problems[0]


def _fails_on_second_piece(conn: Any, piece: LogPiece) -> LogPieceResult:
    if piece.lo == SMALL_CHUNK:
        raise RuntimeError("boom: a value the worker read, 김영철")
    return verify_pool_check_log_piece(conn, piece)


verify_pool_check_log_piece = verify_pool.check_log_piece


@pytest.mark.parametrize("store_kind", ["sqlcipher"], indirect=True)
def test_an_error_in_a_log_worker_is_reported(
    logged: Archive, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(verify_pool, "check_log_piece", _fails_on_second_piece)
    report = logged.verification.run(jobs=2, remember=True)
    assert report.problems[0] == (
        f"log entries {SMALL_CHUNK}-{2 * SMALL_CHUNK - 1} could not be verified: "
        "RuntimeError; the log was not verified from there on"
    )  # the kind of error only: its message may quote a stored value
    assert not any("김영철" in p or "boom" in p for p in report.problems)
    assert logged.verification.run(jobs=1).ok  # the serial path does not use the pool
    assert logged.verification.run(jobs=1, since_last=True).since is None  # nothing kept


@pytest.mark.parametrize("store_kind", ["postgresql"], indirect=True)
def test_postgresql_log_workers_read_the_parents_snapshot(
    logged: Archive, monkeypatch: pytest.MonkeyPatch
) -> None:
    """An entry edited after the verification began is not seen by the workers either."""
    exported = store_ledger.export_snapshot

    def export_then_edit(conn: Any) -> str | None:
        name = exported(conn)
        sql(logged, "UPDATE ledger_entries SET row_id = row_id + 1000 WHERE seq = :s", s=20)
        return name

    monkeypatch.setattr(store_ledger, "export_snapshot", export_then_edit)
    assert logged.verification.run(jobs=2, rows=False).ok
    monkeypatch.setattr(store_ledger, "export_snapshot", exported)
    after = logged.verification.run(jobs=1, rows=False)
    assert "log entry 20 (" in after.problems[0]


def test_authorship_is_checked_the_same_in_whole_pieces(
    logged: Archive, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Batches signed by a documenter's author key, and a viewer's login, verify from the
    pool as serially; an entry of the documenter's batch rewritten as a users entry, its
    leaf hash recomputed (so its piece is whole), fails the authorship check in both."""
    from sillok.ledger.entries import entry_bytes
    from sillok.ledger.merkle import leaf_hash
    from tests.conftest import FAST

    passphrase = "{} keeps seven lanterns lit on the Amnok in March"
    monkeypatch.delattr(logged.vault.audit, "record")  # the author keys' registrations
    for role in ("documenter", "viewer"):
        logged.users.add(f"u.{role}", role, passphrase.format(role))
    before = size(logged)
    with Archive.open(
        logged.folder, passphrase.format("documenter"), settings=FAST, user="u.documenter"
    ) as documenter:
        changed = [dict(r, description=f"the documenter's ({n})") for n, r in enumerate(YODOK)]
        documenter.ingest.run(write_csv(tmp_path / "c.csv", changed))
    after = size(logged)
    Archive.open(logged.folder, passphrase.format("viewer"), settings=FAST, user="u.viewer").close()
    assert after - before > 2 * SMALL_CHUNK
    monkeypatch.setattr(logged.vault.audit, "record", lambda *_a, **_k: None)
    report = same_from_both(logged)
    assert report.ok and report.unsigned == 0, report.problems
    seq, rid, sub, ver, op, content = sql(
        logged,
        "SELECT seq, row_id, row_sub, row_version, op, content FROM ledger_entries "
        "WHERE tbl = 'acts' AND seq >= :a AND seq < :b ORDER BY seq LIMIT 1",
        a=-(-before // SMALL_CHUNK) * SMALL_CHUNK,  # in a whole piece
        b=after,
    )[0]
    leaf = leaf_hash(
        entry_bytes("users", rid, sub, ver, op, None if content is None else bytes(content))
    )
    sql(
        logged,
        "UPDATE ledger_entries SET tbl = 'users', leaf_hash = :l WHERE seq = :s",
        l=leaf,
        s=seq,
    )
    report = same_from_both(logged)
    assert not any(f"log entry {seq} (" in p for p in report.problems)  # its leaf is right
    assert any("whose role may not write" in p and "users" in p for p in report.problems), (
        report.problems
    )


def _dies_on_second_piece(conn: Any, piece: LogPiece) -> LogPieceResult:
    if piece.lo == SMALL_CHUNK:
        os._exit(3)
    return verify_pool_check_log_piece(conn, piece)


@pytest.mark.parametrize("store_kind", ["sqlcipher"], indirect=True)
def test_a_log_worker_that_dies_is_reported_not_waited_for(
    logged: Archive, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The pool breaks in pass 1: pass 1 stops there, and pass 2 reports the broken pool."""
    monkeypatch.setattr(verify_pool, "check_log_piece", _dies_on_second_piece)
    report = logged.verification.run(jobs=2)
    assert report.problems[0].startswith(
        f"log entries {SMALL_CHUNK}-{2 * SMALL_CHUNK - 1} could not be verified: "
        "a verification worker stopped"
    )
    assert report.problems[0].endswith("; the log was not verified from there on")
    assert len(report.problems) == 2 and "a verification worker stopped" in report.problems[1]


def test_an_incremental_verify_from_a_size_ending_a_chunk(
    logged: Archive, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A verification remembered at a size that ends a chunk exactly is continued from, not
    taken for a changed log (the last whole chunk's fingerprint was left out of the
    comparison, and every such run verified everything again)."""
    monkeypatch.setattr(verified, "CHUNK", size(logged))  # the log is one whole chunk
    first = logged.verification.run(jobs=1, remember=True)
    assert first.ok and first.since is None
    again = logged.verification.run(jobs=1, since_last=True)
    assert again.ok and again.since == first.size and not again.notes
