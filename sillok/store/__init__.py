"""The store layer: the only place that talks SQL.

A :class:`Store` is an engine plus its :class:`~sillok.store.dialects.Dialect`. The services
above it call the functions of :mod:`sillok.store.rows` and :mod:`sillok.store.queries`
with a connection from :meth:`Store.transaction` or :meth:`Store.reading`.
"""

from __future__ import annotations

import copy
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Connection, Engine, event, inspect, select, text
from sqlalchemy.exc import DatabaseError, OperationalError
from sqlalchemy.pool import NullPool, QueuePool

from sillok.errors import ArchiveError
from sillok.folder import WIPED_FILE
from sillok.model import ledger_state
from sillok.store.dialects import Dialect

#: connections an SQLCipher store keeps open between requests, and how many more it may open
#: at once (each extra one is closed when returned)
POOL_SIZE = 4
POOL_OVERFLOW = 16


@dataclass
class _SharedRead:
    """The connection the reads of one engine share inside :meth:`Store.one_read`, checked
    out at the first of them (onto ``stack``, which returns it at the block's end)."""

    engine: Engine
    stack: ExitStack
    conn: Connection | None = None
    #: the archive's state mark, as first read in the block (see :meth:`Store.state_mark`)
    mark: tuple[int, bytes] | None = None


_SHARED_READ: ContextVar[_SharedRead | None] = ContextVar("sillok_shared_read", default=None)


class Store:
    """An open store.

    An SQLCipher store keeps a few keyed connections open (a :class:`QueuePool`): opening one
    costs a key check and the schema read, several milliseconds, which a web page paid for
    every query before. A connection is used by one thread at a time (the pool hands it out
    and takes it back), every new one is keyed and configured by the dialect's connect hooks,
    none is handed out once the archive's folder says it was wiped, and :meth:`close`
    closes them all, including those returned after it.
    """

    def __init__(self, dialect: Dialect, key: bytes | None) -> None:
        self.dialect = dialect
        self.closed = False
        self.engine = self._pooled(dialect.create_engine(key))
        self._owns_pool = True

    def view(self) -> Store:
        """A store over this one's pool of connections: another user's archive opened beside
        this one (a server's logins) uses it with write hooks of its own and opens no
        connection or file of its own. Closing the view leaves the pool open; closing this
        store closes it under every view."""
        view = copy.copy(self)
        view.closed = False
        view._owns_pool = False
        return view

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
    def erasing(self) -> Iterator[Connection]:
        """A write transaction in which deleted bytes are overwritten (SQLCipher's
        ``secure_delete``; PostgreSQL's freed space is not reachable through the archive).

        Every SQLCipher connection has ``secure_delete`` on already (the dialect's connect
        hook); it is set again here so that protecting and shredding never depend on it.
        """
        with self.transaction() as conn:
            if self.dialect.name == "sqlcipher":
                conn.exec_driver_sql("PRAGMA secure_delete = ON")
            yield conn

    def truncate_wal(self) -> None:
        """Copy the write-ahead log into the database and empty it (SQLCipher store only), so
        old page images holding erased values leave the files."""
        if self.dialect.name != "sqlcipher":
            return
        raw = self.engine.raw_connection()
        try:
            raw.driver_connection.execute("PRAGMA wal_checkpoint(TRUNCATE)")  # type: ignore[union-attr]
        finally:
            raw.close()

    @contextmanager
    def reading(self) -> Iterator[Connection]:
        """A connection for reading (inside :meth:`one_read`, that block's connection)."""
        shared = _SHARED_READ.get()
        if shared is not None and shared.engine is self.engine:
            if shared.conn is None:
                shared.conn = shared.stack.enter_context(self.engine.connect())
            yield shared.conn
            return
        with self.engine.connect() as conn:
            yield conn

    @contextmanager
    def single_read(self) -> Iterator[Connection]:
        """A connection for *one* statement that reads, without a transaction begun for it:
        SQLite runs a statement outside a transaction in an implicit one of its own, which is
        all one statement needs, and a ``BEGIN`` costs as much as a statement. Two statements
        on it would each see their own state of the database: use :meth:`reading` for more.
        Inside :meth:`one_read`, that block's connection once it has one."""
        shared = _SHARED_READ.get()
        if shared is not None and shared.engine is self.engine and shared.conn is not None:
            yield shared.conn
            return
        with self.engine.connect().execution_options(sillok_single_read=True) as conn:
            yield conn

    @contextmanager
    def one_read(self) -> Iterator[None]:
        """Every :meth:`reading` of this store (and of its views, which share its pool) inside
        the block uses one connection and one read transaction, begun at the first of them
        (a block that reads nothing, or one statement with :meth:`single_read` first, begins
        none): a page made of several reads (a record, its lists, its attachments) checks
        out one connection and begins one transaction instead of one each; each costs, as
        every statement does (SQLCipher's memory security locks and wipes each allocation).

        For a block that runs in one thread from start to end: not around a generator, whose
        reads would happen after the block. Writes inside it take their own connection as
        before (and the block's reads do not see them)."""
        shared = _SHARED_READ.get()
        if shared is not None and shared.engine is self.engine:
            yield
            return
        with ExitStack() as stack:
            token = _SHARED_READ.set(_SharedRead(self.engine, stack))
            try:
                yield
            finally:
                _SHARED_READ.reset(token)

    def migrate(self) -> None:
        """Bring the schema to the newest migration (Alembic).

        An empty database is brought to the head by the statements the migrations ran on the
        last empty database of the same dialect in this process, when there was one: the
        migrations are deterministic DDL (no random value, no clock, no rows to read in an
        empty database), and compiling their DDL is the largest part of creating an archive
        (bench/bench_create.py: replaying costs 0.72 of migrating; the test suite creates more
        than a thousand archives). The first empty
        database of each dialect and head, and every database that is not empty, run the
        migrations themselves. ``tests/test_store_schema.py`` checks that the two ways give
        the same schema."""
        config = _alembic_config()
        with self.engine.begin() as conn:
            fresh = not inspect(conn).get_table_names()
            recipe = (self.dialect.name, head_revision())
            if fresh and recipe in _FRESH_SCHEMA:
                _replay(conn, _FRESH_SCHEMA[recipe])
                return
            ran: list[_Statement] = []

            def record(_conn: Any, _cursor: Any, statement: str, parameters: Any,
                       _context: Any, executemany: bool) -> None:
                ran.append((statement, parameters, executemany))

            event.listen(conn, "before_cursor_execute", record)
            try:
                config.attributes["connection"] = conn
                config.attributes["sillok_dialect"] = self.dialect
                command.upgrade(config, "head")
            finally:
                event.remove(conn, "before_cursor_execute", record)
            if fresh:
                _FRESH_SCHEMA[recipe] = tuple(ran)

    def schema_revision(self) -> str | None:
        """The Alembic revision the store is at."""
        with self.engine.connect() as conn:
            return MigrationContext.configure(conn).get_current_revision()

    def state_mark(self) -> tuple[int, bytes]:
        """A value that changes with every write of a record, from any process: the size and
        frontier of the archive's log, which every such write extends. Caches of what is
        computed from the records keep a value only as long as the mark is the same.

        Inside :meth:`one_read`, read once: the block's first reading of it is its mark (a
        cache keeps what it computes after under that mark, as it would under a mark read
        again, which the writes since could only have made newer)."""
        shared = _SHARED_READ.get()
        if shared is not None and shared.engine is self.engine and shared.mark is not None:
            return shared.mark
        with self.single_read() as conn:
            row = conn.execute(
                select(ledger_state.c.size, ledger_state.c.frontier).where(ledger_state.c.id == 1)
            ).first()
        mark = (int(row.size), bytes(row.frontier)) if row is not None else (0, b"")
        if shared is not None and shared.engine is self.engine:
            shared.mark = mark
        return mark

    def close(self) -> None:
        """Close every connection: those in the pool now, those in use when they return (a
        view, :meth:`view`, only stops being used: the pool is its store's)."""
        self.closed = True
        if self._owns_pool:
            self.engine.dispose()

    def _pooled(self, engine: Engine) -> Engine:
        """The engine with a pool of connections in place of one connection per use.

        The dialect makes an SQLCipher engine without a pool; the pool replacing it takes over
        its connect hooks (the key first, then the PRAGMAs), as ``Pool.recreate`` does.
        """
        old = engine.pool
        if not isinstance(old, NullPool):
            return engine  # PostgreSQL: the driver's own pool already
        engine.pool = QueuePool(
            old._creator,
            pool_size=POOL_SIZE,
            max_overflow=POOL_OVERFLOW,
            timeout=30,
            reset_on_return="rollback",
            _dispatch=old.dispatch,
            dialect=old._dialect,
        )
        path = getattr(self.dialect, "path", None)
        database = Path(path) if path is not None else None
        wiped = database.parent / WIPED_FILE if database is not None else None

        @event.listens_for(engine.pool, "checkout")
        def _checkout(_dbapi: Any, _record: Any, _proxy: Any) -> None:
            # A wipe (from another process) overwrote the file: a connection opened before it
            # must not go on reading the pages it holds. Raising here closes this one.
            if database is not None and wiped is not None and (
                wiped.exists() or not database.exists()
            ):
                raise ArchiveError("the archive was wiped: it cannot be read any more")

        @event.listens_for(engine.pool, "checkin")
        def _checkin(_dbapi: Any, record: Any) -> None:
            # A connection in use when the store was closed is closed on its return, not
            # kept in a pool with the key in its memory.
            if self.closed:
                record.invalidate()

        return engine


@cache
def head_revision() -> str | None:
    """The newest migration shipped with this version of Sillok (read once per process: the
    migrations do not change while it runs)."""
    return ScriptDirectory.from_config(_alembic_config()).get_current_head()


#: a statement as the driver was given it: SQL, parameters, whether for ``executemany``
_Statement = tuple[str, Any, bool]
#: (dialect name, head revision) -> the statements the migrations ran on an empty database
_FRESH_SCHEMA: dict[tuple[str, str | None], tuple[_Statement, ...]] = {}


def _replay(conn: Connection, statements: tuple[_Statement, ...]) -> None:
    """Run recorded statements on ``conn``'s driver connection, as the driver was given them."""
    driver = conn.connection
    dialect = conn.dialect
    cursor = driver.cursor()
    try:
        for statement, parameters, many in statements:
            if many:
                dialect.do_executemany(cursor, statement, parameters, None)
            else:
                dialect.do_execute(cursor, statement, parameters, None)
    finally:
        cursor.close()


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
    if "database is locked" in message or "database is busy" in message:
        return (
            "the archive is busy: another program (`sillok serve` or another command) has "
            "been writing to it for longer than this one waits (10 s); nothing was written. "
            "Run the command again when that write is done, or stop the other program first"
        )
    if "deadlock detected" in message or "could not serialize access" in message:
        return (
            "another writer's change to the same records conflicted with this one and the "
            "server cancelled it; nothing was written: run it again"
        )
    if "no such table" in message:
        return "the archive database is incomplete or not a Sillok archive"
    return f"the archive database failed: {message}"
