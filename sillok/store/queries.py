"""Read queries of the services: act filters, counts, names, links, the rows of an export.

The search index's own queries are in :mod:`sillok.store.search`.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, Row, Select, and_, func, or_, select

from sillok.model import (
    RECORD_TABLES,
    act_perpetrators,
    act_sources,
    acts,
    events,
    organizations,
    person_names,
    persons,
    sources,
)
from sillok.model import links as links_table

_IN_CHUNK = 500


@dataclass(frozen=True)
class ActFilter:
    """Conditions on acts, each optional; place ids include everything inside a place."""

    act_types: frozenset[str] | None = None
    date_from: dt.date | None = None
    date_to: dt.date | None = None
    place_ids: frozenset[int] | None = None
    facility_ids: frozenset[int] | None = None
    organization_ids: frozenset[int] | None = None
    facility_type: str | None = None

    def is_empty(self) -> bool:
        """True when no condition is set."""
        return all(getattr(self, f) is None for f in self.__dataclass_fields__)

    def where(self) -> list[Any]:
        """The SQL conditions on the acts table."""
        conds: list[Any] = []
        if self.act_types is not None:
            conds.append(acts.c.act_type.in_(sorted(self.act_types)))
        if self.date_from is not None:
            conds.append(acts.c.date_upper >= self.date_from)
        if self.date_to is not None:
            conds.append(acts.c.date_lower <= self.date_to)
        if self.place_ids is not None:
            ids = sorted(self.place_ids)
            conds.append(or_(acts.c.place_id.in_(ids), acts.c.facility_id.in_(ids)))
        if self.facility_ids is not None:
            conds.append(acts.c.facility_id.in_(sorted(self.facility_ids)))
        if self.facility_type is not None:
            conds.append(acts.c.facility_type == self.facility_type)
        if self.organization_ids is not None:
            conds.append(
                acts.c.id.in_(
                    select(act_perpetrators.c.act_id).where(
                        act_perpetrators.c.organization_id.in_(sorted(self.organization_ids))
                    )
                )
            )
        return conds


def count_acts_by(conn: Connection, column: str, act_filter: ActFilter) -> list[tuple[Any, int]]:
    """Act counts grouped by one column of the acts table (or ``organization_id``)."""
    if column == "organization_id":
        key = act_perpetrators.c.organization_id
        stmt: Select[Any] = (
            select(key, func.count(func.distinct(acts.c.id)))
            .select_from(
                acts.outerjoin(
                    act_perpetrators,
                    and_(
                        act_perpetrators.c.act_id == acts.c.id,
                        act_perpetrators.c.organization_id.is_not(None),
                    ),
                )
            )
            .where(*act_filter.where())
            .group_by(key)
        )
    elif column == "year":
        lower = func.substr(func.cast(acts.c.date_lower, text_type()), 1, 4)
        upper = func.substr(func.cast(acts.c.date_upper, text_type()), 1, 4)
        stmt = select(lower, upper, func.count()).where(*act_filter.where()).group_by(lower, upper)
        return [((lo, hi), n) for lo, hi, n in conn.execute(stmt)]
    else:
        key = acts.c[column]
        stmt = select(key, func.count()).where(*act_filter.where()).group_by(key)
    return [(k, n) for k, n in conn.execute(stmt)]


def text_type() -> Any:
    """The SQL text type (for casting dates to their ISO text)."""
    from sqlalchemy import String

    return String()


def count_records(conn: Connection) -> dict[str, int]:
    """How many records of each main kind the archive holds."""
    counts = {}
    for name, table in (
        ("sources", sources),
        ("events", events),
        ("acts", acts),
        ("persons", persons),
        ("organizations", organizations),
    ):
        counts[name] = conn.execute(select(func.count()).select_from(table)).scalar() or 0
    return counts


def sharing_levels(conn: Connection, kind: str, ids: Sequence[int]) -> dict[int, str | None]:
    """The sharing level of each record of ``kind`` among ``ids`` that exists (None for a kind
    without one, such as persons); ids of records that do not exist are absent."""
    table = RECORD_TABLES[kind]
    sharing = table.c.get("sharing")
    found: dict[int, str | None] = {}
    unique = sorted(set(ids))
    for start in range(0, len(unique), _IN_CHUNK):
        chunk = unique[start : start + _IN_CHUNK]
        if sharing is None:
            stmt = select(table.c.id).where(table.c.id.in_(chunk))
            found.update((r[0], None) for r in conn.execute(stmt))
        else:
            stmt = select(table.c.id, sharing).where(table.c.id.in_(chunk))
            found.update((r[0], r[1]) for r in conn.execute(stmt))
    return found


def names_of_persons(conn: Connection, ids: Sequence[int]) -> dict[int, list[tuple[str, str, str]]]:
    """(name, script, kind) of each person, in the order they were recorded."""
    found: dict[int, list[tuple[str, str, str]]] = {}
    unique = sorted(set(ids))
    for start in range(0, len(unique), 500):
        chunk = unique[start : start + 500]
        rows = conn.execute(
            select(
                person_names.c.person_id,
                person_names.c.name,
                person_names.c.script,
                person_names.c.kind,
            )
            .where(person_names.c.person_id.in_(chunk))
            .order_by(person_names.c.id)
        )
        for pid, name, script, kind in rows:
            found.setdefault(pid, []).append((name, script, kind))
    return found


def name_rows_of_person(conn: Connection, person_id: int) -> list[Row[Any]]:
    """A person's name rows (id, name, script, kind...), in the order they were recorded."""
    stmt = (
        select(person_names)
        .where(person_names.c.person_id == person_id)
        .order_by(person_names.c.id)
    )
    return list(conn.execute(stmt).all())


def sources_of_acts(conn: Connection, act_ids: Sequence[int]) -> dict[int, list[int]]:
    """The source ids that attest each act."""
    found: dict[int, list[int]] = {}
    unique = sorted(set(act_ids))
    for start in range(0, len(unique), 500):
        chunk = unique[start : start + 500]
        rows = conn.execute(
            select(act_sources.c.act_id, act_sources.c.source_id)
            .where(act_sources.c.act_id.in_(chunk))
            .order_by(act_sources.c.source_id)
        )
        for aid, sid in rows:
            found.setdefault(aid, []).append(sid)
    return found


def perpetrators_of_acts(
    conn: Connection, act_ids: Sequence[int]
) -> dict[int, list[tuple[int | None, int | None, str]]]:
    """(organization id, person id, role) of each act's perpetrators."""
    found: dict[int, list[tuple[int | None, int | None, str]]] = {}
    unique = sorted(set(act_ids))
    for start in range(0, len(unique), 500):
        chunk = unique[start : start + 500]
        rows = conn.execute(
            select(
                act_perpetrators.c.act_id,
                act_perpetrators.c.organization_id,
                act_perpetrators.c.person_id,
                act_perpetrators.c.role,
            )
            .where(act_perpetrators.c.act_id.in_(chunk))
            .order_by(act_perpetrators.c.id)
        )
        for aid, oid, pid, role in rows:
            found.setdefault(aid, []).append((oid, pid, role))
    return found


def act_batches(conn: Connection, size: int) -> Iterator[list[Any]]:
    """Every act, in id order, a batch at a time (keyset pagination: flat memory)."""
    last = 0
    while True:
        batch = conn.execute(
            select(acts).where(acts.c.id > last).order_by(acts.c.id).limit(size)
        ).all()
        if not batch:
            return
        yield list(batch)
        last = batch[-1].id


def acts_of(conn: Connection, column: str, record_id: int, limit: int) -> list[Any]:
    """Acts whose ``column`` (event_id, victim_id...) is ``record_id``, in time order: by the
    earliest day each may be, undated acts last (a person's or an event's timeline)."""
    stmt = (
        select(acts)
        .where(acts.c[column] == record_id)
        .order_by(acts.c.date_lower.is_(None), acts.c.date_lower, acts.c.id)
        .limit(limit)
    )
    return list(conn.execute(stmt).all())


def acts_of_source(conn: Connection, source_id: int, limit: int) -> list[Any]:
    """Acts a source attests."""
    stmt = (
        select(acts)
        .join(act_sources, act_sources.c.act_id == acts.c.id)
        .where(act_sources.c.source_id == source_id)
        .order_by(acts.c.id)
        .limit(limit)
    )
    return list(conn.execute(stmt).all())


def act_list_rows(
    conn: Connection, act_filter: ActFilter, size: int = 5000
) -> Iterator[tuple[int, str, str, str, Any, Any, int | None]]:
    """(victim id, source ref, source type, act type, date lower, date upper, place id) of
    every act with a victim that passes the filter, once per attesting source, streamed."""
    last = 0
    while True:
        stmt = (
            select(
                acts.c.id, acts.c.victim_id, sources.c.ref, sources.c.source_type,
                acts.c.act_type, acts.c.date_lower, acts.c.date_upper, acts.c.place_id,
            )
            .join(act_sources, act_sources.c.act_id == acts.c.id)
            .join(sources, sources.c.id == act_sources.c.source_id)
            .where(acts.c.victim_id.is_not(None), acts.c.id > last, *act_filter.where())
            .order_by(acts.c.id)
            .limit(size)
        )
        rows = conn.execute(stmt).all()
        if not rows:
            return
        for row in rows:
            yield row[1], row[2], row[3], row[4], row[5], row[6], row[7]
        last = rows[-1][0]


def persons_for_linkage(conn: Connection) -> list[tuple[int, str | None, str | None, int | None,
                                                         bool]]:
    """(id, sex, birth EDTF, origin place id, protected) of every person who is a victim."""
    victims = select(acts.c.victim_id).where(acts.c.victim_id.is_not(None)).distinct()
    stmt = select(
        persons.c.id, persons.c.sex, persons.c.birth_edtf, persons.c.origin_place_id,
        persons.c.protected,
    ).where(persons.c.id.in_(victims)).order_by(persons.c.id)
    return [tuple(r) for r in conn.execute(stmt)]


def link_pairs(conn: Connection, kind: str) -> dict[tuple[int, int], Any]:
    """Every link of a record kind, by (left id, right id)."""
    rows = conn.execute(select(links_table).where(links_table.c.record_kind == kind))
    return {(r.left_id, r.right_id): r for r in rows}


def links_with_status(conn: Connection, kind: str, status: str, limit: int | None = None
                      ) -> list[Any]:
    """Links of a kind in one status, the most probable first."""
    stmt = (
        select(links_table)
        .where(links_table.c.record_kind == kind, links_table.c.status == status)
        .order_by(links_table.c.probability_ppm.desc(), links_table.c.id)
    )
    if limit is not None:
        stmt = stmt.limit(limit)
    return list(conn.execute(stmt).all())


def events_for_linkage(conn: Connection) -> list[tuple[int, str | None, str | None, int | None]]:
    """(id, title, date EDTF, place id) of every event not shared at the confidential level."""
    stmt = (
        select(events.c.id, events.c.title, events.c.date_edtf, events.c.place_id)
        .where(events.c.sharing != "confidential")
        .order_by(events.c.id)
    )
    return [tuple(r) for r in conn.execute(stmt)]


def acts_for_event_linkage(
    conn: Connection,
) -> list[tuple[int, str, str | None, int | None, int | None, int | None]]:
    """(event id, act type, date EDTF, place id, facility id, victim id) of every act of an
    event, leaving out confidential acts; the victim id is None for a protected person."""
    from sqlalchemy import case

    victim = case((persons.c.protected.is_(True), None), else_=acts.c.victim_id)
    stmt = (
        select(
            acts.c.event_id, acts.c.act_type, acts.c.date_edtf, acts.c.place_id,
            acts.c.facility_id, victim,
        )
        .select_from(acts.outerjoin(persons, persons.c.id == acts.c.victim_id))
        .where(acts.c.event_id.is_not(None), acts.c.sharing != "confidential")
        .order_by(acts.c.event_id, acts.c.id)
    )
    return [tuple(r) for r in conn.execute(stmt)]


def link_status_counts(conn: Connection, kind: str) -> dict[str, int]:
    """How many links of a kind are in each status (pending, accepted, rejected)."""
    stmt = (
        select(links_table.c.status, func.count())
        .where(links_table.c.record_kind == kind)
        .group_by(links_table.c.status)
    )
    return {status: int(n) for status, n in conn.execute(stmt)}
