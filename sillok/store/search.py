"""The search index as the records wing reads and writes it.

Matching a query's index terms (with an act filter), listing acts by filter alone, writing an
import's documents and merging the index afterwards. The index itself (FTS5 or a
PostgreSQL tsvector) is the dialect's (:mod:`sillok.store.dialects`). Nothing here commits:
callers hold the transaction.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from typing import Any

from sqlalchemy import BigInteger, Connection, column, func, select, text

from sillok.model import act_perpetrators, acts, events, persons, sources
from sillok.store.dialects import Dialect, QueryGroups, doc_id, split_doc_id
from sillok.store.queries import ActFilter, text_type

#: ids per ``IN (...)`` of the facet queries
_FACET_CHUNK = 500


def search_documents(
    conn: Connection,
    dialect: Dialect,
    groups: QueryGroups,
    kinds: Sequence[str],
    act_filter: ActFilter,
    limit: int | None,
) -> list[tuple[str, int]]:
    """(kind, id) of the records matching the query and, for acts, the filter (at most
    ``limit``; every one with None)."""
    match_sql, params = dialect.match(groups, kinds)
    if act_filter.is_empty():
        if limit is None:
            rows = conn.execute(text(match_sql), params)
        else:
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


def filter_acts(conn: Connection, act_filter: ActFilter, limit: int | None) -> list[int]:
    """Ids of the acts matching the filter (no text query); at most ``limit``, every one with
    None."""
    stmt = select(acts.c.id).where(*act_filter.where()).order_by(acts.c.id).limit(limit)
    return [r[0] for r in conn.execute(stmt)]


def act_facet_rows(conn: Connection, act_ids: Sequence[int]) -> list[tuple[tuple[Any, ...], int]]:
    """The given acts grouped by what a search's facets count, and how many in each group:
    ((act type, first year, last year, facility or place id, facility type, sharing), n).

    The years are the first four characters of the date's bounds (None without a date); the
    place is the facility when there is one. Acts that do not exist are not counted.
    """
    lower = func.substr(func.cast(acts.c.date_lower, text_type()), 1, 4)
    upper = func.substr(func.cast(acts.c.date_upper, text_type()), 1, 4)
    where = func.coalesce(acts.c.facility_id, acts.c.place_id)
    keys = (acts.c.act_type, lower, upper, where, acts.c.facility_type, acts.c.sharing)
    counts: Counter[tuple[Any, ...]] = Counter()
    unique = sorted(set(act_ids))
    for start in range(0, len(unique), _FACET_CHUNK):
        chunk = unique[start : start + _FACET_CHUNK]
        stmt = select(*keys, func.count()).where(acts.c.id.in_(chunk)).group_by(*keys)
        for row in conn.execute(stmt):
            counts[tuple(row[:-1])] += row[-1]
    return list(counts.items())


def act_agency_counts(conn: Connection, act_ids: Sequence[int]) -> Counter[int]:
    """Organization id -> how many of the given acts name it among their perpetrators."""
    org = act_perpetrators.c.organization_id
    counts: Counter[int] = Counter()
    unique = sorted(set(act_ids))
    for start in range(0, len(unique), _FACET_CHUNK):
        chunk = unique[start : start + _FACET_CHUNK]
        stmt = (
            select(org, func.count(func.distinct(act_perpetrators.c.act_id)))
            .where(act_perpetrators.c.act_id.in_(chunk), org.is_not(None))
            .group_by(org)
        )
        for key, n in conn.execute(stmt):
            counts[key] += n
    return counts


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
