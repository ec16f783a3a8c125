"""Creating and opening archives: keys, passphrases, the two stores, damage."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
import sqlcipher3
from sqlalchemy import text

from sillok.archive import DB_FILE, KEYS_FILE, Archive
from sillok.errors import ArchiveError, WrongPassphrase
from sillok.store import POOL_SIZE, head_revision
from tests.conftest import FAST, PASSPHRASE


def test_new_archive_is_seeded_from_the_vocabularies(archive: Archive) -> None:
    counts = archive.stats.archive_counts()
    assert counts["acts"] == 0
    assert counts["organizations"] >= 5
    yodok = archive.places.resolve("Yodok", facility=True)
    assert yodok is not None and yodok.facility_type == "kwanliso"
    assert archive.store.schema_revision() == head_revision()


def test_reopen_with_the_passphrase(archive: Archive) -> None:
    folder = archive.folder
    archive.close()
    with Archive.open(folder, PASSPHRASE) as reopened:
        assert reopened.stats.archive_counts()["organizations"] >= 5


def test_wrong_passphrase_is_refused(archive: Archive) -> None:
    archive.close()
    with pytest.raises(WrongPassphrase, match="does not unlock"):
        Archive.open(archive.folder, "not the passphrase")


def test_sqlcipher_file_shows_nothing_without_the_key(sqlcipher_archive: Archive) -> None:
    sqlcipher_archive.close()
    raw = (sqlcipher_archive.folder / DB_FILE).read_bytes()
    assert not raw.startswith(b"SQLite format 3")
    for plain in (b"archive_meta", b"Yodok", "요덕".encode()):
        assert plain not in raw


def test_sqlcipher_file_is_refused_with_another_key(sqlcipher_archive: Archive) -> None:
    from sillok.store import Store
    from sillok.store.dialects import SqlCipherDialect

    sqlcipher_archive.close()
    store = Store(SqlCipherDialect(sqlcipher_archive.folder / DB_FILE), b"\x01" * 32)
    with pytest.raises(ArchiveError, match="wrong key, or the file is damaged"):
        store.check()


def test_damaged_database_gives_a_clear_error(sqlcipher_archive: Archive) -> None:
    sqlcipher_archive.close()
    db = sqlcipher_archive.folder / DB_FILE
    for suffix in ("-wal", "-shm"):
        (sqlcipher_archive.folder / (DB_FILE + suffix)).unlink(missing_ok=True)
    data = bytearray(db.read_bytes())
    data[:4096] = b"\x00" * 4096
    db.write_bytes(bytes(data))
    with pytest.raises(ArchiveError, match="damaged"):
        Archive.open(sqlcipher_archive.folder, PASSPHRASE)


def test_damaged_key_file_gives_a_clear_error(sqlcipher_archive: Archive) -> None:
    sqlcipher_archive.close()
    (sqlcipher_archive.folder / KEYS_FILE).write_text("{not json", encoding="utf-8")
    with pytest.raises(ArchiveError, match="damaged"):
        Archive.open(sqlcipher_archive.folder, PASSPHRASE)


def test_not_an_archive(tmp_path: Path) -> None:
    with pytest.raises(ArchiveError, match="not a Sillok archive"):
        Archive.open(tmp_path, PASSPHRASE)
    with pytest.raises(ArchiveError, match="no such archive"):
        Archive.open(tmp_path / "missing", PASSPHRASE)


def test_create_refuses_a_folder_in_use(tmp_path: Path) -> None:
    (tmp_path / "x.txt").write_text("something")
    with pytest.raises(ArchiveError, match="not empty"):
        Archive.create(tmp_path, PASSPHRASE, settings=FAST)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["x.txt"]


def test_postgresql_archive_keeps_its_data_on_the_server(pg_url: str, tmp_path: Path) -> None:
    with Archive.create(tmp_path / "a", PASSPHRASE, database=pg_url, settings=FAST) as arch:
        assert arch.store.dialect.name == "postgresql"
        with arch.store.reading() as conn:
            n = conn.execute(text("SELECT count(*) FROM places")).scalar()
        assert n and n > 10
    assert not (tmp_path / "a" / DB_FILE).exists()
    with Archive.open(tmp_path / "a", PASSPHRASE) as again:
        assert again.stats.archive_counts()["organizations"] >= 5


# --- the SQLCipher connection pool ------------------------------------------------------------


def test_every_pooled_connection_is_keyed_and_configured(sqlcipher_archive: Archive) -> None:
    store = sqlcipher_archive.store
    held = [store.engine.connect() for _ in range(POOL_SIZE + 3)]  # the overflow ones too
    try:
        for conn in held:
            assert conn.execute(text("SELECT count(*) FROM archive_meta")).scalar_one() >= 3
            assert conn.execute(text("PRAGMA foreign_keys")).scalar_one() == 1
            assert conn.execute(text("PRAGMA journal_mode")).scalar_one() == "wal"
        opened = [c.connection.dbapi_connection for c in held]
        assert len({id(c) for c in opened}) == len(held)
    finally:
        for conn in held:
            conn.close()
    for _ in range(POOL_SIZE * 2):
        with store.reading() as conn:  # one kept open, not a new one
            assert any(conn.connection.dbapi_connection is c for c in opened)


def test_pooled_readers_in_threads_see_every_committed_write(sqlcipher_archive: Archive) -> None:
    store = sqlcipher_archive.store

    def read(_n: int) -> str | None:
        with store.reading() as conn:
            value: str | None = conn.execute(
                text("SELECT value FROM archive_meta WHERE key = 'probe'")
            ).scalar()
            return value

    with ThreadPoolExecutor(8) as pool:
        assert set(pool.map(read, range(64))) == {None}
        with store.transaction() as conn:
            conn.execute(text("INSERT INTO archive_meta (key, value) VALUES ('probe', 'seen')"))
        # No pooled connection keeps an old snapshot: each read starts a new transaction.
        assert set(pool.map(read, range(64))) == {"seen"}


def test_close_closes_pooled_connections_and_those_in_use(sqlcipher_archive: Archive) -> None:
    store = sqlcipher_archive.store
    with store.reading() as conn:
        idle = conn.connection.dbapi_connection
    in_use = store.engine.connect()
    busy = in_use.connection.dbapi_connection
    store.close()
    in_use.close()
    for dbapi in (idle, busy):
        assert dbapi is not None
        with pytest.raises(sqlcipher3.ProgrammingError, match="closed"):
            dbapi.cursor()


def test_a_wiped_archive_is_not_read_through_open_connections(sqlcipher_archive: Archive) -> None:
    from sillok.custody.wipe import wipe

    store = sqlcipher_archive.store
    with store.reading() as conn:
        assert conn.execute(text("SELECT count(*) FROM archive_meta")).scalar_one() >= 3
    wipe(sqlcipher_archive.folder)  # as another process would, with the server running
    with pytest.raises(ArchiveError, match="wiped"), store.reading() as conn:
        conn.execute(text("SELECT count(*) FROM archive_meta"))


def test_a_postgresql_password_is_not_written_into_the_folder(pg_url: str, tmp_path: Path) -> None:
    """archive.json is readable without a passphrase: the server's password stays out of it
    (PostgreSQL's PGPASSWORD or ~/.pgpass supply it on open)."""
    from urllib.parse import urlsplit, urlunsplit

    parts = urlsplit(pg_url)
    with_password = urlunsplit(
        parts._replace(netloc=f"{parts.username}:s3cret-pw@{parts.hostname}:{parts.port}")
    )
    Archive.create(tmp_path / "pg", PASSPHRASE, database=with_password, settings=FAST).close()
    info = (tmp_path / "pg" / "archive.json").read_text(encoding="utf-8")
    assert "s3cret-pw" not in info and str(parts.hostname) in info
    with Archive.open(tmp_path / "pg", PASSPHRASE, settings=FAST) as opened:  # trust auth here
        assert opened.store.dialect.name == "postgresql"
