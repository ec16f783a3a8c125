"""The search index as the records wing reads and writes it.

Matching a query's index terms (with an act filter), listing acts by filter alone, writing an
import's documents and merging the index afterwards. The index itself (FTS5 or a
PostgreSQL tsvector) is the dialect's (:mod:`sillok.store.dialects`). Nothing here commits:
callers hold the transaction.
"""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import BigInteger, Connection, column, func, select, text

from sillok.model import acts, events, persons, sources
from sillok.store.dialects import Dialect, QueryGroups, doc_id, split_doc_id
from sillok.store.queries import ActFilter


def search_documents(
    conn: Connection,
    dialect: Dialect,
    groups: QueryGroups,
    kinds: Sequence[str],
    act_filter: ActFilter,
    limit: int,
) -> list[tuple[str, int]]:
    """(kind, id) of the records matching the query and, for acts, the filter."""
    match_sql, params = dialect.match(groups, kinds)
    if act_filter.is_empty():
        rows = conn.execute(text(f"{match_sql} LIMIT :limit"), {**params, "limit": limit})
        return [split_doc_id(r[0]) for r in rows]
    matched = text(match_sql).columns(column("doc", BigInteger)).subquery("matched")
    base = doc_id("act", 0)
    stmt = (
        select(acts.c.id)
        .join(matched, acts.c.id == matched.c.doc - base)
        .where(*act_filter.where())
        .limit(limit)
    )
    return [("act", r[0]) for r in conn.execute(stmt, params)]


def filter_acts(conn: Connection, act_filter: ActFilter, limit: int) -> list[int]:
    """Ids of the acts matching the filter (no text query)."""
    stmt = select(acts.c.id).where(*act_filter.where()).order_by(acts.c.id).limit(limit)
    return [r[0] for r in conn.execute(stmt)]


def write_documents(
    conn: Connection, dialect: Dialect, docs: Sequence[tuple[int, str]], stale: Sequence[int]
) -> None:
    """Replace the documents ``stale`` names (changed records) and add ``docs``."""
    dialect.unindex_documents(conn, stale)
    dialect.index_documents(conn, docs)


def indexed_records_estimate(conn: Connection) -> int:
    """About how many records have search documents: the highest id of each searched table
    (ids grow by one, so this counts deleted records too; cheap on any size)."""
    return sum(
        conn.execute(select(func.max(table.c.id))).scalar() or 0
        for table in (acts, persons, sources, events)
    )


def compact_index(conn: Connection, dialect: Dialect) -> None:
    """Merge the index's segments (after a large import: see the dialect's method)."""
    dialect.compact_search_index(conn)
