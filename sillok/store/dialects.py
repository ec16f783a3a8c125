"""What differs between the stores: opening them, and the full-text search index.

SQLite/SQLCipher and PostgreSQL share the schema of :mod:`sillok.model`; the few places where
they differ (how a connection is keyed and configured, the search index, id allocation) are
methods of one small dialect object, so no other module asks which store it is talking to.

Search documents are bags of already-folded tokens (see
:mod:`sillok.records.index`). Their ids pack
the record kind and the record id into one integer, ``kind_code << 40 | record_id``.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import re
from collections.abc import Iterable, Mapping, Sequence
from operator import itemgetter
from pathlib import Path
from typing import Any, Protocol

from sqlalchemy import (
    URL,
    Connection,
    Date,
    DateTime,
    Engine,
    Table,
    create_engine,
    event,
    func,
    select,
    text,
)
from sqlalchemy.pool import NullPool

from sillok.errors import ArchiveError

#: record kind -> the code packed into search document ids
KIND_CODES = {
    "source": 1,
    "event": 2,
    "act": 3,
    "person": 4,
    "place": 5,
    "organization": 6,
    "statement": 7,
}
KIND_OF_CODE = {code: kind for kind, code in KIND_CODES.items()}
_SHIFT = 40

#: A search query in dialect-neutral form: AND over groups, OR within a group; each
#: alternative is (token, is_prefix) or a tuple of tokens that must all be present.
Alternative = tuple[str, bool] | tuple[tuple[str, ...], bool]
QueryGroups = Sequence[Sequence[Alternative]]

_TOKEN = re.compile(r"^[0-9a-z\uac00-\ud7a3]+$")


def doc_id(kind: str, record_id: int) -> int:
    """The search document id of a record."""
    return (KIND_CODES[kind] << _SHIFT) | record_id


def split_doc_id(value: int) -> tuple[str, int]:
    """(kind, record id) of a search document id."""
    return KIND_OF_CODE[value >> _SHIFT], value & ((1 << _SHIFT) - 1)


def kind_range(kind: str) -> tuple[int, int]:
    """The lowest and highest document id of a kind."""
    code = KIND_CODES[kind]
    return code << _SHIFT, ((code + 1) << _SHIFT) - 1


def _checked(token: str) -> str:
    # Tokens come folded from sillok.names; refuse anything else rather than quote it into a
    # query language.
    if not _TOKEN.match(token):
        raise ValueError(f"not a search token: {token!r}")
    return token


class Dialect(Protocol):
    """The store-specific operations."""

    name: str

    def create_engine(self, key: bytes | None) -> Engine: ...
    def create_search_index(self, conn: Connection) -> None: ...
    def index_documents(self, conn: Connection, docs: Sequence[tuple[int, str]]) -> None: ...
    def unindex_documents(self, conn: Connection, ids: Sequence[int]) -> None: ...
    def compact_search_index(self, conn: Connection) -> None: ...
    def index_search_by_kind(self, conn: Connection) -> None: ...
    def match(self, groups: QueryGroups, kinds: Iterable[str]) -> tuple[str, dict[str, object]]: ...
    def match_first(
        self, groups: QueryGroups, kind: str, window: int
    ) -> tuple[str, dict[str, object]] | None: ...
    def allocate_ids(self, conn: Connection, table: Table, count: int) -> list[int]: ...
    def bulk_insert(
        self, conn: Connection, table: Table, rows: Sequence[Mapping[str, Any]]
    ) -> None: ...


#: ``cipher_memory_security`` and ``secure_delete`` on every SQLCipher connection. Turned off
#: only by bench/bench_security.py, in a process of its own, to measure what they cost: they
#: are not settings, and nothing else may change them.
_memory_security = True
_secure_delete = True
#: ``synchronous`` on every SQLCipher connection; NORMAL only in bench/bench_core.py's
#: ``--compare-synchronous`` run, in a process of its own, to measure what FULL costs.
_synchronous = "FULL"

#: SQLite's soft limit on the heap of the whole process (``PRAGMA soft_heap_limit``): past it,
#: connections reuse their cached pages rather than allocate more. With
#: ``cipher_memory_security`` every block SQLite allocates is locked (``mlock``) and every
#: freed one unlocked, and each locked island splits the process's memory mappings; a heap
#: of hundreds of MiB (20 pooled connections with 64 MiB page caches each) split them past the
#: kernel's ``vm.max_map_count`` (65,530), after which no ``malloc`` succeeds and SQLite
#: answers SQLITE_NOMEM (Python's ``MemoryError``). docs/security.md, "Locked memory".
HEAP_LIMIT = 32 * 1024 * 1024


class SqlCipherDialect:
    """One SQLCipher file: WAL with every commit synced (``synchronous = FULL``), foreign
    keys on, FTS5 (contentless) for search; memory wiped and freed bytes overwritten
    (``cipher_memory_security``, ``secure_delete``)."""

    name = "sqlcipher"

    def __init__(self, path: Path) -> None:
        self.path = path

    def create_engine(self, key: bytes | None) -> Engine:
        """An engine on the file, keyed with the raw 32-byte database key."""
        if key is None:
            raise ArchiveError("an SQLCipher archive needs its key")
        _raise_memlock_limit()
        url = URL.create("sqlite+pysqlcipher", password=f"x'{key.hex()}'", database=str(self.path))
        engine = create_engine(url, poolclass=NullPool)

        @event.listens_for(engine, "connect")
        def _configure(dbapi_conn: Any, _record: Any) -> None:
            # Let SQLAlchemy, not the driver, issue BEGIN, so that it can be BEGIN IMMEDIATE.
            dbapi_conn.isolation_level = None
            cursor = dbapi_conn.cursor()
            # SQLCipher wipes the memory it frees (keys, page buffers) and locks it out of
            # swap where the system allows; the setting is for the whole process, and once
            # on it stays on.
            memory = "ON" if _memory_security else "OFF"
            cursor.execute(f"PRAGMA cipher_memory_security = {memory}")
            # Freed cells and pages are overwritten with zeros, so an update or delete leaves
            # no old text in the file for a later holder of the key. SQLCipher already turns
            # this on for a keyed database; set here so that it does not depend on that.
            cursor.execute(f"PRAGMA secure_delete = {'ON' if _secure_delete else 'OFF'}")
            # journal_mode is persistent; setting it needs a lock, so only when it differs.
            if cursor.execute("PRAGMA journal_mode").fetchone()[0] != "wal":
                cursor.execute("PRAGMA journal_mode = WAL")
            # FULL: every commit is synced to the disk before it returns, so what the archive
            # reported as saved survives a power cut or a kernel crash, not only a killed
            # process (NORMAL in WAL mode may roll the last commits back). docs/design.md,
            # "Acknowledged means on disk"; its cost is in docs/benchmarks.md.
            cursor.execute(f"PRAGMA synchronous = {_synchronous}")
            cursor.execute("PRAGMA foreign_keys = ON")
            cursor.execute("PRAGMA busy_timeout = 10000")
            # Every page SQLCipher writes is encrypted: a larger cache writes FTS pages fewer times.
            # The process's soft heap limit bounds all connections' caches together (a writer
            # alone may use most of it; many readers share it), which keeps the locked memory,
            # and the mappings it splits, bounded (HEAP_LIMIT).
            cursor.execute("PRAGMA cache_size = -65536")
            cursor.execute(f"PRAGMA soft_heap_limit = {HEAP_LIMIT}")
            cursor.close()

        @event.listens_for(engine, "begin")
        def _begin(conn: Connection) -> None:
            # A writing transaction takes the write lock at the start, so id allocation and
            # the writes that follow cannot interleave with another writer; readers do not.
            options = conn.get_execution_options()
            if options.get("sillok_single_read", False):
                return  # one statement: SQLite runs it in an implicit transaction of its own
            writing = options.get("sillok_write", False)
            conn.exec_driver_sql("BEGIN IMMEDIATE" if writing else "BEGIN")

        return engine

    def create_search_index(self, conn: Connection) -> None:
        """A contentless FTS5 table keyed by document id; tokens are pre-folded."""
        conn.exec_driver_sql(
            "CREATE VIRTUAL TABLE IF NOT EXISTS search_fts USING fts5("
            "tokens, content='', contentless_delete=1, "
            'tokenize="unicode61 remove_diacritics 0")'
        )

    def index_documents(self, conn: Connection, docs: Sequence[tuple[int, str]]) -> None:
        """Add new documents (unindex a changed document first)."""
        if docs:
            # In rowid order: FTS5 writes out its pending terms whenever a rowid is lower than
            # the one before, and an import's batch mixes kinds (acts, persons, sources...),
            # whose ids interleave. Sorted, a batch is indexed in about half the time.
            conn.exec_driver_sql(
                "INSERT INTO search_fts(rowid, tokens) VALUES (?, ?)", sorted(docs)
            )

    def unindex_documents(self, conn: Connection, ids: Sequence[int]) -> None:
        """Remove documents."""
        if ids:
            listed = ",".join(str(int(i)) for i in ids)
            conn.exec_driver_sql(f"DELETE FROM search_fts WHERE rowid IN ({listed})")

    def compact_search_index(self, conn: Connection) -> None:
        """Merge the index's segments into one.

        FTS5 adds a segment per flush and merges them only in part, so an index written by
        a large import is left in tens of segments, and each query token is looked up in
        every one (at 100,000 acts, merged, the index answered a search's queries 2-4 times
        faster).
        """
        conn.exec_driver_sql("INSERT INTO search_fts(search_fts) VALUES ('optimize')")

    def index_search_by_kind(self, conn: Connection) -> None:
        """Nothing: FTS5 answers a kind's id range from the doclist's rowids."""

    def match(self, groups: QueryGroups, kinds: Iterable[str]) -> tuple[str, dict[str, object]]:
        """SQL selecting matching document ids (column ``doc``), with its parameters."""
        expr = " AND ".join(
            "(" + " OR ".join(_fts_alternative(alt) for alt in group) + ")" for group in groups
        )
        ranges = [kind_range(k) for k in kinds]
        where = " OR ".join(f"rowid BETWEEN {lo} AND {hi}" for lo, hi in ranges)
        sql = f"SELECT rowid AS doc FROM search_fts WHERE search_fts MATCH :q AND ({where})"
        return sql, {"q": expr}


    def match_first(
        self, groups: QueryGroups, kind: str, window: int
    ) -> tuple[str, dict[str, object]] | None:
        """None: FTS5 reads a doclist lazily, so :meth:`match` with a LIMIT already stops at
        the first matches."""
        return None
    def allocate_ids(self, conn: Connection, table: Table, count: int) -> list[int]:
        """The next ``count`` ids of ``table`` (the write lock is held: BEGIN IMMEDIATE)."""
        top = conn.execute(select(func.max(table.c.id))).scalar() or 0
        return list(range(top + 1, top + 1 + count))

    def bulk_insert(
        self, conn: Connection, table: Table, rows: Sequence[Mapping[str, Any]]
    ) -> None:
        """Insert rows that all set the same columns, with one driver-level executemany.

        Values are converted as SQLAlchemy's SQLite types store them (ISO dates, datetimes with
        microseconds), so the rows read back through the ORM types unchanged; SQLAlchemy's
        per-row parameter processing is what this skips, and it was a third of import time.
        """
        if not rows:
            return
        columns = list(rows[0])
        sql = (
            f"INSERT INTO {table.name} ({', '.join(columns)}) "
            f"VALUES ({', '.join('?' * len(columns))})"
        )
        dated = [i for i, c in enumerate(columns) if isinstance(table.c[c].type, Date | DateTime)]
        values = _row_tuples(rows, columns)
        if dated:
            # A batch repeats its dates (one timestamp for every row): convert each once. The
            # key holds the time zone, as equal instants in two zones are written differently.
            seen: dict[tuple[Any, Any], Any] = {}
            lists = [list(v) for v in values]
            for i in dated:
                for row in lists:
                    value = row[i]
                    if value is not None:
                        key = (value, getattr(value, "tzinfo", None))
                        if key not in seen:
                            seen[key] = _sqlite_value(value)
                        row[i] = seen[key]
            values = [tuple(v) for v in lists]
        conn.exec_driver_sql(sql, values)


def _raise_memlock_limit() -> None:
    """Raise this process's limit on locked memory (``RLIMIT_MEMLOCK``) to what the system
    allows it, so that ``cipher_memory_security`` can lock more of SQLite's heap out of swap
    (a process with the right to lock memory, such as root's, has no limit to raise)."""
    try:
        import resource
    except ImportError:  # not a Unix system: SQLCipher locks what Windows lets it
        return
    soft, hard = resource.getrlimit(resource.RLIMIT_MEMLOCK)
    if soft != hard:
        # refused: SQLCipher warns of each block it cannot lock, and still wipes it on free
        with contextlib.suppress(ValueError, OSError):
            resource.setrlimit(resource.RLIMIT_MEMLOCK, (hard, hard))


def _row_tuples(rows: Sequence[Mapping[str, Any]], columns: Sequence[str]) -> list[tuple[Any, ...]]:
    """The rows' values in column order (itemgetter: one C call per row)."""
    if len(columns) == 1:
        return [(r[columns[0]],) for r in rows]
    return list(map(itemgetter(*columns), rows))


def _sqlite_value(value: Any) -> Any:
    if isinstance(value, dt.datetime):
        return value.strftime("%Y-%m-%d %H:%M:%S.%f")
    if isinstance(value, dt.date):
        return value.isoformat()
    return value


def _fts_alternative(alt: Alternative) -> str:
    token, prefix = alt
    if isinstance(token, tuple):
        return "(" + " AND ".join(f'"{_checked(t)}"' for t in token) + ")"
    return f'"{_checked(token)}"' + ("*" if prefix else "")


#: the PostgreSQL advisory lock a writing transaction takes (one archive per database)
WRITE_LOCK = 0x5111_0C0D


class PostgresDialect:
    """A PostgreSQL database: a tsvector column with a GIN index for search."""

    name = "postgresql"

    def __init__(self, url: str) -> None:
        self.url = url

    def create_engine(self, key: bytes | None) -> Engine:
        """An engine on the server (psycopg 3)."""
        try:
            import psycopg  # noqa: F401
        except ImportError:
            raise ArchiveError(
                "PostgreSQL support is not installed: pip install 'sillok[postgresql]'"
            ) from None
        url = self.url.replace("postgresql://", "postgresql+psycopg://", 1)
        engine = create_engine(url, pool_pre_ping=True)

        @event.listens_for(engine, "connect")
        def _configure(dbapi_conn: Any, _record: Any) -> None:
            # A commit returns once the server has flushed it to its disk (PostgreSQL's
            # default, which a server's configuration may turn off: not for this archive's
            # sessions). docs/design.md, "Acknowledged means on disk".
            with dbapi_conn.cursor() as cursor:
                cursor.execute("SET synchronous_commit = on")
                # No JIT compilation: a search that reads 50 rows of an index estimated at
                # tens of thousands passed its cost threshold and spent 2-3 ms compiling.
                cursor.execute("SET jit = off")
            dbapi_conn.commit()

        @event.listens_for(engine, "begin")
        def _begin(conn: Connection) -> None:
            # As SQLite's BEGIN IMMEDIATE: a writing transaction takes the archive's write
            # lock first (held to its commit or rollback), so two writers never interleave.
            # Without it, two imports naming the same new person or place both found it
            # missing and both inserted it (one failed on the unique ref after waiting for
            # the other), and lock waits between the log's state row and other rows could
            # deadlock. Readers take no lock (MVCC); the log's appends were serialized
            # already (its state row is locked FOR UPDATE).
            if conn.get_execution_options().get("sillok_write", False):
                conn.exec_driver_sql(f"SELECT pg_advisory_xact_lock({WRITE_LOCK})")

        return engine

    def create_search_index(self, conn: Connection) -> None:
        """The search table and its GIN index."""
        conn.exec_driver_sql(
            "CREATE TABLE IF NOT EXISTS search_docs (doc BIGINT PRIMARY KEY, tokens TSVECTOR)"
        )
        conn.exec_driver_sql(
            "CREATE INDEX IF NOT EXISTS ix_search_docs_tokens ON search_docs USING GIN (tokens)"
        )

    def index_documents(self, conn: Connection, docs: Sequence[tuple[int, str]]) -> None:
        """Add documents (replacing any with the same id)."""
        if docs:
            conn.execute(
                text(
                    "INSERT INTO search_docs(doc, tokens) VALUES (:doc, to_tsvector('simple', :t)) "
                    "ON CONFLICT (doc) DO UPDATE SET tokens = EXCLUDED.tokens"
                ),
                [{"doc": d, "t": t} for d, t in docs],
            )

    def unindex_documents(self, conn: Connection, ids: Sequence[int]) -> None:
        """Remove documents."""
        if ids:
            conn.execute(text("DELETE FROM search_docs WHERE doc = ANY(:ids)"), {"ids": list(ids)})

    def compact_search_index(self, conn: Connection) -> None:
        """Refresh the planner's statistics of the search table (the GIN index needs no
        merging), so that it picks the index, not a scan, for a rare token."""
        conn.exec_driver_sql("ANALYZE search_docs")

    def index_search_by_kind(self, conn: Connection) -> None:
        """One GIN index per record kind in place of one for all (migration 0012).

        With one index a token that names many persons (``lee``) returned every document
        holding it, and a search among acts removed the persons on the heap, one row at a
        time (68 ms at 100,000 acts, linear in the archive). A partial index per kind holds
        only that kind's documents, and :meth:`match`'s ``doc BETWEEN`` clause is the index's
        own predicate, written with the same constants, so the planner picks it.
        """
        for kind in KIND_CODES:
            lo, hi = kind_range(kind)
            conn.exec_driver_sql(
                f"CREATE INDEX IF NOT EXISTS ix_search_docs_tokens_{kind} ON search_docs "
                f"USING GIN (tokens) WHERE doc BETWEEN {lo} AND {hi}"
            )
        conn.exec_driver_sql("DROP INDEX IF EXISTS ix_search_docs_tokens")

    def match(self, groups: QueryGroups, kinds: Iterable[str]) -> tuple[str, dict[str, object]]:
        """SQL selecting matching document ids (column ``doc``), with its parameters."""
        expr = " & ".join(
            "(" + " | ".join(_ts_alternative(alt) for alt in group) + ")" for group in groups
        )
        ranges = [kind_range(k) for k in kinds]
        where = " OR ".join(f"doc BETWEEN {lo} AND {hi}" for lo, hi in ranges)
        # Materialized, so that a LIMIT outside cannot make the planner scan the table in the
        # hope of finding enough rows early: with statistics (after ANALYZE) it did, and took
        # 0.1-2.7 s at 100,000 acts for a query the GIN index answers in 6-100 ms.
        sql = (
            "WITH found_docs AS MATERIALIZED (SELECT doc FROM search_docs "
            f"WHERE tokens @@ to_tsquery('simple', :q) AND ({where})) SELECT doc FROM found_docs"
        )
        return sql, {"q": expr}


    def match_first(
        self, groups: QueryGroups, kind: str, window: int
    ) -> tuple[str, dict[str, object]] | None:
        """SQL selecting the matches among the first ``window`` documents of a kind, in
        order (column ``doc``; the caller adds ``LIMIT :limit``).

        A GIN index cannot stop early: a word in a tenth of a million acts costs a bitmap of
        all of them (46 ms for 87,752 acts) before a LIMIT of 50 takes its first rows. Read
        in the primary key's order instead, a frequent word finds its first matches in the
        first few thousand documents; a rare one does not, and the caller falls back to
        :meth:`match`, which the index answers quickly for a rare word.
        """
        lo, hi = kind_range(kind)
        expr = " & ".join(
            "(" + " | ".join(_ts_alternative(alt) for alt in group) + ")" for group in groups
        )
        sql = (
            "SELECT doc FROM (SELECT doc, tokens FROM search_docs "
            f"WHERE doc BETWEEN {lo} AND {hi} ORDER BY doc LIMIT :window) AS first_docs "
            "WHERE tokens @@ to_tsquery('simple', :q) ORDER BY doc"
        )
        return sql, {"q": expr, "window": window}
    def allocate_ids(self, conn: Connection, table: Table, count: int) -> list[int]:
        """The next ``count`` values of the table's id sequence."""
        seq = f"{table.name}_id_seq"
        rows = conn.execute(
            text("SELECT nextval(CAST(:seq AS regclass)) FROM generate_series(1, :n)"),
            {"seq": seq, "n": count},
        )
        return [r[0] for r in rows]

    def bulk_insert(
        self, conn: Connection, table: Table, rows: Sequence[Mapping[str, Any]]
    ) -> None:
        """Insert rows that all set the same columns (psycopg's executemany)."""
        if rows:
            columns = list(rows[0])
            sql = (
                f"INSERT INTO {table.name} ({', '.join(columns)}) "
                f"VALUES ({', '.join(['%s'] * len(columns))})"
            )
            conn.exec_driver_sql(sql, _row_tuples(rows, columns))


def _ts_alternative(alt: Alternative) -> str:
    token, prefix = alt
    if isinstance(token, tuple):
        return "(" + " & ".join(f"'{_checked(t)}'" for t in token) + ")"
    return f"'{_checked(token)}'" + (":*" if prefix else "")


def dialect_for(location: str, folder: Path) -> Dialect:
    """The dialect for an archive's store location (``sqlcipher:FILE`` or a PostgreSQL URL)."""
    if location.startswith(("postgresql://", "postgres://")):
        return PostgresDialect(location.replace("postgres://", "postgresql://", 1))
    if location.startswith("sqlcipher:"):
        return SqlCipherDialect(folder / location.removeprefix("sqlcipher:"))
    raise ArchiveError(f"unknown store location {location!r}")
