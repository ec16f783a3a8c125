"""Search (page and API) and the dashboard of counts (page and API)."""

from __future__ import annotations

from collections.abc import Hashable
from enum import StrEnum
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query
from fastapi.responses import Response
from markupsafe import Markup

from sillok.errors import InvalidInput
from sillok.web.charts import PROVINCE_TILES, bar_chart, province_map, year_chart
from sillok.web.context import Req, current
from sillok.web.views import (
    FACET_SHOWN,
    FACETS,
    SearchResult,
    dashboard_counts,
    label,
    relabel,
    search_view,
)

pages = APIRouter(include_in_schema=False)
api = APIRouter(prefix="/api", tags=["search and counts"])

ReqDep = Annotated[Req, Depends(current)]
Text = Annotated[str | None, Query(max_length=200)]


def _filters(**values: str | None) -> dict[str, str]:
    return {k: v for k, v in values.items() if v}


@pages.get("/search")
def search_page(
    req: ReqDep,
    q: Annotated[str, Query(max_length=500)] = "",
    act_type: Text = None,
    year: Text = None,
    province: Text = None,
    facility: Text = None,
    agency: Text = None,
    sharing: Text = None,
    page: Annotated[int, Query(ge=1, le=1_000_000)] = 1,
) -> Response:
    """Search in any script, narrowed by facets; a bad filter is named and kept as typed."""
    req.require("read")
    filters = _filters(
        act_type=act_type,
        year=year,
        province=province,
        facility=facility,
        agency=agency,
        sharing=sharing,
    )
    size = req.web.settings.page_size
    archive, cache = req.archive, req.web.cache

    def body(result: SearchResult) -> Markup:
        return req.fragment(
            "search_body.html",
            result=result,
            page=page,
            facet_names=FACETS,
            facet_shown=FACET_SHOWN,
        )

    # Kept under the role, like the result it shows (see search_view).
    role, lang = req.principal.policy_role, req.lang
    key = ("search page", role, archive.role, lang, q, tuple(sorted(filters.items())), page)
    try:
        shown = cache.get(
            archive.store.state_mark(),
            key,
            lambda: body(
                search_view(
                    archive, req.principal, q, filters, req.lang, (page - 1) * size, size, cache
                )
            ),
        )
        status = 200
    except InvalidInput as exc:
        shown = body(SearchResult(q, filters, [], 0, 0, size, {}, error=str(exc)))
        status = 422
    return req.render("search.html", status=status, body=shown)


@api.get("/search", summary="Search records in any script, with facets")
def api_search(
    req: ReqDep,
    q: Annotated[str, Query(max_length=500)] = "",
    act_type: Text = None,
    year: Text = None,
    province: Text = None,
    facility: Text = None,
    agency: Text = None,
    sharing: Text = None,
    offset: Annotated[int, Query(ge=0, le=100_000_000)] = 0,
    limit: Annotated[int, Query(ge=1, le=100)] = 20,
) -> dict[str, Any]:
    """The same search as the page, as JSON."""
    req.require("read")
    filters = _filters(
        act_type=act_type,
        year=year,
        province=province,
        facility=facility,
        agency=agency,
        sharing=sharing,
    )
    return search_view(
        req.archive, req.principal, q, filters, req.lang, offset, limit, req.web.cache
    ).to_json()


@pages.get("/dashboard")
def dashboard(req: ReqDep) -> Response:
    """Counts by act type, year, province and facility type, as charts and a map."""
    req.require("read")
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
