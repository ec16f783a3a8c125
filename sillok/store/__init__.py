"""The store layer: the only place that talks SQL.

A :class:`Store` is an engine plus its :class:`~sillok.store.dialects.Dialect`. The services
above it call the functions of :mod:`sillok.store.records` and :mod:`sillok.store.queries`
with a connection from :meth:`Store.transaction` or :meth:`Store.reading`.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from importlib import resources

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Connection, text
from sqlalchemy.exc import DatabaseError, OperationalError

from sillok.errors import ArchiveError
from sillok.store.dialects import Dialect


class Store:
    """An open store."""

    def __init__(self, dialect: Dialect, key: bytes | None) -> None:
        self.dialect = dialect
        self.engine = dialect.create_engine(key)

    def check(self) -> None:
        """Make sure the store opens and is readable; :class:`ArchiveError` otherwise."""
        try:
            with self.engine.connect() as conn:
                conn.execute(text("SELECT count(*) FROM archive_meta")).scalar()
        except (DatabaseError, OperationalError) as exc:
            raise ArchiveError(_explain(exc)) from None

    @contextmanager
    def transaction(self) -> Iterator[Connection]:
        """A connection in a transaction: committed on success, rolled back on any error."""
        try:
            with self.engine.connect().execution_options(sillok_write=True) as conn, conn.begin():
                yield conn
        except OperationalError as exc:
            raise ArchiveError(_explain(exc)) from None

    @contextmanager
    def reading(self) -> Iterator[Connection]:
        """A connection for reading."""
        with self.engine.connect() as conn:
            yield conn

    def migrate(self) -> None:
        """Bring the schema to the newest migration (Alembic)."""
        config = _alembic_config()
        with self.engine.begin() as conn:
            config.attributes["connection"] = conn
            config.attributes["sillok_dialect"] = self.dialect
            command.upgrade(config, "head")

    def schema_revision(self) -> str | None:
        """The Alembic revision the store is at."""
        with self.engine.connect() as conn:
            return MigrationContext.configure(conn).get_current_revision()

    def close(self) -> None:
        """Release connections."""
        self.engine.dispose()


def head_revision() -> str | None:
    """The newest migration shipped with this version of Sillok."""
    return ScriptDirectory.from_config(_alembic_config()).get_current_head()


def _alembic_config() -> Config:
    config = Config()
    config.set_main_option("script_location", str(resources.files("sillok") / "migrations"))
    return config


def _explain(exc: Exception) -> str:
    message = str(getattr(exc, "orig", exc))
    if "file is not a database" in message:
        return "the archive database cannot be read: wrong key, or the file is damaged"
    if "readonly" in message or "read-only" in message:
        return "the archive is read-only: check the folder's permissions"
    if "disk is full" in message or "database or disk is full" in message:
        return "the disk is full: nothing was written"
    if "no such table" in message:
        return "the archive database is incomplete or not a Sillok archive"
    return f"the archive database failed: {message}"
