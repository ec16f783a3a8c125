"""Search on the web: the page and the API made from one library call, kept compactly.

A search runs :meth:`sillok.records.search.Searcher.results` (the command line's call): every
match the role may be shown, in the order asked, with facets over all of them, so that totals,
facets and the last page are exact. A server keeps what a role is shown until the archive
changes (:mod:`sillok.web.caches`): the matches of a query, the same for every role, when not
too many, and a role's ordered matches as 9 bytes each (a search of 100,000 matches holds
under a megabyte); a page, and a download, are made from those.
"""

from __future__ import annotations

from array import array
from collections import Counter
from collections.abc import Hashable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any
from urllib.parse import urlencode

from sillok.messages import Message
from sillok.records.search import SEARCH_KINDS, Hit, Matches, Prepared, SearchRequest
from sillok.records.stats import FACETS
from sillok.web.access import Principal
from sillok.web.i18n import local_error, translator
from sillok.web.views import label, record_titles

if TYPE_CHECKING:
    from sillok.archive import Archive
    from sillok.web.caches import ArchiveCache

#: how many values of a facet a search page lists
FACET_SHOWN = 12
#: the most matches kept shared by every role (a broader search is matched again per role)
SHARED_MATCHES = 10_000
#: what narrows a search besides the facets: the date range (``from``, ``to``)
RANGE = ("from", "to")
#: the parameters a search's link keeps, in the order they are written
NARROWING = (*FACETS, *RANGE)
#: a parameter's name as an error on a page names it
PARAMETER_LABELS = {
    "from": "From (date)",
    "to": "To (date)",
    "from/to": "Date range",
    "sort": "Sort",
    "year": "year",
    "sharing": "Sharing level",
    "--act-type": "Act type",
    "--agency": "agency",
}


@dataclass(frozen=True)
class Found:
    """Matches a role may be shown, in order, kept compact: 9 bytes a match (its kind's
    number in :data:`SEARCH_KINDS` and its id), however many a search finds and however an
    order mixes the kinds."""

    kinds: array[int] = field(default_factory=lambda: array("b"))
    ids: array[int] = field(default_factory=lambda: array("q"))

    @classmethod
    def of(cls, hits: Sequence[tuple[str, int]]) -> Found:
        """The hits, in their order."""
        number = {kind: n for n, kind in enumerate(SEARCH_KINDS)}
        return cls(array("b", (number[k] for k, _ in hits)), array("q", (i for _, i in hits)))

    def __len__(self) -> int:
        return len(self.ids)

    def page(self, offset: int, limit: int) -> list[tuple[str, int]]:
        """The matches from ``offset``, at most ``limit``."""
        window = slice(offset, offset + limit)
        return [
            (SEARCH_KINDS[k], rid)
            for k, rid in zip(self.kinds[window], self.ids[window], strict=True)
        ]

    def act_ids(self) -> list[int]:
        """The acts among the matches, in order (what a download holds)."""
        act = SEARCH_KINDS.index("act")
        return [rid for k, rid in zip(self.kinds, self.ids, strict=True) if k == act]


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
    sort: str = "relevance"

    @property
    def page(self) -> int:
        """The number of the page shown (from 1)."""
        return self.offset // self.limit + 1

    @property
    def pages(self) -> int:
        """How many pages the matches fill (1 when there are none)."""
        return max(1, -(-self.total // self.limit))

    @property
    def past_the_end(self) -> bool:
        """Whether the page asked for lies after the last page of the matches."""
        return self.total > 0 and self.offset >= self.total

    def link(self, name: str | None = None, value: str | None = None, page: int = 1) -> str:
        """The query string of this search with one filter set (or a page chosen)."""
        params = {"q": self.query, **self.filters}
        if name is not None:
            params[name] = value or ""
        if self.sort != "relevance" and name != "sort":
            params["sort"] = self.sort
        if page > 1:
            params["page"] = str(page)
        return urlencode({k: v for k, v in params.items() if v})

    def to_json(self) -> dict[str, Any]:
        """The JSON form."""
        return {
            "query": self.query,
            "filters": self.filters,
            "sort": self.sort,
            "total": self.total,
            "offset": self.offset,
            "limit": self.limit,
            "hits": [h.to_json() for h in self.hits],
            "facets": {
                name: [{"key": v.key, "label": v.label, "count": v.count} for v in values]
                for name, values in self.facets.items()
            },
        }


def request_of(query: str, filters: Mapping[str, str], sort: str | None) -> SearchRequest:
    """The library's request for a search as the web names its parameters."""
    return SearchRequest(
        query=query,
        act_type=filters.get("act_type"),
        date_from=filters.get("from"),
        date_to=filters.get("to"),
        year=filters.get("year"),
        place=filters.get("province"),
        facility=filters.get("facility"),
        agency=filters.get("agency"),
        sharing=filters.get("sharing"),
        sort=sort or "relevance",
    )


def narrowing(values: Mapping[str, str | None]) -> dict[str, str]:
    """The filters of a search as given (facets and the date range), blank ones left out."""
    return {k: v.strip() for k, v in values.items() if k in NARROWING and v and v.strip()}


def error_text(message: str, lang: str) -> str:
    """A search's error as a page says it, in ``lang``: the parameter by its label, the
    problem as the catalog says it, the value as it was typed."""
    name, problem = message.split_field() if isinstance(message, Message) else (None, message)
    if name not in PARAMETER_LABELS:
        return local_error(message, lang)
    return f"{translator(lang)(PARAMETER_LABELS[name])}: {local_error(problem, lang)}"


def search_view(
    archive: Archive,
    principal: Principal,
    query: str,
    filters: Mapping[str, str],
    lang: str,
    offset: int = 0,
    limit: int = 20,
    cache: ArchiveCache | None = None,
    sort: str = "relevance",
) -> SearchResult:
    """Search as the CLI does (:meth:`~sillok.records.search.Searcher.results`), one page of
    it with titles, and facets over every match.

    With a ``cache``, both are kept until the archive changes: the ids a query and filter
    match, shared by every role (each match is checked against the principal's role after),
    and the page made from them, under the principal's role: everything the policy decides
    here depends on the role alone (:mod:`sillok.security.policy`), never on the person.

    Raises:
        InvalidInput: naming the parameter whose value cannot be used.
    """
    filters = narrowing(filters)
    if cache is None:
        return _search_view(archive, principal, query, filters, sort, lang, offset, limit, None)
    mark = archive.store.state_mark()
    key = (
        "search",
        principal.policy_role,
        archive.role,
        lang,
        query,
        tuple(sorted(filters.items())),
        sort,
        offset,
        limit,
    )
    return cache.get(
        mark,
        key,
        lambda: _search_view(
            archive, principal, query, filters, sort, lang, offset, limit, (cache, mark)
        ),
    )


def found_acts(
    archive: Archive,
    principal: Principal,
    query: str,
    filters: Mapping[str, str],
    sort: str,
    cache: ArchiveCache | None,
) -> tuple[list[int], dict[str, str]]:
    """The acts among a search's matches, in the order asked (what "download these results"
    holds), and the search as the audit keeps it.

    Raises:
        InvalidInput: naming the parameter whose value cannot be used.
    """
    filters = narrowing(filters)
    prepared = archive.searcher.prepare(request_of(query, filters, sort))
    asked = {"q": query, **filters, "sort": prepared.sort}
    if not prepared.asks_something:
        return [], asked
    kept = None if cache is None else (cache, archive.store.state_mark())
    hits, _counters = _found(archive, principal, prepared, kept)
    return hits.act_ids(), asked


def _search_view(
    archive: Archive,
    principal: Principal,
    query: str,
    filters: dict[str, str],
    sort: str,
    lang: str,
    offset: int,
    limit: int,
    cache: tuple[ArchiveCache, Hashable] | None,
) -> SearchResult:
    prepared = archive.searcher.prepare(request_of(query, filters, sort))
    hits = Found()
    counters: dict[str, Counter[str]] = {}
    if prepared.asks_something:
        hits, counters = _found(archive, principal, prepared, cache)
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
        sort=prepared.sort,
    )


def _found(
    archive: Archive,
    principal: Principal,
    prepared: Prepared,
    cache: tuple[ArchiveCache, Hashable] | None,
) -> tuple[Found, dict[str, Counter[str]]]:
    """Every match the principal's role may be shown, in the order asked, and the facet
    counts over all of those that are acts: the totals and facets a page shows are exact,
    however many matches there are, and count nothing the role may not see.

    The matches (the same for every role) are kept for all when there are not too many; what
    a role is shown of them, and its counts, under the role, for every page of the search.
    """

    def found() -> tuple[Found, dict[str, Counter[str]]]:
        # the search service keeps what the principal's role may be shown: the one access
        # rule of the library, the command line and these pages
        matches = _matches(archive, prepared, cache)
        results = archive.searcher.results(prepared, matches)
        return Found.of(results.hits), results.facets

    if cache is None:
        return found()
    kept, mark = cache
    key = ("found", principal.policy_role, archive.role, prepared)
    return kept.get(mark, key, found)


def _matches(
    archive: Archive, prepared: Prepared, cache: tuple[ArchiveCache, Hashable] | None
) -> Matches:
    """Everything the query and filter match in the index, for every role alike (each match
    is checked against the principal's role after); titles are made for the page shown only."""
    query, act_filter = prepared.query, prepared.act_filter
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
