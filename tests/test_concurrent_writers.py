"""Many writers on one PostgreSQL archive: a writing transaction takes the archive's write
lock first (as SQLite's BEGIN IMMEDIATE does), so concurrent imports naming the same new
person or organisation neither fail on its unique ref nor deadlock, and the log's order is
each writer's commit order. The load benchmark is bench/bench_writers.py."""

from __future__ import annotations

import threading
from pathlib import Path

from sillok.archive import Archive
from sillok.store.dialects import WRITE_LOCK
from tests.conftest import FAST, PASSPHRASE
from tests.datasets import YODOK, write_csv

WRITERS = 4
WRITES = 4


def _rows(writer: int, number: int) -> list[dict[str, str]]:
    """Two acts under a new source of this writer; the perpetrator and their unit are new
    to the archive and the same in every writer's write ``number`` (made at once)."""
    rows = []
    for i in range(2):
        row = dict(YODOK[i])
        row.update(
            source_ref=f"W{writer}-S{number}",
            event_ref=f"W{writer}-E{number}",
            victim_ref=f"W{writer}-P{number}-{i}",
            perpetrator_name=f"Shared Officer {number}",
            perpetrator_org=f"Shared Unit {number}",
        )
        rows.append(row)
    return rows


def test_a_writing_transaction_holds_the_archives_write_lock(pg_url: str, tmp_path: Path) -> None:
    import psycopg

    archive = Archive.create(tmp_path / "archive", PASSPHRASE, database=pg_url, settings=FAST)
    try:
        with psycopg.connect(pg_url, autocommit=True) as other:

            def free() -> bool:
                with other.transaction():
                    got = other.execute("SELECT pg_try_advisory_xact_lock(%s)", (WRITE_LOCK,))
                    return bool(got.fetchone()[0])  # type: ignore[index]

            with archive.store.transaction():
                assert not free()
                with archive.store.reading() as conn:  # readers do not wait for it
                    assert conn.exec_driver_sql("SELECT count(*) FROM acts").scalar() == 0
            assert free()
    finally:
        archive.close()


def test_concurrent_writers_lose_nothing_and_log_in_commit_order(
    pg_url: str, tmp_path: Path
) -> None:
    created = Archive.create(tmp_path / "archive", PASSPHRASE, database=pg_url, settings=FAST)
    created.close()
    archives = [Archive.open(tmp_path / "archive", PASSPHRASE) for _ in range(WRITERS)]
    files = {
        (w, n): write_csv(tmp_path / f"w{w}-{n}.csv", _rows(w, n))
        for w in range(WRITERS)
        for n in range(WRITES)
    }
    errors: list[str] = []
    barrier = threading.Barrier(WRITERS)

    def write(writer: int) -> None:
        for number in range(WRITES):
            barrier.wait()  # every writer's write ``number`` starts together
            try:
                archives[writer].ingest.run(files[(writer, number)])
            except Exception as exc:  # noqa: BLE001 - reported below
                errors.append(f"writer {writer} write {number}: {exc}")

    threads = [threading.Thread(target=write, args=(w,)) for w in range(WRITERS)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    try:
        assert errors == []
        archive = archives[0]
        with archive.store.reading() as conn:
            sources = conn.exec_driver_sql("SELECT count(*) FROM sources").scalar()
            acts = conn.exec_driver_sql("SELECT count(*) FROM acts").scalar()
            first_entry: dict[int, int] = dict(
                conn.exec_driver_sql(
                    "SELECT row_id, min(seq) FROM ledger_entries WHERE tbl = 'sources' "
                    "GROUP BY row_id"
                ).all()
            )
        assert sources == WRITERS * WRITES and acts == 2 * WRITERS * WRITES
        for writer in range(WRITERS):
            seqs = [
                first_entry[archive.records.id_of("source", f"W{writer}-S{n}")]
                for n in range(WRITES)
            ]
            assert seqs == sorted(seqs), f"writer {writer}'s writes are logged out of order"
        report = archive.verification.run()
        assert report.ok, report.problems
        persons = archive.searcher.search("Shared Officer 0")
        assert persons  # the shared perpetrator exists (once: its ref is unique)
    finally:
        for a in archives:
            a.close()
