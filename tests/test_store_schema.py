"""A new archive's schema: the first empty database of a process runs the migrations; later
ones replay the statements that run made (``Store.migrate``). Both must give the same schema,
on both stores, and a database that is not empty is always migrated by Alembic."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Connection, text

import sillok.store as store_module
from sillok.archive import Archive
from tests.conftest import FAST, PASSPHRASE, PG_ADMIN_URL, _pg_admin

SQLITE_SCHEMA = "SELECT type, name, tbl_name, sql FROM sqlite_master ORDER BY type, name"
PG_SCHEMA = (
    "SELECT 'column', table_name || '.' || column_name,"
    " data_type || ' ' || is_nullable || ' ' || coalesce(column_default, '')"
    " FROM information_schema.columns WHERE table_schema = 'public'"
    " UNION ALL SELECT 'index', indexname, indexdef FROM pg_indexes WHERE schemaname = 'public'"
    " UNION ALL SELECT 'constraint', c.conrelid::regclass::text || '.' || c.conname,"
    " pg_get_constraintdef(c.oid) FROM pg_constraint c"
    " JOIN pg_namespace n ON n.oid = c.connamespace WHERE n.nspname = 'public'"
    " UNION ALL SELECT 'trigger', t.tgname, pg_get_triggerdef(t.oid) FROM pg_trigger t"
    " WHERE NOT t.tgisinternal"
    " ORDER BY 1, 2"
)


def _schema(archive: Archive) -> list[tuple[object, ...]]:
    query = SQLITE_SCHEMA if archive.store.dialect.name == "sqlcipher" else PG_SCHEMA
    with archive.store.reading() as conn:
        rows = [tuple(r) for r in conn.execute(text(query))]
        rows.append(("revision", _revision(conn)))
    return rows


def _revision(conn: Connection) -> object:
    return conn.execute(text("SELECT version_num FROM alembic_version")).scalar_one()


@pytest.fixture
def second_database(store_kind: str) -> Iterator[str | None]:
    """A second PostgreSQL database for a second archive (None on SQLCipher)."""
    if store_kind != "postgresql":
        yield None
        return
    admin = _pg_admin()
    name = f"sillok_test_{uuid.uuid4().hex[:12]}"
    admin.execute(f'CREATE DATABASE "{name}"')
    try:
        yield f"{PG_ADMIN_URL.rsplit('/', 1)[0]}/{name}"
    finally:
        admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.close()


def test_a_replayed_schema_is_the_migrated_one(
    store_kind: str, tmp_path: Path, request: pytest.FixtureRequest,
    second_database: str | None, monkeypatch: pytest.MonkeyPatch,
) -> None:
    first_database = request.getfixturevalue("pg_url") if store_kind == "postgresql" else None
    monkeypatch.setattr(store_module, "_FRESH_SCHEMA", {})  # this process's first archive
    with Archive.create(tmp_path / "migrated", PASSPHRASE, database=first_database,
                        settings=FAST) as migrated:
        recipes = dict(store_module._FRESH_SCHEMA)
        assert len(recipes) == 1  # the migrations' statements were kept
        ran: list[str] = []

        def upgrade(*args: object, **kwargs: object) -> None:
            ran.append("alembic")

        monkeypatch.setattr(store_module.command, "upgrade", upgrade)
        with Archive.create(tmp_path / "replayed", PASSPHRASE, database=second_database,
                            settings=FAST) as replayed:
            assert ran == []  # replayed, not migrated
            assert _schema(replayed) == _schema(migrated)
            # the archive works: a record written, found, and the log verifies
            replayed.ingest.run(_one_row(tmp_path))
            assert replayed.verification.run().ok


def test_a_database_that_is_not_empty_is_migrated(
    sqlcipher_archive: Archive, monkeypatch: pytest.MonkeyPatch
) -> None:
    ran: list[str] = []
    monkeypatch.setattr(store_module.command, "upgrade", lambda *a, **k: ran.append("alembic"))
    sqlcipher_archive.store.migrate()
    assert ran == ["alembic"]


def _one_row(tmp_path: Path) -> Path:
    from tests.datasets import YODOK, write_csv

    return write_csv(tmp_path / "one.csv", YODOK[:1])
