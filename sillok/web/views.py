"""What a principal sees: records, history, search results with facets, dashboard counts.

Pages and the API render the same data from these functions (one URL, two formats). Each
takes the archive's services, asks :mod:`sillok.web.access` what the principal may see, and
returns plain dictionaries and dataclasses: redacted fields are replaced before they leave
this module, so no template or JSON encoder ever holds a value it must not show.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Hashable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any
from urllib.parse import urlencode

from sillok import vocab
from sillok.dates.words import human_date
from sillok.errors import InvalidInput, NotFound
from sillok.records.search import Hit, Matches
from sillok.records.stats import FACETS
from sillok.web.access import (
    REDACTED,
    Principal,
    may_see,
    refused,
    sealed,
    sharing_of,
    shown,
)
from sillok.web.found import SHARED_MATCHES, Found
from sillok.web.i18n import PLACED, WORDS, local_names, local_title, translator

if TYPE_CHECKING:
    from sillok.archive import Archive
    from sillok.web.caches import ArchiveCache

RECORD_KINDS = ("source", "event", "act", "person", "place", "organization")
#: how many values of a facet a search page lists
FACET_SHOWN = 12
_BOOKKEEPING = {"id", "version", "created_by", "created_at", "updated_by", "updated_at"}
#: how many linked records a record page lists (the API and search reach the rest)
LIST_LIMIT = 50


def label(by: str, key: Any, archive: Archive, lang: str) -> str:
    """The name of a grouping key (act type, province...) in the page's language."""
    if key in (None, "unknown"):
        return translator(lang)("unknown")
    if by == "act_type" or by == "facility":
        name = "act_types" if by == "act_type" else "facility_types"
        term = vocab.load(name).lookup(str(key))
        return term.label(lang) if term else str(key)
    if by in ("province", "agency"):
        directory = archive.places if by == "province" else archive.organizations
        entry = directory.resolve(str(key))
        if entry is None:
            return str(key)
        return (entry.name_ko if lang == "ko" else entry.name_en) or entry.label
    if by == "year" and key == "uncertain":
        return "여러 해에 걸침" if lang == "ko" else "spans several years"
    return str(key)


# --- records --------------------------------------------------------------------------------


@dataclass
class RecordView:
    """One record as a principal may see it."""

    kind: str
    id: int
    data: dict[str, Any]
    links: dict[str, tuple[str, int]] = field(default_factory=dict)
    lists: dict[str, list[tuple[str, int, str]]] = field(default_factory=dict)
    redacted: list[str] = field(default_factory=list)
    protected: list[str] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        """The JSON form (the same fields the page shows)."""
        return {
            "kind": self.kind,
            "id": self.id,
            "data": self.data,
            "links": {k: {"kind": v[0], "id": v[1]} for k, v in self.links.items()},
            "lists": {
                k: [{"kind": kind, "id": rid, "title": title} for kind, rid, title in v]
                for k, v in self.lists.items()
            },
            "redacted": self.redacted,
            "protected": self.protected,
        }


_LINKS = {
    "act": {
        "event_id": "event",
        "victim_id": "person",
        "place_id": "place",
        "facility_id": "place",
    },
    "person": {"origin_place_id": "place"},
    "event": {"place_id": "place"},
    "place": {"parent_id": "place"},
}


def visible_ids(archive: Archive, principal: Principal, kind: str, ids: Sequence[int]) -> list[int]:
    """The ids among ``ids`` whose records the principal may see, in the same order (the
    records service decides, for the archive the principal opened with their passphrase)."""
    del principal  # the archive already acts for them
    return archive.records.visible(kind, ids)


def record_view(
    archive: Archive,
    principal: Principal,
    kind: str,
    record_id: int,
    reveal: bool = False,
    lang: str = "en",
) -> RecordView:
    """A record for a page or the API; with ``reveal``, sealed fields the role may open are
    opened (and the archive audits each opening).

    Raises:
        NotFound: when the record does not exist *or* the principal may not see it: the two
            are not told apart, so a refusal does not reveal that a record exists.
    """
    if kind not in RECORD_KINDS:
        raise NotFound(f"unknown record kind {kind!r} (one of {', '.join(RECORD_KINDS)})")
    data = archive.records.show(kind, record_id, reveal=reveal)
    if not may_see(principal, sharing_of(kind, data)):
        raise NotFound(f"there is no {kind} with id {record_id}")
    view = RecordView(kind, record_id, shown(principal, kind, data))
    view.redacted = sorted(k for k, v in view.data.items() if refused(v))
    view.protected = sorted(
        k for k, v in view.data.items() if sealed(v) and _opened(view.data, k) is None
    )
    for column, target in _LINKS.get(kind, {}).items():
        value = data.get(column)
        if isinstance(value, int) and column not in view.redacted:
            view.links[column] = (target, value)
    if kind == "act" and "victim_id" in view.links and "victim" in view.redacted:
        del view.links["victim_id"]  # the link would lead to the name the role may not read
    lists: dict[str, tuple[str, list[int]]] = {}
    if kind == "act":
        lists["sources"] = ("source", list(data.get("sources") or []))
    if kind in ("person", "event", "source"):
        lists["acts"] = ("act", list(data.get("acts") or []))
    for name, (target, ids) in lists.items():
        ids = visible_ids(archive, principal, target, ids)[:LIST_LIMIT]
        view.data[name] = ids
        titles = record_titles(archive, principal, [(target, i) for i in ids], lang)
        view.lists[name] = [(target, i, titles.get((target, i), f"{target} {i}")) for i in ids]
    return view


#: sealed columns whose opened value the records service gives under another key
#: (a source's informant is a person: the column holds their id, the opening their name)
_OPENED_AS = {"informant_id": "informant"}


def _opened(data: Mapping[str, Any], key: str) -> Any:
    """The opened value of a sealed column, when the record was revealed and the role may read
    it; None while it stays closed (or refused)."""
    value = data.get(_OPENED_AS.get(key, ""))
    if value is None or sealed(value) or refused(value):
        return None
    return value


def record_titles(
    archive: Archive, principal: Principal, hits: Sequence[tuple[str, int]], lang: str
) -> dict[tuple[str, int], str]:
    """One-line titles in ``lang``; the records service leaves out what the archive's role
    may not read (the archive is the principal's own, opened with their passphrase)."""
    del principal  # the archive already acts for them
    return {
        hit: local_title(hit[0], title, lang)
        for hit, title in archive.records.titles(hits, lang).items()
    }


@dataclass(frozen=True)
class Field:
    """One line of a record page: a label key, what to show, where it links, if refused."""

    key: str
    value: Any
    link: tuple[str, int] | None = None
    redacted: bool = False


#: kind -> (label key, shown key, link column) in the order a page shows them
_DISPLAY: dict[str, list[tuple[str, str, str | None]]] = {
    "act": [
        ("act_type", "act_type_label", None),
        ("date", "date_edtf", None),
        ("victim", "victim", "victim_id"),
        ("place", "place", "place_id"),
        ("facility", "facility", "facility_id"),
        ("facility_type", "facility_type", None),
        ("perpetrators", "perpetrators", None),
        ("event", "event", "event_id"),
        ("description", "description", None),
        ("legal_refs", "legal_refs", None),
        ("sharing", "sharing", None),
    ],
    "source": [
        ("source_type", "source_type", None),
        ("date", "date_edtf", None),
        ("informant_id", "informant_id", None),
        ("language", "language", None),
        ("title", "title", None),
        ("narrative", "narrative", None),
        ("reliability", "reliability", None),
        ("sharing", "sharing", None),
    ],
    "event": [
        ("title", "title", None),
        ("date", "date_edtf", None),
        ("place", "place_id", "place_id"),
        ("description", "description", None),
        ("sharing", "sharing", None),
    ],
    "person": [
        ("names", "names", None),
        ("sex", "sex", None),
        ("birth_edtf", "birth_edtf", None),
        ("origin", "origin", "origin_place_id"),
        ("status", "status", None),
        ("protected", "protected", None),
    ],
    "place": [
        ("name_ko", "name_ko", None),
        ("name_en", "name_en", None),
        ("kind", "kind", None),
        ("within", "within", "parent_id"),
        ("facility_type", "facility_type", None),
        ("aliases", "aliases", None),
        ("unverified", "unverified", None),
    ],
    "organization": [
        ("name_ko", "name_ko", None),
        ("name_en", "name_en", None),
        ("kind", "kind", None),
        ("aliases", "aliases", None),
        ("unverified", "unverified", None),
    ],
}


def display_fields(view: RecordView, archive: Archive, lang: str) -> list[Field]:
    """The lines of a record page in reading order, with names and labels in ``lang``."""
    data = view.data
    shown_fields = []
    for label_key, key, link_column in _DISPLAY.get(view.kind, []):
        value = data.get(key)
        if _opened(data, key) is not None:
            value = _opened(data, key)
        elif key == "act_type_label" and isinstance(value, Mapping):
            value = value.get(lang) or value.get("en")
        elif key == "facility_type" and value and value != REDACTED:
            value = label("facility", value, archive, lang)
        elif key == "perpetrators" and isinstance(value, list):
            value = [
                " · ".join(local_names(str(p[k]), lang, archive) for k in ("organization", "person")
                           if p.get(k))
                + (f" ({translator(lang)(str(p['role']))})"
                   if p.get("role") and p["role"] != "perpetrator" else "")
                for p in value
                if isinstance(p, Mapping)
            ]
        elif key in WORDS and isinstance(value, str):
            value = translator(lang)(value)
        elif key == "names" and isinstance(value, list):
            value = [n["name"] if isinstance(n, Mapping) else str(n) for n in value]
        elif key == "aliases" and isinstance(value, str) and value.startswith("["):
            value = json.loads(value)
        elif key in ("date_edtf", "birth_edtf") and isinstance(value, str):
            reading = human_date(value, lang)
            value = f"{reading} ({value})" if reading and reading != value else value
        elif key == "place_id" and isinstance(value, int):
            entry = archive.places.get(value)
            value = entry.label if entry else value
        link = view.links.get(link_column) if link_column else None
        if link_column == "parent_id" and isinstance(data.get("parent_id"), int):
            link = ("place", data["parent_id"])
        value = local_names(value, lang, archive) if key in PLACED else value
        shown_fields.append(Field(label_key, value, link, refused(value) or sealed(value)))
    return shown_fields


def heading(view: RecordView, lang: str) -> str:
    """A one-line name for a record page."""
    data = view.data
    if view.kind == "act":
        labels = data.get("act_type_label")
        name = labels.get(lang) if isinstance(labels, Mapping) else data.get("act_type")
        date = data.get("date_edtf")
        shown = human_date(date, lang) if isinstance(date, str) else None
        return " · ".join(str(p) for p in (name, shown or date) if p)
    names = [n.get("name") for n in data.get("names") or [] if isinstance(n, Mapping)]
    if view.kind == "person" and names and not refused(names[0]):  # a name, not a ref
        return " · ".join(str(n) for n in names[:2])
    for key in ("title", "name_ko" if lang == "ko" else "name_en", "name_en", "ref"):
        value = data.get(key)
        if value and value != REDACTED:
            return str(value)
    return ""


@dataclass
class Version:
    """One version of a record with what changed since the one before."""

    number: int
    by: str
    at: str
    data: dict[str, Any]
    changed: list[str]

    def to_json(self) -> dict[str, Any]:
        """The JSON form."""
        return {
            "version": self.number,
            "by": self.by,
            "at": self.at,
            "changed": self.changed,
            "data": self.data,
        }


def history_view(
    archive: Archive, principal: Principal, kind: str, record_id: int
) -> list[Version]:
    """Every version of a record (newest last), each redacted, with the fields that changed."""
    if kind not in (*RECORD_KINDS, "statement"):
        raise NotFound(f"unknown record kind {kind!r}")
    versions = archive.records.history(kind, record_id)
    if kind != "statement" and not may_see(principal, sharing_of(kind, versions[-1])):
        raise NotFound(f"there is no {kind} with id {record_id}")
    result: list[Version] = []
    previous: dict[str, Any] = {}
    for raw in versions:
        plain = {k: v for k, v in raw.items() if not k.startswith("_")}
        seen = shown(principal, kind, plain)
        changed = (
            sorted(
                k
                for k in plain
                if k not in _BOOKKEEPING and previous.get(k) != plain.get(k) and seen[k] != REDACTED
            )
            if previous
            else []
        )
        redacted_changed = previous and any(
            previous.get(k) != plain.get(k) and seen[k] == REDACTED for k in plain
        )
        if redacted_changed:
            changed.append(REDACTED)
        result.append(
            Version(
                number=int(plain.get("version", len(result) + 1)),
                by=str(plain.get("updated_by", "")),
                at=str(plain.get("updated_at", "")),
                data={k: v for k, v in seen.items() if k not in _BOOKKEEPING},
                changed=changed,
            )
        )
        previous = plain
    return result


# --- search ---------------------------------------------------------------------------------


@dataclass
class FacetValue:
    """One value of a facet with how many matches have it."""

    key: str
    label: str
    count: int


@dataclass
class SearchResult:
    """Search hits a principal may see, one page of them, and facets over all of them."""

    query: str
    filters: dict[str, str]
    hits: list[Hit]
    total: int
    offset: int
    limit: int
    facets: dict[str, list[FacetValue]]
    error: str | None = None

    def link(self, name: str | None = None, value: str | None = None, page: int = 1) -> str:
        """The query string of this search with one facet set (or a page chosen)."""
        params = {**self.filters, "q": self.query}
        if name is not None:
            params[name] = value or ""
        if page > 1:
            params["page"] = str(page)
        return urlencode({k: v for k, v in params.items() if v})

    def to_json(self) -> dict[str, Any]:
        """The JSON form."""
        return {
            "query": self.query,
            "filters": self.filters,
            "total": self.total,
            "offset": self.offset,
            "limit": self.limit,
            "hits": [h.to_json() for h in self.hits],
            "facets": {
                name: [{"key": v.key, "label": v.label, "count": v.count} for v in values]
                for name, values in self.facets.items()
            },
        }


def search_view(
    archive: Archive,
    principal: Principal,
    query: str,
    filters: Mapping[str, str],
    lang: str,
    offset: int = 0,
    limit: int = 20,
    cache: ArchiveCache | None = None,
) -> SearchResult:
    """Search as the CLI does, and count facets: the search service keeps what the
    principal's role may be shown (:meth:`sillok.records.search.Searcher.visible`).

    With a ``cache``, both are kept until the archive changes: the ids a query and filter
    match, shared by every role (each match is checked against the principal's role after),
    and the page made from them, under the principal's role: everything the policy decides
    here depends on the role alone (:mod:`sillok.security.policy`), never on the person.

    Raises:
        InvalidInput: naming the filter whose value cannot be resolved.
    """
    if cache is None:
        return _search_view(archive, principal, query, filters, lang, offset, limit, None)
    mark = archive.store.state_mark()
    key = (
        "search",
        principal.policy_role,
        archive.role,
        lang,
        query,
        tuple(sorted(filters.items())),
        offset,
        limit,
    )
    return cache.get(
        mark,
        key,
        lambda: _search_view(
            archive, principal, query, filters, lang, offset, limit, (cache, mark)
        ),
    )


def _search_view(
    archive: Archive,
    principal: Principal,
    query: str,
    filters: Mapping[str, str],
    lang: str,
    offset: int,
    limit: int,
    cache: tuple[ArchiveCache, Hashable] | None,
) -> SearchResult:
    filters = {k: v.strip() for k, v in filters.items() if k in FACETS and v and v.strip()}
    year = filters.get("year")
    if year is not None and not (year.isdigit() and len(year) == 4):
        raise InvalidInput(f"year: {year!r} is not a year like 2009")
    sharing = filters.get("sharing")
    if sharing is not None and sharing not in ("confidential", "internal", "public"):
        raise InvalidInput(f"sharing: {sharing!r} is not one of confidential, internal, public")
    act_filter = archive.searcher.act_filter(
        act_type=filters.get("act_type"),
        date_from=year,
        date_to=year,
        place=filters.get("province"),
        facility=filters.get("facility"),
        agency=filters.get("agency"),
    )
    hits = Found()
    counters: dict[str, Counter[str]] = {}
    if sharing is not None or not act_filter.is_empty() or query.strip():
        hits, counters = _found(archive, principal, query, act_filter, sharing, cache)
    page = hits.page(offset, limit)
    titles = record_titles(archive, principal, page, lang)
    return SearchResult(
        query=query,
        filters=filters,
        hits=[Hit(kind, rid, titles.get((kind, rid), f"{kind} {rid}")) for kind, rid in page],
        total=len(hits),
        offset=offset,
        limit=limit,
        facets=_facets(archive, counters, lang),
    )


def _found(
    archive: Archive,
    principal: Principal,
    query: str,
    act_filter: Any,
    sharing: str | None,
    cache: tuple[ArchiveCache, Hashable] | None,
) -> tuple[Found, dict[str, Counter[str]]]:
    """Every match the principal's role may be shown, in order, and the facet counts over all
    of those that are acts: the totals and facets a page shows are exact, however many
    matches there are, and count nothing the role may not see.

    The matches (the same for every role) are kept for all when there are not too many; what
    a role is shown of them, and its counts, under the role, for every page of the search.
    """

    def found() -> tuple[Found, dict[str, Counter[str]]]:
        # the search service keeps what the principal's role may be shown: the one access
        # rule of the library, the command line and these pages
        shown = archive.searcher.visible_levels(
            _matches(archive, query, act_filter, cache), sharing
        )
        counters = archive.searcher.facets([rid for kind, rid, _level in shown if kind == "act"])
        # the sharing filter chooses among every match, not only acts: so does its facet
        counters["sharing"] = Counter(level for _kind, _rid, level in shown)
        return Found.of([(kind, rid) for kind, rid, _level in shown]), counters

    if cache is None:
        return found()
    kept, mark = cache
    key = ("found", principal.policy_role, archive.role, query, act_filter, sharing)
    return kept.get(mark, key, found)


def _matches(
    archive: Archive, query: str, act_filter: Any, cache: tuple[ArchiveCache, Hashable] | None
) -> Matches:
    """Everything the query and filter match in the index, for every role alike (each match
    is checked against the principal's role after); titles are made for the page shown only."""
    if cache is None:
        return archive.searcher.match(query, act_filter, everything=True)
    kept, mark = cache
    made: list[Matches] = []

    def match() -> Matches | None:
        made.append(archive.searcher.match(query, act_filter, everything=True))
        return made[-1] if len(made[-1].found) <= SHARED_MATCHES else None  # None: too many

    known = kept.get(mark, ("matches", query, act_filter), match)
    if known is not None:
        return known
    return made[-1] if made else archive.searcher.match(query, act_filter, everything=True)


def _facets(
    archive: Archive, counters: Mapping[str, Counter[str]], lang: str
) -> dict[str, list[FacetValue]]:
    facets: dict[str, list[FacetValue]] = {}
    for name, counter in counters.items():
        ordered = sorted(counter.items(), key=lambda kv: (-kv[1], kv[0]))
        if name == "year":  # the years with most acts first (a page lists a dozen), by year
            ordered = sorted(ordered[:FACET_SHOWN]) + sorted(ordered[FACET_SHOWN:])
        facets[name] = [
            FacetValue(key, key if name == "sharing" else label(name, key, archive, lang), n)
            for key, n in ordered
        ]
    return facets


# --- dashboard ------------------------------------------------------------------------------


def dashboard_counts(archive: Archive) -> dict[str, Any]:
    """Archive totals and act counts by type, year, province and facility type."""
    return {
        "totals": archive.stats.archive_counts(),
        "act_type": archive.stats.count("act_type"),
        "year": archive.stats.count("year"),
        "province": archive.stats.count("province"),
        "facility": archive.stats.count("facility"),
    }


def relabel(
    rows: Sequence[Mapping[str, Any]], by: str, key: str, archive: Archive, lang: str
) -> list[dict[str, Any]]:
    """Count rows with their labels in the page's language."""
    return [{**r, "label": label(by, r[key], archive, lang)} for r in rows]
