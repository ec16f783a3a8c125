"""Search (page and API) and the dashboard of counts (page and API)."""

from __future__ import annotations

from collections.abc import Hashable
from dataclasses import dataclass
from enum import StrEnum
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query
from fastapi.responses import Response, StreamingResponse
from markupsafe import Markup

from sillok.errors import InvalidInput
from sillok.messages import not_one_of
from sillok.records.search import SORTS
from sillok.web.access import may
from sillok.web.charts import PROVINCE_TILES, bar_chart, province_map, year_chart
from sillok.web.context import Req, requester
from sillok.web.found import (
    FACET_SHOWN,
    FACETS,
    SearchResult,
    error_text,
    found_acts,
    search_view,
)
from sillok.web.views import dashboard_counts, label, relabel

pages = APIRouter(include_in_schema=False)
api = APIRouter(prefix="/api", tags=["search and counts"])

ReqDep = Annotated[Req, Depends(requester)]
Text = Annotated[str | None, Query(max_length=200)]
Words = Annotated[str, Query(max_length=500)]
From = Annotated[str | None, Query(alias="from", max_length=100)]
To = Annotated[str | None, Query(max_length=100)]
Sort = Annotated[str, Query(max_length=20, description=f"One of {', '.join(SORTS)}.")]
#: a download's media type by format
MEDIA = {
    "csv": "text/csv; charset=utf-8",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
}


@dataclass(frozen=True)
class Asked:
    """A search as its URL gives it: the words, the filters given, the order."""

    q: str
    filters: dict[str, str]
    sort: str


def asked_search(
    q: Words = "",
    act_type: Text = None,
    year: Text = None,
    province: Text = None,
    facility: Text = None,
    agency: Text = None,
    sharing: Text = None,
    date_from: From = None,
    to: To = None,
    sort: Sort = "relevance",
) -> Asked:
    """The search parameters every search URL takes (page, API, downloads)."""
    given = {
        "act_type": act_type,
        "year": year,
        "province": province,
        "facility": facility,
        "agency": agency,
        "sharing": sharing,
        "from": date_from,
        "to": to,
    }
    return Asked(q, {k: v for k, v in given.items() if v}, sort)


AskedDep = Annotated[Asked, Depends(asked_search)]


@pages.get("/search")
def search_page(
    req: ReqDep,
    asked: AskedDep,
    page: Annotated[int, Query(ge=1, le=1_000_000)] = 1,
) -> Response:
    """Search in any script, narrowed by facets and dates, sorted, paged to the end; a bad
    parameter is named and kept as typed."""
    req.require("read")
    size = req.web.settings.page_size
    archive, cache = req.archive, req.web.cache
    q, filters, sort = asked.q, asked.filters, asked.sort
    role, lang = req.principal.policy_role, req.lang

    def body(result: SearchResult) -> Markup:
        return req.fragment(
            "search_body.html",
            result=result,
            facet_names=FACETS,
            facet_shown=FACET_SHOWN,
            sorts=SORTS,
            may_export=may(req.principal, "export"),
            chosen_label=lambda name, key: (
                req._(key) if name == "sharing" else label(name, key, archive, lang)
            ),
        )

    # Kept under the role, like the result it shows (see search_view).
    key = ("search page", role, archive.role, lang, q, tuple(sorted(filters.items())), sort, page)
    try:
        # A page not kept is made from one read transaction (none begun for a kept one).
        with archive.store.one_read():
            shown = cache.get(
                archive.store.state_mark(),
                key,
                lambda: body(
                    search_view(
                        archive, req.principal, q, filters, lang, (page - 1) * size, size, cache,
                        sort,
                    )
                ),
            )
        status = 200
    except InvalidInput as exc:
        error = error_text(exc.args[0] if len(exc.args) == 1 else str(exc), lang)
        shown = body(SearchResult(q, filters, [], 0, 0, size, {}, error=error, sort=sort))
        status = 422
    return req.render("search.html", status=status, body=shown)


@pages.get("/search.{fmt}")
def search_download(
    req: ReqDep,
    fmt: str,
    asked: AskedDep,
) -> Response:
    """Download these results: every act the search finds, in its order, as a flat acts
    CSV or XLSX file, as the principal's role may read it; audited as an export."""
    if fmt not in MEDIA:
        raise InvalidInput(not_one_of(fmt, MEDIA, "format"))
    req.require("export")
    archive = req.archive
    act_ids, audited = found_acts(
        archive, req.principal, asked.q, asked.filters, asked.sort, req.web.cache
    )
    pieces = archive.exports.download(fmt, act_ids, audited)
    return StreamingResponse(
        pieces,
        media_type=MEDIA[fmt],
        headers={
            "Content-Disposition": f'attachment; filename="sillok-search.{fmt}"',
            "Cache-Control": "no-store",
        },
    )


@api.get("/search", summary="Search records in any script, with facets")
def api_search(
    req: ReqDep,
    asked: AskedDep,
    offset: Annotated[int, Query(ge=0, le=100_000_000)] = 0,
    limit: Annotated[int, Query(ge=1, le=100)] = 20,
) -> dict[str, Any]:
    """The same search as the page, as JSON."""
    req.require("read")
    with req.archive.store.one_read():
        found = search_view(
            req.archive,
            req.principal,
            asked.q,
            asked.filters,
            req.lang,
            offset,
            limit,
            req.web.cache,
            asked.sort,
        )
    return found.to_json()


@pages.get("/dashboard")
def dashboard(req: ReqDep) -> Response:
    """Counts by act type, year, province and facility type, as charts and a map."""
    req.require("read")
    with req.archive.store.one_read():  # counts not kept are made in one read transaction
        mark = req.archive.store.state_mark()
        # Kept per role (and language), so that counts never cross from one role to another.
        body = req.web.cache.get(
            mark, ("dashboard", req.principal.policy_role, req.lang), lambda: _dashboard(req, mark)
        )
    return req.render("dashboard.html", body=body)


def _dashboard(req: Req, mark: Hashable) -> Markup:
    counts = req.web.cache.get(
        mark, ("counts", req.principal.policy_role), lambda: dashboard_counts(req.archive)
    )
    archive, lang = req.archive, req.lang
    by_type = relabel(counts["act_type"], "act_type", "act_type", archive, lang)
    by_facility = relabel(counts["facility"], "facility", "facility_type", archive, lang)
    by_province = relabel(counts["province"], "province", "province", archive, lang)
    by_year = relabel(counts["year"], "year", "year", archive, lang)
    return req.fragment(
        "dashboard_body.html",
        totals=counts["totals"],
        charts=[
            ("act_type", req._("Acts by type"), bar_chart(by_type, "act_type")),
            ("year", req._("Acts by year"), year_chart(by_year)),
            ("province", req._("Acts by province"), bar_chart(by_province, "province")),
            ("facility", req._("Acts by facility type"), bar_chart(by_facility, "facility_type")),
        ],
        linkage={kind: archive.links.progress(kind) for kind in ("persons", "events")},
        tilemap=province_map(
            by_province, {code: label("province", code, archive, lang) for code in PROVINCE_TILES}
        ),
    )


class Grouping(StrEnum):
    """What acts can be counted by."""

    act_type = "act_type"
    year = "year"
    province = "province"
    facility = "facility"
    agency = "agency"


@api.get("/stats", summary="Counts of acts, grouped")
def api_stats(req: ReqDep, by: Grouping = Grouping.act_type) -> dict[str, Any]:
    """Act counts grouped by act type, year, province, facility type or agency."""
    req.require("read")
    key = "facility_type" if by is Grouping.facility else by.value
    rows = relabel(req.archive.stats.count(by.value), by.value, key, req.archive, req.lang)
    return {"by": by.value, "counts": rows, "totals": req.archive.stats.archive_counts()}
