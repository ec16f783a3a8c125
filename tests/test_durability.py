"""Acknowledged means on disk: every connection the archive opens syncs each commit.

SQLCipher runs in WAL mode with ``synchronous = FULL`` (with NORMAL, a power cut may roll back
commits already reported as saved); PostgreSQL sessions keep ``synchronous_commit`` on.
docs/design.md, "Acknowledged means on disk".
"""

from __future__ import annotations

from contextlib import ExitStack
from pathlib import Path

from sqlalchemy import text

from sillok.archive import Archive
from tests.conftest import FAST, PASSPHRASE

FULL = 2  # PRAGMA synchronous: 0 OFF, 1 NORMAL, 2 FULL, 3 EXTRA


def _synchronous_of_connections(archive: Archive, count: int) -> list[int]:
    """PRAGMA synchronous of ``count`` connections held at once (so the pool opens new ones,
    beyond those it keeps), as each is handed out to a reader and a writer."""
    values = []
    with ExitStack() as stack:
        for i in range(count):
            if i % 2:
                conn = stack.enter_context(archive.store.reading())
            else:
                conn = stack.enter_context(archive.store.engine.connect())
            values.append(int(conn.execute(text("PRAGMA synchronous")).scalar_one()))
    with archive.store.transaction() as conn:
        values.append(int(conn.exec_driver_sql("PRAGMA synchronous").scalar_one()))
    return values


def test_every_sqlcipher_connection_syncs_each_commit(sqlcipher_archive: Archive) -> None:
    # more than the pool keeps (4), so overflow connections are checked too
    values = _synchronous_of_connections(sqlcipher_archive, 7)
    assert values == [FULL] * 8
    with sqlcipher_archive.store.reading() as conn:
        assert conn.execute(text("PRAGMA journal_mode")).scalar_one() == "wal"


def test_a_reopened_archive_and_a_login_beside_it_sync_each_commit(tmp_path: Path) -> None:
    """The CLI's open and the web's logins (``open_beside``, on the server's pool)."""
    created = Archive.create(tmp_path / "archive", PASSPHRASE, settings=FAST)
    created.users.add("dora", "documenter", "documenter passphrase, long enough")
    created.close()
    server = Archive.open(tmp_path / "archive", PASSPHRASE)
    try:
        login = Archive.open_beside(server, "documenter passphrase, long enough", "dora")
        try:
            assert _synchronous_of_connections(login, 6) == [FULL] * 7
        finally:
            login.close()
        assert _synchronous_of_connections(server, 5) == [FULL] * 6
    finally:
        server.close()


def test_the_raw_driver_connection_syncs_each_commit(sqlcipher_archive: Archive) -> None:
    """The driver connection that a backup copy and a rekey use is configured the same."""
    raw = sqlcipher_archive.store.engine.raw_connection()
    try:
        value = raw.driver_connection.execute("PRAGMA synchronous").fetchone()[0]  # type: ignore[union-attr]
    finally:
        raw.close()
    assert value == FULL


def test_postgresql_sessions_keep_synchronous_commit_on(pg_url: str, tmp_path: Path) -> None:
    import psycopg

    # a database whose default is off: the archive's sessions turn it on for themselves
    with psycopg.connect(pg_url, autocommit=True) as admin:
        name = pg_url.rsplit("/", 1)[1]
        admin.execute(f'ALTER DATABASE "{name}" SET synchronous_commit = off')
    archive = Archive.create(tmp_path / "archive", PASSPHRASE, database=pg_url, settings=FAST)
    try:
        with ExitStack() as stack:
            conns = [stack.enter_context(archive.store.reading()) for _ in range(3)]
            values = [c.execute(text("SHOW synchronous_commit")).scalar_one() for c in conns]
        with archive.store.transaction() as conn:
            values.append(conn.execute(text("SHOW synchronous_commit")).scalar_one())
    finally:
        archive.close()
    assert values == ["on"] * 4
