"""The search index as the records wing reads and writes it.

Matching a query's index terms (with an act filter), listing acts by filter alone, writing an
import's documents and merging the index afterwards. The index itself (FTS5 or a
PostgreSQL tsvector) is the dialect's (:mod:`sillok.store.dialects`). Nothing here commits:
callers hold the transaction.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter
from collections.abc import Sequence
from typing import Any

from sqlalchemy import BigInteger, Connection, column, func, select, text

from sillok.model import act_perpetrators, acts, events, persons, sources
from sillok.store.dialects import Dialect, QueryGroups, doc_id, split_doc_id
from sillok.store.queries import ActFilter, text_type

#: ids per ``IN (...)`` of the facet queries
_FACET_CHUNK = 2000


def search_documents(
    conn: Connection,
    dialect: Dialect,
    groups: QueryGroups,
    kinds: Sequence[str],
    act_filter: ActFilter,
    limit: int | None,
) -> list[tuple[str, int]]:
    """(kind, id) of the records matching the query and, for acts, the filter (at most
    ``limit``, the lowest ids; every one with None)."""
    match_sql, params = dialect.match(groups, kinds)
    if act_filter.is_empty():
        first = dialect.match_first(groups, kinds[0], _window(limit)) if (
            limit is not None and len(kinds) == 1
        ) else None
        if first is not None:
            found = conn.execute(text(f"{first[0]} LIMIT :limit"), {**first[1], "limit": limit})
            hits = [split_doc_id(r[0]) for r in found]
            if len(hits) == limit:  # a frequent word: its first matches are found
                return hits
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


def _window(limit: int | None) -> int:
    """How many documents, in order, a search for ``limit`` matches reads before it asks the
    index instead (PostgreSQL: :meth:`~sillok.store.dialects.PostgresDialect.match_first`):
    enough for a word in one document in 20 to fill its page."""
    return min(max(5000, 20 * (limit or 0)), 50_000)


def acts_of_victims(
    conn: Connection, victims: Sequence[int], act_filter: ActFilter
) -> list[tuple[int, int]]:
    """(act id, victim id) of the acts whose victim is one of ``victims`` and that the filter
    keeps, through the acts' victim index."""
    found: list[tuple[int, int]] = []
    for chunk in _chunks(victims):
        stmt = select(acts.c.id, acts.c.victim_id).where(
            acts.c.victim_id.in_(chunk), *act_filter.where()
        )
        found += [(r[0], r[1]) for r in conn.execute(stmt)]
    return found


def acts_per_victim(conn: Connection, persons: Sequence[int]) -> dict[int, int]:
    """How many acts name each of the given persons as victim (absent: none)."""
    found: dict[int, int] = {}
    for chunk in _chunks(persons):
        stmt = (
            select(acts.c.victim_id, func.count())
            .where(acts.c.victim_id.in_(chunk))
            .group_by(acts.c.victim_id)
        )
        found.update({r[0]: r[1] for r in conn.execute(stmt)})
    return found


def filter_acts(conn: Connection, act_filter: ActFilter, limit: int | None) -> list[int]:
    """Ids of the acts matching the filter (no text query); at most ``limit``, every one with
    None."""
    stmt = select(acts.c.id).where(*act_filter.where()).order_by(acts.c.id).limit(limit)
    return [r[0] for r in conn.execute(stmt)]


def date_lowers(conn: Connection, kind: str, ids: Sequence[int]) -> dict[int, dt.date | None]:
    """Id -> the earliest day the record's date may mean (None: undated), for the given acts,
    events or sources; empty for any other kind (a person has no date of its own)."""
    table = {"act": acts, "event": events, "source": sources}.get(kind)
    if table is None:
        return {}
    found: dict[int, dt.date | None] = {}
    for chunk in _chunks(ids):
        stmt = select(table.c.id, table.c.date_lower).where(table.c.id.in_(chunk))
        found.update({rid: lower for rid, lower in conn.execute(stmt)})
    return found


def act_facet_counts(
    conn: Connection, act_ids: Sequence[int], levels: Sequence[str]
) -> dict[str, Counter[Any]]:
    """How many of the given acts of the sharing ``levels`` (no level counts as internal) have
    each value of what a search's facets count: ``act_type``, ``years`` (the first four
    characters of the date's bounds, a pair), ``place`` (the place and the facility, a pair),
    ``facility_type`` and ``sharing``, all from one read of each act. Acts that do not exist
    are not counted."""
    keys = (
        acts.c.act_type,
        func.substr(func.cast(acts.c.date_lower, text_type()), 1, 4),
        func.substr(func.cast(acts.c.date_upper, text_type()), 1, 4),
        acts.c.place_id,
        acts.c.facility_id,
        acts.c.facility_type,
        func.coalesce(acts.c.sharing, "internal"),
    )
    counts: dict[str, Counter[Any]] = {
        name: Counter() for name in ("act_type", "years", "place", "facility_type", "sharing")
    }
    # Each act's row once, counted here: the five GROUP BYs this replaced looked every act up
    # five times, and each sorted in a temporary b-tree whose every allocation SQLCipher's
    # memory security locks and wipes. At 3,000 acts this is about 4x faster than they were
    # (docs/web.md, "Load").
    for chunk in _chunks(act_ids):
        stmt = select(*keys).where(acts.c.id.in_(chunk), _at(levels))
        for act_type, first, last, place, facility, facility_type, sharing in conn.execute(stmt):
            counts["act_type"][act_type] += 1
            counts["years"][(first, last)] += 1
            counts["place"][(place, facility)] += 1
            counts["facility_type"][facility_type] += 1
            counts["sharing"][sharing] += 1
    return counts


def act_agency_counts(
    conn: Connection, act_ids: Sequence[int], levels: Sequence[str]
) -> Counter[int]:
    """Organization id -> how many of the given acts of the sharing ``levels`` name it among
    their perpetrators."""
    org = act_perpetrators.c.organization_id
    pairs: set[tuple[int, int]] = set()
    # the distinct (organization, act) pairs, counted here rather than by a GROUP BY with
    # COUNT(DISTINCT), for the reason act_facet_counts gives
    for chunk in _chunks(act_ids):
        stmt = (
            select(org, act_perpetrators.c.act_id)
            .join(acts, acts.c.id == act_perpetrators.c.act_id)
            .where(act_perpetrators.c.act_id.in_(chunk), org.is_not(None), _at(levels))
        )
        pairs.update((key, act) for key, act in conn.execute(stmt))
    counts: Counter[int] = Counter(key for key, _act in pairs)
    return counts


def _at(levels: Sequence[str]) -> Any:
    """Acts of one of the sharing levels (an act without one is internal)."""
    return func.coalesce(acts.c.sharing, "internal").in_(sorted(levels))


def _chunks(ids: Sequence[int]) -> list[list[int]]:
    unique = sorted(set(ids))
    return [unique[i : i + _FACET_CHUNK] for i in range(0, len(unique), _FACET_CHUNK)]


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
