"""Search: the records a query (any script) and an act filter find, as the role may see them.

What a record is indexed under and how a query becomes index terms is
:mod:`sillok.records.index`; the index itself is the store's. This module asks the index
(:meth:`Searcher.match`) and applies the one access rule every way in goes through
(:meth:`Searcher.visible`): the library, the command line and the web call it, and none keeps
its own.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from sillok import vocab
from sillok.dates import DateError, UncertainDate, parse_date
from sillok.errors import InvalidInput
from sillok.messages import Message, not_one_of
from sillok.records.index import INDEXED_FIELDS, query_groups
from sillok.records.matching import SEARCH_KINDS, IndexMatcher
from sillok.records.stats import FACETS
from sillok.security.policy import SHARING_LEVELS, Access, access, may, may_see
from sillok.store import queries
from sillok.store import search as index_store
from sillok.store.queries import ActFilter

if TYPE_CHECKING:
    from sillok.records.reading import RecordBook
    from sillok.vault import Vault

#: the orders a search's matches can be listed in (:meth:`Searcher.order`)
SORTS = ("relevance", "date_asc", "date_desc")


@dataclass(frozen=True)
class Hit:
    """One search result."""

    kind: str
    id: int
    title: str

    def to_json(self) -> dict[str, object]:
        """The JSON form: kind, id, title."""
        return {"kind": self.kind, "id": self.id, "title": self.title}


def order_hits(
    found: Sequence[tuple[str, int]], weights: dict[tuple[str, int], int] | None = None
) -> list[tuple[str, int]]:
    """Hits grouped by kind in :data:`SEARCH_KINDS` order; within a kind the heaviest first
    (``weights``: how many of the matched acts name a person the query names, for those
    persons and their acts), then the newest record."""
    rank = {k: i for i, k in enumerate(SEARCH_KINDS)}
    weights = weights or {}
    return sorted(set(found), key=lambda h: (rank.get(h[0], 99), -weights.get(h, 0), -h[1]))


@dataclass(frozen=True)
class Matches:
    """What a query matched in the index, before the access rule: never shown as it is.

    ``found`` is (kind, id) in :func:`order_hits` order; ``worded`` says whether the query had
    words (the access rule then also asks whether the role may read what each record is
    indexed under). Matches are the same for every role, so a server may keep them for all;
    only :meth:`Searcher.visible` turns them into what a role is shown.
    """

    found: tuple[tuple[str, int], ...]
    worded: bool


@dataclass(frozen=True)
class SearchRequest:
    """A search as a person asks for it: words, filters as typed (names in any script, dates
    as the archive writes them: ``2009``, ``2009-03``, ``2009년 봄``), a sharing level and an
    order (one of :data:`SORTS`). The command line, the pages and the API each make one and
    hand it to :meth:`Searcher.prepare` and :meth:`Searcher.results`.

    ``year`` is the year facet: with ``date_from``/``date_to`` the range is where they meet.
    """

    query: str = ""
    act_type: str | None = None
    date_from: str | None = None
    date_to: str | None = None
    year: str | None = None
    place: str | None = None
    facility: str | None = None
    agency: str | None = None
    sharing: str | None = None
    sort: str = "relevance"


@dataclass(frozen=True)
class Prepared:
    """A :class:`SearchRequest` checked and resolved: what the index is asked."""

    query: str
    act_filter: ActFilter
    sharing: str | None
    sort: str

    @property
    def asks_something(self) -> bool:
        """Whether it has words, an act filter or a sharing level (a page asks for nothing
        until one is given)."""
        return bool(self.query.strip()) or self.sharing is not None or (
            not self.act_filter.is_empty()
        )


@dataclass(frozen=True)
class Results:
    """Every match of a search the role may be shown, in the order asked, each with its
    sharing level, and the facet counts over the acts among them (empty when not asked)."""

    found: tuple[tuple[str, int, str], ...]
    facets: dict[str, Counter[str]] = field(default_factory=dict)

    @property
    def hits(self) -> list[tuple[str, int]]:
        """(kind, id) of every match, in order."""
        return [(kind, rid) for kind, rid, _level in self.found]

    @property
    def act_ids(self) -> list[int]:
        """The ids of the acts among the matches, in order (what a download holds)."""
        return [rid for kind, rid, _level in self.found if kind == "act"]


class Searcher:
    """Search over an archive's sources, events, acts and persons."""

    def __init__(self, vault: Vault, records: RecordBook) -> None:
        self.vault = vault
        self.records = records
        self._matcher = IndexMatcher(vault)

    def act_filter(
        self,
        act_type: str | None = None,
        date_from: str | None = None,
        date_to: str | None = None,
        place: str | None = None,
        facility: str | None = None,
        agency: str | None = None,
        year: str | None = None,
    ) -> ActFilter:
        """An act filter from what a person typed; each name is resolved in any script, each
        date read as the archive writes dates (:func:`date_range`).

        Raises:
            InvalidInput: naming the option and value that cannot be resolved.
        """
        act_types = facility_ids = place_ids = None
        facility_type = None
        if act_type:
            term = vocab.load("act_types").lookup(act_type)
            if term is None:
                raise InvalidInput(Message(
                    "{field}: unknown act type {value!r}", field="--act-type", value=act_type
                ))
            act_types = frozenset(
                [term.key, *(t.key for t in vocab.load("act_types").descendants(term.key))]
            )
        lower, upper = date_range(date_from, date_to, year)
        if place:
            entry = self.vault.places.resolve(place)
            if entry is None:
                raise InvalidInput(f"--place: unknown place {place!r}")
            place_ids = frozenset(self.vault.places.within(entry.id))
        if facility:
            entry = self.vault.places.resolve(facility, facility=True)
            ftype = vocab.load("facility_types").lookup(facility)
            if ftype is not None:
                facility_type = ftype.key
            elif entry is not None and entry.kind == "facility":
                facility_ids = frozenset(self.vault.places.within(entry.id))
            else:
                raise InvalidInput(f"--facility: unknown facility or facility type {facility!r}")
        return ActFilter(
            act_types,
            lower,
            upper,
            place_ids,
            facility_ids,
            _orgs(self.vault, agency),
            facility_type,
        )

    def search(
        self,
        query: str,
        act_filter: ActFilter | None = None,
        limit: int | None = None,
        sharing: str | None = None,
    ) -> list[Hit]:
        """Records matching a query (any script) and, when given, an act filter and a sharing
        level, as the archive's role may be shown them (:meth:`visible`)."""
        return self.titled(self.find(query, act_filter, limit, sharing))

    def titled(self, found: Sequence[tuple[str, int]], lang: str | None = None) -> list[Hit]:
        """The given matches as hits with their titles (as the role may read them; in
        ``lang``'s words and dates as people write them, or as stored without it: see
        :meth:`RecordBook.titles`)."""
        titles = self.records.titles(found, lang)
        return [Hit(kind, rid, titles.get((kind, rid), f"{kind} {rid}")) for kind, rid in found]

    def find(
        self,
        query: str,
        act_filter: ActFilter | None = None,
        limit: int | None = None,
        sharing: str | None = None,
    ) -> list[tuple[str, int]]:
        """(kind, id) of the records :meth:`search` finds, in its order, without titles: a
        page that shows 20 of 100 matches makes titles for those 20 only."""
        return self.visible(self.match(query, act_filter, limit), sharing)

    def match(
        self,
        query: str,
        act_filter: ActFilter | None = None,
        limit: int | None = None,
        everything: bool = False,
    ) -> Matches:
        """What the index holds for a query and an act filter (at most ``limit`` records, the
        settings' ``search_limit`` when not given; with ``everything``, every record, for exact
        totals and facets), before the access rule: the same for every role, and shown to none
        until :meth:`visible` has kept what the role may be shown."""
        act_filter = act_filter or ActFilter()
        wanted_at_most = None if everything else (limit or self.vault.settings.search_limit)
        found, weights = self._matcher.find(query, act_filter, wanted_at_most)
        return Matches(tuple(order_hits(found, weights)), worded=bool(query_groups(query)))

    def visible(self, matches: Matches, sharing: str | None = None) -> list[tuple[str, int]]:
        """The matches the archive's role may be shown, in their order (only those of one
        sharing level when ``sharing`` is given): the search access rule, :func:`may_find`."""
        return [(kind, rid) for kind, rid, _level in self.visible_levels(matches, sharing)]

    def visible_levels(
        self, matches: Matches, sharing: str | None = None
    ) -> list[tuple[str, int, str]]:
        """:meth:`visible`, each match with its sharing level (a person's is internal), which
        is what the sharing filter chooses by."""
        by_kind: dict[str, list[int]] = {}
        for kind, rid in matches.found:
            by_kind.setdefault(kind, []).append(rid)
        with self.vault.store.reading() as conn:
            levels = {
                kind: queries.sharing_levels(conn, kind, ids) for kind, ids in by_kind.items()
            }
        kept = []
        for kind, rid in matches.found:
            if rid not in levels[kind]:
                continue  # written over since it was indexed
            level = levels[kind][rid] or "internal"
            if sharing is not None and level != sharing:
                continue
            if may_find(self.vault.role, kind, level, matches.worded):
                kept.append((kind, rid, level))
        return kept

    def prepare(self, request: SearchRequest) -> Prepared:
        """Check and resolve a request: every name and date read, the sharing level and the
        order known.

        Raises:
            InvalidInput: naming the parameter and the value that cannot be used.
        """
        year = (request.year or "").strip() or None
        if year is not None and not (year.isdigit() and len(year) == 4):
            raise InvalidInput(Message(
                "{field}: {value!r} is not a year like 2009", field="year", value=year
            ))
        sharing = (request.sharing or "").strip() or None
        if sharing is not None and sharing not in SHARING_LEVELS:
            raise InvalidInput(not_one_of(sharing, SHARING_LEVELS, "sharing"))
        sort = (request.sort or "").strip() or "relevance"
        if sort not in SORTS:
            raise InvalidInput(not_one_of(sort, SORTS, "sort"))
        act_filter = self.act_filter(
            request.act_type,
            request.date_from,
            request.date_to,
            request.place,
            request.facility,
            request.agency,
            year=year,
        )
        return Prepared(request.query, act_filter, sharing, sort)

    def results(
        self,
        request: SearchRequest | Prepared,
        matches: Matches | None = None,
        counted: bool = True,
    ) -> Results:
        """Every match of a search the archive's role may be shown, in the order asked, and
        (when ``counted``) the facets over all of them: what the command line lists, a page
        shows a window of, and a download holds.

        ``matches`` are the request's :meth:`match` when a caller keeps them (a server does,
        for every role alike); without them the index is asked here.

        Raises:
            InvalidInput: naming the parameter and value of a request that cannot be used.
        """
        prepared = request if isinstance(request, Prepared) else self.prepare(request)
        if matches is None:
            matches = self.match(prepared.query, prepared.act_filter, everything=True)
        shown = self.order(self.visible_levels(matches, prepared.sharing), prepared.sort)
        counters: dict[str, Counter[str]] = {}
        if counted:
            counters = self.facets([rid for kind, rid, _level in shown if kind == "act"])
            # the sharing filter chooses among every match, not only acts: so does its facet
            counters["sharing"] = Counter(level for _kind, _rid, level in shown)
        return Results(tuple(shown), counters)

    def order(
        self, found: Sequence[tuple[str, int, str]], sort: str
    ) -> list[tuple[str, int, str]]:
        """Matches in a :data:`SORTS` order. ``relevance`` keeps the index's order (acts,
        events, sources, persons; the newest record first within a kind). ``date_asc`` and
        ``date_desc`` order by the earliest day a record's date may mean (its lower bound), the
        undated (persons, records without a date) last, ties by kind and id."""
        if sort == "relevance":
            return list(found)
        if sort not in SORTS:
            raise InvalidInput(not_one_of(sort, SORTS, "sort"))
        by_kind: dict[str, list[int]] = {}
        for kind, rid, _level in found:
            by_kind.setdefault(kind, []).append(rid)
        with self.vault.store.reading() as conn:
            lowers = {
                kind: index_store.date_lowers(conn, kind, ids) for kind, ids in by_kind.items()
            }
        rank = {k: i for i, k in enumerate(SEARCH_KINDS)}
        sign = -1 if sort == "date_desc" else 1

        def key(match: tuple[str, int, str]) -> tuple[int, int, int, int]:
            kind, rid, _level = match
            lower = lowers[kind].get(rid)
            day = sign * lower.toordinal() if lower is not None else 0
            return (lower is None, day, rank.get(kind, 99), rid)

        return sorted(found, key=key)

    def facets(self, act_ids: Sequence[int]) -> dict[str, Counter[str]]:
        """How many of the given acts fall under each key of each facet (act type, year,
        province, facility type, agency, sharing level), counted in the store over every act
        given, not a window of them.

        Give the acts :meth:`visible` kept: the counts are then the role's, and tell nothing
        of what the role may not see (an act the role may not see at all is skipped here
        too). Each facet counts what choosing its value finds, so an act may count under
        several values of one facet: a year counts every act whose date may fall in it (as the
        year filter finds uncertain dates: "around 2011" counts in 2010, 2011 and 2012); a
        province, every act whose place or facility lies in it. An act type is
        counted with the acts of its narrower types (arbitrary detention with political prison
        camp imprisonment), as the act type filter finds them: what a facet says is what
        choosing it finds. Only types that some act has are listed.
        """
        counters: dict[str, Counter[str]] = {name: Counter() for name in FACETS}
        # the access rule, as the store can apply it: the sharing levels the role sees
        levels = [level for level in SHARING_LEVELS if may_see(self.vault.role, level)]
        with self.vault.store.reading() as conn:
            grouped = index_store.act_facet_counts(conn, act_ids, levels)
            agencies = index_store.act_agency_counts(conn, act_ids, levels)
        places, orgs = self.vault.places, self.vault.organizations
        # an act type counts its narrower types' acts too, as choosing it finds them
        types = vocab.load("act_types")
        own = grouped["act_type"]
        for key, n in own.items():
            narrower = types.descendants(key) if types.lookup(str(key)) is not None else []
            counters["act_type"][key] = n + sum(own.get(t.key, 0) for t in narrower)
        for (first, last), n in grouped["years"].items():
            if first is not None and last is not None:
                for year in range(int(first), int(last) + 1):
                    counters["year"][str(year)] += n
        for (place_id, facility_id), n in grouped["place"].items():
            # in each province its place or its facility lies in, as the province filter
            # finds it by either
            within = [places.province_of(i) for i in (place_id, facility_id) if i is not None]
            for key in {p.vocab_key for p in within if p is not None and p.vocab_key}:
                counters["province"][key] += n
        counters["facility"].update({k: n for k, n in grouped["facility_type"].items() if k})
        counters["sharing"].update(grouped["sharing"])
        for org_id, n in agencies.items():
            org = orgs.get(org_id)
            if org is not None:
                counters["agency"][org.vocab_key or org.label] += n
        return counters

def may_find(role: str, kind: str, sharing: str, by_words: bool) -> bool:
    """Whether a record that a search matched may be shown to ``role``.

    The role must see records of the sharing level at all. A word can only match a record
    through what it is indexed under (:data:`~sillok.records.index.INDEXED_FIELDS`); if that
    holds a field the role may not read (a victim's name, a confidential narrative), the match
    itself would tell them what the field says. So a search with words finds only records
    whose indexed fields the role may read; filters without words still list every record
    the role may see.
    """
    if not may_see(role, sharing):
        return False
    if not by_words:
        return True
    if kind == "act" and sharing == "confidential" and not may(role, "seal.open"):
        # A confidential act's description is sealed: only a holder of the seal key reads
        # it, however the role's field classes read.
        return False
    return all(
        access(role, sharing, table, column) is not Access.REDACT
        for table, column in INDEXED_FIELDS.get(kind, ())
    )


def date_range(
    date_from: str | None, date_to: str | None, year: str | None = None
) -> tuple[dt.date | None, dt.date | None]:
    """The days a search's dates span: from the earliest day ``date_from`` may mean to the
    latest day ``date_to`` may mean (``2009-03`` to ``2009년 봄`` is 1 March to 31 May 2009),
    narrowed to ``year`` when given. An act is kept when the days its own uncertain date may
    mean overlap them (:meth:`ActFilter.where`): ``2009?`` (2008 to 2010) is found from
    2010, ``199X`` up to 1990; an undated act is not found by a range.

    Raises:
        InvalidInput: naming ``from`` or ``to`` and the value that is not a date, or a range
            that ends before it starts.
    """
    lower = _read_date("from", date_from).lower if date_from else None
    upper = _read_date("to", date_to).upper if date_to else None
    if year:
        within = _read_date("year", year)
        lower = max(lower, within.lower) if lower else within.lower
        upper = min(upper, within.upper) if upper else within.upper
    if date_from and date_to and lower and upper and lower > upper:
        raise InvalidInput(Message(
            "{field}: the range {start!r} to {end!r} ends before it starts",
            field="from/to", start=date_from, end=date_to,
        ))
    return lower, upper


def _read_date(name: str, text: str) -> UncertainDate:
    try:
        return parse_date(text)
    except DateError as exc:
        raise InvalidInput(Message("{field}: {problem}", field=name, problem=exc.args[0])) from None


def _orgs(vault: Vault, agency: str | None) -> frozenset[int] | None:
    if not agency:
        return None
    entry = vault.organizations.resolve(agency)
    if entry is None:
        raise InvalidInput(Message(
            "{field}: unknown agency {value!r}", field="--agency", value=agency
        ))
    return frozenset({entry.id})
